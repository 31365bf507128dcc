"""The default denoiser: diffusers' StableAudioDiTModel at a small size, plus our global
conditioning embedder, saved and loaded as one diffusers component (``transformer``).

Shapes: latents ``(B, C, T)``, time ``(B,)`` in [0, 1] -> prediction ``(B, C, T)``.
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.loaders import PeftAdapterMixin
from diffusers.models import StableAudioDiTModel
from diffusers.models.embeddings import get_1d_rotary_pos_embed
from diffusers.models.modeling_utils import ModelMixin

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import GlobalEmbedder, ReferenceEmbedder
from latentaudio.conditioning.grid import MusicEmbedder
from latentaudio.denoisers.base import check_inputs


class LatentDiT(ModelMixin, ConfigMixin, PeftAdapterMixin):
    """PeftAdapterMixin: LoRA adapters (:mod:`latentaudio.adapters`) load, stack and scale."""

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 32,  # the VAE's latent channels
        layers: int = 6,  # transformer blocks
        heads: int = 4,  # query heads
        key_value_heads: int = 2,  # grouped-query attention
        head_dim: int = 64,  # width = heads * head_dim
        text_dim: int = 384,  # the text encoder's width (MiniLM: 384)
        cross_attention_dim: int = 256,  # text states are projected to this
        global_dim: int = 256,  # global conditioning width
        time_dim: int = 256,  # Fourier features of the flow time
        max_seconds: float = 47.0,  # timing conditioning range
        melody_bins: int = 0,  # chroma bins of melody conditioning (12), 0 = none
        style_dim: int = 0,  # reference-clip embedding width (512), 0 = none
        music_grid: bool = False,  # frame-level beat grid and key template (conditioning.grid)
        frame_rate: float = 0.0,  # latent frames per second, which the beat grid needs
    ) -> None:
        super().__init__()
        self.dit = StableAudioDiTModel(
            sample_size=1024, in_channels=latent_channels, num_layers=layers,
            attention_head_dim=head_dim, num_attention_heads=heads,
            num_key_value_attention_heads=key_value_heads, out_channels=latent_channels,
            cross_attention_dim=cross_attention_dim, time_proj_dim=time_dim,
            global_states_input_dim=global_dim, cross_attention_input_dim=text_dim)
        self.global_embedder = GlobalEmbedder(text_dim, global_dim, max_seconds)
        self.reference_embedder = ReferenceEmbedder(latent_channels, global_dim, melody_bins,
                                                    style_dim)
        self.music = MusicEmbedder(latent_channels, frame_rate) if music_grid else None

    def forward(self, latents: torch.Tensor, time: torch.Tensor, condition: Conditioning,
                latent_mask: torch.Tensor | None = None) -> torch.Tensor:
        check_inputs(latents, time, self.config.latent_channels)
        frames = latents.shape[-1]
        # Rotary position embedding over the global token plus the frames, as diffusers'
        # StableAudioPipeline builds it (rotary on half of each head's dimensions).
        positions = torch.arange(frames + 1, device=latents.device)
        rotary = get_1d_rotary_pos_embed(self.config.head_dim // 2, positions, use_real=True,
                                         repeat_interleave_real=False)
        rotary = tuple(part.to(latents.device, latents.dtype) for part in rotary)
        global_states = self.global_embedder(condition.pooled.to(latents.dtype),
                                             condition.globals)
        references = self.reference_embedder
        references.check(condition.melody, condition.style)
        melody = references.latents_term(condition.melody, frames, latents.dtype)
        latents = latents if melody is None else latents + melody
        if self.music is not None:
            latents = latents + self.music(condition.globals, frames, latents.dtype)
        style = references.global_term(condition.style, latents.dtype)
        global_states = global_states if style is None else global_states + style[:, None]
        return self.dit(latents, time.to(latents.dtype),
                        encoder_hidden_states=condition.text_states.to(latents.dtype),
                        global_hidden_states=global_states, rotary_embedding=rotary,
                        attention_mask=latent_mask, encoder_attention_mask=condition.text_mask,
                        return_dict=False)[0]

    def make_identity(self, blocks: list[int]) -> None:
        """Zero the output projections of these transformer blocks (self-attention,
        cross-attention, feed-forward): each residual branch then adds nothing, so the block
        passes its input through, yet its inner weights keep their random start and learn as
        soon as the projections move (zero-initialised residual branches, as DiT's adaLN-Zero)."""
        with torch.no_grad():
            for index in blocks:
                block = self.dit.transformer_blocks[index]
                for layer in (block.attn1.to_out[0], block.attn2.to_out[0], block.ff.net[-1]):
                    layer.weight.zero_()
                    if layer.bias is not None:
                        layer.bias.zero_()


BLOCKS = "dit.transformer_blocks."


def deepen_state(state: dict[str, torch.Tensor], layers: int,
                 new_layers: int) -> tuple[dict[str, torch.Tensor], list[int]]:
    """A ``layers``-block DiT's weights laid out for ``new_layers`` blocks: old block ``i`` at
    position ``i * new_layers // layers``, spread evenly. Returns the renamed weights and the
    positions left for new blocks (for :meth:`LatentDiT.make_identity`)."""
    if new_layers < layers:
        raise ValueError(f"cannot deepen {layers} blocks to {new_layers}")
    moved = {index: index * new_layers // layers for index in range(layers)}
    renamed = {}
    for name, tensor in state.items():
        if name.startswith(BLOCKS):
            index, rest = name[len(BLOCKS):].split(".", 1)
            name = f"{BLOCKS}{moved[int(index)]}.{rest}"
        renamed[name] = tensor
    return renamed, sorted(set(range(new_layers)) - set(moved.values()))
