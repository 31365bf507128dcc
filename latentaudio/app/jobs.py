"""The API's work behind the routes: check and queue requests, store edit inputs, describe
jobs (one :class:`JobService` per app)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from fastapi import Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from latentaudio.app.models import INPUT_SUFFIXES, ApiError, EditForm, Sampling, Settings
from latentaudio.app.store import Job, JobStore, new_job_id
from latentaudio.app.worker import WorkerPool


class JobService:
    """What the routes do: check and queue requests, store edit inputs, describe jobs."""

    def __init__(self, settings: Settings, store: JobStore, pool: WorkerPool) -> None:
        self.settings, self.store, self.pool = settings, store, pool
        self.data = Path(settings.data_dir)

    def view(self, job: Job) -> dict:
        base = f"/v1/jobs/{job.id}"
        links = {"self": base}
        if job.status == "succeeded":
            links |= {"audio": f"{base}/audio", "sidecar": f"{base}/sidecar",
                      "spectrogram": f"{base}/spectrogram"}
        return {"id": job.id, "operation": job.operation, "status": job.status,
                "progress": round(job.progress, 4), "queue_position": (
                    self.store.position(job.id) if job.status == "queued" else None),
                "created": job.created, "started": job.started, "finished": job.finished,
                "cancel_requested": job.cancel_requested and job.status == "running",
                "error": job.error, "request": job.request | {"format": job.format},
                "seconds": (job.sidecar or {}).get("seconds"), "links": links}

    def model_loaded(self) -> None:
        if self.pool.load_error is not None:
            raise ApiError(503, f"the model did not load: {self.pool.load_error}")

    def queue_full(self) -> ApiError:
        """429 with Retry-After: the queue holds ``max_queue`` jobs."""
        counts = self.store.counts()
        per_job = self.store.mean_seconds() or 10.0
        wait = math.ceil(per_job * (counts["queued"] + counts["running"]) /
                         max(self.settings.workers, 1))
        return ApiError(429, f"the queue is full ({counts['queued']} jobs waiting): retry "
                        f"in about {wait} s", {"Retry-After": str(max(1, wait))})

    def submit(self, operation: str, body: Sampling, input_seconds: float | None = None,
               input_path: Path | None = None, input_name: str | None = None,
               job_id: str | None = None) -> JSONResponse:
        from latentaudio.request import Request as RenderRequest

        values = body.model_dump(exclude={"format", "source_job"})
        if body.steps > self.settings.max_steps:
            raise ApiError(400, f"steps {body.steps} is over this server's limit of "
                           f"{self.settings.max_steps}")
        request = RenderRequest.from_dict({"operation": operation, **values})
        request = request.check(input_seconds)  # one-line 400 for values it cannot use
        self.check_adapters(request.lora)
        self.model_loaded()
        job = self.store.add(operation, request.as_dict(), body.format, job_id=job_id,
                        input_path=str(input_path) if input_path else None,
                        input_name=input_name, max_queued=self.settings.max_queue)
        if job is None:
            raise self.queue_full()
        return JSONResponse(self.view(job), 202, headers={"Location": f"/v1/jobs/{job.id}"})

    def check_adapters(self, values: list[str]) -> None:
        """Adapters by name, from this server's --lora-dir only."""
        if not values:
            return
        from latentaudio.adapters import resolve

        if self.settings.lora_dir is None:
            raise ApiError(400, "this server has no LoRA adapters (start it with --lora-dir DIR)")
        for adapter in resolve(values, self.settings.lora_dir):
            adapter.check()

    async def take_input(self, audio: UploadFile | None, source_job: str | None, job_id: str,
                         max_seconds: float) -> tuple[Path, str, float]:
        """Store the edit's input as inputs/<job id>.<ext>; returns path, name, seconds."""
        from latentaudio.audio import SAMPLE_RATE, AudioFileError, audio_info, load_audio

        if (audio is None) == (source_job is None):
            raise ApiError(400, "give the input audio as an 'audio' file or name an earlier "
                           "job in 'source_job' (one of the two)")
        if source_job is not None:
            source = self.store.get(source_job)
            if source is None:
                raise ApiError(404, f"no job {source_job}")
            if source.status != "succeeded":
                raise ApiError(409, f"job {source_job} has no output ({source.status})")
            if not Path(source.output_path).is_file():
                raise ApiError(410, f"job {source_job}'s output is gone from the server's disk")
            suffix, name = Path(source.output_path).suffix, f"job:{source_job}"
            path = self.data / "inputs" / f"{job_id}{suffix}"
            shutil.copyfile(source.output_path, path)
        else:
            suffix = Path(audio.filename or "").suffix.lower()
            suffix = suffix if suffix in INPUT_SUFFIXES else ".wav"
            name = (audio.filename or "upload")[:200]
            path = self.data / "inputs" / f"{job_id}{suffix}"
            limit = int(self.settings.max_upload_mb * 1e6)
            size = 0
            with open(path, "wb") as out:
                while chunk := await audio.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        out.close()
                        path.unlink(missing_ok=True)
                        raise ApiError(413, "the upload is over "
                                       f"{self.settings.max_upload_mb:g} MB")
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

    async def submit_edit(self, operation: str, form: EditForm, audio: UploadFile | None,
                          request: Request):
        unknown = sorted(set((await request.form()).keys()) - set(type(form).model_fields)
                         - {"audio"})
        if unknown:
            raise ApiError(422, f"{', '.join(unknown)}: not a field of {operation}")
        job_id = new_job_id()
        self.model_loaded()  # before the upload is stored
        path, name, seconds = await self.take_input(audio, form.source_job, job_id,
                                               self.settings.max_input_seconds)
        try:
            return self.submit(operation, form, seconds, path, name, job_id)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def job_or_404(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id}")
        return job

    def finished_file(self, job_id: str) -> Job:
        job = self.job_or_404(job_id)
        if job.status != "succeeded":
            raise ApiError(409, f"job {job_id} is {job.status}: no output"
                           + (" yet" if job.status in ("queued", "running") else ""))
        if not Path(job.output_path).is_file():  # deleted from disk since
            raise ApiError(410, f"job {job_id}'s output is gone from the server's disk: make "
                           "it again")
        return job


