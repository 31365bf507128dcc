"""Does a LoRA adapter trained on 20 clips of a sound family the corpus lacks move the model's
outputs toward that family, within #22's 15 minutes on 2 cores?

    .venv/bin/python benchmarks/lora.py [--steps 600] [--rank 16] [--work /tmp/lora-bench]
        [--json benchmarks/out/lora.json]

The family: steel drums (General MIDI program 114, FluidR3), which no composer of the corpus
uses. 40 clips of 4 s (random pentatonic phrases in random keys and tempi) are rendered; 20
train the adapter (`latentaudio train lora`, timed), 20 are held back. For 8 family prompts x
2 seeds it generates 6 s clips with the base model and with the adapter at strength 1, then
prints, for both:

- the **aisfx centroid distance**: between the mean aisfx embedding of the outputs and that of
  the 20 held-back clips (lower: closer to the family);
- the **CLAP audio similarity**: mean cosine of each output's latentaudio-CLAP embedding to the
  held-back clips' CLAP centroid, and the CLAP text score of the prompt.

Out-of-family drift (class accuracy of `benchmarks/prompt_following.py` with `--lora`) is run
apart; see benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROGRAM = 114  # steel drums
FAMILY_PROMPTS = [
    "a steel drum melody", "a cheerful steel drum tune", "steel pan playing a calypso phrase",
    "a slow steel drum melody", "a bright steel drum riff", "caribbean steel drums",
    "a steel pan solo", "a steel drum playing a simple tune",
]
PENTATONIC = (0, 2, 4, 7, 9)


def render_family(folder: Path, count: int, seed: int) -> list[Path]:
    from latentaudio.audio import save_audio
    from latentaudio.data.fluidsynth import NoteEvent, render_notes

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        tonic = int(rng.integers(55, 67))
        beat = 60.0 / float(rng.uniform(90, 140))
        notes, time_now = [], 0.0
        while time_now < 3.5:
            length = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
            degree = int(rng.integers(0, 8))
            pitch = tonic + PENTATONIC[degree % 5] + 12 * (degree // 5)
            notes.append(NoteEvent(time_now, length * 0.9, pitch, int(rng.integers(80, 120))))
            time_now += length
        audio = render_notes(notes, {0: PROGRAM}, 4.0)
        audio = audio / max(1e-6, float(np.abs(audio).max())) * 0.7
        path = save_audio(folder / f"steel_drums_{index:02d}.wav", audio)
        (folder / f"steel_drums_{index:02d}.txt").write_text("a steel drum melody")
        paths.append(path)
    return paths


def main() -> None:
    import torch

    from latentaudio.adapters import AdapterSpec, apply_adapters
    from latentaudio.audio import load_audio
    from latentaudio.evaluation.clap import DEFAULT_CLAP, LatentAudioClap
    from latentaudio.evaluation.report import Scorer
    from latentaudio.generation import load_pipeline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--targets", default="cross")
    parser.add_argument("--prior", type=int, default=32)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lora-bench"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    train_dir, held_dir = args.work / "train", args.work / "held-back"
    render_family(train_dir, 20, seed=1)
    held = render_family(held_dir, 20, seed=2)
    adapter = args.work / f"steel-drums-lora-{args.targets}-prior{args.prior}"
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "latentaudio", "train", "lora", "--data",
                    str(train_dir), "--out", str(adapter), "--steps", str(args.steps),
                    "--rank", str(args.rank), "--targets", args.targets, "--prior",
                    str(args.prior), "-q"], check=True)
    train_seconds = time.perf_counter() - began
    size_mb = (adapter / "pytorch_lora_weights.safetensors").stat().st_size / 1e6

    clap = LatentAudioClap.from_pretrained(DEFAULT_CLAP)
    scorer = Scorer(clap=clap)
    family = [scorer.embed(load_audio(p)) for p in held]
    centroid = {name: np.mean([f[name] for f in family], axis=0) for name in ("aisfx", "clap")}
    clap_centroid = centroid["clap"] / np.linalg.norm(centroid["clap"])

    pipe, _ = load_pipeline()
    results = {}
    for label, adapters in (("base", []), ("adapter", [AdapterSpec(adapter, 1.0)])):
        apply_adapters(pipe, adapters)
        embeddings, text_scores = [], []
        for index, prompt in enumerate(FAMILY_PROMPTS):
            for seed in (index, index + 100):
                audio = pipe(prompt, seconds=6.0, seeds=[seed], progress=False,
                             allow_silence=True).audios[0]
                vectors = scorer.embed(audio)
                embeddings.append(vectors)
                text_scores.append(float(vectors["clap"] @ scorer.text_embedding(prompt)))
        mean_aisfx = np.mean([e["aisfx"] for e in embeddings], axis=0)
        results[label] = {
            "aisfx_centroid_distance": float(np.linalg.norm(mean_aisfx - centroid["aisfx"])),
            "clap_audio_similarity": float(np.mean([e["clap"] @ clap_centroid
                                                    for e in embeddings])),
            "clap_text_score": float(np.mean(text_scores))}
    print(f"\nadapter: {args.steps} steps, rank {args.rank}, {size_mb:.1f} MB, trained in "
          f"{train_seconds / 60:.1f} min ({torch.get_num_threads()} threads)")
    print(f"{'':10s} {'aisfx dist':>11s} {'CLAP audio':>11s} {'CLAP text':>10s}")
    for label, row in results.items():
        print(f"{label:10s} {row['aisfx_centroid_distance']:11.4f} "
              f"{row['clap_audio_similarity']:11.4f} {row['clap_text_score']:10.4f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "steps": args.steps, "rank": args.rank, "targets": args.targets,
            "prior": args.prior, "adapter_mb": size_mb,
            "train_minutes": train_seconds / 60, "machine": platform.processor(),
            "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
