"""Provenance: what made a file, written into the file itself and into its JSON sidecar.

Inside the file (WAV LIST/INFO chunks, FLAC and Ogg Vorbis comments) go ``software``
("latentaudio 0.x"), ``date`` (UTC, ISO 8601) and a ``comment`` holding one JSON object behind
the prefix ``latentaudio-provenance:``: the model's id and weights hash, a SHA-256 of the prompt
(never the prompt itself: the file may travel where the words should not), the seed, the
operation and the watermark's id. The sidecar holds the same object under ``provenance``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

PREFIX = "latentaudio-provenance:"


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:16]


def provenance(*, operation: str, prompt: str, seed: int, model: dict,
               watermark: str | None) -> dict:
    """The provenance record of one output; ``model`` is :func:`generation.model_identity`."""
    from latentaudio import __version__

    record = {"software": f"latentaudio {__version__}", "operation": operation,
              "model": model.get("id"), "model_sha256": model.get("denoiser_sha256"),
              "prompt_sha256": prompt_hash(prompt), "seed": seed, "watermark": watermark,
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_creation_time()))}
    if model.get("lora"):  # the adapters in use, by hash (not by where they were on disk)
        record["lora"] = [{"sha256": a["sha256"], "strength": a["strength"]}
                          for a in model["lora"]]
    return record


def _creation_time() -> float:
    """Now, or ``SOURCE_DATE_EPOCH`` when it is set (the reproducible-builds convention,
    https://reproducible-builds.org/specs/source-date-epoch/): the same seed and settings then
    give byte-identical files."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return float(int(epoch))
        except ValueError:
            from latentaudio.errors import LatentAudioError

            raise LatentAudioError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of "
                                   "seconds since 1970") from None
    return time.time()


def file_metadata(record: dict) -> dict[str, str]:
    """The record as the text fields :func:`latentaudio.audio.save_audio` writes."""
    return {"software": record["software"], "date": record["created"],
            "comment": PREFIX + json.dumps(record, separators=(",", ":"), sort_keys=True)}


def read_provenance(path: str | os.PathLike) -> dict | None:
    """The record inside an audio file, or None when it carries none (or another comment)."""
    from latentaudio.audio import read_metadata

    comment = read_metadata(path).get("comment", "")
    if not comment.startswith(PREFIX):
        return None
    try:
        return json.loads(comment[len(PREFIX):])
    except json.JSONDecodeError:
        return None


def save_output(path, audio, audio_format: str | None, sidecar: dict, record: dict):
    """Write the audio with the provenance record inside it, then its sidecar (both atomic)."""
    from latentaudio.audio import save_audio, save_sidecar

    written = save_audio(path, audio, format=audio_format, metadata=file_metadata(record))
    save_sidecar(written, {**sidecar, "provenance": record})
    return written
