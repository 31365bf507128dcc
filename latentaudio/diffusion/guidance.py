"""Classifier-free guidance (Ho & Salimans 2022). The only place the formula lives."""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentaudio.conditioning.condition import Conditioning

Denoise = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]


def combine(conditional: torch.Tensor, unconditional: torch.Tensor, scale: float) -> torch.Tensor:
    """``unconditional + scale * (conditional - unconditional)``: for denoiser outputs here and
    for the token backend's logits alike."""
    return unconditional + scale * (conditional - unconditional)


def guided(denoise: Denoise, x: torch.Tensor, time: torch.Tensor, condition: Conditioning,
           negative: Conditioning, scale: float) -> torch.Tensor:
    """``negative + scale * (conditional - negative)``; ``negative`` is ``condition.null_like()``
    or a negative prompt's conditioning. Scale 1 runs the conditional branch alone."""
    if scale == 1.0:
        return denoise(x, time, condition)
    both = denoise(torch.cat([x, x]), torch.cat([time, time]),
                   Conditioning.cat([condition, negative]))
    conditional, unconditional = both.chunk(2)
    return combine(conditional, unconditional, scale)
