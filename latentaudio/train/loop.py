"""One training loop for every model here, on accelerate: CPU, one GPU or many, unchanged.

Resumable: the full state (model, optimiser, schedule, EMA, step, RNG) is saved every
``checkpoint_minutes`` and when the run is interrupted (Ctrl-C, SIGTERM), and a restart with the
same ``out_dir`` continues from the latest checkpoint, so a kill loses at most one interval.
The EMA weights are exported as a diffusers-format folder at every checkpoint (``out_dir/ema``)
and at the end (``out_dir/final``).
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import DataLoaderConfiguration, set_seed
from diffusers.models.modeling_utils import ModelMixin
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm


@dataclass
class TrainConfig:
    out_dir: Path  # checkpoints, log.jsonl and the exported model go here
    max_steps: int = 20_000  # optimiser steps in total (a resumed run counts from where it was)
    batch_size: int = 16
    learning_rate: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 500
    grad_clip: float = 1.0  # max gradient norm
    ema_decay: float = 0.999
    checkpoint_minutes: float = 5.0  # save the full state this often (wall clock)
    keep_checkpoints: int = 2  # older ones are deleted
    log_every: int = 20  # steps between log.jsonl lines
    seed: int = 0
    mixed_precision: str = "bf16"  # "no", "bf16" (CPU or GPU) or "fp16" (GPU)
    num_workers: int = 0  # data-loading processes


class Task(Protocol):
    """What a model contributes to the loop."""

    model: ModelMixin

    def prepare(self, batch: dict) -> dict:
        """Turn a dataset batch into model inputs, outside autocast (features in fp32)."""

    def loss(self, model: torch.nn.Module, inputs: dict) -> tuple[torch.Tensor, dict]:
        """The scalar loss and the values to log."""

    # Optional, for adversarial training: ``discriminator`` (an nn.Module, or None) and
    # ``discriminator_loss(discriminator, inputs) -> (loss, values)``, its turn after the
    # model's step on the same inputs. Optional too: ``validate(model) -> dict``, figures logged
    # at every checkpoint (the EMA weights are swapped in while it runs). And
    # ``export(model, folder)``: how the EMA weights are written (default: the whole model as
    # a diffusers folder; a LoRA run writes its adapter only).


class _Counter:
    """The step count, saved and restored with the rest of the state."""

    def __init__(self) -> None:
        self.step = 0

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])


def latest_checkpoint(out_dir: Path) -> Path | None:
    found = sorted((out_dir / "checkpoints").glob("step-*"))
    return found[-1] if found else None


def train(task: Task, dataset: Dataset, config: TrainConfig, *, progress: bool = True) -> Path:
    """Train ``task.model`` on ``dataset`` until ``config.max_steps``; returns the export folder."""
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train_config.json").write_text(json.dumps(
        {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}, indent=2))
    # accelerate keeps its state in a process-wide singleton that refuses a second run with
    # another precision in the same process (two trainings in one script or test session);
    # each run owns its accelerator, so start from a clean state (accelerate's own tests do).
    AcceleratorState._reset_state(reset_partial_state=True)
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True))
    set_seed(config.seed)

    model = task.model
    # A task with ``frozen_base`` (a LoRA run) optimises and averages only the parameters that
    # need gradients. Others keep every parameter, as runs always have (a fixed buffer-like
    # parameter, such as the DiT's Fourier time features, stays in the optimiser's group, so
    # earlier checkpoints resume).
    frozen_base = getattr(task, "frozen_base", False)

    def select(parameters):
        return [p for p in parameters if p.requires_grad or not frozen_base]

    trainable = select(model.parameters())
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate,
                                  weight_decay=config.weight_decay, betas=(0.8, 0.99))
    schedule = get_scheduler("cosine", optimizer, num_warmup_steps=config.warmup_steps,
                             num_training_steps=config.max_steps)
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True,
                        num_workers=config.num_workers,
                        persistent_workers=config.num_workers > 0)
    if len(loader) == 0:
        raise ValueError(f"{len(dataset)} clips is fewer than one batch of {config.batch_size}")
    model, optimizer, loader, schedule = accelerator.prepare(model, optimizer, loader, schedule)
    discriminator = getattr(task, "discriminator", None)
    if discriminator is not None:
        # HiFi-GAN trains both sides with AdamW(0.8, 0.99) at one learning rate.
        d_optimizer = torch.optim.AdamW(discriminator.parameters(), lr=config.learning_rate,
                                        weight_decay=config.weight_decay, betas=(0.8, 0.99))
        d_schedule = get_scheduler("cosine", d_optimizer, num_warmup_steps=config.warmup_steps,
                                   num_training_steps=config.max_steps)
        discriminator, d_optimizer, d_schedule = accelerator.prepare(
            discriminator, d_optimizer, d_schedule)
        task.discriminator = discriminator
    def weights():
        return select(accelerator.unwrap_model(model).parameters())

    ema = EMAModel(weights(), decay=config.ema_decay)
    export = getattr(task, "export", None)
    counter = _Counter()
    accelerator.register_for_checkpointing(ema, counter)

    resume = latest_checkpoint(out_dir)
    if resume is not None:
        accelerator.load_state(str(resume))
        accelerator.print(f"resumed from {resume} (step {counter.step})")

    def save() -> None:
        path = out_dir / "checkpoints" / f"step-{counter.step:08d}"
        accelerator.save_state(str(path))
        for old in sorted((out_dir / "checkpoints").glob("step-*"))[:-config.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        # The EMA weights so far, usable at once ('train export RUN') even if the run never ends.
        export_ema(accelerator.unwrap_model(model), ema, out_dir / "ema", weights(), export)
        if hasattr(task, "validate") and accelerator.is_main_process:
            figures = validate_ema(task, accelerator.unwrap_model(model), ema, weights())
            if figures:
                log.write(json.dumps({"step": counter.step, "validation": figures}) + "\n")
                log.flush()

    interrupted = []
    previous = signal.signal(signal.SIGTERM, lambda *_: interrupted.append(True))
    bar = tqdm(total=config.max_steps, initial=counter.step, desc="train", unit="step",
               disable=not progress or not accelerator.is_main_process, dynamic_ncols=True)
    log = open(out_dir / "log.jsonl", "a")
    last_save = time.monotonic()
    try:
        while counter.step < config.max_steps and not interrupted:
            epoch, skip = divmod(counter.step, len(loader))
            loader.set_epoch(epoch)
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            batches = accelerator.skip_first_batches(loader, skip) if skip else loader
            for batch in batches:
                model.train()
                inputs = task.prepare(batch)
                with accelerator.autocast():
                    loss, values = task.loss(model, inputs)
                if not math.isfinite(float(loss.detach())):
                    raise FloatingPointError(f"loss is {float(loss)} at step {counter.step}")
                accelerator.backward(loss)
                accelerator.clip_grad_norm_(trainable, config.grad_clip)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                if discriminator is not None:
                    with accelerator.autocast():
                        d_loss, d_values = task.discriminator_loss(discriminator, inputs)
                    accelerator.backward(d_loss)
                    accelerator.clip_grad_norm_(discriminator.parameters(), config.grad_clip)
                    d_optimizer.step()
                    d_schedule.step()
                    d_optimizer.zero_grad(set_to_none=True)
                    values |= d_values
                ema.step(weights())
                counter.step += 1
                bar.update()
                if counter.step % config.log_every == 0:
                    record = {"step": counter.step, "lr": schedule.get_last_lr()[0],
                              **{k: round(float(v), 5) for k, v in values.items()}}
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    bar.set_postfix({k: f"{float(v):.4f}" for k, v in values.items()})
                if time.monotonic() - last_save > 60 * config.checkpoint_minutes:
                    save()
                    last_save = time.monotonic()
                if counter.step >= config.max_steps or interrupted:
                    break
    except KeyboardInterrupt:
        interrupted.append(True)
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)
        save()
        log.close()
    if interrupted:
        raise KeyboardInterrupt(f"stopped at step {counter.step}")
    return export_ema(accelerator.unwrap_model(model), ema, out_dir / "final", weights(), export)


@torch.no_grad()
def validate_ema(task: Task, model: ModelMixin, ema: EMAModel, weights: list) -> dict:
    """``task.validate`` on the EMA weights, the ones that get exported."""
    ema.store(weights)
    ema.copy_to(weights)
    was_training = model.training
    try:
        model.eval()
        return {k: round(float(v), 5) for k, v in task.validate(model).items()}
    finally:
        model.train(was_training)
        ema.restore(weights)


def export_ema(model: ModelMixin, ema: EMAModel, folder: Path, weights: list,
               export=None) -> Path:
    """Save the EMA of ``weights`` (the trained ones) in ``model``: as a diffusers-format
    folder, or by ``export(model, folder)``."""
    ema.store(weights)
    ema.copy_to(weights)
    try:
        if export is not None:
            export(model, folder)
        else:
            model.save_pretrained(folder, safe_serialization=True)
    finally:
        ema.restore(weights)
    return folder
