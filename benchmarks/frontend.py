"""Front-end figures: log-mel analysis speed and the Griffin-Lim baseline's speed and quality.

    .venv/bin/python benchmarks/frontend.py [--json OUT.json]

Uses the demo phrase (FluidSynth piano, bass and drums), tiled to 10 s of stereo audio. Griffin-Lim
is the floor every learned vocoder is measured against (benchmarks/reconstruction.py will compare
them on the test corpus); the real-time factor is seconds of audio per second of compute.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from latentaudio.demo import render_demo_phrase
from latentaudio.evaluation.spectral import log_mel_l1, spectral_convergence
from latentaudio.mel import MelSpectrogram, griffin_lim

SECONDS = 10.0


def best_of(repeats: int, function):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    audio, soundfont = render_demo_phrase()
    samples = int(SECONDS * 44_100)
    audio = np.tile(audio, (1, int(np.ceil(samples / audio.shape[1]))))[:, :samples]
    wav = torch.from_numpy(audio)[None]  # (1, 2, 441000)

    mel = MelSpectrogram()
    analysis_s, log_mel = best_of(5, lambda: mel(wav))
    rows = [{"stage": "log-mel analysis", "seconds": analysis_s, "rtf": SECONDS / analysis_s}]
    for n_iter in (16, 32, 64):
        elapsed, rebuilt = best_of(2, lambda n=n_iter: griffin_lim(log_mel, mel, n_iter=n,
                                                                   length=samples))
        rows.append({"stage": f"griffin-lim {n_iter} iter", "seconds": elapsed,
                     "rtf": SECONDS / elapsed,
                     "spectral_convergence": spectral_convergence(wav, rebuilt, mel),
                     "log_mel_l1": log_mel_l1(wav, rebuilt, mel)})

    print(f"demo phrase ({soundfont}) tiled to 10 s stereo 44.1 kHz; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.machine()}")
    print(f"{'stage':<22}{'time s':>9}{'x realtime':>12}{'spec. conv.':>13}{'log-mel L1':>12}")
    for row in rows:
        quality = (f"{row['spectral_convergence']:>13.3f}{row['log_mel_l1']:>12.3f}"
                   if "log_mel_l1" in row else "")
        print(f"{row['stage']:<22}{row['seconds']:>9.3f}{row['rtf']:>12.1f}{quality}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
