"""latentaudio: text-to-audio and audio editing with latent diffusion, stereo 44.1 kHz."""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Pipeline components by name. diffusers' from_pretrained finds a component's class as an
# attribute of its top-level package ("latentaudio", "MelVAE"), so they are reachable here;
# lazily, so that 'latentaudio --help' does not import torch.
_LAZY = {
    "MelVAE": "latentaudio.vae.model",
    "Vocoder": "latentaudio.vocoder.model",
    "LatentDiT": "latentaudio.denoisers.dit",
    "LatentAudioPipeline": "latentaudio.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'latentaudio' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
