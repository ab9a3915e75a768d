"""Dialogs of the reports pane: the users behind a number, and what changed between two snapshots.

Both are opened with ``open()`` (never a blocking exec) and delete themselves when closed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.reports_model import FrameTableModel
from lms_console.views import theme


def make_table(model, name: str) -> QTableView:
    view = QTableView()
    view.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
    view.setObjectName(name)
    view.setModel(model)
    # Keep the report's own order until a header is clicked (enabling sorting would sort at once).
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(False)
    view.horizontalHeader().setSortIndicatorShown(True)
    return view


class DrillDialog(QDialog):
    """The users behind a number of a report.

    Signals:
        user_requested(int): open this user (in the users pane).
        users_requested(list, str): hand these users to the users pane (for a bulk action), with a title.
    """

    user_requested = Signal(int)
    users_requested = Signal(list, str)

    def __init__(self, drill, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReportDrillDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Users behind the number")
        self.resize(860, 520)
        self.drill = drill
        lay = QVBoxLayout(self)
        title = QLabel(drill.title)
        title.setObjectName("DialogTitle")
        title.setWordWrap(True)
        lay.addWidget(title)
        self.model = FrameTableModel(self, colours=theme.color)
        self.model.set_frame(drill.users)
        n = len(self.model.user_ids())
        rows = self.model.rowCount()
        text = f"{n:,} user{'s' if n != 1 else ''}" + (f" ({rows:,} rows)" if rows != n else "")
        if drill.note:
            text += f" · {drill.note}"
        self.summary = QLabel(text if drill.users is not None else drill.note or "Nobody.")
        self.summary.setObjectName("DialogSubtitle")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.table = make_table(self.model, "ReportDrillTable")
        self.table.doubleClicked.connect(lambda _i: self._open_user())
        lay.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open user")
        self.open_button.setToolTip("Show the selected user in the users pane (or double-click a row)")
        self.open_button.clicked.connect(self._open_user)
        self.hand_button = QPushButton("Show in Users pane")
        self.hand_button.setToolTip("Hand these users (the selected ones, or all) to the users pane for a bulk action")
        self.hand_button.clicked.connect(self._hand_over)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.hand_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self._update()

    def _selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def _update(self) -> None:
        self.open_button.setEnabled(len(self.model.user_ids(self._selected_rows())) == 1)
        self.hand_button.setEnabled(bool(self.model.user_ids()))

    def _open_user(self) -> None:
        ids = self.model.user_ids(self._selected_rows())
        if len(ids) == 1:
            self.user_requested.emit(ids[0])

    def _hand_over(self) -> None:
        rows = self._selected_rows()
        ids = self.model.user_ids(rows or None)
        if ids:
            self.users_requested.emit(ids, self.drill.title if not rows else f"{self.drill.title} (selected)")


class CompareDialog(QDialog):
    """What changed between two snapshots of a report (deltas highlighted, changed rows first).

    Signals: none.
    """

    def __init__(self, comparison, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReportCompareDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Compare snapshots")
        self.resize(980, 560)
        self.comparison = comparison
        lay = QVBoxLayout(self)
        title = QLabel(comparison.title)
        title.setObjectName("DialogTitle")
        lay.addWidget(title)
        sides = QLabel(f"Before: {comparison.before}<br>After: {comparison.after}")
        sides.setObjectName("DialogSubtitle")
        lay.addWidget(sides)
        counts = comparison.counts or {}
        parts = [f"{counts.get(k, 0):,} {k}" for k in ("changed", "added", "removed") if counts]
        text = ", ".join(parts) + (" · " if parts and comparison.message else "") + (comparison.message or "")
        self.summary = QLabel(text)
        self.summary.setObjectName("CompareSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.only_changes = QCheckBox("Only rows that changed")
        self.only_changes.toggled.connect(self._fill)
        lay.addWidget(self.only_changes)
        self.model = FrameTableModel(self, colours=theme.color)
        self.table = make_table(self.model, "ReportCompareTable")
        lay.addWidget(self.table, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        lay.addWidget(close)
        self.only_changes.setEnabled(comparison.table is not None)
        self._fill()

    def _fill(self, *_args) -> None:
        frame = self.comparison.table
        if frame is not None and self.only_changes.isChecked():
            frame = frame[frame["Change"] != ""]
        self.model.set_frame(frame, delta_columns=self.comparison.delta_columns)
        self.table.resizeColumnsToContents()
