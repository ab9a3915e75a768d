"""The details panel of the content pane: what the selected row is, its state, and its files."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.content_details import (
    ContentDetails,
    ContentDetailsModel,
    FileRow,
)
from lms_console.models.content_model import icon_name
from lms_console.views import theme
from lms_console.views.icons import MissingIconError, icon


def _table(model, name: str) -> QTableView:
    table = QTableView()
    table.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
    table.setObjectName(name)
    table.setModel(model)
    table.setShowGrid(False)
    table.setWordWrap(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return table


class ContentDetailsView(QFrame):
    """Type, visibility, availability, completion tracking and files of the selected item.

    Signals:
        open_requested(str): open this address in the browser (never carries a token).
        download_requested(object): save this FileRow to disk.
    """

    open_requested = Signal(str)
    download_requested = Signal(object)

    def __init__(self, model: ContentDetailsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ContentDetails")
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        head = QHBoxLayout()
        head.setSpacing(10)
        self.icon = QLabel()
        self.icon.setFixedSize(28, 28)
        self.title = QLabel("Nothing selected")
        self.title.setObjectName("DetailsTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.kind = QLabel("Select a category, course, section, activity or file.")
        self.kind.setObjectName("DetailsKind")
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.kind)
        head.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        head.addLayout(titles, 1)
        layout.addLayout(head)

        self.fields = _table(model.fields, "DetailsFields")
        self.fields.horizontalHeader().hide()
        self.fields.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.fields.horizontalHeader().setStretchLastSection(True)
        self.fields.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.fields.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.fields.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.fields.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.fields.setSizeAdjustPolicy(QAbstractItemView.SizeAdjustPolicy.AdjustToContents)
        layout.addWidget(self.fields)

        self.files_label = QLabel("Files")
        self.files_label.setObjectName("SectionTitle")
        layout.addWidget(self.files_label)
        self.files = _table(model.files, "DetailsFiles")
        self.files.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.files.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, 5):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.files.doubleClicked.connect(lambda _i: self._download())
        layout.addWidget(self.files, 1)
        self.spacer = QWidget()
        layout.addWidget(self.spacer, 1)  # takes the room the files table leaves when there are none

        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open in browser")
        self.open_button.setObjectName("OpenInBrowser")
        self.open_button.setToolTip("Open this page of the site in your web browser (you sign in there)")
        self.open_button.clicked.connect(self._open)
        self.download_button = QPushButton("Download…")
        self.download_button.setObjectName("DownloadFile")
        self.download_button.setToolTip("Save the selected file to this computer")
        self.download_button.clicked.connect(self._download)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.download_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        model.loaded.connect(self.show_details)
        self.files.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        theme.theme_notifier().theme_changed.connect(self._refresh_icon)
        self._details: ContentDetails | None = None
        self.show_details(None)

    def show_details(self, details: ContentDetails | None) -> None:
        self._details = details
        if details is None:
            self.title.setText("Nothing selected")
            self.kind.setText("Select a category, course, section, activity or file.")
        else:
            self.title.setText(details.title)
            self.kind.setText(details.kind_label)
        has_files = bool(details and details.files)
        self.files_label.setVisible(has_files)
        self.files.setVisible(has_files)
        self.spacer.setVisible(not has_files)
        if has_files:
            self.files.selectRow(0)
        self._refresh_icon()
        self._update_buttons()

    def selected_file(self) -> FileRow | None:
        rows = self.files.selectionModel().selectedRows()
        return self.model.files.file_at(rows[0].row()) if rows else None

    def _refresh_icon(self, *_args) -> None:
        name = icon_name(self._details.ref) if self._details is not None else "info"
        try:
            pixmap = icon(name).pixmap(QSize(28, 28), self.devicePixelRatioF())
        except MissingIconError:
            pixmap = icon("activity-generic").pixmap(QSize(28, 28), self.devicePixelRatioF())
        self.icon.setPixmap(pixmap)

    def _update_buttons(self) -> None:
        details = self._details
        self.open_button.setEnabled(bool(details and details.browser_url))
        self.download_button.setEnabled(self.selected_file() is not None)

    def _open(self) -> None:
        if self._details is not None and self._details.browser_url:
            self.open_requested.emit(self._details.browser_url)

    def _download(self) -> None:
        file = self.selected_file()
        if file is not None:
            self.download_requested.emit(file)
