"""A non-blocking question with its own answers: the "Unsaved changes" questions of the user dialog, the
Profiles dialog and the main window (one at a time per owner; each answer calls its action)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

# (label, role, action or None, enabled)
Answer = tuple[str, QMessageBox.ButtonRole, Callable[[], object] | None, bool]


def ask(owner: QWidget, attr: str, *, title: str, text: str, info: str, name: str, answers: Sequence[Answer],
        default: str, escape: str) -> QMessageBox:
    """Open the question ``text`` (``info`` under it) over ``owner`` and return it; it is kept as
    ``owner.<attr>`` while it exists, and one still open is brought to the front (and returned) instead of
    a second. ``default`` and ``escape`` are labels of ``answers``; the box deletes itself once answered."""
    box = getattr(owner, attr, None)
    if box is not None and box.isVisible():
        box.raise_()
        return box
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, owner)
    box.setObjectName(name)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(info)
    actions, by_label = {}, {}
    for label, role, action, enabled in answers:
        button = box.addButton(label, role)
        button.setEnabled(enabled)
        actions[button], by_label[label] = action, button
    box.setDefaultButton(by_label[default])
    box.setEscapeButton(by_label[escape])
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda button: (actions.get(button) or (lambda: None))())
    box.destroyed.connect(lambda _o=None: setattr(owner, attr, None))
    setattr(owner, attr, box)
    box.open()
    return box
