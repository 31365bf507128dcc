"""One request, start to finish: generate or edit with the diffusion pipeline, then write the audio,
its provenance and its JSON sidecar. What ``latentaudio inpaint|vary|extend|loop``, ``latentaudio
batch`` and the server's workers all run, so a clip made any of these ways is made the same way.

A :class:`Request` is checked (:meth:`Request.check`) before any model is loaded, so bad values
fail in one line at once rather than after a model load or a queue wait.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from latentaudio.decoders import check_decoder_name
from latentaudio.errors import LatentAudioError
from latentaudio.limits import (
    check_guidance,
    check_loudness_target,
    check_prompt,
    check_seconds,
    check_seed,
)

OPERATIONS = ("generate", "inpaint", "vary", "extend", "loop")
NEEDS_INPUT = ("inpaint", "vary", "extend")
FORMATS = ("wav", "flac", "ogg", "mp3")


@dataclass
class Request:
    """What to make; fields an operation does not use are ignored by it."""

    operation: str = "generate"
    prompt: str = ""
    seconds: float | None = None  # generate: duration; extend: total length
    seed: int | None = None  # None: a fresh one (written to the sidecar)
    steps: int = 12
    cfg: float = 4.0
    negative: str | None = None
    bpm: float | None = None
    key: str | None = None
    lufs: float = -14.0  # generate and loop; edits keep the input's loudness
    start: float | None = None  # inpaint region, seconds
    end: float | None = None
    strength: float = 0.5  # vary
    bars: int | None = None  # loop
    beats_per_bar: int = 4
    watermark: bool = True
    safety_filter: bool = True
    decoder: str | None = None  # latentaudio.decoders.DECODERS; None: the model's default

    @classmethod
    def from_dict(cls, values: dict) -> Request:
        """A request from JSON-like values; unknown names are a one-line error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise LatentAudioError(f"unknown field(s) {', '.join(unknown)}: known are "
                                   f"{', '.join(sorted(known))}")
        for name, value in values.items():
            _check_type(name, value)
        return cls(**values)

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self, input_seconds: float | None = None) -> Request:
        """Raise a one-line :class:`LatentAudioError` for values the operation cannot use;
        returns the request with its key spelt canonically and a seed chosen."""
        from latentaudio.conditioning.prompt import canonical_key
        from latentaudio.editing import (
            check_extension,
            check_input_length,
            check_loop,
            check_region,
            check_strength,
        )
        if self.operation not in OPERATIONS:
            raise LatentAudioError(f"unknown operation {self.operation!r}: use one of "
                                   f"{', '.join(OPERATIONS)}")
        check_prompt(self.prompt, safety_check=self.safety_filter)
        if self.steps < 1:
            raise LatentAudioError(f"steps must be at least 1, got {self.steps}")
        check_decoder_name(self.decoder)
        check_guidance(self.cfg)
        check_seed(self.seed)
        check_loudness_target(self.lufs)
        if self.operation in NEEDS_INPUT:
            if input_seconds is None:
                raise LatentAudioError(f"{self.operation} needs input audio")
            check_input_length(input_seconds)
        if self.operation == "generate":
            check_seconds(self.seconds)
        if self.operation == "inpaint":
            if self.start is None or self.end is None:
                raise LatentAudioError("inpaint needs the region's start and end, in seconds")
            check_region(self.start, self.end, input_seconds)
        elif self.operation == "vary":
            check_strength(self.strength)
        elif self.operation == "extend":
            if self.seconds is None:
                raise LatentAudioError("extend needs the total length (seconds)")
            check_extension(self.seconds, input_seconds)
        elif self.operation == "loop":
            if self.bpm is None or self.bars is None:
                raise LatentAudioError("loop needs bpm and bars")
            check_loop(self.bpm, self.bars, self.beats_per_bar)
        seed = self.seed if self.seed is not None else secrets.randbelow(2**31)
        return Request(**self.as_dict() | {"key": canonical_key(self.key), "seed": seed})


# What each field may hold in JSON (batch lines, stored jobs): a string where text is meant, a
# number where one is, never a string for a number ("5" is refused, not guessed at).
_TEXT = {"operation", "prompt", "negative", "key", "decoder"}
_INTEGERS = {"seed", "steps", "bars", "beats_per_bar"}
_NUMBERS = {"seconds", "cfg", "bpm", "lufs", "start", "end", "strength"}
_FLAGS = {"watermark", "safety_filter"}
_OPTIONAL = {"negative", "key", "decoder", "seed", "bars", "seconds", "bpm", "start", "end"}


def _check_type(name: str, value) -> None:
    if value is None and name in _OPTIONAL:
        return
    if name in _TEXT:
        ok, wanted = isinstance(value, str), "text"
    elif name in _INTEGERS:
        ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif name in _NUMBERS:
        ok, wanted = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    else:
        ok, wanted = isinstance(value, bool), "true or false"
    if not ok:
        raise LatentAudioError(f"{name} must be {wanted}, got {json.dumps(value)}")


def render(pipe, request: Request, out: Path, *, model: dict, audio: np.ndarray | None = None,
           input_name: str | None = None, audio_format: str | None = None,
           callback: Callable[[int, int], None] | None = None,
           progress: bool = False) -> tuple[Path, dict, np.ndarray]:
    """Make ``request`` (already :meth:`~Request.check`-ed) with ``pipe`` and write it to ``out``
    (atomically, with the provenance record inside and a ``.json`` sidecar beside it). ``model``
    is :func:`latentaudio.generation.model_identity` of the pipeline's folder. Returns the path
    written, the sidecar and the audio ``(2, samples)``."""
    from latentaudio import __version__
    from latentaudio.editing import Editor
    from latentaudio.postprocess import MasteringConfig
    from latentaudio.provenance import provenance, save_output
    from latentaudio.watermark import WatermarkConfig

    r = request
    watermark = WatermarkConfig() if r.watermark else None
    common = {"seed": r.seed, "steps": r.steps, "guidance": r.cfg, "negative": r.negative,
              "key": r.key, "progress": progress}
    if r.operation == "generate":
        result = pipe(r.prompt, seconds=r.seconds, bpm=r.bpm, key=r.key,
                      negative_prompt=r.negative, num_inference_steps=r.steps,
                      guidance_scale=r.cfg, seeds=[r.seed],
                      mastering=MasteringConfig(target_lufs=r.lufs, watermark=watermark),
                      safety_check=r.safety_filter, progress=progress, callback=callback,
                      decoder=r.decoder)
        clip, spec, report = result.audios[0], result.specs[0], result.mastering[0]
        r = Request(**r.as_dict() | {"seed": result.seeds[0]})  # the seed used (silence redraws)
        details = {"operation": "generate", "lufs_target": r.lufs,
                   "silent_redraws": result.silent_redraws[0],
                   "lufs_measured": round(report.loudness_after, 2),
                   "loudness_case": report.loudness_case,
                   "true_peak_dbtp": round(report.true_peak_dbtp, 2)}
        mark = report.watermark
    else:
        editor = Editor(pipe, watermark=watermark, safety_check=r.safety_filter,
                        callback=callback, decoder=r.decoder)
        if r.operation == "inpaint":
            result = editor.inpaint(audio, r.prompt, r.start, r.end, bpm=r.bpm, **common)
        elif r.operation == "vary":
            result = editor.vary(audio, r.prompt, r.strength, bpm=r.bpm, **common)
        elif r.operation == "extend":
            result = editor.extend(audio, r.prompt, r.seconds, bpm=r.bpm, **common)
        else:
            result = editor.loop(r.prompt, r.bpm, r.bars, beats_per_bar=r.beats_per_bar,
                                 lufs=r.lufs, **common)
        clip, spec, details = result.audio, result.spec, result.details
        r = Request(**r.as_dict() | {"seed": result.seed})  # a loop's silence redraws
        mark = watermark.id if watermark is not None else None
    record = provenance(operation=r.operation, prompt=r.prompt, seed=r.seed, model=model,
                        watermark=mark)
    sidecar = {**details, "prompt": r.prompt, "caption": spec.caption, "input": input_name,
               "seconds": clip.shape[-1] / pipe.sample_rate, "bpm": spec.bpm, "key": spec.key,
               "seed": r.seed, "steps": r.steps, "cfg": r.cfg, "negative": r.negative,
               "decoder": pipe.codec.check_decoder(r.decoder),
               "sample_rate": pipe.sample_rate, "model": model,
               "latentaudio_version": __version__}
    written = save_output(out, clip, audio_format, sidecar, record)
    return written, sidecar | {"provenance": record}, clip
