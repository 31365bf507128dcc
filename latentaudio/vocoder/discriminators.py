"""Discriminators for adversarial vocoder training, small enough to train on a CPU.

Two families look at the waveform in complementary ways:

- :class:`PeriodDiscriminator` (HiFi-GAN's MPD, Kong et al. 2020): the signal folded into
  ``period`` columns, so 2-D convolutions along time see every ``period``-th sample; periods 2, 3,
  5, 7, 11 cover periodic structure (pitch, and a vocoder's frame-rate buzz) at many lags.
- :class:`ResolutionDiscriminator` (UnivNet's MRD, Jang et al. 2021, as used by Vocos): 2-D
  convolutions over one STFT's log magnitude; several FFT sizes trade time for frequency
  resolution. A comb of steady tones at the hop rate is plain to it.

Each returns its logits and every intermediate feature map, for the feature-matching loss.
Written here because no maintained package ships them without torchaudio (vocos's imports it).
Not a diffusers component: only the generator ships; these live in the training state.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

Features = list[torch.Tensor]
Judgements = list[tuple[torch.Tensor, Features]]  # (logits, feature maps) per discriminator


def _judge(x: torch.Tensor, convs, out: nn.Module) -> tuple[torch.Tensor, Features]:
    """Leaky-ReLU conv stack then the logits layer; every layer's output is a feature map."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), 0.1)
        features.append(x)
    x = out(x)
    features.append(x)
    return x, features


class PeriodDiscriminator(nn.Module):
    """``(B, 1, samples)`` -> logits ``(B, 1, samples/period/81, period)`` and feature maps."""

    def __init__(self, period: int, channels: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.period = period
        widths = (1, *channels)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0)))
            for a, b in itertools.pairwise(widths))
        self.post = weight_norm(nn.Conv2d(channels[-1], channels[-1], (5, 1), padding=(2, 0)))
        self.out = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, Features]:
        batch, _, samples = wav.shape
        pad = (-samples) % self.period
        x = F.pad(wav, (0, pad), mode="reflect" if pad < samples else "constant")
        x = x.reshape(batch, 1, -1, self.period)  # (B, 1, samples / period, period)
        return _judge(x, (*self.convs, self.post), self.out)


class ResolutionDiscriminator(nn.Module):
    """``(B, 1, samples)`` -> logits over one STFT's (frequency, time) grid and feature maps."""

    def __init__(self, n_fft: int, hop_length: int, channels: int = 32) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        # UnivNet's striding: halve frequency at every layer and time at every other one from
        # the first, which keeps the cost on a CPU a quarter of full-resolution early layers.
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv2d(1, channels, (7, 5), (2, 2), padding=(3, 2))),
            weight_norm(nn.Conv2d(channels, channels, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(channels, channels, (5, 3), (2, 2), padding=(2, 1))),
            weight_norm(nn.Conv2d(channels, channels, (3, 3), (2, 1), padding=(1, 1))),
            weight_norm(nn.Conv2d(channels, channels, (3, 3), (2, 2), padding=(1, 1))),
        ])
        self.out = weight_norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, Features]:
        spectrum = torch.stft(wav[:, 0].float(), self.n_fft, self.hop_length,
                              window=self.window, center=True, return_complex=True)
        # Log magnitude (compressed like hearing); (B, 1, n_fft/2 + 1, frames).
        x = torch.log(spectrum.abs().clamp_min(1e-5))[:, None].to(wav.dtype)
        return _judge(x, self.convs, self.out)


class VocoderDiscriminator(nn.Module):
    """All periods and resolutions together: ``(B, 1, samples)`` -> one (logits, features) pair
    per sub-discriminator."""

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11),
                 resolutions: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256),
                                                             (2048, 512)),
                 period_channels: tuple[int, ...] = (16, 32, 64, 128),
                 resolution_channels: int = 32) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            [PeriodDiscriminator(p, period_channels) for p in periods]
            + [ResolutionDiscriminator(n, h, resolution_channels) for n, h in resolutions])

    def forward(self, wav: torch.Tensor) -> Judgements:
        if wav.ndim != 3 or wav.shape[1] != 1:
            raise ValueError(f"expected mono (batch, 1, samples), got {tuple(wav.shape)}")
        return [discriminator(wav) for discriminator in self.discriminators]


def discriminator_loss(real: Judgements, fake: Judgements) -> torch.Tensor:
    """Least-squares GAN loss for the discriminator (Mao et al. 2017; HiFi-GAN's choice):
    real logits toward 1, generated toward 0, summed over sub-discriminators."""
    return sum(torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2)
               for (r, _), (f, _) in zip(real, fake, strict=True))


def generator_losses(real: Judgements, fake: Judgements) -> tuple[torch.Tensor, torch.Tensor]:
    """The generator's least-squares adversarial loss (generated logits toward 1) and the
    feature-matching loss (mean L1 between the discriminators' feature maps of real and
    generated audio; Larsen et al. 2016, HiFi-GAN eq. 4), each summed over sub-discriminators."""
    adversarial = sum(torch.mean((1 - f.float()) ** 2) for f, _ in fake)
    matching = sum(torch.mean(torch.abs(rf.detach().float() - ff.float()))
                   for (_, real_features), (_, fake_features) in zip(real, fake, strict=True)
                   for rf, ff in zip(real_features, fake_features, strict=True))
    return adversarial, matching
