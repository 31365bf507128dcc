"""Editing with the shipped model, measured: long extensions, variation strength, loop seams,
inpainting, melody and reference-style conditioning, and the time of each operation.

    .venv/bin/python benchmarks/editing.py [--checkpoint DIR] [--minutes 3]
        [--data CORPUS] [--references 12] [--json benchmarks/out/editing.json]

- **extend**: a 10 s clip is generated from a prompt and extended to ``--minutes``. Every 10 s
  chunk is scored against the first: RMS level (dB), spectral flatness (1 = white noise),
  aisfx cosine to the first chunk, tempo and key estimates. Drift into noise shows up as
  flatness rising towards 1 and the cosine falling.
- **vary**: log-mel L1 distance between the input and the variation at strengths 0 .. 1.
- **loop**: the wrap-around seam's spectral flux against the loop's interior percentiles.
- **inpaint**: a 3 s region of a 10 s clip: the largest difference from the input outside the
  region and its crossfades (0 by construction), and the seams' spectral flux.
- **melody**: chroma similarity (MusicGen's metric: frame-wise cosine of CQT chroma) between the
  reference and the output, generated from the same prompt and seed with and without
  ``melody=``. References: synthetic hummed tunes (sine notes), and with ``--data`` the corpus's
  test-split music clips.
- **style** (needs ``--data``): wordless generation from test-split clips' ``style=``: aisfx
  cosine of output to reference, and how often the output's nearest reference is its own (chance
  1/N), against a generic prompt ("a sound") and the reference's caption as the prompt.
- **timing**: seconds each operation takes for 10 s of audio (best of 2).
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


def hummed_tune(seed: int, seconds: float = 10.0, rate: int = 44_100) -> np.ndarray:
    """A "hum": random notes of a major scale, 0.3-0.8 s each, as a soft sine with vibrato."""
    rng = np.random.default_rng(seed)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    tonic = 57 + int(rng.integers(0, 12))  # A3 .. G#4
    pieces, total = [], 0
    while total < seconds * rate:
        length = int(rng.uniform(0.3, 0.8) * rate)
        pitch = 440.0 * 2 ** ((tonic + int(rng.choice(scale)) - 69) / 12)
        t = np.arange(length) / rate
        phase = 2 * np.pi * pitch * t + 0.3 * np.sin(2 * np.pi * 5 * t)
        envelope = np.minimum(1, np.minimum(t, t[::-1]) / 0.03)
        pieces.append(0.3 * envelope * np.sin(phase))
        total += length
    tune = np.concatenate(pieces)[: int(seconds * rate)].astype(np.float32)
    return np.stack([tune, tune])


def test_clips(data: Path, kind: str | None, count: int) -> list[tuple[np.ndarray, str, str]]:
    """``(audio, caption, category)`` of the first ``count`` test-split clips of ``kind``,
    10 s from their start, spread over categories."""
    from latentaudio.audio import load_audio
    from latentaudio.data.sources import load_clips

    clips, root, _ = load_clips(data)
    chosen, seen = [], set()
    for clip in sorted(clips, key=lambda c: c.id):
        if clip.split != "test" or (kind and clip.kind != kind) or clip.seconds < 3:
            continue
        if clip.category in seen and len(seen) < count:
            continue
        seen.add(clip.category)
        audio = load_audio(clip.resolve(root), duration_seconds=10.0)
        chosen.append((audio, clip.caption, clip.category or clip.kind))
        if len(chosen) == count:
            break
    return chosen


def best_time(run, repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--data", type=Path, default=None,
                        help="corpus with a test split, for real melody and style references")
    parser.add_argument("--references", type=int, default=12,
                        help="references per melody/style comparison (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/editing.json"))
    args = parser.parse_args()

    import torch

    from latentaudio.conditioning.aisfx import AisfxEmbedder, cosine
    from latentaudio.editing import Editor
    from latentaudio.evaluation.music import chroma_similarity, estimate_key, estimate_tempo
    from latentaudio.evaluation.spectral import spectral_flux
    from latentaudio.generation import load_pipeline
    from latentaudio.mel import MelSpectrogram

    pipe, folder = load_pipeline(args.checkpoint)
    editor, embedder, rate = Editor(pipe), AisfxEmbedder(), pipe.sample_rate
    results = {"model": str(folder), "date": time.strftime("%Y-%m-%d"),
               "machine": platform.machine(), "extend": {}, "vary": {}, "loop": {},
               "inpaint": {}, "melody": {}, "style": {}, "seconds_for_10s": {}}

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

    clip = pipe(PROMPTS["music"], seconds=10.0, seeds=[4], progress=False).audios[0]
    out = editor.inpaint(clip, "a bright flute melody", 3.0, 6.0, seed=5, progress=False).audio
    fade = round(0.05 * rate)
    outside = np.ones(clip.shape[-1], dtype=bool)
    outside[3 * rate - fade: 6 * rate + fade] = False
    values = spectral_flux(out)
    seams = [int(t * rate // 256) for t in (3.0, 6.0)]
    results["inpaint"] = {
        "outside_max_abs_error": float(np.abs(out - clip)[:, outside].max()),
        "seam_flux": [float(values[max(0, s - 4): s + 4].max()) for s in seams],
        "interior_p95": float(np.percentile(values, 95))}
    row = results["inpaint"]
    print(f"inpaint 3-6 s of 10 s: outside max |error| {row['outside_max_abs_error']:.2e}; seam "
          f"flux {row['seam_flux'][0]:.2f}, {row['seam_flux'][1]:.2f} vs interior p95 "
          f"{row['interior_p95']:.2f}")

    melody_rows = {"hummed": [(hummed_tune(i), None, "hummed") for i in
                               range(args.references)]}
    if args.data is not None:
        melody_rows["corpus music"] = test_clips(args.data, "music", args.references)
    restyles = ["warm electric piano", "string ensemble, cinematic", "synth lead over drums",
                "acoustic guitar"]
    for name, rows in melody_rows.items():
        pairs = []
        for index, (reference, _caption, _) in enumerate(rows):
            prompt = restyles[index % len(restyles)]
            kwargs = dict(seconds=10.0, seeds=[index], progress=False)
            free = pipe(prompt, **kwargs).audios[0]
            led = pipe(prompt, melody=reference, **kwargs).audios[0]
            pairs.append((chroma_similarity(free, reference, rate),
                          chroma_similarity(led, reference, rate)))
        without, with_ = np.array(pairs).T
        results["melody"][name] = {"references": len(pairs), "without": float(without.mean()),
                                   "with": float(with_.mean()),
                                   "improved_share": float(np.mean(with_ > without))}
        print(f"melody ({name}, {len(pairs)} refs): chroma similarity {without.mean():.3f} "
              f"without -> {with_.mean():.3f} with (higher for {np.mean(with_ > without):.0%})")

    if args.data is not None:
        rows = test_clips(args.data, None, args.references)
        references = np.stack([embedder.embed(audio) for audio, _, _ in rows])
        ways = {"generic prompt 'a sound'": lambda a, c, i: pipe("a sound", seconds=10.0,
                                                                 seeds=[i], progress=False),
                "caption only": lambda a, c, i: pipe(c, seconds=10.0, seeds=[i],
                                                     progress=False),
                "style only (no words)": lambda a, c, i: pipe("", style=a, seconds=10.0,
                                                              seeds=[i], progress=False)}
        for way, make in ways.items():
            outputs = np.stack([embedder.embed(make(audio, caption, i).audios[0])
                                for i, (audio, caption, _) in enumerate(rows)])
            similarity = outputs @ references.T  # unit vectors: cosines
            own = np.diag(similarity)
            results["style"][way] = {
                "references": len(rows), "aisfx_cosine_to_reference": float(own.mean()),
                "nearest_is_own": float(np.mean(similarity.argmax(axis=1) == np.arange(
                    len(rows))))}
            print(f"style, {way}: cosine to reference {own.mean():.3f}, nearest reference is "
                  f"its own for {results['style'][way]['nearest_is_own']:.0%} "
                  f"(chance {1 / len(rows):.0%})")

    hum = hummed_tune(0)
    ten = pipe(PROMPTS["music"], seconds=10.0, seeds=[6], progress=False).audios[0]
    operations = {
        "generate": lambda: pipe(PROMPTS["music"], seconds=10.0, seeds=[0], progress=False),
        "generate --melody": lambda: pipe(PROMPTS["music"], seconds=10.0, melody=hum,
                                          seeds=[0], progress=False),
        "generate --style": lambda: pipe("", seconds=10.0, style=ten, seeds=[0],
                                         progress=False),
        "inpaint (3 s region)": lambda: editor.inpaint(ten, "a flute", 3.0, 6.0,
                                                       progress=False),
        "vary (strength 0.5)": lambda: editor.vary(ten, "a piano", 0.5, progress=False),
        "extend (+10 s)": lambda: editor.extend(ten, PROMPTS["music"], 20.0, progress=False),
        "loop (96 bpm x 4 bars = 10 s)": lambda: editor.loop(PROMPTS["music"], 96, 4,
                                                              progress=False),
    }
    for name, run in operations.items():
        results["seconds_for_10s"][name] = best_time(run)
        print(f"time for 10 s, {name}: {results['seconds_for_10s'][name]:.2f} s")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
