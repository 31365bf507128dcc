"""The server's jobs, kept in SQLite so that a restart loses no queued or finished job.

One row per job: what was asked (the :class:`~latentaudio.render.Request` as JSON), where its
input and output files are (names the server chose, under its data folder), its state and
progress. States: ``queued`` -> ``running`` -> ``succeeded`` | ``failed`` | ``cancelled``; a
queued job can be cancelled at once, a running one at its next denoising step.

The file is opened in WAL mode and every call takes a short lock, so the API's threads and the
workers share one store safely. A job that was ``running`` when the server stopped is queued again
at the next start (its partial work is lost, its request is not).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    operation TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    format TEXT NOT NULL,
    input_path TEXT,
    input_name TEXT,
    output_path TEXT,
    sidecar TEXT,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL
)"""


@dataclass
class Job:
    id: str
    operation: str
    status: str
    request: dict
    format: str
    input_path: str | None
    input_name: str | None
    output_path: str | None
    sidecar: dict | None
    progress: float
    error: str | None
    cancel_requested: bool
    created: float
    started: float | None
    finished: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        values = dict(row)
        values.pop("seq")
        values["request"] = json.loads(values["request"])
        values["sidecar"] = json.loads(values["sidecar"]) if values["sidecar"] else None
        values["cancel_requested"] = bool(values["cancel_requested"])
        return cls(**values)


class JobStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self.wakeup = threading.Condition()  # notified when a job is queued

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, parameters=()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, parameters)

    # ------------------------------------------------------------------------------- writes
    def add(self, operation: str, request: dict, audio_format: str, *,
            input_path: str | None = None, input_name: str | None = None,
            job_id: str | None = None, max_queued: int | None = None) -> Job | None:
        """Queue a job; None, and nothing queued, when ``max_queued`` jobs already wait. The
        count and the insert are one transaction: a burst of requests cannot overfill it."""
        job_id = job_id or new_job_id()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                waiting = self._db.execute(
                    "SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()[0]
                full = max_queued is not None and waiting >= max_queued
                if not full:
                    self._db.execute(
                        "INSERT INTO jobs (id, operation, status, request, format, input_path, "
                        "input_name, created) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                        (job_id, operation, json.dumps(request), audio_format, input_path,
                         input_name, time.time()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if full:
            return None
        with self.wakeup:
            self.wakeup.notify_all()
        return self.get(job_id)

    def claim_next(self) -> Job | None:
        """The oldest queued job, now marked running; None when none waits."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT id FROM jobs WHERE status = 'queued' "
                                       "ORDER BY seq LIMIT 1").fetchone()
                if row is not None:
                    self._db.execute("UPDATE jobs SET status = 'running', started = ?, "
                                     "progress = 0 WHERE id = ?", (time.time(), row["id"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return None if row is None else self.get(row["id"])

    def set_progress(self, job_id: str, progress: float) -> None:
        self._execute("UPDATE jobs SET progress = ? WHERE id = ? AND status = 'running'",
                      (float(progress), job_id))

    def succeed(self, job_id: str, output_path: str, sidecar: dict) -> bool:
        """Mark the job done, unless a cancel was asked for meanwhile: then it stays running
        until the worker has removed its files and calls :meth:`mark_cancelled` (what DELETE
        answered holds even for a job past its last denoising step, and a client that sees
        "cancelled" finds no output). Returns whether it succeeded."""
        return self._execute(
            "UPDATE jobs SET status = 'succeeded', progress = 1, output_path = ?, sidecar = ?, "
            "finished = ? WHERE id = ? AND cancel_requested = 0",
            (output_path, json.dumps(sidecar), time.time(), job_id)).rowcount == 1

    def fail(self, job_id: str, error: str) -> None:
        self._execute("UPDATE jobs SET status = 'failed', error = ?, finished = ? WHERE id = ?",
                      (error, time.time(), job_id))

    def mark_cancelled(self, job_id: str) -> None:
        self._execute("UPDATE jobs SET status = 'cancelled', finished = ? WHERE id = ?",
                      (time.time(), job_id))

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job now, or ask a running one to stop; finished jobs are left as
        they are. Returns the job as it then stands (None if unknown)."""
        with self._lock:
            self._db.execute("UPDATE jobs SET status = 'cancelled', finished = ? "
                             "WHERE id = ? AND status = 'queued'", (time.time(), job_id))
            self._db.execute("UPDATE jobs SET cancel_requested = 1 "
                             "WHERE id = ? AND status = 'running'", (job_id,))
        return self.get(job_id)

    def requeue_interrupted(self) -> int:
        """At start-up: jobs left running by a stopped server are queued again."""
        cursor = self._execute("UPDATE jobs SET status = 'queued', progress = 0, started = NULL "
                               "WHERE status = 'running' AND cancel_requested = 0")
        self._execute("UPDATE jobs SET status = 'cancelled', finished = ? "
                      "WHERE status = 'running'", (time.time(),))
        return cursor.rowcount

    # -------------------------------------------------------------------------------- reads
    def get(self, job_id: str) -> Job | None:
        row = self._execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else Job.from_row(row)

    def cancel_requested(self, job_id: str) -> bool:
        row = self._execute("SELECT cancel_requested FROM jobs WHERE id = ?",
                            (job_id,)).fetchone()
        return bool(row and row[0])

    def list(self, limit: int = 50, status: str | None = None) -> list[Job]:
        """Newest first."""
        if status is None:
            rows = self._execute("SELECT * FROM jobs ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._execute("SELECT * FROM jobs WHERE status = ? ORDER BY seq DESC "
                                 "LIMIT ?", (status, limit))
        return [Job.from_row(row) for row in rows.fetchall()]

    def counts(self) -> dict[str, int]:
        rows = self._execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {state: 0 for state in STATES} | {row[0]: row[1] for row in rows}

    def position(self, job_id: str) -> int:
        """How many queued jobs are ahead of this (queued) one: 0 is next."""
        row = self._execute(
            "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND seq < "
            "(SELECT seq FROM jobs WHERE id = ?)", (job_id,)).fetchone()
        return row[0]

    def mean_seconds(self, last: int = 20) -> float | None:
        """Mean run time of the last ``last`` succeeded jobs."""
        row = self._execute(
            "SELECT AVG(finished - started) FROM (SELECT finished, started FROM jobs "
            "WHERE status = 'succeeded' AND started IS NOT NULL ORDER BY seq DESC LIMIT ?)",
            (last,)).fetchone()
        return row[0]


def new_job_id() -> str:
    return uuid.uuid4().hex
