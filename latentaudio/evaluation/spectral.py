"""Spectral distances between a reference waveform and an estimate of it."""

from __future__ import annotations

import numpy as np
import torch

from latentaudio.mel import MelSpectrogram


def log_mel_l1(reference: torch.Tensor, estimate: torch.Tensor, mel: MelSpectrogram) -> float:
    """Mean absolute difference of natural-log mels of two ``(B, C, samples)`` waveforms.

    0 means identical spectra; 1 means a factor of e (8.7 dB) per mel bin on average.
    """
    if reference.shape != estimate.shape:
        raise ValueError(f"shapes differ: {tuple(reference.shape)} vs {tuple(estimate.shape)}")
    return float((mel(reference) - mel(estimate)).abs().mean())


def spectral_convergence(reference: torch.Tensor, estimate: torch.Tensor,
                         mel: MelSpectrogram) -> float:
    """||S_ref| - |S_est||_F / ||S_ref||_F on linear STFT magnitudes (Arik et al. 2019).

    Phase-blind, so it measures how consistent the estimate's spectrogram is with the reference's.
    """
    if reference.shape != estimate.shape:
        raise ValueError(f"shapes differ: {tuple(reference.shape)} vs {tuple(estimate.shape)}")
    ref = mel.stft(reference.flatten(0, 1)).abs()
    est = mel.stft(estimate.flatten(0, 1)).abs()
    return float(torch.linalg.norm(ref - est) / torch.linalg.norm(ref).clamp_min(1e-12))


def spectral_flux(audio: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Frame-to-frame L2 change of the STFT magnitude of ``(channels, samples)`` (mixed to
    mono), one value per hop after the first frame; spikes mark clicks and hard cuts."""
    mono = np.asarray(audio, dtype=np.float64).mean(axis=0)
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::hop] * np.hanning(n_fft)
    magnitude = np.abs(np.fft.rfft(frames, axis=-1))
    return np.sqrt(np.sum(np.diff(magnitude, axis=0) ** 2, axis=-1))


def hop_comb_prominence(audio: np.ndarray, sample_rate: int = 44_100, hop_length: int = 512,
                        n_fft: int = 16_384, band_hz: tuple[float, float] = (100.0, 16_000.0),
                        neighbourhood_hz: float = 25.0) -> float:
    """How far a frame-rate buzz stands out: the median over k of the spectrum's peak at
    k x sample_rate / hop_length Hz (86.13 Hz for 44.1 kHz and hop 512) over the median of its
    +-``neighbourhood_hz`` neighbourhood, inside ``band_hz``.

    A vocoder whose frames are each consistent but not with one another repeats something every
    hop, which puts steady tones on exactly these frequencies. Real recordings read about 1.25;
    such a comb reads from a few to thousands. ``audio`` is ``(channels, samples)`` (mixed to mono)
    or ``(samples,)``; the spectrum is Welch's average of Hann-windowed ``n_fft`` frames at
    50% overlap (n_fft 16 384 resolves 2.7 Hz). NaN for digital silence.
    """
    mono = np.asarray(audio, dtype=np.float64)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    if len(mono) < n_fft:
        mono = np.pad(mono, (0, n_fft - len(mono)))
    frames = np.lib.stride_tricks.sliding_window_view(mono, n_fft)[::n_fft // 2]
    magnitude = np.sqrt(np.mean(np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=-1)) ** 2,
                                axis=0))
    bin_hz = sample_rate / n_fft
    spacing = sample_rate / hop_length
    reach = int(neighbourhood_hz / bin_hz)
    ratios = []
    for k in range(max(1, int(np.ceil(band_hz[0] / spacing))), int(band_hz[1] / spacing) + 1):
        centre = round(k * spacing / bin_hz)
        peak = magnitude[centre - 1:centre + 2].max()  # the tone may fall between two bins
        around = np.r_[magnitude[centre - reach:centre - 2],
                       magnitude[centre + 3:centre + reach + 1]]
        floor = np.median(around)
        if floor > 0:
            ratios.append(peak / floor)
    return float(np.median(ratios)) if ratios else float("nan")
