"""``latentaudio inpaint|vary|extend|loop``: editing with the text-to-audio model."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from latentaudio.cli.common import (
    Command,
    add_responsibility_options,
    add_sampling_options,
    canonical_key,
    positive_float,
    positive_int,
    save_output,
    watermark_config,
)


def _common(parser: argparse.ArgumentParser, *, needs_input: bool = True) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if needs_input:
        parser.add_argument("input", type=Path, help="audio file to edit (any format and rate)")
    parser.add_argument("prompt", help="what the new audio should sound like")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output file")
    add_sampling_options(parser)
    parser.add_argument("--key", default=None, help='key for music, e.g. "A minor"')
    add_responsibility_options(parser)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="model folder (default: the shipped checkpoints/latentaudio-small)")
    parser.add_argument("--format", choices=["wav", "flac", "ogg", "mp3"], default=None,
                        help="audio format (default: from --out's extension)")


def _inpaint_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.epilog = ('example:\n  latentaudio inpaint bed.wav "a cymbal crash" --start 4 --end 5.5 '
                     "-o fixed.wav\n\nOutside [start - 50 ms, end + 50 ms] the output is the "
                     "input, sample for sample.")
    parser.add_argument("--start", type=float, required=True, help="region start, seconds")
    parser.add_argument("--end", type=float, required=True, help="region end, seconds")
    parser.add_argument("--bpm", type=positive_float, default=None, help="tempo for music")


def _vary_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.epilog = ('example:\n  latentaudio vary rain.wav "heavier rain with thunder" '
                     "--strength 0.6 -o rain-2.wav\n\n0 gives the input back; 1 ignores it.")
    parser.add_argument("--strength", type=float, default=0.5,
                        help="how far from the input, 0 to 1 (default: %(default)s)")
    parser.add_argument("--bpm", type=positive_float, default=None, help="tempo for music")


def _extend_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.epilog = ('example:\n  latentaudio extend bed.wav "calm ambient pad" --seconds 90 '
                     "-o bed-90s.wav\n\nThe input is kept as it is; 10 s windows continue it, "
                     "each with the last 5 s as context.")
    parser.add_argument("--seconds", type=positive_float, required=True,
                        help="total length of the output, seconds (longer than the input)")
    parser.add_argument("--bpm", type=positive_float, default=None, help="tempo for music")


def _loop_arguments(parser: argparse.ArgumentParser) -> None:
    _common(parser, needs_input=False)
    parser.epilog = ('example:\n  latentaudio loop "lo-fi hip hop beat" --bpm 85 --bars 4 '
                     "-o loop.wav\n\nThe file is exactly bars x beats x 60 / bpm seconds, to the "
                     "sample, and loops without a seam.")
    parser.add_argument("--bpm", type=positive_float, required=True, help="tempo")
    parser.add_argument("--bars", type=positive_int, required=True, help="loop length in bars")
    parser.add_argument("--beats-per-bar", type=positive_int, default=4,
                        help="beats per bar (default: %(default)s)")
    parser.add_argument("--lufs", type=float, default=-14.0,
                        help="loudness target in LUFS (default: %(default)s)")


def _run(args: argparse.Namespace, operation: str) -> None:
    from latentaudio import __version__
    from latentaudio.audio import SAMPLE_RATE, load_audio
    from latentaudio.editing import Editor, check_extension, check_region, check_strength
    from latentaudio.generation import load_pipeline, model_identity
    from latentaudio.provenance import provenance

    key = canonical_key(args.key)
    audio = load_audio(args.input) if operation != "loop" else None
    # Check what can be checked before the model loads.
    if operation == "inpaint":
        check_region(args.start, args.end, audio.shape[-1] / SAMPLE_RATE)
    elif operation == "vary":
        check_strength(args.strength)
    elif operation == "extend":
        check_extension(args.seconds, audio.shape[-1] / SAMPLE_RATE)
    pipe, folder = load_pipeline(args.checkpoint)
    editor = Editor(pipe, watermark=watermark_config(args),
                    safety_check=not args.no_safety_filter)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    common = {"seed": seed, "steps": args.steps, "guidance": args.cfg,
              "negative": args.negative, "key": key, "progress": not args.quiet}
    if operation == "inpaint":
        result = editor.inpaint(audio, args.prompt, args.start, args.end, bpm=args.bpm, **common)
    elif operation == "vary":
        result = editor.vary(audio, args.prompt, args.strength, bpm=args.bpm, **common)
    elif operation == "extend":
        result = editor.extend(audio, args.prompt, args.seconds, bpm=args.bpm, **common)
    else:
        result = editor.loop(args.prompt, args.bpm, args.bars, beats_per_bar=args.beats_per_bar,
                             lufs=args.lufs, **common)
    identity = model_identity(folder)
    mark = editor.watermark.id if editor.watermark is not None else None
    record = provenance(operation=operation, prompt=args.prompt, seed=seed, model=identity,
                        watermark=mark)
    written = save_output(args.out, result.audio, args.format, {
        **result.details, "prompt": args.prompt, "caption": result.spec.caption,
        "input": str(args.input) if audio is not None else None,
        "seconds": result.audio.shape[-1] / result.sample_rate, "bpm": result.spec.bpm,
        "key": result.spec.key, "seed": seed, "steps": args.steps, "cfg": args.cfg,
        "negative": args.negative, "sample_rate": result.sample_rate,
        "model": identity, "latentaudio_version": __version__}, record)
    print(f"wrote {written} ({result.audio.shape[-1] / result.sample_rate:.3f} s, seed {seed})")


COMMANDS = [
    Command("inpaint", "regenerate a time region of a clip from a prompt", _inpaint_arguments,
            lambda a: _run(a, "inpaint")),
    Command("vary", "a variation of a clip (audio-to-audio, strength 0-1)", _vary_arguments,
            lambda a: _run(a, "vary")),
    Command("extend", "continue a clip to a longer length", _extend_arguments,
            lambda a: _run(a, "extend")),
    Command("loop", "a seamless loop of exactly N bars at a tempo", _loop_arguments,
            lambda a: _run(a, "loop")),
]
