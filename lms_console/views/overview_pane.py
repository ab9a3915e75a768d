"""The landing pane: what the site is, how much of it is cached, how fresh, and what the token can do."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lms_console.services.doctor import fix_for
from lms_console.views.icons import icon

ENTITY_TITLES = {
    "site": "Site information", "categories": "Categories", "courses": "Courses", "contents": "Course contents",
    "users": "Users", "cohorts": "Cohorts", "groups": "Groups", "enrolments": "Enrolments",
    "completion": "Course completion", "activity_completion": "Activity completion", "grades": "Grades",
}

CARDS = (
    ("users", "Users"), ("active", "Active"), ("suspended", "Suspended"), ("courses", "Courses"),
    ("categories", "Categories"), ("cohorts", "Cohorts"), ("groups", "Groups"), ("enrolments", "Enrolments"),
    ("completions", "Course completions"),
)


def when(ts: float | None) -> str:
    if not ts:
        return "never"
    t = time.localtime(ts)
    if time.strftime("%Y-%m-%d", t) == time.strftime("%Y-%m-%d"):
        return time.strftime("today %H:%M", t)
    return time.strftime("%Y-%m-%d %H:%M", t)


def _syncing_text(run) -> str:
    """The last sync line while a sync runs (``run``: the newest run in the cache, maybe this sync's own)."""
    follows = "The counts above follow the local copy as it fills."
    if run is not None and run.finished_at is None:
        return f"Syncing… (sync #{run.id} started {when(run.started_at)}). {follows}"
    return f"Syncing… {follows}"


class _Card(QFrame):
    def __init__(self, label: str) -> None:
        super().__init__()
        self.setObjectName("Card")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 10, 14, 10)
        self.value = QLabel("–")
        self.value.setObjectName("CardValue")
        self.label = QLabel(label)
        self.label.setObjectName("CardLabel")
        lay.addWidget(self.value)
        lay.addWidget(self.label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)


class _FittedTable(QTableWidget):
    """A table as tall as its rows (it never scrolls: the pane does), rows as tall as their wrapped text.

    Its size hint follows the rows, so the pane's layout (and the scroll area around it) grows with
    them; no fixed height that a later change of rows or width would leave too small. When its width
    changes, the wrapped rows are measured again (a narrower "Problem" column needs more lines)."""

    def _height(self) -> int:
        return max(self.horizontalHeader().sizeHint().height() + self.verticalHeader().length()
                   + 2 * self.frameWidth(), 40)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(super().minimumSizeHint().width(), self._height())

    def fit_rows(self) -> None:
        self.resizeRowsToContents()
        self.updateGeometry()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.fit_rows()


def _table(headers: list[str]) -> _FittedTable:
    t = _FittedTable(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().setVisible(False)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setWordWrap(True)
    header = t.horizontalHeader()
    header.setStretchLastSection(True)
    for column in range(len(headers) - 1):  # as wide as the header's words or the cells, empty or not
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
    t.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)  # height: the size hint
    return t


class OverviewPane(QScrollArea):
    """Counts, freshness per entity, the last sync's result and the doctor's capability map.

    Fed by the main window: :meth:`show_site`, :meth:`show_overview`, :meth:`show_profile`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OverviewPane")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        page = QWidget()
        page.setObjectName("Pane")
        lay = QVBoxLayout(page)
        lay.setContentsMargins(24, 18, 24, 24)
        lay.setSpacing(8)
        self.title = QLabel("No site open")
        self.title.setObjectName("PaneTitle")
        self.subtitle = QLabel("Open a connection profile (File > Profiles…) or start the demo site.")
        self.subtitle.setObjectName("PaneSubtitle")
        self.subtitle.setWordWrap(True)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.insecure = QLabel()
        self.insecure.setObjectName("InsecureWarning")
        self.insecure.hide()
        lay.addWidget(self.title)
        lay.addWidget(self.subtitle)
        lay.addWidget(self.insecure)

        grid = QGridLayout()
        grid.setSpacing(10)
        self.cards: dict[str, _Card] = {}
        for i, (key, label) in enumerate(CARDS):
            card = _Card(label)
            self.cards[key] = card
            grid.addWidget(card, i // 5, i % 5)
        lay.addLayout(grid)

        self.sync_summary = QLabel("Not synchronised yet.")
        self.sync_summary.setObjectName("SyncSummary")
        self.sync_summary.setWordWrap(True)
        lay.addWidget(self._section("Last sync"))
        lay.addWidget(self.sync_summary)

        lay.addWidget(self._section("Freshness of the local copy"))
        self.freshness = _table(["Data", "As of", "Status", "Rows read", "Problem"])
        # What the last pass read, not what the copy holds (the cards above count that): an incremental
        # pass reads only what changed, so 0 there is no cause for alarm.
        self.freshness.horizontalHeaderItem(3).setToolTip(
            "Rows the last sync of this part read from the site; a sync reads only what changed where it can. "
            "The counts above are what the local copy holds.")
        lay.addWidget(self.freshness)

        lay.addWidget(self._section("What this connection can do"))
        self.capabilities = _table(["Feature", "Works", "Missing functions", "How to fix"])
        lay.addWidget(self.capabilities)
        lay.addStretch(1)
        self.setWidget(page)

    @staticmethod
    def _section(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("SectionTitle")
        return label

    # -- feeding --------------------------------------------------------------------
    def show_profile(self, profile) -> None:
        """A profile was opened (None: closed). What the token can do is not known until the site says
        so (:meth:`show_site`): the table never keeps another profile's answer."""
        if profile is None:
            self.title.setText("No site open")
            self.subtitle.setText("Open a connection profile (File > Profiles…) or start the demo site.")
            self.insecure.hide()
            self.show_capabilities_unknown("Not known: no connection profile is open.")
            return
        self.show_capabilities_unknown("Not known yet: connecting to the site…")
        self.title.setText(profile.name)
        self.subtitle.setText(profile.url)
        warning = getattr(profile, "security_warning", None)
        self.insecure.setText(warning or "")
        self.insecure.setVisible(bool(warning))

    def show_site(self, site, capabilities) -> None:
        admin = "site administrator" if site.is_site_admin else "NOT a site administrator"
        self.title.setText(site.sitename or self.title.text())
        self.subtitle.setText(f"{site.siteurl}  ·  Moodle {site.release}  ·  signed in as {site.fullname} "
                              f"({site.username}, {admin})")
        rows = capabilities.statuses
        self.capabilities.clearSpans()
        self.capabilities.setRowCount(len(rows))
        for r, st in enumerate(rows):
            name = QTableWidgetItem(st.feature.title)
            works = QTableWidgetItem("Yes" if st.available else "No")
            works.setIcon(icon("success" if st.available else "error"))
            self.capabilities.setItem(r, 0, name)
            self.capabilities.setItem(r, 1, works)
            self.capabilities.setItem(r, 2, QTableWidgetItem(", ".join(st.missing) or "–"))
            self.capabilities.setItem(r, 3, QTableWidgetItem(" ".join(fix_for(st)) or "–"))
        self._fit(self.capabilities)

    def show_capabilities_unknown(self, reason: str) -> None:
        """Empty the capability table; one row says why nothing is known (not connected, token rejected)."""
        table = self.capabilities
        table.clearSpans()
        table.setRowCount(1)
        item = QTableWidgetItem(reason)
        item.setIcon(icon("info"))
        table.setItem(0, 0, item)
        for column in range(1, table.columnCount()):
            table.setItem(0, column, QTableWidgetItem(""))
        table.setSpan(0, 0, 1, table.columnCount())
        self._fit(table)

    def follow_state(self, state) -> None:
        """The session's connection state (a ConnectionState): why the capabilities are not known."""
        from lms_console.models.session import Online

        if state.status == Online.AUTH_FAILED:
            self.show_capabilities_unknown(
                "Not known: the site rejected the token. Sign in again or paste a new token in File > Profiles…")
        elif state.status == Online.OFFLINE and not self.capabilities_known():
            self.show_capabilities_unknown("Not known: the site does not answer.")

    def show_problem(self, exc, unknown: bool) -> None:
        """A problem before the site ever said what the token can do (``unknown``: a page that is not
        Moodle's answer, a disabled web service): that is why the capabilities are not known. A rejected
        token or a site that does not answer is said by :meth:`follow_state`."""
        from lms_console.services.lms.errors import AuthExpired, Cancelled, LmsError, Unreachable

        if unknown and isinstance(exc, LmsError) and not isinstance(exc, (AuthExpired, Cancelled, Unreachable)):
            self.show_capabilities_unknown(f"Not known: {getattr(exc, 'message', '') or exc}")

    def capabilities_known(self) -> bool:
        """True when the table lists the features (from the open profile's site), not a reason."""
        return self.capabilities.rowCount() > 0 and self.capabilities.columnSpan(0, 0) == 1

    def show_overview(self, data) -> None:
        for key, card in self.cards.items():
            card.value.setText(f"{data.counts.get(key, 0):,}")
        fresh = data.freshness
        self.freshness.setRowCount(len(fresh))
        for r, (entity, st) in enumerate(sorted(fresh.items(), key=lambda kv: list(ENTITY_TITLES).index(kv[0])
                                                if kv[0] in ENTITY_TITLES else 99)):
            self.freshness.setItem(r, 0, QTableWidgetItem(ENTITY_TITLES.get(entity, entity)))
            self.freshness.setItem(r, 1, QTableWidgetItem(when(st.last_success_at)))
            status = QTableWidgetItem(st.status)
            status.setIcon(icon({"ok": "success", "running": "refresh", "cancelled": "cancel"}.get(st.status,
                                                                                                "warning")))
            self.freshness.setItem(r, 2, status)
            self.freshness.setItem(r, 3, QTableWidgetItem(f"{st.rows:,}" if st.rows is not None else "–"))
            self.freshness.setItem(r, 4, QTableWidgetItem(st.error or ""))
        self._fit(self.freshness)
        run = data.last_run
        if data.syncing:
            self.sync_summary.setText(_syncing_text(run))
            self.sync_summary.setProperty("status", "running")
        elif run is None:
            self.sync_summary.setText("Not synchronised yet: press F5 (Sync).")
            self.sync_summary.setProperty("status", "")
        else:
            took = f" in {run.finished_at - run.started_at:,} s" if run.finished_at else ""
            text = {"ok": "completed", "partial": "completed with problems", "failed": "failed",
                    "cancelled": "was cancelled"}.get(run.status, run.status)
            if run.finished_at is None:
                text = "did not finish (the console was closed or stopped); the next sync resumes it"
            err = f" — {run.error}" if run.error else ""
            self.sync_summary.setText(f"Sync #{run.id} started {when(run.started_at)} {text}{took}{err}")
            self.sync_summary.setProperty("status", run.status)
        self.sync_summary.style().unpolish(self.sync_summary)
        self.sync_summary.style().polish(self.sync_summary)

    @staticmethod
    def _fit(table: _FittedTable) -> None:
        header = table.horizontalHeader()
        for c in range(table.columnCount() - 1):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        table.fit_rows()
