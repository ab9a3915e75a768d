"""The flat table model most panes need: one Python object per row, a fixed tuple of column titles.

    class ResultsModel(RowTableModel):
        COLUMNS = ("#", "Change", "Result")

        def cell(self, row, column, role):
            if role == Qt.ItemDataRole.DisplayRole:
                return (str(row.seq), row.title, row.status)[column]
            return None

    model.replace_rows(results)      # a model reset
    model.row_at(3)                  # the object behind table row 3, or None

The base answers rowCount/columnCount/headerData and checks the index; a subclass answers
``cell()`` for a row object it is given. ``_rows`` may be any sequence (a list, a tuple, or a
lazy view that picks rows of a larger result).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole
_HORIZONTAL = Qt.Orientation.Horizontal


class RowTableModel(QAbstractTableModel):
    """A table over ``self._rows`` with the column titles ``COLUMNS``; subclasses implement ``cell``."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: Sequence[Any] = []

    # -- for subclasses and their users ---------------------------------------------------------------
    def cell(self, row: Any, column: int, role: int) -> Any:
        """What ``role`` shows in ``column`` of the row object ``row`` (None: nothing)."""
        return None

    def row_at(self, row: int) -> Any:
        """The object behind table row ``row``, or None outside the table."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def replace_rows(self, rows: Iterable[Any]) -> None:
        """Show (a copy of) ``rows`` instead: a model reset."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    # -- Qt model API ---------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY):  # noqa: N802
        if orientation == _HORIZONTAL and role == _DISPLAY and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = _DISPLAY):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) \
                or not (0 <= index.column() < len(self.COLUMNS)):
            return None
        return self.cell(self._rows[index.row()], index.column(), role)


__all__ = ["RowTableModel"]
