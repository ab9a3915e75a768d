"""What the landing pane shows: counts, freshness per entity, the last sync, the capability map."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from lms_console.models.session import ConnectionSession

if TYPE_CHECKING:
    from lms_console.services.cache.queries import SyncRun, SyncStateRow

# While a sync writes the cache, what counts its rows is read again at most this often: a 100,000-user sync
# reports progress ten times a second, and counting every time would keep a reader busy all sync long.
FOLLOW_SYNC_INTERVAL_MS = 3000


@dataclass(frozen=True, slots=True)
class OverviewData:
    counts: dict[str, int]
    freshness: "dict[str, SyncStateRow]"
    last_run: "SyncRun | None"
    syncing: bool = False  # a sync of the open profile runs: ``last_run`` may be that sync, still writing


def load_overview(db) -> OverviewData:
    from lms_console.services.cache import queries

    with db.read() as conn:
        return OverviewData(queries.counts(conn), queries.freshness(conn), queries.last_run(conn))


class FollowSync(QObject):
    """Calls ``refresh`` while a sync of the open profile writes its cache: at most once every
    ``FOLLOW_SYNC_INTERVAL_MS`` as the sync progresses, and once when it ends (done, cancelled or failed: what it
    wrote stays). The session says ``cache_changed`` only when a sync is over.

    Signals: none.
    """

    def __init__(self, session: ConnectionSession, refresh: Callable[[], None], parent: QObject | None = None,
                 interval_ms: int = FOLLOW_SYNC_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._refresh = refresh
        self._sync: int | None = None  # the job id of the open profile's sync
        self._timer = QTimer(self, singleShot=True, interval=interval_ms)
        self._timer.timeout.connect(self._on_timeout)
        session.sync_started.connect(self._on_sync_started)
        session.closed.connect(self._forget)
        session.runner.job_changed.connect(self._on_job_changed)

    @property
    def following(self) -> bool:
        return self._sync is not None

    def _on_sync_started(self, job_id: int) -> None:
        self._sync = job_id
        self._refresh()  # says at once that a sync runs

    def _on_job_changed(self, info) -> None:
        if info.id != self._sync:
            return
        if info.state.finished:
            self._forget()
            self._refresh()
        elif not self._timer.isActive():
            self._timer.start()

    def _on_timeout(self) -> None:
        if self._sync is not None:
            self._refresh()

    def _forget(self) -> None:
        self._sync = None
        self._timer.stop()


class OverviewModel(QObject):
    """Reads the overview from the cache off the GUI thread whenever the cache changes, and as a sync writes it.

    Signals:
        loaded(object): OverviewData.
    """

    loaded = Signal(object)

    def __init__(self, session: ConnectionSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.data: OverviewData | None = None
        session.opened.connect(self._on_session_event)
        session.cache_changed.connect(self._on_session_event)
        session.sync_finished.connect(self._on_session_event)
        self.follower = FollowSync(session, self.refresh, self)

    def _on_session_event(self, _arg) -> None:
        self.refresh()

    def refresh(self) -> None:
        db = self.session.db
        if db is None:
            return
        self.session.runner.run("overview", lambda p, c: load_overview(db), label="Read overview",
                                quiet=True, on_done=self.session.for_this_profile(self._on_loaded))

    def _on_loaded(self, data: OverviewData) -> None:
        # Whether a sync runs is asked as the counts arrive: a read that ends after the sync did is not "syncing".
        self.data = replace(data, syncing=self.session.syncing)
        self.loaded.emit(self.data)
