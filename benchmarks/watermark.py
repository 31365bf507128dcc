"""The watermark, measured: detection after common transformations, false positives,
imperceptibility and speed.

    .venv/bin/python benchmarks/watermark.py --data ~/corpus-full [--generated 50] [--real 60]
        [--null-windows 600] [--json benchmarks/out/watermark.json]

- **Clips**: ``--generated`` 10 s clips from the shipped model (prompts from
  evaluation/prompts.jsonl, marked by mastering as every output is) and ``--real`` test-split
  corpus clips, half music (its first 10 s) and half sound effects (whole, 3-5 s: the test
  split has none longer), marked with :func:`embed`.
- **Detection rate** after: nothing; MP3 at 128 kbps and Ogg Vorbis (pedalboard's encoders);
  resampling to 22.05 kHz and back (soxr); +6 dB (clipped to full scale) and -6 dB gain; a random
  5 s crop (sound effects under 5.5 s: up to half a second cut off, 3 s kept); white noise at 20 dB
  SNR. Payload accuracy (8 bits) is reported beside it.
- **False positives**: ``--null-windows`` unmarked windows (5 or 10 s, random starts) of corpus
  clips of every split, and of the real clips above before marking.
- **Imperceptibility**: the mark's SNR (audio power over mark power) and the aisfx-embedding
  cosine between each clip before and after marking.
- **Speed**: embed and detect on 10 s of stereo, median over the clips.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 44_100
SECONDS = 10.0


def encode_decode(audio: np.ndarray, suffix: str, quality: str | None) -> np.ndarray:
    from pedalboard.io import AudioFile

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / f"clip{suffix}")
        options = {"quality": quality} if quality else {}
        with AudioFile(path, "w", RATE, audio.shape[0], **options) as out:
            out.write(np.clip(audio, -1, 1))
        with AudioFile(path) as handle:
            return handle.read(handle.frames)


def transformations(rng: np.random.Generator) -> dict:
    import soxr

    def noise(audio):
        power = float(np.mean(audio**2))
        return audio + rng.standard_normal(audio.shape).astype(np.float32) * np.sqrt(power / 100)

    def crop(audio):
        """A random 5 s excerpt; shorter clips lose up to half a second, keeping 3 s (the
        detector's minimum)."""
        length = min(5 * RATE, max(3 * RATE, audio.shape[-1] - RATE // 2))
        start = int(rng.integers(0, audio.shape[-1] - length + 1))
        return audio[:, start: start + length]

    return {
        "none": lambda a: a,
        "mp3 128 kbps": lambda a: encode_decode(a, ".mp3", "128k"),
        "ogg vorbis": lambda a: encode_decode(a, ".ogg", None),
        "resample 22.05 kHz": lambda a: soxr.resample(soxr.resample(a.T, RATE, 22_050),
                                                      22_050, RATE).T,
        "gain +6 dB": lambda a: np.clip(a * 10 ** (6 / 20), -1, 1),
        "gain -6 dB": lambda a: a * 10 ** (-6 / 20),
        "crop 5 s": crop,
        "noise 20 dB SNR": noise,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="corpus with a test split")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--generated", type=int, default=50)
    parser.add_argument("--real", type=int, default=60)
    parser.add_argument("--null-windows", type=int, default=600)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/watermark.json"))
    args = parser.parse_args()

    from tqdm import tqdm

    from latentaudio import watermark as wm
    from latentaudio.audio import load_audio
    from latentaudio.conditioning.aisfx import AisfxEmbedder, cosine
    from latentaudio.data.sources import load_clips
    from latentaudio.evaluation.report import read_prompts
    from latentaudio.generation import load_pipeline

    rng = np.random.default_rng(0)
    config = wm.DEFAULT_WATERMARK
    clips, root, _ = load_clips(args.data)
    # Test music runs 10 s and more; test sound effects are shorter: those of 3 s or more (the
    # detector's minimum) are used whole.
    test = [c for c in clips if c.split == "test" and c.seconds >= wm.MIN_SECONDS]
    music = [c for c in test if c.kind == "music" and c.seconds >= SECONDS]
    sfx = [c for c in test if c.kind != "music"]
    chosen = music[: args.real // 2] + sfx[: args.real - min(len(music), args.real // 2)]

    items = []  # (source, original or None, marked)
    embed_times = []
    for clip in tqdm(chosen, desc="real clips"):
        audio = load_audio(clip.resolve(root), duration_seconds=SECONDS)
        started = time.perf_counter()
        marked = config.apply(audio)
        embed_times.append(time.perf_counter() - started)
        items.append((f"real {clip.kind}", audio, marked))
    pipe, _ = load_pipeline(args.checkpoint)
    prompts = read_prompts(Path("evaluation/prompts.jsonl"))
    for index in tqdm(range(args.generated), desc="generated clips"):
        prompt = prompts[index % len(prompts)].prompt
        out = pipe(prompt, seconds=SECONDS, seeds=[index], progress=False).audios[0]
        items.append(("generated", None, out))

    embedder = AisfxEmbedder()
    snrs = [10 * np.log10(np.mean(a**2) / np.mean((m - a) ** 2)) for _, a, m in items
            if a is not None]
    cosines = [cosine(embedder.embed(a), embedder.embed(m)) for _, a, m in items
               if a is not None]

    results = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
               "clips": {"real": len(chosen), "generated": args.generated,
                         "real music": len(music[: args.real // 2])},
               "detection": {}, "payload_accuracy": {}}
    detect_times = []
    results["detection_by_source"] = {}
    sources = sorted({source for source, _, _ in items})
    for name, transform in transformations(rng).items():
        found, payload_ok = [], []
        for _, _, marked in tqdm(items, desc=name, leave=False):
            started = time.perf_counter()
            result = wm.detect(transform(marked), RATE)
            if name == "none":
                detect_times.append(time.perf_counter() - started)
            found.append(result.present)
            payload_ok.append(result.payload == config.payload)
        results["detection"][name] = float(np.mean(found))
        results["payload_accuracy"][name] = float(np.mean(payload_ok))
        by_source = {source: float(np.mean([f for f, (s, _, _) in zip(found, items, strict=True)
                                            if s == source])) for source in sources}
        results["detection_by_source"][name] = by_source
        print(f"{name:>20}: detected {np.mean(found):7.2%}, payload right "
              f"{np.mean(payload_ok):7.2%} ({len(found)} clips; "
              + ", ".join(f"{s} {v:.0%}" for s, v in by_source.items()) + ")")

    null_scores = []
    pool = [c for c in clips if c.seconds >= 5.0]
    for index in tqdm(range(args.null_windows), desc="unmarked windows"):
        clip = pool[int(rng.integers(len(pool)))]
        length = 10.0 if clip.seconds >= 10.0 and index % 2 else 5.0
        start = float(rng.uniform(0, clip.seconds - length))
        audio = load_audio(clip.resolve(root), offset_seconds=start, duration_seconds=length)
        if audio.shape[-1] < wm.MIN_SECONDS * RATE:
            continue
        null_scores.append(wm.detect(audio, RATE).score)
    null_scores += [wm.detect(a, RATE).score for _, a, _ in items if a is not None]
    null_scores = np.array(null_scores)
    results["false_positives"] = {"windows": len(null_scores),
                                  "rate": float(np.mean(null_scores >= wm.THRESHOLD)),
                                  "max_score": float(null_scores.max()),
                                  "p99_score": float(np.percentile(null_scores, 99)),
                                  "threshold": wm.THRESHOLD}
    results["imperceptibility"] = {"snr_db_min": float(np.min(snrs)),
                                   "snr_db_median": float(np.median(snrs)),
                                   "aisfx_cosine_min": float(np.min(cosines)),
                                   "aisfx_cosine_mean": float(np.mean(cosines))}
    results["seconds_for_10s"] = {"embed": float(np.median(embed_times)),
                                  "detect": float(np.median(detect_times))}
    fp = results["false_positives"]
    print(f"false positives: {fp['rate']:.3%} of {fp['windows']} unmarked windows (max score "
          f"{fp['max_score']:.2f}, 99th percentile {fp['p99_score']:.2f}, threshold "
          f"{fp['threshold']:g})")
    imp = results["imperceptibility"]
    print(f"mark SNR: min {imp['snr_db_min']:.1f} dB, median {imp['snr_db_median']:.1f} dB; "
          f"aisfx cosine before/after: min {imp['aisfx_cosine_min']:.4f}, mean "
          f"{imp['aisfx_cosine_mean']:.4f}")
    speed = results["seconds_for_10s"]
    print(f"10 s stereo: embed {speed['embed'] * 1000:.0f} ms, detect "
          f"{speed['detect'] * 1000:.0f} ms (median)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
