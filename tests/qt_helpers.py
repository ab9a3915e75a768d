"""Small Qt helpers shared by GUI test files (importable as ``qt_helpers``: pytest puts tests/ on
``sys.path`` through the ``pythonpath`` setting in pyproject.toml)."""

from __future__ import annotations

from PySide6.QtWidgets import QStyle, QStyleOptionViewItem


def shown_text(table, row: int, col: int) -> str:
    """The text ``table`` paints in a cell: the cell's text as its delegate lays it out, cut to the cell."""
    index = table.model().index(row, col)
    option = QStyleOptionViewItem()
    option.textElideMode = table.textElideMode()  # as the view hands it to its delegate
    option.rect = table.visualRect(index)
    table.itemDelegateForIndex(index).initStyleOption(option, index)
    style = table.style()
    text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, table)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, option, table) + 1
    return option.fontMetrics.elidedText(option.text, option.textElideMode, text_rect.width() - 2 * margin)
