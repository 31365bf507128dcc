"""``latentaudio train lora``: a LoRA adapter (:mod:`latentaudio.adapters`) for a generator's
DiT, from a folder of one's own sounds, on a CPU.

Prior preservation (DreamBooth, Ruiz et al. 2023): an adapter trained on one family alone pulls
every prompt toward it (measured: the class accuracy of out-of-family prompts fell from 0.24 to
0.16). So the base model first generates latents for ``--prior`` everyday prompts, and training
mixes them in with their prompts, one for each clip of the family: the adapter learns the family
and is held to the base model elsewhere.

The base denoiser is frozen; only the low-rank matrices train, in bf16 autocast where this
machine is faster in it (:mod:`latentaudio.precision`). The run folder is the adapter: the
resumable state is in ``OUT/checkpoints``, and the adapter files (diffusers' LoRA layout and
``adapter.json``) are written to ``OUT`` itself at the end, so ``--lora OUT`` works.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

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
    prior: int = 32  # base-model examples of everyday prompts mixed in (0: none)
    targets: str = "cross"  # latentaudio.adapters.TARGETS
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

    frozen_base = True  # the loop trains and averages the adapter's parameters only

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


# Everyday prompts across the model's classes, for prior preservation: what an adapter should
# leave as the base model makes it.
PRIOR_PROMPTS = [
    "heavy rain on a roof", "wind howling through trees", "a thunderstorm rumbling",
    "a crackling campfire", "a stream flowing over rocks", "waves on a beach",
    "a car engine idling", "a motorcycle passing by", "footsteps on gravel",
    "a wooden door creaking open", "a dog barking", "birds singing in the morning",
    "a horse galloping", "crickets at night", "a crowd cheering", "glass shattering",
    "a metal clang", "an explosion in the distance", "a gunshot echoing", "an alarm beeping",
    "a church bell ringing", "machinery humming in a factory", "a clock ticking",
    "a heartbeat", "a calm ambient pad, 70 bpm, C major", "an upbeat rock song, 128 bpm, E minor",
    "a lo-fi hip hop beat, 85 bpm, F major", "a jazz trio, 110 bpm, Bb major",
    "an orchestral fanfare, 100 bpm, D major", "an electronic dance track, 124 bpm, A minor",
    "a funk groove with slap bass, 105 bpm, E minor", "a gentle piano ballad, 72 bpm, G major",
]


class PriorDataset(torch.utils.data.Dataset):
    """The family's crops, each followed by a base-model example of an everyday prompt."""

    def __init__(self, family, prior: list[dict]) -> None:
        self.family, self.prior = family, prior

    def set_epoch(self, epoch: int) -> None:
        self.family.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.family) * (2 if self.prior else 1)

    def __getitem__(self, index: int) -> dict:
        if not self.prior:
            return self.family[index]
        item, which = divmod(index, 2)
        return self.family[item] if which == 0 else self.prior[item % len(self.prior)]


@torch.no_grad()
def prior_examples(folder: Path, prompts: list[str], frames: int, seconds: float,
                   seed: int) -> list[dict]:
    """The base model's latents for ``prompts`` (``seconds`` long, ``frames`` frames), as
    dataset items with their prompts."""
    from latentaudio.conditioning.prompt import parse_prompt
    from latentaudio.generation import load_pipeline

    pipe, _ = load_pipeline(folder)
    items = []
    for index, prompt in enumerate(tqdm(prompts, desc="prior examples", leave=False)):
        latents = pipe(prompt, seconds=seconds, seeds=[seed + index], num_inference_steps=12,
                       progress=False, allow_silence=True, output_type="latent").audios[0]
        latents = latents.float()[..., :frames]
        mask = torch.zeros(frames, dtype=torch.bool)
        mask[: latents.shape[-1]] = True
        padded = latents.new_zeros(latents.shape[0], frames)
        padded[:, : latents.shape[-1]] = latents
        spec = parse_prompt(prompt)
        items.append({"caption": prompt, "seconds_start": 0.0, "seconds_total": seconds,
                      "bpm": float(spec.bpm) if spec.bpm else float("nan"), "beat_offset": 0.0,
                      "key": spec.key or "", "features": padded, "mask": mask})
    return items


def captioned(clips, caption: str | None):
    """Clips whose caption came from their file name take ``caption`` instead, if given."""
    if not caption:
        return clips
    return [replace(clip, caption=caption) if "caption-from-name" in clip.tags else clip
            for clip in clips]


def run_lora(options: LoraOptions) -> Path:

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
    trainable = add_trainable(denoiser, options.rank, targets=options.targets)
    count = sum(p.numel() for p in trainable)
    print(f"LoRA rank {options.rank}: {count / 1e6:.2f} M trainable parameters "
          f"({count * 4 / 1e6:.1f} MB saved)")
    about = {"base_model": model_identity(folder), "rank": options.rank,
             "targets": options.targets, "steps": options.steps,
             "clips": len(clips), "seconds": round(sum(c.seconds for c in clips), 1),
             "captions": sorted({c.caption for c in clips})[:20], "learning_rate": options.lr,
             "data": [str(p) for p in options.data]}
    task = AdapterTask(DiffusionTask(denoiser, build_text_encoder(), seed=options.seed), about)
    features = latent_cache(folder, options.out / "latents-cache")
    family = ClipDataset(clips, root, seconds=options.seconds, features=features,
                         seed=options.seed)
    prompts = [PRIOR_PROMPTS[i % len(PRIOR_PROMPTS)] for i in range(options.prior)]
    frames = round(options.seconds * features.frames_per_second)
    prior = prior_examples(folder, prompts, frames, options.seconds, options.seed)
    dataset = PriorDataset(family, prior)
    about["prior_examples"] = len(prior)
    config = TrainConfig(options.out, max_steps=options.steps,
                         batch_size=min(options.batch_size, len(dataset)),
                         learning_rate=options.lr, warmup_steps=min(50, options.steps // 10),
                         ema_decay=0.95, checkpoint_minutes=options.checkpoint_minutes,
                         mixed_precision=mixed_precision(options.precision), seed=options.seed,
                         weight_decay=0.0)
    try:
        final = train(task, dataset, config, progress=not options.quiet)
    except KeyboardInterrupt as stop:
        raise KeyboardInterrupt(f"{stop}: rerun the same command to resume") from None
    for name in (WEIGHTS, ABOUT):
        shutil.copyfile(final / name, options.out / name)
    size = (options.out / WEIGHTS).stat().st_size / 1e6
    print(f"adapter written to {options.out} ({size:.1f} MB): use it with "
          f"'latentaudio generate \"...\" --lora {options.out}'")
    return options.out
