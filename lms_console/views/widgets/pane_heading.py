"""The heading of the groups panes' detail views: a 32 px icon, a title over a wrapped line of facts,
and the view's buttons on the right."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget


def pane_heading(*buttons: QWidget) -> tuple[QHBoxLayout, QLabel, QLabel, QLabel]:
    """(the heading's layout, its icon label, its title, its info line)."""
    head = QHBoxLayout()
    head.setSpacing(10)
    icon_label = QLabel()
    icon_label.setFixedSize(QSize(32, 32))
    titles = QVBoxLayout()
    titles.setSpacing(0)
    title = QLabel()
    title.setObjectName("GroupsTitle")
    title.setTextFormat(Qt.TextFormat.PlainText)
    info = QLabel()
    info.setObjectName("GroupsInfo")
    info.setTextFormat(Qt.TextFormat.PlainText)
    info.setWordWrap(True)
    titles.addWidget(title)
    titles.addWidget(info)
    head.addWidget(icon_label, 0, Qt.AlignmentFlag.AlignTop)
    head.addLayout(titles, 1)
    for button in buttons:
        head.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
    return head, icon_label, title, info


__all__ = ["pane_heading"]
