"""A patch discriminator on log-mel spectrograms, for training the VAE's decoder adversarially.

An L1/L2 reconstruction loss asks the decoder for the median/mean of every mel bin given the
latents; where the latents leave a harmonic's exact bin uncertain, that mean is a smear across
neighbouring bins, which is how a codec loses the key and the timbre that tells genres apart
(``benchmarks/RESULTS.md``, session 12). A discriminator that judges local (frequency, time)
patches rewards sharp harmonics instead (the patch-GAN term of Esser et al. 2021's VQGAN and of
Stable Diffusion's autoencoder). Two scales: the mel at full resolution and halved in time.
Written here because no maintained package ships one that works on CPU without torchaudio. Not
a diffusers component: only the decoder ships; this lives in the training state.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from latentaudio.vocoder.discriminators import Judgements, _judge


class MelPatchDiscriminator(nn.Module):
    """``(B, 2, n_mels, frames)`` normalised stereo log-mel -> logits over (mel, time) patches
    and every feature map."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        # Frequency halves at every layer and time at every other one (every kernel still sees
        # every bin): a logit sees about 60 mel bands by 30 frames (0.35 s), and on a CPU the
        # whole stack costs less than the decoder it judges.
        widths = (2, channels, 2 * channels, 4 * channels, 4 * channels)
        shapes = (((5, 5), (2, 1)), ((5, 5), (2, 2)), ((5, 3), (2, 1)), ((3, 3), (2, 2)))
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(a, b, kernel, stride,
                                  padding=(kernel[0] // 2, kernel[1] // 2)))
            for (a, b), (kernel, stride) in zip(itertools.pairwise(widths), shapes, strict=True))
        self.out = weight_norm(nn.Conv2d(widths[-1], 1, (3, 3), padding=(1, 1)))

    def forward(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _judge(log_mel, self.convs, self.out)


class MelDiscriminator(nn.Module):
    """Patch discriminators at ``scales`` time resolutions (1 = full, 2 = halved by average
    pooling): ``(B, 2, n_mels, frames)`` -> one (logits, features) pair per scale."""

    def __init__(self, scales: tuple[int, ...] = (1, 2), channels: int = 16) -> None:
        super().__init__()
        self.scales = scales
        self.discriminators = nn.ModuleList(MelPatchDiscriminator(channels) for _ in scales)

    def forward(self, log_mel: torch.Tensor) -> Judgements:
        if log_mel.ndim != 4:
            raise ValueError(f"expected (batch, channels, n_mels, frames), got "
                             f"{tuple(log_mel.shape)}")
        judgements = []
        for scale, discriminator in zip(self.scales, self.discriminators, strict=True):
            x = log_mel if scale == 1 else F.avg_pool2d(log_mel, (1, scale), (1, scale),
                                                        ceil_mode=True)
            judgements.append(discriminator(x))
        return judgements
