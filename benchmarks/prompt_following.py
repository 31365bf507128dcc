"""Does the generator follow its prompts? A listener-free check on test-split captions.

    .venv/bin/python benchmarks/prompt_following.py --data CORPUS [--checkpoint DIR]
        [--per-class 2] [--steps 12] [--decoder hybrid|vocoder|griffin-lim]
        [--json benchmarks/out/prompt_following.json]

For each corpus category (sound-effect classes and music genres with >= 20 training clips) it
takes up to ``--per-class`` test-split clips, generates audio from each clip's caption (seed =
row number, the clip's duration capped at 10 s) and scores the output three ways, beside the
real test clip and that clip encoded and decoded by the model's own codec (the "codec" column:
what a generator that made perfect latents would score, so the gap to "real" is the codec's and
the gap to "codec" the generator's):

- **category**: nearest class centroid of aisfx embeddings (centroids from up to 24 train clips
  per class). The same classifier on the real test clips is the ceiling; the generated clips
  scored against a rotation of the prompts (each clip against another prompt's class) is the
  floor a prompt-blind generator would get.
- **tempo** (music with a labelled bpm): MIREX acc1 (within 4%) and acc2 (octave errors allowed)
  of ``beat_tempo`` (the slope of librosa's beat times, as #21 asks), for the generated and the
  real clips; ``tempo_grid_*`` is the same for the autocorrelation estimate (``estimate_tempo``,
  the figure reported before session 9), whose lags step 2.3% apart at 120 bpm.
- **key** (music with a labelled key): Krumhansl-Schmuckler, exact and MIREX-weighted.
- **FAD** (aisfx and CLAP audio) of the generated clips against the shipped test-split statistics
  (``checkpoints/fad-reference``), beside the same figure for as many *valid*-split real clips
  chosen the same way (per class, the same count): the real-vs-real level at this set size,
  which #21's target (at most 1.5x) is measured against.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

MIN_TRAIN = 20
REFERENCE_PER_CLASS = 24


def eligible_classes(data: Path):
    """The corpus's root, its clips by category and split, and the categories scored: those
    with at least MIN_TRAIN train clips and a test clip."""
    from latentaudio.data.sources import load_clips

    clips, root, _ = load_clips(data)
    by_class = defaultdict(lambda: {"train": [], "test": [], "valid": []})
    for clip in clips:
        if clip.split in ("train", "test", "valid") and clip.category not in ("", "misc", "music"):
            by_class[clip.category][clip.split].append(clip)
    classes = sorted(c for c, s in by_class.items() if len(s["train"]) >= MIN_TRAIN and s["test"])
    return root, by_class, classes


def class_centroids(embedder, data: Path, root: Path, by_class, classes: list[str],
                    cache: Path) -> np.ndarray:
    """Unit aisfx centroids of up to REFERENCE_PER_CLASS train clips per class. They depend only
    on the corpus's clips: kept in ``cache``, keyed by the manifest's contents and the classes,
    so a second run (another checkpoint, decoder or guidance) skips the minutes they take."""
    import hashlib

    from tqdm import tqdm

    from latentaudio.audio import load_audio

    manifest = data / "manifest.jsonl" if data.is_dir() else data
    digest = hashlib.sha1(manifest.read_bytes() + ",".join(classes).encode()).hexdigest()[:12]
    stored = cache / f"centroids-{digest}.npy"
    if stored.is_file():
        return np.load(stored)
    centroids = []
    for name in tqdm(classes, desc="class centroids"):
        train = by_class[name]["train"][:REFERENCE_PER_CLASS]
        vectors = np.stack([embedder.embed(load_audio(c.resolve(root), duration_seconds=10.0))
                            for c in train])
        mean = vectors.mean(axis=0)
        centroids.append(mean / np.linalg.norm(mean))
    centroids = np.stack(centroids)
    stored.parent.mkdir(parents=True, exist_ok=True)
    np.save(stored, centroids)
    return centroids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--per-class", type=int, default=2)
    parser.add_argument("--categories", default=None,
                        help="comma-separated categories to score (default: all eligible)")
    parser.add_argument("--kind", choices=["music", "sfx"], default=None,
                        help="score only these prompts (same seeds as in the full run)")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--cfg", type=float, default=4.0)
    parser.add_argument("--lora", action="append", default=[], metavar="ADAPTER[:STRENGTH]",
                        help="score the model with these LoRA adapters (out-of-family drift)")
    parser.add_argument("--tempo-cfg", type=float, default=None,
                        help="the tempo's own guidance scale (default: the package's, "
                        "1.75 x --cfg)")
    parser.add_argument("--key-cfg", type=float, default=None,
                        help="the key's own guidance scale (default: the package's, "
                        "1.75 x --cfg)")
    parser.add_argument("--decoder", choices=["hybrid", "vocoder", "griffin-lim"], default=None,
                        help="how mels become audio (default: the package's); the same seeds "
                        "give the same latents whichever is chosen")
    parser.add_argument("--json", type=Path,
                        default=Path("benchmarks/out/prompt_following.json"))
    args = parser.parse_args()

    from tqdm import tqdm

    from latentaudio.audio import SAMPLE_RATE, load_audio
    from latentaudio.errors import SilentOutputError
    from latentaudio.evaluation.music import (
        beat_tempo,
        estimate_key,
        estimate_tempo,
        key_score,
        tempo_accuracy,
    )
    from latentaudio.generation import load_pipeline, model_identity
    from latentaudio.theory import Key

    root, by_class, classes = eligible_classes(args.data)
    if args.categories:
        wanted = {c.strip() for c in args.categories.split(",")}
        if unknown := wanted - set(classes):
            parser.error(f"not eligible categories: {sorted(unknown)}; eligible: {classes}")
        classes = [c for c in classes if c in wanted]
    from latentaudio.evaluation.clap import DEFAULT_CLAP, LatentAudioClap
    from latentaudio.evaluation.fad import frechet_distance, gaussian, load_statistics
    from latentaudio.evaluation.report import Scorer

    scorer = Scorer(clap=LatentAudioClap.from_pretrained(DEFAULT_CLAP))
    embedder = scorer.aisfx

    centroids = class_centroids(embedder, args.data, root, by_class, classes, args.json.parent)

    embeddings: dict[str, dict[str, list]] = {"generated": {}, "valid": {}}

    def classify(audio: np.ndarray, keep: str | None = None) -> str:
        vectors = scorer.embed(audio)
        if keep:
            for name, vector in vectors.items():
                embeddings[keep].setdefault(name, []).append(vector)
        return classes[int(np.argmax(centroids @ vectors["aisfx"]))]

    pipe, folder = load_pipeline(args.checkpoint)
    from latentaudio.adapters import apply_adapters, resolve

    adapters = apply_adapters(pipe, resolve(args.lora))
    prompts = [clip for name in classes for clip in by_class[name]["test"][: args.per_class]]
    # Seeds are positions in the whole list, so a --kind run repeats those prompts' clips.
    numbered = [(index, clip) for index, clip in enumerate(prompts)
                if args.kind is None or clip.kind == args.kind]
    rows, started = [], time.perf_counter()
    for index, clip in tqdm(numbered, desc="generate + score"):
        seconds = float(np.clip(clip.seconds, 2.0, 10.0))
        # As the CLI: silent draws are made again from the next seeds; a prompt the model
        # still answers with silence is scored as what it made, not a crash of the benchmark.
        kwargs = dict(seconds=seconds, seeds=[index], num_inference_steps=args.steps,
                      guidance_scale=args.cfg, tempo_guidance_scale=args.tempo_cfg,
                      key_guidance_scale=args.key_cfg, progress=False, decoder=args.decoder)
        try:
            out = pipe(clip.caption, **kwargs)
        except SilentOutputError:
            out = pipe(clip.caption, allow_silence=True, **kwargs)
        generated = out.audios[0]
        real = load_audio(clip.resolve(root), duration_seconds=seconds)
        # The real clip through the model's own codec (encode, decode with the same decoder):
        # the most a generator that makes perfect latents could score.
        with torch.no_grad():
            coded = pipe.codec.reconstruct(torch.from_numpy(real)[None], args.decoder)[0]
        coded = coded.float().numpy()
        row = {"caption": clip.caption, "category": clip.category, "kind": clip.kind,
               "generated_class": classify(generated, "generated"),
               "real_class": classify(real), "codec_class": classify(coded)}
        scored = (("generated", generated), ("real", real), ("codec", coded))
        if clip.bpm:
            for which, audio in scored:
                estimate, grid = beat_tempo(audio, SAMPLE_RATE), estimate_tempo(audio, SAMPLE_RATE)
                row[f"{which}_bpm"], row[f"{which}_bpm_grid"] = estimate, grid
                row[f"{which}_tempo_acc1"], row[f"{which}_tempo_acc2"] = tempo_accuracy(
                    estimate, float(clip.bpm))
                row[f"{which}_tempo_grid_acc1"], row[f"{which}_tempo_grid_acc2"] = (
                    tempo_accuracy(grid, float(clip.bpm)))
        if clip.key:
            target = Key.parse(clip.key)
            for which, audio in scored:
                estimate = estimate_key(audio, SAMPLE_RATE)
                row[f"{which}_key"] = estimate.name
                row[f"{which}_key_exact"] = estimate == target
                row[f"{which}_key_mirex"] = key_score(estimate, target)
        rows.append(row)
    elapsed = time.perf_counter() - started
    # Real-vs-real at this set size: valid-split clips, per class as the prompts were chosen.
    for clip in [clip for name in classes for clip in by_class[name]["valid"][: args.per_class]
                 if args.kind is None or clip.kind == args.kind]:
        seconds = float(np.clip(clip.seconds, 2.0, 10.0))
        classify(load_audio(clip.resolve(root), duration_seconds=seconds), "valid")
    reference, about = load_statistics()
    fads = {}
    for name, (mean_ref, cov_ref) in reference.items():
        for which, sets in embeddings.items():
            if len(sets.get(name, [])) >= 2:
                fads[f"fad_{name}_{which}"] = frechet_distance(
                    *gaussian(np.stack(sets[name])), mean_ref, cov_ref)
        if f"fad_{name}_valid" in fads:
            fads[f"fad_{name}_ratio"] = fads[f"fad_{name}_generated"] / fads[f"fad_{name}_valid"]

    def mean(values) -> float:
        values = [float(v) for v in values]
        return float(np.mean(values)) if values else float("nan")

    shift = max(1, args.per_class)  # compare each clip with a prompt of another class
    summary = {
        "prompts": len(rows), "classes": len(classes), "chance": 1 / len(classes),
        "category_accuracy_generated": mean(r["generated_class"] == r["category"] for r in rows),
        "category_accuracy_real": mean(r["real_class"] == r["category"] for r in rows),
        "category_accuracy_codec": mean(r["codec_class"] == r["category"] for r in rows),
        "category_accuracy_mismatched_prompts": mean(
            r["generated_class"] == rows[(i + shift) % len(rows)]["category"]
            for i, r in enumerate(rows)),
    }
    for kind in ("music", "sfx"):
        part = [r for r in rows if r["kind"] == kind]
        summary[f"category_accuracy_generated_{kind}"] = mean(
            r["generated_class"] == r["category"] for r in part)
        for which in ("real", "codec"):
            summary[f"category_accuracy_{which}_{kind}"] = mean(
                r[f"{which}_class"] == r["category"] for r in part)
    for which in ("generated", "real", "codec"):
        for metric in ("tempo_acc1", "tempo_acc2", "tempo_grid_acc1", "tempo_grid_acc2",
                       "key_exact", "key_mirex"):
            summary[f"{which}_{metric}"] = mean(r[f"{which}_{metric}"] for r in rows
                                                if f"{which}_{metric}" in r)
    summary["seconds_per_prompt"] = elapsed / max(1, len(rows))
    summary |= fads | {"fad_reference": about.get("corpus"),
                       "valid_clips": len(embeddings["valid"].get("aisfx", []))}

    print(f"{len(rows)} prompts over {len(classes)} classes (chance {1 / len(classes):.3f}); "
          f"model {folder}, decoder {pipe.codec.check_decoder(args.decoder)}")
    print(f"{'':28}{'generated':>10}{'real':>8}{'codec':>8}   (codec: real clips encoded and "
          "decoded, the generator's ceiling)")
    for label, key in (("category accuracy", "category_accuracy"),
                       ("  music", "category_accuracy"), ("  sfx", "category_accuracy")):
        suffix = "" if label == "category accuracy" else "_" + label.strip()
        print(f"{label:28}{summary[f'{key}_generated{suffix}']:>10.3f}"
              f"{summary[f'{key}_real{suffix}']:>8.3f}{summary[f'{key}_codec{suffix}']:>8.3f}")
    print(f"{'category, mismatched prompts':28}"
          f"{summary['category_accuracy_mismatched_prompts']:>10.3f}")
    for metric in ("tempo_acc1", "tempo_acc2", "tempo_grid_acc1", "tempo_grid_acc2",
                   "key_exact", "key_mirex"):
        print(f"{metric:28}{summary[f'generated_{metric}']:>10.3f}"
              f"{summary[f'real_{metric}']:>8.3f}{summary[f'codec_{metric}']:>8.3f}")
    for name in reference:
        if f"fad_{name}_ratio" in fads:
            print(f"FAD {name:22}{fads[f'fad_{name}_generated']:>10.3f}"
                  f"{fads[f'fad_{name}_valid']:>8.3f}  (ratio {fads[f'fad_{name}_ratio']:.2f}; "
                  f"real = {summary['valid_clips']} valid-split clips; against the "
                  f"{about.get('corpus')} test statistics)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
        "model": model_identity(folder), "steps": args.steps, "cfg": args.cfg,
        "tempo_cfg": args.tempo_cfg, "key_cfg": args.key_cfg, "lora": adapters,
        "decoder": pipe.codec.check_decoder(args.decoder),
        "summary": summary, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
