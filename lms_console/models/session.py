"""The open connection: its LMS client, its cache, sync, and whether the site answers.

Everything a pane shows comes from the cache, so a profile opens instantly and
works offline; the network is only touched by jobs on the TaskRunner.  The
cache writer lives on the runner's single writer thread (created there, used
there, closed there).
"""

from __future__ import annotations

import logging
import time
from enum import Enum

from PySide6.QtCore import QObject, QTimer, Signal

from typing import TYPE_CHECKING, NamedTuple

from lms_console.models.tasks import TaskRunner
from lms_console.services.lms.errors import AuthExpired, LmsError, Unreachable

if TYPE_CHECKING:
    from lms_console.services.lms.base import Capabilities, SiteInfo
    from lms_console.services.cache.db import CacheDb
    from lms_console.services.cache.writer import CacheWriter
    from lms_console.services.sync import SyncResult

# The cache (SQLAlchemy, alembic), the HTTP client (requests) and the sync engine are
# imported when a profile opens, not at start-up: the window paints first.

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (5, 10, 20, 40, 60)


class Online(str, Enum):
    UNKNOWN = "unknown"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    FAILED = "failed"  # the address answers, but not as a usable Moodle web service (not Moodle, off, redirect)


class ConnectionState(NamedTuple):
    status: Online
    since: float
    reason: str = ""
    site: str = ""


class ConnectionSession(QObject):
    """One opened profile.

    Signals:
        opened(object): a profile was opened (its Profile); the cache is readable.
        closed(): the profile was closed.
        state_changed(object): ConnectionState (online / offline since / connecting / auth failed).
        site_changed(object, object): SiteInfo and Capabilities, from the cache or the site.
        sync_started(int): a sync job started (its TaskRunner job id; progress comes through the runner).
        sync_finished(object): SyncResult of a finished or failed sync, None when it was cancelled.
        cache_changed(object): frozenset of entity names whose cached rows changed.
        problem_occurred(object): an expected error (LmsError or CacheError) to show inline.
    """

    opened = Signal(object)
    closed = Signal()
    state_changed = Signal(object)
    site_changed = Signal(object, object)
    sync_started = Signal(int)
    sync_finished = Signal(object)
    cache_changed = Signal(object)
    problem_occurred = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.profile = None
        self.db: CacheDb | None = None
        self._token = None
        self._client = None
        self._writer: CacheWriter | None = None
        self.site: "SiteInfo | None" = None
        self.capabilities: "Capabilities | None" = None
        self.state = ConnectionState(Online.UNKNOWN, time.time())
        self.last_sync: SyncResult | None = None
        self._retry_index = 0
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self.check_connection)
        self._sync_job: int | None = None
        # One more for every profile closed: what a job started for an earlier one hands back is dropped.
        self._generation = 0
        self._closed_syncs: frozenset[int] = frozenset()  # syncs of profiles closed since, maybe still stopping
        runner.job_changed.connect(self._on_job_changed)

    # -- open / close -------------------------------------------------------------
    def open(self, profile, token) -> bool:
        """Open ``profile`` (a services Profile) with its token (a Secret); False on a cache problem."""
        from lms_console.services.cache import queries
        from lms_console.services.cache.db import CacheDb
        from lms_console.services.cache.errors import CacheError
        from lms_console.services.connection import open_client

        self.close()
        try:
            # quick_check is skipped here: a big cache would delay the first window by seconds.
            self.db = CacheDb.open(profile.cache_path, check=False)
        except CacheError as exc:
            self.problem_occurred.emit(exc)
            return False
        self.profile, self._token = profile, token
        self._client = open_client(profile, token, pool_size=12)
        with self.db.read() as conn:
            site = queries.get_site_info(conn)
        if site is not None:
            self._set_site(site)
        self.opened.emit(profile)
        self.check_connection()
        return True

    def close(self) -> None:
        if self.profile is None:
            return
        self._retry.stop()
        for name in ("sync", "connection-check"):
            self.runner.cancel_named(name)
        # A sync still stopping hands back what it did, and a job started for this profile may end after it is
        # closed: that stays in this profile's own cache, it is never said of the next profile (for_this_profile).
        self._generation += 1
        self._closed_syncs = frozenset(job.id for job in self.runner.running() if job.name == "sync")
        db = self.db
        if self._client is not None:
            self._client.transport.close()
        self.profile = self._client = self._token = self.db = None
        self.site = self.capabilities = None
        self.state = ConnectionState(Online.UNKNOWN, time.time())
        if db is not None:
            # On the writer thread, after every job queued for this copy (the sync still stopping, a write
            # queued behind it), each of which may have made its writer: nothing of it stays open after this.
            self.runner.run("close-cache", lambda p, c: self._close_cache(db), writer=True)
        self.closed.emit()

    def _close_cache(self, db: "CacheDb") -> None:
        """Close ``db`` and its CacheWriter (on the writer thread, which alone uses the writer)."""
        if self._writer_db is db:
            writer, self._writer, self._writer_db = self._writer, None, None
            if writer is not None:
                writer.close()
        db.close()

    def use_token(self, profile, token=None) -> None:
        """Go on with the open profile's copy, talking to its site with ``token`` (a token just stored for it,
        e.g. after the old one was refused; None: the token it has) and ``profile``'s settings (the same site:
        its address unchanged; e.g. its service just saved), and ask the site at once: the connection state
        follows as on opening (online, token refused, offline).
        A job still running with the old token (a sync) finishes with it; its connections are closed after it."""
        from lms_console.services.connection import open_client

        if self.profile is None:
            return
        token = self._token if token is None else token
        self._retry.stop()
        self._retry_index = 0
        self.runner.cancel_named("connection-check")  # the old token's answer is not wanted any more
        old, self.profile, self._token = self._client, profile, token
        self._client = open_client(profile, token, pool_size=12)
        if self.site is not None:
            self._client.service_functions = self.site.functions
        if old is not None:  # after the writer thread's jobs (a sync) that may still use it
            self.runner.run(f"close-old-client-{id(old)}", lambda p, c: old.transport.close(), writer=True, quiet=True)
        self.check_connection()

    @property
    def is_open(self) -> bool:
        return self.profile is not None

    def for_this_profile(self, callback):
        """``callback`` (a job's on_done or on_error) made to do nothing once the profile open now is closed (or
        another opened): what a job of this profile hands back after that is not the next profile's. None: None."""
        if callback is None:
            return None
        generation, name = self._generation, self.profile.name if self.profile else ""

        def call(result):
            if generation == self._generation:
                callback(result)
            else:
                log.debug("Dropped what a job of profile %s handed back after it was closed", name)

        return call

    @property
    def client(self):
        """The LMS client of the open profile (None when closed). For jobs only: never call it
        on the GUI thread."""
        return self._client

    # -- connection state ---------------------------------------------------------------
    def check_connection(self) -> None:
        """Ask the site for its info in the background (also the offline retry)."""
        if self._client is None:
            return
        client = self._client
        # While offline the state stays "offline" during retries: it is, until the site answers.
        if self.state.status not in (Online.ONLINE, Online.OFFLINE):
            self._set_state(Online.CONNECTING)
        self.runner.run("connection-check", lambda p, c: client.site_info(cancel=c),
                        label="Connecting to the site", on_done=self.for_this_profile(self._on_site_info),
                        on_error=self.for_this_profile(self._on_connection_error))

    def _on_site_info(self, site: "SiteInfo") -> None:
        was_offline = self.state.status == Online.OFFLINE
        self._retry_index = 0
        self._set_site(site)
        self._set_state(Online.ONLINE, reason="back online" if was_offline else "")
        self.run_writer("save-site-info", lambda w: w.save_site_info(site))

    def _on_connection_error(self, exc: BaseException) -> None:
        if isinstance(exc, AuthExpired):
            self._set_state(Online.AUTH_FAILED, reason=exc.message)
            self.problem_occurred.emit(exc)
        elif isinstance(exc, Unreachable):
            self.went_offline(exc)
        elif isinstance(exc, LmsError):
            # Not offline (something answered) and no retry will change it: the profile needs fixing.
            self._set_state(Online.FAILED, reason=getattr(exc, "message", "") or str(exc))
            self.problem_occurred.emit(exc)

    def went_offline(self, exc: LmsError) -> None:
        """The site stopped answering: say so, keep the cache, retry with back-off."""
        if self.state.status != Online.OFFLINE:
            self._set_state(Online.OFFLINE, reason=str(exc))
        delay = RETRY_DELAYS_S[min(self._retry_index, len(RETRY_DELAYS_S) - 1)]
        self._retry_index += 1
        self._retry.start(delay * 1000)

    def _set_state(self, status: Online, reason: str = "") -> None:
        since = self.state.since if status == self.state.status else time.time()
        self.state = ConnectionState(status, since, reason, self.site.sitename if self.site else "")
        self.state_changed.emit(self.state)

    def _set_site(self, site: "SiteInfo") -> None:
        from lms_console.services.lms.base import capabilities_from

        self.site = site
        self.capabilities = capabilities_from(site)
        if self._client is not None:
            self._client.service_functions = site.functions
        self.site_changed.emit(site, self.capabilities)

    # -- writing through the writer thread ------------------------------------------------
    def run_writer(self, name: str, fn, *, with_progress: bool = False, **kw) -> int:
        """Run ``fn(writer)`` (or ``fn(writer, progress, cancel)``) on the writer thread with this
        profile's CacheWriter. Its ``on_done`` / ``on_error`` are called as given: wrap them in
        :meth:`for_this_profile` when a result must not reach the next profile."""
        db = self.db

        def job(progress, cancel):
            writer = self._writer_for(db)
            return fn(writer, progress, cancel) if with_progress else fn(writer)

        return self.runner.run(name, job, writer=True, **kw)

    def _writer_for(self, db):
        """The CacheWriter of ``db``; made on, and only used from, the writer thread (which also closes it, with
        its copy: :meth:`_close_cache`)."""
        from lms_console.services.cache.writer import CacheWriter

        if self._writer is None or self._writer_db is not db:
            if self._writer is not None:  # another copy's, left open: never kept past its copy's jobs
                self._writer.close()
            self._writer, self._writer_db = CacheWriter(db), db
        return self._writer

    _writer_db: "CacheDb | None" = None

    # -- sync -------------------------------------------------------------------------------
    def sync(self, entities: tuple[str, ...] | None = None, courses: tuple[int, ...] = ()) -> int | None:
        from lms_console.services.sync import SyncEngine, SyncOptions

        if self._client is None or self.db is None:
            return None
        client, db, pool = self._client, self.db, self.runner.http_pool
        options = SyncOptions(courses=tuple(courses)) if entities is None else SyncOptions(
            entities=entities, courses=tuple(courses))

        def job(progress, cancel):
            return SyncEngine(client, db, self._writer_for(db), pool, options).run(progress=progress, cancel=cancel)

        self._sync_job = self.runner.run("sync", job, label=f"Sync {self.profile.name}", writer=True,
                                         on_done=self.for_this_profile(self._on_sync_done),
                                         on_error=self.for_this_profile(self._on_sync_error),
                                         keep_result=True)
        self.sync_started.emit(self._sync_job)
        return self._sync_job

    def stale_entities(self, max_age_s: float) -> list[str]:
        """The default sync's entities the local copy has not had completely within ``max_age_s`` (a few rows
        of the cache's sync_state: cheap enough for the GUI thread)."""
        from lms_console.services.cache import queries
        from lms_console.services.sync_types import DEFAULT_ENTITIES

        if self.db is None:
            return []
        with self.db.read() as conn:
            return queries.stale_entities(conn, DEFAULT_ENTITIES, max_age_s, time.time())

    @property
    def syncing(self) -> bool:
        """Whether a sync of the open profile runs (not one of a profile closed since, still stopping)."""
        return any(job.name == "sync" and job.id not in self._closed_syncs for job in self.runner.running())

    def cancel_sync(self) -> None:
        self.runner.cancel_named("sync")

    def _on_job_changed(self, info) -> None:
        if info.id == self._sync_job and info.state.finished:
            self._sync_job = None

    def _on_sync_done(self, result: "SyncResult") -> None:
        self.last_sync = result
        self.sync_finished.emit(result)
        self.cache_changed.emit(frozenset(e.entity for e in result.entities if e.rows or e.status == "ok"))
        if result.error is not None:
            if isinstance(result.error, Unreachable):
                self.went_offline(result.error)
            else:
                self.problem_occurred.emit(result.error)
        elif self.state.status != Online.ONLINE:
            self._set_state(Online.ONLINE)

    def _on_sync_error(self, exc: BaseException) -> None:
        from lms_console.services.cache.errors import CacheError

        if isinstance(exc, (LmsError, CacheError)):
            self.problem_occurred.emit(exc)
