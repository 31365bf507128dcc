"""Train the DiT on a GPU from ``scripts/gpu/pack.py``'s folder, within a wall-clock budget, and
write the EMA weights as a diffusers component folder. Nothing else in the project depends on it.

On the device machine (the repository is its working directory; the pack travels with carry):

    python3 -m pip install --no-deps gpu-pack/wheels/*.whl
    PYTHONPATH=. python3 scripts/gpu/train.py --pack gpu-pack --out $OUT/denoiser \
        --init checkpoints/latentaudio-small/denoiser --minutes 8

Then, back here: ``latentaudio train export`` is not needed (the folder is already fp16), copy
it over ``checkpoints/latentaudio-small/denoiser`` only if ``benchmarks/prompt_following.py``
says it is better. ``--config configs/dit/X.json`` trains a new size from scratch instead.

It imports only the DiT, the conditioning and the flow loss (diffusers and torch): no audio
libraries, no text encoder (captions arrive as int8 MiniLM states).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SECONDS = 10.0  # training crops, as on the CPU


class Captions:
    """The packed captions (``text.safetensors``) and each clip's labels (``clips.jsonl``), on
    the device: what a batch's :class:`~latentaudio.conditioning.condition.Conditioning` is made
    of, as ``caption_condition`` makes it on the CPU."""

    def __init__(self, folder: Path, device: torch.device) -> None:
        from safetensors.torch import load_file

        from latentaudio.conditioning.embedders import key_index

        text = load_file(str(folder / "text.safetensors"))
        self.info = [json.loads(line) for line in
                     (folder / "clips.jsonl").read_text().splitlines()]
        self.states = (text["states"].float() * text["scales"].float()[..., None]).to(device)
        self.masks = text["masks"].bool().to(device)
        self.pooled = text["pooled"].float().to(device)
        rows = self.info
        self.seconds = torch.tensor([r["seconds"] for r in rows], device=device)
        self.bpm = torch.tensor([r["bpm"] if r["bpm"] else math.nan for r in rows],
                                device=device)
        self.key = torch.tensor([key_index(r["key"]) for r in rows], device=device)
        self.beat_offset = torch.tensor([r.get("beat_offset", 0.0) for r in rows], device=device)
        self.device = device

    def split(self, name: str) -> list[int]:
        """The clips of a split; all of them for a pack without it (a small folder)."""
        return [i for i, row in enumerate(self.info) if row["split"] == name] or list(
            range(len(self.info)))

    def condition(self, clips: list[int], starts: list[float]):
        """The conditioning of crops of ``clips`` from ``starts`` seconds."""
        from latentaudio.conditioning.condition import Conditioning
        from latentaudio.conditioning.embedders import GlobalInputs
        from latentaudio.train.tasks import grid_start

        index = torch.tensor([self.info[c]["caption"] for c in clips], device=self.device)
        clips = torch.tensor(clips, device=self.device)
        start = grid_start(torch.tensor(starts, device=self.device, dtype=torch.float32),
                           self.bpm[clips], self.beat_offset[clips])
        return Conditioning(self.states[index], self.masks[index], self.pooled[index],
                            GlobalInputs(start, self.seconds[clips], self.bpm[clips],
                                         self.key[clips]))


class Pack:
    """The packed corpus, dequantised on the device, with random crops and conditioning."""

    def __init__(self, folder: Path, device: torch.device, split: str = "train") -> None:
        from safetensors import safe_open
        from safetensors.torch import load_file

        latents = load_file(str(folder / "latents.safetensors"))
        self.captions = Captions(folder, device)
        self.offsets = latents["offsets"].tolist()
        self.scales = latents["scales"].float().to(device)  # (clips, C)
        self.latents = latents["latents"].to(device)  # int8 (C, all frames)
        self.rows = self.captions.split(split)
        with safe_open(str(folder / "latents.safetensors"), "pt") as handle:
            self.frame_rate = float(handle.metadata()["frames_per_second"])
        self.frames = round(SECONDS * self.frame_rate)
        self.device = device

    def batch(self, size: int, generator: torch.Generator):
        """``(latents (B, C, frames), mask (B, frames), Conditioning)`` of random crops."""
        picks = torch.randint(len(self.rows), (size,), generator=generator).tolist()
        channels = self.latents.shape[0]
        x = torch.zeros(size, channels, self.frames, device=self.device)
        mask = torch.zeros(size, self.frames, dtype=torch.bool, device=self.device)
        starts = []
        for b, pick in enumerate(picks):
            clip = self.rows[pick]
            first, last = self.offsets[clip], self.offsets[clip + 1]
            spare = max(0, last - first - self.frames)
            start = int(torch.randint(spare + 1, (1,), generator=generator)) if spare else 0
            piece = self.latents[:, first + start: min(last, first + start + self.frames)]
            x[b, :, : piece.shape[-1]] = piece.float() * self.scales[clip][:, None]
            mask[b, : piece.shape[-1]] = True
            starts.append(start / self.frame_rate)
        return x, mask, self.captions.condition([self.rows[p] for p in picks], starts)


def update(model, ema, optimizer, loss: torch.Tensor, step: int) -> None:
    """One optimiser step on ``loss`` (gradients clipped to norm 1), then the EMA's (its decay
    warming up to 0.999)."""
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    decay = min(0.999, (1 + step) / (10 + step))
    with torch.no_grad():
        for kept, live in zip(ema.parameters(), model.parameters(), strict=True):
            kept.lerp_(live, 1 - decay)


def finish(ema, out: Path, steps: int, held_out, log: list, began: float) -> None:
    """Write the EMA weights (fp16) to ``out`` and the run's log beside it, and say so."""
    ema.to(torch.float16).save_pretrained(out, safe_serialization=True)
    (out.parent / "gpu-train-log.json").write_text(json.dumps(
        {"steps": steps, "held_out_end": held_out, "log": log}, indent=2))
    print(f"{steps} steps in {(time.time() - began) / 60:.1f} min; held-out {held_out}; "
          f"EMA weights in {out}")


def main() -> None:
    from latentaudio.denoisers import LatentDiT
    from latentaudio.diffusion.flow import flow_loss

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--init", type=Path, default=None, help="start from these weights")
    parser.add_argument("--config", type=Path, default=None, help="or a new size, from scratch")
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--dropout", type=float, default=0.1, help="CFG dropout of everything")
    parser.add_argument("--music-dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    pack = Pack(args.pack, device)
    valid = Pack(args.pack, device, "valid")
    if args.init is not None:  # its architecture, with the frame-level music grid added
        from safetensors.torch import load_file

        config = {k: v for k, v in json.loads((args.init / "config.json").read_text()).items()
                  if not k.startswith("_")}
        model = LatentDiT(**config | {"music_grid": True, "frame_rate": pack.frame_rate})
        state = {k: v.float() for f in sorted(args.init.glob("*.safetensors"))
                 for k, v in load_file(str(f)).items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not name.startswith("music.") for name in missing):
            raise SystemExit(f"--init {args.init} does not fit: {missing} {unexpected}")
    else:
        model = LatentDiT(**json.loads(args.config.read_text()) | {"frame_rate": pack.frame_rate})
    model.to(device).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01,
                                  betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(args.seed)  # crops and dropout
    torch.manual_seed(args.seed)  # the flow's noise and times (the global generators)
    budget, began, step, log = 60 * args.minutes, time.time(), 0, []

    def masked(net, mask):
        return lambda x, time, condition: net(x, time, condition, latent_mask=mask)

    def held_out() -> float:
        """The EMA's flow loss on the same 256 valid crops, noise and times every time."""
        state = torch.get_rng_state(), (torch.cuda.get_rng_state() if device.type == "cuda"
                                        else None)
        torch.manual_seed(1)
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
            x, mask, condition = valid.batch(256, torch.Generator().manual_seed(1))
            value = float(flow_loss(masked(ema, mask), x, condition, mask))
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1])
        return value

    print(f"{len(pack.rows)} train clips, {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M "
          f"parameters, on {device}; held-out loss at start {held_out():.4f}", flush=True)
    while time.time() - began < budget:
        x, mask, condition = pack.batch(args.batch_size, generator)
        drop = torch.rand(len(condition), generator=generator).to(device)
        condition = condition.with_music(
            tempo=torch.rand(len(condition), generator=generator).to(device) >= args.music_dropout,
            key=torch.rand(len(condition), generator=generator).to(device) >= args.music_dropout)
        condition = condition.drop(drop >= args.dropout)
        warm = min(1.0, (step + 1) / 200)
        for group in optimizer.param_groups:
            group["lr"] = args.lr * warm
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = flow_loss(masked(model, mask), x, condition, mask)
        update(model, ema, optimizer, loss, step)
        step += 1
        if step % 200 == 0:
            record = {"step": step, "loss": round(float(loss), 5),
                      "minutes": round((time.time() - began) / 60, 2)}
            if step % 1000 == 0:
                record["held_out"] = round(held_out(), 5)
            log.append(record)
            print(json.dumps(record), flush=True)
    finish(ema, args.out, step, round(held_out(), 5), log, began)


if __name__ == "__main__":
    main()
