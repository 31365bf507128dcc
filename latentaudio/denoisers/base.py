"""What every denoiser checks on the way in."""

from __future__ import annotations

import torch


def check_inputs(latents: torch.Tensor, time: torch.Tensor, channels: int) -> None:
    """Latents ``(B, channels, T)`` and one flow time per item ``(B,)``, else a clear error."""
    if latents.ndim != 3 or latents.shape[1] != channels or time.shape != (latents.shape[0],):
        raise ValueError(f"expected latents (B, {channels}, T) and time (B,), got "
                         f"{tuple(latents.shape)} and {tuple(time.shape)}")
