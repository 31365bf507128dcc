"""Loading the generator from a model folder, and naming it for sidecars."""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import torch

from latentaudio.codec import DEFAULT_MODEL
from latentaudio.errors import LatentAudioError


def load_pipeline(folder: str | os.PathLike | None = None):
    """The pipeline in ``folder`` (default: the shipped model), in fp32 for the CPU."""
    folder = Path(folder or DEFAULT_MODEL)
    if not (folder / "model_index.json").is_file():
        raise LatentAudioError(
            f"no generator at {folder} (model_index.json missing): pass --checkpoint DIR, or "
            "build one with 'latentaudio train assemble'")
    from latentaudio.pipeline import LatentAudioPipeline

    return LatentAudioPipeline(**load_components(folder)), folder


def load_token_pipeline(folder: str | os.PathLike | None = None):
    """The token-AR generator in ``folder`` (default: checkpoints/latentaudio-ar), fp32."""
    from latentaudio.codec import REPO_CHECKPOINTS

    folder = Path(folder or REPO_CHECKPOINTS / "latentaudio-ar")
    if not (folder / "model_index.json").is_file():
        raise LatentAudioError(
            f"no token-AR model at {folder} (model_index.json missing): build one with "
            "'latentaudio train tokens|coarse|fine' and 'latentaudio train assemble-ar', then "
            "pass --checkpoint DIR")
    from latentaudio.tokens.pipeline import TokenPipeline

    return TokenPipeline(**load_components(folder)), folder


def load_components(folder: Path) -> dict:
    """Every component model_index.json names, each loaded by its own class's
    ``from_pretrained`` from its subfolder (which follows a shared.json,
    :mod:`latentaudio.folders`), fp32, in eval mode: what diffusers' generic loader does for
    these folders, without its per-call overhead or the dynamic import of pipeline.py."""
    import importlib

    index = json.loads((folder / "model_index.json").read_text())
    components = shared_from_index(folder) if index.get("_shared") else {}
    with quiet_loading():
        for name, value in index.items():
            if name.startswith("_") or name in components:
                continue
            library, class_name = value
            if library is None:
                components[name] = None
                continue
            cls = getattr(importlib.import_module(library), class_name)
            components[name] = _load(cls, folder / name, name)
    return components


def _load(cls, path: Path, name: str):
    from diffusers.models.modeling_utils import ModelMixin

    if not path.is_dir():
        raise LatentAudioError(f"{path} is missing: the model folder is incomplete")
    if issubclass(cls, ModelMixin):
        # The denoiser runs in whichever of fp32 and bf16 is faster on this machine
        # (latentaudio.precision); the codec stays fp32 (its convolutions gain little).
        dtype = torch.float32
        if name in ("denoiser", "transformer"):
            from latentaudio.precision import dtype as fastest

            dtype = fastest()
        return cls.from_pretrained(path, dtype=dtype).eval()
    if issubclass(cls, torch.nn.Module):  # transformers models
        return cls.from_pretrained(path, local_files_only=True, dtype=torch.float32).eval()
    from transformers import PreTrainedTokenizerBase

    if issubclass(cls, PreTrainedTokenizerBase):
        return cls.from_pretrained(path, local_files_only=True)
    return cls.from_pretrained(path)  # schedulers


def shared_from_index(folder: Path) -> dict:
    """Folders assembled before shared.json: model_index.json's ``"_shared"`` names the parts
    that live elsewhere; they are loaded here (fp32)."""
    shared = json.loads((folder / "model_index.json").read_text()).get("_shared") or {}
    resolved = {key: value if value == "minilm" else str((folder / value).resolve())
                for key, value in shared.items()}
    return shared_components(resolved, folder) if resolved else {}


def shared_components(shared: dict, user: Path | None = None) -> dict:
    """Load ``{"codec": DIR, "text": DIR | "minilm"}`` (either key optional) as pipeline
    components: vae + vocoder, text_encoder + tokenizer; fp32."""
    from transformers import AutoModel, AutoTokenizer

    from latentaudio.codec import load_component
    from latentaudio.conditioning.text import minilm_path
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    components = {}
    owner = f"the model at {user} uses" if user else "need"
    if "codec" in shared:
        codec = Path(shared["codec"])
        if not (codec / "vae").is_dir():
            raise LatentAudioError(
                f"{owner} the codec in {codec}, which is missing: keep the checkpoint folders "
                "together, or rebuild it with --copy")
        components |= {"vae": load_component(MelVAE, codec / "vae"),
                       "vocoder": load_component(Vocoder, codec / "vocoder")}
    if "text" in shared:
        if shared["text"] == "minilm":
            text_path = tokenizer_path = minilm_path()
        else:
            text_path, tokenizer_path = (Path(shared["text"]) / "text_encoder",
                                         Path(shared["text"]) / "tokenizer")
            if not text_path.is_dir():
                raise LatentAudioError(f"{owner} the text encoder in {text_path}, which is "
                                       "missing: keep the checkpoint folders together")
        components |= {
            "text_encoder": AutoModel.from_pretrained(text_path, local_files_only=True,
                                                      dtype=torch.float32).eval(),
            "tokenizer": AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)}
    return components


@contextmanager
def quiet_loading():
    """No per-file loading bars from diffusers and transformers for a local folder that loads in
    a second; their settings are restored afterwards."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    states = [(lib, lib.is_progress_bar_enabled()) for lib in (diffusers_logging,
                                                                transformers_logging)]
    for lib, _ in states:
        lib.disable_progress_bar()
    try:
        yield
    finally:
        for lib, enabled in states:
            if enabled:
                lib.enable_progress_bar()


def model_identity(folder: str | os.PathLike) -> dict:
    """The folder's name and a hash of its generating weights (the denoiser, or the token
    models), for provenance."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for part in ("denoiser", "tokens", "coarse", "fine"):
        for weights in sorted((folder / part).glob("*.safetensors")):
            digest.update(weights.read_bytes())
    return {"id": folder.name, "denoiser_sha256": digest.hexdigest()[:16]}
