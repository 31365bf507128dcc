"""Denoisers: networks that map (noisy latents, time, conditioning) to a prediction.

All share one interface, ``model(latents (B, C, T), time (B,), condition, latent_mask=None)``,
and are chosen by name from :data:`DENOISERS` (``--denoiser`` in ``train diffusion``); their
default sizes live in ``configs/<name>/``.
"""

from __future__ import annotations

from latentaudio.denoisers.dit import LatentDiT
from latentaudio.denoisers.unet import LatentUNet

DENOISERS = {"dit": LatentDiT, "unet": LatentUNet}
DENOISER_CLASSES = {cls.__name__: cls for cls in DENOISERS.values()}

__all__ = ["DENOISERS", "DENOISER_CLASSES", "LatentDiT", "LatentUNet"]
