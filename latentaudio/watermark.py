"""An inaudible, keyed watermark that every output carries, and its detector.

No maintained watermarking library works offline here: AudioSeal and WavMark fetch their weights
from a model hub at run time, and audiowmark is a separate C++ program not packaged for this
system. So this is a spread-spectrum watermark (Cox et al. 1997, "Secure spread spectrum
watermarking for multimedia"), shaped by the audio itself and detected with a phase-transform
whitened correlation (the GCC-PHAT of Knapp & Carter 1976, as used for audio watermark
detection by Kirovski & Malvar 2003):

- **Carrier**: key-seeded Gaussian noise between 300 Hz and 10 kHz, periodic with a period of
  2^17 samples (2.97 s), cut into 32 chunks of 4 096 samples. Sixteen chunks are a fixed
  synchronisation sequence; each of the other sixteen carries one payload bit as its sign.
- **Embedding**: in every STFT frame the mark takes the carrier's phase and the audio's own
  magnitude, ``alpha * |X| * exp(i * angle(C))``, so it hides where the audio is loud and is
  silent where the audio is. ``alpha`` is set so the mark sits ``snr_db`` (32 dB) below the
  audio. The same mark goes into both channels.
- **Detection**: the received audio (mono, resampled to 44.1 kHz) is whitened frame by frame
  (magnitudes set to 1, phases kept): music's structure lives in its magnitudes, and what is
  left is close to white noise, against which the carrier's phase stands out. The whitened
  signal is folded onto one period and circularly cross-correlated with the synchronisation
  sequence (one FFT); the peak, in units of the robust spread of all 131 072 lags, is the
  score. At that lag, each payload chunk's correlation gives its bit.

Any excerpt of 3 s or more works, at any start, after lossy coding, resampling, gain, clipping
or added noise; the mark does not survive time-stretching or pitch-shifting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

SAMPLE_RATE = 44_100
N_FFT, HOP = 2048, 512  # sqrt-Hann, 75% overlap (perfect reconstruction with 2/3 gain)
BAND_HZ = (100.0, 10_000.0)  # below 22.05 kHz resampling's cutoff, above rumble
PERIOD = 2**17  # samples (2.97 s)
CHUNKS = 32
PAYLOAD_BITS = 8
DEFAULT_KEY = "latentaudio"
DEFAULT_SNR_DB = 31.0
MAX_RATIO = 0.1  # the mark never exceeds the audio's magnitude x 0.1 (-20 dB), in any bin
THRESHOLD = 6.5  # peak over the lags' robust spread; unmarked audio stays below (benchmark)
MIN_SECONDS = 3.0  # one period, with room for the STFT edges


@lru_cache(maxsize=4)
def carrier(key: str = DEFAULT_KEY) -> tuple[np.ndarray, np.ndarray]:
    """``(sync, data)``: the key's carrier split into its synchronisation chunks (others zero)
    and its payload chunks (others zero), each ``(PERIOD,)`` float64."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(PERIOD))
    frequencies = np.fft.rfftfreq(PERIOD, 1 / SAMPLE_RATE)
    spectrum[(frequencies < BAND_HZ[0]) | (frequencies > BAND_HZ[1])] = 0
    noise = np.fft.irfft(spectrum, n=PERIOD)
    noise /= noise.std()
    chunk = np.arange(PERIOD) // (PERIOD // CHUNKS)
    is_sync = np.isin(chunk, _sync_chunks(rng))
    return np.where(is_sync, noise, 0.0), np.where(is_sync, 0.0, noise)


def _sync_chunks(rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.permutation(CHUNKS)[: CHUNKS - PAYLOAD_BITS])


def _data_chunks(key: str) -> np.ndarray:
    """The payload chunks in bit order (bit 0 first)."""
    sync, _ = carrier(key)
    chunk_size = PERIOD // CHUNKS
    return np.array([c for c in range(CHUNKS) if not sync[c * chunk_size:
                                                            (c + 1) * chunk_size].any()])


def payload_id(text: str) -> int:
    """A payload (PAYLOAD_BITS bits) derived from any identifier, e.g. a model's name."""
    return hashlib.sha256(text.encode()).digest()[0] % 2**PAYLOAD_BITS


@dataclass(frozen=True)
class WatermarkConfig:
    """What :func:`embed` is called with when outputs are marked."""

    key: str = DEFAULT_KEY
    payload: int = payload_id("latentaudio")
    snr_db: float = DEFAULT_SNR_DB

    @property
    def id(self) -> str:
        """A public name for this mark: the key's fingerprint and the payload, for metadata."""
        return f"{hashlib.sha256(self.key.encode()).hexdigest()[:8]}:{self.payload:02x}"

    def apply(self, audio: np.ndarray) -> np.ndarray:
        return embed(audio, key=self.key, payload=self.payload, snr_db=self.snr_db)


DEFAULT_WATERMARK = WatermarkConfig()


def _signed_carrier(key: str, payload: int) -> np.ndarray:
    sync, data = carrier(key)
    chunk_size = PERIOD // CHUNKS
    signs = np.ones(PERIOD)
    for bit, chunk in enumerate(_data_chunks(key)):
        if not (payload >> bit) & 1:
            signs[chunk * chunk_size:(chunk + 1) * chunk_size] = -1.0
    return sync + data * signs


def _stft(signal: np.ndarray) -> np.ndarray:
    """``(samples,)`` -> ``(frames, bins)``; frame f covers ``[f*HOP - N_FFT/2, ... + N_FFT)``
    of the signal (zero-padded at both ends)."""
    from scipy import fft

    padded = np.pad(signal, (N_FFT // 2, N_FFT // 2 + HOP))
    count = (len(padded) - N_FFT) // HOP + 1
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:count]
    # float32 halves the FFT time; the mark sits 31 dB down, far above float32's noise.
    return fft.rfft((frames * _window()).astype(np.float32), axis=-1, workers=-1)


def _istft(spectra: np.ndarray, samples: int) -> np.ndarray:
    from scipy import fft

    frames = fft.irfft(spectra.astype(np.complex64), n=N_FFT, axis=-1, workers=-1) * _window()
    count, quarters = len(frames), N_FFT // HOP
    # Overlap-add: frame f's q-th quarter lands on output block f + q.
    blocks = frames.reshape(count, quarters, HOP)
    out = np.zeros((count + quarters - 1, HOP))
    for quarter in range(quarters):
        out[quarter: quarter + count] += blocks[:, quarter]
    # sqrt-Hann analysis and synthesis at 75% overlap sum to a constant 2.
    return out.reshape(-1)[N_FFT // 2: N_FFT // 2 + samples] / 2.0


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    return np.sqrt(np.hanning(N_FFT + 1)[:-1])  # periodic sqrt-Hann


@lru_cache(maxsize=1)
def _band() -> np.ndarray:
    frequencies = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    return (frequencies >= BAND_HZ[0]) & (frequencies <= BAND_HZ[1])


def embed(audio: np.ndarray, *, key: str = DEFAULT_KEY, payload: int = 0,
          snr_db: float = DEFAULT_SNR_DB) -> np.ndarray:
    """Watermark 44.1 kHz ``(channels, samples)`` audio with ``payload`` (16 bits); returns the
    same shape, float32. Silence stays silent."""
    if not 0 <= payload < 2**PAYLOAD_BITS:
        raise ValueError(f"payload must fit in {PAYLOAD_BITS} bits, got {payload}")
    audio = np.asarray(audio, dtype=np.float32)
    samples = audio.shape[-1]
    mono = audio.astype(np.float64).reshape(-1, samples).mean(axis=0)
    repeats = -(-samples // PERIOD)
    tiled = np.tile(_signed_carrier(key, payload), repeats)[:samples]
    host, chips = _stft(mono), _stft(tiled)
    magnitude = np.abs(host) * _band()
    if not magnitude.any():
        return audio.copy()
    # Shape: the square root of the audio's magnitude (scaled by its peak). The detector
    # whitens every bin to unit magnitude, so each bin counts for its mark-to-audio ratio;
    # against a mark proportional to the audio, this gives weaker bins more of the energy
    # budget, several times the detection score at the same overall SNR.
    shape = np.sqrt(magnitude * magnitude.max())
    # Energies in the STFT domain stand for the signal's (same frames for both).
    # Never more than MAX_RATIO of the audio in any bin: every time-frequency cell keeps a
    # local SNR of at least 20 dB, and silence stays silent. Bins held at that cap leave
    # budget to the others: a few rounds of rescaling spend it.
    budget = np.sum(np.abs(host) ** 2) * 10 ** (-snr_db / 10)
    alpha = np.sqrt(budget / np.sum(shape**2))
    for _ in range(4):
        marked = np.minimum(alpha * shape, MAX_RATIO * magnitude)
        alpha *= np.sqrt(budget / max(float(np.sum(marked**2)), 1e-30))
    marked = np.minimum(alpha * shape, MAX_RATIO * magnitude)
    mark = _istft(marked * (chips / np.maximum(np.abs(chips), 1e-12)), samples)
    # The inverse STFT of a reshaped spectrogram loses some energy: restore the target SNR
    # (by at most 1.5x, so no cell exceeds 0.15 of the audio).
    mark_power = float(np.mean(mark**2))
    if mark_power > 0:
        mark *= min(1.5, np.sqrt(np.mean(mono**2) * 10 ** (-snr_db / 10) / mark_power))
    return (audio + mark).astype(np.float32)


@dataclass(frozen=True)
class Detection:
    present: bool
    score: float  # correlation peak over the robust spread of all lags; THRESHOLD decides
    payload: int | None  # the 16 bits, when present
    bit_confidence: float | None  # the weakest bit's correlation, in the same units
    offset_seconds: float | None  # where the carrier's period starts, modulo 2.97 s


def whiten(mono: np.ndarray) -> np.ndarray:
    """Phase transform: unit magnitude in every in-band STFT bin, phases kept, zero elsewhere;
    each bin then weighted by how far it stands above its own noise floor (Wiener-style,
    ``1 - floor / power``, the floor being the bin's 10th percentile over time), since bins
    that added noise or coding has swamped carry noise and no mark."""
    spectra = _stft(mono)
    power = np.abs(spectra) ** 2
    tiny = 1e-18 * max(float(power.max()), 1e-30)
    floor = np.percentile(power[::4], 10, axis=0, keepdims=True)  # every 4th frame will do
    weight = np.clip(1.0 - floor / np.maximum(power, tiny), 0.0, 1.0)
    unit = np.where(_band() & (power > tiny), weight * spectra / np.sqrt(np.maximum(power, tiny)),
                    0.0)
    return _istft(unit, len(mono))


def detect(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, key: str = DEFAULT_KEY,
           threshold: float = THRESHOLD) -> Detection:
    """Look for the watermark of ``key`` in ``(channels, samples)`` or ``(samples,)`` audio."""
    mono = np.asarray(audio, dtype=np.float64)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    if sample_rate != SAMPLE_RATE:
        import soxr

        mono = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality="HQ")
    if len(mono) < MIN_SECONDS * SAMPLE_RATE:
        raise ValueError(f"need at least {MIN_SECONDS:g} s of audio to look for a watermark")
    white = whiten(mono)
    folded = np.zeros(PERIOD)
    for start in range(0, len(white), PERIOD):  # fold onto one period
        part = white[start: start + PERIOD]
        folded[: len(part)] += part
    sync, data = carrier(key)
    spectrum = np.fft.rfft(folded)
    # correlation[lag] = sum_k folded[k] * sync[(k - lag) mod PERIOD]
    correlation = np.fft.irfft(spectrum * np.conj(np.fft.rfft(sync)), n=PERIOD)
    centre = np.median(correlation)
    spread = 1.4826 * np.median(np.abs(correlation - centre)) + 1e-30
    lag = int(np.argmax(correlation))
    score = float((correlation[lag] - centre) / spread)
    if score < threshold:
        return Detection(False, score, None, None, None)
    aligned = np.roll(folded, -lag)  # aligned[k] lines up with the carrier's sample k
    chunk_size = PERIOD // CHUNKS
    payload, weakest = 0, np.inf
    for bit, chunk in enumerate(_data_chunks(key)):
        part = slice(chunk * chunk_size, (chunk + 1) * chunk_size)
        value = float(aligned[part] @ data[part]) / spread * np.sqrt(CHUNKS - PAYLOAD_BITS)
        payload |= int(value > 0) << bit
        weakest = min(weakest, abs(value))
    return Detection(True, score, payload, weakest, lag / SAMPLE_RATE)
