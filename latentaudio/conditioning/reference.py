"""Conditioning taken from a reference recording rather than from words.

- **Melody** ("hum it; restyle it"): the reference's chroma, one 12-bin vector per latent frame,
  reduced to the dominant pitch class of each frame as MusicGen-Melody does (Copet et al. 2023,
  section 2.3): the full chroma would also carry the reference's timbre and harmony, the argmax
  keeps the tune. Quiet frames (50 dB below the loudest) carry no note.
- **Style** ("sounds like this clip"): the reference's 512-d aisfx embedding, the frozen audio
  tower of latentaudio-CLAP (:mod:`latentaudio.conditioning.aisfx`). Trained on the embedding of
  the target clip itself, as AudioLDM trains on CLAP audio embeddings (Liu et al. 2023).

The same functions make the training features and the inference inputs, so the two cannot drift.
"""

from __future__ import annotations

import numpy as np
import torch

CHROMA_BINS = 12
STYLE_DIM = 512  # aisfx embedding width
_CHROMA_RATE = 22_050  # chroma needs no more; the STFT is 4x cheaper
_N_FFT = 4096  # 5.4 Hz bins at 22.05 kHz: semitones apart down to about 90 Hz
_SILENCE_DB = -50.0  # frames this far below the loudest carry no note


def melody_chroma(audio: np.ndarray, sample_rate: int, samples_per_frame: int) -> torch.Tensor:
    """``(channels, samples)`` or ``(samples,)`` audio -> one-hot dominant pitch class per frame,
    ``(12, frames)`` float32 with C first, one frame per ``samples_per_frame`` input samples
    (the latent hop) and frame *i* centred on sample ``i * samples_per_frame``. Silent frames
    are all zero."""
    import librosa

    mono = np.asarray(audio, dtype=np.float32)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    hop = round(samples_per_frame * _CHROMA_RATE / sample_rate)
    if sample_rate != _CHROMA_RATE:
        mono = librosa.resample(mono, orig_sr=sample_rate, target_sr=_CHROMA_RATE,
                                res_type="soxr_hq")
    frames = len(mono) // hop + 1
    if len(mono) == 0 or not np.any(np.abs(mono) > 1e-6):
        return torch.zeros(CHROMA_BINS, frames)
    mono = np.pad(mono, (0, max(0, _N_FFT - len(mono))))  # a blip still gets one full window
    chroma = librosa.feature.chroma_stft(y=mono, sr=_CHROMA_RATE, n_fft=_N_FFT, hop_length=hop,
                                         norm=None)[:, :frames]
    energy = librosa.feature.rms(y=mono, frame_length=_N_FFT, hop_length=hop)[0, :frames]
    loud = 20 * np.log10(np.maximum(energy, 1e-10) / energy.max()) > _SILENCE_DB
    one_hot = np.zeros_like(chroma)
    one_hot[chroma.argmax(axis=0), np.arange(chroma.shape[1])] = 1.0
    return torch.from_numpy(one_hot * loud[None]).float()


def fit_frames(values: torch.Tensor, frames: int) -> torch.Tensor:
    """Crop or zero-pad the last axis of ``(..., T)`` to ``frames``: a reference shorter than
    the output conditions its start only."""
    if values.shape[-1] >= frames:
        return values[..., :frames]
    return torch.nn.functional.pad(values, (0, frames - values.shape[-1]))


class StyleEmbedder:
    """Audio ``(channels, samples)`` at 44.1 kHz -> the style vector ``(512,)``, from the first
    30 s (as the training features)."""

    MAX_SECONDS = 30.0

    def __init__(self) -> None:
        from latentaudio.conditioning.aisfx import AisfxEmbedder

        self.embedder = AisfxEmbedder()

    def __call__(self, audio: np.ndarray) -> torch.Tensor:
        audio = np.asarray(audio, dtype=np.float32)[..., : int(self.MAX_SECONDS * 44_100)]
        return torch.from_numpy(self.embedder.embed(audio)).float()
