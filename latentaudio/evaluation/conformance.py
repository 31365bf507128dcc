"""Does a clip meet its spec? Loudness, true peak, duration, silence and clipping.

Loudness is ITU-R BS.1770-4 integrated loudness (pyloudnorm) and true peak its Annex 2 4x
oversampled peak, both as :mod:`latentaudio.postprocess` measures them when mastering. Silence
is counted in 50 ms windows quieter than -60 dBFS RMS; clipping as samples at or above 0.999 of
full scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from latentaudio.postprocess import loudness, true_peak

SILENCE_DBFS = -60.0
WINDOW_SECONDS = 0.05
CLIP_LEVEL = 0.999


@dataclass
class Conformance:
    seconds: float
    seconds_error: float  # measured - requested (0 when nothing was requested)
    lufs: float  # nan for clips under 400 ms or digital silence
    lufs_error: float  # measured - target (nan without a target or a measurement)
    true_peak_dbtp: float
    true_peak_ok: bool  # at or under the ceiling (+0.1 dB for the meter's own rounding)
    silence_ratio: float  # share of 50 ms windows under -60 dBFS RMS
    silent: bool  # every window is
    clipped_ratio: float  # share of samples at full scale

    def as_dict(self) -> dict:
        return asdict(self)


def silence_ratio(wav: np.ndarray, sample_rate: int) -> float:
    """Share of 50 ms windows of ``(channels, samples)`` whose RMS is under -60 dBFS."""
    window = max(1, round(WINDOW_SECONDS * sample_rate))
    count = wav.shape[-1] // window
    if count == 0:
        return 1.0 if not np.any(wav) else 0.0
    frames = wav[..., : count * window].reshape(wav.shape[0], count, window)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=(0, 2)))
    return float(np.mean(rms < 10 ** (SILENCE_DBFS / 20)))


def check(wav: np.ndarray, sample_rate: int, *, seconds: float | None = None,
          target_lufs: float | None = None, ceiling_dbtp: float = -1.0) -> Conformance:
    """Measure ``wav`` ``(channels, samples)`` against what was asked for."""
    wav = np.asarray(wav, dtype=np.float32)
    measured_seconds = wav.shape[-1] / sample_rate
    silence = silence_ratio(wav, sample_rate)
    lufs = loudness(wav, sample_rate) if silence < 1.0 else float("nan")
    lufs = lufs if np.isfinite(lufs) else float("nan")
    peak = true_peak(wav)
    return Conformance(
        seconds=measured_seconds,
        seconds_error=measured_seconds - seconds if seconds is not None else 0.0,
        lufs=lufs,
        lufs_error=lufs - target_lufs if target_lufs is not None else float("nan"),
        true_peak_dbtp=peak,
        true_peak_ok=bool(peak <= ceiling_dbtp + 0.1),
        silence_ratio=silence,
        silent=silence == 1.0,
        clipped_ratio=float(np.mean(np.abs(wav) >= CLIP_LEVEL)) if wav.size else 0.0)
