"""Mastering a generated clip: exact length, click-free edges, loudness, true-peak ceiling.

The order matters: trim -> fades -> loudness normalisation (ITU-R BS.1770-4 via pyloudnorm) ->
watermark (:mod:`latentaudio.watermark`, 31 dB below the audio) -> true-peak limiting (BS.1770-4
Annex 2: peaks measured on a 4x oversampled signal), so the loudness target is met first and the
ceiling is never exceeded after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

from latentaudio.watermark import DEFAULT_WATERMARK, WatermarkConfig

MIN_LOUDNESS_SECONDS = 0.4  # BS.1770 gating blocks are 400 ms: shorter clips cannot be measured


@dataclass(frozen=True)
class MasteringConfig:
    target_lufs: float | None = -14.0  # integrated loudness target; None leaves the level alone
    true_peak_dbtp: float = -1.0  # ceiling for the 4x-oversampled peak
    fade_in_seconds: float = 0.005  # raised-cosine fade at the start
    fade_out_seconds: float = 0.02  # and at the end
    silence_lufs: float = -70.0  # at or below this (BS.1770's absolute gate) audio is silence
    watermark: WatermarkConfig | None = DEFAULT_WATERMARK  # None: no watermark


@dataclass(frozen=True)
class MasteringReport:
    loudness_before: float  # LUFS (-inf for silence, nan when too short to measure)
    loudness_after: float
    true_peak_dbtp: float
    gain_db: float  # applied by loudness normalisation
    limited: bool  # whether the true-peak limiter had to act
    watermark: str | None = None  # the mark's id (WatermarkConfig.id), None if unmarked


def trim(wav: np.ndarray, samples: int) -> np.ndarray:
    """Crop or zero-pad ``(channels, n)`` to exactly ``samples``."""
    if wav.shape[-1] >= samples:
        return wav[..., :samples]
    return np.pad(wav, [(0, 0)] * (wav.ndim - 1) + [(0, samples - wav.shape[-1])])


def fade(wav: np.ndarray, sample_rate: int, fade_in: float, fade_out: float) -> np.ndarray:
    """Raised-cosine fades over the first ``fade_in`` and last ``fade_out`` seconds."""
    out = wav.astype(np.float32, copy=True)
    n = out.shape[-1]
    for seconds, at_start in ((fade_in, True), (fade_out, False)):
        length = min(n, round(seconds * sample_rate))
        if length == 0:
            continue
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, length))).astype(np.float32)
        if at_start:
            out[..., :length] *= ramp
        else:
            out[..., n - length:] *= ramp[::-1]
    return out


def loudness(wav: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS of ``(channels, n)``; nan when shorter than 400 ms."""
    if wav.shape[-1] < MIN_LOUDNESS_SECONDS * sample_rate:
        return float("nan")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(wav.T.astype(np.float64)))


def true_peak(wav: np.ndarray) -> float:
    """True peak in dBTP: the largest magnitude of the 4x oversampled signal (BS.1770-4 Annex 2)."""
    upsampled = resample_poly(wav.astype(np.float64), 4, 1, axis=-1)
    peak = max(float(np.abs(upsampled).max(initial=0.0)), float(np.abs(wav).max(initial=0.0)))
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def limit_true_peak(wav: np.ndarray, sample_rate: int, ceiling_dbtp: float
                    ) -> tuple[np.ndarray, float, bool]:
    """Bring the true peak to at most ``ceiling_dbtp`` with a limiter (pedalboard's), then a
    final static trim, which guarantees the ceiling whatever the limiter's overshoot. Returns
    ``(audio, true peak in dBTP, whether it had to act)``."""
    peak = true_peak(wav)
    if peak <= ceiling_dbtp:
        return wav, peak, False
    from pedalboard import Limiter

    limited = Limiter(threshold_db=ceiling_dbtp - 0.5, release_ms=60.0)(
        wav.astype(np.float32), sample_rate)
    peak = true_peak(limited)
    if peak > ceiling_dbtp:
        trim_db = peak - ceiling_dbtp + 0.01
        limited = limited * np.float32(10 ** (-trim_db / 20))
        peak -= trim_db
    return limited.astype(np.float32), peak, True


def master(wav: np.ndarray, sample_rate: int, samples: int | None = None,
           config: MasteringConfig | None = None) -> tuple[np.ndarray, MasteringReport]:
    """Trim to ``samples``, fade, normalise loudness, limit true peak; ``(channels, n)`` float32.

    Silence (at or below ``silence_lufs``) is left silent rather than amplified, and clips too
    short to measure (< 400 ms) are only peak-limited.
    """
    config = config or MasteringConfig()
    out = trim(wav, samples) if samples is not None else wav
    out = fade(out, sample_rate, config.fade_in_seconds, config.fade_out_seconds)
    before = loudness(out, sample_rate)
    gain_db = 0.0
    if config.target_lufs is not None and np.isfinite(before) and before > config.silence_lufs:
        gain_db = config.target_lufs - before
        out = out * np.float32(10 ** (gain_db / 20))
    if config.watermark is not None:
        out = config.watermark.apply(out)
    out, peak, limited = limit_true_peak(out, sample_rate, config.true_peak_dbtp)
    # Loudness scales exactly with a static gain; only the limiter calls for a new measurement.
    after = loudness(out, sample_rate) if limited else before + gain_db
    mark = config.watermark.id if config.watermark is not None else None
    return out.astype(np.float32), MasteringReport(before, after, peak, gain_db, limited, mark)
