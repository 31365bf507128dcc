"""The workers that own the model: each loads the pipeline once, then takes the oldest queued job,
runs it through :func:`latentaudio.render.render` with a progress-and-cancel callback, and
records the result in the :class:`~latentaudio.app.store.JobStore`."""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from latentaudio.app.store import Job, JobStore
from latentaudio.errors import LatentAudioError

log = logging.getLogger("latentaudio.app")

# (pipeline, model identity for sidecars): what a worker generates with.
Loader = Callable[[], tuple[object, dict]]


class Cancelled(Exception):
    """Raised from the denoising callback when the job's cancel was asked for."""


def folder_loader(checkpoint: str | os.PathLike | None) -> Loader:
    """A loader for the pipeline in ``checkpoint`` (default: the shipped model)."""

    def load():
        from latentaudio.generation import load_pipeline, model_identity

        pipe, folder = load_pipeline(checkpoint)
        return pipe, model_identity(folder)

    return load


@dataclass
class WorkerPool:
    store: JobStore
    outputs: Path
    load: Loader
    count: int = 1
    ready: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    load_error: str | None = None
    lora_dir: Path | None = None  # where requests' adapter names are looked up
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.outputs.mkdir(parents=True, exist_ok=True)
        for index in range(self.count):
            thread = threading.Thread(target=self._run, name=f"latentaudio-worker-{index}",
                                      daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the workers to stop after their current job. A job still running when the
        process ends is queued again at the next start."""
        self.stopping.set()
        with self.store.wakeup:
            self.store.wakeup.notify_all()
        for thread in self.threads:
            thread.join(timeout)

    @property
    def state(self) -> str:
        if self.load_error is not None:
            return "failed"
        return "ready" if self.ready.is_set() else "loading"

    def _run(self) -> None:
        try:
            pipe, model = self.load()
        except Exception as error:  # reported by /v1/health and every submission
            self.load_error = str(error) if isinstance(error, LatentAudioError) else (
                f"{type(error).__name__}: {error}")
            log.error("the model did not load: %s", self.load_error)
            return
        self.ready.set()
        while not self.stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                with self.store.wakeup:
                    self.store.wakeup.wait(0.5)
                continue
            self.run_job(job, pipe, model)

    def run_job(self, job: Job, pipe, model: dict) -> None:
        from latentaudio.audio import load_audio
        from latentaudio.render import render
        from latentaudio.request import Request

        def callback(done: int, total: int) -> None:
            self.store.set_progress(job.id, 0.95 * done / max(total, 1))
            if self.store.cancel_requested(job.id) or self.stopping.is_set():
                raise Cancelled

        try:
            request = Request.from_dict(job.request)
            audio = load_audio(job.input_path) if job.input_path else None
            written, sidecar, clip = render(
                pipe, request, self.outputs / f"{job.id}.{job.format}", model=model,
                audio=audio, input_name=job.input_name, audio_format=job.format,
                callback=callback, lora_dir=self.lora_dir)
            _spectrogram(clip, self.outputs / f"{job.id}.png")
        except Cancelled:
            if self.stopping.is_set() and not self.store.cancel_requested(job.id):
                return  # shutting down: left running, so queued again at the next start
            self.store.mark_cancelled(job.id)
            log.info("job %s cancelled", job.id)
        except LatentAudioError as error:
            self.store.fail(job.id, str(error))
        except Exception as error:  # a bug: the job fails, the worker carries on
            log.error("job %s failed:\n%s", job.id, traceback.format_exc())
            self.store.fail(job.id, f"internal error: {type(error).__name__}: {error}")
        else:
            if not self.store.succeed(job.id, str(written), sidecar):  # cancelled at the end
                for made in (written, self.outputs / f"{job.id}.png",
                             written.with_name(written.name + ".json")):
                    Path(made).unlink(missing_ok=True)
                self.store.mark_cancelled(job.id)  # only once its files are gone
                log.info("job %s cancelled after its last step", job.id)


def _spectrogram(audio, png: Path) -> None:
    """A mel spectrogram picture of the output for the web UI (written whole, then renamed).
    Only a picture: if it cannot be drawn the job still succeeds (the route answers 404)."""
    from latentaudio.evaluation.report import spectrogram_png

    partial = png.with_name(png.stem + ".partial.png")
    try:
        spectrogram_png(audio, partial)
        partial.replace(png)
    except Exception:
        log.warning("no spectrogram %s:\n%s", png, traceback.format_exc())
        partial.unlink(missing_ok=True)
