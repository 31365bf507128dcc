"""Pack what a GPU needs to train the DiT into one folder small enough to travel (the device tool
carries at most 64 MiB): the corpus's VAE latents and its captions' MiniLM states, both int8.

    .venv/bin/python scripts/gpu/pack.py --data ~/latentaudio-corpus/v2 \
        --cache ~/runs/dit-v2g/latents-cache --out gpu-pack

- ``latents.safetensors``: every clip's latents (its first ``--max-seconds``), int8 with a
  per-clip, per-channel scale (absmax / 127; latents have unit variance, so the rounding error,
  about 0.01, is far below the flow's noise), concatenated along time, with offsets.
- ``text.safetensors``: each distinct caption's MiniLM token states (first ``--tokens``), int8
  with a per-token scale, their masks and pooled vectors. The GPU then needs no text encoder.
- ``clips.jsonl``: id, split, seconds, caption index, bpm, key, beat_offset.
- ``wheels/``: the diffusers wheel (not in the GPU image), from this machine's pip cache or PyPI.

Latents come from a diffusion run's cache (``train diffusion`` fills it); clips not in it are
encoded now. ``scripts/gpu/train.py`` reads the folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def quantize(values: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 values and fp16 scales (absmax / 127 along every axis but ``dim``)."""
    scale = values.abs().amax(dim=dim, keepdim=True).clamp_min(1e-6) / 127.0
    return (values / scale).round().clamp(-127, 127).to(torch.int8), scale.to(torch.float16)


def caption_list(clips) -> list[str]:
    """The distinct captions the text encoder reads (tags parsed out), sorted."""
    from latentaudio.conditioning.prompt import parse_prompt

    return sorted({parse_prompt(c.caption).caption for c in clips})


def clip_row(clip, caption_index: dict[str, int]) -> dict:
    """A clip's ``clips.jsonl`` row: id, split, seconds, caption index and music labels (the
    manifest's, else what the caption says, as ``caption_condition`` reads them)."""
    from latentaudio.conditioning.prompt import parse_prompt

    spec = parse_prompt(clip.caption)
    return {"id": clip.id, "split": clip.split, "seconds": clip.seconds,
            "caption": caption_index[spec.caption],
            "bpm": clip.bpm if clip.bpm is not None else spec.bpm,
            "key": clip.key or spec.key, "beat_offset": clip.beat_offset or 0.0}


def pack_captions(captions: list[str], out: Path, tokens: int) -> None:
    """``text.safetensors``: each caption's MiniLM token states (the first ``tokens``), int8
    with a per-token scale, their masks and the pooled sentence vectors (fp16); and
    ``captions.json``. The GPU then needs no text encoder."""
    from safetensors.torch import save_file
    from tqdm import tqdm

    from latentaudio.conditioning.text import build_text_encoder

    encoder = build_text_encoder()
    states, masks, pooled = [], [], []
    with torch.no_grad():
        for start in tqdm(range(0, len(captions), 64), desc="captions"):
            text = encoder(captions[start:start + 64])
            states.append(text.states[:, :tokens])
            masks.append(text.mask[:, :tokens])
            pooled.append(text.pooled)
    values, scale = quantize(torch.cat(states), dim=-1)
    save_file({"states": values.contiguous(), "scales": scale[..., 0].contiguous(),
               "masks": torch.cat(masks).contiguous(),
               "pooled": torch.cat(pooled).to(torch.float16).contiguous()},
              str(out / "text.safetensors"))
    (out / "captions.json").write_text(json.dumps(captions))


def finish_pack(out: Path, rows: list[dict]) -> float:
    """``clips.jsonl`` (a row per clip), then the diffusers wheel (not in the GPU image) into
    ``out/wheels``, from this machine's pip cache or PyPI; returns the folder's size in MiB."""
    import diffusers

    with open(out / "clips.jsonl", "w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")

    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d",
                    str(out / "wheels"), f"diffusers=={diffusers.__version__}"], check=True)
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    from safetensors.torch import save_file
    from tqdm import tqdm

    from latentaudio.data.dataset import latent_cache
    from latentaudio.data.sources import load_clips

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="a run's latents-cache")
    parser.add_argument("--codec", type=Path, default=Path("checkpoints/latentaudio-small"))
    parser.add_argument("--out", type=Path, default=Path("gpu-pack"))
    parser.add_argument("--max-seconds", type=float, default=30.0)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--splits", default="train,valid")
    args = parser.parse_args()

    clips, root, _ = load_clips(args.data)
    clips = [c for c in clips if c.split in args.splits.split(",")]
    cache = latent_cache(args.codec, args.cache)
    frames_cap = round(args.max_seconds * cache.frames_per_second)
    captions = caption_list(clips)
    index = {caption: i for i, caption in enumerate(captions)}

    parts, scales, offsets, rows = [], [], [0], []
    for clip in tqdm(clips, desc="latents"):
        latents = cache.get(clip, root)[..., :frames_cap].float()
        values, scale = quantize(latents, dim=-1)
        parts.append(values)
        scales.append(scale[:, 0])
        offsets.append(offsets[-1] + latents.shape[-1])
        rows.append(clip_row(clip, index))
    args.out.mkdir(parents=True, exist_ok=True)
    save_file({"latents": torch.cat(parts, dim=-1).contiguous(),
               "scales": torch.stack(scales).contiguous(),
               "offsets": torch.tensor(offsets, dtype=torch.int64)},
              str(args.out / "latents.safetensors"),
              metadata={"frames_per_second": str(cache.frames_per_second)})

    pack_captions(captions, args.out, args.tokens)
    size = finish_pack(args.out, rows)
    print(f"{len(clips)} clips, {offsets[-1] / cache.frames_per_second / 3600:.2f} h of "
          f"latents, {len(captions)} captions: {args.out} is {size:.1f} MiB (limit 64)")


if __name__ == "__main__":
    main()
