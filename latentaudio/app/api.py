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

import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from latentaudio.app.body_limit import BodyLimit
from latentaudio.app.jobs import JobService
from latentaudio.app.models import (
    ERRORS,
    MEDIA_TYPES,
    STATIC,
    ApiError,
    ExtendForm,
    GenerateBody,
    InpaintForm,
    JobView,
    LoopBody,
    Settings,
    Upload,
    VaryForm,
)
from latentaudio.app.store import FINISHED, JobStore
from latentaudio.app.worker import Loader, WorkerPool
from latentaudio.errors import LatentAudioError


def create_app(settings: Settings, load: Loader) -> FastAPI:
    """The app; ``load`` returns ``(pipeline, model identity)`` and runs once per worker."""
    data = Path(settings.data_dir)
    store = JobStore(data / "jobs.sqlite")
    pool = WorkerPool(store, data / "outputs", load, settings.workers,
                      lora_dir=settings.lora_dir)
    service = JobService(settings, store, pool)

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
    _install_openapi(app, settings)
    app.add_middleware(BodyLimit, upload_mb=settings.max_upload_mb)
    _install_options(app)
    _install_error_handlers(app)
    guarded = [Depends(_api_key_check(settings))]
    _add_submission_routes(app, service, guarded)
    _add_job_routes(app, service, guarded)

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _install_openapi(app: FastAPI, settings: Settings) -> None:
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


def _install_options(app: FastAPI) -> None:
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



def _install_error_handlers(app: FastAPI) -> None:
    """Errors are always {"error": "one line"}."""
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



def _api_key_check(settings: Settings):
    """The dependency that refuses requests without the server's API key (if it has one)."""

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

    return authorised


def _add_submission_routes(app: FastAPI, service: JobService, guarded: list) -> None:
    settings, store, pool = service.settings, service.store, service.pool

    @app.get("/v1/health", tags=["server"])
    def health() -> dict:
        """Model state (loading, ready, failed), queue counts and limits."""
        return {"model": pool.state, "model_error": pool.load_error, "jobs": store.counts(),
                "workers": settings.workers, "max_queue": settings.max_queue,
                "max_steps": settings.max_steps, "max_upload_mb": settings.max_upload_mb,
                "api_key_required": settings.api_key is not None}

    @app.get("/v1/adapters", tags=["server"], dependencies=guarded)
    def adapters() -> dict:
        """The LoRA adapters in this server's --lora-dir, by name: what requests' "lora" may
        name (as NAME or NAME:STRENGTH)."""
        from latentaudio.adapters import list_adapters

        return {"adapters": list_adapters(settings.lora_dir)}

    @app.post("/v1/generate", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    def generate(body: GenerateBody):
        """Text to audio."""
        return service.submit("generate", body)

    @app.post("/v1/loop", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    def loop(body: LoopBody):
        """A seamless loop of exactly ``bars`` bars at ``bpm``."""
        return service.submit("loop", body)

    @app.post("/v1/inpaint", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    async def inpaint(form: Annotated[InpaintForm, Form()], request: Request, audio: Upload = None):
        """Regenerate the region [start, end) seconds of the input; the rest is kept. The input
        is an uploaded ``audio`` file or an earlier job's output (``source_job``), not both."""
        return await service.submit_edit("inpaint", form, audio, request)

    @app.post("/v1/vary", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    async def vary(form: Annotated[VaryForm, Form()], request: Request, audio: Upload = None):
        """A variation of the input (audio-to-audio). The input is an uploaded ``audio`` file
        or an earlier job's output (``source_job``), not both."""
        return await service.submit_edit("vary", form, audio, request)

    @app.post("/v1/extend", status_code=202, response_model=JobView, tags=["jobs"],
              dependencies=guarded)
    async def extend(form: Annotated[ExtendForm, Form()], request: Request, audio: Upload = None):
        """Continue the input to ``seconds`` in all. The input is an uploaded ``audio`` file or
        an earlier job's output (``source_job``), not both."""
        if form.seconds > settings.max_extend_seconds:
            raise ApiError(400, f"seconds {form.seconds:g} is over this server's limit of "
                           f"{settings.max_extend_seconds:g}")
        return await service.submit_edit("extend", form, audio, request)



def _add_job_routes(app: FastAPI, service: JobService, guarded: list) -> None:
    @app.get("/v1/jobs", response_model=list[JobView], tags=["jobs"], dependencies=guarded)
    def jobs(limit: Annotated[int, Query(ge=1, le=500)] = 50,
             status: Annotated[Literal["queued", "running", "succeeded", "failed",
                                       "cancelled"] | None, Query()] = None):
        """Jobs, newest first (the UI's history)."""
        return [service.view(job) for job in service.store.list(limit, status)]

    @app.get("/v1/jobs/{job_id}", response_model=JobView, tags=["jobs"], dependencies=guarded)
    def job(job_id: str):
        """A job's state and progress."""
        return service.view(service.job_or_404(job_id))

    @app.delete("/v1/jobs/{job_id}", response_model=JobView, tags=["jobs"],
                dependencies=guarded)
    def cancel(job_id: str):
        """Cancel: a queued job at once; a running one answers ``cancel_requested: true`` and
        ends ``cancelled`` with no output, whether at its next denoising step or after its
        last one."""
        job = service.job_or_404(job_id)
        if job.status in FINISHED:
            raise ApiError(409, f"job {job_id} has already {job.status}")
        return service.view(service.store.cancel(job_id))

    @app.get("/v1/jobs/{job_id}/audio", tags=["jobs"], dependencies=guarded,
             response_class=FileResponse,
             responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}})
    def audio(job_id: str):
        """The output audio (watermarked; provenance in its metadata)."""
        job = service.finished_file(job_id)
        return FileResponse(job.output_path, media_type=MEDIA_TYPES[job.format],
                            filename=f"latentaudio-{job.operation}-{job.id[:8]}.{job.format}")

    @app.get("/v1/jobs/{job_id}/sidecar", tags=["jobs"], dependencies=guarded)
    def sidecar(job_id: str) -> dict:
        """The output's JSON sidecar: every setting, the seed and the provenance record."""
        return service.finished_file(job_id).sidecar

    @app.get("/v1/jobs/{job_id}/spectrogram", tags=["jobs"], dependencies=guarded,
             response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
    def spectrogram(job_id: str):
        """A log-mel spectrogram picture of the output."""
        job = service.finished_file(job_id)
        picture = Path(job.output_path).with_suffix(".png")
        if not picture.is_file():
            raise ApiError(404, f"job {job_id} has no spectrogram")
        return FileResponse(picture, media_type="image/png")

