"""The Qt side of the CSV/XLSX import: a table model of the dry-run rows (filtered by class) and
a controller that reads the file, runs the dry run and the export on the TaskRunner and hands
the changes to the change engine.

Models never import views: icons and colours come in as callables (``icons(name) -> QIcon``,
``colours(key) -> QColor``); without them the model shows text only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.row_table import RowTableModel
from lms_console.services.importer_model import CLASS_ORDER, DryRun, ImportOptions, RowClass, RowResult

COLUMNS = ("Row", "Result", "Username", "Changes (before → after)", "Problem")
COL_ROW, COL_CLASS, COL_USER, COL_CHANGES, COL_PROBLEM = range(len(COLUMNS))

CLASS_TEXT = {
    RowClass.CREATE: "Create",
    RowClass.UPDATE: "Update",
    RowClass.UNCHANGED: "Unchanged",
    RowClass.CONFLICT: "Conflict",
    RowClass.ERROR: "Error",
    RowClass.SKIPPED: "Skipped",
}
CLASS_ICON = {RowClass.CREATE: "add", RowClass.UPDATE: "edit", RowClass.UNCHANGED: "check",
              RowClass.CONFLICT: "warning", RowClass.ERROR: "error", RowClass.SKIPPED: "remove"}
CLASS_TONE = {RowClass.CREATE: None, RowClass.UPDATE: None, RowClass.UNCHANGED: "text_muted",
              RowClass.CONFLICT: "warning", RowClass.ERROR: "error", RowClass.SKIPPED: "text_muted"}
CLASS_EXPLANATION = {
    RowClass.CREATE: "A new account will be created (with its cohorts and enrolments).",
    RowClass.UPDATE: "The account exists; the listed fields, memberships or enrolments will change.",
    RowClass.UNCHANGED: "The account already looks like this row: nothing to send.",
    RowClass.CONFLICT: "Needs your decision (see the problem): nothing is sent for this row.",
    RowClass.ERROR: "The row is invalid (see the problem): nothing is sent for it. Export the failed rows, fix "
                    "them and import them again.",
    RowClass.SKIPPED: "Not imported (see why).",
}
_MAX_TEXT = 300


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(v: str) -> str:
    return v if v else "(empty)"


def diff_text(row: RowResult, sep: str = "; ") -> str:
    """``lastname: Doe → Doe-Smith; cohort: + Staff; course: + C101 as student``."""
    parts = []
    for field, before, after in row.diff:
        if field in ("cohort", "course") and not before:
            parts.append(f"{field}: + {after}")
        elif row.klass == RowClass.CREATE:
            parts.append(f"{field}: {after}")
        else:
            parts.append(f"{field}: {_value(before)} → {_value(after)}")
    return sep.join(parts)


def problem_text(row: RowResult, sep: str = "; ") -> str:
    """What is wrong with the row; its notes (what the import adjusted, e.g. a username put in lower case)
    only when nothing is wrong: beside an error they read like more errors."""
    if row.issues:
        return sep.join(i.text() for i in row.issues)
    return sep.join(row.notes)


class _Shown(Sequence):
    """The dry run's rows at the positions shown (the dry run makes a RowResult per access)."""

    def __init__(self, rows: Sequence[RowResult], positions: list[int]) -> None:
        self._all, self._positions = rows, positions

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, i):
        return self._all[self._positions[i]]


class ImportRowsModel(RowTableModel):
    """The rows of an import dry run, one table row each, filtered by class.

    Signals: none of its own beyond QAbstractItemModel's.
    ``RowRole`` gives the RowResult, ``ClassRole`` its class value ("create", ...).
    """

    COLUMNS = COLUMNS

    RowRole = Qt.ItemDataRole.UserRole + 1
    ClassRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent: QObject | None = None, *, icons: Callable[[str], Any] | None = None,
                 colours: Callable[[str], Any] | None = None) -> None:
        super().__init__(parent)
        self._icons = icons
        self._colours = colours
        self._result: DryRun | None = None
        self._all: Sequence[RowResult] = ()
        self._visible: set[RowClass] = set(RowClass)

    # -- public API ----------------------------------------------------------------------
    def set_result(self, result: DryRun | None) -> None:
        self.beginResetModel()
        self._result = result
        self._all = result.rows if result is not None else ()
        self._rows = _Shown(self._all, self._filtered())
        self.endResetModel()

    def result(self) -> DryRun | None:
        return self._result

    def set_visible_classes(self, classes: Iterable[RowClass | str]) -> None:
        """Show only rows whose class is one of ``classes``."""
        visible = {RowClass(c) for c in classes}
        if visible == self._visible:
            return
        self.beginResetModel()
        self._visible = visible
        self._rows = _Shown(self._all, self._filtered())
        self.endResetModel()

    def visible_classes(self) -> set[RowClass]:
        return set(self._visible)

    def _filtered(self) -> list[int]:
        rows = self._all
        if hasattr(rows, "indices"):
            return rows.indices(self._visible)
        return [i for i, r in enumerate(rows) if r.klass in self._visible]

    def cell(self, row: RowResult, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_CLASS and self._icons is not None:
            return self._icons(CLASS_ICON[row.klass])
        if role == Qt.ItemDataRole.ForegroundRole and self._colours is not None:
            tone = CLASS_TONE[row.klass] if col in (COL_CLASS, COL_PROBLEM) else None
            return self._colours(tone) if tone else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_ROW:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.RowRole:
            return row
        if role == self.ClassRole:
            return row.klass.value
        return None

    def _display(self, row: RowResult, col: int) -> str:
        if col == COL_ROW:
            return str(row.row)
        if col == COL_CLASS:
            return CLASS_TEXT[row.klass]
        if col == COL_USER:
            return row.username
        if col == COL_CHANGES:
            return _clip(diff_text(row))
        if col == COL_PROBLEM:
            return _clip(problem_text(row))
        return ""

    def _tooltip(self, row: RowResult, col: int) -> str | None:
        if col == COL_CHANGES:
            return diff_text(row, "\n") or None
        if col == COL_PROBLEM:
            return problem_text(row, "\n") or None
        if col == COL_CLASS:
            return CLASS_EXPLANATION[row.klass]
        if col == COL_USER and row.userid is not None:
            return f"{row.username} (account id {row.userid})"
        return None


class ImportController(QObject):
    """Runs an import's steps off the GUI thread and keeps their results.

    Signals:
        file_read(object): the Table (header, sample, what was detected) of the chosen file.
        file_failed(object): ImportFileError (one message for the whole file) or another error.
        profile_fields_loaded(object): list of the profile field short names the cache knows.
        dry_run_started(): a dry run began.
        dry_run_progress(int, int, str): done, total (0 = unknown) and what is happening.
        dry_run_finished(object): the DryRun.
        dry_run_failed(object): ImportFileError or another error; nothing was planned.
        dry_run_cancelled(): the admin cancelled the dry run.
        exported(str, int): the failed rows went to this file (path, how many rows).
        export_failed(object): the export could not be written.
        apply_requested(object): the DryRun whose changes went to the change engine.
    """

    file_read = Signal(object)
    file_failed = Signal(object)
    profile_fields_loaded = Signal(object)
    dry_run_started = Signal()
    dry_run_progress = Signal(int, int, str)
    dry_run_finished = Signal(object)
    dry_run_failed = Signal(object)
    dry_run_cancelled = Signal()
    exported = Signal(str, int)
    export_failed = Signal(object)
    apply_requested = Signal(object)

    def __init__(self, session, engine=None, parent: QObject | None = None, *, max_bytes: int | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.engine = engine
        self.runner = session.runner
        self.max_bytes = max_bytes
        self.table = None
        self.result: DryRun | None = None
        self.profile_fields: list[str] = []
        self._jobs: dict[str, int] = {}
        self._compared_with = ""  # the profile whose local copy the last dry run compared the file with
        self.runner.job_changed.connect(self._on_job_changed)
        closed = getattr(session, "closed", None)  # a ConnectionSession's; a plain stand-in (db, runner) has none
        if closed is not None:
            closed.connect(self._on_profile_closed)

    # -- reading the file ------------------------------------------------------------------
    def read(self, path: str, *, encoding: str | None = None, delimiter: str | None = None) -> int:
        from lms_console.services import importer

        kw: dict[str, Any] = {"encoding": encoding or None, "delimiter": delimiter or None}
        if self.max_bytes is not None:
            kw["max_bytes"] = self.max_bytes
        db = self.session.db

        def job(progress, cancel):
            table = importer.read_table(path, **kw)
            fields = importer.known_profile_fields(db) if db is not None else []
            return table, fields

        self.table, self.result = None, None
        return self._run("import-read", job, f"Read {path}", self._on_read, self.file_failed.emit)

    def _on_read(self, out) -> None:
        self.table, self.profile_fields = out
        self.profile_fields_loaded.emit(list(self.profile_fields))
        self.file_read.emit(self.table)

    # -- mapping -------------------------------------------------------------------------------
    def auto_map(self) -> tuple[str, ...]:
        from lms_console.services.importer import auto_map

        return auto_map(self.table.headers) if self.table is not None else ()

    def check(self, targets: Sequence[str], options: ImportOptions | None = None):
        from lms_console.services.importer import check_mapping

        return check_mapping(self.table.headers, targets, profile_fields=self.profile_fields or None,
                             create_passwords=bool(options and options.create_passwords),
                             ignored=options.ignored if options else ())

    # -- the dry run ------------------------------------------------------------------------------
    def dry_run(self, targets: Sequence[str], options: ImportOptions | None = None) -> int | None:
        from lms_console.services.importer import run_dry_run

        db, table = self.session.db, self.table
        if table is None:
            return None
        if db is None:
            from lms_console.services.importer import ImportFileError

            self.dry_run_failed.emit(ImportFileError("No connection profile is open: the dry run compares the file "
                                                     "with the site's local copy.", "Open a profile first."))
            return None
        targets, options = tuple(targets), options or ImportOptions()
        profile = getattr(self.session, "profile", None)
        self.result, self._compared_with = None, profile.name if profile is not None else ""
        self.dry_run_started.emit()
        return self._run("import-dry-run", lambda p, c: run_dry_run(db, table, targets, options, p, c),
                         f"Dry run of {table.source.name}", self._on_dry_run, self.dry_run_failed.emit)

    def cancel(self) -> None:
        self.runner.cancel_named("import-dry-run")

    def cancel_all(self) -> None:
        """Cancel every job of this import (reading, dry run, export): their late results are dropped."""
        for job in self._jobs.values():
            self.runner.cancel(job)

    def is_running(self) -> bool:
        return self.runner.is_running("import-dry-run")

    def _on_dry_run(self, result: DryRun) -> None:
        self.result = result
        self.dry_run_finished.emit(result)

    def _on_profile_closed(self) -> None:
        """The dry run (done or still running) compared the file with the closed profile's copy: it is not
        offered for the profile open next, whose site its changes would be planned against."""
        job = self._jobs.pop("import-dry-run", None)  # popped first: its end is not the admin's Cancel
        if job is not None and not self.runner.job(job).state.finished:
            self._jobs["closed-dry-run"] = job  # said once it has stopped (_on_job_changed): then it can run again
            self.runner.cancel(job)
        elif self.result is not None:
            self.result = None
            self._say_compared_with_closed()

    def _say_compared_with_closed(self) -> None:
        from lms_console.services.importer import ImportFileError

        self.dry_run_failed.emit(ImportFileError(
            f"The dry run compared the file with the local copy of profile {self._compared_with}, which was "
            "closed: nothing of it is planned.", "Run it again to compare the file with the profile open now."))

    # -- export and apply -----------------------------------------------------------------------------
    def export(self, path: str) -> int | None:
        """Write the failed rows (conflicts and errors) with their reasons to ``path`` (.csv or .xlsx)."""
        from lms_console.services.importer import export_failed_rows

        result, table = self.result, self.table
        if result is None or table is None:
            return None
        return self._run("import-export", lambda p, c: (path, export_failed_rows(result, table, path, progress=p,
                                                                                 cancel=c)),
                         f"Export the failed rows of {table.source.name}", lambda out: self.exported.emit(*out),
                         self.export_failed.emit)

    def apply(self) -> int | None:
        """Hand the dry run's changes to the change engine (which plans them and opens its preview)."""
        result = self.result
        if result is None or not result.changes or self.engine is None:
            return None
        self.apply_requested.emit(result)
        return self.engine.plan(list(result.changes), title=result.title)

    # -- plumbing ---------------------------------------------------------------------------------------
    def _run(self, name: str, fn, label: str, on_done, on_error) -> int:
        job = self.runner.run(name, fn, label=label, on_done=on_done, on_error=on_error)
        self._jobs[name] = job
        return job

    def _on_job_changed(self, info) -> None:
        if info.id == self._jobs.get("closed-dry-run") and info.state.finished:
            del self._jobs["closed-dry-run"]
            self._say_compared_with_closed()
            return
        if info.id != self._jobs.get("import-dry-run"):
            return
        if info.state.value == "running" and (info.done or info.total):
            self.dry_run_progress.emit(int(info.done), int(info.total), info.message)
        elif info.state.value == "cancelled":
            self._jobs.pop("import-dry-run", None)
            self.dry_run_cancelled.emit()


__all__ = ["CLASS_EXPLANATION", "CLASS_ICON", "CLASS_ORDER", "CLASS_TEXT", "CLASS_TONE", "COLUMNS",
           "ImportController", "ImportRowsModel", "diff_text", "problem_text"]
