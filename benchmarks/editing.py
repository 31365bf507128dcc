"""Editing with the shipped model, measured: long extensions, variation strength, loop seams.

    .venv/bin/python benchmarks/editing.py [--checkpoint DIR] [--minutes 3]
        [--json benchmarks/out/editing.json]

- **extend**: a 10 s clip is generated from a prompt and extended to ``--minutes``. Every 10 s
  chunk is scored against the first: RMS level (dB), spectral flatness (1 = white noise),
  aisfx cosine to the first chunk, tempo and key estimates. Drift into noise shows up as
  flatness rising towards 1 and the cosine falling.
- **vary**: log-mel L1 distance between the input and the variation at strengths 0 .. 1.
- **loop**: the wrap-around seam's spectral flux against the loop's interior percentiles.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

PROMPTS = {"music": "mellow lo-fi hip hop beat with electric piano, 85 bpm, A minor",
           "ambience": "steady rain on a roof with distant thunder"}


def flatness(audio: np.ndarray) -> float:
    import librosa

    return float(np.mean(librosa.feature.spectral_flatness(y=audio.mean(axis=0))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/editing.json"))
    args = parser.parse_args()

    import torch

    from latentaudio.editing import Editor
    from latentaudio.evaluation.aisfx import AisfxEmbedder, cosine
    from latentaudio.evaluation.music import estimate_key, estimate_tempo
    from latentaudio.evaluation.spectral import spectral_flux
    from latentaudio.generation import load_pipeline
    from latentaudio.mel import MelSpectrogram

    pipe, folder = load_pipeline(args.checkpoint)
    editor, embedder, rate = Editor(pipe), AisfxEmbedder(), pipe.sample_rate
    results = {"model": str(folder), "date": time.strftime("%Y-%m-%d"),
               "machine": platform.machine(), "extend": {}, "vary": {}, "loop": {}}

    for name, prompt in PROMPTS.items():
        start = pipe(prompt, seconds=10.0, seeds=[0], progress=False).audios[0]
        started = time.perf_counter()
        long = editor.extend(start, prompt, args.minutes * 60, seed=0, progress=False).audio
        seconds = time.perf_counter() - started
        chunk = 10 * rate
        first = embedder.embed(long[:, :chunk])
        rows = []
        for index in range(long.shape[-1] // chunk):
            part = long[:, index * chunk: (index + 1) * chunk]
            rows.append({"start_s": index * 10,
                         "rms_db": float(20 * np.log10(np.sqrt(np.mean(part ** 2)) + 1e-12)),
                         "flatness": flatness(part),
                         "aisfx_cosine_to_first": cosine(first, embedder.embed(part)),
                         "bpm": estimate_tempo(part, rate), "key": estimate_key(part, rate).name})
        results["extend"][name] = {"prompt": prompt, "seconds_to_extend": seconds, "chunks": rows}
        print(f"extend {name}: {args.minutes:g} min in {seconds:.1f} s")
        for row in rows[:: max(1, len(rows) // 6)] + rows[-1:]:
            print(f"  {row['start_s']:>4d} s  rms {row['rms_db']:6.1f} dB  flatness "
                  f"{row['flatness']:.3f}  cos {row['aisfx_cosine_to_first']:.3f}  "
                  f"{row['bpm']:6.1f} bpm  {row['key']}")

    mel = MelSpectrogram()
    source = pipe(PROMPTS["music"], seconds=8.0, seeds=[1], progress=False).audios[0]
    reference = mel(torch.from_numpy(source)[None])
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        out = editor.vary(source, "a calm piano ballad", strength, seed=2, progress=False).audio
        distance = float((mel(torch.from_numpy(out)[None]) - reference).abs().mean())
        results["vary"][str(strength)] = distance
    print("vary log-mel L1 by strength: " + ", ".join(
        f"{k}: {v:.3f}" for k, v in results["vary"].items()))

    for bpm, bars in ((85, 4), (120, 2)):
        audio = editor.loop(PROMPTS["music"], bpm, bars, seed=3, progress=False).audio
        rolled = np.roll(audio, audio.shape[-1] // 2, axis=-1)
        values = spectral_flux(rolled)
        seam = int(audio.shape[-1] // 2 // 256)
        seam_flux = float(values[max(0, seam - 4): seam + 1].max())
        results["loop"][f"{bpm}bpm-{bars}bars"] = {
            "samples": int(audio.shape[-1]), "expected": round(bars * 4 * 60 / bpm * rate),
            "seam_flux": seam_flux, "interior_p50": float(np.percentile(values, 50)),
            "interior_p95": float(np.percentile(values, 95))}
        row = results["loop"][f"{bpm}bpm-{bars}bars"]
        print(f"loop {bpm} bpm x {bars} bars: {row['samples']} samples (expected "
              f"{row['expected']}); seam flux {seam_flux:.2f} vs interior p95 "
              f"{row['interior_p95']:.2f}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
