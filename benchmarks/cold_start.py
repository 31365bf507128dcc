"""Cold start: a fresh process that writes 10 s of audio, and --help, timed with /usr/bin/time.

    .venv/bin/python benchmarks/cold_start.py [--runs 3]

Prints the median wall time of each command over ``--runs`` fresh processes (targets: a cold
10 s generate in at most 4 s, --help in at most 0.3 s), with the share that is imports alone
(``python -c "import latentaudio.pipeline"``) measured the same way beside it.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "latentaudio"]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run, from /usr/bin/time -v."""
    run = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stderr[-2000:]}")
    clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", run.stderr)
    hours, minutes, seconds = (float(x or 0) for x in clock.groups())
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
    return hours * 3600 + minutes * 60 + seconds, int(rss.group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "cold.wav"
    commands = {
        "--help": [*CLI, "--help"],
        "generate --help": [*CLI, "generate", "--help"],
        "import latentaudio.pipeline": [sys.executable, "-c", "import latentaudio.pipeline"],
        "generate 10 s": [*CLI, "generate", "heavy rain on a tin roof", "--seconds", "10",
                          "--seed", "1", "-q", "-o", str(out)],
    }
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; median of {args.runs} fresh processes")
    for name, command in commands.items():
        runs = [timed(command) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        print(f"{name:30s} {wall:6.2f} s   (runs: {', '.join(f'{r[0]:.2f}' for r in runs)};"
              f" peak {rss:.0f} MB)")


if __name__ == "__main__":
    main()
