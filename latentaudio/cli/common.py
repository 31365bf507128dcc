"""Pieces every command module uses: the parser class, argument types, shared options."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from latentaudio.errors import LatentAudioError

# Re-exported for the commands (its home is the library's provenance module).
from latentaudio.provenance import save_output  # noqa: F401


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, pointing at --help."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


@dataclass(frozen=True)
class Command:
    name: str
    help: str  # one line, lower case, no full stop
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], None] | None  # None: the command has actions


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def guidance_scale(text: str) -> float:
    """argparse type: a guidance scale in range (NaN and infinities refused at parse time)."""
    from latentaudio.limits import check_guidance

    try:
        return check_guidance(float(text))
    except LatentAudioError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def seed_value(text: str) -> int:
    """argparse type: a seed in range (2^64 used to end in an internal error)."""
    from latentaudio.limits import check_seed

    try:
        return check_seed(int(text))
    except LatentAudioError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def audio_output(text: str) -> Path:
    """argparse type: an output file path with a name (and, if it has one, a known format),
    checked before any model loads."""
    from latentaudio.request import FORMATS

    path = Path(text)
    if not text.strip() or text.endswith(("/", os.sep)) or path.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r} is not a file name: give one, e.g. out.wav")
    if path.suffix and path.suffix.lower().lstrip(".") not in FORMATS:
        raise argparse.ArgumentTypeError(f"unknown audio format {path.suffix!r}: use one of "
                                         f"{', '.join(FORMATS)}")
    return path


def check_writable(path: Path) -> None:
    """Fail before generating when ``path``'s folder cannot be written (the nearest existing
    folder above it, when it does not exist yet)."""
    folder = path.resolve().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise LatentAudioError(f"cannot write {path}: {folder} is not a writable folder")


def loudness_target(text: str) -> float:
    """argparse type: a loudness target in LUFS, in range."""
    from latentaudio.limits import check_loudness_target

    try:
        return check_loudness_target(float(text))
    except LatentAudioError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_common_options(parser: argparse.ArgumentParser,
                       default: object = argparse.SUPPRESS) -> None:
    """--debug and --quiet, accepted before or after a command name (SUPPRESS keeps the value
    given at the top level when a subcommand does not repeat it)."""
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback when something fails")
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="no progress bars")


def add_actions(parser: argparse.ArgumentParser, actions: list[Command]) -> None:
    """Second-level commands (``corpus build``, ``train vae``)."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True,
                                parser_class=Parser)
    for action in actions:
        child = sub.add_parser(action.name, help=action.help,
                               description=action.help[0].upper() + action.help[1:] + ".")
        add_common_options(child)
        action.add_arguments(child)
        child.set_defaults(run=action.run)


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    """--seed, --steps, --cfg and --negative, shared by generate and the editing commands."""
    parser.add_argument("--seed", type=seed_value, default=None,
                        help="random seed (default: a fresh one, written to the sidecar)")
    parser.add_argument("--steps", type=positive_int, default=12,
                        help="denoising steps (default: %(default)s)")
    parser.add_argument("--cfg", type=guidance_scale, default=4.0,
                        help="classifier-free guidance scale; 1 = none (default: %(default)s)")
    parser.add_argument("--negative", default=None, help="what the audio should not be like")
    parser.add_argument("--lora", action="append", default=[], metavar="ADAPTER[:STRENGTH]",
                        help="a LoRA adapter from 'train lora' at a strength (default 1, 0 = "
                        "off); repeat to stack several")


def add_token_sampling_options(parser: argparse.ArgumentParser) -> None:
    """--temperature, --top-k and --top-p of the token-AR backend (song, generate --backend ar)."""
    parser.add_argument("--temperature", type=positive_float, default=1.0,
                        help="token sampling temperature (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=250,
                        help="sample among the k likeliest tokens (default: %(default)s)")
    parser.add_argument("--top-p", type=float, default=None,
                        help="nucleus sampling: the smallest set with this probability")


def add_decoder_option(parser: argparse.ArgumentParser) -> None:
    """--decoder, on every command that writes generated audio."""
    from latentaudio.decoders import DECODERS, DEFAULT_DECODER

    parser.add_argument("--decoder", choices=DECODERS, default=None,
                        help="how the model's mel becomes audio: hybrid (the mel's own "
                        "magnitudes, 12 Griffin-Lim iterations from random phases; no "
                        "hop-rate buzz), vocoder (the trained vocoder alone: faster, buzzes), "
                        f"griffin-lim (64 iterations) (default: {DEFAULT_DECODER})")


def add_responsibility_options(parser: argparse.ArgumentParser) -> None:
    """--no-watermark and --no-safety-filter, shared by generate and the editing commands."""
    parser.add_argument("--no-watermark", action="store_true",
                        help="leave the output unmarked (by default every output carries an "
                        "inaudible watermark that 'latentaudio detect' finds)")
    parser.add_argument("--no-safety-filter", action="store_true",
                        help="for research only: accept prompts that name living artists "
                        "(refused by default; the list is "
                        "latentaudio/conditioning/data/living_artists.txt)")


def watermark_config(args: argparse.Namespace):
    from latentaudio.watermark import WatermarkConfig

    return None if args.no_watermark else WatermarkConfig()
