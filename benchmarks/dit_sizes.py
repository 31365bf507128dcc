"""How big a DiT fits #21's budget (10 s of text-to-audio within 1 s) on this machine, in fp32
and in bf16 weights, and what a training step of each costs.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dit_sizes.py [--train]
        [--json benchmarks/out/dit_sizes.json]

Random weights (timing only). Inference: one CFG step (batch 2) over 10 s of latents (216
frames), median of 5 after a warm-up; x 12 steps is the denoising share of a clip. Training: one
forward + backward + AdamW step on 16 x 4 s crops in bf16 autocast and in fp32.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {"256x6 (shipped)": (4, 6), "512x8": (8, 8), "768x12": (12, 12)}  # heads of 64, layers


def median_time(fn, repeats: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(model, condition, train: bool) -> dict:
    """Inference (and with ``train``, training-step) timings of one model."""
    import torch

    params = sum(p.numel() for p in model.parameters()) / 1e6
    x, t, c = torch.randn(2, 32, 216), torch.full((2,), 0.5), condition(2)
    row = {"params_m": round(params, 1)}
    with torch.no_grad():
        row["step_fp32_ms"] = 1e3 * median_time(lambda: model(x, t, c))
        half = copy.deepcopy(model).to(torch.bfloat16)
        xb, tb = x.to(torch.bfloat16), t.to(torch.bfloat16)
        row["step_bf16_ms"] = 1e3 * median_time(lambda: half(xb, tb, c))
    if train:
        xs, ts, cs = torch.randn(16, 32, 86), torch.rand(16), condition(16)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def train_step(autocast: bool) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = model(xs, ts, cs).float().pow(2).mean()
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

        model.train()
        row["train_bf16_s"] = median_time(lambda: train_step(True), 3)
        row["train_fp32_s"] = median_time(lambda: train_step(False), 3)
    return row


def main() -> None:
    import torch

    from latentaudio.conditioning.condition import Conditioning
    from latentaudio.conditioning.embedders import GlobalInputs
    from latentaudio.denoisers import LatentDiT

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--train", action="store_true", help="also time training steps")
    args = parser.parse_args()

    def condition(batch: int) -> Conditioning:
        return Conditioning(torch.randn(batch, 16, 384), torch.ones(batch, 16, dtype=torch.bool),
                            torch.randn(batch, 384),
                            GlobalInputs(torch.zeros(batch), torch.full((batch,), 10.0),
                                         torch.full((batch,), 120.0),
                                         torch.zeros(batch, dtype=torch.long)))

    rows = {}
    for name, (heads, layers) in SIZES.items():
        torch.manual_seed(0)
        model = LatentDiT(layers=layers, heads=heads, key_value_heads=max(1, heads // 2),
                          head_dim=64, cross_attention_dim=64 * heads, global_dim=64 * heads,
                          melody_bins=12, style_dim=512, music_grid=True,
                          frame_rate=21.533203125).eval()
        row = measure(model, condition, args.train)
        rows[name] = row
        print(f"{name:16s} {row['params_m']:5.1f} M  CFG step fp32 {row['step_fp32_ms']:6.1f} ms  "
              f"bf16 {row['step_bf16_ms']:6.1f} ms  (x12 = {12 * row['step_bf16_ms'] / 1e3:.2f} s)"
              + (f"  train bf16 {row['train_bf16_s']:.2f} s fp32 {row['train_fp32_s']:.2f} s"
                 if args.train else ""), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": platform.processor(),
                                         "threads": torch.get_num_threads(), "sizes": rows},
                                        indent=2) + "\n")


if __name__ == "__main__":
    main()
