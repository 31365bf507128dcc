"""Residual vector quantisation of the VAE latents: the token-AR backend's codec tokens.

Each latent frame (``C`` = 32 values, 21.5 frames/s) is coded greedily, level by level: level 1
picks the nearest of ``K`` codewords, level 2 codes what is left, and so on (Juang & Gray 1982;
SoundStream, Zeghidour et al. 2021). Decoding sums the chosen codewords of the levels given, so
any prefix of levels decodes to a coarser approximation.

The VAE is frozen, so learning the codebooks is residual k-means: each level starts from k-means++
seeds on its residuals and follows the SoundStream/EnCodec recipe of exponential moving averages
of the assigned vectors (decay 0.99, Laplace smoothing), with codewords that fall out of use
restarted on random residuals of the current batch. Quantizer dropout, which EnCodec needs so an
encoder trained jointly keeps its prefixes meaningful, is moot here: the latents are fixed and
greedy residual coding makes every prefix the best coarse code the codebooks allow.

Shapes: latents ``(B, C, T)``; codes ``(B, levels, T)`` int64 in ``[0, K)``.
"""

from __future__ import annotations

import math

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin


class ResidualVQ(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        dim: int = 32,  # latent channels
        levels: int = 8,  # residual quantisers
        codebook_size: int = 1024,  # codewords per level (10 bits)
        decay: float = 0.99,  # EMA of the codeword statistics
        frame_rate: float = 44_100 / 2048,  # latent frames per second, for bitrates
    ) -> None:
        super().__init__()
        self.register_buffer("codebooks", torch.zeros(levels, codebook_size, dim))
        self.register_buffer("cluster_size", torch.zeros(levels, codebook_size))
        self.register_buffer("embed_sum", torch.zeros(levels, codebook_size, dim))
        self.register_buffer("initialised", torch.zeros(levels, dtype=torch.bool))

    def bitrate(self, levels: int | None = None) -> float:
        """Bits per second of ``levels`` levels of codes (default all)."""
        levels = self.config.levels if levels is None else levels
        return levels * math.log2(self.config.codebook_size) * self.config.frame_rate

    # ------------------------------------------------------------------ coding
    @staticmethod
    def _nearest(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
        """``(N, C)`` against ``(K, C)`` -> index of the nearest codeword ``(N,)``."""
        distances = (vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codebook.T
                     + codebook.pow(2).sum(1)[None])
        return distances.argmin(dim=1)

    @torch.no_grad()
    def encode(self, latents: torch.Tensor, levels: int | None = None) -> torch.Tensor:
        """``(B, C, T)`` -> codes ``(B, levels, T)``."""
        levels = self.config.levels if levels is None else levels
        self._check_levels(levels)
        batch, channels, frames = latents.shape
        residual = latents.permute(0, 2, 1).reshape(-1, channels).float()
        codes = []
        for level in range(levels):
            index = self._nearest(residual, self.codebooks[level])
            residual = residual - self.codebooks[level][index]
            codes.append(index)
        return torch.stack(codes, dim=1).reshape(batch, frames, levels).permute(0, 2, 1)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """codes ``(B, L, T)`` with ``L`` <= levels (a prefix) -> latents ``(B, C, T)``."""
        if codes.ndim != 3:
            raise ValueError(f"expected codes (B, levels, T), got {tuple(codes.shape)}")
        self._check_levels(codes.shape[1])
        out = sum(self.codebooks[level][codes[:, level]] for level in range(codes.shape[1]))
        return out.permute(0, 2, 1).contiguous()  # (B, T, C) -> (B, C, T)

    def _check_levels(self, levels: int) -> None:
        if not 1 <= levels <= self.config.levels:
            raise ValueError(f"levels must be 1..{self.config.levels}, got {levels}")
        if not bool(self.initialised[:levels].all()):
            raise RuntimeError("the codebooks are not trained: run 'latentaudio train tokens'")

    # ------------------------------------------------------------------ learning
    @torch.no_grad()
    def update(self, latents: torch.Tensor, generator: torch.Generator | None = None) -> dict:
        """One EMA k-means step on a batch of latents ``(B, C, T)`` (or frames ``(N, C)``);
        returns the mean squared error after each level."""
        vectors = latents if latents.ndim == 2 else latents.permute(0, 2, 1).reshape(
            -1, latents.shape[1])
        residual = vectors.float()
        errors = {}
        for level in range(self.config.levels):
            if not bool(self.initialised[level]):
                self._initialise(level, residual, generator)
            index = self._nearest(residual, self.codebooks[level])
            self._ema_step(level, residual, index, generator)
            index = self._nearest(residual, self.codebooks[level])
            residual = residual - self.codebooks[level][index]
            errors[f"mse_{level + 1}"] = float(residual.pow(2).mean())
        return errors

    def _initialise(self, level: int, residual: torch.Tensor,
                    generator: torch.Generator | None) -> None:
        """k-means++ seeding (Arthur & Vassilvitskii 2007), then a few Lloyd iterations."""
        size = self.config.codebook_size
        pool = residual[torch.randperm(len(residual), generator=generator)[: 20 * size]]
        chosen = [pool[torch.randint(len(pool), (1,), generator=generator)]]
        nearest = (pool - chosen[0]).pow(2).sum(1)
        for _ in range(1, min(size, len(pool))):
            pick = torch.multinomial(nearest + 1e-12, 1, generator=generator)
            chosen.append(pool[pick])
            nearest = torch.minimum(nearest, (pool - pool[pick]).pow(2).sum(1))
        codebook = torch.cat(chosen)
        if len(codebook) < size:  # fewer vectors than codewords: repeat with jitter
            extra = codebook[torch.randint(len(codebook), (size - len(codebook),),
                                           generator=generator)]
            codebook = torch.cat([codebook, extra + 1e-3 * torch.randn(
                extra.shape, generator=generator)])
        for _ in range(5):
            index = self._nearest(pool, codebook)
            counts = torch.bincount(index, minlength=size).float()
            sums = torch.zeros_like(codebook).index_add_(0, index, pool)
            used = counts > 0
            codebook[used] = sums[used] / counts[used, None]
        self.codebooks[level] = codebook
        counts = torch.bincount(self._nearest(pool, codebook), minlength=size).float()
        self.cluster_size[level] = counts
        self.embed_sum[level] = codebook * counts[:, None]
        self.initialised[level] = True

    def _ema_step(self, level: int, residual: torch.Tensor, index: torch.Tensor,
                  generator: torch.Generator | None) -> None:
        decay, size = self.config.decay, self.config.codebook_size
        counts = torch.bincount(index, minlength=size).float()
        sums = torch.zeros_like(self.embed_sum[level]).index_add_(0, index, residual)
        self.cluster_size[level].mul_(decay).add_(counts, alpha=1 - decay)
        self.embed_sum[level].mul_(decay).add_(sums, alpha=1 - decay)
        total = self.cluster_size[level].sum()
        smoothed = (self.cluster_size[level] + 1e-5) / (total + size * 1e-5) * total
        self.codebooks[level] = self.embed_sum[level] / smoothed[:, None]
        dead = self.cluster_size[level] < 1e-2 * total / size
        if bool(dead.any()):
            picks = torch.randint(len(residual), (int(dead.sum()),), generator=generator)
            self.codebooks[level][dead] = residual[picks]
            self.embed_sum[level][dead] = residual[picks]
            self.cluster_size[level][dead] = 1.0
