"""The ``latentaudio`` command: parse arguments, call the library, report in one line on failure.

Each subcommand is a pair of functions, one that declares its arguments and one that runs it,
listed in :data:`COMMANDS`. Errors the user can fix (:class:`LatentAudioError`) print as one line;
anything else is a bug and also prints one line unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from latentaudio import __version__
from latentaudio.errors import LatentAudioError

EPILOG = """\
examples:
  latentaudio demo                          render a phrase, rebuild it from its mel
  latentaudio reconstruct in.mp3 -o out.wav  audio -> log-mel -> waveform round trip
  latentaudio info clip.flac                 rate, channels, length, level of a file
  latentaudio corpus build --out data --size tiny
                                             render a small training corpus

Run 'latentaudio COMMAND --help' for a command's options."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line, pointing at --help."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


# ---------------------------------------------------------------------------------------- demo
def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", type=Path, default=Path("latentaudio-demo"),
                        help="folder for the two WAV files (default: %(default)s)")
    parser.add_argument("--iters", type=_positive_int, default=64,
                        help="Griffin-Lim iterations (default: %(default)s)")


def _demo(args: argparse.Namespace) -> None:
    from latentaudio.demo import run_demo

    report = run_demo(args.out, n_iter=args.iters, progress=not args.quiet)
    print(f"rendered {report.seconds:.1f} s of piano, bass and drums with FluidSynth "
          f"({report.soundfont}) -> {report.original}")
    print(f"rebuilt it from its stereo 128-band log-mel with {args.iters} Griffin-Lim iterations "
          f"in {report.griffin_lim_seconds:.1f} s -> {report.rebuilt}")
    print(f"log-mel L1 {report.log_mel_l1:.3f}, spectral convergence "
          f"{report.spectral_convergence:.3f} (0 = identical); a trained vocoder must beat these")


# --------------------------------------------------------------------------------- reconstruct
def _reconstruct_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="audio file (WAV, FLAC, OGG or MP3, any rate)")
    parser.add_argument("-o", "--out", type=Path, required=True,
                        help="output file; the extension picks the format (wav, flac, ogg, mp3)")
    parser.add_argument("--iters", type=_positive_int, default=64,
                        help="Griffin-Lim iterations (default: %(default)s)")


def _reconstruct(args: argparse.Namespace) -> None:
    import torch

    from latentaudio.audio import load_audio, save_audio
    from latentaudio.mel import MelSpectrogram, griffin_lim

    audio = torch.from_numpy(load_audio(args.input))[None]  # (1, 2, samples)
    mel = MelSpectrogram()
    rebuilt = griffin_lim(mel(audio), mel, n_iter=args.iters, length=audio.shape[-1],
                          progress=not args.quiet)
    path = save_audio(args.out, rebuilt[0].numpy())
    print(f"wrote {path} ({audio.shape[-1] / mel.config.sample_rate:.2f} s, stereo 44.1 kHz, "
          f"log-mel -> Griffin-Lim)")


# ---------------------------------------------------------------------------------------- info
def _info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, nargs="+", help="audio files")


def _info(args: argparse.Namespace) -> None:
    import numpy as np

    from latentaudio.audio import audio_info, load_audio

    for path in args.input:
        info = audio_info(path)
        audio = load_audio(path, sample_rate=info.sample_rate)
        peak_db = 20 * np.log10(max(float(np.abs(audio).max()), 1e-10))
        print(f"{path}: {info.format}, {info.sample_rate} Hz, {info.channels} ch, "
              f"{info.seconds:.2f} s, peak {peak_db:.1f} dBFS")


# -------------------------------------------------------------------------------------- corpus
def _corpus_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="corpus_command", metavar="ACTION", required=True,
                                    parser_class=_Parser)
    build = actions.add_parser(
        "build", help="render and collect a training corpus",
        description="Render music (FluidSynth, music21 scores), collect real recorded sound "
        "effects from installed packages and synthesise procedural effects, as 44.1 kHz stereo "
        "FLAC with manifest.jsonl, summary.json and ATTRIBUTION. Deterministic for a seed.",
        epilog="sizes: tiny (~50 clips, seconds; for tests), small (~900 clips, minutes), "
        "full (>= 4000 clips, >= 5 h; needs ./setup.sh --corpus)")
    _add_common_options(build, default=argparse.SUPPRESS)
    build.add_argument("--out", type=Path, required=True, help="folder to build into")
    build.add_argument("--size", choices=["tiny", "small", "full"], default="tiny",
                       help="how much to build (default: %(default)s)")
    build.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    build.add_argument("--workers", type=_positive_int, default=None,
                       help="processes (default: all cores)")
    build.add_argument("--allow-missing", action="store_true",
                       help="build without recorded sources whose packages are not installed")
    build.set_defaults(run=_corpus_build)
    show = actions.add_parser("summary", help="print a built corpus's summary",
                              description="Print the per-source and per-class table of a "
                              "corpus folder (from its summary.json).")
    _add_common_options(show, default=argparse.SUPPRESS)
    show.add_argument("folder", type=Path, help="a folder made by 'corpus build'")
    show.set_defaults(run=_corpus_summary)


def _corpus_build(args: argparse.Namespace) -> None:
    import time

    from latentaudio.data.corpus import build_corpus, format_summary

    started = time.perf_counter()
    summary = build_corpus(args.out, args.size, seed=args.seed, workers=args.workers,
                           allow_missing=args.allow_missing, progress=not args.quiet)
    print(format_summary(summary))
    print(f"\nwrote {args.out / 'manifest.jsonl'} in {time.perf_counter() - started:.0f} s")


def _corpus_summary(args: argparse.Namespace) -> None:
    import json

    from latentaudio.data.corpus import format_summary

    path = args.folder / "summary.json"
    if not path.is_file():
        raise LatentAudioError(f"{args.folder} has no summary.json: is it a corpus folder?")
    print(format_summary(json.loads(path.read_text())))


Command = tuple[str, Callable[[argparse.ArgumentParser], None],
                Callable[[argparse.Namespace], None]]
COMMANDS: tuple[Command, ...] = (
    ("demo: render a short phrase with FluidSynth and rebuild it from its log-mel "
     "(Griffin-Lim)", _demo_arguments, _demo),
    ("reconstruct: audio -> stereo log-mel -> waveform, the baseline round trip",
     _reconstruct_arguments, _reconstruct),
    ("info: print the format, rate, channels, length and peak of audio files",
     _info_arguments, _info),
    ("corpus: build a training corpus (corpus build --out DIR --size tiny|small|full)",
     _corpus_arguments, None),
)


def _add_common_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the full traceback when something fails")
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="latentaudio",
        description="Generate and edit stereo 44.1 kHz audio with latent diffusion.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"latentaudio {__version__}")
    _add_common_options(parser, default=False)
    # The same options after the command name; SUPPRESS keeps the top level's value when absent.
    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for summary, add_arguments, run in COMMANDS:
        name, help_text = summary.split(": ", 1)
        sub = commands.add_parser(name, help=help_text, parents=[common],
                                  description=help_text[0].upper() + help_text[1:] + ".")
        add_arguments(sub)
        if run is not None:  # commands with actions set run per action
            sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.run(args)
    except KeyboardInterrupt:
        print("latentaudio: interrupted", file=sys.stderr)
        return 130
    except LatentAudioError as error:
        if args.debug:
            raise
        print(f"latentaudio {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one line by default, the traceback with --debug
        if args.debug:
            raise
        print(f"latentaudio {args.command}: internal error: {type(error).__name__}: {error} "
              "(rerun with --debug for the traceback and please report it)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
