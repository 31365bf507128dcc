"""Global conditioning: timing (Stable Audio's seconds_start / seconds_total), tempo and key.

Each value becomes a vector; together with the pooled text embedding they form the global
conditioning the denoiser prepends to its sequence. Unknown tempo or key (sound effects, prompts
that name none) have their own learned "unknown" embedding rather than a made-up value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from latentaudio.theory import Key

KEY_CLASSES = 24  # 12 tonics x {major, minor}; index 24 = unknown


class NumberEmbedder(nn.Module):
    """A scalar in [low, high] -> ``dim`` vector via learned Fourier features (as Stable Audio's
    NumberConditioner), with a learned vector for NaN (unknown)."""

    def __init__(self, dim: int, low: float, high: float, features: int = 16) -> None:
        super().__init__()
        self.low, self.high = low, high
        self.frequencies = nn.Parameter(torch.randn(features) * 2 * math.pi)
        self.project = nn.Linear(2 * features + 1, dim)
        self.unknown = nn.Parameter(torch.zeros(dim))

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """``(B,)`` floats, NaN for unknown -> ``(B, dim)``."""
        known = torch.isfinite(values)
        x = ((values.nan_to_num(self.low) - self.low) / (self.high - self.low)).clamp(0, 1)
        angles = x[:, None] * self.frequencies[None]
        features = torch.cat([x[:, None], angles.sin(), angles.cos()], dim=-1)
        # The compute dtype: under layerwise casting the Linear's stored weight is fp8.
        embedded = self.project(features.to(self.unknown.dtype))
        return torch.where(known[:, None], embedded, self.unknown.to(embedded.dtype))


def key_index(key: str | None) -> int:
    """``"F# minor"`` -> 0..23; None or "" -> 24 (unknown)."""
    if not key:
        return KEY_CLASSES
    parsed = Key.parse(key)
    return parsed.tonic + (12 if parsed.mode == "minor" else 0)


@dataclass
class GlobalInputs:
    """The numbers behind global conditioning, one per batch item."""

    seconds_start: torch.Tensor  # (B,) seconds
    seconds_total: torch.Tensor  # (B,) seconds
    bpm: torch.Tensor  # (B,) NaN when unknown
    key: torch.Tensor  # (B,) long, 0..24 (24 = unknown)


class GlobalEmbedder(nn.Module):
    """Pooled text + timing + tempo + key -> ``(B, 1, dim)`` global token input."""

    def __init__(self, text_dim: int, dim: int, max_seconds: float = 47.0) -> None:
        super().__init__()
        self.seconds_start = NumberEmbedder(dim, 0.0, max_seconds)
        self.seconds_total = NumberEmbedder(dim, 0.0, max_seconds)
        self.bpm = NumberEmbedder(dim, 40.0, 220.0)
        self.key = nn.Embedding(KEY_CLASSES + 1, dim)
        self.text = nn.Linear(text_dim, dim)
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, pooled_text: torch.Tensor, inputs: GlobalInputs) -> torch.Tensor:
        total = (self.text(pooled_text) + self.seconds_start(inputs.seconds_start)
                 + self.seconds_total(inputs.seconds_total) + self.bpm(inputs.bpm)
                 + self.key(inputs.key))
        return self.out(total)[:, None, :]


class ReferenceEmbedder(nn.Module):
    """Melody and style (:mod:`latentaudio.conditioning.reference`) -> what a denoiser adds to
    its inputs: a ``(B, latent_channels, T)`` term for the latents and a ``(B, dim)`` term for
    the global conditioning.

    Both paths are bias-free and end in a zero-initialised layer: a missing (all-zero) melody or
    style adds exactly nothing, and a denoiser trained without them starts out unchanged when
    they are added. Adding a learned function of the chroma to the input latents is what
    concatenating it as extra input channels amounts to, since the first layers are linear, and
    it leaves the pretrained input projection as it was.
    """

    def __init__(self, latent_channels: int, dim: int, melody_bins: int = 0,
                 style_dim: int = 0, hidden: int = 128) -> None:
        super().__init__()
        self.melody = self.style = None
        if melody_bins:
            self.melody = nn.Sequential(
                nn.Conv1d(melody_bins, hidden, 3, padding=1, bias=False), nn.SiLU(),
                nn.Conv1d(hidden, latent_channels, 3, padding=1, bias=False))
            nn.init.zeros_(self.melody[-1].weight)
        if style_dim:
            self.style = nn.Sequential(nn.Linear(style_dim, dim, bias=False), nn.SiLU(),
                                       nn.Linear(dim, dim, bias=False))
            nn.init.zeros_(self.style[-1].weight)

    def check(self, melody: torch.Tensor | None, style: torch.Tensor | None) -> None:
        """A clear error when a reference is given to a model not trained to use it."""
        from latentaudio.errors import LatentAudioError

        for name, value, path in (("melody", melody, self.melody),
                                  ("style", style, self.style)):
            if value is not None and path is None and bool(value.any()):
                raise LatentAudioError(f"this denoiser was not trained with {name} "
                                       "conditioning: use a model that was (the default one is)")

    def latents_term(self, melody: torch.Tensor | None, frames: int,
                     dtype: torch.dtype) -> torch.Tensor | None:
        """``(B, 12, T')`` chroma -> ``(B, latent_channels, frames)``, or None."""
        if melody is None or self.melody is None:
            return None
        from latentaudio.conditioning.reference import fit_frames

        return self.melody(fit_frames(melody, frames).to(dtype))

    def global_term(self, style: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
        """``(B, style_dim)`` -> ``(B, dim)``, or None."""
        if style is None or self.style is None:
            return None
        return self.style(style.to(dtype))
