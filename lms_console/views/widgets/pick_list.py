"""Choosing one entry of a long list in a combo box: typing to find it, and reading back what was chosen.

A combo box with many entries (cohorts, courses) is made editable so the admin can type to find one.
Then ``currentData()`` is NOT what the box shows: it stays the entry selected before the typing. Read
the choice with :func:`chosen_index`, which takes the entry the typed text names, or none.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QCompleter

SEARCHABLE_FROM = 12  # entries from which a list gets a type-to-find box


def make_searchable(combo: QComboBox, threshold: int = SEARCHABLE_FROM) -> None:
    """Long lists become editable, completing on any part of an entry (case-insensitive)."""
    if combo.count() <= threshold:
        return
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    completer = combo.completer()
    if completer is not None:
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)


def chosen_index(combo: QComboBox) -> int:
    """The entry the box stands for: the current one, or for an editable box the one its text names
    (the whole text of one entry, case-insensitively, else the only entry that contains it);
    -1 when the text names none or several. The box then shows the entry it chose."""
    if not combo.isEditable():
        return combo.currentIndex()
    text = combo.currentText().strip()
    if not text:
        return -1
    index = combo.findText(text, Qt.MatchFlag.MatchFixedString)  # whole text, any case
    if index < 0:
        low = text.casefold()
        hits = [i for i in range(combo.count()) if low in combo.itemText(i).casefold()]
        index = hits[0] if len(hits) == 1 else -1
    if index >= 0 and index != combo.currentIndex():
        combo.setCurrentIndex(index)
    return index


__all__ = ["SEARCHABLE_FROM", "chosen_index", "make_searchable"]
