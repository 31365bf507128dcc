"""The corpus manifest: one JSON object per line, one line per clip.

A manifest sits next to the audio it describes; ``path`` is relative to the manifest's folder
(or absolute, for bring-your-own data). Music clips also carry exact ``bpm``, ``key``,
``instruments`` and ``genre`` labels, because they were rendered from those labels.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from latentaudio.errors import LatentAudioError

SPLITS = ("train", "valid", "test")
KINDS = ("music", "sfx")


@dataclass
class Clip:
    """One manifest line."""

    id: str  # unique within the manifest
    path: str  # audio file, relative to the manifest's folder or absolute
    caption: str  # natural-language description, as a user would prompt
    tags: list[str]  # short keywords: genre, mood, instruments, sound class
    source: str  # where it came from: "music-beds", "music21", "wesnoth", "procedural", ...
    license: str  # SPDX-style identifier of the source's license
    seconds: float  # duration of the file
    split: str  # "train", "valid" or "test"
    kind: str = "sfx"  # "music" or "sfx": metrics are reported per kind
    category: str = ""  # class for summaries and zero-shot tests: "rock", "footsteps", "dog"
    group: str = ""  # source recording: clips sharing a group always share a split
    bpm: float | None = None  # music only: tempo in beats per minute
    # music only: seconds from the file's start to its first beat (None: 0, as rendered music)
    beat_offset: float | None = None
    key: str | None = None  # music only: "C major", "F# minor"
    instruments: list[str] | None = None  # music only: General MIDI instrument names
    genre: str | None = None  # music only
    extra: dict = field(default_factory=dict)  # anything else a source wants to keep

    def to_json(self) -> str:
        values = {k: v for k, v in asdict(self).items() if v is not None and v != {}}
        return json.dumps(values, ensure_ascii=False)

    @classmethod
    def from_dict(cls, values: dict) -> Clip:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def stem(self, name: str) -> Clip | None:
        """This clip with its ``name`` stem (``extra["stems"]``, e.g. a song's "vocals") as its
        audio, the labels kept; None when it has no such stem."""
        path = self.extra.get("stems", {}).get(name)
        return None if path is None else replace(self, id=f"{self.id}.{name}", path=path)

    def resolve(self, root: str | os.PathLike) -> Path:
        """The audio file's path, given the folder the manifest lives in."""
        path = Path(self.path)
        return path if path.is_absolute() else Path(root) / path


def validate(clip: Clip) -> None:
    """Raise ``ValueError`` naming the first field that breaks the schema."""
    if not clip.id or not clip.path or not clip.caption.strip():
        raise ValueError(f"clip {clip.id!r}: id, path and caption must be non-empty")
    if clip.split not in SPLITS:
        raise ValueError(f"clip {clip.id}: split must be one of {SPLITS}, got {clip.split!r}")
    if clip.kind not in KINDS:
        raise ValueError(f"clip {clip.id}: kind must be one of {KINDS}, got {clip.kind!r}")
    if not clip.seconds > 0:
        raise ValueError(f"clip {clip.id}: seconds must be positive, got {clip.seconds}")
    if not isinstance(clip.tags, list) or not all(isinstance(t, str) for t in clip.tags):
        raise ValueError(f"clip {clip.id}: tags must be a list of strings")


def write_manifest(path: str | os.PathLike, clips: Iterable[Clip]) -> Path:
    """Write clips as JSON lines, atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w", encoding="utf-8") as handle:
        for clip in clips:
            validate(clip)
            handle.write(clip.to_json() + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(path: str | os.PathLike) -> list[Clip]:
    """Read a manifest, validating each line; errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise LatentAudioError(f"no such manifest: {path}")
    clips = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                clip = Clip.from_dict(json.loads(line))
                validate(clip)
            except (json.JSONDecodeError, TypeError, ValueError) as error:
                raise LatentAudioError(
                    f"{path}:{number}: not a valid manifest line ({error})") from error
            clips.append(clip)
    return clips
