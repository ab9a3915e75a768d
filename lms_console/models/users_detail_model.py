"""One user for the properties dialog: the cached detail (read off the GUI thread) and the
user's journal entries as a table model."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.row_table import RowTableModel
from lms_console.services import access as A
from lms_console.services.changes import journal as J

JOURNAL_LIMIT = 500


def run_job(runner, name: str, fn, **kw) -> int | None:
    """``runner.run``, or nothing once the runner is shut down: a debounce timer may still fire
    while the console exits, and that is not a bug to report."""
    try:
        return runner.run(name, fn, **kw)
    except RuntimeError:
        if runner.closed:
            return None
        raise


def cancel_on_destroy(obj: QObject, runner, *names: str) -> None:
    """Cancel ``obj``'s named jobs when it is deleted, so their late results are dropped instead of
    reaching a deleted object (a dialog closed while it was still reading)."""
    obj.destroyed.connect(lambda *_a: [runner.cancel_named(n) for n in names])


class UserDetailLoader(QObject):
    """Reads a user's detail (account, custom fields, cohorts, groups, enrolments) from the cache.

    Signals:
        loaded(object): the UserDetail, or None when the user is not in the cache.
        failed(object): an expected error reading the cache.
    """

    loaded = Signal(object)
    failed = Signal(object)

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._name = f"user-detail-{id(self):x}"
        cancel_on_destroy(self, session.runner, self._name)

    def load(self, userid: int) -> int | None:
        db = self.session.db
        if db is None:
            self.loaded.emit(None)
            return None

        def job(p, c):
            with db.read() as conn:
                return A.user_detail(conn, userid)

        return run_job(self.session.runner, self._name, job, label="Read the user", quiet=True, on_done=self.loaded.emit,
                                       on_error=self.failed.emit)


class UserJournalModel(RowTableModel):
    """What the console changed on one user: the account, its creation, memberships, enrolments and
    roles (see ``journal(user=...)``), newest first, at most ``JOURNAL_LIMIT``.

    Signals:
        loaded(int): how many entries were read.
    """

    loaded = Signal(int)

    COLUMNS = ("Time", "Change", "Result", "By", "Message")
    RowRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._userid: int | None = None
        self._name = f"user-journal-{id(self):x}"
        cancel_on_destroy(self, session.runner, self._name)
        session.cache_changed.connect(self._on_cache_changed)

    def set_user(self, userid: int) -> int | None:
        self._userid = userid
        return self.refresh()

    def refresh(self) -> int | None:
        db, userid = self.session.db, self._userid
        if db is None or userid is None:
            self._set_rows([])
            return None

        def job(p, c):
            with db.read() as conn:
                name = conn.exec_driver_sql("SELECT username FROM users WHERE id = ?", (userid,)).scalar()
                return J.journal(conn, user=(userid, name or ""), limit=JOURNAL_LIMIT)

        return run_job(self.session.runner, self._name, job, label="Read the user's journal", quiet=True, on_done=self._set_rows)

    def _on_cache_changed(self, _entities) -> None:
        if self._userid is not None:
            self.refresh()

    def _set_rows(self, rows) -> None:
        self.replace_rows(rows)
        self.loaded.emit(len(self._rows))

    def cell(self, r: J.JournalRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return time.strftime("%Y-%m-%d %H:%M", time.localtime(r.time)) if r.time else ""
            if col == 1:
                return r.title
            if col == 2:
                return r.status.capitalize()
            if col == 3:
                return r.lms_user
            if col == 4:
                return " ".join(t for t in (f"[{r.code}]" if r.code else "", r.message) if t)
        if role == Qt.ItemDataRole.ToolTipRole and col in (1, 4):
            return f"{r.title}\nRun {r.run_id}: {r.run_title}\n{r.message}".strip()
        if role == self.RowRole:
            return r
        return None
