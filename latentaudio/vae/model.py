"""The mel-VAE: stereo log-mel <-> KL-regularised latents at a quarter of the mel frame rate.

The two channels' mel bands are stacked as the features of a 1-D sequence of frames, so the model
is a stack of 1-D ConvNeXt blocks over time (cheap on a CPU: no 2-D convolutions), downsampling
time by ``prod(downsample)``. With the default front end (86.1 mel frames/s) and 4x downsampling,
latents run at 21.5 frames/s, Stable Audio Open's rate, and hold 32x fewer values than the mel.

Shapes: log-mel ``(B, 2, n_mels, frames)`` -> latents ``(B, latent_channels, latent_frames)``,
``latent_frames = ceil(frames / downsampling_ratio)``; any length works (padded internally).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from latentaudio.folders import SharedFolder
from latentaudio.layers import ChannelNorm, ConvNeXtBlock


@dataclass
class LatentDistribution:
    """Diagonal Gaussian posterior ``N(mean, exp(logvar))`` over ``(B, C, T)`` latents.

    diffusers' DiagonalGaussianDistribution sums its KL over image axes (1, 2, 3); ours has one
    time axis and a padding mask, hence this small class.
    """

    mean: torch.Tensor
    logvar: torch.Tensor

    @property
    def std(self) -> torch.Tensor:
        return torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(self.mean.shape, generator=generator, device=self.mean.device,
                            dtype=self.mean.dtype)
        return self.mean + self.std * noise

    def kl(self) -> torch.Tensor:
        """KL to N(0, 1) per latent value, ``(B, C, T)``."""
        return 0.5 * (self.mean.pow(2) + self.logvar.exp() - 1.0 - self.logvar)


class MelVAE(SharedFolder, ModelMixin, ConfigMixin):
    """Stereo log-mel autoencoder with a KL-regularised latent space (Kingma & Welling 2014)."""

    @register_to_config
    def __init__(
        self,
        n_mels: int = 128,  # mel bands per channel (the front end's n_mels)
        audio_channels: int = 2,  # stereo
        latent_channels: int = 32,  # latent features per latent frame
        hidden_channels: int = 256,  # width of the ConvNeXt stacks
        downsample: tuple[int, ...] = (2, 2),  # time strides; their product is the ratio
        encoder_blocks: int = 2,  # ConvNeXt blocks per encoder stage
        decoder_blocks: int = 3,  # ConvNeXt blocks per decoder stage
        mel_mean: float = -6.0,  # log-mel normalisation: (x - mean) / std
        mel_std: float = 3.0,
        log_floor: float = math.log(1e-5),  # the front end's log-mel value of silence
        scaling_factor: float = 1.0,  # latents * scaling_factor has unit variance on the corpus
        hop_length: int = 512,  # the front end's hop, to express the ratio in samples
        sample_rate: int = 44_100,
    ) -> None:
        super().__init__()
        features = n_mels * audio_channels
        stages = len(downsample) + 1

        encoder: list[nn.Module] = [nn.Conv1d(features, hidden_channels, 7, padding=3)]
        for stage in range(stages):
            encoder += [ConvNeXtBlock(hidden_channels) for _ in range(encoder_blocks)]
            if stage < len(downsample):
                stride = downsample[stage]
                encoder.append(nn.Conv1d(hidden_channels, hidden_channels, 2 * stride,
                                         stride=stride, padding=stride // 2))
        encoder += [ChannelNorm(hidden_channels),
                    nn.Conv1d(hidden_channels, 2 * latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*encoder)

        decoder: list[nn.Module] = [nn.Conv1d(latent_channels, hidden_channels, 7, padding=3)]
        for stage in range(stages):
            decoder += [ConvNeXtBlock(hidden_channels) for _ in range(decoder_blocks)]
            if stage < len(downsample):
                # Nearest-neighbour upsampling then a convolution: no checkerboard artefacts
                # (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts").
                decoder += [nn.Upsample(scale_factor=downsample[::-1][stage], mode="nearest"),
                            nn.Conv1d(hidden_channels, hidden_channels, 3, padding=1)]
        decoder += [ChannelNorm(hidden_channels),
                    nn.Conv1d(hidden_channels, features, 7, padding=3)]
        self.decoder = nn.Sequential(*decoder)

    # ------------------------------------------------------------------ derived sizes
    @property
    def downsampling_ratio(self) -> int:
        """Mel frames per latent frame."""
        return math.prod(self.config.downsample)

    @property
    def samples_per_latent(self) -> int:
        """Audio samples per latent frame."""
        return self.downsampling_ratio * self.config.hop_length

    @property
    def latent_rate(self) -> float:
        """Latent frames per second."""
        return self.config.sample_rate / self.samples_per_latent

    def latent_frames(self, mel_frames: int) -> int:
        return -(-mel_frames // self.downsampling_ratio)

    # ------------------------------------------------------------------ encode / decode
    def encode(self, log_mel: torch.Tensor) -> LatentDistribution:
        """``(B, 2, n_mels, frames)`` -> posterior over ``(B, C, ceil(frames / ratio))``."""
        c = self.config
        if log_mel.ndim != 4 or log_mel.shape[1:3] != (c.audio_channels, c.n_mels):
            raise ValueError(f"expected (batch, {c.audio_channels}, {c.n_mels}, frames), "
                             f"got {tuple(log_mel.shape)}")
        batch, _, _, frames = log_mel.shape
        x = (log_mel.reshape(batch, -1, frames) - c.mel_mean) / c.mel_std
        pad = self.latent_frames(frames) * self.downsampling_ratio - frames
        x = F.pad(x, (0, pad), value=(c.log_floor - c.mel_mean) / c.mel_std)  # pad with silence
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return LatentDistribution(mean, logvar.clamp(-30.0, 20.0))

    def decode(self, latents: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """``(B, C, latent_frames)`` -> log-mel ``(B, 2, n_mels, frames)``; ``frames`` crops the
        output (default: ``latent_frames * ratio``)."""
        c = self.config
        if latents.ndim != 3 or latents.shape[1] != c.latent_channels:
            raise ValueError(f"expected (batch, {c.latent_channels}, latent_frames), "
                             f"got {tuple(latents.shape)}")
        x = self.decoder(latents) * c.mel_std + c.mel_mean
        if frames is not None:
            x = x[..., :frames]
        return x.reshape(x.shape[0], c.audio_channels, c.n_mels, x.shape[-1])

    def forward(self, log_mel: torch.Tensor, sample_posterior: bool = True,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, LatentDistribution]:
        posterior = self.encode(log_mel)
        z = posterior.sample(generator) if sample_posterior else posterior.mean
        return self.decode(z, frames=log_mel.shape[-1]), posterior
