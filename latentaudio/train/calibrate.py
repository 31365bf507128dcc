"""Post-training calibration of the VAE's latent scale."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from latentaudio.audio import load_audio
from latentaudio.data.manifest import Clip
from latentaudio.mel import MelSpectrogram
from latentaudio.vae import MelVAE


@torch.no_grad()
def latent_scaling_factor(vae: MelVAE, clips: list[Clip], root, *, max_clips: int = 200,
                          seconds: float = 10.0, seed: int = 0, progress: bool = True) -> float:
    """1 / std of the posterior means over up to ``max_clips`` clips, so that scaled latents
    have unit variance, as Rombach et al. (2022, Sec. 4.3.2 / App. G) scale Stable Diffusion's."""
    rng = np.random.default_rng(seed)
    chosen = [clips[i] for i in rng.permutation(len(clips))[:max_clips]]
    mel = MelSpectrogram()
    total, total_sq, count = 0.0, 0.0, 0
    for clip in tqdm(chosen, desc="latent scale", disable=not progress):
        audio = torch.from_numpy(load_audio(clip.resolve(root), duration_seconds=seconds))[None]
        mean = vae.encode(mel(audio).to(vae.dtype)).mean.double()
        total += float(mean.sum())
        total_sq += float(mean.pow(2).sum())
        count += mean.numel()
    variance = total_sq / count - (total / count) ** 2
    return float(1.0 / max(variance, 1e-12) ** 0.5)
