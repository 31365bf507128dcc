"""The one request model: what the command line, batch lines, the API's workers and the song
path ask for, as one pydantic model (FastAPI's own). :meth:`Request.from_dict` reads JSON-like
values with strict types (a string is never taken for a number); :meth:`Request.check` refuses
values an operation cannot use, in one line, before any model loads. The API's bodies are built
from :class:`Sampling`, so the fields and their meaning are written once.
"""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from latentaudio.adapters import MAX_ADAPTERS, AdapterSpec
from latentaudio.errors import LatentAudioError
from latentaudio.limits import (
    GENERATE_SECONDS,
    check_guidance,
    check_loudness_target,
    check_prompt,
    check_seconds,
    check_seed,
)

OPERATIONS = ("generate", "inpaint", "vary", "extend", "loop", "song")
NEEDS_INPUT = ("inpaint", "vary", "extend")
FORMATS = ("wav", "flac", "ogg", "mp3")
Decoder = Literal["hybrid", "vocoder", "griffin-lim"]  # latentaudio.decoders.DECODERS


class Sampling(BaseModel):
    """What every operation takes: the words and how to sample."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field("", max_length=2000, description="what to make, in words")
    seed: int | None = Field(None, description="default: a fresh one")
    steps: int = Field(12, description="denoising steps")
    cfg: float = Field(4.0, description="classifier-free guidance scale (1 = none)")
    negative: str | None = Field(None, max_length=2000, description="what to avoid")
    bpm: float | None = Field(None, description="tempo for music")
    key: str | None = Field(None, max_length=32, description='key, e.g. "A minor"')
    decoder: Decoder | None = Field(None, description="how the model's mel becomes audio "
                                    "(default: hybrid)")
    lora: list[str] = Field(default_factory=list, max_length=MAX_ADAPTERS,
                            description="LoRA adapters, each ADAPTER[:STRENGTH] (strength "
                            "default 1, 0 = off); the API takes adapter names from the "
                            "server's --lora-dir")


class Request(Sampling):
    """What to make; fields an operation does not use are ignored by it."""

    operation: Literal[OPERATIONS] = "generate"
    seconds: float | None = Field(None, description="generate and song: duration; extend: "
                                  "total length")
    tempo_cfg: float | None = Field(None, description="generate: the tempo's own guidance "
                                    "scale (default: 1.75 x cfg)")
    key_cfg: float | None = Field(None, description="the key's own guidance scale "
                                  "(default: generate 1.75 x cfg; song: cfg)")
    lufs: float = Field(-14.0, description="loudness target (generate, loop, song); edits keep "
                        "the input's loudness")
    start: float | None = Field(None, description="inpaint region start, seconds")
    end: float | None = Field(None, description="inpaint region end, seconds")
    strength: float = Field(0.5, description="vary: 0 keeps the input, 1 ignores it")
    bars: int | None = Field(None, description="loop length in bars")
    beats_per_bar: int = 4
    lyrics: str | None = Field(None, description="song: the words to sing")
    watermark: bool = True
    safety_filter: bool = True

    @classmethod
    def from_dict(cls, values: dict) -> Request:
        """A request from JSON-like values; an unknown name or a value of the wrong type is a
        one-line error."""
        try:
            return cls.model_validate(values, strict=True)
        except ValidationError as error:
            raise LatentAudioError(_one_line(error, values)) from None

    def as_dict(self) -> dict:
        return self.model_dump()

    def replace(self, **changes) -> Request:
        return self.model_copy(update=changes)

    def check(self, input_seconds: float | None = None, *, wordless: bool = False) -> Request:
        """Raise a one-line :class:`LatentAudioError` for values the operation cannot use;
        returns the request with its key spelt canonically and a seed chosen. ``wordless``: a
        style reference stands for the prompt, which may be empty."""
        from latentaudio.conditioning.prompt import canonical_key
        from latentaudio.editing import (
            check_extension,
            check_input_length,
            check_loop,
            check_region,
            check_strength,
        )
        from latentaudio.limits import SONG_SECONDS

        music = self.operation == "song"
        check_prompt(self.prompt, safety_check=self.safety_filter, allow_empty=wordless,
                     what="music" if music else "sound")
        if music:
            check_prompt(self.lyrics, safety_check=self.safety_filter, allow_empty=True)
        if self.steps < 1:
            raise LatentAudioError(f"steps must be at least 1, got {self.steps}")
        for value in self.lora:
            AdapterSpec.parse(value)
        for scale in (self.cfg, self.tempo_cfg, self.key_cfg):
            if scale is not None:
                check_guidance(scale)
        check_seed(self.seed)
        check_loudness_target(self.lufs)
        if self.operation in NEEDS_INPUT:
            if input_seconds is None:
                raise LatentAudioError(f"{self.operation} needs input audio")
            check_input_length(input_seconds)
        if self.operation in ("generate", "song"):
            check_seconds(self.seconds, SONG_SECONDS if music else GENERATE_SECONDS)
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
        return self.replace(key=canonical_key(self.key), seed=seed)


# pydantic's error types -> what the value must be, in the words of a one-line error.
_WANTED = {"string_type": "text", "int_type": "a whole number", "int_from_float": "a whole number",
           "float_type": "a number", "bool_type": "true or false"}


def _one_line(error: ValidationError, values: dict) -> str:
    import json

    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "request"
    if first["type"] == "extra_forbidden":
        unknown = sorted(set(values) - set(Request.model_fields))
        return (f"unknown field(s) {', '.join(unknown)}: known are "
                f"{', '.join(sorted(Request.model_fields))}")
    if first["type"] in _WANTED:
        return f"{name} must be {_WANTED[first['type']]}, got {json.dumps(values.get(name))}"
    if first["type"] == "literal_error":
        return f"unknown {name} {values.get(name)!r}: use one of {first['ctx']['expected']}"
    return f"{name}: {first['msg']}"
