"""Import accounts from CSV or XLSX: choose the file, map its columns, dry-run it against the
local copy, then export the failed rows or hand the changes to the change engine's preview.

Three steps in one dialog (opened with ``open()``):
1. File: the file (a Qt file dialog, never the native one), encoding and separator (detected
   unless chosen), what to do with existing accounts, whether Moodle may create passwords.
2. Columns: one menu per column, matched from the headers; unknown, missing and duplicated
   columns are named; the dry run waits until nothing blocks it.
3. Dry run: off the GUI thread with progress and Cancel ("Run again" after a cancel or a failure);
   counts per class double as filters of the row table; "Export failed rows…" and "Apply…" (the
   preview of the change engine follows).
"""

from __future__ import annotations

import html
import os

from PySide6.QtCore import QItemSelection, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.import_model import (
    CLASS_ICON,
    CLASS_TONE,
    ImportController,
    ImportRowsModel,
    diff_text,
    problem_text,
)
from lms_console.services.importer_mapping import column_name, target_choices, target_label
from lms_console.services.importer_model import CLASS_ORDER, CLASS_WORDS, ImportOptions
from lms_console.views import theme
from lms_console.views.dialogs.preview_dialog import CountToggle
from lms_console.views.icons import icon
from lms_console.views.widgets.wheel_guard import WheelGuard

ENCODING_CHOICES = (("Detect automatically", ""), ("UTF-8", "utf-8"), ("UTF-16", "utf-16"),
                    ("Windows-1252 (Western European)", "cp1252"), ("ISO-8859-1 (Latin-1)", "latin-1"))
DELIMITER_CHOICES = (("Detect automatically", ""), ("Comma ,", ","), ("Semicolon ;", ";"), ("Tab", "\t"))
MODE_CHOICES = (("Create new accounts and update existing ones", "create_update"),
                ("Only create new accounts (skip existing ones)", "create_only"),
                ("Only update existing accounts (skip new ones)", "update_only"))
STEPS = ("File", "Columns", "Dry run")
SAMPLE_CELLS = 3


def _colour(key: str | None):
    return theme.color(key) if key else None


class ImportDialog(QDialog):
    """The import wizard for one file.

    Signals: none of its own; "Apply…" goes through the controller to the change engine
    (``ImportController.apply_requested``); the dialog steps aside while the preview is open and
    closes once the changes are applied (see :meth:`apply`).
    """

    def __init__(self, controller: ImportController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        controller.setParent(self)
        self.setWindowTitle("Import accounts")
        self.setObjectName("ImportDialog")
        self.setMinimumSize(QSize(860, 560))
        self.file_dialog: QFileDialog | None = None
        self.save_dialog: QFileDialog | None = None
        self._combos: list[QComboBox] = []
        self._chosen: set[int] = set()  # columns whose target the admin picked (not the auto-mapper)
        self._in_preview: str | None = None  # the title of the plan whose preview is open (the dialog waits)
        self._class_buttons: dict[str, CountToggle] = {}
        self._wheel_guard = WheelGuard(self)  # the wheel scrolls the column list, not the menus it passes
        self._build()
        self._connect()
        self._go(0)

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.steps_label = QLabel()
        self.steps_label.setObjectName("ImportSteps")
        root.addWidget(self.steps_label)
        self.stack = QStackedWidget()
        root.addWidget(self.stack, 1)
        self.stack.addWidget(self._build_file_page())
        self.stack.addWidget(self._build_columns_page())
        self.stack.addWidget(self._build_run_page())
        buttons = QHBoxLayout()
        self.back_button = QPushButton("‹ Back")
        self.export_button = QPushButton(icon("export"), "Export failed rows…")
        self.export_button.setToolTip("Save the rows with a conflict or an error, with the reason in an extra column, "
                                      "to fix them and import them again")
        self.apply_button = QPushButton(icon("check"), "Apply…")
        self.apply_button.setToolTip("Plan the changes; the preview shows every change before anything is sent")
        self.next_button = QPushButton("Next ›")
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        for b in (self.export_button, self.apply_button, self.next_button, self.close_button):
            buttons.addWidget(b)
        root.addLayout(buttons)
        # Enter is the page's primary action (_update_buttons makes it the default button), whichever button
        # has the focus: an auto-default button takes Enter while focused, and when "Next ›" turns off while
        # the file is read the focus moves on to "Close" (Enter then closed the wizard, losing the work).
        for b in self.findChildren(QPushButton):
            b.setAutoDefault(False)

    def _build_file_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        intro = QLabel("Choose a CSV or Excel (.xlsx) file with one account per row and a header row. The next step "
                       "matches its columns; nothing is sent before the change engine's preview.")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("people.csv or people.xlsx")
        self.path_edit.setAccessibleName("File to import")
        self.browse_button = QPushButton(icon("search"), "Browse…")
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        form.addRow("File:", row)
        self.encoding_combo = QComboBox()
        for text, value in ENCODING_CHOICES:
            self.encoding_combo.addItem(text, value)
        form.addRow("Encoding:", self.encoding_combo)
        self.delimiter_combo = QComboBox()
        for text, value in DELIMITER_CHOICES:
            self.delimiter_combo.addItem(text, value)
        form.addRow("Separator (CSV):", self.delimiter_combo)
        self.mode_combo = QComboBox()
        for text, value in MODE_CHOICES:
            self.mode_combo.addItem(text, value)
        form.addRow("Accounts:", self.mode_combo)
        self.create_passwords_check = QCheckBox("Let Moodle create and email a password for new accounts without one")
        form.addRow("", self.create_passwords_check)
        lay.addLayout(form)
        self.file_problem = self._message_label("ImportFileProblem")
        lay.addWidget(self.file_problem)
        lay.addStretch(1)
        return page

    def _build_columns_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.source_label = QLabel()
        self.source_label.setObjectName("ImportSource")
        self.source_label.setWordWrap(True)
        lay.addWidget(self.source_label)
        self.mapping_table = QTableWidget(0, 4)
        self.mapping_table.setObjectName("ImportMapping")
        self.mapping_table.setHorizontalHeaderLabels(["Column", "Header in the file", "Examples", "Import as"])
        self.mapping_table.verticalHeader().setVisible(False)
        self.mapping_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.mapping_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.mapping_table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.mapping_table, 1)
        self.mapping_problems = self._message_label("ImportMappingProblems")
        lay.addWidget(self.mapping_problems)
        return page

    def _build_run_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.progress_frame = QFrame()
        pl = QHBoxLayout(self.progress_frame)
        pl.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar()
        self.progress_bar.setAccessibleName("Dry run progress")
        self.progress_label = QLabel("Checking every row against the local copy…")
        self.cancel_button = QPushButton(icon("cancel"), "Cancel")
        pl.addWidget(self.progress_label)
        pl.addWidget(self.progress_bar, 1)
        pl.addWidget(self.cancel_button)
        lay.addWidget(self.progress_frame)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("ImportSummary")
        self.summary_label.setWordWrap(True)
        lay.addWidget(self.summary_label)
        self.counts_bar = QWidget()
        counts = QHBoxLayout(self.counts_bar)
        counts.setContentsMargins(0, 0, 0, 0)
        counts.addWidget(QLabel("Show:"))
        for klass in CLASS_ORDER:
            b = CountToggle(CLASS_ICON[klass], CLASS_TONE[klass] or "")
            b.setChecked(True)
            b.toggled.connect(self._on_filter_changed)
            self._class_buttons[klass.value] = b
            counts.addWidget(b)
        counts.addStretch(1)
        self.counts_bar.hide()  # until a dry run has counts: never the last run's above an empty table
        lay.addWidget(self.counts_bar)
        self.model = ImportRowsModel(self, icons=icon, colours=_colour)
        self.rows_view = QTableView()
        self.rows_view.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
        self.rows_view.setObjectName("ImportRows")
        self.rows_view.setModel(self.model)
        self.rows_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.rows_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rows_view.verticalHeader().setVisible(False)
        self.rows_view.setWordWrap(False)
        self.rows_view.horizontalHeader().setStretchLastSection(True)
        self.rows_view.horizontalHeader().resizeSection(3, 280)
        lay.addWidget(self.rows_view, 1)
        self.details_label = QLabel()
        self.details_label.setObjectName("ImportRowDetails")
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.details_label)
        self.run_message = self._message_label("ImportRunMessage")
        lay.addWidget(self.run_message)
        return page

    @staticmethod
    def _message_label(name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.hide()
        return label

    def _connect(self) -> None:
        c = self.controller
        self.browse_button.clicked.connect(self.browse)
        self.back_button.clicked.connect(lambda: self._go(self.stack.currentIndex() - 1))
        self.next_button.clicked.connect(self.next_step)
        self.close_button.clicked.connect(self.reject)
        self.cancel_button.clicked.connect(c.cancel)
        self.export_button.clicked.connect(self.choose_export_path)
        self.apply_button.clicked.connect(self.apply)
        self.path_edit.textChanged.connect(lambda _t: self._update_buttons())
        self.create_passwords_check.toggled.connect(lambda _on: self._recheck())
        self.rows_view.selectionModel().selectionChanged.connect(self._on_row_selected)
        c.file_read.connect(self._on_file_read)
        c.file_failed.connect(self._on_file_failed)
        c.dry_run_progress.connect(self._on_progress)
        c.dry_run_finished.connect(self._on_dry_run)
        c.dry_run_failed.connect(self._on_dry_run_failed)
        c.dry_run_cancelled.connect(self._on_cancelled)
        c.exported.connect(self._on_exported)
        c.export_failed.connect(lambda exc: self._say(self.run_message, "error", str(exc)))

    # -- step 1: the file -------------------------------------------------------------------------
    def browse(self) -> QFileDialog:
        start = os.path.dirname(self.path_edit.text()) or os.path.expanduser("~")
        dialog = QFileDialog(self, "Choose the file to import", start,
                             "Spreadsheets (*.csv *.xlsx *.tsv *.txt);;All files (*)")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_file_chosen)
        self.file_dialog = dialog
        dialog.open()
        return dialog

    def _on_file_chosen(self, path: str) -> None:
        self.set_path(path)
        self.read_file()

    def set_path(self, path: str) -> None:
        self.path_edit.setText(str(path))

    def options(self) -> ImportOptions:
        ignored = frozenset(i for i in self._chosen if not self._combos[i].currentData())
        return ImportOptions(mode=self.mode_combo.currentData(), create_passwords=self.create_passwords_check.isChecked(),
                             ignored=ignored)

    def read_file(self) -> int | None:
        path = self.path_edit.text().strip()
        if not path:
            self._say(self.file_problem, "error", "Choose a file first.")
            return None
        self.file_problem.hide()
        self.next_button.setEnabled(False)
        self.next_button.setText("Reading…")
        return self.controller.read(path, encoding=self.encoding_combo.currentData(),
                                    delimiter=self.delimiter_combo.currentData())

    def _on_file_failed(self, exc) -> None:
        self.next_button.setText("Next ›")
        self._update_buttons()
        message, hint = getattr(exc, "message", str(exc)), getattr(exc, "hint", "")
        self._say(self.file_problem, "error", message, hint)

    def _on_file_read(self, table) -> None:
        self.next_button.setText("Next ›")
        src = table.source
        notes = "".join(f"<br>• {html.escape(n)}" for n in src.notes)
        self.source_label.setText(f"<b>{html.escape(src.describe())}</b>, header on row {src.header_row}{notes}")
        self._fill_mapping(table, self.controller.auto_map())
        self._go(1)

    # -- step 2: the columns --------------------------------------------------------------------------
    def _fill_mapping(self, table, targets) -> None:
        self._combos, self._chosen = [], set()
        self.mapping_table.setRowCount(len(table.headers))
        choices = target_choices(table.headers, targets, self.controller.profile_fields)
        for i, header in enumerate(table.headers):
            self.mapping_table.setItem(i, 0, QTableWidgetItem(column_name(i).split(" ", 1)[1]))
            self.mapping_table.setItem(i, 1, QTableWidgetItem(header or "(no header)"))
            samples = [r[i] for r in table.sample if i < len(r) and r[i].strip()][:SAMPLE_CELLS]
            if targets[i] == "password":
                samples = ["(hidden)" for _s in samples]
            self.mapping_table.setItem(i, 2, QTableWidgetItem(" · ".join(samples)))
            combo = QComboBox()
            combo.setAccessibleName(f"Import column {header} as")
            for t in choices:
                combo.addItem(target_label(t), t)
            combo.setCurrentIndex(max(0, combo.findData(targets[i])))
            combo.currentIndexChanged.connect(lambda _i: self._recheck())
            combo.activated.connect(lambda _i, col=i: self._on_chosen(col))  # also when picked again
            self._wheel_guard.guard(combo)
            self.mapping_table.setCellWidget(i, 3, combo)
            self._combos.append(combo)
        self.mapping_table.resizeColumnToContents(0)
        self.mapping_table.resizeColumnToContents(1)
        self.mapping_table.setColumnWidth(3, 240)
        self._recheck()

    def targets(self) -> tuple[str, ...]:
        return tuple(c.currentData() for c in self._combos)

    def set_target(self, column: int, target: str) -> None:
        """Choose ``target`` for ``column`` as the admin does in its menu."""
        combo = self._combos[column]
        index = combo.findData(target)
        if index < 0:
            combo.addItem(target_label(target), target)
            index = combo.count() - 1
        combo.setCurrentIndex(index)
        self._on_chosen(column)

    def _on_chosen(self, column: int) -> None:
        self._chosen.add(column)
        self._recheck()

    def mapping_report(self):
        return self.controller.check(self.targets(), self.options()) if self.controller.table is not None else None

    def _recheck(self) -> None:
        report = self.mapping_report()
        if report is None:
            return
        lines = [f"<span style='color:{theme.color('error').name()}'>✖ {html.escape(e)}</span>" for e in report.errors]
        lines += [f"⚠ {html.escape(w)}" for w in report.warnings]
        self.mapping_problems.setText("<br>".join(lines))
        self.mapping_problems.setVisible(bool(lines))
        self._update_buttons()

    # -- step 3: the dry run -------------------------------------------------------------------------------
    def start_dry_run(self) -> int | None:
        report = self.mapping_report()
        if report is None or not report.ok:
            return None
        self._go(2)
        self.model.set_result(None)
        self._show_counts(None)
        self.summary_label.clear()
        self.details_label.clear()
        self.run_message.hide()
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText("Checking every row against the local copy…")
        self.progress_frame.show()
        job = self.controller.dry_run(self.targets(), self.options())
        self._update_buttons()
        return job

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * min(done, total) / total))
        if message:
            self.progress_label.setText(message)

    def _on_dry_run(self, result) -> None:
        self.progress_frame.hide()
        self.model.set_result(result)
        self._show_counts(result)
        self.rows_view.resizeColumnToContents(0)
        changes = len(result.changes)
        self.summary_label.setText(
            f"<b>{html.escape(result.summary())}</b> — {changes:,} change{'s' if changes != 1 else ''} to plan. "
            "Rows with a conflict or an error are not imported.")
        if result.warnings:
            self._say(self.run_message, "warning", " ".join(result.warnings))
        self._update_buttons()

    def _show_counts(self, result) -> None:
        """The count of each class on its filter button; hidden without a result (running, cancelled, failed)."""
        for klass in CLASS_ORDER:
            n = result.count(klass) if result is not None else 0
            one, many = CLASS_WORDS[klass]
            b = self._class_buttons[klass.value]
            b.setEnabled(n > 0)
            b.set_label(f"{n:,} {one if n == 1 else many}" if result is not None else "")
        self.counts_bar.setVisible(result is not None)
        self._on_filter_changed()  # a class without rows is shown whatever its button says

    def _on_dry_run_failed(self, exc) -> None:
        self.progress_frame.hide()
        self._show_counts(None)
        self._say(self.run_message, "error", getattr(exc, "message", str(exc)), getattr(exc, "hint", ""))
        self._update_buttons()

    def _on_cancelled(self) -> None:
        self.progress_frame.hide()
        self._show_counts(None)
        self._say(self.run_message, "info", "The dry run was cancelled; nothing was planned. Start it over with "
                                            "“Run again”, or go “‹ Back” to change the columns.")
        self._update_buttons()

    def _on_filter_changed(self, _on: bool = False) -> None:
        self.model.set_visible_classes(k for k, b in self._class_buttons.items() if b.isChecked() or not b.isEnabled())

    def show_only(self, klass: str) -> None:
        for k, b in self._class_buttons.items():
            b.blockSignals(True)
            b.setChecked(k == klass)
            b.blockSignals(False)
        self._on_filter_changed()

    def _on_row_selected(self, _selected: QItemSelection = None, _deselected: QItemSelection = None) -> None:
        rows = self.rows_view.selectionModel().selectedRows()
        row = self.model.row_at(rows[0].row()) if rows else None
        if row is None:
            self.details_label.clear()
            return
        parts = [f"<b>Row {row.row}</b> ({html.escape(row.username or 'no username')}):"]
        parts += [html.escape(line) for line in diff_text(row, "\n").splitlines()]
        parts += [html.escape(line) for line in problem_text(row, "\n").splitlines()]
        self.details_label.setText("<br>".join(parts))

    # -- export and apply --------------------------------------------------------------------------------
    def choose_export_path(self) -> QFileDialog | None:
        table = self.controller.table
        if table is None or self.controller.result is None:
            return None
        base, ext = os.path.splitext(table.source.path)
        dialog = QFileDialog(self, "Save the failed rows", f"{base}-failed{ext or '.csv'}",
                             "CSV (*.csv);;Excel workbook (*.xlsx)")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_failed_to)
        self.save_dialog = dialog
        dialog.open()
        return dialog

    def export_failed_to(self, path: str) -> int | None:
        self._say(self.run_message, "info", "Saving the failed rows…")
        return self.controller.export(str(path))

    def _on_exported(self, path: str, count: int) -> None:
        self._say(self.run_message, "info", f"Saved {count:,} failed row{'s' if count != 1 else ''} with their "
                                            f"reasons to {path}. Fix them there and import that file.")

    def apply(self) -> int | None:
        """Hand the changes to the change engine. The dialog steps aside while its preview is open, and
        comes back, with everything as it was, if the preview is closed without applying (or planning
        fails); it closes once they are applied."""
        job = self.controller.apply()
        if job is None:
            return None
        views = getattr(self.parentWidget(), "change_views", None)
        if views is None:
            self.accept()
            return job
        self._in_preview = self.controller.result.title
        views.preview_finished.connect(self._on_preview_finished)
        self.controller.engine.plan_failed.connect(self._on_plan_failed)
        self.hide()
        return job

    def _stop_waiting(self) -> None:
        self._in_preview = None
        self.parentWidget().change_views.preview_finished.disconnect(self._on_preview_finished)
        self.controller.engine.plan_failed.disconnect(self._on_plan_failed)

    def _on_preview_finished(self, title: str, applied: bool) -> None:
        if title != self._in_preview:
            return
        self._stop_waiting()
        if applied:
            self.accept()
            return
        self._say(self.run_message, "info", "The preview was closed without applying: nothing was sent. Apply again, "
                                            "or go “‹ Back” to change the columns or the file.")
        self.open()

    def _on_plan_failed(self, _exc) -> None:
        if self._in_preview is not None:
            self._stop_waiting()
            self.open()  # the window's banner says why

    # -- state ------------------------------------------------------------------------------------------------
    def _go(self, step: int) -> None:
        step = max(0, min(step, len(STEPS) - 1))
        self.stack.setCurrentIndex(step)
        self.steps_label.setText("  ›  ".join(f"<b>{i + 1} {s}</b>" if i == step else f"{i + 1} {s}"
                                              for i, s in enumerate(STEPS)))
        self._update_buttons()

    def next_step(self) -> None:
        step = self.stack.currentIndex()
        if step == 0:
            self.read_file()
        elif step == 1 or (step == 2 and not self.controller.is_running() and self.controller.result is None):
            self.start_dry_run()

    def _update_buttons(self) -> None:
        step = self.stack.currentIndex()
        running = self.controller.is_running()
        result = self.controller.result
        self.back_button.setEnabled(step > 0 and not running)
        rerun = step == 2 and not running and result is None  # cancelled or failed: "Run again" is offered
        self.next_button.setVisible(step < 2 or rerun)
        if step == 0:
            reading = self.next_button.text() == "Reading…"
            if not reading:
                self.next_button.setText("Next ›")  # also after "‹ Back" from the columns ("Dry run ›")
            self.next_button.setEnabled(bool(self.path_edit.text().strip()) and not reading)
        elif step == 1:
            report = self.mapping_report()
            self.next_button.setText("Dry run ›")
            self.next_button.setEnabled(report is not None and report.ok)
        elif rerun:
            self.next_button.setText("Run again")
            self.next_button.setEnabled(True)
        on_results = step == 2 and result is not None and not running
        self.export_button.setVisible(step == 2)
        self.apply_button.setVisible(step == 2)
        self.export_button.setEnabled(on_results and bool(result.count("conflict") + result.count("error")))
        n = len(result.changes) if on_results else 0
        self.apply_button.setEnabled(on_results and n > 0)
        self.apply_button.setText(f"Apply… ({n:,} change{'s' if n != 1 else ''})" if on_results else "Apply…")
        (self.next_button if step < 2 or rerun else self.apply_button).setDefault(True)

    def _say(self, label: QLabel, level: str, message: str, hint: str = "") -> None:
        mark = {"error": "✖", "warning": "⚠", "info": "ℹ"}[level]
        tone = {"error": "error", "warning": "warning", "info": "text"}[level]
        text = f"<span style='color:{theme.color(tone).name()}'>{mark} {html.escape(message)}</span>"
        if hint:
            text += f"<br>{html.escape(hint)}"
        label.setText(text)
        label.setAccessibleDescription(f"{message} {hint}".strip())
        label.show()

    def done(self, result: int) -> None:
        self.controller.cancel_all()  # a result arriving after the dialog is gone is dropped
        for d in (self.file_dialog, self.save_dialog):
            try:
                if d is not None and d.isVisible():
                    d.close()
            except RuntimeError:  # already deleted (WA_DeleteOnClose)
                pass
        super().done(result)


__all__ = ["ImportDialog"]
