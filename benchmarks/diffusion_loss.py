"""Held-out rectified-flow loss of one or more denoisers, on the same noise and times.

    .venv/bin/python benchmarks/diffusion_loss.py --data CORPUS --codec CODEC_FOLDER \
        --cache RUN/latents-cache RUN_A RUN_B ... [--clips 200] [--repeats 4] [--json OUT]

Each RUN is a diffusion run folder (its final/, else the EMA weights in ema/) or an exported
denoiser folder. Every model sees identical inputs: the valid+test-split clips' latents (10 s crops
from the start), the same noise and the same flow times per repeat, with full conditioning (no
dropout). The loss is the masked velocity MSE that training minimises, so lower is better and the
numbers of two models are a paired comparison. Reports the mean and its per-time-bin breakdown.

With ``--references CACHE`` the models also get each clip's own melody chroma and style vector
(cached in CACHE) on every item, which shows how much a melody/style-conditioned denoiser uses
them; models trained without them are then skipped.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--codec", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True,
                        help="latent cache folder (a run's latents-cache; filled if empty)")
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=4, help="noise/time draws per clip")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--references", type=Path, default=None, metavar="CACHE",
                        help="give every item its clip's melody and style (features cached here)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from torch.utils.data import DataLoader

    from latentaudio.codec import component_folder, load_component
    from latentaudio.conditioning.text import build_text_encoder
    from latentaudio.data.dataset import ClipDataset, latent_cache, melody_cache, style_cache
    from latentaudio.data.sources import load_clips
    from latentaudio.denoisers import DENOISER_CLASSES
    from latentaudio.diffusion.flow import flow_errors
    from latentaudio.train.tasks import DiffusionTask

    clips, root, _ = load_clips(args.data)
    held_out = [c for c in clips if c.split in ("valid", "test")][: args.clips]
    latents = latent_cache(args.codec, args.cache)
    extras = {}
    if args.references is not None:
        samples_per_frame = round(44_100 / latents.frames_per_second)
        extras = {"melody": melody_cache(samples_per_frame, args.references),
                  "style": style_cache(args.references)}
    dataset = ClipDataset(held_out, root, seconds=args.seconds, random_crop=False,
                          features=latents, extras=extras)
    text_encoder = build_text_encoder("minilm")
    task = DiffusionTask(None, text_encoder, dropout=0.0, reference_rate=1.0, style_only=0.0)
    batches = [task.prepare(b) for b in DataLoader(dataset, batch_size=args.batch_size)]

    bins = torch.linspace(0, 1, 5)
    results = {}
    for run in args.runs:
        source = component_folder(run)
        name = json.loads((source / "config.json").read_text())["_class_name"]
        model = load_component(DENOISER_CLASSES[name], source).float().eval()
        if extras and not (model.config.get("melody_bins") and model.config.get("style_dim")):
            print(f"{run}: trained without melody/style conditioning, skipped")
            continue
        generator = torch.Generator().manual_seed(1234)
        per_bin = torch.zeros(len(bins) - 1)
        counts = torch.zeros(len(bins) - 1)
        total, values = 0.0, 0.0
        started = time.perf_counter()
        with torch.no_grad():
            for _ in range(args.repeats):
                for inputs in batches:
                    denoise = functools.partial(model, latent_mask=inputs["mask"])
                    errors, counts_, times = flow_errors(denoise, inputs["latents"],
                                                         inputs["condition"], inputs["mask"],
                                                         generator=generator)
                    losses = errors / counts_.clamp_min(1)
                    which = (torch.bucketize(times, bins) - 1).clamp(0, len(per_bin) - 1)
                    per_bin.index_add_(0, which, losses)
                    counts.index_add_(0, which, torch.ones_like(losses))
                    total += float(errors.sum())
                    values += float(counts_.sum())
        results[str(run)] = {
            "class": name, "parameters_m": sum(p.numel() for p in model.parameters()) / 1e6,
            "loss": total / values,
            "loss_by_time": {f"{bins[k]:.2f}-{bins[k + 1]:.2f}": float(per_bin[k] / counts[k])
                             for k in range(len(per_bin)) if counts[k]},
            "seconds": time.perf_counter() - started}
        row = results[str(run)]
        print(f"{run}: {name} {row['parameters_m']:.1f}M  held-out flow loss {row['loss']:.4f}  "
              + "  ".join(f"t{k}={v:.3f}" for k, v in row["loss_by_time"].items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"),
                                         "machine": platform.processor() or platform.machine(),
                                         "clips": len(held_out), "results": results}, indent=2))


if __name__ == "__main__":
    main()
