"""The ``latentaudio`` command: parse arguments, call the library, report in one line on failure.

Each command module lists its :class:`~latentaudio.cli.common.Command` entries; this module puts
them in one parser. Errors the user can fix (:class:`LatentAudioError`) print as one line;
anything else is a bug and also prints one line unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from latentaudio import __version__
from latentaudio.cli import (
    audio,
    batch,
    corpus,
    detect,
    edit,
    evaluate,
    generate,
    serve,
    song,
    train,
)
from latentaudio.cli.common import Parser, add_common_options
from latentaudio.errors import LatentAudioError
from latentaudio.memory import reuse_large_blocks

COMMANDS = [*generate.COMMANDS, *edit.COMMANDS, *song.COMMANDS, *batch.COMMANDS,
            *serve.COMMANDS, *detect.COMMANDS, *audio.COMMANDS,
            *evaluate.COMMANDS,
            *corpus.COMMANDS, *train.COMMANDS]

EPILOG = """\
examples:
  latentaudio generate "heavy rain on a tin roof" --seconds 8
  latentaudio batch prompts.jsonl --out clips/   many clips, one per JSONL line
  latentaudio serve                           HTTP API + web UI on http://127.0.0.1:8000
  latentaudio detect rain.wav                 is it watermarked? (every output is)
  latentaudio demo                            render a phrase, rebuild it from its mel
  latentaudio reconstruct in.mp3 -o out.wav   audio -> latents -> audio
  latentaudio info clip.flac                  rate, channels, length, level of a file
  latentaudio corpus build --out data --size tiny
                                              render a small training corpus
  latentaudio train vae --data data --out runs/vae
                                              train (Ctrl-C and rerun to resume)

Run 'latentaudio COMMAND --help' for a command's options."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="latentaudio",
                    description="Generate and edit stereo 44.1 kHz audio with latent diffusion.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"latentaudio {__version__}")
    add_common_options(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        sub = commands.add_parser(command.name, help=command.help,
                                  description=command.help[0].upper() + command.help[1:] + ".")
        add_common_options(sub)
        command.add_arguments(sub)
        if command.run is not None:
            sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    name = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    reuse_large_blocks()  # long outputs: large arrays reused, not paged in anew (memory.py)
    try:
        code = args.run(args)
    except KeyboardInterrupt as stop:  # a training says where it stopped and how to resume
        print(f"latentaudio {name}: {stop or 'interrupted'}", file=sys.stderr)
        return 130
    except LatentAudioError as error:
        if args.debug:
            raise
        print(f"latentaudio {name}: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one line by default, the traceback with --debug
        if args.debug:
            raise
        print(f"latentaudio {name}: internal error: {type(error).__name__}: {error} "
              "(rerun with --debug for the traceback and please report it)", file=sys.stderr)
        return 1
    return code if isinstance(code, int) else 0
