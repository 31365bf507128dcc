"""Latent files: one ``(C, frames)`` tensor in safetensors, with the audio length it encodes."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from latentaudio.errors import LatentAudioError


def save_latents(path: str | os.PathLike, latents: torch.Tensor, *, samples: int,
                 sample_rate: int, source: str = "") -> Path:
    """Write ``(C, frames)`` latents atomically, with the sample count they decode to."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        save_file({"latents": latents.contiguous().float()}, str(tmp), metadata={
            "samples": str(samples), "sample_rate": str(sample_rate), "source": source})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_latents(path: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """``(latents (C, frames), samples)`` from a file written by :func:`save_latents`."""
    path = Path(path)
    if not path.is_file():
        raise LatentAudioError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        latents = load_file(str(path))["latents"]
        samples = int(metadata["samples"])
    except (SafetensorError, KeyError, ValueError, OSError) as error:
        raise LatentAudioError(f"{path} is not a latents file from 'latentaudio encode' "
                               f"({type(error).__name__}: {error})") from error
    if latents.ndim != 2:
        raise LatentAudioError(f"{path}: expected (channels, frames) latents, "
                               f"got {tuple(latents.shape)}")
    return latents, samples
