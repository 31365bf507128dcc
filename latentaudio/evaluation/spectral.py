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
