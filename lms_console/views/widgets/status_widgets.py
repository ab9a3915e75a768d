"""Status-bar indicators: connection, data freshness, running jobs, outbox.

Each is a small widget the main window adds with ``statusBar().addPermanentWidget``.
They hold no references to services: the main window feeds them facts.
"""

from __future__ import annotations

import html
import time
from typing import Iterable, Mapping

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from lms_console.models.jobs_model import job_title
from lms_console.models.tasks import JobInfo, TaskRunner
from lms_console.views import theme
from lms_console.views.icons import icon

JOBS_BAR_DELAY_MS = 500
STALE_AFTER_S = 6 * 3600
ICON_SIZE = QSize(16, 16)


def clock_text(ts: float, now: float | None = None) -> str:
    """"10:42" for today, "27 Nov 10:42" for another day (local time)."""
    local, today = time.localtime(ts), time.localtime(now if now is not None else time.time())
    if local[:3] == today[:3]:
        return time.strftime("%H:%M", local)
    return time.strftime("%d %b %H:%M", local).lstrip("0")


def _repolish(widget: QWidget) -> None:
    for w in (widget, *widget.findChildren(QWidget)):
        w.style().unpolish(w)
        w.style().polish(w)


def _set_shown(widget: QWidget, shown: bool) -> None:
    """Show or hide a part of the status bar. While the bar shows a message (the status tip of the button or
    menu entry under the mouse), QStatusBar hides its normal parts and draws the message where they were: a
    part shown then would be drawn over it. It is left for the bar to show again once the message goes."""
    bar = widget.parentWidget()
    if shown and isinstance(bar, QStatusBar) and bar.currentMessage():
        widget.hide()
        widget.setAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide, False)  # as QStatusBar does
    else:
        widget.setVisible(shown)


class _Indicator(QWidget):
    """A flat clickable icon + text button (base of the indicators below)."""

    clicked = Signal()

    def __init__(self, object_name: str, icon_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._icon_name = icon_name
        self._button = QToolButton()
        self._button.setObjectName("IndicatorButton")
        self._button.setAutoRaise(True)
        self._button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._button.setIconSize(ICON_SIZE)
        self._button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._button.clicked.connect(self.clicked)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(2, 0, 2, 0)
        self._layout.setSpacing(6)
        self._layout.addWidget(self._button)
        theme.theme_notifier().theme_changed.connect(self._refresh_icon)
        self._refresh_icon()

    def text(self) -> str:
        return self._button.text()

    def _set_icon_name(self, name: str) -> None:
        self._icon_name = name
        self._refresh_icon()

    def _set_text(self, text: str, tooltip: str) -> None:
        self._button.setText(text)
        self._button.setToolTip(tooltip)
        self._button.setAccessibleName(text or tooltip.split("\n", 1)[0])
        self._button.setAccessibleDescription(tooltip)

    def _refresh_icon(self, *_args) -> None:
        self._button.setIcon(icon(self._icon_name))


class ConnectionIndicator(_Indicator):
    """Online / "Offline since 10:42" / "Connecting…" / "No profile" / "Token needed" / "Token rejected: sign in
    again", with an icon and a tooltip.

    It starts as "No profile": nothing is connecting before a profile is opened.

    Signals:
        clicked(): the user clicked it (e.g. to reconnect or open the connection settings).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("ConnectionIndicator", "profile", parent)
        self._state = ""
        self.set_no_profile()

    def state(self) -> str:
        """"online", "offline", "connecting", "none" (no profile open), "token" (a token is needed),
        "rejected" (the site answers but refuses the token) or "failed" (the answer is not a usable web service)."""
        return self._state

    def set_no_profile(self) -> None:
        self._apply("none", "profile", "No profile", "No connection profile is open: choose or add one in "
                                                     "File > Profiles…")

    def set_token_needed(self, profile: str = "") -> None:
        name = profile or "this profile"
        self._apply("token", "warning", "Token needed", f"No token for {name}: open File > Profiles… to "
                                                         "enter it. The site was not contacted.")

    def set_token_rejected(self, site: str = "", reason: str = "") -> None:
        """The site answered and refused the token: not offline, and retrying will not help."""
        where = site or "The site"
        detail = f"\n{reason}" if reason else ""
        self._apply("rejected", "error", "Token rejected: sign in again",
                    f"{where} answers but rejects the token (expired, revoked or for another site).{detail}\n"
                    "Click to open File > Profiles… and sign in again or paste a new token.")

    def set_failed(self, reason: str = "") -> None:
        """Something answers at the profile's address, but not as a usable Moodle web service."""
        detail = f"\n{reason}" if reason else ""
        self._apply("failed", "error", "Cannot connect",
                    f"The address answers, but not as a Moodle web service the console can use.{detail}\n"
                    "Click to try again; check the profile's address in File > Profiles….")

    def set_online(self, site: str = "") -> None:
        where = f" to {site}" if site else ""
        self._apply("online", "online", "Online", f"Connected{where}.")

    def set_offline(self, since: float | None = None, reason: str = "") -> None:
        since = time.time() if since is None else since
        detail = f"\n{reason}" if reason else ""
        self._apply(
            "offline", "offline", f"Offline since {clock_text(since)}",
            f"No answer from the site since {time.strftime('%H:%M:%S', time.localtime(since))}.{detail}\n"
            "The console keeps working from its cache; changes wait in the outbox.",
        )

    def set_connecting(self, site: str = "") -> None:
        where = f" to {site}" if site else ""
        self._apply("connecting", "connecting", "Connecting…", f"Connecting{where}…")

    def _apply(self, state: str, icon_name: str, text: str, tooltip: str) -> None:
        self._state = state
        self.setProperty("state", state)
        self._set_icon_name(icon_name)
        self._set_text(text, tooltip)
        _repolish(self)


class FreshnessLabel(QLabel):
    """"As of 10:42": when the stalest cached entity was last synced; tooltip lists them all.

    Input: ``set_times({"Users": 1732790520.0, "Groups": None, ...})`` (Unix times;
    None = never synced). Shown in the warning colour (``stale`` property) when
    the stalest entity is older than ``stale_after`` seconds or was never synced.

    Signals: none of its own beyond QLabel's.
    """

    def __init__(self, parent: QWidget | None = None, *, stale_after: float = STALE_AFTER_S) -> None:
        super().__init__(parent)
        self.setObjectName("FreshnessLabel")
        self.setProperty("stale", False)
        self._times: dict[str, float | None] = {}
        self._stale_after = stale_after
        self._timer = QTimer(self)  # staleness changes with the clock, not only with new data
        self._timer.setInterval(60_000)
        self._timer.timeout.connect(self._render)
        self._render()

    def times(self) -> dict[str, float | None]:
        return dict(self._times)

    def set_times(self, times: Mapping[str, float | None]) -> None:
        self._times = dict(times)
        if self._times:
            self._timer.start()
        else:
            self._timer.stop()
        self._render()

    def is_stale(self) -> bool:
        return bool(self.property("stale"))

    def _render(self) -> None:
        now = time.time()
        known = [t for t in self._times.values() if t is not None]
        never = [name for name, t in self._times.items() if t is None]
        if not self._times:
            text, stale = "", False
        elif not known:
            text, stale = "Not synced yet", True
        else:
            oldest = min(known)
            text = f"As of {clock_text(oldest, now)}"
            if never:
                text += f" ({len(never)} never synced)"
            stale = bool(never) or now - oldest > self._stale_after
        self.setText(text)
        _set_shown(self, bool(text))
        self.setToolTip(self._tooltip(now))
        self.setAccessibleName(f"Data freshness: {text}" if text else "Data freshness")
        if self.property("stale") != stale:
            self.setProperty("stale", stale)
            _repolish(self)

    def _tooltip(self, now: float) -> str:
        if not self._times:
            return ""
        rows = sorted(self._times.items(), key=lambda kv: (kv[1] is not None, kv[1] or 0.0))
        cells = []
        for name, ts in rows:
            when = "never synced" if ts is None else time.strftime(
                "%H:%M:%S" if clock_text(ts, now).count(" ") == 0 else "%d %b %H:%M:%S", time.localtime(ts)
            )
            cells.append(f"<tr><td>{html.escape(name)}</td><td>&nbsp;&nbsp;{when}</td></tr>")
        return ("<b>Cached data, as of</b><table>" + "".join(cells) + "</table>"
                "<p>The panes show the cache and refresh in the background.</p>")


class JobsIndicator(_Indicator):
    """"2 jobs running" with a small progress bar that appears after ~0.5 s of work.

    Feed it with :meth:`set_jobs` (the running jobs) or :meth:`track` a runner.

    Signals:
        clicked(): the user clicked it (show the jobs panel).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("JobsIndicator", "jobs", parent)
        self._jobs: list[JobInfo] = []
        self._runner: TaskRunner | None = None
        self._bar = QProgressBar()
        self._bar.setObjectName("JobsIndicatorBar")
        self._bar.setTextVisible(False)
        self._bar.setFixedWidth(90)
        self._bar.setAccessibleName("Overall progress")
        self._bar.hide()
        self._layout.addWidget(self._bar)
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(JOBS_BAR_DELAY_MS)
        self._delay.timeout.connect(self._reveal_bar)
        self.set_jobs([])

    def track(self, runner: TaskRunner) -> None:
        """Follow ``runner``'s running jobs."""
        self._runner = runner
        runner.job_changed.connect(self._on_job_changed)  # a bound slot: disconnected when we go
        self.set_jobs(runner.running())

    def _on_job_changed(self, _info: JobInfo) -> None:
        if self._runner is not None:
            self.set_jobs(self._runner.running())

    def count(self) -> int:
        return len(self._jobs)

    def bar_visible(self) -> bool:
        return not self._bar.isHidden()

    def set_jobs(self, jobs: Iterable[JobInfo]) -> None:
        was_idle = not self._jobs
        self._jobs = [j for j in jobs if not j.state.finished and not j.quiet]
        n = len(self._jobs)
        if n == 0:
            self._delay.stop()
            self._bar.hide()
            self._set_text("", "No jobs running. Click to show the jobs panel.")
            return
        if was_idle:
            self._delay.start()  # short jobs never flash a progress bar
        waiting = sum(1 for j in self._jobs if j.state.value == "queued")
        running = n - waiting
        text = f"{running} job running" if running == 1 else f"{running} jobs running"
        if waiting:  # one thread writes the local copy: the others wait their turn
            text = f"{text}, {waiting} waiting" if running else f"{waiting} job{'s' if waiting > 1 else ''} waiting"
        lines = [f"{job_title(j)}: {self._job_progress(j)}" for j in self._jobs[:10]]
        if n > 10:
            lines.append(f"… and {n - 10} more")
        self._set_text(text, "\n".join(lines) + "\n\nClick to show the jobs panel.")
        self._update_bar()

    @staticmethod
    def _job_progress(job: JobInfo) -> str:
        if job.total:
            return f"{job.done:,} of {job.total:,}"
        return "starting…" if job.state.value == "queued" else "working…"

    def _update_bar(self) -> None:
        measured = [j for j in self._jobs if j.total]
        if measured:
            done = sum(min(j.done, j.total) for j in measured)
            total = sum(j.total for j in measured)
            self._bar.setRange(0, 1000)
            self._bar.setValue(round(1000 * done / total))
        else:
            self._bar.setRange(0, 0)  # busy

    def _reveal_bar(self) -> None:
        if self._jobs:
            self._bar.show()


class OutboxIndicator(_Indicator):
    """"3 changes waiting": changes made offline that go out when the site answers; hidden at 0.

    Signals:
        clicked(): the user clicked it (show the outbox / journal).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("OutboxIndicator", "upload", parent)
        self._count = 0
        self.set_count(0)

    def count(self) -> int:
        return self._count

    def set_count(self, count: int) -> None:
        self._count = max(0, int(count))
        n = self._count
        text = "1 change waiting" if n == 1 else f"{n:,} changes waiting"
        self._set_text(text if n else "", (
            f"{text} to be sent to the site, in order, when it answers again." if n else ""
        ))
        self.setVisible(n > 0)
