"""The main window's status bar and what it says about the connection, the sync and problems.

:class:`StatusBarMixin` builds the status bar (connection indicator, freshness, sync progress, outbox
and jobs indicators) and holds the window's reactions to the session's connection state, the sync's
progress and the problems it reports (an inline banner with Retry). The window's own widgets it uses
(``self.banner``, ``self.overview``, ``self.sync_action``, ``self.session``) are built by
:class:`~lms_console.views.main_window.MainWindow`.

Like the window's frame, it imports its widgets and models when first used, not at import time.
"""

from __future__ import annotations

import time

SYNC_NOT_FINISHED = "The last sync did not finish; press F5 to sync again."
# What the sync label says about a sync that did not go through (see _on_sync_finished).
SYNC_FAILURES = ("Sync failed.", "Sync partial.", SYNC_NOT_FINISHED)


class StatusBarMixin:
    """The status bar of :class:`~lms_console.views.main_window.MainWindow` and its reactions."""

    def _build_status_bar(self) -> None:
        from PySide6.QtWidgets import QLabel

        from lms_console.views.widgets.status_widgets import (
            ConnectionIndicator,
            FreshnessLabel,
            JobsIndicator,
            OutboxIndicator,
        )

        bar = self.statusBar()
        self.connection_indicator = ConnectionIndicator()
        self.freshness_label = FreshnessLabel()
        self.jobs_indicator = JobsIndicator()
        self.jobs_indicator.track(self.session.runner)
        self.outbox_indicator = OutboxIndicator()
        self.sync_label = QLabel()
        self.sync_label.setObjectName("SyncProgressLabel")
        bar.addWidget(self.connection_indicator)
        bar.addWidget(self.freshness_label)
        bar.addWidget(self.sync_label, 1)
        bar.addPermanentWidget(self.outbox_indicator)
        bar.addPermanentWidget(self.jobs_indicator)
        # Another profile (or none): what the last one's sync did is not said of it.
        self.session.opened.connect(self.forget_sync_failure)
        self.session.closed.connect(self.forget_sync_failure)
        self._sync_job: int | None = None  # the open profile's sync (its progress is shown), None when none runs
        self.session.closed.connect(self._forget_sync_job)

    # -- problems ---------------------------------------------------------------------
    def show_problem(self, exc) -> None:
        """Expected problems as an inline banner with the LMS's code, a plain explanation and Retry."""
        from lms_console.services.lms.errors import Cancelled, LmsError

        if isinstance(exc, Cancelled):
            return
        from lms_console.services.user_errors import UserError

        if isinstance(exc, LmsError):
            self.banner.show_error(exc, retry=self._retry)
        elif isinstance(exc, UserError):  # what was asked for cannot be done: said in plain words
            self.banner.show_message("warning", str(exc))
        else:  # CacheError: a damaged or newer cache file
            self.banner.show_message("error", getattr(exc, "message", str(exc)), details=getattr(exc, "hint", ""),
                                     title="The local copy cannot be used")

    def _retry(self) -> None:
        from lms_console.models.session import Online

        self.banner.clear()
        if self.session.state.status in (Online.OFFLINE, Online.AUTH_FAILED, Online.FAILED, Online.UNKNOWN):
            self.session.check_connection()
        else:
            self.request_sync()

    # -- connection and sync -----------------------------------------------------------
    def _on_state(self, state) -> None:
        from lms_console.models.session import Online

        ind = self.connection_indicator
        if state.status == Online.ONLINE:
            ind.set_online(state.site)
            if state.reason == "back online":
                self.banner.show_notice(f"{state.site or 'The site'} answers again: back online.")
                if self.sync_label.text() == "Sync failed.":  # it failed while the site was away
                    self.sync_label.setText(SYNC_NOT_FINISHED)
            elif self.banner.level == "warning":
                self.banner.clear()
        elif state.status == Online.OFFLINE:
            ind.set_offline(state.since, state.reason)
            self.banner.show_message(
                "warning", f"Offline since {time.strftime('%H:%M', time.localtime(state.since))}: "
                           "the site does not answer. Everything cached stays browsable; the console keeps "
                           "trying in the background.", details=state.reason,
                title="Working offline", retry=self.session.check_connection)
        elif state.status == Online.CONNECTING:
            ind.set_connecting(state.site)
        elif state.status == Online.AUTH_FAILED:
            # The site answers: it is the token it refuses. Signing in again (Profiles…) is the way out.
            ind.set_token_rejected(state.site, state.reason)
        elif state.status == Online.FAILED:
            ind.set_failed(state.reason)
        self.overview.follow_state(state)
        self.sync_action.setEnabled(state.status != Online.OFFLINE)

    def forget_sync_failure(self, *_args) -> None:
        """The connection the last sync failed on was replaced (another profile opened, or none; a new token
        or settings the site accepts): the status bar stops saying it failed, the freshness label says how
        old the copy is. A sync that fails on the connection in use says so again."""
        if self.sync_label.text() in SYNC_FAILURES:
            self.sync_label.clear()

    def _on_connection_clicked(self) -> None:
        """The status bar's connection indicator: sign in again when the token was rejected (or none is
        stored), check the connection otherwise."""
        if self.connection_indicator.state() in ("rejected", "token", "none"):
            self.profiles_requested.emit()
        else:
            self.session.check_connection()

    def _on_sync_started(self, job_id: int) -> None:
        self._sync_job = job_id
        self.sync_label.setText("Syncing…")

    def _forget_sync_job(self) -> None:
        """The profile closed: its sync, cancelled and maybe still stopping, is not the next profile's (its result
        is dropped too, see ConnectionSession.for_this_profile), so the status bar stops saying it runs."""
        self._sync_job = None
        if self.sync_label.text().startswith("Syncing…"):
            self.sync_label.clear()

    def _on_sync_finished(self, result) -> None:
        if result is None or result.status == "cancelled":
            self.sync_label.setText("Sync cancelled; what was fetched is kept.")
        elif result.status == "ok":
            self.sync_label.setText(f"Synced in {result.seconds:.0f} s ({result.requests:,} requests).")
        else:
            self.sync_label.setText(f"Sync {result.status}.")
            problems = [f"{e.entity}: {err}" for e in result.entities for err in e.errors[:2]]
            if problems and result.error is None:
                self.banner.show_message("warning", f"The sync finished, but {len(problems)} part(s) had problems.",
                                         details="\n".join(problems), title="Sync completed with problems")

    def _on_job_changed(self, info) -> None:
        if info.id == self._sync_job and not info.state.finished and info.total:
            self.sync_label.setText(f"Syncing… {info.done:,} of {info.total:,} requests")
