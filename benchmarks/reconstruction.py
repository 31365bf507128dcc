"""How faithfully the codec reconstructs real test audio, and how fast.

    .venv/bin/python benchmarks/reconstruction.py --data corpus/full [--checkpoint DIR]
        [--clips 60] [--json benchmarks/out/reconstruction.json]

On test-split clips (``--clips`` music and as many sound effects, at most 10 s each), for
(a) Griffin-Lim (64 iterations) on the true mel, (b) the vocoder on the true mel and (c) the full
VAE round trip (encode -> decode -> vocode), it reports the multi-resolution STFT distance
(auraloss, lower is better), the log-mel L1 (lower is better) and the cosine similarity of aisfx
embeddings of original and reconstruction (higher is better); then the time per stage for 10 s
of stereo in fp32 and with bf16 weights, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import auraloss
import numpy as np
import torch
from tqdm import tqdm

from latentaudio.audio import load_audio
from latentaudio.codec import DEFAULT_MODEL, LatentCodec
from latentaudio.data.sources import load_clips
from latentaudio.evaluation.aisfx import AisfxEmbedder, cosine
from latentaudio.evaluation.spectral import log_mel_l1
from latentaudio.mel import griffin_lim

METHODS = ("griffin-lim", "vocoder", "vae round trip")


def pick_clips(data: Path, per_kind: int):
    clips, root, _ = load_clips(data)
    test = [clip for clip in clips if clip.split == "test"]
    rng = np.random.default_rng(0)
    chosen = []
    for kind in ("music", "sfx"):
        of_kind = [clip for clip in test if clip.kind == kind]
        order = rng.permutation(len(of_kind))[:per_kind]
        chosen += [of_kind[i] for i in sorted(order)]
    return chosen, root


def quality(codec: LatentCodec, clips, root, embedder: AisfxEmbedder) -> dict:
    stft = auraloss.freq.MultiResolutionSTFTLoss()
    rows = {kind: {m: {"mr_stft": [], "log_mel_l1": [], "aisfx_cosine": []} for m in METHODS}
            for kind in ("music", "sfx")}
    for clip in tqdm(clips, desc="clips"):
        audio = torch.from_numpy(load_audio(clip.resolve(root), duration_seconds=10.0))[None]
        samples = audio.shape[-1]
        with torch.no_grad():
            log_mel = codec.mel(audio)
            outputs = {"griffin-lim": griffin_lim(log_mel, codec.mel, n_iter=64, length=samples),
                       "vocoder": codec.vocode(log_mel, samples),
                       "vae round trip": codec.reconstruct(audio)}
        reference = embedder.embed(audio[0].numpy())
        for method, output in outputs.items():
            row = rows[clip.kind][method]
            row["mr_stft"].append(float(stft(output.reshape(-1, 1, samples),
                                             audio.reshape(-1, 1, samples))))
            row["log_mel_l1"].append(log_mel_l1(audio, output, codec.mel))
            row["aisfx_cosine"].append(cosine(reference, embedder.embed(output[0].numpy())))
    return {kind: {method: {metric: float(np.mean(values)) for metric, values in row.items()}
                   | {"clips": len(row["mr_stft"])} for method, row in methods.items()}
            for kind, methods in rows.items()}


def best_time(function, repeats: int = 3) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def stage_times(codec: LatentCodec, wav: torch.Tensor, dtype: torch.dtype) -> dict:
    """Best-of-3 seconds per stage with the models' weights in ``dtype``."""
    samples = wav.shape[-1]
    vae = codec.vae.bfloat16() if dtype == torch.bfloat16 else codec.vae.float()
    vocoder = codec.vocoder.bfloat16() if dtype == torch.bfloat16 else codec.vocoder.float()
    with torch.no_grad():
        log_mel = codec.mel(wav)
        model_mel = log_mel.to(dtype)
        latents = vae.encode(model_mel).mean
        return {
            "mel_analysis_s": best_time(lambda: codec.mel(wav)),
            "vae_encode_s": best_time(lambda: vae.encode(model_mel)),
            "vae_decode_s": best_time(lambda: vae.decode(latents, frames=log_mel.shape[-1])),
            "vocoder_s": best_time(lambda: vocoder(model_mel, length=samples)),
        }


def speed(codec: LatentCodec) -> dict:
    wav = torch.randn(1, 2, 10 * 44_100) * 0.1
    figures = {"fp32": stage_times(codec, wav, torch.float32),
               "bf16": stage_times(codec, wav, torch.bfloat16)}
    codec.vae.float()
    codec.vocoder.float()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="corpus folder or manifest")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--clips", type=int, default=60, help="test clips per kind")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/reconstruction.json"))
    args = parser.parse_args()

    torch.manual_seed(0)
    codec = LatentCodec.from_pretrained(args.checkpoint)
    clips, root = pick_clips(args.data, args.clips)
    results = {"quality": quality(codec, clips, root, AisfxEmbedder()),
               "speed_10s_stereo": speed(codec),
               "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "machine": f"{platform.machine()}, torch {torch.__version__}, "
                          f"{torch.get_num_threads()} threads",
               "checkpoint": str(args.checkpoint)}

    print(f"\n{'kind':<7}{'method':<16}{'clips':>6}{'MR-STFT':>10}{'log-mel L1':>12}"
          f"{'aisfx cos':>11}")
    for kind, methods in results["quality"].items():
        for method, row in methods.items():
            print(f"{kind:<7}{method:<16}{row['clips']:>6}{row['mr_stft']:>10.3f}"
                  f"{row['log_mel_l1']:>12.3f}{row['aisfx_cosine']:>11.3f}")
        gl, voc, vae = (methods[m] for m in METHODS)
        print(f"{'':<7}vocoder / Griffin-Lim MR-STFT: {voc['mr_stft'] / gl['mr_stft']:.2f} "
              f"(target <= 0.70); VAE / vocoder aisfx cosine: "
              f"{vae['aisfx_cosine'] / voc['aisfx_cosine']:.3f} (target >= 0.90)")
    print(f"\n{'10 s stereo':<14}" + "".join(f"{k:>16}" for k in
                                           results["speed_10s_stereo"]["fp32"]))
    for precision, row in results["speed_10s_stereo"].items():
        print(f"{precision:<14}" + "".join(f"{v:>16.3f}" for v in row.values()))
    print(f"peak memory {results['peak_memory_mb']:.0f} MB; {results['machine']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
