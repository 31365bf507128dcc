"""``latentaudio train lora``: a LoRA adapter (:mod:`latentaudio.adapters`) for a generator's
DiT, from a folder of one's own sounds, on a CPU.

The base denoiser is frozen; only the low-rank matrices train, in bf16 autocast where this
machine is faster in it (:mod:`latentaudio.precision`). The run folder is the adapter: the
resumable state is in ``OUT/checkpoints``, and the adapter files (diffusers' LoRA layout and
``adapter.json``) are written to ``OUT`` itself at the end, so ``--lora OUT`` works.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from latentaudio.adapters import ABOUT, DEFAULT_RANK, WEIGHTS
from latentaudio.errors import LatentAudioError

MIN_CLIPS = 2


@dataclass
class LoraOptions:
    data: list[Path] = field(default_factory=list)
    out: Path | None = None
    checkpoint: Path | None = None  # the generator folder (default: the shipped model)
    rank: int = DEFAULT_RANK
    steps: int = 600
    batch_size: int = 8
    seconds: float = 4.0
    lr: float = 1e-3
    caption: str | None = None  # for clips with no caption of their own
    precision: str = "auto"
    checkpoint_minutes: float = 2.0
    seed: int = 0
    quiet: bool = False

    @classmethod
    def from_args(cls, args) -> LoraOptions:
        from dataclasses import fields

        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


class AdapterTask:
    """The diffusion task on the frozen denoiser, writing the adapter as its export."""

    def __init__(self, task, about: dict) -> None:
        self._task = task
        self.model = task.model
        self.about = about

    def prepare(self, batch: dict) -> dict:
        return self._task.prepare(batch)

    def loss(self, model, inputs: dict):
        return self._task.loss(model, inputs)

    def export(self, model, folder: Path) -> None:
        from latentaudio.adapters import save_adapter

        save_adapter(model, folder, self.about)


def captioned(clips, caption: str | None):
    """Clips whose caption came from their file name take ``caption`` instead, if given."""
    if not caption:
        return clips
    return [replace(clip, caption=caption) if "caption-from-name" in clip.tags else clip
            for clip in clips]


def run_lora(options: LoraOptions) -> Path:
    import torch

    from latentaudio.adapters import add_trainable
    from latentaudio.conditioning.text import build_text_encoder
    from latentaudio.data.dataset import ClipDataset, latent_cache
    from latentaudio.data.sources import load_clip_sets
    from latentaudio.denoisers import LatentDiT
    from latentaudio.generation import DEFAULT_MODEL, model_identity
    from latentaudio.train.loop import TrainConfig, train
    from latentaudio.train.runs import mixed_precision
    from latentaudio.train.tasks import DiffusionTask

    folder = Path(options.checkpoint or DEFAULT_MODEL)
    if not (folder / "denoiser" / "config.json").is_file():
        raise LatentAudioError(f"no generator with a denoiser at {folder}: pass --checkpoint "
                               "DIR (a folder from 'latentaudio train assemble')")
    clips, root, _report = load_clip_sets(options.data)
    clips = captioned(clips, options.caption)
    if len(clips) < MIN_CLIPS:
        raise LatentAudioError(f"{len(clips)} usable clip(s) in {', '.join(map(str, options.data))}"
                               f": an adapter needs at least {MIN_CLIPS} (wav, flac, ogg, mp3)")
    denoiser = LatentDiT.from_pretrained(folder / "denoiser", dtype=torch.float32)
    trainable = add_trainable(denoiser, options.rank)
    count = sum(p.numel() for p in trainable)
    print(f"LoRA rank {options.rank}: {count / 1e6:.2f} M trainable parameters "
          f"({count * 2 / 1e6:.1f} MB in fp16)")
    about = {"base_model": model_identity(folder), "rank": options.rank, "steps": options.steps,
             "clips": len(clips), "seconds": round(sum(c.seconds for c in clips), 1),
             "captions": sorted({c.caption for c in clips})[:20], "learning_rate": options.lr,
             "data": [str(p) for p in options.data]}
    task = AdapterTask(DiffusionTask(denoiser, build_text_encoder(), seed=options.seed), about)
    features = latent_cache(folder, options.out / "latents-cache")
    dataset = ClipDataset(clips, root, seconds=options.seconds, features=features,
                          seed=options.seed)
    config = TrainConfig(options.out, max_steps=options.steps,
                         batch_size=min(options.batch_size, len(clips)),
                         learning_rate=options.lr, warmup_steps=min(50, options.steps // 10),
                         ema_decay=0.95, checkpoint_minutes=options.checkpoint_minutes,
                         mixed_precision=mixed_precision(options.precision), seed=options.seed,
                         weight_decay=0.0)
    try:
        final = train(task, dataset, config, progress=not options.quiet)
    except KeyboardInterrupt as stop:
        raise LatentAudioError(f"{stop}: rerun the same command to resume") from None
    for name in (WEIGHTS, ABOUT):
        shutil.copyfile(final / name, options.out / name)
    size = (options.out / WEIGHTS).stat().st_size / 1e6
    print(f"adapter written to {options.out} ({size:.1f} MB): use it with "
          f"'latentaudio generate \"...\" --lora {options.out}'")
    return options.out
