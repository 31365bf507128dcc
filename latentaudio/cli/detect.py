"""``latentaudio detect``: is a file latentaudio's output? Watermark and provenance."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentaudio.cli.common import Command

EXAMPLES = """\
examples:
  latentaudio detect rain.wav
  latentaudio detect clips/*.mp3 --json

The watermark survives MP3/Ogg coding, resampling, gain changes, added noise and cropping to any
3 s or more; it does not survive time-stretching or pitch-shifting. The score is the carrier's
correlation peak in units of its spread over all lags: unmarked audio scored at most 6.0 in 660
windows (benchmarks/watermark.py), and 'present' means at least 6.5. Exit status: 0 if every
file is marked, 1 if any is not."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE", help="audio files")
    parser.add_argument("--key", default=None,
                        help="watermark key (default: latentaudio's public key)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")


def _detect(args: argparse.Namespace) -> int:
    from latentaudio.audio import SAMPLE_RATE, load_audio
    from latentaudio.errors import LatentAudioError
    from latentaudio.provenance import read_provenance
    from latentaudio.watermark import DEFAULT_KEY, MIN_SECONDS, THRESHOLD, detect

    all_marked = True
    for path in args.files:
        audio = load_audio(path)
        if audio.shape[-1] < MIN_SECONDS * SAMPLE_RATE:
            raise LatentAudioError(f"{path} is {audio.shape[-1] / SAMPLE_RATE:.2f} s long: the "
                                   f"watermark needs {MIN_SECONDS:g} s to be detected")
        found = detect(audio, SAMPLE_RATE, key=args.key or DEFAULT_KEY)
        record = read_provenance(path)
        all_marked &= found.present
        if args.json:
            print(json.dumps({"file": str(path), "watermark": found.present,
                              "score": round(found.score, 2), "threshold": THRESHOLD,
                              "payload": found.payload,
                              "bit_confidence": None if found.bit_confidence is None
                              else round(found.bit_confidence, 2),
                              "provenance": record}))
            continue
        if found.present:
            line = (f"{path}: watermark present (score {found.score:.1f}, payload "
                    f"{found.payload:02x}, weakest bit {found.bit_confidence:.1f})")
        else:
            line = f"{path}: no watermark (score {found.score:.1f}, threshold {THRESHOLD:g})"
        if record is not None:
            line += (f"; metadata: {record.get('software')}, model {record.get('model')}, "
                     f"seed {record.get('seed')}, {record.get('created')}")
        print(line)
    return 0 if all_marked else 1


COMMANDS = [Command("detect", "look for latentaudio's watermark (and provenance) in files",
                    _arguments, _detect)]
