"""The upload queue as a Qt tree model: files, folders and links at the top, a folder's files
under it, each with its progress, speed, state and message; and the queue's totals.

The controller that runs the queue is in ``uploads_model.py``; this module only shows rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from lms_console.services.uploads import Kind, State, UploadItem, describe_total
from lms_console.services.uploads_names import human_size

COLUMNS = ("Name", "Destination", "Size", "Progress", "Speed", "Status")
COL_PROGRESS, COL_SPEED, COL_STATUS = 3, 4, 5
ProgressRole = Qt.ItemDataRole.UserRole + 1  # 0..1, -1 unknown (ProgressDelegate)
DelegateStateRole = Qt.ItemDataRole.UserRole + 3  # queued | running | done | failed | cancelled
ItemRole = Qt.ItemDataRole.UserRole + 30
IconRole = Qt.ItemDataRole.UserRole + 2
_Index = QModelIndex | QPersistentModelIndex


@dataclass(eq=False, slots=True)
class _Row:
    item_id: int
    parent: _Row | None = None
    row: int = 0


@dataclass(frozen=True, slots=True)
class QueueTotals:
    sent: int
    total: int
    speed: float
    done: int
    pending: int
    failed: int
    refused: int
    cancelled: int = 0  # stopped by the admin: not a failure (the row says "Cancelled"; Retry sends it)

    def text(self) -> str:
        if not (self.done or self.pending or self.failed or self.refused or self.cancelled):
            return "No uploads. Drop files, folders or links onto a section or an activity."
        parts = [f"{self.done} of {self.done + self.pending + self.failed + self.cancelled} done"]
        if self.total:
            parts.append(f"{human_size(self.sent)} of {human_size(self.total)}")
        if self.speed > 1:
            parts.append(f"{human_size(self.speed)}/s")
            if self.total > self.sent:
                parts.append(f"about {eta(max(self.total - self.sent, 0) / self.speed)} left")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        if self.refused:
            parts.append(f"{self.refused} refused")
        return " · ".join(parts)


def eta(seconds: float) -> str:
    if seconds < 60:
        return f"{max(int(seconds), 1)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"


class UploadQueueModel(QAbstractItemModel):
    """The queue as a tree: files, folders and links at the top; a folder's files under it.

    Roles: ``ProgressRole`` / ``DelegateStateRole`` for the progress delegate, ``ItemRole``
    (the UploadItem), ``IconRole`` (an icon name). Signals: none beyond QAbstractItemModel's.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: dict[int, UploadItem] = {}
        self._top: list[_Row] = []
        self._kids: dict[int, list[_Row]] = {}
        self._rows: dict[int, _Row] = {}
        self._live: dict[int, tuple[int, int, float]] = {}
        self.paused = False
        self.waiting = ""
        self.busy: set[int] = set()  # rows whose activity is being created now

    # -- content ----------------------------------------------------------------------------
    def set_items(self, items: Iterable[UploadItem]) -> None:
        self.beginResetModel()
        self._items, self._top, self._kids, self._rows = {}, [], {}, {}
        for item in items:
            self._place(item)
        self.endResetModel()

    def _place(self, item: UploadItem) -> _Row:
        self._items[item.id] = item
        if item.parent is None:
            row = _Row(item.id, None, len(self._top))
            self._top.append(row)
        else:
            parent = self._rows[item.parent]
            siblings = self._kids.setdefault(item.parent, [])
            row = _Row(item.id, parent, len(siblings))
            siblings.append(row)
        self._rows[item.id] = row
        return row

    def add(self, items: Sequence[UploadItem]) -> None:
        """New rows (entries followed by their children, as the store returns them)."""
        for item in items:
            if item.id in self._items:
                continue
            if item.parent is None:
                self.beginInsertRows(QModelIndex(), len(self._top), len(self._top))
                self._place(item)
                self.endInsertRows()
            elif item.parent in self._rows:
                parent = self._rows[item.parent]
                n = len(self._kids.get(item.parent, []))
                self.beginInsertRows(self.createIndex(parent.row, 0, parent), n, n)
                self._place(item)
                self.endInsertRows()

    def update(self, items: Iterable[UploadItem]) -> None:
        for item in items:
            if item.id not in self._items:
                self.add([item])
                continue
            self._items[item.id] = item
            self._changed(item.id)

    def _changed(self, item_id: int) -> None:
        row = self._rows.get(item_id)
        if row is not None:
            self.dataChanged.emit(self.createIndex(row.row, 0, row), self.createIndex(row.row, len(COLUMNS) - 1, row))

    def set_live(self, live: dict[int, tuple[int, int, float]]) -> None:
        changed = set(live) | set(self._live)
        self._live = dict(live)
        for item_id in changed:
            self._changed(item_id)
            item = self._items.get(item_id)
            if item is not None and item.parent is not None:
                self._changed(item.parent)

    def set_flags(self, *, paused: bool | None = None, waiting: str | None = None) -> None:
        if paused is not None:
            self.paused = paused
        if waiting is not None:
            self.waiting = waiting
        for item_id, item in self._items.items():
            if item.state == State.QUEUED:
                self._changed(item_id)

    def item(self, item_id: int) -> UploadItem | None:
        return self._items.get(item_id)

    def items(self) -> list[UploadItem]:
        return list(self._items.values())

    def entry_and_children(self, item_id: int) -> tuple[UploadItem, list[UploadItem]]:
        item = self._items[item_id]
        entry = self._items[item.parent] if item.parent is not None else item
        return entry, [self._items[r.item_id] for r in self._kids.get(entry.id, [])]

    def next_pending(self, skip: set[int] = frozenset()) -> int | None:
        for row in self._top:
            entry = self._items[row.item_id]
            if entry.id in skip:
                continue
            kids = [self._items[r.item_id] for r in self._kids.get(entry.id, [])]
            if entry.state in (State.QUEUED, State.UPLOADED, State.CREATING):
                return entry.id
            if entry.cmid is not None and any(k.state in (State.QUEUED, State.UPLOADED) for k in kids):
                return entry.id
        return None

    def totals(self) -> QueueTotals:
        items = list(self._items.values())
        sent, total, speed = describe_total(items, self._live)
        counted = [i for i in items if i.kind in (Kind.FILE, Kind.CHILD, Kind.URL)]
        return QueueTotals(sent, total, speed,
                           sum(1 for i in counted if i.state == State.DONE),
                           sum(1 for i in counted if not i.state.final),
                           sum(1 for i in counted if i.state == State.FAILED),
                           sum(1 for i in counted if i.state == State.REFUSED),
                           sum(1 for i in counted if i.state == State.CANCELLED))

    def index_of(self, item_id: int, column: int = 0) -> QModelIndex:
        row = self._rows.get(item_id)
        return self.createIndex(row.row, column, row) if row is not None else QModelIndex()

    # -- presentation ------------------------------------------------------------------------------
    def _progress(self, item: UploadItem) -> float:
        if item.kind == Kind.FOLDER:
            kids = [self._items[r.item_id] for r in self._kids.get(item.id, [])]
            sent, total, _ = describe_total(kids, self._live)
            if item.state == State.DONE:
                return 1.0
            return sent / total if total else -1.0
        if item.state in (State.DONE, State.UPLOADED, State.CREATING):
            return 1.0
        live = self._live.get(item.id)
        if live is not None and item.state in (State.QUEUED, State.UPLOADING) and live[1]:
            return min(live[0] / live[1], 1.0)
        return -1.0  # waiting or given up: no bar

    def _delegate_state(self, item: UploadItem) -> str:
        if item.state == State.DONE:
            return "done"
        if item.state in (State.FAILED, State.REFUSED):
            return "failed"
        if item.state == State.CANCELLED:
            return "cancelled"
        if item.id in self._live or item.state in (State.UPLOADING, State.CREATING) or item.id in self.busy:
            return "running"
        return "queued"

    def status_text(self, item: UploadItem) -> str:
        live = self._live.get(item.id)
        if item.state == State.QUEUED:
            if live is not None:
                return f"Uploading {min(live[0] / live[1], 1.0):.0%}" if live[1] else "Uploading"
            if item.id in self.busy:
                return "Checking the section…"
            if self.waiting:
                return "Waiting for the site"
            return "Paused" if self.paused else ("Interrupted: will be sent again" if item.message else "Queued")
        text = {State.UPLOADING: "Uploading", State.UPLOADED: "Uploaded; creating the activity…",
                State.CREATING: "Creating the activity…", State.DONE: "Done", State.FAILED: "Failed",
                State.REFUSED: "Not sent", State.CANCELLED: "Cancelled"}[item.state]
        if item.state == State.DONE and item.kind == Kind.FOLDER:
            kids = [self._items[r.item_id] for r in self._kids.get(item.id, [])]
            bad = sum(1 for k in kids if k.state in (State.FAILED, State.REFUSED, State.CANCELLED))
            if bad:
                text = f"Done, {bad} file(s) not added"
        if item.message and item.state in (State.FAILED, State.REFUSED, State.CANCELLED):
            return f"{text}: {item.message}"
        return text

    def _tooltip(self, item: UploadItem) -> str:
        lines = [item.source if item.kind != Kind.CHILD else f"{item.source}\n→ {item.relpath}{item.filename}"]
        if item.message:
            lines.append(item.message)
        if item.note:
            lines.append(item.note)
        if item.cmid and item.state == State.DONE:
            lines.append(f"Activity id {item.cmid} on the site.")
        return "\n".join(lines)

    def _speed(self, item: UploadItem) -> str:
        live = self._live.get(item.id)
        if item.kind == Kind.FOLDER:
            speed = sum(self._live[r.item_id][2] for r in self._kids.get(item.id, []) if r.item_id in self._live)
        else:
            speed = live[2] if live else 0.0
        return f"{human_size(speed)}/s" if speed > 1 else ""

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.internalPointer()
        item = self._items.get(row.item_id) if isinstance(row, _Row) else None
        if item is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return item.label() if item.kind == Kind.CHILD else item.name
            if col == 1:
                return "" if item.kind == Kind.CHILD else item.destination
            if col == 2:
                return human_size(item.size) if item.size else ""
            if col == COL_SPEED:
                return self._speed(item)
            if col == COL_STATUS:
                return self.status_text(item)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item)
        if role == ProgressRole:
            return self._progress(item) if col == COL_PROGRESS else None
        if role == DelegateStateRole:
            return self._delegate_state(item)
        if role == ItemRole:
            return item
        if role == IconRole and col == 0:
            return {Kind.FOLDER: "activity-folder", Kind.URL: "activity-url"}.get(item.kind, "activity-resource")
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, COL_SPEED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # -- Qt model API -----------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not 0 <= column < len(COLUMNS):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, self._top[row]) if 0 <= row < len(self._top) else QModelIndex()
        if parent.column() != 0:
            return QModelIndex()
        prow = parent.internalPointer()
        kids = self._kids.get(prow.item_id, []) if isinstance(prow, _Row) and prow.parent is None else []
        return self.createIndex(row, column, kids[row]) if 0 <= row < len(kids) else QModelIndex()

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        row = index.internalPointer()
        if not isinstance(row, _Row) or row.parent is None:
            return QModelIndex()
        return self.createIndex(row.parent.row, 0, row.parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        if not parent.isValid():
            return len(self._top)
        if parent.column() != 0:
            return 0
        prow = parent.internalPointer()
        return len(self._kids.get(prow.item_id, [])) if isinstance(prow, _Row) and prow.parent is None else 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None


__all__ = ["COLUMNS", "COL_PROGRESS", "COL_SPEED", "COL_STATUS", "DelegateStateRole", "IconRole", "ItemRole",
           "ProgressRole", "QueueTotals", "UploadQueueModel", "eta"]
