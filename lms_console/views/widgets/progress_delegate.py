"""Item delegate that paints a progress fraction as a progress bar (the jobs table's Progress column).

The fraction comes from ``progress_role`` (0..1, or -1 when the total is unknown)
and the job state from ``state_role`` ("queued", "running", "done", "failed",
"cancelled"). Known progress is drawn with the style's own progress bar;
unknown progress of a running job gets a sliding "busy" chunk, animated only
while such a row is on screen.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QProgressBar,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QWidget,
)

from lms_console.models.jobs_model import JobsModel

BUSY_PERIOD_S = 1.4
BUSY_FRAME_MS = 40
BAR_HEIGHT = 10


class ProgressDelegate(QStyledItemDelegate):
    """Paints ``progress_role`` as a bar. Use with ``view.setItemDelegateForColumn``.

    Signals: none of its own beyond QStyledItemDelegate's.
    """

    def __init__(
        self,
        parent: QAbstractItemView | None = None,
        *,
        progress_role: int = JobsModel.ProgressRole,
        state_role: int = JobsModel.StateRole,
    ) -> None:
        super().__init__(parent)
        self._progress_role = progress_role
        self._state_role = state_role
        self._busy_painted = False
        self._timer = QTimer(self)
        self._timer.setInterval(BUSY_FRAME_MS)
        self._timer.timeout.connect(self._animate)
        # Bars are drawn "as" this hidden QProgressBar so the theme's QProgressBar
        # rules (rounded groove, accent chunk) apply, matching real progress bars.
        self._style_target = QProgressBar(parent if isinstance(parent, QWidget) else None)
        self._style_target.setObjectName("DelegateProgressBar")
        self._style_target.hide()

    def is_animating(self) -> bool:
        return self._timer.isActive()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 120), max(hint.height(), BAR_HEIGHT + 8))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        # Ask the (Python) model directly: QModelIndex.data() returning an invalid QVariant
        # drops a reference to None in PySide6 6.12 on Python 3.11, and paint runs constantly.
        model = index.model()
        fraction = model.data(index, self._progress_role) if model is not None else None
        state = (model.data(index, self._state_role) if model is not None else None) or ""
        if fraction is None:
            super().paint(painter, option, index)
            return
        widget = option.widget
        # Row background (selection, alternate colour) from the view's own style; not
        # initStyleOption(), which has the same None-reference bug.
        style = widget.style() if widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)

        fraction = float(fraction)
        busy = fraction < 0 and state == "running"
        if state == "done":
            fraction = 1.0
        if fraction < 0 and not busy:
            return  # queued, or ended without a known total: nothing to measure
        bar, label = _layout(option.rect, option.fontMetrics.horizontalAdvance("100%") + 4)

        opt = QStyleOptionProgressBar()
        opt.rect = bar
        opt.state = QStyle.StateFlag.State_Horizontal
        enabled = state not in ("failed", "cancelled")  # an interrupted bar is drawn greyed out
        if enabled:
            opt.state |= QStyle.StateFlag.State_Enabled
        opt.direction = option.direction
        opt.fontMetrics = option.fontMetrics
        opt.palette = QPalette(option.palette)
        opt.minimum, opt.maximum = 0, 1000
        opt.progress = 0 if busy else round(fraction * 1000)
        opt.textVisible = False  # the percentage goes beside the bar, where it stays readable
        target = self._style_target
        target.style().drawControl(QStyle.ControlElement.CE_ProgressBar, opt, painter, target)
        if busy:
            self._paint_busy_chunk(painter, bar, option.palette.color(QPalette.ColorRole.Accent))
            self._busy_painted = True
            if not self._timer.isActive():
                self._timer.start()
            return
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        group = QPalette.ColorGroup.Normal if enabled else QPalette.ColorGroup.Disabled
        painter.save()
        painter.setPen(option.palette.color(group, role))
        painter.drawText(label, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         f"{fraction:.0%}")
        painter.restore()

    def _paint_busy_chunk(self, painter: QPainter, bar: QRect, colour: QColor) -> None:
        inner = QRectF(bar)
        width = max(inner.width() * 0.3, 12.0)
        phase = (time.monotonic() % BUSY_PERIOD_S) / BUSY_PERIOD_S
        # Slide from fully left of the groove to fully right, clipped to the groove.
        x = inner.left() - width + phase * (inner.width() + width)
        chunk = QRectF(x, inner.top(), width, inner.height()).intersected(inner)
        if chunk.isEmpty():
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(chunk, 3, 3)
        painter.restore()

    def _animate(self) -> None:
        # Keep ticking only while a busy bar was painted since the last frame.
        if not self._busy_painted:
            self._timer.stop()
            return
        self._busy_painted = False
        view = self.parent()
        if isinstance(view, QAbstractItemView):
            view.viewport().update()
        elif isinstance(view, QWidget):
            view.update()
        else:
            self._timer.stop()


def _layout(cell: QRect, label_width: int) -> tuple[QRect, QRect]:
    """The bar (vertically centred) and, right of it, the percentage label."""
    height = min(BAR_HEIGHT, cell.height() - 4)
    top = cell.top() + (cell.height() - height) // 2
    label = QRect(cell.right() - 6 - label_width, cell.top(), label_width, cell.height())
    bar = QRect(cell.left() + 6, top, max(label.left() - 6 - (cell.left() + 6), 10), height)
    return bar, label
