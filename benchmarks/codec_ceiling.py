"""How much of the prompt-following ceiling does the codec keep, and which part loses it?

    .venv/bin/python benchmarks/codec_ceiling.py --data CORPUS [--checkpoint DIR]
        [--vae FOLDER ...] [--json benchmarks/out/codec_ceiling.json]

The test clips ``prompt_following.py`` prompts with (``--per-class`` per category), scored by
its classifier (nearest aisfx class centroid) and key estimate, after each path audio can take
through the codec:

- ``real``: the clip itself (the ceiling);
- ``mel + DECODER``: its true log-mel turned back into audio by each decoder (what the mel
  front end and the decoder keep);
- ``VAE + DECODER``: its log-mel through a VAE (encode to the posterior mean, decode), then the
  decoder: what generation can at best give, since the denoiser makes latents. ``--vae``
  compares other VAEs (e.g. a ``train vae --decoder-only`` run's ``ema/``) on the same clips.

``chroma`` is the mean frame-wise cosine of each path's CQT chroma with the real clip's, over
the clips with a key: a continuous figure for what the key estimate scores 0 or 1.

Session 12 found the VAE, not the mel or the decoder, loses most of the music class and the key.
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
from prompt_following import class_centroids, eligible_classes
from tqdm import tqdm

from latentaudio.audio import SAMPLE_RATE, load_audio
from latentaudio.codec import DEFAULT_MODEL, LatentCodec, load_component
from latentaudio.evaluation.music import chroma_similarity, estimate_key
from latentaudio.theory import Key
from latentaudio.vae import MelVAE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_MODEL,
                        help="model folder: its vae/ and vocoder/ (default: the shipped model)")
    parser.add_argument("--vae", type=Path, action="append", default=[], metavar="FOLDER",
                        help="another VAE to score beside the checkpoint's (repeatable)")
    parser.add_argument("--per-class", type=int, default=2)
    parser.add_argument("--decoders", default="hybrid,vocoder,griffin-lim",
                        help="decoders after the true mel (default: %(default)s); the VAE paths "
                        "use the checkpoint's default decoder")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/codec_ceiling.json"))
    args = parser.parse_args()

    from latentaudio.evaluation.clap import DEFAULT_CLAP, LatentAudioClap
    from latentaudio.evaluation.report import Scorer

    root, by_class, classes = eligible_classes(args.data)
    embedder = Scorer(clap=LatentAudioClap.from_pretrained(DEFAULT_CLAP)).aisfx
    centroids = class_centroids(embedder, args.data, root, by_class, classes, args.json.parent)
    codec = LatentCodec.from_pretrained(args.checkpoint)
    vaes = {"VAE": codec.vae} | {f"VAE {folder}": load_component(MelVAE, folder)
                                 for folder in args.vae}
    decoders = [name.strip() for name in args.decoders.split(",") if name.strip()]
    for name in decoders:
        codec.check_decoder(name)

    prompts = [clip for name in classes for clip in by_class[name]["test"][: args.per_class]]
    scores: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    started = time.perf_counter()
    for clip in tqdm(prompts, desc="clips"):
        seconds = float(np.clip(clip.seconds, 2.0, 10.0))
        real = load_audio(clip.resolve(root), duration_seconds=seconds)
        wav = torch.from_numpy(real)[None]
        samples = wav.shape[-1]
        with torch.no_grad():
            log_mel = codec.mel(wav)
            paths = {"real": real}
            for name in decoders:
                paths[f"mel + {name}"] = codec.vocode(log_mel, samples, name)[0].numpy()
            for label, vae in vaes.items():
                posterior = vae.encode(log_mel.to(vae.dtype))
                decoded = vae.decode(posterior.mean, frames=log_mel.shape[-1]).float()
                paths[f"{label} + {codec.decoder}"] = codec.vocode(decoded, samples)[0].numpy()
        for path, audio in paths.items():
            guess = classes[int(np.argmax(centroids @ embedder.embed(audio)))]
            scores[path][clip.kind].append(guess == clip.category)
            if clip.key:
                scores[path]["key"].append(estimate_key(audio, SAMPLE_RATE) == Key.parse(clip.key))
                scores[path]["chroma"].append(chroma_similarity(audio, real, SAMPLE_RATE))

    def mean(values) -> float:
        return float(np.mean(values)) if values else float("nan")

    summary = {path: {"class": mean(s["music"] + s["sfx"]), "class_music": mean(s["music"]),
                      "class_sfx": mean(s["sfx"]), "key_exact": mean(s["key"]),
                      "chroma": mean(s["chroma"])}
               for path, s in scores.items()}
    print(f"{len(prompts)} test clips over {len(classes)} classes; codec {args.checkpoint}, "
          f"{time.perf_counter() - started:.0f} s")
    print(f"{'path':48}{'class':>8}{'music':>8}{'sfx':>8}{'key':>8}{'chroma':>8}")
    for path, figures in summary.items():
        print(f"{path:48}{figures['class']:>8.3f}{figures['class_music']:>8.3f}"
              f"{figures['class_sfx']:>8.3f}{figures['key_exact']:>8.3f}{figures['chroma']:>8.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
        "checkpoint": str(args.checkpoint), "clips": len(prompts), "summary": summary},
        indent=2) + "\n")


if __name__ == "__main__":
    main()
