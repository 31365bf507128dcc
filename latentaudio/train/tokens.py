"""Learning the codec tokens' codebooks (residual VQ) on the corpus's VAE latents.

The latents come from the same whole-clip cache diffusion training uses; a pool of frames from
the train split is held in memory and each step runs one EMA k-means update on a random batch of
them (:meth:`ResidualVQ.update`). Seconds to minutes on a CPU, so no checkpoints: a rerun starts
over.
"""

from __future__ import annotations

from pathlib import Path

import torch

from latentaudio.data.manifest import Clip
from latentaudio.tokens import ResidualVQ

MAX_POOL_FRAMES = 400_000  # about 5 hours of audio; 51 MB of float32


def frame_pool(clips: list[Clip], root: Path, cache, generator: torch.Generator,
               progress: bool = True) -> torch.Tensor:
    """Latent frames ``(N, C)`` of ``clips`` (at most MAX_POOL_FRAMES, evenly subsampled)."""
    from tqdm import tqdm

    frames = [cache.get(clip, root).permute(1, 0) for clip in tqdm(
        clips, desc="latents", disable=not progress)]
    pool = torch.cat(frames).float()
    if len(pool) > MAX_POOL_FRAMES:
        pool = pool[torch.randperm(len(pool), generator=generator)[:MAX_POOL_FRAMES]]
    return pool


def train_tokens(clips: list[Clip], root: Path, codec_folder: Path, out: Path, *,
                 cache_dir: Path | None = None, levels: int = 8, codebook_size: int = 1024,
                 steps: int = 300, batch_frames: int = 16_384, seed: int = 0,
                 progress: bool = True) -> dict:
    """Train and save ``out/final`` (a diffusers folder); returns the last step's errors and
    the held-out (valid/test) error per level."""
    from tqdm import tqdm

    from latentaudio.data.dataset import latent_cache

    generator = torch.Generator().manual_seed(seed)
    cache = latent_cache(codec_folder, cache_dir or out / "latents-cache")
    train = [c for c in clips if c.split == "train"]
    held_out = [c for c in clips if c.split != "train"]
    if not train:
        raise ValueError("no train-split clips to learn codebooks from")
    pool = frame_pool(train, root, cache, generator, progress)
    model = ResidualVQ(dim=pool.shape[1], levels=levels, codebook_size=codebook_size,
                       frame_rate=cache.frames_per_second)
    bar = tqdm(range(steps), desc="train tokens", disable=not progress)
    for _ in bar:
        batch = pool[torch.randint(len(pool), (min(batch_frames, len(pool)),),
                                   generator=generator)]
        stats = model.update(batch, generator=generator)
        bar.set_postfix(mse_1=f"{stats['mse_1']:.3f}", mse_all=f"{stats[f'mse_{levels}']:.4f}")
    metrics = {"train": stats, "frames": len(pool)}
    if held_out:
        test = frame_pool(held_out, root, cache, generator, progress=False)
        latents = test.T[None]  # (1, C, N)
        codes = model.encode(latents)
        variance = float(test.var())
        metrics["held_out_relative_mse"] = {
            level: float((model.decode(codes[:, :level]) - latents).pow(2).mean()) / variance
            for level in range(1, levels + 1)}
    model.save_pretrained(out / "final")
    return metrics
