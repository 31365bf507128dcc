"""``latentaudio train tokens|assemble-ar``: the token-AR backend's codebooks and its assembly
(``train coarse|fine`` share the resumable loop in :mod:`latentaudio.cli.train`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentaudio.cli.common import positive_int
from latentaudio.errors import LatentAudioError


def tokens_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, nargs="+",
                        help="corpus folders or manifest.jsonl files (train split learns, the "
                        "rest measures)")
    parser.add_argument("--codec", type=Path, required=True,
                        help="model folder whose vae/ makes the latents")
    parser.add_argument("--out", type=Path, required=True, help="run folder (final/ is the model)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="latent cache to reuse (e.g. a diffusion run's latents-cache)")
    parser.add_argument("--stem", default=None, metavar="NAME",
                        help="learn on the clips' NAME stems instead of their mixes (e.g. "
                        "vocals: the songs source keeps each voice; clips without it are left "
                        "out), for a token stream of that part alone")
    parser.add_argument("--levels", type=positive_int, default=8,
                        help="residual quantisers (default: %(default)s)")
    parser.add_argument("--codebook-size", type=positive_int, default=1024,
                        help="codewords per level (default: %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=300,
                        help="EMA k-means steps (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)


def tokens(args: argparse.Namespace) -> None:
    from latentaudio.data.sources import load_clip_sets
    from latentaudio.train.tokens import train_tokens

    clips, root, report = load_clip_sets(args.data)
    print(f"data: {report}")
    if args.stem:
        clips = [stem for clip in clips if (stem := clip.stem(args.stem)) is not None]
        if not clips:
            raise LatentAudioError(f"no clip of {', '.join(map(str, args.data))} has a "
                                   f"'{args.stem}' stem (the songs source keeps 'vocals'; "
                                   "rebuild with 'latentaudio corpus build --sources songs')")
        print(f"learning on the '{args.stem}' stems of {len(clips)} clips")
    try:
        metrics = train_tokens(clips, root, args.codec, args.out, cache_dir=args.cache,
                               levels=args.levels, codebook_size=args.codebook_size,
                               steps=args.steps, seed=args.seed, progress=not args.quiet)
    except ValueError as error:
        sources = ", ".join(map(str, args.data))
        raise LatentAudioError(f"{sources}: {error}") from None
    errors = metrics.get("held_out_relative_mse", {})
    if errors:
        print("held-out error / latent variance by levels: " + ", ".join(
            f"{level}: {value:.3f}" for level, value in errors.items()))
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"codebooks in {args.out / 'final'}; export with 'latentaudio train export "
          f"{args.out} --fp32 --to DIR'")


def assemble_ar_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codec", type=Path, required=True,
                        help="folder with the exported vae/ and vocoder/ (and text_encoder/, "
                        "tokenizer/; else the installed MiniLM) the tokens were learned on")
    for name in ("tokens", "coarse", "fine"):
        parser.add_argument(f"--{name}", type=Path, required=True,
                            help=f"the '{name}' run folder (its final/) or exported folder")
    parser.add_argument("--vocal-tokens", type=Path, default=None, metavar="DIR",
                        help="the voice's codebooks, for a coarse model of two streams "
                        "('train coarse --vocal-tokens')")
    parser.add_argument("--to", type=Path, required=True,
                        help="the generator folder to write (e.g. checkpoints/latentaudio-ar)")
    parser.add_argument("--copy", action="store_true",
                        help="copy the codec and text encoder in (a standalone folder); by "
                        "default the folder refers to --codec's by a relative path, as the "
                        "shipped checkpoints do, so they are stored once")

