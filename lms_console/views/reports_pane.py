"""The reports pane: choose a report and what it covers, see its chart and the numbers behind it.

Left: the report chooser and its parameters (a change re-runs the report after a short pause).
Right: the chart (matplotlib, drawn inline; an empty state says why when there is nothing to
draw) over tabs with the tables, notes on how the numbers were made, and the snapshots list.
Click a bar or point, or double-click a number, to see the users behind it. Export the chart
(PNG/SVG/PDF) or the data (CSV/XLSX, formula-safe), print, save a snapshot, compare two.

Imports neither matplotlib nor pandas: both load when the first report runs.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.reports_model import (
    FrameTableModel,
    ReportsModel,
    SnapshotsModel,
)
from lms_console.services.reports import KINDS, different_reports, report_title
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.reports_chart import ChartView
from lms_console.views.reports_dialogs import CompareDialog, DrillDialog, make_table
from lms_console.views.reports_params import ParamsPanel
from lms_console.views.reports_print import ReportExportMixin
from lms_console.views.widgets.banner import Banner

RERUN_DELAY_MS = 600
NO_PROFILE_TEXT = "Open a connection profile to see its reports (File › Profiles…)."
LOADING_TEXT = "Reading the local copy…"
TABLE_TITLES = {"rates": "Numbers", "over_time": "Per period", "summary": "Summary", "weekly": "Per week",
                "last_access": "Last access", "histogram": "Histogram", "totals": "Totals", "matrix": "Per person",
                "current": "Current", "trend": "Per month"}
AUTO_SNAPSHOT_KEY = "reports/auto_snapshot"
COMPARE_TIP = "Select two snapshots of one report; or one, to compare it with the report on screen"


def table_title(name: str) -> str:
    if name.startswith("inactive_"):
        return f"Inactive users ({name.split('_')[1]}+ days)"
    return TABLE_TITLES.get(name, name.replace("_", " ").capitalize())


def _stamp(t: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(t)) + " UTC" if t else "never"


def on_accent_icon(name: str) -> QIcon:
    """The icon ``name`` in the theme's ``accent_text`` colour, for a button filled with the accent (the
    theme's icon colour is dark grey in the light theme: hard to see on the blue "Run report" button)."""
    return icon(name, colour=theme.color("accent_text").name())


class ReportsPane(ReportExportMixin, QWidget):
    """The "reports" pane of the main window.

    Signals:
        users_requested(list, str): hand these user ids to the users pane (with a title).
        user_requested(int): open this user.
    """

    users_requested = Signal(list, str)
    user_requested = Signal(int)

    def __init__(self, session, parent: QWidget | None = None, *, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Pane")
        self.session = session
        self.settings = settings
        self.model = ReportsModel(session, self)
        self.model.auto_snapshot = bool(settings.value(AUTO_SNAPSHOT_KEY, False, type=bool)) if settings else False
        self.result = None
        self.dialogs: list = []
        self._file_dialog: QFileDialog | None = None
        self._print_dialog = None
        self._tables: list[tuple[str, QWidget, FrameTableModel]] = []
        self._tab_choice: tuple[str, str] | None = None  # (report kind, tab title) the admin chose
        self._rebuilding_tabs = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(8)
        title = QLabel("Reports")
        title.setObjectName("PaneTitle")
        outer.addWidget(title)
        self.banner = Banner()
        outer.addWidget(self.banner)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("ReportsSplitter")
        split.addWidget(self._build_sidebar())
        split.addWidget(self._build_main())
        split.setStretchFactor(1, 1)
        split.setSizes([350, 900])
        outer.addWidget(split, 1)

        self._rerun = QTimer(self)
        self._rerun.setSingleShot(True)
        self._rerun.setInterval(RERUN_DELAY_MS)
        self._rerun.timeout.connect(self.run)
        self.params.changed.connect(self._rerun.start)
        m = self.model
        m.report_started.connect(self._on_started)
        m.report_ready.connect(self.show_result)
        m.drill_ready.connect(self.show_drill)
        m.options_loaded.connect(self.params.set_options)
        m.snapshots_loaded.connect(self._on_snapshots)
        m.snapshot_saved.connect(lambda _i: self.banner.show_notice("Snapshot saved: it opens offline from "
                                                                    "the Snapshots tab."))
        m.comparison_ready.connect(self.show_comparison)
        m.grades_fetch_started.connect(self._on_grades_fetch)
        m.grades_fetched.connect(self._on_grades_fetched)
        m.exported.connect(lambda path: self.banner.show_notice(f"Saved {path}."))
        m.problem.connect(lambda text: self.banner.show_message("warning", text))
        session.runner.job_changed.connect(self._on_job)
        # Methods, not lambdas: Qt drops these connections when the pane goes (the session lives on).
        session.opened.connect(self._on_profile_opened)
        session.closed.connect(self._on_profile_closed)
        self.chart.drill_requested.connect(self.model.drill)
        self.chart.action_requested.connect(self._on_action)
        # A method, not a lambda: Qt drops the connection when the pane goes (the notifier lives on).
        theme.theme_notifier().theme_changed.connect(self._on_theme_changed)
        self.chooser.setCurrentRow(0)
        self._update_actions()

    # -- construction -------------------------------------------------------------------------------
    def _build_sidebar(self) -> QWidget:
        side = QWidget()
        side.setObjectName("ReportsSidebar")
        lay = QVBoxLayout(side)
        lay.setContentsMargins(0, 0, 8, 0)
        self.chooser = QListWidget()
        self.chooser.setObjectName("ReportChooser")
        self.chooser.setAccessibleName("Reports")
        for kind, spec in KINDS.items():
            item = QListWidgetItem(icon("chart"), spec.title)
            item.setData(Qt.ItemDataRole.UserRole, kind)
            item.setToolTip(spec.description)
            self.chooser.addItem(item)
        self.chooser.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chooser.currentRowChanged.connect(self._on_kind)
        lay.addWidget(self.chooser)
        self.description = QLabel()
        self.description.setObjectName("ReportDescription")
        self.description.setWordWrap(True)
        lay.addWidget(self.description)
        self.params = ParamsPanel()
        scroll = QScrollArea()
        scroll.setObjectName("ReportParamsScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.params)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # As needed, not off: with a large font the parameters (their "Clear" buttons) are wider than
        # the sidebar, and cut off without a way to reach them.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        side.setMinimumWidth(300)
        lay.addWidget(scroll, 1)
        self.run_button = QPushButton(on_accent_icon("refresh"), "Run report")  # a filled (accent) button
        self.run_button.setObjectName("RunReportButton")
        self.run_button.setToolTip("Run the report again with these parameters")
        self.run_button.clicked.connect(self.run)
        lay.addWidget(self.run_button)
        return side

    def _build_main(self) -> QWidget:
        main = QWidget()
        lay = QVBoxLayout(main)
        lay.setContentsMargins(8, 0, 0, 0)
        head = QHBoxLayout()
        texts = QVBoxLayout()
        self.result_title = QLabel("")
        self.result_title.setObjectName("ReportTitle")
        self.as_of = QLabel("")
        self.as_of.setObjectName("ReportAsOf")
        self.as_of.setWordWrap(True)  # a long summary wraps instead of widening the window
        texts.addWidget(self.result_title)
        texts.addWidget(self.as_of)
        head.addLayout(texts, 1)
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        self.cancel_button.clicked.connect(self.model.cancel)
        self.cancel_button.hide()
        self.grades_button = QPushButton(icon("download"), "Fetch grades")  # short: the tooltip says which courses
        self.grades_button.setObjectName("FetchGradesButton")
        self.grades_button.setToolTip("Fetch grades from the site for the chosen courses (every course when "
                                      "none is chosen); grades are big, so a normal sync leaves them out.")
        self.grades_button.clicked.connect(lambda: self.model.fetch_grades(self.params.params().courses))
        self.save_button = QPushButton(icon("save"), "Save snapshot")
        self.save_button.setToolTip("Keep these numbers, their parameters and as-of time in the local copy, "
                                    "for offline review and comparison")
        self.save_button.clicked.connect(lambda: self.model.save_snapshot(self.result))
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setIcon(icon("export"))
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.export_actions = {}
        for fmt, text in (("png", "Chart as PNG…"), ("svg", "Chart as SVG…"), ("pdf", "Chart as PDF…"),
                          ("csv", "Table as CSV…"), ("xlsx", "All tables as Excel…")):
            self.export_actions[fmt] = menu.addAction(text, lambda f=fmt: self.ask_export(f))
            if fmt == "pdf":
                menu.addSeparator()
        self.export_button.setMenu(menu)
        self.print_button = QPushButton(icon("details"), "Print…")
        self.print_button.clicked.connect(self.ask_print)
        for b in (self.cancel_button, self.grades_button, self.save_button, self.export_button, self.print_button):
            head.addWidget(b)
        lay.addLayout(head)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("ReportChartSplitter")
        self.chart = ChartView()
        self.chart.setMinimumHeight(260)
        split.addWidget(self.chart)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("ReportTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.notes = QLabel()
        self.notes.setObjectName("ReportNotes")
        self.notes.setWordWrap(True)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        notes_scroll = QScrollArea()
        notes_scroll.setWidgetResizable(True)
        notes_scroll.setWidget(self.notes)
        self.notes_page = notes_scroll
        self.snapshots_page = self._build_snapshots()
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([560, 340])
        lay.addWidget(split, 1)
        self._rebuild_tabs(None)
        return main

    def _build_snapshots(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.snapshots_model = SnapshotsModel(self)
        self.snapshots_view = make_table(self.snapshots_model, "ReportSnapshots")
        self.snapshots_view.setTabKeyNavigation(False)  # Tab leaves the table instead of walking its cells
        self.snapshots_view.setSortingEnabled(False)
        # Dates and "How" as wide as their text (header included); the parameters, the one long text, take
        # the rest of the width. The report's title keeps its full width too (a row's first thing to read).
        header = self.snapshots_view.horizontalHeader()
        for c in range(self.snapshots_model.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(SnapshotsModel.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.snapshots_view.doubleClicked.connect(lambda _i: self.open_selected_snapshot())
        lay.addWidget(self.snapshots_view, 1)
        row = QHBoxLayout()
        self.open_snapshot_button = QPushButton("Open")
        self.open_snapshot_button.setToolTip("Show the snapshot's chart and numbers (works offline)")
        self.open_snapshot_button.clicked.connect(self.open_selected_snapshot)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip(COMPARE_TIP)
        self.compare_button.clicked.connect(self.compare_selected)
        self.delete_snapshot_button = QPushButton("Delete")
        self.delete_snapshot_button.clicked.connect(self._delete_selected)
        self.auto_snapshot = QCheckBox("Save a snapshot of the report on screen after every sync")
        self.auto_snapshot.setChecked(self.model.auto_snapshot)
        self.auto_snapshot.toggled.connect(self._set_auto_snapshot)
        for w in (self.open_snapshot_button, self.compare_button, self.delete_snapshot_button):
            row.addWidget(w)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.auto_snapshot)  # a row of its own: beside the buttons it set the window's width
        self.snapshots_view.selectionModel().selectionChanged.connect(lambda *_: self._update_snapshot_actions())
        self._update_snapshot_actions()
        return page

    # -- navigation -----------------------------------------------------------------------------------
    def show_target(self, _target) -> None:
        self.model.active = True
        if self.session.db is not None:
            self.model.load_options()
            self.model.refresh_snapshots()
            if self.result is None:
                self.run()

    def hideEvent(self, event) -> None:
        self.model.active = False
        super().hideEvent(event)

    def showEvent(self, event) -> None:
        self.model.active = True
        self._fit_chooser()
        super().showEvent(event)

    def changeEvent(self, event) -> None:
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._fit_chooser()
        super().changeEvent(event)

    def _fit_chooser(self) -> None:
        """Every report visible without scrolling (row heights depend on the theme's style sheet)."""
        rows = self.chooser.count()
        self.chooser.setFixedHeight(max(self.chooser.sizeHintForRow(0), 20) * rows + 2 * self.chooser.frameWidth() + 6)

    # -- running ----------------------------------------------------------------------------------------
    def kind(self) -> str:
        item = self.chooser.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "completion"

    def run(self) -> None:
        self._rerun.stop()
        if self.session.db is None:
            self.chart.show_message(NO_PROFILE_TEXT)
            return
        problem = self.params.problem()
        if problem:  # said at the field too; a report on screen is of other parameters: it goes
            self._forget_result(problem)
            return
        self.model.run(self.kind(), self.params.params())

    def _on_profile_opened(self, _profile) -> None:
        self.params.reset()  # another site: its own courses and cohorts, and no range typed for the last one
        self._forget_result(LOADING_TEXT)  # the report runs when the pane is shown (show_target)

    def _on_profile_closed(self) -> None:
        self._forget_result(NO_PROFILE_TEXT)

    def _forget_result(self, message: str) -> None:
        """Another profile (or none): the last one's report goes; the chart area says what comes."""
        self._rerun.stop()
        self.result = None
        self.result_title.setText("")
        self.as_of.setText("")
        self.as_of.setToolTip("")
        self.cancel_button.hide()
        self.chart.show_message(message)
        self._rebuild_tabs(None)
        self._update_actions()

    def _on_kind(self, _row: int) -> None:
        kind = self.kind()
        self.params.set_kind(kind)
        self.description.setText(KINDS[kind].description)
        self.grades_button.setVisible(kind == "assessment")
        self.run()

    def _on_started(self, _kind: str) -> None:
        self.as_of.setText("Working…")
        self.cancel_button.show()
        if self.result is None:  # nothing on screen yet: say it is coming (a report on screen stays meanwhile)
            self.chart.show_message(LOADING_TEXT)

    def _on_job(self, info) -> None:
        # A run superseded by a newer one finishes (cancelled) while the newer one works: leave it be.
        if info.name != "report" or not info.state.finished or self.session.runner.is_running("report"):
            return
        self.cancel_button.hide()
        if info.state.value == "done":
            return
        if self.result is not None:
            self._show_as_of(self.result)  # the report on screen stays, with its own date
        else:
            self.as_of.setText("")
            self.chart.show_message("The report could not be built; see the message above." if info.state.value ==
                                    "failed" else "The report was cancelled: press Run report to build it.")
        if info.state.value == "failed":
            self.banner.show_message("error", f"The report could not be built: {info.error or 'unknown error'}. "
                                     "Reports only read the local copy, so nothing was changed. If this repeats, "
                                     "sync again to refresh the local copy.", retry=self.model.refresh)

    def _on_theme_changed(self, _name: str) -> None:
        self._refresh_icons()
        self.chart.redraw(theme.chart_palette())

    def _refresh_icons(self) -> None:
        """Every icon in the current theme's colours (they are drawn in one colour, once)."""
        for r in range(self.chooser.count()):
            self.chooser.item(r).setIcon(icon("chart"))
        self.run_button.setIcon(on_accent_icon("refresh"))
        for button, name in ((self.cancel_button, "cancel"), (self.grades_button, "download"),
                             (self.save_button, "save"), (self.export_button, "export"),
                             (self.print_button, "details")):
            button.setIcon(icon(name))

    def _on_action(self, action: str) -> None:
        if action == "fetch_grades":
            self.model.fetch_grades(self.params.params().courses)
        elif action == "sync" and self.session.is_open:
            self.session.sync()

    def _on_grades_fetch(self) -> None:
        self.banner.show_message("info", "Fetching grades… the report updates when they are in.")

    def _on_grades_fetched(self) -> None:
        self.banner.show_notice("The grades are in: the report shows them.")

    # -- showing ------------------------------------------------------------------------------------------
    def show_result(self, result) -> None:
        self.result = result
        self.cancel_button.hide()
        if result.from_snapshot:
            self.chooser.blockSignals(True)
            for r in range(self.chooser.count()):
                if self.chooser.item(r).data(Qt.ItemDataRole.UserRole) == result.kind:
                    self.chooser.setCurrentRow(r)
            self.chooser.blockSignals(False)
            if result.kind in KINDS:
                self.params.set_params(result.kind, result.params)
                self.description.setText(KINDS[result.kind].description)
        self.result_title.setText(result.title + (" — snapshot" if result.from_snapshot else ""))
        self._show_as_of(result)
        self.chart.show_result(result, theme.chart_palette())
        self._rebuild_tabs(result)
        self.grades_button.setVisible(result.kind == "assessment")
        self._update_actions()
        self._update_snapshot_actions()  # one snapshot compares with this report: of the same kind?

    def _show_as_of(self, result) -> None:
        if result.from_snapshot:
            text = f"Snapshot saved {_stamp(result.snapshot_created)} · data as of {_stamp(result.as_of)} · offline copy"
        else:
            text = f"Data as of {_stamp(result.as_of)}" + (f" · {result.subtitle}" if result.subtitle else "")
        self.as_of.setText(text)
        self.as_of.setToolTip(result.subtitle)

    def _on_tab_changed(self, index: int) -> None:
        if not self._rebuilding_tabs and index >= 0 and self.result is not None:
            self._tab_choice = (self.result.kind, self.tabs.tabText(index))

    def _rebuild_tabs(self, result) -> None:
        """Tabs of ``result``'s tables, its notes and the snapshots. A report shows its main table first;
        a tab the admin chose stays chosen while the same report runs again (another report resets it)."""
        self._rebuilding_tabs = True
        try:
            self._fill_tabs(result)
        finally:
            self._rebuilding_tabs = False

    def _fill_tabs(self, result) -> None:
        if result is not None and self._tab_choice is not None and self._tab_choice[0] != result.kind:
            self._tab_choice = None
        wanted = self._tab_choice[1] if self._tab_choice is not None else ""
        while self.tabs.count():
            w = self.tabs.widget(0)
            self.tabs.removeTab(0)
            if w not in (self.notes_page, self.snapshots_page):
                w.deleteLater()
        self._tables = []
        if result is not None:
            status = dict(result.chart.get("status_columns") or {})
            for name, frame in result.tables.items():
                model = FrameTableModel(self, colours=theme.color)
                model.set_frame(frame, status_columns=status)
                view = make_table(model, f"ReportTable_{name}")
                view.setTabKeyNavigation(False)
                view.setToolTip("Double-click a number to see the users behind it")
                view.doubleClicked.connect(lambda index, n=name, m=model: self._on_table_activated(n, m, index))
                view.resizeColumnsToContents()
                self._tables.append((name, view, model))
                self.tabs.addTab(view, table_title(name))
        notes = list(result.notes) if result is not None else []
        self.notes.setText("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>" if notes
                           else "How the numbers are made shows here once a report ran.")
        self.tabs.addTab(self.notes_page, "Notes")
        self.tabs.addTab(self.snapshots_page, "Snapshots")
        titles = [self.tabs.tabText(i) for i in range(self.tabs.count())]
        self.tabs.setCurrentIndex(titles.index(wanted) if wanted in titles else 0)

    def current_table(self) -> tuple[str, FrameTableModel] | None:
        w = self.tabs.currentWidget()
        for name, view, model in self._tables:
            if view is w:
                return name, model
        return (self._tables[0][0], self._tables[0][2]) if self._tables else None

    def _on_table_activated(self, name: str, model: FrameTableModel, index) -> None:
        if self.result is None:
            return
        request = model.drill_request(index, dict(self.result.drill), label_column=0)
        if request is None:
            return
        if request.status == "user":
            self.user_requested.emit(int(request.key.split(":")[1]))
            return
        self.model.drill(request)

    def show_drill(self, drill) -> DrillDialog:
        dialog = DrillDialog(drill, self)
        if self.result is not None and self.result.from_snapshot:
            dialog.summary.setText(dialog.summary.text() + " · These are the users behind it in the local copy now "
                                   "(a snapshot keeps only the numbers).")
        dialog.user_requested.connect(self.user_requested)
        dialog.users_requested.connect(self.users_requested)
        self._keep(dialog)
        dialog.open()
        return dialog

    def show_comparison(self, comparison) -> CompareDialog:
        dialog = CompareDialog(comparison, self)
        self._keep(dialog)
        dialog.open()
        return dialog

    def _keep(self, dialog) -> None:
        self.dialogs.append(dialog)
        dialog.destroyed.connect(lambda _o=None, d=dialog: self.dialogs.remove(d) if d in self.dialogs else None)

    def _update_actions(self) -> None:
        has = self.result is not None and not self.result.is_empty
        self.save_button.setEnabled(has and not self.result.from_snapshot)
        self.export_button.setEnabled(self.result is not None and bool(self.result.tables))
        self.print_button.setEnabled(has)

    # -- snapshots ----------------------------------------------------------------------------------------
    def _on_snapshots(self, items) -> None:
        self.snapshots_model.set_items(items)
        self._update_snapshot_actions()

    def _selected_snapshots(self) -> list:
        rows = sorted({i.row() for i in self.snapshots_view.selectionModel().selectedRows()})
        return [self.snapshots_model.item(r) for r in rows if self.snapshots_model.item(r) is not None]

    def _update_snapshot_actions(self) -> None:
        sel = self._selected_snapshots()
        refusal = self._compare_refusal(sel)
        self.open_snapshot_button.setEnabled(len(sel) == 1)
        self.compare_button.setEnabled(len(sel) in (1, 2) and not refusal)
        self.compare_button.setToolTip(refusal or COMPARE_TIP)
        self.delete_snapshot_button.setEnabled(bool(sel))

    def _compare_refusal(self, sel: list) -> str:
        """Why Compare cannot compare the selected snapshots ("" when it can, or when it does not apply)."""
        if len(sel) == 2:
            refusal = different_reports(sel[1].kind, sel[0].kind, sel[1].title, sel[0].title)
            return refusal and refusal + " Select two snapshots of one report."
        result = self.result
        if len(sel) == 1 and result is not None and not result.from_snapshot and result.kind != sel[0].kind:
            return (f"This snapshot is of {sel[0].title or report_title(sel[0].kind)} and the report on screen is "
                    f"{result.title}: choose {report_title(sel[0].kind)} to compare the snapshot with today's "
                    "numbers.")
        return ""

    def open_selected_snapshot(self) -> None:
        sel = self._selected_snapshots()
        if len(sel) == 1:
            self.model.open_snapshot(sel[0].id)

    def compare_selected(self) -> None:
        sel = self._selected_snapshots()
        if len(sel) == 2:
            self.model.compare(sel[1].id, sel[0].id)
        elif len(sel) == 1:
            if self.result is None or self.result.from_snapshot:
                self.banner.show_message("info", "Select two snapshots, or run the report to compare a snapshot "
                                                 "with today's numbers.")
                return
            self.model.compare(sel[0].id, None)

    def _delete_selected(self) -> None:
        self.model.delete_snapshots([s.id for s in self._selected_snapshots()])

    def _set_auto_snapshot(self, on: bool) -> None:
        self.model.auto_snapshot = on
        if self.settings is not None:
            self.settings.setValue(AUTO_SNAPSHOT_KEY, on)
