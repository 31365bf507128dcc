"""The UNet option: a 1-D UNet over latent frames (AudioLDM's and Moûsai's family), with the same
interface and conditioning as :class:`~latentaudio.denoisers.dit.LatentDiT`.

Built from diffusers components: ``ResidualTemporalBlock1D`` residual blocks (conditioned on the
flow time plus the global vector), ``Downsample1D`` / ``Upsample1D``, and
``BasicTransformerBlock`` (self-attention, cross-attention to the text states, feed-forward) at the
coarser levels, where sequences are short and attention is cheap. diffusers has no 1-D UNet with
cross-attention, so the wiring is ours.

Shapes: latents ``(B, C, T)``, time ``(B,)`` in [0, 1] -> prediction ``(B, C, T)``; any ``T``
(padded inside to a multiple of ``2 ** (levels - 1)`` and cropped back).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.downsampling import Downsample1D
from diffusers.models.embeddings import GaussianFourierProjection
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.resnet import ResidualTemporalBlock1D
from diffusers.models.upsampling import Upsample1D
from torch import nn

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import GlobalEmbedder, ReferenceEmbedder
from latentaudio.denoisers.base import check_inputs


def _additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """``(B, T)`` bool (True = attend) -> ``(B, 1, T)`` additive bias, as diffusers' UNets use."""
    if mask is None:
        return None
    return ((1.0 - mask.to(dtype)) * -10000.0)[:, None, :]


class _Attention(nn.Module):
    """Transformer blocks on ``(B, C, T)`` features: channels-last in, channels-first out."""

    def __init__(self, channels: int, head_dim: int, cross_attention_dim: int, depth: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            BasicTransformerBlock(channels, channels // head_dim, head_dim,
                                  cross_attention_dim=cross_attention_dim,
                                  activation_fn="gelu")
            for _ in range(depth))

    def forward(self, x: torch.Tensor, text: torch.Tensor, self_mask: torch.Tensor | None,
                text_mask: torch.Tensor | None) -> torch.Tensor:
        hidden = x.transpose(1, 2)
        for block in self.blocks:
            hidden = block(hidden, attention_mask=self_mask, encoder_hidden_states=text,
                           encoder_attention_mask=text_mask)
        return hidden.transpose(1, 2)


class LatentUNet(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        latent_channels: int = 32,  # the VAE's latent channels
        channels: tuple[int, ...] = (128, 192, 256),  # width per level; each level halves T
        blocks_per_level: int = 2,  # residual blocks per level (down path; up has one more)
        attention_levels: tuple[bool, ...] = (False, True, True),  # where attention runs
        attention_depth: int = 1,  # transformer blocks per attention stage
        head_dim: int = 64,
        text_dim: int = 384,  # the text encoder's width (MiniLM: 384)
        cross_attention_dim: int = 256,  # text states are projected to this
        global_dim: int = 256,  # global conditioning width (also the embedding width)
        max_seconds: float = 47.0,  # timing conditioning range
        melody_bins: int = 0,  # chroma bins of melody conditioning (12), 0 = none
        style_dim: int = 0,  # reference-clip embedding width (512), 0 = none
    ) -> None:
        super().__init__()
        if len(channels) != len(attention_levels):
            raise ValueError("channels and attention_levels need one entry per level")
        self.global_embedder = GlobalEmbedder(text_dim, global_dim, max_seconds)
        self.reference_embedder = ReferenceEmbedder(latent_channels, global_dim, melody_bins,
                                                    style_dim)
        self.time_projection = GaussianFourierProjection(global_dim // 2, scale=16.0, log=False,
                                                         flip_sin_to_cos=True)
        self.time_embedder = nn.Sequential(
            nn.Linear(global_dim, global_dim), nn.SiLU(), nn.Linear(global_dim, global_dim))
        self.text_projection = nn.Linear(text_dim, cross_attention_dim)
        self.conv_in = nn.Conv1d(latent_channels, channels[0], 3, padding=1)

        def attention(width: int, used: bool) -> nn.Module | None:
            return _Attention(width, head_dim, cross_attention_dim, attention_depth) \
                if used else None

        self.down = nn.ModuleList()
        skips = [channels[0]]
        width = channels[0]
        for level, (out, attend) in enumerate(zip(channels, attention_levels, strict=True)):
            stage = nn.ModuleDict({
                "resnets": nn.ModuleList(), "attentions": nn.ModuleList(),
                "downsample": Downsample1D(out, use_conv=True)
                if level < len(channels) - 1 else nn.Identity()})
            for _ in range(blocks_per_level):
                stage["resnets"].append(ResidualTemporalBlock1D(width, out, global_dim, 3))
                stage["attentions"].append(attention(out, attend) or nn.Identity())
                width = out
                skips.append(width)
            if level < len(channels) - 1:
                skips.append(width)
            self.down.append(stage)

        self.mid = nn.ModuleList([ResidualTemporalBlock1D(width, width, global_dim, 3),
                                  ResidualTemporalBlock1D(width, width, global_dim, 3)])
        self.mid_attention = attention(width, True)

        self.up = nn.ModuleList()
        for level in reversed(range(len(channels))):
            out, attend = channels[level], attention_levels[level]
            stage = nn.ModuleDict({
                "resnets": nn.ModuleList(), "attentions": nn.ModuleList(),
                "upsample": Upsample1D(out, use_conv=True) if level > 0 else nn.Identity()})
            for _ in range(blocks_per_level + 1):
                stage["resnets"].append(
                    ResidualTemporalBlock1D(width + skips.pop(), out, global_dim, 3))
                stage["attentions"].append(attention(out, attend) or nn.Identity())
                width = out
            self.up.append(stage)

        self.norm_out = nn.GroupNorm(8, width)
        self.conv_out = nn.Conv1d(width, latent_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)  # start as the zero prediction
        nn.init.zeros_(self.conv_out.bias)

    @property
    def downsampling(self) -> int:
        return 2 ** (len(self.config.channels) - 1)

    def forward(self, latents: torch.Tensor, time: torch.Tensor, condition: Conditioning,
                latent_mask: torch.Tensor | None = None) -> torch.Tensor:
        check_inputs(latents, time, self.config.latent_channels)
        batch, _, frames = latents.shape
        dtype = latents.dtype
        references = self.reference_embedder
        references.check(condition.melody, condition.style)
        melody = references.latents_term(condition.melody, frames, dtype)
        padded = -(-frames // self.downsampling) * self.downsampling
        x = F.pad(latents if melody is None else latents + melody, (0, padded - frames))
        if latent_mask is None:
            latent_mask = torch.ones(batch, frames, dtype=torch.bool, device=latents.device)
        mask = F.pad(latent_mask, (0, padded - frames), value=False)

        # Fourier features in fp32 whatever the weights' dtype: bf16 would blur the time.
        features = self.time_projection(time.float()).to(dtype)
        embedding = (self.time_embedder(features)
                     + self.global_embedder(condition.pooled.to(dtype), condition.globals)[:, 0])
        style = references.global_term(condition.style, dtype)
        embedding = embedding if style is None else embedding + style
        text = self.text_projection(condition.text_states.to(dtype))
        text_mask = _additive_mask(condition.text_mask, dtype)

        def attend(module: nn.Module, hidden: torch.Tensor, level_mask: torch.Tensor):
            if isinstance(module, nn.Identity):
                return hidden
            return module(hidden, text, _additive_mask(level_mask, dtype), text_mask)

        hidden = self.conv_in(x)
        skips, level_masks = [hidden], []
        for stage in self.down:
            level_masks.append(mask)
            for resnet, attention in zip(stage["resnets"], stage["attentions"], strict=True):
                hidden = attend(attention, resnet(hidden, embedding), mask)
                skips.append(hidden)
            if not isinstance(stage["downsample"], nn.Identity):
                hidden = stage["downsample"](hidden)
                mask = mask[:, ::2]  # a coarse frame is real if its first fine frame is
                skips.append(hidden)

        hidden = self.mid[0](hidden, embedding)
        hidden = attend(self.mid_attention, hidden, mask)
        hidden = self.mid[1](hidden, embedding)

        for stage, mask in zip(self.up, reversed(level_masks), strict=True):
            for resnet, attention in zip(stage["resnets"], stage["attentions"], strict=True):
                hidden = resnet(torch.cat([hidden, skips.pop()], dim=1), embedding)
                hidden = attend(attention, hidden, mask)
            if not isinstance(stage["upsample"], nn.Identity):
                hidden = stage["upsample"](hidden)
        hidden = self.conv_out(F.silu(self.norm_out(hidden)))
        return hidden[..., :frames]
