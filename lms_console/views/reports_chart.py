"""The chart area of the reports pane: a matplotlib canvas, or an empty state that says why.

matplotlib is imported when the first chart is drawn (it costs most of a second). The canvas
draws on the GUI thread only (``draw_idle``). Resizing does not redraw on every step: while the
size settles the last frame is shown scaled (no blank flashes), then one redraw follows.
Clicking a bar or point asks for the users behind it; hovering shows its numbers.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCursor, QImage, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

RESIZE_DELAY_MS = 150
EMPTY_ACTIONS = {"fetch_grades": "Fetch grades for these courses", "sync": "Sync now"}
_canvas_class = None


def _canvas_type():
    """FigureCanvasQTAgg with a debounced resize (built on first use: imports matplotlib)."""
    global _canvas_class
    if _canvas_class is not None:
        return _canvas_class
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg

    class DebouncedCanvas(FigureCanvasQTAgg):
        """Redraws once the size has settled; meanwhile paints the last frame scaled."""

        def __init__(self, figure) -> None:
            super().__init__(figure)
            self.draw_count = 0
            self._frame: QImage | None = None
            self._pending: QSize | None = None
            self._timer = QTimer(self)
            self._timer.setSingleShot(True)
            self._timer.setInterval(RESIZE_DELAY_MS)
            self._timer.timeout.connect(self._apply_size)

        def draw(self) -> None:
            super().draw()
            self.draw_count += 1
            w, h = self.get_width_height(physical=True)
            self._frame = QImage(bytes(self.buffer_rgba()), w, h, QImage.Format.Format_RGBA8888)
            self._frame.setDevicePixelRatio(self.device_pixel_ratio)

        def resizeEvent(self, event) -> None:
            if self._frame is None:  # the first layout: size the figure right away
                super().resizeEvent(event)
                return
            QWidget.resizeEvent(self, event)
            self._pending = event.size()
            self._timer.start()
            self.update()

        def _apply_size(self) -> None:
            size, self._pending = self._pending, None
            if size is None or self.figure is None:
                return
            ratio = self.device_pixel_ratio
            self.figure.set_size_inches(size.width() * ratio / self.figure.dpi,
                                        size.height() * ratio / self.figure.dpi, forward=False)
            self.draw_idle()

        def paintEvent(self, event) -> None:
            if self._pending is not None and self._frame is not None:
                painter = QPainter(self)
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.drawImage(self.rect(), self._frame)
                painter.end()
                return
            super().paintEvent(event)

        @property
        def resize_pending(self) -> bool:
            return self._pending is not None

    _canvas_class = DebouncedCanvas
    return DebouncedCanvas


class ChartView(QWidget):
    """Shows a report's chart or its empty state.

    Signals:
        drill_requested(object): a DrillRequest from a click on a bar or point.
        action_requested(str): an empty-state action ("fetch_grades", "sync").
    """

    drill_requested = Signal(object)
    action_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReportChart")
        self.stack = QStackedWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stack)
        self.empty = QWidget()
        self.empty.setObjectName("ReportEmptyState")
        e_lay = QVBoxLayout(self.empty)
        e_lay.addStretch(1)
        self.empty_label = QLabel("Choose a report on the left.")
        self.empty_label.setObjectName("EmptyState")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        e_lay.addWidget(self.empty_label)
        self.empty_buttons = QHBoxLayout()
        self.empty_buttons.addStretch(1)
        self.action_buttons: dict[str, QPushButton] = {}
        for key, text in EMPTY_ACTIONS.items():
            b = QPushButton(text)
            b.setObjectName(f"EmptyAction_{key}")
            b.clicked.connect(lambda _=False, k=key: self.action_requested.emit(k))
            b.hide()
            self.empty_buttons.addWidget(b)
            self.action_buttons[key] = b
        self.empty_buttons.addStretch(1)
        e_lay.addLayout(self.empty_buttons)
        e_lay.addStretch(2)
        self.stack.addWidget(self.empty)
        self.canvas = None
        self.figure = None
        self._palette = None
        self._result = None

    # -- public -----------------------------------------------------------------------------------
    def show_message(self, text: str, actions: tuple[str, ...] = ()) -> None:
        self.empty_label.setText(text)
        for key, b in self.action_buttons.items():
            b.setVisible(key in actions)
        self.stack.setCurrentWidget(self.empty)

    def show_result(self, result, palette: dict) -> None:
        """Draw ``result`` (or its empty state) with the theme's ``palette`` (theme.chart_palette())."""
        self._result, self._palette = result, palette
        if result.is_empty or not result.tables:
            self.show_message(result.empty_reason or "Nothing to show.", tuple(result.actions))
            return
        self._draw()

    def redraw(self, palette: dict | None = None) -> None:
        """Build the figure again (after a theme change)."""
        if palette is not None:
            self._palette = palette
        if self._result is not None and self.stack.currentWidget() is not self.empty:
            self._draw()

    def current_figure(self):
        return self.figure

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(self) -> None:
        from lms_console.services.charts import build_figure

        canvas_type = _canvas_type()
        size = self.stack.size()
        dpi = 100.0
        ratio = self.devicePixelRatioF() or 1.0
        w = max(size.width(), 400) * ratio / dpi
        h = max(size.height(), 260) * ratio / dpi
        figure = build_figure(self._result, self._palette, size=(w, h), dpi=dpi, heading=False)
        if self.canvas is None:
            self.canvas = canvas_type(figure)
            self.canvas.setObjectName("ReportCanvas")
            self.canvas.setMouseTracking(True)
            self.stack.addWidget(self.canvas)
        else:
            self.canvas.figure = figure
            figure.set_canvas(self.canvas)
        # Event connections live on the figure: connect each new one.
        self.canvas.mpl_connect("pick_event", self._on_pick)
        self.canvas.mpl_connect("motion_notify_event", self._on_move)
        self.figure = figure
        self.stack.setCurrentWidget(self.canvas)
        self.canvas.draw_idle()

    def _on_pick(self, event) -> None:
        drill = getattr(event.artist, "lms_drill", None)
        if isinstance(drill, list):
            ind = getattr(event, "ind", None)
            if ind is None or not len(ind):
                return
            drill = drill[int(ind[0])] if int(ind[0]) < len(drill) else None
        if drill is not None:
            self.drill_requested.emit(drill)

    def _on_move(self, event) -> None:
        if self.figure is None or event.inaxes is None:
            QToolTip.hideText()
            return
        for artist in event.inaxes.patches:
            tip = getattr(artist, "lms_tip", None)
            if tip and artist.contains(event)[0]:
                QToolTip.showText(QCursor.pos() + QPoint(12, 12), tip, self.canvas)
                if self.canvas is not None:
                    self.canvas.setCursor(Qt.CursorShape.PointingHandCursor)
                return
        if self.canvas is not None:
            self.canvas.unsetCursor()
        QToolTip.hideText()
