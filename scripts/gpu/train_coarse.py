"""Train the token backend's coarse model on a GPU from ``scripts/gpu/pack_coarse.py``'s folder,
within a wall-clock budget, and write the EMA weights as a diffusers component folder. Nothing
else in the project depends on it.

On the device machine (the repository is its working directory; the pack travels with carry):

    python3 -m pip install --no-deps gpu-pack-coarse/wheels/*.whl
    PYTHONPATH=. python3 scripts/gpu/train_coarse.py --pack gpu-pack-coarse \
        --out $OUT/coarse --init checkpoints/latentaudio-ar/coarse --minutes 8

The loss, dropouts and held-out figures are the CPU run's (``CoarseTask``): next-token
cross-entropy over real frames, every stream weighing the same; 10% of items lose all their
conditioning and, with the music grid, 10% each their tempo and key; held-out cross-entropy of
songs, of the rest and of the songs' voice on the same fixed crops ``train coarse`` logs. The
learning rate warms up over 200 steps and then follows a cosine to zero at the end of the
budget, which is in minutes rather than steps.

``--init`` of a one-stream model with a voice pack adds the voice (zero-initialised, as ``train
coarse --vocal-tokens`` does); without ``--init``, ``--config`` (a name in ``configs/coarse`` or a
JSON file) is trained from scratch.
Back here: ``latentaudio train assemble-ar --coarse OUT ...`` and ``benchmarks/song.py``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import Captions, finish, update


class CoarsePack:
    """The packed codes and song crops, on the device, as batches of ``train coarse``'s items."""

    def __init__(self, folder: Path, device: torch.device) -> None:
        from safetensors import safe_open
        from safetensors.torch import load_file

        codes = load_file(str(folder / "codes.safetensors"))
        crops = load_file(str(folder / "crops.safetensors"))
        with safe_open(str(folder / "codes.safetensors"), "pt") as handle:
            meta = handle.metadata()
        self.frame_rate = float(meta["frames_per_second"])
        self.frames = int(meta["frames"])
        self.captions = Captions(folder, device)
        self.codes = codes["codes"].to(device)  # int16 (S, all frames)
        self.offsets = codes["offsets"].tolist()
        self.crops = {name: value.to(device) for name, value in crops.items()}
        self.crop_clip = crops["clip"].tolist()
        self.crop_start = crops["start"].tolist()
        info = self.captions.info
        self.music = [i for i, row in enumerate(info)
                      if row["split"] == "train" and not row["sung"]]
        # Songs are drawn by clip, as the CPU's dataset draws them, then one of their crops.
        self.songs: dict[int, list[int]] = {}
        for row, clip in enumerate(self.crop_clip):
            self.songs.setdefault(clip, []).append(row)
        self.clips = sorted(self.music + list(self.songs))
        self.device = device

    @property
    def streams(self) -> int:
        return self.codes.shape[0]

    def _cut(self, clip: int, first: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames ``first ..`` of a clip's codes, zero-padded to a crop, and their mask."""
        begin, end = self.offsets[clip], self.offsets[clip + 1]
        piece = self.codes[:, begin + first: min(end, begin + first + self.frames)].long()
        codes = torch.zeros(self.streams, self.frames, dtype=torch.long, device=self.device)
        mask = torch.zeros(self.frames, dtype=torch.bool, device=self.device)
        codes[:, :piece.shape[-1]], mask[:piece.shape[-1]] = piece, True
        return codes, mask

    def _batch(self, clips: list[int], firsts: list[int], lyrics: torch.Tensor,
               sung: torch.Tensor):
        from latentaudio.tokens.lm import LMInputs

        cut = [self._cut(clip, first) for clip, first in zip(clips, firsts, strict=True)]
        codes = torch.stack([c for c, _ in cut])
        codes = codes[:, 0] if self.streams == 1 else codes
        mask = torch.stack([m for _, m in cut])
        condition = self.captions.condition(clips, [f / self.frame_rate for f in firsts])
        return codes, mask, LMInputs(condition, lyrics.long(), sung.long())

    def batch(self, size: int, generator: torch.Generator):
        """``(codes (B, T) or (B, S, T), mask (B, T), LMInputs)`` of random crops."""
        picks = torch.randint(len(self.clips), (size,), generator=generator).tolist()
        clips, firsts, rows = [], [], []
        for pick in picks:
            clip = self.clips[pick]
            if clip in self.songs:
                crops = self.songs[clip]
                row = crops[int(torch.randint(len(crops), (1,), generator=generator))]
                first = self.crop_start[row]
            else:
                spare = max(0, self.offsets[clip + 1] - self.offsets[clip] - self.frames)
                first, row = int(torch.randint(spare + 1, (1,), generator=generator)), -1
            clips.append(clip)
            firsts.append(first)
            rows.append(row)
        lyrics = torch.zeros(size, self.crops["lyrics"].shape[1], dtype=torch.uint8,
                             device=self.device)
        sung = torch.zeros(size, self.frames, dtype=torch.uint8, device=self.device)
        have = torch.tensor([r >= 0 for r in rows], device=self.device)
        index = torch.tensor([max(r, 0) for r in rows], device=self.device)
        lyrics[have] = self.crops["lyrics"][index[have]]
        sung[have] = self.crops["sung"][index[have]]
        return self._batch(clips, firsts, lyrics, sung)

    def held_out(self, size: int):
        """The fixed held-out crops (``train coarse``'s), ``size`` at a time."""
        clips = self.crops["valid_clip"].tolist()
        for start in range(0, len(clips), size):
            part = clips[start:start + size]
            yield self._batch(part, [0] * len(part),
                              self.crops["valid_lyrics"][start:start + size],
                              self.crops["valid_sung"][start:start + size])


def build_model(args, pack: CoarsePack):
    """The model ``train coarse`` would build: ``--config``'s size, the ``--init`` weights'
    architecture winning over it, and as many voice levels as the pack has streams (an
    ``--init`` with other levels keeps its first ones: ``CoarseLM.adapt_state``)."""
    from latentaudio.tokens.lm import CoarseLM
    from latentaudio.train.runs import init_config, load_init, model_config

    config = model_config("coarse", str(args.config))
    if args.init is not None:
        config = init_config(args.init, config)
    model = CoarseLM(**config | {"vocal_levels": pack.streams - 1,
                                 "frame_rate": pack.frame_rate})
    if args.init is not None:
        load_init(model, args.init)
    return model


def main() -> None:
    from latentaudio.tokens.lm import coarse_loss, coarse_losses
    from latentaudio.train.tasks import HeldOutSums

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--init", type=Path, default=None, help="start from these weights")
    parser.add_argument("--config", default="small",
                        help="model size without --init: a name in configs/coarse/ or a JSON "
                        "file (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=8.0, help="wall-clock training budget")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--dropout", type=float, default=0.1, help="CFG dropout of everything")
    parser.add_argument("--music-dropout", type=float, default=0.1)
    parser.add_argument("--held-out-every", type=int, default=500, metavar="STEPS")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    pack = CoarsePack(args.pack, device)
    model = build_model(args, pack).to(device).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01,
                                  betas=(0.9, 0.99))
    generator = torch.Generator().manual_seed(args.seed)  # crops and dropout
    grid = bool(model.config.music_grid)
    budget, began, step, log = 60 * args.minutes, time.time(), 0, []

    @torch.no_grad()
    def held_out() -> dict:
        """The EMA's held-out figures, as ``CoarseTask.validate`` logs them."""
        sums = HeldOutSums()
        with torch.autocast(device.type, dtype=torch.bfloat16):
            for codes, mask, inputs in pack.held_out(64):
                sums.add(coarse_losses(ema, codes, inputs), mask, inputs.lyrics)
        return {name: round(value, 4) for name, value in sums.means().items()}

    print(f"{len(pack.clips)} train clips ({len(pack.songs)} songs, {len(pack.crop_clip)} song "
          f"crops), {pack.streams} streams, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}"
          f" M parameters, on {device}; held-out at start {held_out()}", flush=True)
    while (elapsed := time.time() - began) < budget:
        codes, mask, inputs = pack.batch(args.batch_size, generator)
        condition = inputs.condition
        if grid and args.music_dropout:
            draws = torch.rand(2, len(condition), generator=generator).to(device)
            condition = condition.with_music(tempo=draws[0] >= args.music_dropout,
                                             key=draws[1] >= args.music_dropout)
        inputs = replace(inputs, condition=condition)
        keep = torch.rand(len(condition), generator=generator).to(device) >= args.dropout
        inputs = inputs.where(keep, inputs.null_like())
        scale = min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        for group in optimizer.param_groups:
            group["lr"] = args.lr * scale
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = coarse_loss(model, codes, inputs, mask)
        update(model, ema, optimizer, loss, step)
        step += 1
        if step % 100 == 0:
            record = {"step": step, "loss": round(float(loss), 4),
                      "lr": round(args.lr * scale, 7), "minutes": round(elapsed / 60, 2)}
            if step % args.held_out_every == 0:
                record["held_out"] = held_out()
            log.append(record)
            print(json.dumps(record), flush=True)
    finish(ema, args.out, step, held_out(), log, began)


if __name__ == "__main__":
    main()
