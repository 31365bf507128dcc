"""Training runs, as the ``latentaudio train`` actions start them: the model and task for each
kind, warm starts from exported weights (``--init``), exporting a run's EMA weights, and
assembling the generator folders. The command line only parses arguments into
:class:`RunOptions` and calls these.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from latentaudio.errors import LatentAudioError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
LYRIC_IDS = 192  # the lyric track of a 10 s crop: about 40 words of 4 phonemes, and markers
HELD_OUT_CLIPS = 64  # valid-split clips in a denoiser run's held-out loss


@dataclass
class RunOptions:
    """What a training action was asked to do (the command line's options, by name)."""

    data: list[Path] = field(default_factory=list)
    out: Path | None = None
    config: str = "small"
    steps: int = 20_000
    batch_size: int = 16
    seconds: float = 10.0
    lr: float = 3e-4
    checkpoint_minutes: float = 5.0
    precision: str = "auto"  # "auto" (latentaudio.precision's probe), "bf16", "no", "fp16"
    workers: int = 0
    seed: int = 0
    init: Path | None = None
    grow_layers: int | None = None  # a deeper DiT than --init's (its blocks spread, new = identity)
    decoder_only: bool = False  # a VAE run that trains the decoder of --init, its encoder frozen
    quiet: bool = False
    codec: Path | None = None
    tokens: Path | None = None
    vocal_tokens: Path | None = None  # the voice's codebooks: a coarse model of two streams
    vocal_levels: int | None = None  # the voice levels modelled (default: --init's, else 4)
    latents: Path | None = None
    coarse: Path | None = None
    fine: Path | None = None
    denoiser: Path | str | None = None
    text_encoder: str = "minilm"
    adversarial: bool = False
    mel_weight: float | None = None
    chroma_weight: float = 0.0
    validation_clips: int = 6
    run_dir: Path | None = None
    to: Path | None = None
    fp32: bool = False
    calibrate: Path | None = None
    copy: bool = False

    @classmethod
    def from_args(cls, args) -> RunOptions:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def model_config(kind: str, name: str) -> dict:
    path = Path(name) if name.endswith(".json") else CONFIGS / kind / f"{name}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (CONFIGS / kind).glob("*.json")))
        raise LatentAudioError(f"no {kind} config {name!r}: use one of {known} or a JSON file")
    return json.loads(path.read_text())



def init_config(folder: Path, config: dict) -> dict:
    """The architecture of the weights we start from wins over --config."""
    path = folder / "config.json"
    if not path.is_file():
        raise LatentAudioError(f"--init {folder}: no config.json there")
    saved = json.loads(path.read_text())
    return {k: v for k, v in saved.items() if not k.startswith("_")} | {
        k: v for k, v in config.items() if k not in saved}



def load_init(model, folder: Path, grow_layers: int | None = None) -> None:
    """Load ``folder``'s weights into ``model``. ``grow_layers``: ``model`` is a DiT deeper than
    the saved one; the saved blocks are spread over its depth and the others start as identity
    (:func:`~latentaudio.denoisers.dit.deepen_state`), so it starts as the saved model's
    function."""
    import torch
    from safetensors.torch import load_file

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise LatentAudioError(f"--init {folder}: no safetensors weights there")
    state = {k: v.to(torch.float32) for f in files for k, v in load_file(str(f)).items()}
    fresh: list[int] = []
    added: tuple[str, ...] = ()  # the names of the blocks a deepened DiT adds
    if grow_layers is not None:
        from latentaudio.denoisers.dit import BLOCKS, deepen_state

        saved = json.loads((folder / "config.json").read_text())["layers"]
        state, fresh = deepen_state(state, saved, grow_layers)
        added = tuple(f"{BLOCKS}{index}." for index in fresh)
        print(f"DiT deepened from {saved} to {grow_layers} blocks; new blocks {fresh} start "
              "as identity")
    if hasattr(model, "adapt_state"):  # e.g. a coarse model with fewer voice levels
        state = model.adapt_state(state)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # Conditioning paths added since those weights were trained start at zero (they add
    # nothing until trained), so a denoiser can learn melody or style on top of its old self.
    new = [name for name in missing
           if name.startswith(("reference_embedder.", "music.", "vocal_", "sung_"))]
    if new:
        print(f"new conditioning inputs start from zero ({len(new)} tensors)")
    # Blocks a deepened DiT adds keep their random start, with zeroed output projections.
    missing = [name for name in missing if name not in new and not name.startswith(added)]
    if fresh:
        model.make_identity(fresh)
    if missing or unexpected:
        raise LatentAudioError(f"--init {folder} does not fit this model ({len(missing)} "
                               f"missing, {len(unexpected)} unexpected tensors)")
    print(f"starting from the weights in {folder}")



def mixed_precision(asked: str) -> str:
    """``auto`` -> ``bf16`` where this machine runs bf16 matmuls faster, else ``no``."""
    if asked != "auto":
        return asked
    from latentaudio.precision import choose

    chosen = "bf16" if choose() == "bf16" else "no"
    print(f"precision: {chosen} (this machine's probe; --precision to choose)")
    return chosen


def run(options: RunOptions, kind: str) -> Path:
    from latentaudio.data.dataset import ClipDataset
    from latentaudio.data.sources import load_clip_sets
    from latentaudio.mel import MelSpectrogram
    from latentaudio.train.loop import TrainConfig, train
    from latentaudio.train.tasks import DiffusionTask, VAETask
    from latentaudio.vae import MelVAE

    clips, root, report = load_clip_sets(options.data)
    train_clips = [clip for clip in clips if clip.split == "train"]
    print(f"data: {report}; training on {len(train_clips)} train-split clips")
    config = model_config(kind, options.config)
    mel = MelSpectrogram()
    features, gain, extras, lyric_ids, sung = None, (-12.0, 0.0), {}, 0, False
    if options.init is not None:
        config = init_config(options.init, config)
    if options.grow_layers is not None:
        if kind != "dit" or options.init is None:
            raise LatentAudioError("--grow-layers deepens a DiT: use it with --denoiser dit and "
                                   "--init FOLDER")
        if options.grow_layers < config["layers"]:
            raise LatentAudioError(f"--grow-layers {options.grow_layers} is fewer than the "
                                   f"{config['layers']} blocks of {options.init}")
        config["layers"] = options.grow_layers
    if options.decoder_only and (kind != "vae" or options.init is None):
        raise LatentAudioError("--decoder-only trains a VAE's decoder on the latents of a trained "
                               "encoder: use it with 'train vae --init FOLDER'")
    if kind == "vae":
        from latentaudio.vae.discriminator import MelDiscriminator

        task = VAETask(MelVAE(**config), mel, decoder_only=options.decoder_only,
                       held_out=held_out_crops(clips, root, options, None),
                       discriminator=MelDiscriminator() if options.adversarial else None,
                       mel_weight=options.mel_weight or (45.0 if options.adversarial else 1.0),
                       chroma_weight=options.chroma_weight)
    elif kind == "vocoder":
        task = vocoder_task(options, config, clips, root, mel)
    elif kind in ("coarse", "fine"):
        from latentaudio.codec import component_folder, load_component
        from latentaudio.data.dataset import token_cache
        from latentaudio.tokens import ResidualVQ
        from latentaudio.tokens.fine import FineModel
        from latentaudio.tokens.lm import CoarseLM
        from latentaudio.train.tasks import CoarseTask, FineTask

        rvq = load_component(ResidualVQ, component_folder(options.tokens)).config
        # Whole-clip codec tokens (with voice: the band's and the voice's), computed once and
        # kept in the run folder.
        if kind == "coarse" and config.get("vocal_levels") and options.vocal_tokens is None:
            raise LatentAudioError(f"--init {options.init} has a voice stream: give its "
                                   "codebooks with --vocal-tokens")
        if kind == "coarse" and options.vocal_tokens is not None:
            from latentaudio.tokens.tracks import track_cache

            config["vocal_levels"] = options.vocal_levels or config.get("vocal_levels") or 4
            features = track_cache(options.codec, options.tokens, options.vocal_tokens,
                                   config["vocal_levels"], options.out / "tracks-cache")
        else:
            features = token_cache(options.codec, options.tokens, options.out / "tokens-cache",
                                   latents=options.latents)
        gain = None
        if kind == "coarse":
            from latentaudio.conditioning.text import build_text_encoder

            if config.get("music_grid"):  # the beat grid runs at the codes' frame rate
                config["frame_rate"] = features.frames_per_second
            model = CoarseLM(**config | {"codebook_size": rvq.codebook_size})
            lyric_ids, sung = LYRIC_IDS, bool(config.get("sung_frames"))
            task = CoarseTask(model, build_text_encoder(options.text_encoder), seed=options.seed,
                              held_out=held_out_crops(clips, root, options, features,
                                                      lyric_ids=lyric_ids, sung=sung))
        else:
            model = FineModel(**config | {"codebook_size": rvq.codebook_size,
                                          "levels": rvq.levels})
            task = FineTask(model, seed=options.seed)
    else:
        from latentaudio.conditioning.text import build_text_encoder
        from latentaudio.data.dataset import latent_cache, melody_cache, style_cache
        from latentaudio.denoisers import DENOISERS

        # Whole-clip latents (and reference features the model conditions on), computed once
        # and kept in the run folder.
        features, gain = latent_cache(options.codec, options.out / "latents-cache"), None
        if config.get("music_grid"):  # the beat grid runs at the codec's latent frame rate
            config["frame_rate"] = features.frames_per_second
        task = DiffusionTask(DENOISERS[kind](**config), build_text_encoder(options.text_encoder),
                             seed=options.seed,
                             held_out=held_out_crops(clips, root, options, features))
        if config.get("melody_bins"):
            samples_per_frame = round(mel.config.sample_rate / features.frames_per_second)
            extras["melody"] = melody_cache(samples_per_frame, options.out / "features-cache")
        if config.get("style_dim"):
            extras["style"] = style_cache(options.out / "features-cache")
    if options.init is not None and kind != "vocoder":
        load_init(task.model, options.init, options.grow_layers)
    dataset = ClipDataset(train_clips, root, seconds=options.seconds, gain_db=gain,
                          features=features, extras=extras, lyric_ids=lyric_ids, sung=sung,
                          seed=options.seed)
    train_config = TrainConfig(options.out, max_steps=options.steps,
                               batch_size=options.batch_size, learning_rate=options.lr,
                               checkpoint_minutes=options.checkpoint_minutes,
                               mixed_precision=mixed_precision(options.precision),
                               num_workers=options.workers,
                               seed=options.seed)
    try:
        final = train(task, dataset, train_config, progress=not options.quiet)
    except KeyboardInterrupt as stop:  # Ctrl-C or SIGTERM: saved, a stop and not an error
        raise KeyboardInterrupt(f"{stop}: rerun the same command to resume") from None
    print(f"trained {kind}: EMA weights in {final}")
    return final



def held_out_crops(clips, root, options: RunOptions, features, lyric_ids: int = 0,
                   sung: bool = False):
    """The held-out loss curve's data: fixed crops from the start of up to 64 valid clips (each
    once, however often --data lists it), taken evenly through the manifest so that every
    source has its share (with ``lyric_ids``, the valid songs first); None without valid
    clips."""
    from latentaudio.data.dataset import ClipDataset

    valid = list({clip.id: clip for clip in clips if clip.split == "valid"}.values())
    # A lyrics-reading model also gets the valid songs (up to half the set): they are few.
    songs = [clip for clip in valid if lyric_ids and clip.extra and clip.extra.get("words")]
    songs = songs[: HELD_OUT_CLIPS // 2]
    rest = [clip for clip in valid if clip not in songs]
    room = HELD_OUT_CLIPS - len(songs)
    valid = songs + rest[::max(1, len(rest) // room)][:room]
    return ClipDataset(valid, root, seconds=options.seconds, random_crop=False,
                       features=features, lyric_ids=lyric_ids, sung=sung) if valid else None


def vocoder_task(options: RunOptions, config: dict, clips, root, mel):
    """The vocoder, its discriminators (with --adversarial) and its validation clips."""
    import torch

    from latentaudio.audio import load_audio
    from latentaudio.train.tasks import VocoderTask
    from latentaudio.vocoder import Vocoder
    from latentaudio.vocoder.discriminators import VocoderDiscriminator

    model = Vocoder(**config)
    if options.init is not None:
        load_init(model, options.init)
        saved = json.loads((options.init / "config.json").read_text())
        start_phase = saved.get("phase", "absolute")
        if start_phase != model.config.phase:
            # The other parametrisation's phase outputs mean nothing here: start the phase half
            # of the head at zero (a steady sinusoid per bin) and keep the magnitude half.
            with torch.no_grad():
                model.head.weight[model.config.n_fft // 2 + 1:].zero_()
                model.head.bias[model.config.n_fft // 2 + 1:].zero_()
            print(f"phase head reset: {start_phase} -> {model.config.phase}")
    valid = [clip for clip in clips if clip.split == "valid"][:options.validation_clips]
    validation = [torch.from_numpy(load_audio(clip.resolve(root), duration_seconds=10.0))[None]
                  for clip in valid]
    mel_weight = options.mel_weight or (15.0 if options.adversarial else 1.0)
    discriminator = VocoderDiscriminator() if options.adversarial else None
    return VocoderTask(model, mel, mel_weight=mel_weight, discriminator=discriminator,
                       validation=validation)



def export(options: RunOptions) -> None:
    import torch

    from latentaudio.codec import component_folder, load_component
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    source = component_folder(options.run_dir)
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
    if options.calibrate is not None:
        if name != "MelVAE":
            raise LatentAudioError("--calibrate applies to a VAE only")
        from latentaudio.data.sources import load_clips
        from latentaudio.train.calibrate import latent_scaling_factor

        clips, root, _ = load_clips(options.calibrate)
        factor = latent_scaling_factor(model, [c for c in clips if c.split == "train"], root,
                                       progress=not options.quiet)
        model.register_to_config(scaling_factor=factor)
        print(f"scaling_factor = {factor:.4f} (latent std {1 / factor:.4f})")
    dtype = torch.float32 if options.fp32 else torch.float16
    if dtype == torch.float16:
        model.half()  # not .to(): diffusers warns about .to() casts meant for inference
    model.save_pretrained(options.to, safe_serialization=True)
    size = sum(p.stat().st_size for p in options.to.iterdir()) / 1e6
    print(f"exported {name} ({dtype}) to {options.to}: {size:.1f} MB")



def assemble(options: RunOptions) -> None:
    from transformers import AutoModel, AutoTokenizer

    from latentaudio.codec import component_folder, load_component
    from latentaudio.conditioning.text import minilm_path
    from latentaudio.denoisers import DENOISER_CLASSES
    from latentaudio.diffusion.flow import SCHEDULERS
    from latentaudio.folders import refer_to_shared, write_loader
    from latentaudio.pipeline import LatentAudioPipeline
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    source = component_folder(options.denoiser)
    name = json.loads((source / "config.json").read_text()).get("_class_name")
    if name not in DENOISER_CLASSES:
        raise LatentAudioError(f"{source} holds a {name}, not a denoiser "
                               f"({', '.join(DENOISER_CLASSES)})")
    text_path = minilm_path()
    pipe = LatentAudioPipeline(
        vae=load_component(MelVAE, options.codec / "vae"),
        vocoder=load_component(Vocoder, options.codec / "vocoder"),
        denoiser=load_component(DENOISER_CLASSES[name], source),
        text_encoder=AutoModel.from_pretrained(text_path, local_files_only=True),
        tokenizer=AutoTokenizer.from_pretrained(text_path, local_files_only=True),
        scheduler=SCHEDULERS["dpm++"]())
    for component in (pipe.vae, pipe.vocoder, pipe.denoiser, pipe.text_encoder):
        component.half()  # fp16 on disk; loaded back as fp32
    pipe.save_pretrained(options.to, safe_serialization=True)
    if not options.copy:  # MiniLM is read from its installed package: not stored again
        refer_to_shared(options.to, {"text": "minilm"})
    write_loader(options.to, LatentAudioPipeline)  # DiffusionPipeline.from_pretrained can load it
    size = sum(p.stat().st_size for p in options.to.rglob("*") if p.is_file()) / 1e6
    print(f"wrote the generator to {options.to}: {size:.1f} MB")



def assemble_ar(options: RunOptions) -> None:
    from latentaudio.codec import component_folder, load_component
    from latentaudio.folders import refer_to_shared, write_loader
    from latentaudio.generation import shared_components
    from latentaudio.tokens import ResidualVQ
    from latentaudio.tokens.fine import FineModel
    from latentaudio.tokens.lm import CoarseLM
    from latentaudio.tokens.pipeline import TokenPipeline

    coarse = component_folder(options.coarse)
    if (json.loads((coarse / "config.json").read_text()).get("vocal_levels")
            and options.vocal_tokens is None):
        raise LatentAudioError(f"{coarse} has a voice stream: give its codebooks with "
                               "--vocal-tokens")
    own_text = (options.codec / "text_encoder" / "config.json").is_file()
    shared = {"codec": str(options.codec.resolve()),  # else MiniLM, from the installed package
              "text": str(options.codec.resolve()) if own_text else "minilm"}
    pipe = TokenPipeline(
        tokens=load_component(ResidualVQ, component_folder(options.tokens)),
        coarse=load_component(CoarseLM, coarse),
        fine=load_component(FineModel, component_folder(options.fine)),
        vocal_tokens=(None if options.vocal_tokens is None else
                      load_component(ResidualVQ, component_folder(options.vocal_tokens))),
        **shared_components(shared))
    for component in (pipe.vae, pipe.vocoder, pipe.coarse, pipe.fine, pipe.text_encoder):
        component.half()  # fp16 on disk; the codebooks stay fp32 (1 MB)
    pipe.save_pretrained(options.to, safe_serialization=True)
    if not options.copy:  # keep only the token model's own parts; the rest is read from --codec
        refer_to_shared(options.to, shared)
    write_loader(options.to, TokenPipeline)  # DiffusionPipeline.from_pretrained can load it
    size = sum(p.stat().st_size for p in options.to.rglob("*") if p.is_file()) / 1e6
    where = "" if options.copy else f" (codec and text encoder read from {options.codec})"
    print(f"wrote the token generator to {options.to}: {size:.1f} MB{where}")

