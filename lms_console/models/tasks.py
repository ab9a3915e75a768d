"""TaskRunner: the only place in the console where threads live.

Two executors: a small pool for HTTP work and ONE thread for cache writes
(SQLite serialises writers anyway; one writer thread means no lock errors).
A job is a plain function ``fn(progress, cancel) -> result`` from the services
layer; its result or error comes back to the GUI thread through a queued
signal, carrying immutable data only.

Named jobs: starting a job with the ``name`` of a running one cancels the old
run and drops its late result (search-as-you-type, "sync again").
Progress is throttled (at most ~10 updates a second per job).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from PySide6.QtCore import QObject, Signal, Slot

from lms_console.services.lms.errors import Cancelled, LmsError
from lms_console.services.progress import CancelToken, ProgressEvent
from lms_console.services.user_errors import UserError

if TYPE_CHECKING:
    from concurrent.futures import Executor, ThreadPoolExecutor

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.1
# What a job may raise without it being a bug: the LMS's problems and the admin's input's (shown inline).
EXPECTED = (LmsError, UserError)


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobInfo(NamedTuple):
    """A snapshot of one job, as the jobs panel shows it."""

    id: int
    name: str
    label: str
    state: JobState
    started: float
    done: int = 0
    total: int = 0
    message: str = ""
    error: str = ""  # expected errors: the message; bugs: the exception text
    finished: float | None = None
    is_bug: bool = False
    quiet: bool = False  # a background read the jobs panel does not list

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


class _Job:
    __slots__ = ("info", "cancel", "on_done", "on_error", "last_emit", "keep_result")

    def __init__(self, info: JobInfo, on_done, on_error, keep_result: bool) -> None:
        self.info = info
        self.cancel = CancelToken()
        self.on_done = on_done
        self.on_error = on_error
        self.last_emit = 0.0
        self.keep_result = keep_result


class TaskRunner(QObject):
    """Runs service functions off the GUI thread.

    Signals:
        job_changed(JobInfo): a job was added, progressed or finished (throttled).
        job_failed(JobInfo, object): a job ended with an error (the error object is
            an LmsError for expected problems, anything else is a bug).
        busy_changed(bool): whether any job is running.
    """

    job_changed = Signal(object)
    job_failed = Signal(object, object)
    busy_changed = Signal(bool)
    # Internal: worker threads hand results to the GUI thread through this queued signal.
    _delivered = Signal(int, str, object)

    def __init__(self, http_workers: int = 8, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The pools (and concurrent.futures) come with the first job: the runner is made before the
        # window's first paint, the first job after it.
        self._http_workers = http_workers
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._jobs: dict[int, _Job] = {}
        self._by_name: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._delivered.connect(self._on_delivered)

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` ran (late timers must not start jobs then)."""
        return self._closed

    # -- executors for services that fan out (sync pages) ----------------------
    @property
    def http_pool(self) -> Executor:
        return self._pool("http")

    def _pool(self, kind: str) -> ThreadPoolExecutor:
        pool = self._pools.get(kind)
        if pool is None:
            if self._closed:
                raise RuntimeError("TaskRunner is shut down")
            from concurrent.futures import ThreadPoolExecutor

            with self._lock:
                pool = self._pools.get(kind)
                if pool is None:
                    pool = self._pools[kind] = (
                        ThreadPoolExecutor(max_workers=self._http_workers, thread_name_prefix="lms-http")
                        if kind == "http" else
                        ThreadPoolExecutor(max_workers=1, thread_name_prefix="lms-cache-writer"))
        return pool

    # -- public API --------------------------------------------------------------
    def run(
        self,
        name: str,
        fn: Callable[[Callable[[ProgressEvent], None], CancelToken], Any],
        *,
        label: str = "",
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        writer: bool = False,
        quiet: bool = False,
        keep_result: bool = False,
    ) -> int:
        """Start ``fn(progress, cancel)``; returns the job id.

        ``writer=True`` runs it on the cache-writer thread (anything that writes
        the cache: sync, apply); otherwise on the HTTP pool. ``quiet`` jobs (background
        reads) are not listed in the jobs panel. ``keep_result``: a job that returns
        normally after being cancelled (a sync or an apply that stopped between chunks)
        still hands its result to ``on_done`` - what it did matters.
        """
        if self._closed:
            raise RuntimeError("TaskRunner is shut down")
        old = self._by_name.get(name)
        if old is not None:
            self.cancel(old)
        job_id = next(self._ids)
        job = _Job(JobInfo(job_id, name, label or name, JobState.QUEUED, time.time(), quiet=quiet), on_done, on_error,
                   keep_result)
        with self._lock:
            self._jobs[job_id] = job
            self._by_name[name] = job_id
        self.job_changed.emit(job.info)
        self._emit_busy()
        self._pool("writer" if writer else "http").submit(self._execute, job, fn)
        return job_id

    def cancel(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None and not job.info.state.finished:
            job.cancel.cancel()

    def cancel_named(self, name: str) -> None:
        """Cancel the running job called ``name``, if any."""
        job_id = self._by_name.get(name)
        if job_id is not None:
            self.cancel(job_id)

    def cancel_all(self) -> None:
        for job_id in list(self._jobs):
            self.cancel(job_id)

    def job(self, job_id: int) -> JobInfo | None:
        job = self._jobs.get(job_id)
        return job.info if job else None

    def running(self) -> list[JobInfo]:
        return [j.info for j in self._jobs.values() if not j.info.state.finished]

    def is_running(self, name: str) -> bool:
        job_id = self._by_name.get(name)
        return job_id is not None and not self._jobs[job_id].info.state.finished

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything and stop the threads (on close, and in test teardown)."""
        self._closed = True
        self.cancel_all()
        for pool in list(self._pools.values()):
            pool.shutdown(wait=wait, cancel_futures=True)

    # -- worker side ---------------------------------------------------------------
    def _execute(self, job: _Job, fn) -> None:
        if job.cancel.cancelled:
            self._delivered.emit(job.info.id, "cancelled", None)
            return
        self._delivered.emit(job.info.id, "started", None)

        def progress(event: ProgressEvent) -> None:
            now = time.monotonic()
            if now - job.last_emit >= PROGRESS_INTERVAL_S or (event.total and event.done >= event.total):
                job.last_emit = now
                self._delivered.emit(job.info.id, "progress", event)

        try:
            result = fn(progress, job.cancel)
        except Cancelled:
            self._delivered.emit(job.info.id, "cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - every error is reported, bugs included
            if job.cancel.cancelled and not isinstance(exc, LmsError):
                self._delivered.emit(job.info.id, "cancelled", None)
                return
            if not isinstance(exc, EXPECTED):
                exc.__lms_traceback__ = traceback.format_exc()  # type: ignore[attr-defined]
            self._delivered.emit(job.info.id, "failed", exc)
        else:
            cancelled = job.cancel.cancelled
            self._delivered.emit(job.info.id, "cancelled-with-result" if cancelled and job.keep_result
                                 else "cancelled" if cancelled else "done", result)

    # -- GUI side --------------------------------------------------------------------
    @Slot(int, str, object)
    def _on_delivered(self, job_id: int, kind: str, payload: object) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        info = job.info
        superseded = self._by_name.get(info.name) != job_id
        if kind == "started":
            job.info = info._replace(state=JobState.RUNNING)
        elif kind == "progress":
            if info.state.finished:
                return
            ev: ProgressEvent = payload  # type: ignore[assignment]
            job.info = info._replace(state=JobState.RUNNING, done=ev.done, total=ev.total, message=ev.message)
        elif kind == "done":
            job.info = info._replace(state=JobState.DONE, finished=time.time(),
                                     done=info.total or info.done)
        elif kind in ("cancelled", "cancelled-with-result"):
            job.info = info._replace(state=JobState.CANCELLED, finished=time.time())
        elif kind == "failed":
            exc = payload
            job.info = info._replace(state=JobState.FAILED, finished=time.time(), error=str(exc),
                                     is_bug=not isinstance(exc, EXPECTED))
        self.job_changed.emit(job.info)
        if kind in ("done", "cancelled", "cancelled-with-result", "failed"):
            self._emit_busy()
        if kind == "cancelled-with-result":
            if job.on_done is not None:
                job.on_done(payload)
            return
        # A superseded run's late result is dropped; so is anything after cancel.
        if superseded or job.cancel.cancelled:
            return
        if kind == "done" and job.on_done is not None:
            job.on_done(payload)
        elif kind == "failed":
            self.job_failed.emit(job.info, payload)
            if job.on_error is not None:
                job.on_error(payload)  # type: ignore[arg-type]

    def _emit_busy(self) -> None:
        self.busy_changed.emit(any(not j.info.state.finished for j in self._jobs.values()))
