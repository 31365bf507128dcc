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

from latentaudio.data.theory import Key

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
        embedded = self.project(features.to(self.project.weight.dtype))
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
