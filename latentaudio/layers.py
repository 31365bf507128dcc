"""Layers shared by the mel-VAE and the vocoder (1-D sequences of frames)."""

from __future__ import annotations

import torch
from torch import nn


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block over time (Liu et al. 2022, as adapted to audio frames by Vocos, Siuzdak
    2023): depthwise conv, LayerNorm, pointwise MLP, layer scale, residual. ``(B, C, T)`` in and
    out."""

    def __init__(self, channels: int, expansion: int = 3, kernel_size: int = 7,
                 layer_scale: float = 1e-2) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2,
                                   groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.expand = nn.Linear(channels, expansion * channels)
        self.activation = nn.GELU()
        self.project = nn.Linear(expansion * channels, channels)
        self.scale = nn.Parameter(torch.full((channels,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.depthwise(x).transpose(1, 2)  # (B, T, C)
        h = self.project(self.activation(self.expand(self.norm(h))))
        return x + (self.scale * h).transpose(1, 2)


class ChannelNorm(nn.Module):
    """LayerNorm over the channel axis of ``(B, C, T)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)
