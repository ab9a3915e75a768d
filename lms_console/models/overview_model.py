"""What the landing pane shows: counts, freshness per entity, the last sync, the capability map."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from typing import TYPE_CHECKING

from lms_console.models.session import ConnectionSession

if TYPE_CHECKING:
    from lms_console.services.cache.queries import SyncRun, SyncStateRow


@dataclass(frozen=True, slots=True)
class OverviewData:
    counts: dict[str, int]
    freshness: "dict[str, SyncStateRow]"
    last_run: "SyncRun | None"


def load_overview(db) -> OverviewData:
    from lms_console.services.cache import queries

    with db.read() as conn:
        return OverviewData(queries.counts(conn), queries.freshness(conn), queries.last_run(conn))


class OverviewModel(QObject):
    """Reads the overview from the cache off the GUI thread whenever the cache changes.

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

    def _on_session_event(self, _arg) -> None:
        self.refresh()

    def refresh(self) -> None:
        db = self.session.db
        if db is None:
            return
        self.session.runner.run("overview", lambda p, c: load_overview(db), label="Read overview",
                                quiet=True, on_done=self.session.for_this_profile(self._on_loaded))

    def _on_loaded(self, data: OverviewData) -> None:
        self.data = data
        self.loaded.emit(data)
