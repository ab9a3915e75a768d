"""The upload queue panel: every file, folder and link with its progress, speed, state and message,
the total, and Pause/Resume, Cancel, Retry and Clear finished."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.content_uploads import (
    COL_PROGRESS,
    COL_STATUS,
    DelegateStateRole,
    IconRole,
    ItemRole,
    ProgressRole,
)
from lms_console.models.uploads_model import UploadController
from lms_console.services.uploads import State
from lms_console.views import theme
from lms_console.views.content_tree import ContentIconProxy
from lms_console.views.icons import icon
from lms_console.views.widgets.progress_delegate import ProgressDelegate


class _QueueProxy(ContentIconProxy):
    """Icons from names; failed rows' status in the error colour."""

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == COL_STATUS:
            state = self.sourceModel().data(self.mapToSource(index), DelegateStateRole)
            if state == "failed":
                return theme.color("error")
            if state == "done":
                return theme.color("success")
            return None
        if role == Qt.ItemDataRole.DecorationRole and index.column() == 0:
            name = self.sourceModel().data(self.mapToSource(index), IconRole)
            return icon(name) if name else None
        return super().data(index, role)


def _button(text: str, icon_name: str, tip: str, name: str) -> QToolButton:
    button = QToolButton()
    button.setObjectName(name)
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(text)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setProperty("icon_name", icon_name)
    return button


class UploadQueuePanel(QFrame):
    """The upload queue under the content tree. Signals: none; it calls the controller."""

    def __init__(self, controller: UploadController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UploadQueuePanel")
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(6)
        top = QHBoxLayout()
        top.setSpacing(8)
        title = QLabel("Uploads")
        title.setObjectName("SectionTitle")
        self.totals = QLabel()
        self.totals.setObjectName("UploadTotals")
        self.total_bar = QProgressBar()
        self.total_bar.setObjectName("UploadTotalBar")
        self.total_bar.setRange(0, 1000)
        self.total_bar.setTextVisible(False)
        self.total_bar.setFixedWidth(160)
        self.total_bar.setFixedHeight(8)
        self.pause_button = _button("Pause", "clock", "Stop sending after the current step; resume later",
                                    "UploadPause")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button = _button("Cancel", "cancel", "Cancel the selected upload (nothing of it is created)",
                                     "UploadCancel")
        self.cancel_button.clicked.connect(self._cancel)
        self.retry_button = _button("Retry", "refresh", "Send the selected upload again (all failed ones when "
                                    "nothing is selected)", "UploadRetry")
        self.retry_button.clicked.connect(self._retry)
        self.clear_button = _button("Clear finished", "remove", "Remove finished rows from the list (the journal "
                                    "keeps them)", "UploadClear")
        self.clear_button.clicked.connect(controller.clear_finished)
        self.hidden_check = QCheckBox("Add hidden from students")
        self.hidden_check.setObjectName("UploadHidden")
        self.hidden_check.setToolTip("New activities are created hidden; show them when they are ready")
        # The totals wrap and the commands take a row of their own: this panel sets the width the
        # whole window can shrink to (the stacked panes' widest minimum).
        self.totals.setWordWrap(True)
        top.addWidget(title)
        top.addWidget(self.total_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.totals, 1)
        layout.addLayout(top)
        commands = QHBoxLayout()
        commands.setSpacing(8)
        commands.addWidget(self.hidden_check)
        commands.addStretch(1)
        for button in (self.pause_button, self.cancel_button, self.retry_button, self.clear_button):
            commands.addWidget(button)
        layout.addLayout(commands)

        self.view = QTreeView()
        self.view.setObjectName("UploadQueue")
        self.view.setAccessibleName("Upload queue")
        self._proxy = _QueueProxy(self)
        self._proxy.setSourceModel(controller.model)
        self.view.setModel(self._proxy)
        self.view.setUniformRowHeights(True)
        self.view.setRootIsDecorated(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.delegate = ProgressDelegate(self.view, progress_role=ProgressRole, state_role=DelegateStateRole)
        self.view.setItemDelegateForColumn(COL_PROGRESS, self.delegate)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 240)
        header.resizeSection(1, 220)
        header.resizeSection(2, 80)
        header.resizeSection(3, 150)
        header.resizeSection(4, 80)
        layout.addWidget(self.view, 1)

        controller.progress_changed.connect(self._update_totals)
        controller.state_changed.connect(lambda _s: self._update_buttons())
        controller.model.rowsInserted.connect(self._on_rows_inserted)
        controller.model.modelReset.connect(self._on_reset)
        controller.model.dataChanged.connect(lambda *_: self._update_buttons())
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()
        self._update_totals()

    @property
    def visible_to_students(self) -> bool:
        return not self.hidden_check.isChecked()

    def selected_item(self):
        rows = self.view.selectionModel().selectedRows()
        return rows[0].data(ItemRole) if rows else None

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            entry = self._proxy.mapFromSource(parent)
            item = parent.data(ItemRole)
            if item is not None and not item.state.final:  # finished folders stay folded
                self.view.expand(entry)
        else:
            self.view.scrollTo(self._proxy.index(last, 0))
        self._update_totals()

    def _on_reset(self) -> None:
        for row in range(self._proxy.rowCount()):
            index = self._proxy.index(row, 0)
            item = index.data(ItemRole)
            if item is not None and not item.state.final:
                self.view.expand(index)
        self._update_totals()

    def _update_totals(self) -> None:
        totals = self.controller.model.totals()
        text = totals.text()
        state = self.controller.state
        if state == "paused":
            text = "Paused · " + text
        elif state == "waiting":
            text = "Waiting for the site to answer · " + text
        self.totals.setText(text)
        self.totals.setToolTip(text)
        self.total_bar.setVisible(totals.total > 0)
        self.total_bar.setValue(round(1000 * totals.sent / totals.total) if totals.total else 0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        paused = self.controller.paused
        self.pause_button.setText("Resume" if paused or self.controller.state == "waiting" else "Pause")
        self.pause_button.setProperty("icon_name", "sync" if paused else "clock")
        self.pause_button.setIcon(icon(self.pause_button.property("icon_name")))
        item = self.selected_item()
        items = self.controller.model.items()
        self.cancel_button.setEnabled(item is not None and item.state in (State.QUEUED, State.UPLOADING))
        retryable = any(i.state in (State.FAILED, State.CANCELLED) for i in items)
        self.retry_button.setEnabled(item.state.retryable if item is not None else retryable)
        self.clear_button.setEnabled(any(i.parent is None and i.state in (State.DONE, State.REFUSED, State.CANCELLED)
                                         for i in items))
        # Something to hold: work left in the queue (or it is held, or waits for the site already).
        left = any(not i.state.final for i in items)
        self.pause_button.setEnabled(left or paused or self.controller.state == "waiting")

    def _toggle_pause(self) -> None:
        if self.controller.paused or self.controller.state == "waiting":
            self.controller.resume()
        else:
            self.controller.pause()
        self._update_totals()

    def _cancel(self) -> None:
        item = self.selected_item()
        if item is not None:
            self.controller.cancel(item.id)

    def _retry(self) -> None:
        item = self.selected_item()
        if item is not None and item.state.retryable:
            self.controller.retry(item.id)
        else:
            self.controller.retry_failed()

    def _refresh_icons(self, *_args) -> None:
        for button in (self.pause_button, self.cancel_button, self.retry_button, self.clear_button):
            button.setIcon(icon(button.property("icon_name")))
            button.setIconSize(QSize(16, 16))
        self.view.viewport().update()
