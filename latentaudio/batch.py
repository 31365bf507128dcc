"""Batch generation from a JSONL file: one clip per line, resumable, split over processes.

Each line is a JSON object with at least ``"prompt"``; the other keys are those of
:class:`latentaudio.render.Request` (``operation``, ``seconds``, ``seed``, ``steps``, ``cfg``,
``negative``, ``bpm``, ``key``, ``lufs``, ``start``, ``end``, ``strength``, ``bars``,
``beats_per_bar``) plus ``name`` (the output's file name, without extension), ``format`` and
``input`` (the audio to edit, relative to the JSONL file). Blank lines and lines starting with
``#`` are skipped.

Item ``i`` without a seed gets ``base_seed + i``, so a rerun makes the same clips, and an item
whose audio and sidecar are both in the output folder is done: a rerun skips it (resume after a
stop). Several processes (``--processes N``, through accelerate's launcher; or ``accelerate
launch`` on many GPUs) each take an equal share of what is left.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from latentaudio.errors import LatentAudioError
from latentaudio.request import FORMATS, NEEDS_INPUT, Request

ITEM_KEYS = {"name", "format", "input"}


@dataclass
class Item:
    index: int  # line's position among the items, 0-based
    line: int  # its line number in the file, 1-based (what errors name)
    name: str
    request: Request
    audio_format: str
    input: Path | None

    def output(self, folder: Path) -> Path:
        return folder / f"{self.name}.{self.audio_format}"

    def done(self, folder: Path) -> bool:
        out = self.output(folder)
        return out.is_file() and Path(f"{out}.json").is_file()


def slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:48].rstrip("-") or "clip"


def read_items(path: str | Path, *, defaults: dict | None = None, base_seed: int = 0,
               audio_format: str = "wav") -> list[Item]:
    """Parse and check every line (a bad one is a one-line error naming its line) before any
    work starts. ``defaults`` fill request fields a line leaves out."""
    from latentaudio.audio import audio_info
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise LatentAudioError(f"cannot read {path}: {error}") from None
    items, names = [], {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            values = json.loads(line)
        except json.JSONDecodeError as error:
            raise LatentAudioError(f"{where}: not JSON ({error.msg})") from None
        if not isinstance(values, dict):
            raise LatentAudioError(f"{where}: expected an object like {{\"prompt\": \"...\"}}")
        extra = {key: values.pop(key) for key in ITEM_KEYS & set(values)}
        try:
            request = Request.from_dict({**(defaults or {}), **values})
        except (LatentAudioError, TypeError) as error:
            raise LatentAudioError(f"{where}: {error}") from None
        index = len(items)
        if request.seed is None:
            request.seed = base_seed + index
        source, input_seconds = None, None
        if request.operation in NEEDS_INPUT:
            if "input" not in extra:
                raise LatentAudioError(f"{where}: {request.operation} needs \"input\": a file")
            source = (path.parent / str(extra["input"])).resolve()
        try:
            if source is not None:
                input_seconds = audio_info(source).seconds  # the header only
            request = request.check(input_seconds)
        except LatentAudioError as error:
            raise LatentAudioError(f"{where}: {error}") from None
        fmt = str(extra.get("format", audio_format))
        if fmt not in FORMATS:
            raise LatentAudioError(f"{where}: format {fmt!r}: use one of {', '.join(FORMATS)}")
        name = slug(str(extra["name"])) if "name" in extra else (
            f"{index:04d}-{slug(request.prompt)}")
        if name in names:
            raise LatentAudioError(f"{where}: the name {name!r} is also line {names[name]}'s")
        names[name] = number
        items.append(Item(index, number, name, request, fmt, source))
    if not items:
        raise LatentAudioError(f"{path} holds no items: one JSON object per line, e.g. "
                               '{"prompt": "heavy rain on a tin roof", "seconds": 8}')
    return items


def run_items(items: list[Item], out: Path, pipe, model: dict, *, progress: bool = True,
              position: int = 0, label: str = "batch") -> list[tuple[Item, str]]:
    """Make the items not yet done; returns the failures (item, one-line reason)."""
    from tqdm import tqdm

    from latentaudio.audio import load_audio
    from latentaudio.render import render

    failures = []
    for item in tqdm(items, desc=label, unit="clip", disable=not progress, position=position):
        if item.done(out):
            continue
        try:
            audio = load_audio(item.input) if item.input is not None else None
            render(pipe, item.request, item.output(out), model=model, audio=audio,
                   input_name=str(item.input) if item.input else None,
                   audio_format=item.audio_format)
        except LatentAudioError as error:
            failures.append((item, f"line {item.line}: {error}"))
        except Exception as error:  # a bug, but one item's: the rest of the batch is made
            failures.append((item, f"line {item.line}: internal error: "
                                   f"{type(error).__name__}: {error}"))
    return failures
