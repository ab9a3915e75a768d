"""The journal pane: every change the console sent, with its result, and the outbox.

History: time, profile, LMS user, change, target, before, after, result, API function and the
LMS's code and message; filter by result and kind, search (debounced, read off the GUI thread),
export CSV/XLSX (formula-safe). Undo selected items or a whole run, retry a run's failures:
each is planned by the ChangeEngine and previewed like any other change.
Outbox: what waits for the site, and held items with Keep mine / Take theirs / Drop.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.journal_model import (
    JournalTableModel,
    OutboxTableModel,
    before_after,
    plain_message,
)
from lms_console.models.plan_model import count_phrase
from lms_console.models.session import Online
from lms_console.views import theme
from lms_console.views.dialogs.preview_dialog import make_table
from lms_console.views.icons import icon
from lms_console.views.widgets.banner import Banner
from lms_console.views.widgets.empty_state import empty_state_label
from lms_console.views.widgets.item_menu import install_item_menu

SEARCH_DELAY_MS = 250
STATUS_FILTERS = (
    ("All results", ()),
    ("Done", ("done",)),
    ("Failed", ("failed",)),
    ("Skipped", ("skipped",)),
    ("Held for you", ("held",)),
    ("Waiting to be sent", ("queued", "sending")),
    ("Undone", ("undone",)),
)


class JournalPane(QWidget):
    """The "journal" pane of the main window.

    Views may use models directly: undo and retry call the ChangeEngine, whose ``planned``
    signal opens the preview (see changes_wiring.py).

    Signals: none of its own.
    """

    def __init__(self, session, engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Pane")
        self.session = session
        self.engine = engine
        self.model = JournalTableModel(session, self, icons=icon, colours=theme.color)
        self.outbox_model = OutboxTableModel(session, self, icons=icon, colours=theme.color)
        self._file_dialog: QFileDialog | None = None
        self._outbox_count: int | None = None  # the engine's count (outbox_changed), as the status bar shows it

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        title = QLabel("Journal")
        title.setObjectName("PaneTitle")
        self.subtitle = QLabel("Every change sent to the site, newest first.")
        self.subtitle.setObjectName("PaneSubtitle")
        layout.addWidget(title)
        layout.addWidget(self.subtitle)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("JournalTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_history(), "History")
        self.tabs.addTab(self._build_outbox(), "Outbox")
        layout.addWidget(self.tabs, 1)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())

        self.model.loaded.connect(self._on_loaded)
        self.model.kinds_loaded.connect(self._set_kinds)
        self.model.exported.connect(self._on_exported)
        self.model.export_failed.connect(self._on_export_failed)
        self._kept_selection: tuple[set[int], int | None] = (set(), None)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.modelReset.connect(self._update_actions)
        self.outbox_model.loaded.connect(self._on_outbox_loaded)
        self.outbox_model.modelReset.connect(self._update_outbox_actions)
        engine.outbox_changed.connect(self._on_outbox_changed)
        session.state_changed.connect(self._update_outbox_actions)
        session.closed.connect(self.forget_view)  # a run of one profile is not a run of the next
        session.closed.connect(lambda: self._on_outbox_changed(None))
        self.tabs.currentChanged.connect(self._update_subtitle)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()
        self._update_actions()
        self._update_outbox_actions()

    # -- construction ---------------------------------------------------------------------------
    def _build_history(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(8)
        filters = QHBoxLayout()
        filters.setSpacing(8)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("JournalSearch")
        self.search_edit.setPlaceholderText("Search change, target, message or run…")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("Search the journal")
        self.search_edit.setMinimumWidth(180)
        self._search_action = self.search_edit.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.status_combo = QComboBox()
        self.status_combo.setObjectName("JournalStatusFilter")
        self.status_combo.setAccessibleName("Filter by result")
        for label, statuses in STATUS_FILTERS:
            self.status_combo.addItem(label, statuses)
        self.status_combo.currentIndexChanged.connect(
            lambda i: self.model.set_filter(statuses=self.status_combo.itemData(i) or ()))
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("JournalKindFilter")
        self.kind_combo.setAccessibleName("Filter by kind of change")
        self.kind_combo.setMinimumContentsLength(12)
        self.kind_combo.addItem("All kinds of change", "")
        self.kind_combo.currentIndexChanged.connect(self._on_kind_chosen)
        self.run_chip = QToolButton()
        self.run_chip.setObjectName("RunChip")
        self.run_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.run_chip.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self.run_chip.setToolTip("Showing one run only; click to show every run")
        self.run_chip.clicked.connect(lambda: self.show_run(None))
        self.run_chip.hide()
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save what the filter shows as CSV or Excel (safe to open: no formulas)")
        self.export_button.clicked.connect(self.choose_export_file)
        filters.addWidget(self.search_edit, 2)
        filters.addWidget(QLabel("Result:"))
        filters.addWidget(self.status_combo)
        filters.addWidget(QLabel("Change:"))
        filters.addWidget(self.kind_combo, 1)
        filters.addWidget(self.run_chip)
        filters.addStretch(0)
        filters.addWidget(self.export_button)
        lay.addLayout(filters)

        self.table = make_table(self.model, "JournalTable")
        self.table.setAccessibleName("Journal")
        install_item_menu(self.table, self._context_menu)
        for col, width in enumerate((136, 100, 80, 250, 110, 120, 120, 96, 190)):
            self.table.setColumnWidth(col, width)
        header = self.table.horizontalHeader()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.table.selectionModel().currentRowChanged.connect(self._update_actions)
        self.empty_label = empty_state_label()
        self.history_stack = QStackedWidget()
        self.history_stack.addWidget(self.table)
        self.history_stack.addWidget(self.empty_label)
        lay.addWidget(self.history_stack, 1)
        self.details = QLabel()
        self.details.setObjectName("PreviewDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        lay.addWidget(self.details)

        actions = QHBoxLayout()
        actions.setSpacing(8)
        self.undo_selected_action = QAction("Undo selected", self)
        self.undo_selected_action.setToolTip("Plan the inverse of the selected changes and preview it")
        self.undo_selected_action.triggered.connect(self.undo_selected)
        self.undo_run_action = QAction("Undo this run", self)
        self.undo_run_action.setToolTip("Plan the inverse of every change of the current row's run")
        self.undo_run_action.triggered.connect(self.undo_run)
        self.retry_action = QAction("Retry failed of this run", self)
        self.retry_action.setToolTip("Plan the failed items of the current row's run again")
        self.retry_action.triggered.connect(self.retry_run)
        self.only_run_action = QAction("Show only this run", self)
        self.only_run_action.triggered.connect(lambda: self.show_run(self._current_run()))
        self.copy_action = QAction("Copy", self)
        self.copy_action.triggered.connect(self.copy_selected)
        for action in (self.undo_selected_action, self.undo_run_action, self.retry_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setObjectName("PaneAction")
            actions.addWidget(button)
        actions.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setObjectName("PaneSubtitle")
        actions.addWidget(self.count_label)
        lay.addLayout(actions)
        return page

    def _build_outbox(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 8, 0, 0)
        lay.setSpacing(8)
        self.outbox_intro = QLabel(
            "Changes not sent yet wait here — made while the site did not answer, or left when a send stopped — "
            "and go out in order. Before sending, each is checked against the site: one changed there since it "
            "was planned is held for you — keep yours, take the site's, or drop it.")
        self.outbox_intro.setObjectName("PaneSubtitle")
        self.outbox_intro.setWordWrap(True)
        lay.addWidget(self.outbox_intro)
        self.outbox_table = make_table(self.outbox_model, "OutboxTable")
        self.outbox_table.setAccessibleName("Outbox")
        for col, width in enumerate((136, 260, 110, 220, 96)):
            self.outbox_table.setColumnWidth(col, width)
        self.outbox_table.selectionModel().selectionChanged.connect(self._update_outbox_actions)
        self.outbox_empty = empty_state_label("The outbox is empty: everything went out.")
        self.outbox_stack = QStackedWidget()
        self.outbox_stack.addWidget(self.outbox_table)
        self.outbox_stack.addWidget(self.outbox_empty)
        lay.addWidget(self.outbox_stack, 1)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.keep_button = QPushButton("Keep mine")
        self.keep_button.setToolTip("Send your change as planned, over what the site has now")
        self.keep_button.clicked.connect(lambda: self.release_selected("keep"))
        self.theirs_button = QPushButton("Take theirs")
        self.theirs_button.setToolTip("Keep the site's value; your change is skipped")
        self.theirs_button.clicked.connect(lambda: self.release_selected("theirs"))
        self.drop_button = QPushButton("Drop")
        self.drop_button.setToolTip("Withdraw your change: it is never sent (held items, and queued ones not sent yet)")
        self.drop_button.clicked.connect(lambda: self.release_selected("drop"))
        self.send_button = QPushButton("Send now")
        self.send_button.setToolTip("Send what waits, re-checking each item against the site first")
        self.send_button.clicked.connect(self.engine.resume_outbox)
        for b in (self.keep_button, self.theirs_button, self.drop_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.send_button)
        lay.addLayout(row)
        return page

    # -- main window hooks ----------------------------------------------------------------------
    def show_target(self, _target=None) -> None:
        """The pane was chosen in the navigation: read the journal and the outbox."""
        self.model.refresh()
        self.outbox_model.refresh()

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def show_run(self, run_id: int | None) -> None:
        """Show only the items of run ``run_id`` (None: every run)."""
        self.tabs.setCurrentIndex(0)
        self.run_chip.setText(f"Run {run_id}" if run_id is not None else "")
        self.run_chip.setVisible(run_id is not None)
        if self.model.filter.run_id == run_id:
            self.model.refresh()
        else:
            self.model.set_filter(run_id=run_id)

    def forget_view(self) -> None:
        """Back to every entry when the profile closes: run ids and searches belong to one profile's journal
        ("Run 2" stayed, and "Undo this run" offered run 2 of the next profile's journal)."""
        self._search_timer.stop()
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.run_chip.setText("")
        self.run_chip.hide()
        self.model.set_filter(search="", run_id=None)
        self._update_actions()

    def show_outbox(self) -> None:
        self.tabs.setCurrentIndex(1)
        self.outbox_model.refresh()

    # -- actions ------------------------------------------------------------------------------------
    def selected_rows(self) -> list:
        rows = [self.model.row_at(i.row()) for i in self.table.selectionModel().selectedRows()]
        return [r for r in rows if r is not None]

    def _current_run(self) -> int | None:
        """The current row's run; with no current row, the run the journal is filtered to (if any)."""
        index = self.table.currentIndex()
        row = self.model.row_at(index.row()) if index.isValid() else None
        if row is not None:
            return row.run_id
        return self.model.filter.run_id if self.model.total() else None  # a run with no entry here is none

    def undo_selected(self) -> int | None:
        rows = self.selected_rows()
        ids = [r.id for r in rows if r.status == "done" and r.inverse]
        if not ids:
            self.banner.show_message("info", "Nothing to undo in the selection: only changes that went through "
                                             "(result Done) can be undone, and deletions cannot.")
            return None
        self.banner.clear()
        return self.engine.plan_undo(item_ids=ids)

    def undo_run(self) -> int | None:
        run_id = self._current_run()
        return self.engine.plan_undo(run_id=run_id) if run_id is not None else None

    def retry_run(self) -> int | None:
        run_id = self._current_run()
        return self.engine.plan_retry(run_id) if run_id is not None else None

    def copy_selected(self) -> None:
        lines = ["\t".join(str(self.model.data(self.model.index(i.row(), c)) or "")
                           for c in range(self.model.columnCount()))
                 for i in sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())]
        QGuiApplication.clipboard().setText("\n".join(lines))

    def release_selected(self, decision: str) -> None:
        """Keep mine / Take theirs on the selected held items; Drop also withdraws queued ones."""
        allowed = ("held", "queued") if decision == "drop" else ("held",)
        rows = [self.outbox_model.row_at(i.row()) for i in self.outbox_table.selectionModel().selectedRows()]
        ids = [row.id for row in rows if row is not None and row.status in allowed]
        if ids:
            self.engine.release_held(ids, decision)

    def choose_export_file(self) -> QFileDialog:
        dialog = QFileDialog(self, "Export the journal")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["CSV, for any spreadsheet (*.csv)", "Excel workbook (*.xlsx)"])
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("journal.csv")
        dialog.filterSelected.connect(lambda f: dialog.setDefaultSuffix("xlsx" if "xlsx" in f else "csv"))
        dialog.fileSelected.connect(self.export_to)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._file_dialog = dialog
        dialog.open()
        return dialog

    def export_to(self, path: str) -> int | None:
        """Export what the filter shows to ``path`` (.csv or .xlsx), off the GUI thread."""
        self.banner.show_message("info", f"Exporting {count_phrase(self.model.total(), 'entry', 'entries')}…")
        return self.model.export(path)

    # -- reactions -----------------------------------------------------------------------------------
    def _apply_search(self) -> None:
        self.model.set_filter(search=self.search_edit.text().strip())

    def _on_kind_chosen(self, index: int) -> None:
        kind = self.kind_combo.itemData(index)
        self.model.set_filter(kinds=(kind,) if kind else ())

    def _set_kinds(self, kinds: list) -> None:
        current = self.kind_combo.currentData()
        present = [self.kind_combo.itemData(i) for i in range(1, self.kind_combo.count())]
        if present == list(kinds):
            return
        self.kind_combo.blockSignals(True)
        self.kind_combo.clear()
        self.kind_combo.addItem("All kinds of change", "")
        for kind in kinds:
            self.kind_combo.addItem(kind, kind)
        i = self.kind_combo.findData(current)
        self.kind_combo.setCurrentIndex(max(i, 0))
        self.kind_combo.blockSignals(False)

    def _update_subtitle(self, *_args) -> None:
        run_id = self.model.filter.run_id
        if self.tabs.currentIndex() == 1:
            text = ("What waits to be sent to the site, and what waits for your decision, in the order it goes out "
                    "(oldest plan first).")
        elif run_id is None:
            text = "Every change sent to the site, newest first."
        else:
            text = f"The items of run {run_id}, in the order they were planned."
        self.subtitle.setText(text)

    def _on_loaded(self, total: int) -> None:
        flt = self.model.filter
        filtered = bool(flt.search or flt.statuses or flt.kinds or flt.run_id is not None)
        noun = count_phrase(total, "entry", "entries")
        self.count_label.setText(f"{noun} match the filter" if filtered else noun)
        self._update_subtitle()
        if total:
            self.history_stack.setCurrentWidget(self.table)
        else:
            self.empty_label.setText(
                "No entries match the filter." if filtered else
                "No changes yet.\nEvery change you apply is recorded here with its result, and can be undone "
                "from here where the LMS allows.")
            self.history_stack.setCurrentWidget(self.empty_label)
        self._update_actions()

    def _on_outbox_loaded(self, n: int) -> None:
        self._update_outbox_title()
        self.outbox_stack.setCurrentWidget(self.outbox_table if n else self.outbox_empty)
        self._update_outbox_actions()

    def _update_outbox_title(self) -> None:
        """"Outbox (23,620) · 2 held": the count the engine last gave (the status bar's "changes waiting"), else
        the rows read; the held ones as read."""
        n = self._outbox_count if self._outbox_count is not None else self.outbox_model.rowCount()
        held = self.outbox_model.held_count()
        label = f"Outbox ({n:,})" if n else "Outbox"
        self.tabs.setTabText(1, label + (f" · {held:,} held" if held and n else ""))

    def _on_outbox_changed(self, count: int | None) -> None:
        """The engine counted the outbox (None: the profile closed)."""
        self._outbox_count = count
        self._update_outbox_title()
        if count is None:
            return
        self.outbox_model.refresh()
        if self.model.is_active():  # a held item's decision changes its journal entry too
            self.model.refresh()

    def _on_exported(self, path: str, rows: int) -> None:
        self.banner.show_notice(f"Exported {count_phrase(rows, 'entry', 'entries')} to {path}. "
                                "Cells that would start a formula are escaped.")

    def _on_export_failed(self, reason: str) -> None:
        self.banner.show_message("error", reason, title="Export failed")

    def _show_details(self) -> None:
        index = self.table.currentIndex()
        row = self.model.row_at(index.row()) if index.isValid() else None
        self.details.setVisible(row is not None)
        if row is None:
            return
        before, after = before_after(row)
        message = plain_message(row.code, row.message)
        lines = [(f"<b>{html.escape(row.title)}</b> &nbsp;{html.escape(row.kind)} · {html.escape(row.target)} · "
                 f"run {row.run_id} “{html.escape(row.run_title)}”, item {row.seq}"),
                 (f"{html.escape(self._shown_status(index))}{f' [{html.escape(row.code)}]' if row.code else ''}"
                 f"{': ' + html.escape(message) if message else ''}")]
        if before or after:
            lines.append(f"Before: {html.escape(before or '—')} &nbsp;→&nbsp; After: {html.escape(after or '—')}")
        if row.status == "done" and not row.inverse:
            lines.append("<i>Cannot be undone.</i>")
        self.details.setText("<br>".join(lines))

    def _shown_status(self, index: QModelIndex) -> str:
        """The result of ``index``'s row as the table's Result column reads it: an item of a run that is not
        going out right now reads "Waiting to be sent", not "Queued" / "Sending" (see plan_model.shown_status)."""
        return self.model.index(index.row(), self.model.COL_STATUS).data() or ""

    def _remember_selection(self) -> None:
        index = self.table.currentIndex()
        current = self.model.row_at(index.row()) if index.isValid() else None
        self._kept_selection = ({r.id for r in self.selected_rows()}, current.id if current else None)

    def _restore_selection(self) -> None:
        """A re-query (after a run, an undo, a decision) keeps the rows the admin had selected."""
        ids, current = self._kept_selection
        self._kept_selection = (set(), None)
        if not ids and current is None:
            return
        sm = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in self.model.rows_of(ids):
            sm.select(self.model.index(row, 0), flags)
        rows = self.model.rows_of([current]) if current is not None else []
        if rows:
            sm.setCurrentIndex(self.model.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate)

    def _update_actions(self, *_args) -> None:
        self._show_details()
        rows = self.selected_rows()
        self.undo_selected_action.setEnabled(any(r.status == "done" and r.inverse for r in rows))
        run = self._current_run()
        has_run = run is not None
        self.undo_run_action.setEnabled(has_run)
        # Shown whole (filtered to it), a run says whether anything failed; otherwise the plan will tell.
        shown = has_run and self.model.filter.run_id == run
        failed = any(r is not None and r.status == "failed"
                     for r in (self.model.row_at(i) for i in range(self.model.rowCount()))) if shown else True
        self.retry_action.setEnabled(has_run and failed)
        self.only_run_action.setEnabled(has_run)
        self.export_button.setEnabled(self.model.total() > 0)

    def _update_outbox_actions(self, *_args) -> None:
        rows = [self.outbox_model.row_at(i.row()) for i in self.outbox_table.selectionModel().selectedRows()]
        held = any(r is not None and r.status == "held" for r in rows)
        for b in (self.keep_button, self.theirs_button):
            b.setEnabled(held)
        self.drop_button.setEnabled(any(r is not None and r.status in ("held", "queued") for r in rows))
        offline = self.session.state.status == Online.OFFLINE
        self.send_button.setEnabled(self.outbox_model.rowCount() > self.outbox_model.held_count() and not offline)
        self.send_button.setToolTip("The site is not answering: what waits goes out by itself when it answers again"
                                    if offline else "Send what waits, re-checking each item against the site first")

    def _context_menu(self, index: QModelIndex, pos: QPoint) -> None:
        """The menu of the row the pointer (or, for the Menu key, the current row) is on; ``pos`` is global."""
        if index.isValid() and not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())
        menu = QMenu(self)
        for action in (self.undo_selected_action, self.undo_run_action, self.retry_action, None,
                       self.only_run_action, self.copy_action):
            menu.addSeparator() if action is None else menu.addAction(action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(pos)

    def _header_menu(self, pos) -> None:
        """Show or hide columns (all shown at first; Profile and LMS user matter with several sites)."""
        menu = QMenu(self)
        for col, name in enumerate(self.model.COLUMNS):
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(not self.table.isColumnHidden(col))
            action.setEnabled(col != self.model.COL_TITLE)
            action.toggled.connect(lambda on, c=col: self.table.setColumnHidden(c, not on))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))

    def _refresh_icons(self, *_args) -> None:
        self._search_action.setIcon(icon("search"))
        self.run_chip.setIcon(icon("close"))
        self.export_button.setIcon(icon("export"))
        self.undo_selected_action.setIcon(icon("refresh"))
        self.undo_run_action.setIcon(icon("refresh"))
        self.retry_action.setIcon(icon("sync"))
        self.send_button.setIcon(icon("upload"))
        self.run_chip.setIconSize(QSize(12, 12))
