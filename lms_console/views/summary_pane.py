"""A pane for navigation nodes that have no dedicated pane: what the node is and what the cache holds."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

_TEXT = {
    "users": ("Users", "users", "accounts in the local copy of the site."),
    "filter": ("Saved filter", "users", "accounts in the local copy; the filter narrows them down."),
    "cohorts": ("Cohorts", "cohorts", "cohorts in the local copy of the site."),
    "cohort": ("Cohort", None, "Members of this cohort, from the local copy."),
    "categories": ("Course categories", "courses", "courses in the local copy of the site."),
    "category": ("Category", None, "Courses of this category, from the local copy."),
    "course": ("Course", None, "Sections, activities and files of this course, from the local copy."),
    "reports": ("Reports", "completions", "course completions in the local copy to report on."),
    "journal": ("Journal", None, "Every change the console applies is recorded here."),
}


class SummaryPane(QWidget):
    """Title, one figure from the cache and a sentence, for the selected navigation node."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Pane")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 18, 24, 24)
        self.title = QLabel()
        self.title.setObjectName("PaneTitle")
        self.body = QLabel()
        self.body.setObjectName("EmptyState")
        self.body.setWordWrap(True)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.title)
        lay.addWidget(self.body, 1)
        self._counts: dict[str, int] = {}
        self._target = None

    def set_counts(self, counts: dict[str, int]) -> None:
        self._counts = dict(counts)
        if self._target is not None:
            self.show_target(self._target)

    def show_target(self, target) -> None:
        self._target = target
        title, count_key, sentence = _TEXT.get(target.kind, (target.kind.title(), None, ""))
        self.title.setText(target.label or title)
        if count_key and count_key in self._counts:
            self.body.setText(f"{self._counts[count_key]:,} {sentence}")
        else:
            self.body.setText(sentence)
