"""The API's settings, errors and request/response bodies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import File, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from latentaudio import request
from latentaudio.limits import GENERATE_SECONDS, GUIDANCE_RANGE, LOUDNESS_TARGET_RANGE, SEED_LIMIT

STATIC = Path(__file__).parent / "static"
JOB_ID = r"^[0-9a-f]{32}$"
INPUT_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MEDIA_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "mp3": "audio/mpeg"}


@dataclass
class Settings:
    """What the server allows; ``latentaudio serve --help`` sets these."""

    data_dir: Path
    api_key: str | None = None
    workers: int = 1  # 0: accept and queue jobs, run none (a front end; tests)
    max_queue: int = 32  # queued jobs; one more is answered 429
    max_steps: int = 100
    max_upload_mb: float = 50.0
    max_input_seconds: float = 120.0  # inputs of inpaint / vary / extend
    max_extend_seconds: float = 180.0  # extend's total length
    lora_dir: Path | None = None  # LoRA adapters requests may name (folders in it)


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


# ------------------------------------------------------------------------------- the bodies
Format = Literal["wav", "flac", "ogg", "mp3"]
Upload = Annotated[UploadFile | None, File(description="input audio (wav, flac, ogg, mp3)")]


class Sampling(request.Sampling):
    """latentaudio.request's fields, with the bounds this API documents (limits.py's)."""

    prompt: str = Field(min_length=1, max_length=2000, description="what to make, in words")
    seed: int | None = Field(None, ge=0, lt=SEED_LIMIT, description="default: a fresh one")
    steps: int = Field(12, ge=1, le=1000, description="denoising steps")
    cfg: float = Field(4.0, ge=GUIDANCE_RANGE[0], le=GUIDANCE_RANGE[1],
                       description="classifier-free guidance scale (1 = none)")
    bpm: float | None = Field(None, gt=0, le=400, description="tempo for music")
    format: Format = Field("wav", description="audio format of the output")


class GenerateBody(Sampling):
    seconds: float | None = Field(None, ge=GENERATE_SECONDS[0], le=GENERATE_SECONDS[1],
                                  description="duration (default: from the prompt, else 10)")
    lufs: float = Field(-14.0, ge=LOUDNESS_TARGET_RANGE[0], le=LOUDNESS_TARGET_RANGE[1],
                      description="loudness target, LUFS")


class LoopBody(Sampling):
    bpm: float = Field(gt=0, le=400, description="tempo")
    bars: int = Field(ge=1, le=64, description="loop length in bars")
    beats_per_bar: int = Field(4, ge=1, le=16)
    lufs: float = Field(-14.0, ge=LOUDNESS_TARGET_RANGE[0], le=LOUDNESS_TARGET_RANGE[1],
                        description="loudness target, LUFS")


class EditForm(Sampling):
    # Form fields arrive with the file among them: unknown names are checked by hand.
    model_config = ConfigDict(extra="ignore")

    source_job: str | None = Field(None, pattern=JOB_ID,
                                   description="edit this earlier job's output instead of an "
                                   "uploaded file: give 'audio' or 'source_job', not both")


class InpaintForm(EditForm):
    start: float = Field(ge=0.0, description="region start, seconds")
    end: float = Field(gt=0.0, description="region end, seconds")


class VaryForm(EditForm):
    strength: float = Field(0.5, ge=0.0, le=1.0, description="0 keeps the input, 1 ignores it")


class ExtendForm(EditForm):
    seconds: float = Field(gt=0.0, description="total length of the output, seconds")


class JobView(BaseModel):
    id: str
    operation: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    cancel_requested: bool = Field(description="a running job asked to stop: it will end "
                                   "'cancelled', with no output")
    progress: float = Field(description="0 to 1")
    queue_position: int | None = Field(description="queued jobs ahead of this one")
    created: float
    started: float | None
    finished: float | None
    error: str | None
    request: dict[str, Any]
    seconds: float | None = Field(description="length of the output")
    links: dict[str, str]


class ErrorView(BaseModel):
    error: str


ERRORS = {status: {"model": ErrorView}
          for status in (400, 401, 404, 409, 410, 413, 422, 429, 503)}


