"""Spectral distances between a reference waveform and an estimate of it."""

from __future__ import annotations

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
