"""The members of the selected cohort or group: the users pane's lazy table (search, conditions,
columns, multi-select) filtered to "member of ...", with removal (Delete key, context menu,
button) and, for a cohort with a membership rule, the rule's state.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.dnd import has_users, read_user_drag
from lms_console.models.users_model import UsersTableModel
from lms_console.services.users_query import Condition, UserFilter
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.widgets.empty_state import empty_state_label
from lms_console.views.widgets.filter_bar import FilterBar
from lms_console.views.widgets.item_menu import install_item_menu
from lms_console.views.widgets.pane_heading import pane_heading
from lms_console.views.widgets.users_table import DraggableUsersTable, row_icon, setup_users_table

MEMBER_COLUMNS = ("username", "firstname", "lastname", "email", "department", "status", "lastaccess")
WIDTHS = (140, 120, 130, 240, 160, 100)


def rule_text(rule) -> tuple[str, str]:
    """(text, state) of a cohort's rule for the strip above its members; state: ok | drift | problem."""
    if rule is None:
        return "", ""
    if rule.problem:
        return rule.problem, "problem"
    if not rule.cohort_exists:
        return "The cohort of this rule is gone from the site.", "problem"
    if rule.checked_at is None:
        return "Not checked yet: review the changes to see who would join or leave.", "drift"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(rule.checked_at))
    if rule.drifted:
        return (f"Drifted: {rule.joins or 0:,} to add, {rule.leaves or 0:,} to remove (checked {when}). "
                "Nothing changes until you apply it.", "drift")
    return f"In step with the rule (checked {when}).", "ok"


class MembersPanel(QWidget):
    """Members of one cohort or group.

    Signals:
        remove_requested(str, int, object): kind, id, and the list of user ids to remove.
        edit_requested(): edit the cohort or group shown.
        rule_requested(int): edit the rule of this cohort.
        users_dropped(str, int, object): users (a UserDrag) dropped on the members list: kind, id.
        review_requested(int): show the diff of this cohort's rule.
        note(str): a message for the pane's banner (info level).
    """

    remove_requested = Signal(str, int, object)
    users_dropped = Signal(str, int, object)
    edit_requested = Signal()
    rule_requested = Signal(int)
    review_requested = Signal(int)
    note = Signal(str)

    def __init__(self, session, engine=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MembersPanel")
        self.session = session
        self.kind = ""
        self.ident: int | None = None
        self.base: Condition | None = None
        self.model = UsersTableModel(session, self, icons=row_icon, colours=theme.color)
        self._build()
        self.setAcceptDrops(True)  # users dropped on the list join the cohort or group shown
        if engine is not None:
            engine.changes_applied.connect(self.model.on_changes_applied)
        session.cache_changed.connect(self._on_cache_changed)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._refresh_icons()

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        self.edit_button = QPushButton("Properties…")
        self.edit_button.setToolTip("Rename, change the ID number, visibility or description")
        self.edit_button.clicked.connect(self.edit_requested)
        self.rule_button = QPushButton("Membership rule…")
        self.rule_button.setToolTip("Define this cohort's members by a users filter (department, country, a "
                                    "profile field, …)")
        self.rule_button.clicked.connect(lambda: self.ident is not None and self.rule_requested.emit(self.ident))
        head, self.icon_label, self.title, self.info = pane_heading(self.rule_button, self.edit_button)
        lay.addLayout(head)

        self.rule_strip = QFrame()
        self.rule_strip.setObjectName("RuleStrip")
        strip = QHBoxLayout(self.rule_strip)
        strip.setContentsMargins(10, 6, 6, 6)
        self.rule_label = QLabel()
        self.rule_label.setObjectName("RuleText")
        self.rule_label.setWordWrap(True)
        self.rule_label.setTextFormat(Qt.TextFormat.PlainText)
        self.review_button = QPushButton("Review changes…")
        self.review_button.setObjectName("ReviewRuleButton")
        self.review_button.clicked.connect(lambda: self.ident is not None and self.review_requested.emit(self.ident))
        strip.addWidget(self.rule_label, 1)
        strip.addWidget(self.review_button)
        self.rule_strip.hide()
        lay.addWidget(self.rule_strip)

        self.filter_bar = FilterBar()
        self.filter_bar.save_button.hide()  # saved filters belong to the users pane
        self.filter_bar.search.setPlaceholderText("Search the members: username, name, email, ID number or department")
        self.filter_bar.search.setAccessibleName("Search members")
        self.filter_bar.spec_changed.connect(self._on_spec)
        lay.addWidget(self.filter_bar)

        self.table = DraggableUsersTable("members")
        setup_users_table(self.table, "MembersTable")
        self.table.setModel(self.model)
        self.table.setAccessibleName("Members")
        install_item_menu(self.table, self._context_menu)
        self.table.drag_note.connect(self.note)
        self.table.horizontalHeader().sortIndicatorChanged.connect(lambda c, o: self.model.sort(c, o))
        self.remove_action = QAction("Remove from …", self.table)
        self.remove_action.setShortcut(QKeySequence(Qt.Key.Key_Delete))  # shown in the menu; the table handles the key
        self.remove_action.triggered.connect(self.remove_selected)
        self.table.delete_pressed.connect(self.remove_selected)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.empty = empty_state_label()
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty)
        lay.addWidget(self.table_stack, 1)

        bottom = QHBoxLayout()
        self.hint = QLabel("Drop users here or on the tree to add them; Delete removes the selected members.")
        self.hint.setObjectName("GroupsHint")
        self.hint.setWordWrap(True)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setObjectName("RemoveMembersButton")
        self.remove_button.clicked.connect(self.remove_selected)
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.remove_button)
        lay.addLayout(bottom)
        self.model.described.connect(self.filter_bar.set_sentence)
        self.model.counted.connect(lambda _n: self._update_count())
        self.model.loaded.connect(self._update_count)
        self.model.options_loaded.connect(self.filter_bar.set_options)
        self.model.columns_changed.connect(lambda _c: self._widths())
        self._update_buttons()

    def _refresh_icons(self, *_args) -> None:
        self.model.clear_style_cache()
        if self.kind:
            self.icon_label.setPixmap(icon(self.kind).pixmap(QSize(32, 32)))
        self.remove_button.setIcon(icon("remove"))
        self.edit_button.setIcon(icon("edit"))
        self.rule_button.setIcon(icon("filter"))

    # -- what is shown --------------------------------------------------------------------------------
    def show_container(self, kind: str, ident: int, name: str, info: str) -> None:
        """Show the members of cohort or group ``ident``."""
        same = (kind, ident) == (self.kind, self.ident)
        self.kind, self.ident = kind, ident
        self.base = Condition(kind, "in", ident)
        self.title.setText(name)
        self.info.setText(info)
        what = "cohort" if kind == "cohort" else "group"
        self.remove_action.setText(f"Remove from {what}")
        self.remove_button.setText(f"Remove from {what}")
        self.remove_button.setToolTip(f"Take the selected users out of this {what} (Delete; previewed first)")
        self.rule_button.setVisible(kind == "cohort")
        self._refresh_icons()
        if not same:
            self.filter_bar.set_spec(UserFilter())
            self.table.clearSelection()
        if not self.model.options.auths:
            self.model.load_options()
        self.model.show(self._spec(), MEMBER_COLUMNS, self.model.sort_key, self.model.descending)
        self._widths()

    def set_rule(self, rule) -> None:
        text, state = rule_text(rule)
        self.rule_strip.setVisible(bool(text) and self.kind == "cohort")
        self.rule_strip.setProperty("state", state)
        self.rule_strip.style().unpolish(self.rule_strip)
        self.rule_strip.style().polish(self.rule_strip)
        sentence = ""
        if rule is not None and not rule.problem:
            from lms_console.services.users_filter_text import describe

            sentence = f"Membership rule: {describe(rule.spec)}. "
        self.rule_label.setText(sentence + text)
        self.review_button.setVisible(state in ("drift", "ok"))
        self.rule_button.setText("Edit rule…" if rule is not None else "Membership rule…")

    def _spec(self) -> UserFilter:
        spec = self.filter_bar.spec()
        return UserFilter(spec.text, (*spec.conditions, self.base)) if self.base is not None else spec

    def _on_spec(self, _spec) -> None:
        if self.base is not None:
            self.model.set_filter(self._spec())

    def _on_cache_changed(self, entities) -> None:
        # The users model re-reads on cohort changes itself; group memberships are ours to watch.
        if self.kind == "group" and self.model.is_active() and entities and {"groups", "group_members"} & set(entities):
            self.model.refresh()

    def _widths(self) -> None:
        header = self.table.horizontalHeader()
        for n, width in enumerate(WIDTHS):
            header.resizeSection(n, width)

    def _update_empty(self) -> None:
        if self.model.total() or self.model.is_loading() or self.model.is_counting():
            self.table_stack.setCurrentWidget(self.table)
            return
        what = "cohort" if self.kind == "cohort" else "group"
        spec = self.filter_bar.spec()
        if spec.text.strip() or spec.conditions:
            self.empty.setText("No member matches the search and filters.")
        else:
            self.empty.setText(f"This {what} has no members yet.\nDrag users from the list on the right and drop "
                               "them here (or on the tree), or import them from a file.")
        self.table_stack.setCurrentWidget(self.empty)

    def _update_count(self) -> None:
        self._update_empty()
        n = self.model.total()
        self.filter_bar.set_count(n, counting=self.model.is_counting(),
                                  selected=len(self.table.selected_rows()))

    def _update_buttons(self) -> None:
        has = bool(self.table.selectionModel().selectedRows()) if self.table.selectionModel() else False
        self.remove_button.setEnabled(has)
        self.remove_action.setEnabled(has)
        self._update_count()

    # -- removing ---------------------------------------------------------------------------------------
    def remove_selected(self) -> None:
        rows = self.table.selected_rows()
        if not rows or self.ident is None:
            return
        kind, ident = self.kind, self.ident
        ranges: list[tuple[int, int]] = []
        for r in rows:
            if ranges and r == ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], r)
            else:
                ranges.append((r, r))
        self.model.resolve_ranges(ranges, lambda ids: ids and self.remove_requested.emit(kind, ident, list(ids)))

    # -- drops on the list -----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.ident is not None and has_users(event.mimeData()) and read_user_drag(event.mimeData()).source != \
                "members":
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        drag = read_user_drag(event.mimeData())
        if self.ident is None or drag.source == "members" or not has_users(event.mimeData()):
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        self.users_dropped.emit(self.kind, int(self.ident), drag)

    def _context_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if not index.isValid():
            return
        menu = QMenu(self.table)
        menu.addAction(icon("remove"), self.remove_action.text(), self.remove_selected)
        menu.popup(pos)


__all__ = ["MEMBER_COLUMNS", "MembersPanel", "rule_text"]
