"""The console's user tables: one look (whole rows, no grid, fixed row height for a million rows),
Delete on the selection, and the selection as a drag source.

A drag carries the selected users' ids (``models.dnd``). Selecting everything (Ctrl+A) drags the
search itself, so 50,000 matching users are never listed on the GUI thread: the drop target
reads their ids on a worker.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDrag, QIcon
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from lms_console.models.dnd import user_filter_mime, user_ids_mime
from lms_console.models.users_model import UsersTableModel
from lms_console.views.icons import icon


def setup_users_table(table: QTableView, name: str) -> None:
    """The look the console's user tables share: whole rows, no grid, fixed row height."""
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)  # Tab leaves the table (cell by cell, 2,000 rows trap the focus)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setIconSize(QSize(16, 16))
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vh = table.verticalHeader()
    vh.hide()
    vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # 50,000 rows: never measure them
    vh.setDefaultSectionSize(table.fontMetrics().height() + 10)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    header.setSortIndicatorShown(True)
    header.setSectionsClickable(True)


# Starting widths (px) per column; custom fields and the rest get DEFAULT_WIDTH.
WIDTHS = {"id": 70, "username": 120, "firstname": 105, "lastname": 115, "email": 210, "idnumber": 100,
          "department": 130, "institution": 150, "city": 110, "country": 70, "auth": 95, "status": 85,
          "firstaccess": 125, "lastaccess": 125, "lang": 80, "timezone": 110, "phone1": 120, "phone2": 120,
          "address": 200}
DEFAULT_WIDTH = 140


def row_icon(name: str) -> QIcon:
    """A row icon as pixmaps (normal and selected): the SVG engine would render it on every paint."""
    base = icon(name)
    out = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected):
        for scale in (1, 2):
            pix = base.pixmap(QSize(16, 16), float(scale), mode)
            out.addPixmap(pix, mode)
    return out


class SelectionTable(QTableView):
    """A table whose Delete key acts on the selection (without needing an active window's shortcut map).

    Signals:
        delete_pressed(): Delete was pressed with rows selected.
    """

    delete_pressed = Signal()

    def selected_ranges(self) -> list[tuple[int, int]]:
        """Selected rows as merged (first, last) ranges, in order: never one index per row of a huge
        selection (Ctrl+A over a million users is one range)."""
        rows = sorted((rng.top(), rng.bottom()) for rng in self.selectionModel().selection())
        merged: list[tuple[int, int]] = []
        for first, last in rows:
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
            else:
                merged.append((first, last))
        return merged

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Delete and self.selectionModel() is not None \
                and self.selectionModel().hasSelection():
            self.delete_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class DraggableUsersTable(SelectionTable):
    """A table of a UsersTableModel whose selection can be dragged onto cohorts, groups and courses.

    Signals:
        drag_note(str): what the last drag carried when it could not carry the whole selection.
        delete_pressed(): Delete was pressed with rows selected (from SelectionTable).
    """

    drag_note = Signal(str)

    def __init__(self, source: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedRows()})

    def drag_mime(self):
        """The QMimeData of the current selection (None when nothing is selected)."""
        model = self.model()
        rows = self.selected_rows()
        if not isinstance(model, UsersTableModel) or not rows:
            return None
        total = model.total()
        if len(rows) == total and total > len(model.loaded_ids(rows)[0]):
            return user_filter_mime(model.spec, total, self.source)
        known, missing = model.loaded_ids(rows)
        if missing:
            self.drag_note.emit(f"Only the {len(known):,} users read so far are dragged, not all "
                                f"{len(rows):,} selected: select all (Ctrl+A) to drag everyone listed.")
        return user_ids_mime(known, self.source) if known else None

    def startDrag(self, supported) -> None:  # noqa: N802 - Qt override
        mime = self.drag_mime()
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(icon("users").pixmap(QSize(24, 24)))
        drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)


__all__ = ["DEFAULT_WIDTH", "WIDTHS", "DraggableUsersTable", "SelectionTable", "row_icon", "setup_users_table"]
