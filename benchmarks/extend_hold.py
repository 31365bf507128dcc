"""Do tempo and key hold across a long continuation? #21's target: a 60 s ``extend``, scored
per 10 s window.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/extend_hold.py [--checkpoint DIR]
        [--seconds 60] [--json benchmarks/out/extend_hold.json]

For each music prompt (a fixed set across genres, tempi and keys) it generates the first 10 s,
extends it to ``--seconds`` with the same prompt, and estimates tempo (librosa beat tracking,
MIREX acc1: within 4%) and key (Krumhansl-Schmuckler, exact) on every 10 s window. It prints the
per-window hit rates, so a drift shows as a falling row.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPTS = [
    "an upbeat electronic dance track, 124 bpm, A minor",
    "a calm piano ballad, 72 bpm, C major",
    "a driving rock groove with drums and guitar, 140 bpm, E minor",
    "a lo-fi hip hop beat, 88 bpm, F major",
    "a cheerful orchestral game soundtrack, 110 bpm, G major",
    "a funky bass groove, 100 bpm, D minor",
    "a slow ambient pad with soft bells, 64 bpm, Eb major",
    "a fast chiptune melody, 160 bpm, B minor",
]
WINDOW = 10.0


def main() -> None:
    import numpy as np

    from latentaudio.editing import Editor
    from latentaudio.evaluation.music import estimate_key, estimate_tempo, tempo_accuracy
    from latentaudio.generation import load_pipeline, model_identity
    from latentaudio.theory import Key

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    from latentaudio.conditioning.prompt import parse_prompt

    pipe, folder = load_pipeline(args.checkpoint)
    editor = Editor(pipe, watermark=None)
    windows = int(args.seconds // WINDOW)
    tempo_hits, key_hits, rows = np.zeros(windows), np.zeros(windows), []
    began = time.perf_counter()
    for index, prompt in enumerate(PROMPTS):
        spec = parse_prompt(prompt)
        first = pipe(prompt, seconds=WINDOW, seeds=[index], progress=False,
                     allow_silence=True).audios[0]
        long = editor.extend(first, prompt, args.seconds, seed=index, steps=args.steps,
                             progress=False).audio
        row = {"prompt": prompt, "bpm": [], "key": []}
        for w in range(windows):
            part = long[:, round(w * WINDOW * pipe.sample_rate):
                        round((w + 1) * WINDOW * pipe.sample_rate)]
            bpm = estimate_tempo(part, pipe.sample_rate)
            key = estimate_key(part, pipe.sample_rate)
            tempo_hits[w] += tempo_accuracy(bpm, spec.bpm)[0]
            key_hits[w] += key == Key.parse(spec.key)
            row["bpm"].append(round(float(bpm), 1))
            row["key"].append(key.name)
        rows.append(row)
        print(f"{prompt[:48]:48s} bpm {row['bpm']} key {row['key']}", flush=True)
    count = len(PROMPTS)
    print(f"\n{count} prompts, {args.seconds:g} s each, {time.perf_counter() - began:.0f} s")
    print("window (s)     " + " ".join(f"{w * WINDOW:>5.0f}" for w in range(windows)))
    print("tempo acc1     " + " ".join(f"{h / count:5.2f}" for h in tempo_hits))
    print("key exact      " + " ".join(f"{h / count:5.2f}" for h in key_hits))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "model": model_identity(folder), "seconds": args.seconds, "steps": args.steps,
            "machine": platform.processor() or platform.machine(),
            "tempo_acc1": (tempo_hits / count).tolist(), "key_exact": (key_hits / count).tolist(),
            "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
