"""The sentence a pane or dialog shows where its table would be when there is nothing to list."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def empty_state_label(text: str = "") -> QLabel:
    """A centred, wrapped, plain-text label styled as an empty state (``QLabel#EmptyState``)."""
    label = QLabel(text)
    label.setObjectName("EmptyState")
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


__all__ = ["empty_state_label"]
