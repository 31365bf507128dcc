"""``latentaudio inpaint|vary|extend|loop``: editing with the text-to-audio model."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentaudio.cli.common import (
    Command,
    add_decoder_option,
    add_responsibility_options,
    add_sampling_options,
    audio_output,
    check_writable,
    loudness_target,
    positive_float,
    positive_int,
)


def _common(parser: argparse.ArgumentParser, *, needs_input: bool = True) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if needs_input:
        parser.add_argument("input", type=Path, help="audio file to edit (any format and rate)")
    parser.add_argument("prompt", help="what the new audio should sound like")
    parser.add_argument("-o", "--out", type=audio_output, required=True, help="output file")
    add_sampling_options(parser)
    parser.add_argument("--key", default=None, help='key for music, e.g. "A minor"')
    add_decoder_option(parser)
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
    parser.add_argument("--lufs", type=loudness_target, default=-14.0,
                        help="loudness target in LUFS (default: %(default)s)")


def _run(args: argparse.Namespace, operation: str) -> None:
    from latentaudio.audio import SAMPLE_RATE, load_audio
    from latentaudio.generation import load_pipeline, model_identity
    from latentaudio.render import render
    from latentaudio.request import Request

    audio = load_audio(args.input) if operation != "loop" else None
    request = Request(
        operation=operation, prompt=args.prompt, seconds=getattr(args, "seconds", None),
        seed=args.seed, steps=args.steps, cfg=args.cfg, negative=args.negative, bpm=args.bpm,
        key=args.key, lufs=getattr(args, "lufs", -14.0), start=getattr(args, "start", None),
        end=getattr(args, "end", None), strength=getattr(args, "strength", 0.5),
        bars=getattr(args, "bars", None), beats_per_bar=getattr(args, "beats_per_bar", 4),
        watermark=not args.no_watermark, safety_filter=not args.no_safety_filter,
        decoder=args.decoder, lora=args.lora)
    # Check what can be checked before the model loads.
    request = request.check(audio.shape[-1] / SAMPLE_RATE if audio is not None else None)
    check_writable(args.out)
    pipe, folder = load_pipeline(args.checkpoint)
    written, sidecar, _ = render(pipe, request, args.out, model=model_identity(folder), audio=audio,
                              input_name=str(args.input) if audio is not None else None,
                              audio_format=args.format, progress=not args.quiet)
    print(f"wrote {written} ({sidecar['seconds']:.3f} s, seed {sidecar['seed']})")


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
