"""LoRA adapters for the DiT (Hu et al. 2022): train a few low-rank matrices on one's own sounds,
then stack them onto the default model at a chosen strength.

The adapters are peft LoRA layers on the transformer blocks' attention projections (self and
cross) and MLP, added through diffusers' ``PeftAdapterMixin``. A saved adapter is a folder in
diffusers' LoRA layout (``pytorch_lora_weights.safetensors``, keys ``transformer.<module>.
lora_A/B.weight``, so ``pipe.load_lora_weights(FOLDER)`` works) plus ``adapter.json``: what it
was trained on and how.

``--lora ADAPTER[:STRENGTH]`` names one on the command line; strengths scale each adapter's
update (0 gives exactly the base model's output; several adapters add up).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from latentaudio.errors import LatentAudioError

WEIGHTS = "pytorch_lora_weights.safetensors"  # diffusers' LoRA file name
ABOUT = "adapter.json"
# The DiT's linear layers an adapter may train, by name: module-name patterns (regex, inside
# each transformer block). "all": attention (self and cross) and the MLP. "cross": the
# cross-attention's key and value projections only, where the words meet the audio (Custom
# Diffusion, Kumari et al. 2023, which changes a text-to-image model least elsewhere).
TARGETS = {
    "all": r"(attn1\.|attn2\.)?(to_q|to_k|to_v|to_out\.0|ff\.net\.0\.proj|ff\.net\.2)",
    "cross": r"attn2\.(to_k|to_v)",
}
DEFAULT_TARGETS = "cross"
DEFAULT_RANK = 16
MAX_ADAPTERS = 4  # stacked on one request


@dataclass(frozen=True)
class AdapterSpec:
    """One ``--lora`` value: a folder and a strength."""

    path: Path
    strength: float = 1.0

    @classmethod
    def parse(cls, text: str) -> AdapterSpec:
        """``FOLDER`` or ``FOLDER:STRENGTH`` (a path may itself hold colons: the last one that is
        followed by a number splits)."""
        path, strength = text, 1.0
        head, sep, tail = text.rpartition(":")
        if sep and head:
            try:
                strength = float(tail)
                path = head
            except ValueError:
                pass
        if not -4.0 <= strength <= 4.0:
            raise LatentAudioError(f"--lora {text}: strength {strength:g} is out of range "
                                   "(use -4 to 4; 1 = as trained, 0 = off)")
        return cls(Path(path).expanduser(), strength)

    def check(self) -> None:
        if not (self.path / WEIGHTS).is_file():
            raise LatentAudioError(f"no LoRA adapter at {self.path} ({WEIGHTS} missing): train "
                                   "one with 'latentaudio train lora --data FOLDER --out DIR'")

    @property
    def name(self) -> str:
        """The adapter's name inside the model: its folder name and a hash of its weights."""
        return f"{self.path.name or 'adapter'}-{self.digest[:8]}".replace(".", "_")

    @cached_property  # read once: name and record both use it
    def digest(self) -> str:
        return file_digest(self.path / WEIGHTS)

    def record(self) -> dict:
        """What sidecars and provenance keep of it."""
        return {"path": str(self.path), "sha256": self.digest, "strength": self.strength}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def lora_config(rank: int = DEFAULT_RANK, targets: str = DEFAULT_TARGETS):
    """peft's LoraConfig for the DiT's blocks; alpha = rank (scale 1 at strength 1). The
    regex (peft full-matches it) keeps to the transformer blocks: not the embedders, not the
    projections in and out."""
    from peft import LoraConfig

    if targets not in TARGETS:
        raise LatentAudioError(f"unknown LoRA targets {targets!r}: use {' or '.join(TARGETS)}")
    return LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True,
                      target_modules=rf"dit\.transformer_blocks\.\d+\.{TARGETS[targets]}")


def add_trainable(denoiser, rank: int = DEFAULT_RANK, name: str = "default",
                  targets: str = DEFAULT_TARGETS) -> list:
    """Add a fresh adapter (its B matrices are zero, so the model is unchanged) and freeze
    everything else; returns the trainable parameters."""
    denoiser.add_adapter(lora_config(rank, targets), adapter_name=name)
    trainable = []
    for parameter_name, parameter in denoiser.named_parameters():
        parameter.requires_grad_("lora_" in parameter_name)
        if parameter.requires_grad:
            trainable.append(parameter)
    return trainable


def save_adapter(denoiser, folder: Path, about: dict) -> Path:
    """Write ``denoiser``'s adapter (its only one, else its first active one) in diffusers'
    LoRA layout, fp32 (a few MB; a round trip is exact), with ``about``."""
    import torch
    from peft.utils import get_peft_model_state_dict

    from latentaudio.pipeline import LatentAudioPipeline

    names = list(denoiser.peft_config)
    name = names[0] if len(names) == 1 else denoiser.active_adapters()[0]
    state = {k: v.detach().to("cpu", torch.float32).contiguous()
             for k, v in get_peft_model_state_dict(denoiser, adapter_name=name).items()}
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{WEIGHTS}.{os.getpid()}"
    LatentAudioPipeline.save_lora_weights(folder, transformer_lora_layers=state,
                                          weight_name=temporary.name)
    temporary.replace(folder / WEIGHTS)
    about = dict(about, sha256=file_digest(folder / WEIGHTS))
    (folder / ABOUT).write_text(json.dumps(about, indent=2) + "\n")
    return folder


def resolve(values: list[str], lora_dir: Path | None = None) -> list[AdapterSpec]:
    """``--lora`` values -> adapters. With ``lora_dir`` (a server's) each must be the bare
    name of a folder in it: requests cannot reach other paths."""
    adapters = [AdapterSpec.parse(value) for value in values]
    if lora_dir is None:
        return adapters
    resolved = []
    for adapter in adapters:
        name = str(adapter.path)
        if "/" in name or "\\" in name or name.startswith("."):
            raise LatentAudioError(f"lora {name!r}: give the name of an adapter in the server's "
                                   "adapter folder (GET /v1/adapters lists them)")
        resolved.append(AdapterSpec(Path(lora_dir) / name, adapter.strength))
    return resolved


def list_adapters(lora_dir: Path | None) -> list[dict]:
    """The adapters in a folder: name, size and what ``adapter.json`` says they learnt."""
    if lora_dir is None or not Path(lora_dir).is_dir():
        return []
    found = []
    for folder in sorted(p for p in Path(lora_dir).iterdir() if (p / WEIGHTS).is_file()):
        about = {}
        if (folder / ABOUT).is_file():
            try:
                about = json.loads((folder / ABOUT).read_text())
            except ValueError:
                about = {}
        found.append({"name": folder.name, "bytes": (folder / WEIGHTS).stat().st_size,
                      "rank": about.get("rank"), "clips": about.get("clips"),
                      "captions": about.get("captions", [])[:5]})
    return found


def apply_adapters(pipe, adapters: list[AdapterSpec]) -> list[dict]:
    """Load each adapter into ``pipe``'s denoiser (once: a server keeps them) and make exactly
    these active, at their strengths; returns their records for the sidecar. No adapters: any
    loaded ones are switched off, so the output is the base model's."""
    loaded = set(getattr(pipe.denoiser, "peft_config", {}) or {})
    if not adapters:
        if loaded:
            pipe.denoiser.disable_adapters()
        return []
    names, strengths = [], []
    for adapter in adapters:
        adapter.check()
        name = adapter.name
        if name not in loaded:
            loaded.add(name)
            try:
                with warnings.catch_warnings():  # peft: "multiple adapters": that is the point
                    warnings.simplefilter("ignore", UserWarning)
                    pipe.load_lora_weights(str(adapter.path), adapter_name=name)
            except (ValueError, KeyError, RuntimeError) as error:
                raise LatentAudioError(f"--lora {adapter.path}: does not fit this model "
                                       f"({str(error).splitlines()[0][:200]})") from None
        if name in names:  # the same adapter twice: its strengths add
            strengths[names.index(name)] += adapter.strength
            continue
        names.append(name)
        strengths.append(adapter.strength)
    pipe.denoiser.enable_adapters()
    pipe.set_adapters(names, adapter_weights=strengths)
    return [adapter.record() for adapter in adapters]
