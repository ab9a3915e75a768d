"""The table of a membership import's dry run (services.memberships_import): row, result, user,
where, reason or note. Colours come in as a callable from the view (models import no views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt

from lms_console.models.row_table import RowTableModel

_TONE = {"conflict": "warning", "error": "error", "skipped": "text_muted", "unchanged": "text_muted"}
_WORDS = {"add": "Add", "remove": "Remove", "unchanged": "Already so", "conflict": "Conflict", "error": "Error",
          "skipped": "Skipped"}


class DryRunTableModel(RowTableModel):
    """The rows of a membership dry run, one table row each.

    Signals: none beyond QAbstractItemModel's.
    """

    COLUMNS = ("Row", "Result", "User", "Where", "Reason / note")

    def __init__(self, parent: QObject | None = None, *, colours: Callable[[str], Any] | None = None) -> None:
        super().__init__(parent)
        self._colours = colours

    def set_rows(self, rows) -> None:
        self.replace_rows(rows)

    def cell(self, r, col: int, role: int):
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = r.reason or "; ".join(r.notes)
            return (str(r.row), _WORDS.get(r.klass.value, r.klass.value), r.user, r.target, text)[col]
        if role == Qt.ItemDataRole.ForegroundRole and col in (1, 4) and self._colours is not None:
            tone = _TONE.get(r.klass.value)
            return self._colours(tone) if tone else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


__all__ = ["DryRunTableModel"]
