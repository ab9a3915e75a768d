"""The heading of the groups panes' detail views: a 32 px icon and a title with the view's buttons on
the right, and under them a wrapped line of facts across the whole width.

The detail view can be narrow (the tree and the users list share the window): the title is elided
(the whole of it in its tooltip) so the buttons keep their room, and the facts wrap below instead of
being squeezed beside the buttons and clipped.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget


class ElidedLabel(QLabel):
    """One line of plain text that ends in "…" when it does not fit; the tooltip holds all of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("…") * 4, super().minimumSizeHint().height())

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self.text()) > self.contentsRect().width()

    def setText(self, text: str) -> None:  # Qt override
        super().setText(text)
        self._refresh_tip()

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._refresh_tip()

    def _refresh_tip(self) -> None:
        self.setToolTip(self.text() if self.is_elided() else "")

    def paintEvent(self, _event) -> None:  # Qt override
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)


def pane_heading(*buttons: QWidget) -> tuple[QVBoxLayout, QLabel, ElidedLabel, QLabel]:
    """(the heading's layout, its icon label, its title, its info line)."""
    head = QVBoxLayout()
    head.setSpacing(2)
    top = QHBoxLayout()
    top.setSpacing(10)
    icon_label = QLabel()
    icon_label.setFixedSize(QSize(32, 32))
    title = ElidedLabel()
    title.setObjectName("GroupsTitle")
    info = QLabel()
    info.setObjectName("GroupsInfo")
    info.setTextFormat(Qt.TextFormat.PlainText)
    info.setWordWrap(True)
    info.setContentsMargins(32 + top.spacing(), 0, 0, 0)  # under the title, not the icon
    top.addWidget(icon_label, 0, Qt.AlignmentFlag.AlignVCenter)
    top.addWidget(title, 1)
    for button in buttons:
        top.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
    head.addLayout(top)
    head.addWidget(info)
    return head, icon_label, title, info


__all__ = ["ElidedLabel", "pane_heading"]
