"""Frame-level tempo and key conditioning: a beat grid and a key template at the latent frame rate.

A single global tempo or key embedding leaves the model to discover what "120 bpm" means for
every frame. Here the denoiser is also told, frame by frame, where the beats and bars fall and
which pitch classes the key allows, the way it is told the melody: a ``(B, channels, frames)``
input that a zero-initialised path (:class:`MusicEmbedder`) adds to the latents.

Everything is built from :class:`~latentaudio.conditioning.embedders.GlobalInputs`, so it needs
no new field and follows the conditioning everywhere (CFG nulls, dropout, batching):

- the **beat grid** (:data:`GRID_CHANNELS`) from ``bpm`` and ``seconds_start``: time runs from
  the window's start in the whole piece, so ``extend``'s windows continue one grid. Channels:
  beat pulse, downbeat pulse, and the cosine and sine of the beat and bar phases. Beats are
  counted from second 0 of the piece, in 4/4. Unknown tempo (NaN): all zero.
- the **key template** (:data:`KEY_CHANNELS`) from ``key``: the scale's 7 pitch classes, then
  the tonic one-hot (which tells C major from A minor). Unknown key: all zero.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from latentaudio.conditioning.embedders import KEY_CLASSES, GlobalInputs
from latentaudio.theory import SCALES

METER = 4  # beats per bar: the corpus's music is in 4/4 or is labelled as if it were
PULSE_WIDTH = 0.5  # latent frames: the standard deviation of a beat pulse
GRID_CHANNELS = 6
KEY_CHANNELS = 24
MUSIC_CHANNELS = GRID_CHANNELS + KEY_CHANNELS


def beat_grid(bpm: torch.Tensor, seconds_start: torch.Tensor, frames: int,
              frame_rate: float) -> torch.Tensor:
    """``(B,)`` tempi (NaN: unknown) and window starts in seconds -> ``(B, 6, frames)``."""
    known = torch.isfinite(bpm)
    beats_per_second = torch.where(known, bpm, torch.zeros_like(bpm)).float() / 60.0
    time = seconds_start.float()[:, None] + torch.arange(
        frames, device=bpm.device, dtype=torch.float32)[None] / frame_rate
    beats = time * beats_per_second[:, None]
    channels = []
    for count, period in ((beats, 1.0), (beats / METER, METER)):
        phase = count - torch.floor(count)
        # Distance to the nearest beat (or downbeat), in frames.
        frames_per_unit = frame_rate / beats_per_second.clamp_min(1e-6) * period
        distance = torch.minimum(phase, 1 - phase) * frames_per_unit[:, None]
        channels.append(torch.exp(-0.5 * (distance / PULSE_WIDTH) ** 2))
    for count in (beats, beats / METER):
        angle = 2 * math.pi * count
        channels += [torch.cos(angle), torch.sin(angle)]
    return torch.stack(channels, dim=1) * known[:, None, None]


def _key_rows() -> torch.Tensor:
    """``(25, 24)``: each key index's scale pitch classes and tonic one-hot; row 24 (unknown)
    all zero. Built once, at import (it is read at every denoiser call)."""
    rows = torch.zeros(KEY_CLASSES + 1, KEY_CHANNELS)
    for index in range(KEY_CLASSES):
        tonic, mode = index % 12, "minor" if index >= 12 else "major"
        for step in SCALES[mode]:
            rows[index, (tonic + step) % 12] = 1.0
        rows[index, 12 + tonic] = 1.0
    return rows


KEY_ROWS = _key_rows()


def key_template(key: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B,)`` key indices (0-11 major, 12-23 minor, 24 unknown) -> ``(B, 24, frames)``."""
    template = KEY_ROWS.to(key.device)[key.long()]
    return template[:, :, None].expand(-1, -1, frames)


def music_frames(inputs: GlobalInputs, frames: int, frame_rate: float) -> torch.Tensor:
    """The beat grid and key template of a batch, ``(B, MUSIC_CHANNELS, frames)``."""
    return torch.cat([beat_grid(inputs.bpm, inputs.seconds_start, frames, frame_rate),
                      key_template(inputs.key, frames)], dim=1)


class MusicEmbedder(nn.Module):
    """:func:`music_frames` -> a ``(B, latent_channels, frames)`` term for the input latents.

    Bias-free and zero-initialised, as the melody path: unknown tempo and key add nothing, and a
    denoiser trained without this path starts out unchanged when it is added.
    """

    def __init__(self, latent_channels: int, frame_rate: float, hidden: int = 128) -> None:
        super().__init__()
        if frame_rate <= 0:
            raise ValueError("the music grid needs the latent frame rate (frame_rate > 0)")
        self.frame_rate = frame_rate
        self.net = nn.Sequential(
            nn.Conv1d(MUSIC_CHANNELS, hidden, 3, padding=1, bias=False), nn.SiLU(),
            nn.Conv1d(hidden, latent_channels, 3, padding=1, bias=False))
        nn.init.zeros_(self.net[-1].weight)

    def forward(self, inputs: GlobalInputs, frames: int, dtype: torch.dtype) -> torch.Tensor:
        return self.net(music_frames(inputs, frames, self.frame_rate).to(dtype))
