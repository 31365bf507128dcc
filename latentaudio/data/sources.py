"""Bring your own data: read clips from a folder, a CSV/JSONL table or our manifest.

Accepted layouts, chosen by what ``path`` is:

* a **folder** of audio files, each captioned by a same-name ``.txt`` beside it (files without one
  are captioned from their file name);
* a **CSV** or **JSONL** table with at least ``path`` and ``caption`` columns (AudioCaps, Clotho
  and MusicCaps exports look like this; ``file_name``/``audio``/``text`` are accepted too), paths
  relative to the table's folder;
* a latentaudio **manifest** (``manifest.jsonl``, or a folder that holds one).

Files that cannot be read are skipped and counted, never a crash.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from latentaudio.audio import FORMATS, audio_info
from latentaudio.data.manifest import Clip, read_manifest, validate
from latentaudio.errors import AudioFileError, LatentAudioError

log = logging.getLogger(__name__)

PATH_COLUMNS = ("path", "file_name", "filename", "file", "audio", "audio_path", "youtube_id")
CAPTION_COLUMNS = ("caption", "text", "description", "caption_1", "prompt")
AUDIO_SUFFIXES = (*(f".{name}" for name in FORMATS), ".oga", ".wave")


@dataclass
class LoadReport:
    """What a loader kept and what it skipped, and why (the first few reasons)."""

    kept: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.reasons) < 10:
            self.reasons.append(reason)

    def __str__(self) -> str:
        text = f"{self.kept} clips"
        if self.skipped:
            text += f", {self.skipped} skipped (e.g. {'; '.join(self.reasons[:3])})"
        return text


def _caption_from_stem(stem: str) -> str:
    return " ".join(re.sub(r"[._\-]+", " ", stem).split())


def _probe(path: Path, report: LoadReport) -> float | None:
    """The file's duration in seconds, or None (and a skip) when it cannot be read."""
    try:
        info = audio_info(path)
    except AudioFileError as error:
        report.skip(str(error))
        return None
    if info.frames == 0:
        report.skip(f"{path} holds no audio")
        return None
    return info.seconds


def _from_folder(folder: Path, report: LoadReport) -> list[Clip]:
    clips = []
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    for path in files:
        seconds = _probe(path, report)
        if seconds is None:
            continue
        text_file = path.with_suffix(".txt")
        caption = (text_file.read_text(encoding="utf-8", errors="replace").strip()
                   if text_file.is_file() else "")
        tags = [] if caption else ["caption-from-name"]
        caption = caption or _caption_from_stem(path.stem)
        relative = path.relative_to(folder)
        clips.append(Clip(str(relative), str(path.resolve()), caption, tags, "folder", "unknown",
                          seconds, "train", group=str(relative)))
    return clips


def _pick(row: dict, names: tuple[str, ...]) -> str | None:
    lowered = {k.strip().lower(): v for k, v in row.items() if k}
    for name in names:
        value = lowered.get(name)
        if value not in (None, ""):
            return str(value)
    return None


def _from_table(table: Path, rows: list[dict], report: LoadReport) -> list[Clip]:
    clips = []
    for number, row in enumerate(rows, 1):
        where = _pick(row, PATH_COLUMNS)
        caption = _pick(row, CAPTION_COLUMNS)
        if where is None or caption is None:
            report.skip(f"{table}:{number}: needs a path and a caption column")
            continue
        path = Path(where)
        path = path if path.is_absolute() else (table.parent / path)
        seconds = _probe(path, report)
        if seconds is None:
            continue
        split = _pick(row, ("split",)) or "train"
        clips.append(Clip(f"{table.stem}-{number}", str(path.resolve()), caption, [],
                          table.stem, _pick(row, ("license",)) or "unknown", seconds,
                          split if split in ("train", "valid", "test") else "train",
                          group=str(path)))
    return clips


def _read_rows(path: Path) -> list[dict]:
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise LatentAudioError(f"{path}:{number}: not JSON ({error})") from error
    return rows


def _is_manifest(rows: list[dict]) -> bool:
    try:
        return bool(rows) and all(validate(Clip.from_dict(r)) is None for r in rows[:5])
    except (TypeError, ValueError):
        return False


def load_clips(path: str | os.PathLike, *, check_files: bool = True
               ) -> tuple[list[Clip], Path, LoadReport]:
    """Clips from a folder, CSV/JSONL table or manifest; returns ``(clips, root, report)``,
    where clip paths are relative to ``root`` (or absolute)."""
    path = Path(path)
    report = LoadReport()
    if not path.exists():
        raise LatentAudioError(f"no such data folder or file: {path}")
    if path.is_dir() and (path / "manifest.jsonl").is_file():
        path = path / "manifest.jsonl"
    if path.is_dir():
        clips, root = _from_folder(path, report), path
    elif path.suffix.lower() in (".csv", ".jsonl", ".json"):
        rows = _read_rows(path)
        if path.suffix.lower() != ".csv" and _is_manifest(rows):
            root = path.parent
            clips = []
            for clip in read_manifest(path):
                if check_files and not clip.resolve(root).is_file():
                    report.skip(f"missing file {clip.resolve(root)}")
                    continue
                clips.append(clip)
        else:
            clips, root = _from_table(path, rows, report), path.parent
    else:
        raise LatentAudioError(f"{path}: expected a folder, a .csv, a .jsonl or a manifest.jsonl")
    report.kept = len(clips)
    if report.skipped:
        log.warning("%s: %s", path, report)
    if not clips:
        raise LatentAudioError(f"{path}: no readable clips ({report})")
    return clips, root, report


def load_clip_sets(paths: list[str | os.PathLike]) -> tuple[list[Clip], Path, LoadReport]:
    """Clips of several sources at once (e.g. a corpus and a songs corpus): each clip's path
    made absolute, so the root returned serves them all."""
    if len(paths) == 1:
        return load_clips(paths[0])
    clips, combined = [], LoadReport()
    for path in paths:
        found, root, report = load_clips(path)
        for clip in found:
            clip.path = str(clip.resolve(root).resolve())
            if "stems" in clip.extra:  # relative to the manifest's folder too
                clip.extra["stems"] = {name: str((Path(root) / path).resolve())
                                       for name, path in clip.extra["stems"].items()}
        clips += found
        combined.kept += report.kept
        combined.skipped += report.skipped
        combined.reasons += report.reasons[: 10 - len(combined.reasons)]
    return clips, Path("/"), combined
