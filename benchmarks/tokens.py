"""Codec tokens, measured: bitrate and reconstruction quality at 1, 2, 4 and all RVQ levels,
against the continuous latents they quantise.

    .venv/bin/python benchmarks/tokens.py --data corpus/full --tokens RUN_OR_FOLDER
        [--checkpoint DIR] [--clips 25] [--json benchmarks/out/tokens.json]

On test-split clips (``--clips`` music and as many sound effects, at most 10 s each; the same
choice as benchmarks/reconstruction.py), each clip is encoded to latents, quantised with the first
``n`` levels, dequantised, and decoded through the VAE decoder and the vocoder; the continuous row
decodes the latents as they are. Metrics as in the latent-space benchmark: multi-resolution STFT
distance and log-mel L1 to the original (lower is better), aisfx cosine (higher is better), plus
the latents' relative squared error.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import auraloss
import numpy as np
import torch
from reconstruction import pick_clips  # benchmarks/ is the script's folder
from tqdm import tqdm

from latentaudio.audio import load_audio
from latentaudio.codec import DEFAULT_MODEL, LatentCodec, component_folder, load_component
from latentaudio.conditioning.aisfx import AisfxEmbedder, cosine
from latentaudio.evaluation.spectral import log_mel_l1
from latentaudio.tokens import ResidualVQ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tokens", type=Path, required=True,
                        help="a 'train tokens' run folder or an exported codebook folder")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--clips", type=int, default=25, help="per kind (music, sfx)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/tokens.json"))
    args = parser.parse_args()

    codec = LatentCodec.from_pretrained(args.checkpoint)
    rvq = load_component(ResidualVQ, component_folder(args.tokens)).float()
    levels = sorted({1, 2, 4, rvq.config.levels})
    settings = ["continuous", *[f"{n} levels" for n in levels]]
    clips, root = pick_clips(args.data, args.clips)
    embedder = AisfxEmbedder()
    stft = auraloss.freq.MultiResolutionSTFTLoss()
    rows = {s: {"mr_stft": [], "log_mel_l1": [], "aisfx_cosine": [], "latent_rel_mse": []}
            for s in settings}
    for clip in tqdm(clips, desc="clips"):
        audio = torch.from_numpy(load_audio(clip.resolve(root), duration_seconds=10.0))[None]
        samples = audio.shape[-1]
        reference = embedder.embed(audio[0].numpy())
        with torch.no_grad():
            latents = codec.encode(audio)
            codes = rvq.encode(latents)
            for setting in settings:
                if setting == "continuous":
                    approx = latents
                else:
                    approx = rvq.decode(codes[:, : int(setting.split()[0])])
                output = codec.decode(approx, samples)
                row = rows[setting]
                row["latent_rel_mse"].append(float((approx - latents).pow(2).mean()
                                                   / latents.var()))
                row["mr_stft"].append(float(stft(output.reshape(-1, 1, samples),
                                                 audio.reshape(-1, 1, samples))))
                row["log_mel_l1"].append(log_mel_l1(audio, output, codec.mel))
                row["aisfx_cosine"].append(cosine(reference, embedder.embed(output[0].numpy())))
    results = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
               "clips": len(clips), "codebook_size": rvq.config.codebook_size, "rows": {}}
    print(f"{'setting':>12} {'kbit/s':>7} {'tokens/s':>8} {'latent err':>10} {'MR-STFT':>8} "
          f"{'log-mel L1':>10} {'aisfx cos':>9}")
    for setting in settings:
        n = None if setting == "continuous" else int(setting.split()[0])
        summary = {metric: float(np.mean(values)) for metric, values in rows[setting].items()}
        summary["kbps"] = None if n is None else rvq.bitrate(n) / 1000
        summary["tokens_per_second"] = None if n is None else n * rvq.config.frame_rate
        results["rows"][setting] = summary
        rate = "-" if n is None else f"{summary['kbps']:.2f}"
        tokens = "-" if n is None else f"{summary['tokens_per_second']:.0f}"
        print(f"{setting:>12} {rate:>7} {tokens:>8} {summary['latent_rel_mse']:>10.3f} "
              f"{summary['mr_stft']:>8.3f} {summary['log_mel_l1']:>10.3f} "
              f"{summary['aisfx_cosine']:>9.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
