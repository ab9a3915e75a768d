"""A tree view that outlines the row a drag would drop on (the content and groups trees)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRectF, Signal
from PySide6.QtGui import QPainter, QPen
from PySide6.QtWidgets import QTreeView, QWidget

from lms_console.views import theme


class DropTargetTree(QTreeView):
    """Subclasses call :meth:`_set_target` with the row under the drag (an invalid index for none) and
    emit ``drop_hint`` with what a drop there would do; the drag leaving, or a drop, clears both.

    Signals:
        drop_hint(str): what a drop at the pointer would do, or why not ("" when the drag left).
    """

    drop_hint = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = QModelIndex()

    def _set_target(self, index: QModelIndex) -> None:
        if index != self._target:
            self._target = index
            self.viewport().update()

    def _clear_target(self) -> None:
        self._set_target(QModelIndex())
        self.drop_hint.emit("")

    def dragLeaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._clear_target()
        event.accept()

    def drawRow(self, painter: QPainter, option, index: QModelIndex) -> None:  # noqa: N802 - Qt override
        super().drawRow(painter, option, index)
        if self._target.isValid() and index.row() == self._target.row() and index.parent() == self._target.parent():
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            pen = QPen(theme.color("accent"))
            pen.setWidthF(2.0)
            painter.setPen(pen)
            rect = QRectF(option.rect).adjusted(1.5, 1.5, -1.5, -1.5)
            rect.setLeft(1.5)
            painter.drawRoundedRect(rect, 4, 4)
            painter.restore()


__all__ = ["DropTargetTree"]
