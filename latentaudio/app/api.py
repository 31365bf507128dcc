"""The HTTP API and web UI (FastAPI): submit generate / inpaint / vary / extend / loop jobs, poll
them, fetch their audio, sidecar and spectrogram, cancel them.

- ``POST /v1/generate`` and ``POST /v1/loop`` take JSON; ``POST /v1/inpaint|vary|extend`` take a
  multipart form with the input as an ``audio`` file, or ``source_job`` naming an earlier job's
  output. Each answers ``202`` with the job (and a ``Location`` header).
- ``GET /v1/jobs`` (newest first), ``GET /v1/jobs/{id}``, ``DELETE /v1/jobs/{id}`` (cancel),
  ``GET /v1/jobs/{id}/audio|sidecar|spectrogram``, ``GET /v1/health``.
- Errors are ``{"error": "one line"}`` with a 4xx status: 400 unusable values or audio, 401 a
  missing or wrong API key, 404 no such job, 409 not in a state for that, 413 too large an
  upload, 422 malformed fields, 429 the queue is full (with ``Retry-After``), 503 no model.
- ``GET /`` is the web UI (one page of HTML and JavaScript in ``static/``, no build step).

Client-supplied names never become paths: inputs and outputs are stored under the data folder as
``inputs/<job id>.<ext>`` and ``outputs/<job id>.<format>``.
"""

from __future__ import annotations

import math
import secrets
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from latentaudio import request
from latentaudio.app.body_limit import BodyLimit
from latentaudio.app.store import FINISHED, Job, JobStore, new_job_id
from latentaudio.app.worker import Loader, WorkerPool
from latentaudio.errors import LatentAudioError
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


# ---------------------------------------------------------------------------------- the app
def create_app(settings: Settings, load: Loader) -> FastAPI:
    """The app; ``load`` returns ``(pipeline, model identity)`` and runs once per worker."""
    data = Path(settings.data_dir)
    store = JobStore(data / "jobs.sqlite")
    pool = WorkerPool(store, data / "outputs", load, settings.workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        (data / "inputs").mkdir(parents=True, exist_ok=True)
        # Half-written files of a server killed mid-write (save_output's temporary names).
        for orphan in [*(data / "outputs").glob(".*.part"), *(data / "inputs").glob(".*.part")]:
            orphan.unlink(missing_ok=True)
        store.requeue_interrupted()
        pool.start()
        yield
        pool.stop()

    app = FastAPI(title="latentaudio", lifespan=lifespan, responses=ERRORS,
                  description="Generate and edit stereo 44.1 kHz audio with latent diffusion. "
                  "Submit a job, poll it until it has succeeded, then fetch its audio.")
    app.state.store, app.state.pool, app.state.settings = store, pool, settings

    def openapi() -> dict:
        """The generated document, with this server's own limits where they differ from the
        bodies' static ones (--max-steps, --max-extend-seconds)."""
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            for body in schema.get("components", {}).get("schemas", {}).values():
                properties = body.get("properties", {})
                if "steps" in properties:
                    properties["steps"]["maximum"] = settings.max_steps
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    app.add_middleware(BodyLimit, upload_mb=settings.max_upload_mb)

    @app.middleware("http")
    async def _options(request: Request, call_next):
        """OPTIONS answers with every method any route allows on the path (Starlette's 405
        lists only the first route that matched the path, so GET hid DELETE)."""
        if request.method != "OPTIONS":
            return await call_next(request)
        allowed = sorted({method for route in app.routes
                          if getattr(route, "methods", None)
                          and route.matches({**request.scope, "method": "GET"})[0] != Match.NONE
                          for method in route.methods} | {"OPTIONS"})
        if allowed == ["OPTIONS"]:
            return JSONResponse({"error": f"no route {request.url.path}"}, 404)
        return Response(status_code=204, headers={"Allow": ", ".join(allowed)})

    # -- errors: always {"error": "..."} ------------------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError):
        return JSONResponse({"error": error.message}, error.status, headers=error.headers)

    @app.exception_handler(LatentAudioError)
    async def _user_error(request: Request, error: LatentAudioError):
        return JSONResponse({"error": str(error)}, 400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError):
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"] if part not in ("body", "query",
                                                                                "path"))
            problems.append(f"{where}: {item['msg']}" if where else item["msg"])
        return JSONResponse({"error": "; ".join(problems)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException):
        return JSONResponse({"error": str(error.detail)}, error.status_code,
                            headers=getattr(error, "headers", None))

    # -- the API key ----------------------------------------------------------------------------
    def authorised(request: Request) -> None:
        if settings.api_key is None:
            return
        given = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization", "")
        if given is None and bearer.lower().startswith("bearer "):
            given = bearer[7:].strip()
        # compare_digest takes str only when both are ASCII; bytes compare any header value
        # (a non-ASCII key is simply wrong, never a 500).
        if given is None or not secrets.compare_digest(given.encode("utf-8", "surrogateescape"),
                                                       settings.api_key.encode("utf-8")):
            raise ApiError(401, "a valid API key is required: send it as 'X-API-Key: KEY' or "
                           "'Authorization: Bearer KEY'", {"WWW-Authenticate": "Bearer"})

    guarded = [Depends(authorised)]

    # -- helpers --------------------------------------------------------------------------------
    def view(job: Job) -> dict:
        base = f"/v1/jobs/{job.id}"
        links = {"self": base}
        if job.status == "succeeded":
            links |= {"audio": f"{base}/audio", "sidecar": f"{base}/sidecar",
                      "spectrogram": f"{base}/spectrogram"}
        return {"id": job.id, "operation": job.operation, "status": job.status,
                "progress": round(job.progress, 4), "queue_position": (
                    store.position(job.id) if job.status == "queued" else None),
                "created": job.created, "started": job.started, "finished": job.finished,
                "cancel_requested": job.cancel_requested and job.status == "running",
                "error": job.error, "request": job.request | {"format": job.format},
                "seconds": (job.sidecar or {}).get("seconds"), "links": links}

    def model_loaded() -> None:
        if pool.load_error is not None:
            raise ApiError(503, f"the model did not load: {pool.load_error}")

    def queue_full() -> ApiError:
        """429 with Retry-After: the queue holds ``max_queue`` jobs."""
        counts = store.counts()
        per_job = store.mean_seconds() or 10.0
        wait = math.ceil(per_job * (counts["queued"] + counts["running"]) /
                         max(settings.workers, 1))
        return ApiError(429, f"the queue is full ({counts['queued']} jobs waiting): retry "
                        f"in about {wait} s", {"Retry-After": str(max(1, wait))})

    def submit(operation: str, body: Sampling, input_seconds: float | None = None,
               input_path: Path | None = None, input_name: str | None = None,
               job_id: str | None = None) -> JSONResponse:
        from latentaudio.request import Request as RenderRequest

        values = body.model_dump(exclude={"format", "source_job"})
        if body.steps > settings.max_steps:
            raise ApiError(400, f"steps {body.steps} is over this server's limit of "
                           f"{settings.max_steps}")
        request = RenderRequest.from_dict({"operation": operation, **values})
        request = request.check(input_seconds)  # one-line 400 for values it cannot use
        model_loaded()
        job = store.add(operation, request.as_dict(), body.format, job_id=job_id,
                        input_path=str(input_path) if input_path else None,
                        input_name=input_name, max_queued=settings.max_queue)
        if job is None:
            raise queue_full()
        return JSONResponse(view(job), 202, headers={"Location": f"/v1/jobs/{job.id}"})

    async def take_input(audio: UploadFile | None, source_job: str | None, job_id: str,
                         max_seconds: float) -> tuple[Path, str, float]:
        """Store the edit's input as inputs/<job id>.<ext>; returns path, name, seconds."""
        from latentaudio.audio import SAMPLE_RATE, AudioFileError, audio_info, load_audio

        if (audio is None) == (source_job is None):
            raise ApiError(400, "give the input audio as an 'audio' file or name an earlier "
                           "job in 'source_job' (one of the two)")
        if source_job is not None:
            source = store.get(source_job)
            if source is None:
                raise ApiError(404, f"no job {source_job}")
            if source.status != "succeeded":
                raise ApiError(409, f"job {source_job} has no output ({source.status})")
            if not Path(source.output_path).is_file():
                raise ApiError(410, f"job {source_job}'s output is gone from the server's disk")
            suffix, name = Path(source.output_path).suffix, f"job:{source_job}"
            path = data / "inputs" / f"{job_id}{suffix}"
            shutil.copyfile(source.output_path, path)
        else:
            suffix = Path(audio.filename or "").suffix.lower()
            suffix = suffix if suffix in INPUT_SUFFIXES else ".wav"
            name = (audio.filename or "upload")[:200]
            path = data / "inputs" / f"{job_id}{suffix}"
            limit = int(settings.max_upload_mb * 1e6)
            size = 0
            with open(path, "wb") as out:
                while chunk := await audio.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        out.close()
                        path.unlink(missing_ok=True)
                        raise ApiError(413, f"the upload is over {settings.max_upload_mb:g} MB")
                    out.write(chunk)
        try:
            # The header first: a small compressed file can hold hours of audio, which is
            # refused here, unread. Then a bounded decode, off the event loop.
            info = audio_info(path)
            if info.frames > (max_seconds + 1) * info.sample_rate:
                raise ApiError(400, f"the input is {info.frames / info.sample_rate:.1f} s long: "
                               f"at most {max_seconds:g} s")
            decoded = await run_in_threadpool(load_audio, path,
                                              duration_seconds=max_seconds + 1.0)
            seconds = decoded.shape[-1] / SAMPLE_RATE
        except AudioFileError as error:
            path.unlink(missing_ok=True)
            raise ApiError(400, f"the input audio is unusable: {error}") from None
        except ApiError:
            path.unlink(missing_ok=True)
            raise
        if seconds > max_seconds:
            path.unlink(missing_ok=True)
            raise ApiError(400, f"the input is {seconds:.1f} s long: at most {max_seconds:g} s")
        return path, name, seconds

    async def submit_edit(operation: str, form: EditForm, audio: UploadFile | None,
                          request: Request):
        unknown = sorted(set((await request.form()).keys()) - set(type(form).model_fields)
                         - {"audio"})
        if unknown:
            raise ApiError(422, f"{', '.join(unknown)}: not a field of {operation}")
        job_id = new_job_id()
        model_loaded()  # before the upload is stored
        path, name, seconds = await take_input(audio, form.source_job, job_id,
                                               settings.max_input_seconds)
        try:
            return submit(operation, form, seconds, path, name, job_id)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def job_or_404(job_id: str) -> Job:
        job = store.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id}")
        return job

    def finished_file(job_id: str) -> Job:
        job = job_or_404(job_id)
        if job.status != "succeeded":
            raise ApiError(409, f"job {job_id} is {job.status}: no output"
                           + (" yet" if job.status in ("queued", "running") else ""))
        if not Path(job.output_path).is_file():  # deleted from disk since
            raise ApiError(410, f"job {job_id}'s output is gone from the server's disk: make "
                           "it again")
        return job


    # -- routes ---------------------------------------------------------------------------------
    @app.get("/v1/health", tags=["server"])
    def health() -> dict:
        """Model state (loading, ready, failed), queue counts and limits."""
        return {"model": pool.state, "model_error": pool.load_error, "jobs": store.counts(),
                "workers": settings.workers, "max_queue": settings.max_queue,
                "max_steps": settings.max_steps, "max_upload_mb": settings.max_upload_mb,
                "api_key_required": settings.api_key is not None}

    @app.post("/v1/generate", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    def generate(body: GenerateBody):
        """Text to audio."""
        return submit("generate", body)

    @app.post("/v1/loop", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    def loop(body: LoopBody):
        """A seamless loop of exactly ``bars`` bars at ``bpm``."""
        return submit("loop", body)

    @app.post("/v1/inpaint", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    async def inpaint(form: Annotated[InpaintForm, Form()], request: Request, audio: Upload = None):
        """Regenerate the region [start, end) seconds of the input; the rest is kept. The input
        is an uploaded ``audio`` file or an earlier job's output (``source_job``), not both."""
        return await submit_edit("inpaint", form, audio, request)

    @app.post("/v1/vary", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    async def vary(form: Annotated[VaryForm, Form()], request: Request, audio: Upload = None):
        """A variation of the input (audio-to-audio). The input is an uploaded ``audio`` file
        or an earlier job's output (``source_job``), not both."""
        return await submit_edit("vary", form, audio, request)

    @app.post("/v1/extend", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    async def extend(form: Annotated[ExtendForm, Form()], request: Request, audio: Upload = None):
        """Continue the input to ``seconds`` in all. The input is an uploaded ``audio`` file or
        an earlier job's output (``source_job``), not both."""
        if form.seconds > settings.max_extend_seconds:
            raise ApiError(400, f"seconds {form.seconds:g} is over this server's limit of "
                           f"{settings.max_extend_seconds:g}")
        return await submit_edit("extend", form, audio, request)

    @app.get("/v1/jobs", response_model=list[JobView], tags=["jobs"], dependencies=guarded)
    def jobs(limit: Annotated[int, Query(ge=1, le=500)] = 50,
             status: Annotated[Literal["queued", "running", "succeeded", "failed",
                                       "cancelled"] | None, Query()] = None):
        """Jobs, newest first (the UI's history)."""
        return [view(job) for job in store.list(limit, status)]

    @app.get("/v1/jobs/{job_id}", response_model=JobView, tags=["jobs"], dependencies=guarded)
    def job(job_id: str):
        """A job's state and progress."""
        return view(job_or_404(job_id))

    @app.delete("/v1/jobs/{job_id}", response_model=JobView, tags=["jobs"],
                dependencies=guarded)
    def cancel(job_id: str):
        """Cancel: a queued job at once; a running one answers ``cancel_requested: true`` and
        ends ``cancelled`` with no output, whether at its next denoising step or after its
        last one."""
        job = job_or_404(job_id)
        if job.status in FINISHED:
            raise ApiError(409, f"job {job_id} has already {job.status}")
        return view(store.cancel(job_id))

    @app.get("/v1/jobs/{job_id}/audio", tags=["jobs"], dependencies=guarded,
             response_class=FileResponse,
             responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}})
    def audio(job_id: str):
        """The output audio (watermarked; provenance in its metadata)."""
        job = finished_file(job_id)
        return FileResponse(job.output_path, media_type=MEDIA_TYPES[job.format],
                            filename=f"latentaudio-{job.operation}-{job.id[:8]}.{job.format}")

    @app.get("/v1/jobs/{job_id}/sidecar", tags=["jobs"], dependencies=guarded)
    def sidecar(job_id: str) -> dict:
        """The output's JSON sidecar: every setting, the seed and the provenance record."""
        return finished_file(job_id).sidecar

    @app.get("/v1/jobs/{job_id}/spectrogram", tags=["jobs"], dependencies=guarded,
             response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
    def spectrogram(job_id: str):
        """A log-mel spectrogram picture of the output."""
        job = finished_file(job_id)
        picture = Path(job.output_path).with_suffix(".png")
        if not picture.is_file():
            raise ApiError(404, f"job {job_id} has no spectrogram")
        return FileResponse(picture, media_type="image/png")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
