"""Tempo and key of generated music, and how well they match what was asked.

- Tempo: librosa's dynamic-programming beat tracker (Ellis 2007) on the onset envelope. Accuracy
  follows the MIREX tempo task: "acc1" is within 4% of the target, "acc2" also accepts the
  octave errors (x2, x1/2, x3, x1/3) a beat tracker makes on a correct groove.
- Key: Krumhansl-Schmuckler (Krumhansl 1990), correlating the clip's mean CQT chroma with the
  Krumhansl-Kessler major and minor profiles rotated to all 12 tonics. Scores: exact, and the
  MIREX key-detection weighting (same 1.0, fifth 0.5, relative 0.3, parallel 0.2, else 0).
"""

from __future__ import annotations

import numpy as np

from latentaudio.theory import Key

# Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
ONSET_LAG_SECONDS = 0.035  # see beat_offset


def _mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    return audio.mean(axis=0) if audio.ndim == 2 else audio


def estimate_tempo(audio: np.ndarray, sample_rate: int, prior_bpm: float = 120.0) -> float:
    """Beats per minute of ``audio`` ``(channels, samples)`` or ``(samples,)``; 0 if silent."""
    envelope = _onset_envelope(audio, sample_rate)
    return 0.0 if envelope is None else _lag_tempo(envelope, sample_rate, prior_bpm)


def _onset_envelope(audio: np.ndarray, sample_rate: int) -> np.ndarray | None:
    """librosa's onset strength at hop 512; None if the audio is silent."""
    import librosa

    mono = _mono(audio)
    if not np.any(np.abs(mono) > 1e-6):
        return None
    return librosa.onset.onset_strength(y=mono, sr=sample_rate, hop_length=512)


def _lag_tempo(envelope: np.ndarray, sample_rate: int, prior_bpm: float) -> float:
    import librosa

    tempo = librosa.feature.tempo(onset_envelope=envelope, sr=sample_rate, hop_length=512,
                                  start_bpm=prior_bpm)
    return float(np.atleast_1d(tempo)[0])


def beat_tempo(audio: np.ndarray, sample_rate: int, prior_bpm: float = 120.0) -> float:
    """Beats per minute from librosa's beat tracker, as the least-squares slope of beat time
    against beat number: finer than :func:`estimate_tempo`, whose autocorrelation lags step
    2.3% apart at 120 bpm (hop 512 at 44.1 kHz), too coarse to see a 2% drift. A steady
    FluidSynth song at 120 bpm reads 119.98-120.01 in every 30 s window. 0 if silent."""
    import librosa

    envelope = _onset_envelope(audio, sample_rate)
    if envelope is None:
        return 0.0
    first = _lag_tempo(envelope, sample_rate, prior_bpm)
    _, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=sample_rate, hop_length=512,
                                       bpm=first, units="time")
    if len(beats) < 8:
        return first
    slope = np.polyfit(np.arange(len(beats)), beats, 1)[0]
    return float(60.0 / slope) if slope > 0 else first


def beat_offset(audio: np.ndarray, sample_rate: int, bpm: float) -> float:
    """Seconds from the clip's start to its first beat at ``bpm``, in ``[0, 60 / bpm)``: the phase
    whose comb of beats (``bpm`` apart, +-25 ms) catches the most onset strength. Rendered
    music starts on a beat; a crop of a recording does not, and a beat grid laid from second 0
    over it would put the pulses off the music. 0 if silent.

    librosa's onset envelope peaks about 35 ms after a note starts (measured on FluidSynth
    renders, whose first beat is at 0: 0.035-0.047 s); that lag is taken off.
    """
    envelope = _onset_envelope(audio, sample_rate)
    if envelope is None or not bpm > 0:
        return 0.0
    period = 60.0 / bpm
    times = np.arange(len(envelope)) * 512 / sample_rate
    phases = np.arange(0.0, period, 0.005)
    # Distance of every onset frame to the nearest beat of each candidate phase.
    distance = np.abs((times[None] - phases[:, None] + period / 2) % period - period / 2)
    near = distance <= 0.025
    score = (near * envelope[None]).sum(axis=1) / np.maximum(near.sum(axis=1), 1)
    return float((phases[int(np.argmax(score))] - ONSET_LAG_SECONDS) % period)


def tempo_accuracy(estimate: float, target: float, tolerance: float = 0.04) -> tuple[bool, bool]:
    """``(acc1, acc2)``: within ``tolerance`` of ``target``; or of target x 2, 1/2, 3, 1/3."""
    def close(value: float) -> bool:
        return abs(estimate - value) <= tolerance * value

    return close(target), any(close(target * f) for f in (1.0, 2.0, 0.5, 3.0, 1 / 3))


# The CQT halves the signal's rate for each of its lower octaves, six times here; its lowest
# octave then wants 1 024 samples. Shorter clips (under 3 s) are padded with silence, which adds
# no pitch: librosa would warn "n_fft=1024 is too large" for every such clip (corpus builds
# label crops and jingles of a second or two).
CQT_MIN_SAMPLES = 3 * 22_050


def chroma_frames(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """CQT chroma ``(12, frames)`` of the clip, C first, at 22.05 kHz / hop 512."""
    import librosa

    mono = _mono(audio)
    if sample_rate != 22_050:  # the CQT needs no more; 2x faster
        mono = librosa.resample(mono, orig_sr=sample_rate, target_sr=22_050, res_type="soxr_hq")
    frames = 1 + len(mono) // 512  # the clip's own frames (centred), without the padding
    padded = np.pad(mono, (0, max(0, CQT_MIN_SAMPLES - len(mono))))
    return librosa.feature.chroma_cqt(y=padded, sr=22_050, hop_length=512)[:, :frames]


def chroma(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean CQT chroma ``(12,)`` of the clip, C first."""
    return chroma_frames(audio, sample_rate).mean(axis=1)


def estimate_key(audio: np.ndarray, sample_rate: int) -> Key:
    """The best-correlating major or minor key of ``audio``."""
    profile = chroma(audio, sample_rate)
    best, best_score = Key(0, "major"), -np.inf
    for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            score = np.corrcoef(profile, np.roll(template, tonic))[0, 1]
            if np.isfinite(score) and score > best_score:
                best, best_score = Key(tonic, mode), score
    return best


def key_score(estimate: Key, target: Key) -> float:
    """MIREX weighted key score of ``estimate`` against ``target`` (1.0 = exact)."""
    if estimate == target:
        return 1.0
    interval = (estimate.tonic - target.tonic) % 12
    if estimate.mode == target.mode and interval in (5, 7):
        return 0.5  # a perfect fifth above or below
    if estimate.mode != target.mode:
        relative = 9 if target.mode == "major" else 3  # C major <-> A minor
        if interval == relative:
            return 0.3
        if interval == 0:
            return 0.2  # parallel: C major <-> C minor
    return 0.0


def chroma_similarity(audio: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Mean frame-wise cosine similarity of the two clips' CQT chroma sequences, the reference
    stretched to the clip's frame count (MusicGen's melody metric, Copet et al. 2023)."""
    ours, theirs = chroma_frames(audio, sample_rate), chroma_frames(reference, sample_rate)
    positions = np.linspace(0, theirs.shape[1] - 1, ours.shape[1]).round().astype(int)
    theirs = theirs[:, positions]
    dot = (ours * theirs).sum(axis=0)
    norms = np.linalg.norm(ours, axis=0) * np.linalg.norm(theirs, axis=0)
    return float(np.mean(dot / np.maximum(norms, 1e-12)))


def tempo_with_confidence(audio: np.ndarray, sample_rate: int) -> tuple[float, bool]:
    """``(bpm, confident)``: the beat tracker's tempo, confident when the autocorrelation tempo
    agrees within 4% (or at double or half: the octave is the usual doubt, resolved to the
    tracker's). 0 and False when there is no pulse to find."""
    first = estimate_tempo(audio, sample_rate)
    if first <= 0:
        return 0.0, False
    tracked = beat_tempo(audio, sample_rate, prior_bpm=first)
    agree = any(abs(tracked * factor - first) <= 0.04 * first for factor in (0.5, 1.0, 2.0))
    return float(tracked), bool(agree)


def key_with_confidence(audio: np.ndarray, sample_rate: int) -> tuple[Key, float]:
    """``(key, margin)``: the best-correlating key and how far its correlation stands above the
    best key that is neither it nor its relative major/minor (0 to 2; about 0.1 and up is a
    clear tonal centre, near 0 none)."""
    profile = chroma(audio, sample_rate)
    scores = {}
    for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            score = np.corrcoef(profile, np.roll(template, tonic))[0, 1]
            scores[Key(tonic, mode)] = float(score) if np.isfinite(score) else -1.0
    best = max(scores, key=scores.get)
    relative = Key((best.tonic + 9) % 12, "minor") if best.mode == "major" else \
        Key((best.tonic + 3) % 12, "major")
    rivals = [score for key, score in scores.items() if key not in (best, relative)]
    return best, scores[best] - max(rivals)
