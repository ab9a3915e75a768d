"""Reports: run them off the GUI thread, show their numbers, drill down, keep snapshots.

:class:`ReportsModel` runs every report, drill-down, snapshot read and comparison on the
TaskRunner (named jobs: asking again cancels the previous run) and saves snapshots through the
session's writer thread. :class:`FrameTableModel` shows any result table (a pandas DataFrame)
without its ``_`` key columns; :class:`SnapshotsModel` lists the saved snapshots.

pandas and the report modules are imported inside the jobs, when a report first runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from lms_console.models.row_table import RowTableModel
from lms_console.models.session import Online
from lms_console.services.reports import DrillRequest, ReportParams, ReportResult

ColourProvider = Callable[[str], Any]
Index = QModelIndex | QPersistentModelIndex
STATUS_TONE = {"completed": "success", "overdue": "error", "in_progress": "info", "not_started": "text_muted"}
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
SortRole = Qt.ItemDataRole.UserRole + 1  # the raw value of a cell


def _missing(v: Any) -> bool:
    """None, NaN, pandas NA or NaT (without importing pandas)."""
    if v is None:
        return True
    if isinstance(v, float):  # numpy floats too
        return math.isnan(v)
    return type(v).__name__ in ("NAType", "NaTType")


def format_cell(value: Any, column: str = "") -> str:
    """A cell as text: thousands separators, one decimal for percentages, signs for deltas."""
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item"):
        value = value.item()
    delta = column.startswith("Δ ")
    if isinstance(value, float):
        if value.is_integer() and "%" not in column:
            value = int(value)
        else:
            text = f"{value:,.1f}"
            return (f"▲ +{text}" if value > 0 else f"▼ {text.replace('-', '−')}" if value < 0 else "0") if delta else text
    if isinstance(value, int):
        return (f"▲ +{value:,}" if value > 0 else f"▼ {value:,}".replace("-", "−") if value < 0 else "0") \
            if delta else f"{value:,}"
    return str(value)


class FrameTableModel(QAbstractTableModel):
    """A read-only table over a DataFrame; ``_`` columns stay hidden but reachable by row.

    ``status_columns`` (display column -> hidden status column) colour compliance cells;
    ``delta_columns`` mark comparison deltas (highlighted when not zero).

    Signals: none beyond QAbstractTableModel's.
    """

    def __init__(self, parent: QObject | None = None, *, colours: ColourProvider | None = None) -> None:
        super().__init__(parent)
        self._colours = colours
        self._frame = None
        self._columns: list[str] = []
        self._values: list[list[Any]] = []  # per visible column
        self._hidden: dict[str, list[Any]] = {}
        self._numeric: list[bool] = []
        self._status: dict[int, str] = {}  # visible column -> hidden status column
        self._deltas: set[int] = set()
        self._rows = 0

    # -- content -------------------------------------------------------------------------------
    def set_frame(self, frame, *, status_columns: dict[str, str] | None = None,
                  delta_columns: Sequence[str] = ()) -> None:
        self.beginResetModel()
        self._frame = frame
        self._status_spec = dict(status_columns or {})
        self._delta_spec = tuple(delta_columns)
        self._load()
        self.endResetModel()

    def clear(self) -> None:
        self.set_frame(None)

    def _load(self) -> None:
        frame = self._frame
        if frame is None:
            self._columns, self._values, self._hidden, self._numeric, self._rows = [], [], {}, [], 0
            self._status, self._deltas = {}, set()
            return
        self._columns = [str(c) for c in frame.columns if not str(c).startswith("_")]
        self._values = [frame[c].tolist() for c in self._columns]
        self._hidden = {str(c): frame[c].tolist() for c in frame.columns if str(c).startswith("_")}
        from pandas.api.types import is_numeric_dtype

        self._numeric = [is_numeric_dtype(frame[c]) and frame[c].dtype != bool for c in self._columns]
        self._rows = len(frame)
        self._status = {i: self._status_spec[c] for i, c in enumerate(self._columns)
                        if c in self._status_spec and self._status_spec[c] in self._hidden}
        self._deltas = {i for i, c in enumerate(self._columns) if c in self._delta_spec}

    @property
    def frame(self):
        return self._frame

    def columns(self) -> list[str]:
        return list(self._columns)

    def column_of(self, name: str) -> int:
        return self._columns.index(name) if name in self._columns else -1

    def hidden(self, row: int, name: str) -> Any:
        values = self._hidden.get(name)
        return values[row] if values is not None and 0 <= row < self._rows else None

    def value(self, row: int, column: int) -> Any:
        return self._values[column][row]

    # -- Qt model ------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self._columns[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return RIGHT if self._numeric[section] else LEFT
        elif orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole and 0 <= section < self._rows:
            return str(section + 1)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < self._rows and 0 <= index.column() < len(self._columns)):
            return None
        r, c = index.row(), index.column()
        value = self._values[c][r]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(value, self._columns[c])
        if role == Qt.ItemDataRole.ToolTipRole:
            text = format_cell(value, self._columns[c])
            return text if len(text) > 30 else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if self._numeric[c] else LEFT
        if role == SortRole:
            return None if _missing(value) else (value.item() if hasattr(value, "item") else value)
        if role == Qt.ItemDataRole.ForegroundRole and self._colours is not None:
            if c in self._status:
                tone = STATUS_TONE.get(str(self._hidden[self._status[c]][r]))
                return self._colours(tone) if tone else None
            if c in self._deltas and not _missing(value) and value != 0:
                return self._colours("info")
        if role == Qt.ItemDataRole.FontRole and c in self._deltas and not _missing(value) and value != 0:
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._frame is None or not (0 <= column < len(self._columns)):
            return
        self.layoutAboutToBeChanged.emit()
        name = self._columns[column]
        col = self._frame[name]
        key = (lambda s: s.astype(str).str.lower()) if not self._numeric[column] else None
        self._frame = self._frame.sort_values(name, ascending=order == Qt.SortOrder.AscendingOrder, kind="stable",
                                              na_position="last", key=key if col.dtype == object else None)
        self._load()
        self.layoutChanged.emit()

    # -- drill-down ----------------------------------------------------------------------------
    def drill_request(self, index: Index, drill: dict[str, str], label_column: int = 0) -> DrillRequest | None:
        """What a click on ``index`` asks for: the row's users (by its key and the column's status)."""
        if not index.isValid():
            return None
        r = index.row()
        user = self.hidden(r, "_userid")
        if user is not None and "_key" not in self._hidden:
            return DrillRequest(f"user:{int(user)}", "user", label=str(self.value(r, 0)))
        key = self.hidden(r, "_key")
        if key is None:
            return None
        column = self._columns[index.column()]
        status = drill.get(column)
        if status is None:
            return None
        start, end = self.hidden(r, "_start"), self.hidden(r, "_end")
        if status == "bin":
            start, end = self.hidden(r, "_lo"), self.hidden(r, "_hi")
        label = str(self.value(r, label_column)) if self._columns else str(key)
        return DrillRequest(str(key), status, None if _missing(start) else int(start),
                            None if _missing(end) else int(end), label)

    def user_ids(self, rows: Sequence[int] | None = None) -> list[int]:
        ids = self._hidden.get("_userid", [])
        picked = range(self._rows) if rows is None else rows
        return list(dict.fromkeys(int(ids[r]) for r in picked if 0 <= r < len(ids) and not _missing(ids[r])))


class SnapshotsModel(RowTableModel):
    """Saved snapshots, newest first.

    Signals: none beyond QAbstractTableModel's.
    """

    COLUMNS = ("Report", "Saved (UTC)", "Data as of (UTC)", "How", "Parameters")

    def set_items(self, items: Sequence) -> None:
        self.replace_rows(items)

    def item(self, row: int):
        return self.row_at(row)

    def cell(self, s, c: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return s.title + ("" if s.readable else " (cannot be opened)")
            if c == 1:
                return time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.created_at)) if s.created_at else ""
            if c == 2:
                return time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.as_of)) if s.as_of else "never synced"
            if c == 3:
                return "After a sync" if s.auto else "Saved by you"
            if c == 4:
                return params_summary(s.params)
        if role == Qt.ItemDataRole.ToolTipRole and not s.readable:
            return (f"Saved in snapshot format {s.schema_version}, which this version cannot read"
                    if s.kind else "Unknown report")
        if role == Qt.ItemDataRole.ToolTipRole and c == 4:
            return params_summary(s.params)  # in full, when the column is narrower than the text
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


def params_summary(params: dict) -> str:
    parts = []
    for key, one, many in (("courses", "course", "courses"), ("categories", "category", "categories"),
                           ("cohorts", "cohort", "cohorts")):
        n = len(params.get(key) or ())
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    if params.get("field") and params.get("field_values"):
        parts.append(f"{params['field']} = {', '.join(map(str, params['field_values']))}")
    if params.get("group_by"):
        parts.append(f"by {params['group_by']}")
    if params.get("date_from") or params.get("date_to"):
        f = time.strftime("%Y-%m-%d", time.gmtime(params["date_from"])) if params.get("date_from") else "…"
        t = time.strftime("%Y-%m-%d", time.gmtime(params["date_to"])) if params.get("date_to") else "…"
        parts.append(f"{f} to {t}")
    if params.get("required"):
        parts.append(f"{len(params['required'])} required")
    return "; ".join(parts) or "everything"


class ReportsModel(QObject):
    """Runs reports and everything around them for the reports pane.

    Signals:
        report_started(str): a report of this kind started (progress shows in the jobs panel).
        report_ready(object): a ReportResult (from the cache or a snapshot) to show.
        drill_ready(object): a DrillResult (the users behind a number).
        options_loaded(object): ReportOptions for the parameters panel.
        snapshots_loaded(object): list of SnapshotInfo, newest first.
        snapshot_saved(int): a snapshot was saved (its id).
        comparison_ready(object): a Comparison of two snapshots (or a snapshot and the current result).
        grades_fetch_started(): "Fetch grades" started a sync of the grades.
        grades_fetched(): that sync went through (the report is run again with them).
        exported(str): data was written to this file.
        problem(str): something the admin should know (nothing open, a file that cannot be written).
    """

    report_started = Signal(str)
    report_ready = Signal(object)
    drill_ready = Signal(object)
    options_loaded = Signal(object)
    snapshots_loaded = Signal(object)
    snapshot_saved = Signal(int)
    comparison_ready = Signal(object)
    grades_fetch_started = Signal()
    grades_fetched = Signal()
    exported = Signal(str)
    problem = Signal(str)

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.runner = session.runner
        self.current: ReportResult | None = None
        self.last_request: tuple[str, ReportParams] | None = None
        self.auto_snapshot = False  # save the current report after every sync (the pane keeps the setting)
        self.active = False  # the pane is showing: re-run when the cache changes
        self._grades_job: int | None = None
        self._exports = 0
        session.cache_changed.connect(self._on_cache_changed)
        session.sync_finished.connect(self._on_sync_finished)
        self.runner.job_changed.connect(self._on_job)
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)

    # -- reports -------------------------------------------------------------------------------
    def run(self, kind: str, params: ReportParams) -> int | None:
        db = self.session.db
        if db is None:
            self.problem.emit("Open a connection profile first: reports read its local copy.")
            return None
        self.last_request = (kind, params)
        from lms_console.services.reports import report_title

        self.report_started.emit(kind)
        return self.runner.run("report", lambda p, c: _run(kind, db, params, c), label=f"Report: {report_title(kind)}",
                               on_done=self._mine(self._on_report))

    def _mine(self, callback):
        """``callback`` of a job reading (or writing) the open profile's copy, dropped once that profile is
        closed: its report, users, choices or snapshots are not the next profile's (nor saved into its copy)."""
        return self.session.for_this_profile(callback)

    def refresh(self) -> None:
        if self.last_request is not None:
            self.run(*self.last_request)

    def cancel(self) -> None:
        self.runner.cancel_named("report")

    def _on_report(self, result: ReportResult) -> None:
        self.current = result
        self.report_ready.emit(result)

    def drill(self, request: DrillRequest) -> int | None:
        db, result = self.session.db, self.current
        if db is None or result is None:
            return None
        kind, params = result.kind, result.params
        return self.runner.run("report-drill", lambda p, c: _drill(db, kind, params, request, c),
                               label="Report: users behind a number", on_done=self._mine(self.drill_ready.emit))

    def load_options(self) -> None:
        db = self.session.db
        if db is not None:
            self.runner.run("report-options", lambda p, c: _options(db), label="Report choices",
                            on_done=self._mine(self.options_loaded.emit))

    # -- snapshots -----------------------------------------------------------------------------
    def refresh_snapshots(self) -> None:
        db = self.session.db
        if db is not None:
            self.runner.run("report-snapshots", lambda p, c: _list(db), label="Report snapshots",
                            on_done=self._mine(self.snapshots_loaded.emit))

    def save_snapshot(self, result: ReportResult | None = None, *, auto: bool = False) -> int | None:
        result = result or self.current
        if result is None or (result.is_empty and not result.tables):
            self.problem.emit("There is nothing to save: run a report that shows numbers first.")
            return None
        if result.from_snapshot:
            self.problem.emit("This is a snapshot already.")
            return None
        if self.session.db is None:
            self.problem.emit("Open a connection profile first.")
            return None

        def save(writer):
            from lms_console.services.reports_snapshots import save_snapshot

            with writer.batch() as raw:
                return save_snapshot(raw, result, auto=auto)

        return self.session.run_writer("report-snapshot-save", save, label="Save report snapshot",
                                       on_done=self._mine(self._on_saved))

    def _on_saved(self, snapshot_id: int) -> None:
        self.snapshot_saved.emit(snapshot_id)
        self.refresh_snapshots()

    def delete_snapshots(self, ids: Sequence[int]) -> None:
        if not ids or self.session.db is None:
            return

        def delete(writer):
            from lms_console.services.reports_snapshots import delete_snapshots

            with writer.batch() as raw:
                return delete_snapshots(raw, ids)

        self.session.run_writer("report-snapshot-delete", delete, label="Delete report snapshots",
                                on_done=self._mine(lambda _n: self.refresh_snapshots()))

    def open_snapshot(self, snapshot_id: int) -> int | None:
        db = self.session.db
        if db is None:
            return None
        return self.runner.run("report", lambda p, c: _load(db, snapshot_id), label="Open snapshot",
                               on_done=self._mine(self._on_report))

    def compare(self, before_id: int, after_id: int | None = None) -> int | None:
        """Compare snapshot ``before_id`` with ``after_id`` (None: the result on screen now)."""
        db, current = self.session.db, self.current
        if db is None:
            return None
        return self.runner.run("report-compare", lambda p, c: _compare(db, before_id, after_id, current),
                               label="Compare snapshots", on_done=self._mine(self.comparison_ready.emit))

    # -- exports -------------------------------------------------------------------------------
    def export_data(self, result: ReportResult, path: str, fmt: str, table: str | None = None) -> int:
        """Write ``result``'s data as CSV (one table) or XLSX (all tables) off the GUI thread."""
        self._exports += 1  # a unique name: a second export must not cancel the first
        return self.runner.run(f"report-export-{self._exports}", lambda p, c: _export(result, path, fmt, table),
                               label=f"Export {fmt.upper()}", on_done=self._on_exported)

    def _on_exported(self, outcome: tuple[bool, str]) -> None:
        ok, text = outcome
        (self.exported if ok else self.problem).emit(text)

    # -- grades --------------------------------------------------------------------------------
    def fetch_grades(self, course_ids: Sequence[int] = ()) -> int | None:
        """Sync the grades of these courses (every course when none are given)."""
        if not self.session.is_open:
            self.problem.emit("Open a connection profile first.")
            return None
        if self.session.syncing:
            self.problem.emit("A sync is running; fetch the grades when it is done.")
            return None
        if self.session.state.status == Online.OFFLINE:
            self.problem.emit("The site is not answering, so the grades cannot be fetched now. The console keeps "
                              "trying; fetch them once it is back online.")
            return None
        job = self.session.sync(("grades",), courses=tuple(course_ids))
        self._grades_job = job
        if job is not None:
            self.grades_fetch_started.emit()
        return job

    def _grades_not_fetched(self, why) -> None:
        self.problem.emit(f"The grades were not fetched ({why}). The report shows what the local copy has.")

    def _on_job(self, info) -> None:
        """A grades fetch that failed before it could finish (no sync result): say so."""
        if info.id == self._grades_job and info.state.finished and info.state.value != "done":
            self._grades_job = None
            self._grades_not_fetched(info.error or info.state.value)

    # -- reactions -----------------------------------------------------------------------------
    def _on_opened(self, _profile=None) -> None:
        self.current = None
        self.load_options()
        self.refresh_snapshots()

    def _on_closed(self) -> None:
        self.current = None
        self.last_request = None

    def _on_cache_changed(self, _entities) -> None:
        self.load_options()
        if self.active and self.last_request is not None and not (self.current and self.current.from_snapshot):
            self.refresh()

    def _on_sync_finished(self, result) -> None:
        if self._grades_job is not None:
            self._grades_job = None
            if result is None or getattr(result, "status", "") not in ("ok", "partial"):
                self._grades_not_fetched(getattr(result, "error", None) or getattr(result, "status", "stopped"))
            else:
                self.grades_fetched.emit()
        if result is None or getattr(result, "status", "") not in ("ok", "partial"):
            return
        if self.auto_snapshot and self.last_request is not None and self.session.db is not None:
            kind, params = self.last_request
            db = self.session.db

            def build_and_save(p, c):
                return _run(kind, db, params, c)

            self.runner.run("report-auto-snapshot", build_and_save, label="Snapshot after sync",
                            on_done=self._mine(lambda r: None if r.is_empty else self.save_snapshot(r, auto=True)))


# Job bodies (worker threads): plain functions over the cache, imported lazily.
def _run(kind, db, params, cancel):
    from lms_console.services.reports import run_report

    return run_report(kind, db, params, cancel)


def _drill(db, kind, params, request, cancel):
    from lms_console.services.reports import drill_users

    return drill_users(db, kind, params, request, cancel)


def _options(db):
    from lms_console.services.reports import load_options

    return load_options(db)


def _list(db):
    from lms_console.services.reports_snapshots import list_snapshots

    return list_snapshots(db)


def _load(db, snapshot_id):
    from lms_console.services.reports_snapshots import load_snapshot

    return load_snapshot(db, snapshot_id)


def _export(result, path, fmt, table):
    from lms_console.services import reports_export as X

    try:
        if fmt == "csv":
            X.export_csv(result, path, table)
        else:
            X.export_xlsx(result, path)
    except OSError as exc:  # a full disk or a folder without write access: say so, it is no bug
        return False, f"The file could not be written: {exc.strerror or exc} ({path})"
    return True, path


def _compare(db, before_id, after_id, current):
    from lms_console.services.reports_snapshots import compare, load_snapshot

    before = load_snapshot(db, before_id)
    after = load_snapshot(db, after_id) if after_id is not None else current
    if after is None:
        return compare(before, before)
    # The older one goes first, whichever way round they were picked.
    if after.from_snapshot and before.from_snapshot and (before.snapshot_created or 0) > (after.snapshot_created or 0):
        before, after = after, before
    return compare(before, after)


__all__ = ["FrameTableModel", "ReportsModel", "SnapshotsModel", "SortRole", "format_cell", "params_summary"]
