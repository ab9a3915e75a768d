"""The searchable user list docked beside the groups tree, to drag users from (the tables
themselves are in ``views/widgets/users_table.py``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.users_model import UsersTableModel
from lms_console.services.users_query import UserFilter
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.widgets.users_table import DraggableUsersTable, setup_users_table

SEARCH_DELAY_MS = 150
LIST_COLUMNS = ("lastname", "firstname", "username", "email", "department")


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


__all__ = ["LIST_COLUMNS", "UserListPanel"]
