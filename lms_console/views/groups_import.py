"""Import memberships from a CSV or Excel file: who (username, email, ID number or id), where
(a cohort, or a group with its course), add or remove; with the users import's dry run: every
row classified with its reason before anything is planned, failed rows exportable to fix.

The file is read and checked on workers (services.memberships_import); the planned changes go to
the change engine's preview like any other.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.groups_actions import dry_run_memberships, read_import_file
from lms_console.models.groups_import_model import DryRunTableModel
from lms_console.services import memberships_import as M
from lms_console.services.importer_export import export_failed_rows
from lms_console.services.importer_read import ImportFileError
from lms_console.views import theme
from lms_console.views.icons import icon

class ImportMembershipsDialog(QDialog):
    """Choose a file, map its columns, dry-run it, preview the changes (``open()``).

    Signals:
        plan_requested(object, str, bool): the changes, a title, and whether to enrol group members
            who are not enrolled first.
    """

    plan_requested = Signal(object, str, bool)

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.table = None
        self.result = None
        self._name = f"memberships-import-{id(self):x}"
        self.setObjectName("ImportMembershipsDialog")
        self.setWindowTitle("Import memberships")
        self.resize(900, 640)
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        head = QLabel("Import cohort or group memberships")
        head.setObjectName("DialogHeading")
        hint = QLabel("One row per membership: a user (username, email address, ID number or id), a cohort — or a "
                      "group and its course — and optionally an action (add or remove). CSV (any encoding or "
                      "delimiter) or Excel. Nothing is sent before the preview.")
        hint.setObjectName("DialogHint")
        hint.setWordWrap(True)
        lay.addWidget(head)
        lay.addWidget(hint)
        row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.setObjectName("ImportPath")
        self.path.setPlaceholderText("Choose a .csv or .xlsx file")
        self.path.returnPressed.connect(lambda: self.load(self.path.text()))
        browse = QPushButton("Choose file…")
        browse.setIcon(icon("upload"))
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.source = QLabel()
        self.source.setObjectName("GroupsHint")
        self.source.setWordWrap(True)
        lay.addWidget(self.source)
        self.mapping_box = QWidget()
        self.mapping = QFormLayout(self.mapping_box)
        lay.addWidget(self.mapping_box)
        self.enrol_first = QCheckBox("Enrol group members who are not enrolled in the group's course first (as "
                                     "students)")
        self.enrol_first.setObjectName("ImportEnrolFirst")
        self.enrol_first.toggled.connect(lambda _v: self.table is not None and self.dry_run())
        lay.addWidget(self.enrol_first)
        self.report = QLabel()
        self.report.setObjectName("FieldProblem")
        self.report.setWordWrap(True)
        self.report.hide()
        lay.addWidget(self.report)
        self.summary = QLabel()
        self.summary.setObjectName("MatrixSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.rows_model = DryRunTableModel(self, colours=theme.color)
        self.rows = QTableView()
        self.rows.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
        self.rows.setObjectName("ImportRows")
        self.rows.setModel(self.rows_model)
        self.rows.verticalHeader().hide()
        self.rows.setAlternatingRowColors(True)
        self.rows.setShowGrid(False)
        self.rows.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.rows.horizontalHeader().setStretchLastSection(True)
        self.rows.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for n, w in enumerate((60, 100, 150, 220)):
            self.rows.setColumnWidth(n, w)
        lay.addWidget(self.rows, 1)
        buttons = QHBoxLayout()
        self.export_button = QPushButton("Export failed rows…")
        self.export_button.setIcon(icon("export"))
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export)
        self.preview_button = QPushButton("Preview changes")
        self.preview_button.setObjectName("ImportPreview")
        self.preview_button.setProperty("primary", True)
        self.preview_button.setEnabled(False)
        self.preview_button.clicked.connect(self._preview)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.preview_button)
        lay.addLayout(buttons)
        # Enter is "Preview changes" (nothing while it is off), whichever button has the focus: an
        # auto-default Close would take it and drop the dry run.
        for b in self.findChildren(QPushButton):
            b.setAutoDefault(False)
        self.preview_button.setDefault(True)
        self._combos: list[QComboBox] = []
        self.mapping_box.hide()
        self.enrol_first.hide()
        self._file_dialog = None
        self.finished.connect(lambda _r: self._cancel_jobs())

    # -- the file --------------------------------------------------------------------------------------
    def _browse(self) -> None:
        dialog = QFileDialog(self, "Choose a membership file")
        dialog.setNameFilters(["Spreadsheets (*.csv *.xlsx *.txt)", "All files (*)"])
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.load)
        self._file_dialog = dialog
        dialog.open()

    def load(self, path: str) -> None:
        """Read ``path`` (off the GUI thread); a file that cannot be used is said inline."""
        self.path.setText(path)
        self._reset()
        if not path.strip():
            return
        self.source.setText("Reading the file…")
        self.session.runner.run(f"{self._name}-read", lambda p, c: read_import_file(path), label="Read the import file",
                                on_done=self._on_read)

    def _on_read(self, result) -> None:
        if isinstance(result, ImportFileError):
            self.source.setText("")
            self._problem(str(result))
            return
        self.table = result
        self.source.setText(result.source.describe() + (" · " + " ".join(result.source.notes)
                                                        if result.source.notes else ""))
        self._build_mapping(M.auto_map(result.headers))
        self.dry_run()

    def _build_mapping(self, targets) -> None:
        while self.mapping.rowCount():
            self.mapping.removeRow(0)
        self._combos = []
        for header, target in zip(self.table.headers, targets):
            combo = QComboBox()
            combo.addItem("(not imported)", "")
            for t in M.TARGETS:
                combo.addItem(M.LABELS[t], t)
            combo.setCurrentIndex(max(0, combo.findData(target)))
            combo.currentIndexChanged.connect(lambda _i: self.dry_run())
            self._combos.append(combo)
            self.mapping.addRow(header or "(no header)", combo)
        self.mapping_box.show()

    def targets(self) -> tuple[str, ...]:
        return tuple(c.currentData() for c in self._combos)

    # -- the dry run -------------------------------------------------------------------------------------
    def dry_run(self) -> None:
        table, db = self.table, self.session.db
        if table is None or db is None:
            return
        targets = self.targets()
        report = M.check_mapping(table.headers, targets)
        self.enrol_first.setVisible("group" in targets)
        self.result = None
        self.preview_button.setEnabled(False)
        self.export_button.setEnabled(False)
        if not report.ok:
            self._problem(" ".join(report.errors))
            self.rows_model.set_rows([])
            self.summary.setText("")
            return
        self._problem(" ".join(report.warnings), level="warning")
        enrol_first = self.enrol_first.isChecked()
        self.summary.setText("Checking every row against the local copy…")

        def job(p, c):
            return dry_run_memberships(db, table, targets, enrol_first=enrol_first, progress=p, cancel=c)

        self.session.runner.run(f"{self._name}-dry", job, label="Dry run of the membership import",
                                on_done=self._on_dry_run)

    def _on_dry_run(self, result) -> None:
        if isinstance(result, ImportFileError):
            self._problem(str(result))
            return
        self.result = result
        self.rows_model.set_rows(result.rows)
        n = len(result.changes)
        self.summary.setText(result.overview())
        self.preview_button.setEnabled(n > 0)
        self.preview_button.setText(f"Preview {n:,} change{'s' if n != 1 else ''}" if n else "Preview changes")
        self.export_button.setEnabled(bool(result.failed))

    def _problem(self, text: str, level: str = "error") -> None:
        self.report.setText(text)
        self.report.setProperty("level", level)
        self.report.style().unpolish(self.report)
        self.report.style().polish(self.report)
        self.report.setVisible(bool(text))

    def _reset(self) -> None:
        self.table = self.result = None
        self.rows_model.set_rows([])
        self.summary.setText("")
        self._problem("")
        self.mapping_box.hide()
        self.enrol_first.hide()
        self.preview_button.setEnabled(False)
        self.export_button.setEnabled(False)

    def _cancel_jobs(self) -> None:
        for suffix in ("read", "dry", "export"):
            self.session.runner.cancel_named(f"{self._name}-{suffix}")

    # -- out ----------------------------------------------------------------------------------------------
    def _preview(self) -> None:
        if self.result is None or not self.result.changes:
            return
        self.plan_requested.emit(list(self.result.changes), self.result.title, self.result.enrol_first)
        self.accept()

    def _export(self) -> None:
        if self.result is None or self.table is None:
            return
        dialog = QFileDialog(self, "Save the failed rows")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["Excel workbook (*.xlsx)", "CSV (*.csv)"])
        dialog.selectFile(f"{self.table.source.name.rsplit('.', 1)[0]}-failed.xlsx")
        dialog.fileSelected.connect(self.export_to)
        self._file_dialog = dialog
        dialog.open()

    def export_to(self, path: str) -> None:
        result, table = self.result, self.table
        if result is None or table is None:
            return

        def job(p, c):
            try:
                return export_failed_rows(result, table, path, progress=p, cancel=c)
            except (ImportFileError, OSError) as exc:
                return exc

        def done(n) -> None:
            if isinstance(n, Exception):
                self._problem(f"The failed rows could not be saved: {n}")
            else:
                self._problem(f"{n:,} failed rows saved to {path}. Fix them there and import the file again.",
                              level="info")

        self.session.runner.run(f"{self._name}-export", job, label="Export failed rows", on_done=done)


__all__ = ["ImportMembershipsDialog"]
