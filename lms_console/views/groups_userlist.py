"""Users as a drag source: the table behind the docked user list and the members tables, and the
searchable user list docked beside the groups tree.

A drag carries the selected users' ids (``models.dnd``). Selecting everything (Ctrl+A) drags the
search itself, so 50,000 matching users are never listed on the GUI thread: the drop target
reads their ids on a worker.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.dnd import user_filter_mime, user_ids_mime
from lms_console.models.users_model import UsersTableModel
from lms_console.services.users_query import UserFilter
from lms_console.views import theme
from lms_console.views.icons import icon

SEARCH_DELAY_MS = 150
LIST_COLUMNS = ("lastname", "firstname", "username", "email", "department")


def setup_users_table(table: QTableView, name: str) -> None:
    """The look the console's user tables share: whole rows, no grid, fixed row height."""
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setIconSize(QSize(16, 16))
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vh = table.verticalHeader()
    vh.hide()
    vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # 50,000 rows: never measure them
    vh.setDefaultSectionSize(table.fontMetrics().height() + 10)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(True)
    header.setSortIndicatorShown(True)
    header.setSectionsClickable(True)


class SelectionTable(QTableView):
    """A table whose Delete key acts on the selection (without needing an active window's shortcut map).

    Signals:
        delete_pressed(): Delete was pressed with rows selected.
    """

    delete_pressed = Signal()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Delete and self.selectionModel() is not None \
                and self.selectionModel().hasSelection():
            self.delete_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class DraggableUsersTable(SelectionTable):
    """A table of a UsersTableModel whose selection can be dragged onto cohorts, groups and courses.

    Signals:
        drag_note(str): what the last drag carried when it could not carry the whole selection.
        delete_pressed(): Delete was pressed with rows selected (from SelectionTable).
    """

    drag_note = Signal(str)

    def __init__(self, source: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedRows()})

    def drag_mime(self):
        """The QMimeData of the current selection (None when nothing is selected)."""
        model = self.model()
        rows = self.selected_rows()
        if not isinstance(model, UsersTableModel) or not rows:
            return None
        total = model.total()
        if len(rows) == total and total > len(model.loaded_ids(rows)[0]):
            return user_filter_mime(model.spec, total, self.source)
        known, missing = model.loaded_ids(rows)
        if missing:
            self.drag_note.emit(f"Only the {len(known):,} users read so far are dragged, not all "
                                f"{len(rows):,} selected: select all (Ctrl+A) to drag everyone listed.")
        return user_ids_mime(known, self.source) if known else None

    def startDrag(self, supported) -> None:  # noqa: N802 - Qt override
        mime = self.drag_mime()
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(icon("users").pixmap(QSize(24, 24)))
        drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)


class UserListPanel(QFrame):
    """A searchable list of every user, docked beside the groups tree, to drag users from.

    Signals:
        close_requested(): the admin closed the list (the pane hides it).
    """

    close_requested = Signal()

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("UserListPanel")
        self.session = session
        self.model = UsersTableModel(session, self, colours=theme.color)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._search)
        title = QLabel("Users")
        title.setObjectName("SectionTitle")
        hint = QLabel("Drag users onto a cohort, a group or a course.")
        hint.setObjectName("GroupsHint")
        hint.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setObjectName("UserListSearch")
        self.search.setPlaceholderText("Search users")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search users to drag")
        self.search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.count = QLabel("")
        self.count.setObjectName("GroupsHint")
        self.note = QLabel("")
        self.note.setObjectName("DropNote")
        self.note.setWordWrap(True)
        self.note.hide()
        self.table = DraggableUsersTable("user-list")
        setup_users_table(self.table, "UserListTable")
        self.table.setModel(self.model)
        self.table.setAccessibleName("Users to drag")
        self.table.drag_note.connect(self._show_note)
        self.table.horizontalHeader().sortIndicatorChanged.connect(
            lambda col, order: self.model.sort(col, order))
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(title, 1)
        head.addWidget(self.count)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        lay.addLayout(head)
        lay.addWidget(hint)
        lay.addWidget(self.search)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.note)
        self.model.counted.connect(lambda n: self.count.setText(f"{n:,}"))
        self.model.columns_changed.connect(lambda _c: self._widths())

    def activate(self) -> None:
        """Read the list (the first time the pane is shown)."""
        if not self.model.is_active():
            self.model.show(UserFilter(), LIST_COLUMNS, "lastname")
            self._widths()

    def _widths(self) -> None:
        header = self.table.horizontalHeader()
        for n, width in enumerate((120, 110, 120, 200)):
            header.resizeSection(n, width)

    def _search(self) -> None:
        self.model.set_text(self.search.text())

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()


__all__ = ["LIST_COLUMNS", "DraggableUsersTable", "SelectionTable", "UserListPanel", "setup_users_table"]
