"""The access check on the Qt side: ask the site about the user, check, store what it said.

The site's answer is overlaid on the cache for the check itself, so the report never waits for
the cache-writer thread (a sync can hold it for minutes); the answer is written afterwards.
Offline, the check runs on the cached data and says so.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lms_console.models.users_detail_model import cancel_on_destroy, run_job
from lms_console.services import access as A
from lms_console.services.lms.errors import Cancelled, LmsError


class AccessChecker(QObject):
    """Runs "why can't X get in?" for a user (and optionally a course).

    Signals:
        checked(object): the AccessReport.
        failed(str): the check could not run (no profile open, user unknown), in plain words.
        refreshed(): the site's answer was written to the cache.
        found(object): (user id, label) for what the admin typed, or None (nobody, or several).
    """

    checked = Signal(object)
    failed = Signal(str)
    refreshed = Signal()
    found = Signal(object)

    def __init__(self, session, engine=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.engine = engine
        self._name = f"access-check-{id(self):x}"
        cancel_on_destroy(self, session.runner, self._name, f"{self._name}-find", f"{self._name}-store")

    def check(self, userid: int, courseid: int | None = None, *, refresh: bool = True) -> int | None:
        db = self.session.db
        if db is None:
            self.failed.emit("Open a connection profile first.")
            return None
        # The session's client (no public accessor yet); None offline or before a profile opens.
        client = self.session.client if refresh else None

        def job(progress, cancel):
            fresh, problem = None, ""
            if client is not None:
                try:
                    fresh = A.fetch_fresh(client, userid, cancel)
                except Cancelled:
                    raise
                except LmsError as exc:
                    problem = f"The site did not answer ({exc.message}); this check uses the local copy."
            elif refresh:
                problem = "Not connected to the site; this check uses the local copy."
            with db.read() as conn:
                report = A.access_report(conn, userid, courseid, fresh=fresh, refresh_problem=problem)
            return report, fresh

        # The report and the site's answer are of the profile open now: once it is closed neither is shown nor
        # written (into the next profile's copy).
        mine = self.session.for_this_profile
        return run_job(self.session.runner, self._name, job, label="Check access", on_done=mine(self._done),
                       on_error=mine(lambda e: self.failed.emit(str(e))))

    def find(self, text: str) -> int | None:
        """Which user ``text`` (id, username, email or a unique search) names; emits ``found``."""
        db = self.session.db
        if db is None:
            self.found.emit(None)
            return None

        def job(progress, cancel):
            with db.read() as conn:
                return A.find_user(conn, text)

        return run_job(self.session.runner, f"{self._name}-find", job, label="Find the user",
                       on_done=self.session.for_this_profile(self.found.emit))

    def _done(self, result) -> None:
        report, fresh = result
        if report is None:
            self.failed.emit("This user is not in the local copy (deleted, or not synced yet).")
            return
        self.checked.emit(report)
        if fresh is not None and fresh.user is not None:
            self.session.run_writer(f"{self._name}-store", lambda w: A.write_fresh(w, fresh),
                                    label="Store the refreshed user",
                                    on_done=self.session.for_this_profile(self._written))

    def _written(self, _result) -> None:
        self.refreshed.emit()
        self.session.cache_changed.emit(frozenset({"users", "enrolments", "course_progress"}))

    def fix(self, reason: A.Reason, report: A.AccessReport) -> int | None:
        """Plan the reason's one-click fix (the preview opens through the engine)."""
        if not reason.fixes or self.engine is None:
            return None
        return self.engine.plan(list(reason.fixes), title=f"{reason.fix_label}: {report.label}")
