"""The token backend's fine stage: fills residual levels 2..L from the coarse level, level by level,
every frame at once (the parallel scheme of SoundStorm, Borsos et al. 2023, one pass per level).

A bidirectional transformer (the coarse model's blocks without the causal mask) reads, per frame,
the sum of the embeddings of the levels known so far plus an embedding of the level to predict,
and outputs that level's codeword logits for every frame. Training picks a random level ``l`` per
item and teaches it from the true levels below (teacher forcing); generation runs ``L - 1`` passes.
Sequences longer than ``max_frames`` run in overlapping windows.

Shapes: codes ``(B, L, T)`` int64; logits ``(B, T, K)``.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from latentaudio.tokens.lm import Block


class FineModel(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        codebook_size: int = 1024,
        levels: int = 8,  # all residual levels, the coarse one included
        layers: int = 4,
        heads: int = 4,
        width: int = 256,
        max_frames: int = 512,  # window length; longer inputs run in overlapping windows
    ) -> None:
        super().__init__()
        self.code_embedding = nn.Embedding(levels * codebook_size, width)  # one table per level
        self.level_embedding = nn.Embedding(levels, width)
        self.position_embedding = nn.Embedding(max_frames, width)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, codebook_size)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, known: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """``known`` ``(B, l, T)`` (levels below the target; ``l`` >= 1) and the target level
        index per item ``(B,)`` (0-based) -> logits ``(B, T, K)``."""
        batch, have, frames = known.shape
        if frames > self.config.max_frames:
            raise ValueError(f"{frames} frames exceed the window of {self.config.max_frames}")
        offsets = torch.arange(have, device=known.device)[None, :, None] * self.config.codebook_size
        x = self.code_embedding(known + offsets).sum(dim=1)  # (B, T, width)
        x = x + self.level_embedding(level)[:, None] + self.position_embedding(
            torch.arange(frames, device=known.device))[None]
        everything = torch.ones(batch, frames, frames, dtype=torch.bool, device=known.device)
        for block in self.blocks:
            x = block(x, everything, None)
        return self.head(self.ln_f(x))

    def _level_logits(self, codes: torch.Tensor, level: int, overlap: int) -> torch.Tensor:
        """Logits ``(B, T, K)`` of ``level`` given ``codes`` ``(B, level, T)``, in overlapping
        windows of ``max_frames`` (each window's left edge, which sees no past, is dropped)."""
        window = self.config.max_frames
        frames = codes.shape[-1]
        out = None
        for start in range(0, max(1, frames - overlap), window - overlap):
            stop = min(frames, start + window)
            logits = self(codes[..., start:stop],
                          torch.full((codes.shape[0],), level, device=codes.device))
            if out is None:
                out = logits.new_empty(codes.shape[0], frames, logits.shape[-1])
            keep = 0 if start == 0 else overlap // 2
            out[:, start + keep: stop] = logits[:, keep:]
        return out

    @torch.no_grad()
    def fill(self, coarse: torch.Tensor, temperature: float = 0.0, overlap: int = 64,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Coarse codes ``(B, T)`` (or ``(B, c, T)`` with the first ``c`` levels) -> all levels
        ``(B, L, T)``. Temperature 0 takes the most likely codeword."""
        codes = coarse[:, None] if coarse.ndim == 2 else coarse
        for level in range(codes.shape[1], self.config.levels):
            picked = _pick(self._level_logits(codes, level, overlap), temperature, generator)
            codes = torch.cat([codes, picked[:, None]], dim=1)
        return codes

    @torch.no_grad()
    def fill_latents(self, coarse: torch.Tensor, codebooks: torch.Tensor,
                     overlap: int = 64) -> torch.Tensor:
        """Coarse codes ``(B, T)`` (or the first levels ``(B, c, T)``) -> latents ``(B, C, T)``:
        the known codewords plus, for each further level, the codeword *expected* under the
        model (probabilities times ``codebooks[level]`` ``(K, C)``): the least-squares estimate,
        so a level the model is unsure of adds its mean rather than a wrong guess. The most
        likely codes condition the next level."""
        codes = coarse[:, None] if coarse.ndim == 2 else coarse
        latents = sum(codebooks[level][codes[:, level]] for level in range(codes.shape[1]))
        for level in range(codes.shape[1], self.config.levels):
            logits = self._level_logits(codes, level, overlap)
            latents = latents + logits.float().softmax(-1) @ codebooks[level].float()
            codes = torch.cat([codes, logits.argmax(-1)[:, None]], dim=1)
        return latents.permute(0, 2, 1).contiguous()  # (B, T, C) -> (B, C, T)


def fine_loss(model: nn.Module, codes: torch.Tensor, mask: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Cross-entropy of one random level (2..L) per item of ``codes`` ``(B, L, T)`` given the
    true levels below (teacher forcing); ``mask`` ``(B, T)`` marks real frames. ``model`` is
    called, not its methods, so a wrapped (distributed) model works."""
    batch, levels, frames = codes.shape
    mask = torch.ones(batch, frames, device=codes.device) if mask is None else mask.float()
    target = torch.randint(1, levels, (batch,), generator=generator).to(codes.device)
    total = codes.new_zeros((), dtype=torch.float32)
    for level in target.unique().tolist():  # items sharing a target level run together
        rows = target == level
        logits = model(codes[rows, :level], target[rows])  # (b, T, K)
        error = F.cross_entropy(logits.transpose(1, 2).float(), codes[rows, level],
                                reduction="none")
        total = total + ((error * mask[rows]).sum(1) / mask[rows].sum(1).clamp_min(1)).sum()
    return total / batch


def _pick(logits: torch.Tensor, temperature: float,
          generator: torch.Generator | None) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(-1)
    probabilities = (logits.float() / temperature).softmax(-1)
    flat = torch.multinomial(probabilities.reshape(-1, probabilities.shape[-1]), 1,
                             generator=generator)
    return flat.view(probabilities.shape[:-1])
