"""``latentaudio corpus build|summary|beats``."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentaudio.cli.common import Command, add_actions, positive_int
from latentaudio.errors import LatentAudioError


def _build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Render music (FluidSynth, music21 scores), collect real recorded sound effects from "
        "installed packages and synthesise procedural effects, as 44.1 kHz stereo FLAC with "
        "manifest.jsonl, summary.json and ATTRIBUTION. Deterministic for a seed.")
    parser.epilog = ("sizes: tiny (~50 clips, seconds; for tests), small (~900 clips, minutes), "
                     "full (>= 4000 clips, >= 5 h, ~8 min on 2 cores; needs ./setup.sh --corpus)")
    parser.add_argument("--out", type=Path, required=True, help="folder to build into")
    parser.add_argument("--size", choices=["tiny", "small", "full"], default="tiny",
                        help="how much to build (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="processes (default: all cores)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="build without recorded sources whose packages are not installed")
    parser.add_argument("--sources", nargs="+", default=None, metavar="SOURCE",
                        help="build only these sources (e.g. songs, music-beds, procedural)")


def _build(args: argparse.Namespace) -> None:
    import time

    from latentaudio.data.corpus import build_corpus, format_summary

    started = time.perf_counter()
    try:
        summary = build_corpus(args.out, args.size, seed=args.seed, workers=args.workers,
                               allow_missing=args.allow_missing, sources=args.sources,
                               progress=not args.quiet)
    except ValueError as error:
        raise LatentAudioError(str(error)) from None
    print(format_summary(summary))
    print(f"\nwrote {args.out / 'manifest.jsonl'} in {time.perf_counter() - started:.0f} s")


def _summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="a folder made by 'corpus build'")


def _summary(args: argparse.Namespace) -> None:
    import json

    from latentaudio.data.corpus import format_summary

    path = args.folder / "summary.json"
    if path.is_file():
        print(format_summary(json.loads(path.read_text())))
        return
    if not (args.folder / "manifest.jsonl").is_file():
        raise LatentAudioError(f"{args.folder} has no summary.json or manifest.jsonl: is it a "
                               "corpus folder?")
    from latentaudio.data.corpus import summarise
    from latentaudio.data.manifest import read_manifest

    print(format_summary(summarise(read_manifest(args.folder / "manifest.jsonl"), [])))


def _beats_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Find where the beats fall in a built corpus's recorded music (the first beat's offset, "
        "from the onset envelope at the labelled tempo), so that training lays the beat grid on "
        "them. For corpora built before 'corpus build' recorded it; clips that have one are "
        "left alone. Rewrites manifest.jsonl in place (atomically).")
    parser.add_argument("folder", type=Path, help="a folder made by 'corpus build'")


def _beats(args: argparse.Namespace) -> None:
    if not (args.folder / "manifest.jsonl").is_file():
        raise LatentAudioError(f"{args.folder} has no manifest.jsonl: is it a corpus folder?")
    from latentaudio.data.corpus import annotate_beats

    count = annotate_beats(args.folder, progress=not args.quiet)
    print(f"annotated {count} clips in {args.folder / 'manifest.jsonl'}")


ACTIONS = [
    Command("build", "render and collect a training corpus", _build_arguments, _build),
    Command("summary", "print a built corpus's per-source and per-class table",
            _summary_arguments, _summary),
    Command("beats", "find the first beat of recorded music with a tempo label (for the "
            "training beat grid)", _beats_arguments, _beats),
]
COMMANDS = [Command("corpus", "build a training corpus (corpus build --out DIR --size "
                    "tiny|small|full)", lambda parser: add_actions(parser, ACTIONS), None)]
