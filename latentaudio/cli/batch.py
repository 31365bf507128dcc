"""``latentaudio batch``: many clips from a JSONL file, resumable, over several processes."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from latentaudio.cli.common import (
    Command,
    add_decoder_option,
    guidance_scale,
    positive_float,
    positive_int,
    seed_value,
)
from latentaudio.errors import LatentAudioError

EXAMPLES = """\
examples:
  latentaudio batch prompts.jsonl --out clips/
  latentaudio batch prompts.jsonl --out clips/ --processes 2 --steps 16 --format flac

prompts.jsonl, one clip per line (any field of 'generate', 'vary', ... may be given):
  {"prompt": "heavy rain on a tin roof", "seconds": 8}
  {"prompt": "a dog barking twice", "name": "dog", "seed": 7}
  {"operation": "loop", "prompt": "lo-fi hip hop beat", "bpm": 85, "bars": 4}
  {"operation": "vary", "input": "rain.wav", "prompt": "heavier rain", "strength": 0.6}

Every line is checked before work starts. Each clip gets a sidecar (NAME.wav.json); a rerun
skips clips that have one, so a stopped batch resumes where it was. Without a seed, line i
gets --seed + i. Started by torchrun (or accelerate launch) as N processes, each takes its
share: 'torchrun --nproc_per_node N -m latentaudio batch ...'."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("prompts", type=Path, metavar="PROMPTS.jsonl",
                        help="one JSON object per line, each with at least \"prompt\"")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--processes", type=positive_int, default=1,
                        help="worker processes, each with its own model; on a GPU machine, one "
                        "per GPU (default: %(default)s)")
    parser.add_argument("--seconds", type=positive_float, default=None,
                        help="duration where a line gives none (default: from the prompt, "
                        "else 10)")
    parser.add_argument("--steps", type=positive_int, default=12,
                        help="denoising steps where a line gives none (default: %(default)s)")
    parser.add_argument("--cfg", type=guidance_scale, default=4.0,
                        help="guidance where a line gives none (default: %(default)s)")
    parser.add_argument("--seed", type=seed_value, default=0,
                        help="line i without a seed gets SEED + i (default: %(default)s)")
    parser.add_argument("--format", choices=["wav", "flac", "ogg", "mp3"], default="wav",
                        help="audio format where a line gives none (default: %(default)s)")
    add_decoder_option(parser)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="model folder (default: the shipped checkpoints/latentaudio-small)")


def _batch(args: argparse.Namespace) -> int:
    from latentaudio.batch import read_items

    defaults = {"steps": args.steps, "cfg": args.cfg}
    if args.seconds is not None:
        defaults["seconds"] = args.seconds
    if args.decoder is not None:
        defaults["decoder"] = args.decoder
    items = read_items(args.prompts, defaults=defaults, base_seed=args.seed,
                       audio_format=args.format)
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [item for item in items if not item.done(args.out)]
    print(f"{len(items)} items, {len(items) - len(todo)} already done, {len(todo)} to make "
          f"in {args.out}")
    if not todo:
        return 0
    processes = min(args.processes, len(todo))
    if _launched():
        # Started by 'accelerate launch': every process read the file; all split the same list
        # (done items are skipped inside), and the first one reports.
        _work(args, items)
        if int(os.environ.get("RANK", "0")) != 0:
            return 0
    elif processes > 1:
        from accelerate import notebook_launcher

        # accelerate's in-process launcher (torch elastic): gloo on CPUs, one GPU per process.
        notebook_launcher(_work, (args, todo), num_processes=processes, use_port=_free_port())
    else:
        _work(args, todo)
    failed = _failures(args.out, items)
    if failed:
        print(f"{failed} of {len(items)} items failed (see {args.out / 'failed.jsonl'}); fix "
              "them and rerun to make the rest", file=sys.stderr)
        return 1
    print(f"all {len(items)} items are in {args.out}")
    return 0


def _launched() -> bool:
    """Already one of several processes (accelerate launch / torchrun)?"""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def _work(args: argparse.Namespace, todo: list) -> None:
    """One process's share of the items (all of them when alone)."""
    import json

    import torch
    from accelerate import PartialState

    from latentaudio.batch import run_items
    from latentaudio.generation import load_pipeline, model_identity

    state = PartialState(cpu=not torch.cuda.is_available())  # gloo between CPU processes
    if state.num_processes > 1 and state.device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // state.num_processes))
    pipe, folder = load_pipeline(args.checkpoint)
    pipe.to(state.device)
    with state.split_between_processes(todo) as mine:
        failures = run_items(mine, args.out, pipe, model_identity(folder),
                             progress=not args.quiet, position=state.process_index,
                             label=f"batch {state.process_index + 1}/{state.num_processes}"
                             if state.num_processes > 1 else "batch")
    if failures:
        log = args.out / f"failed-{state.process_index}.jsonl"
        with open(log, "w", encoding="utf-8") as out:
            for item, reason in failures:
                out.write(json.dumps({"name": item.name, "line": item.line,
                                      "error": reason}) + "\n")
    state.wait_for_everyone()


def _failures(out: Path, items: list) -> int:
    """Gather the processes' failure logs into failed.jsonl; returns how many failed."""
    lines = []
    for part in sorted(out.glob("failed-*.jsonl")):
        lines += part.read_text(encoding="utf-8").splitlines()
        part.unlink()
    target = out / "failed.jsonl"
    if lines:
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        target.unlink(missing_ok=True)
    return len(lines)


COMMANDS = [Command("batch", "many clips from a JSONL file (resumable, several processes)",
                    _arguments, lambda args: _run(args))]


def _run(args: argparse.Namespace) -> int:
    try:
        return _batch(args)
    except RuntimeError as error:  # a worker process's failure, as the launcher reports it
        raise LatentAudioError(f"a batch process failed: {error}") from None
