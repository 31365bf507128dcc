"""Training latentaudio-CLAP's heads on cached tower outputs, and measuring them.

The towers are frozen, so each clip is embedded once (aisfx over its first 30 s; MiniLM over its
caption and over the class template "the sound of <category>") and cached; the heads then train
for a few hundred steps in seconds. This does not use :mod:`latentaudio.train.loop`: there is no
crop, no audio and nothing worth resuming, only a few MB of cached vectors.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from latentaudio.data.manifest import Clip
from latentaudio.evaluation.clap import (
    ZERO_SHOT_TEMPLATE,
    ClapHeads,
    LatentAudioClap,
    retrieval_recall,
    zero_shot_accuracy,
)

MAX_SECONDS = 30.0
CAPTION_SHARE = 0.7  # else the class template, so class names alone also retrieve


def zero_shot_classes(clips: list[Clip]) -> list[str]:
    """Sound-effect categories with training clips (not the catch-alls)."""
    return sorted({c.category for c in clips if c.kind == "sfx" and c.split == "train"
                   and c.category and c.category not in ("misc", "music")})


def clip_features(clips: list[Clip], root: Path, clap: LatentAudioClap, cache: Path,
                  progress: bool = True) -> dict[str, torch.Tensor]:
    """``audio`` (N, 512), ``caption`` (N, 384) and ``template`` (N, 384), cached per clip."""
    from tqdm import tqdm

    from latentaudio.data.dataset import FeatureCache

    def embed(audio: torch.Tensor) -> torch.Tensor:
        return clap.audio_features([audio[:, : int(MAX_SECONDS * 44_100)].numpy()])[0]

    audio_cache = FeatureCache(embed, 1.0, cache, "aisfx-30s")
    audio = torch.stack([audio_cache.get(clip, root) for clip in tqdm(
        clips, desc="aisfx embeddings", disable=not progress)])
    captions = [clip.caption for clip in clips]
    templates = [ZERO_SHOT_TEMPLATE.format(clip.category or "something") for clip in clips]
    text = [clap.text_features(batch) for batch in _batches(captions + templates, 256)]
    text = torch.cat(text)
    return {"audio": audio.float(), "caption": text[: len(clips)],
            "template": text[len(clips):]}


def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start: start + size]


def fit_heads(heads: ClapHeads, features: dict[str, torch.Tensor], *, steps: int = 600,
              batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
              progress: bool = True) -> list[float]:
    """AdamW with cosine decay on random batches; returns the loss every 10 steps."""
    from tqdm import tqdm

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(heads.parameters(), lr=lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                   pct_start=0.05)
    count = len(features["audio"])
    losses = []
    heads.train()
    bar = tqdm(range(steps), desc="train clap", disable=not progress)
    for step in bar:
        rows = torch.randperm(count, generator=generator)[: min(batch_size, count)]
        use_caption = torch.rand(len(rows), generator=generator) < CAPTION_SHARE
        text = torch.where(use_caption[:, None], features["caption"][rows],
                           features["template"][rows])
        loss = heads.loss(features["audio"][rows], text)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 10 == 0:
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    heads.eval()
    return losses


@torch.no_grad()
def evaluate_heads(heads: ClapHeads, clap: LatentAudioClap, features: dict[str, torch.Tensor],
                   clips: list[Clip], classes: list[str]) -> dict:
    """Retrieval recall on ``clips`` (captions) and zero-shot accuracy over ``classes`` on the
    clips of those classes."""
    audio = heads.audio_projection(features["audio"])
    text = heads.text_projection(features["caption"])
    results = retrieval_recall(audio, text) | {"clips": len(clips)}
    class_text = heads.text_projection(clap.text_features(
        [ZERO_SHOT_TEMPLATE.format(c) for c in classes]))
    labelled = [i for i, clip in enumerate(clips) if clip.category in classes]
    if labelled:
        results["zero_shot_accuracy"] = zero_shot_accuracy(
            audio[labelled], [clips[i].category for i in labelled], class_text, classes)
        results["zero_shot_clips"] = len(labelled)
        results["zero_shot_classes"] = len(classes)
        results["zero_shot_chance"] = 1 / len(classes)
    return results


def train_clap(clips: list[Clip], root: Path, out: Path, *, steps: int = 600,
               batch_size: int = 256, lr: float = 1e-3, seed: int = 0,
               text_encoder: str = "minilm", progress: bool = True) -> dict:
    """Embed, fit, measure on the test split, save ``out/final`` and ``out/metrics.json``."""
    from latentaudio.conditioning.text import build_text_encoder

    torch.manual_seed(seed)
    encoder = build_text_encoder(text_encoder)
    heads = ClapHeads(text_dim=encoder.dim, text_encoder=text_encoder)
    clap = LatentAudioClap(heads, text_encoder=encoder)
    train = [c for c in clips if c.split == "train"]
    test = [c for c in clips if c.split == "test"]
    if len(train) < 2 or not test:
        raise ValueError(f"need training and test clips, got {len(train)} and {len(test)}")
    started = time.perf_counter()
    train_features = clip_features(train, root, clap, out / "features", progress)
    test_features = clip_features(test, root, clap, out / "features", progress)
    embedded = time.perf_counter() - started
    losses = fit_heads(heads, train_features, steps=steps, batch_size=batch_size, lr=lr,
                       seed=seed, progress=progress)
    classes = zero_shot_classes(clips)
    metrics = {"test": evaluate_heads(heads, clap, test_features, test, classes),
               "train": evaluate_heads(heads, clap, train_features, train, classes),
               "steps": steps, "embedding_seconds": embedded,
               "fit_seconds": time.perf_counter() - started - embedded,
               "loss_first": losses[0], "loss_last": losses[-1], "classes": classes}
    heads.save_pretrained(out / "final")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def summary_line(metrics: dict) -> str:
    test = metrics["test"]
    line = (f"test split ({test['clips']} clips): audio->text R@1 {test['audio_to_text_r@1']:.3f}"
            f", R@5 {test['audio_to_text_r@5']:.3f}; text->audio R@5 "
            f"{test['text_to_audio_r@5']:.3f}")
    if "zero_shot_accuracy" in test:
        line += (f"; zero-shot accuracy {test['zero_shot_accuracy']:.3f} over "
                 f"{test['zero_shot_classes']} classes (chance {test['zero_shot_chance']:.3f})")
    return line

