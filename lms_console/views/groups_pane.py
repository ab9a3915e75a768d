"""The "Groups & enrolments" pane: a tree of cohorts (by context) and courses with their groups and
groupings, member counts on each node; the members of the selected cohort or group, or the
enrolments of the selected course; and a searchable user list docked beside them to drag users
from. Users dropped on a cohort, a group or a course become a previewed plan.

Everything shown comes from models (GroupsTreeModel, UsersTableModel, EnrolmentsTableModel);
everything changed goes through GroupsActions to the change engine, whose preview confirms it.
The dialogs are opened by :class:`~lms_console.views.groups_dialogs.GroupsDialogs`.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.cohort_rules import CohortRulesModel
from lms_console.models.groups_actions import GroupsActions, read_pane_choices
from lms_console.models.groups_model import GroupsTreeModel, KeyRole, KindRole, NodeRole
from lms_console.models.nav_model import NavTarget
from lms_console.views import theme
from lms_console.views.groups_dialogs import GroupsDialogs
from lms_console.views.groups_enrolments import CoursePanel
from lms_console.views.groups_members import MembersPanel
from lms_console.views.groups_tree import GroupsTreeView
from lms_console.views.groups_userlist import UserListPanel
from lms_console.views.icons import icon
from lms_console.views.widgets.banner import Banner
from lms_console.views.widgets.item_menu import install_item_menu

PAGE_EMPTY, PAGE_MEMBERS, PAGE_COURSE = range(3)


class GroupsPane(QWidget):
    """The pane of the "groups", "cohorts" and "cohort" navigation targets.

    Signals:
        selection_changed(object): the node now shown (a tree node, or None).
    """

    selection_changed = Signal(object)

    def __init__(self, session, engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Pane")
        self.session = session
        self.engine = engine
        self.tree_model = GroupsTreeModel(session, self, icons=icon, colours=theme.color)
        self.actions = GroupsActions(session, engine, self)
        self.rules = CohortRulesModel(session, self.actions, self)
        self.choices: dict = {}
        self.node = None
        self._pending_key: str | None = None
        self._expanded: set[str] = set()
        self._current_key: str | None = None
        self._build()
        self.dialogs = GroupsDialogs(self)
        self._connect()
        self._refresh_icons()

    # -- construction --------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        self.title = QLabel("Groups & enrolments")
        self.title.setObjectName("PaneTitle")
        self.subtitle = QLabel("Cohorts, course groups and enrolments. Drag users onto a cohort, a group or a course.")
        self.subtitle.setObjectName("PaneSubtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)

        self.toolbar = QToolBar("Groups")
        self.toolbar.setObjectName("GroupsToolBar")
        self.toolbar.setIconSize(QSize(18, 18))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.new_button = QToolButton()
        self.new_button.setObjectName("NewMenuButton")
        self.new_button.setText("New")
        self.new_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.new_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.new_menu = QMenu("&New", self.new_button)
        self.new_cohort_action = self.new_menu.addAction("Cohort…")
        self.new_group_action = self.new_menu.addAction("Group in the selected course…")
        self.new_grouping_action = self.new_menu.addAction("Grouping in the selected course…")
        self.new_button.setMenu(self.new_menu)
        self.toolbar.addWidget(self.new_button)
        self.edit_action = self.toolbar.addAction("Properties…")
        self.edit_action.setToolTip("Rename or change the selected cohort, group or grouping")
        self.delete_action = self.toolbar.addAction("Delete")
        self.delete_action.setToolTip("Delete the selected cohort, group or grouping (previewed; cannot be undone)")
        self.toolbar.addSeparator()
        self.matrix_action = self.toolbar.addAction("Enrol users…")
        self.matrix_action.setToolTip("Enrol many users in many courses with one role and dates, in one run")
        # Toolbar buttons take no focus: the commands also have keys and are in the window's Actions
        # menu (menu_actions), with mnemonics there.
        self.import_action = self.toolbar.addAction("&Import memberships…")
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_action.setToolTip("Add users to cohorts or groups from a CSV or Excel file, with a dry run first "
                                      "(Ctrl+I)")
        self.rules_action = self.toolbar.addAction("Check &rules")
        self.rules_action.setShortcut(QKeySequence("Ctrl+R"))
        self.rules_action.setToolTip("Compare every rule-based cohort with its rule now (Ctrl+R)")
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        self.toolbar.addWidget(spacer)
        self.user_list_action = QAction("User list", self, checkable=True, checked=True)
        self.user_list_action.setToolTip("Show the searchable user list to drag users from")
        self.toolbar.addAction(self.user_list_action)
        layout.addWidget(self.toolbar)
        self.banner = Banner()
        layout.addWidget(self.banner)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("GroupsSplitter")
        self.splitter.setChildrenCollapsible(False)
        left = QFrame()
        left.setObjectName("GroupsTreePanel")
        self.tree_panel = left
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(6)
        self.tree_search = QLineEdit()
        self.tree_search.setObjectName("GroupsTreeSearch")
        self.tree_search.setPlaceholderText("Find a cohort, course or group")
        self.tree_search.setClearButtonEnabled(True)
        self.tree_search.setAccessibleName("Find a cohort, course or group")
        self.tree_search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(lambda: self.tree_model.set_filter(self.tree_search.text()))
        self.tree_search.textChanged.connect(lambda _t: self._search_timer.start())
        self.tree = GroupsTreeView()
        self.tree.setModel(self.tree_model)
        self.tree.configure_header()
        # Room for names of ~30 characters where it can be had; at most what still lets the window be
        # 1024 px wide with the navigation, the details and the user list at their minimum.
        left.setMinimumWidth(max(180, min(240, self.tree_wanted_width())))
        self.drop_hint = QLabel("")
        self.drop_hint.setObjectName("GroupsDropHint")
        self.drop_hint.setWordWrap(True)
        self.drop_hint.hide()
        ll.addWidget(self.tree_search)
        ll.addWidget(self.tree, 1)
        ll.addWidget(self.drop_hint)

        self.details = QStackedWidget()
        self.details.setObjectName("GroupsDetails")
        self.empty = QFrame()
        self.empty.setObjectName("GroupsEmpty")
        el = QVBoxLayout(self.empty)
        el.addStretch(1)
        self.empty_title = QLabel("Select a cohort, a group or a course")
        self.empty_title.setObjectName("EmptyTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_title.setWordWrap(True)  # a narrow details column (a 1024 px window) wraps it
        self.empty_text = QLabel("Its members (or enrolments) appear here. Drag users from the list on the right "
                                 "onto the tree to add them; every change is previewed first.")
        self.empty_text.setObjectName("EmptyState")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        self.empty_button = QPushButton()
        self.empty_button.setObjectName("EmptyAction")
        self.empty_button.hide()
        self._empty_action = None
        self.empty_button.clicked.connect(lambda: self._empty_action is not None and self._empty_action())
        el.addWidget(self.empty_title)
        el.addWidget(self.empty_text)
        el.addWidget(self.empty_button, 0, Qt.AlignmentFlag.AlignHCenter)
        el.addStretch(2)
        self.members = MembersPanel(self.session, self.engine)
        self.course = CoursePanel(self.session, self.engine)
        self.details.addWidget(self.empty)
        self.details.addWidget(self.members)
        self.details.addWidget(self.course)

        self.user_list = UserListPanel(self.session)
        self.user_list.setMinimumWidth(160)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.addWidget(self.user_list)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setStretchFactor(2, 2)
        layout.addWidget(self.splitter, 1)
        # The pane shares the splitter out itself (see splitter_sizes) until the admin drags a handle;
        # from then on the splitter keeps what they chose.
        self._auto_sizes = True
        self.splitter.splitterMoved.connect(self._stop_auto_sizes)

    def _connect(self) -> None:
        t, m = self.tree, self.tree_model
        t.selectionModel().currentChanged.connect(lambda cur, _prev: self._show_node(cur))
        t.users_dropped.connect(self.dialogs.users_dropped)
        t.drop_hint.connect(self._show_drop_hint)
        t.delete_requested.connect(self.dialogs.delete_selected)
        install_item_menu(t, self._tree_menu)
        t.doubleClicked.connect(lambda index: index.data(KindRole) in ("cohort", "group", "grouping")
                                and self.dialogs.edit_selected())
        m.modelAboutToBeReset.connect(self._remember_tree)
        m.rebuilt.connect(self._restore_tree)
        m.failed.connect(self.show_problem)
        self.engine.changes_applied.connect(m.on_changes_applied)
        self.new_cohort_action.triggered.connect(self.dialogs.new_cohort)
        self.new_group_action.triggered.connect(self.dialogs.new_group)
        self.new_grouping_action.triggered.connect(self.dialogs.new_grouping)
        self.edit_action.triggered.connect(self.dialogs.edit_selected)
        self.delete_action.triggered.connect(self.dialogs.delete_selected)
        self.matrix_action.triggered.connect(lambda: self.dialogs.open_matrix())
        self.import_action.triggered.connect(self.dialogs.open_import)
        self.rules_action.triggered.connect(lambda: self.rules.check_now(announce=True, say_all_hold=True))
        self.user_list_action.toggled.connect(self.user_list.setVisible)
        self.members.remove_requested.connect(self.actions.plan_remove)
        self.members.users_dropped.connect(self.dialogs.users_dropped)
        self.members.edit_requested.connect(self.dialogs.edit_selected)
        self.members.rule_requested.connect(self.dialogs.open_rule)
        self.members.review_requested.connect(lambda cid: self.dialogs.open_rule(cid, check=True))
        self.members.note.connect(lambda text: self.banner.show_message("info", text))
        self.course.enrol_requested.connect(lambda cid: self.dialogs.open_matrix(courses=[cid]))
        self.course.bulk_requested.connect(
            lambda action, cid, ids, end: self.actions.plan_bulk(cid, ids, action, timeend=end))
        self.actions.planning.connect(self._show_planning)
        self.actions.planned.connect(lambda _p, _s: self._show_planning(""))
        self.actions.problem.connect(self.show_problem)
        self.rules.rules_loaded.connect(lambda _r: self._refresh_rule())
        self.rules.problem.connect(self.show_problem)
        self.session.opened.connect(self._on_opened)
        self.session.cache_changed.connect(self._on_cache_changed)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._share_splitter()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)  # the layout has given the splitter its new width already
        self._share_splitter()

    def _stop_auto_sizes(self, *_args) -> None:
        self._auto_sizes = False

    def _share_splitter(self) -> None:
        handles = self.splitter.handleWidth() * (2 if self.user_list.isVisibleTo(self) else 1)
        if self._auto_sizes and self.isVisible() and self.splitter.width() > handles:
            self.splitter.setSizes(self.splitter_sizes(self.splitter.width() - handles))

    def tree_wanted_width(self) -> int:
        """The tree's width for names of about 30 characters a few levels down (a cohort in its
        context, a group in a course of a category), with the Members column and a scroll bar."""
        tree = self.tree
        text = tree.fontMetrics().averageCharWidth() * 30
        members = tree.header().sectionSize(1)
        chrome = 3 * tree.indentation() + tree.iconSize().width() + 12
        scrollbar = tree.style().pixelMetric(tree.style().PixelMetric.PM_ScrollBarExtent)
        return text + members + chrome + scrollbar + 2 * tree.frameWidth()

    def splitter_sizes(self, width: int) -> list[int]:
        """Tree, details and user list for a splitter ``width`` wide (handles excluded): the tree about
        35 % (more, up to room for names of ~30 characters, where the details and the user list keep
        their minimum), the user list about a fifth (none while it is hidden), the details the rest."""
        shown = self.user_list.isVisibleTo(self)
        users_min = self.user_list.minimumWidth() if shown else 0
        details_min = self.details.minimumSizeHint().width()
        users = max(users_min, min(340, int(width * 0.2))) if shown else 0
        tree = max(int(width * 0.35), min(self.tree_wanted_width(), width - users_min - details_min))
        tree = max(self.tree_panel.minimumWidth(), min(460, tree))
        if width - tree - users < details_min and shown:  # narrow: the user list gives way first
            users = max(users_min, width - tree - details_min)
        if width - tree - users < details_min:
            tree = max(self.tree_panel.minimumWidth(), width - users - details_min)
        return [tree, max(0, width - tree - users), users]

    def _refresh_icons(self, *_args) -> None:
        self.new_button.setIcon(icon("add"))
        self.edit_action.setIcon(icon("edit"))
        self.delete_action.setIcon(icon("remove"))
        self.matrix_action.setIcon(icon("course"))
        self.import_action.setIcon(icon("upload"))
        self.rules_action.setIcon(icon("refresh"))
        self.user_list_action.setIcon(icon("users"))
        self.tree_model.layoutChanged.emit()

    def menu_actions(self) -> list[QAction | None]:
        """The pane's commands for the window's Actions menu (None: a separator)."""
        return [self.new_menu.menuAction(), self.edit_action, self.delete_action, None, self.matrix_action,
                self.import_action, self.rules_action]

    # -- navigation -------------------------------------------------------------------------------------------
    def show_target(self, target: NavTarget | None) -> None:
        """Show the whole tree ("groups"), the cohorts ("cohorts") or one cohort ("cohort", id)."""
        first = not self.tree_model.is_active()
        if first:
            self.user_list.activate()
            self._load_choices()
            if self.session.db is not None:
                self.rules.load()
        key = None
        if target is not None and target.kind == "cohort" and target.id is not None:
            key = f"cohort:{target.id}"
        elif target is not None and target.kind == "cohorts":
            key = "cohorts"
        if key is not None:
            self._pending_key = key
        if first:
            self.tree_model.refresh()
        elif key is not None:
            self._select_key(key)

    def focus_search(self) -> None:
        self.tree_search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.tree_search.selectAll()

    def _on_opened(self, _profile) -> None:
        self._load_choices()

    def _on_cache_changed(self, entities) -> None:
        """Cohorts (the matrix lists them all) and saved filters changed: read the choices again."""
        if self.tree_model.is_active() and (not entities or {"cohorts", "saved_filters"} & set(entities)):
            self._load_choices()

    def _load_choices(self) -> None:
        db = self.session.db
        if db is not None:
            self.session.runner.run(f"groups-choices-{id(self):x}", lambda p, c: read_pane_choices(db),
                                    label="Read roles and filters", quiet=True,
                                    on_done=lambda ch: setattr(self, "choices", ch))

    # -- the tree's state across rebuilds ----------------------------------------------------------------------
    def _remember_tree(self) -> None:
        model = self.tree_model
        expanded: set[str] = set()
        stack = [model.index(r, 0) for r in range(model.rowCount())]
        while stack:
            index = stack.pop()
            if self.tree.isExpanded(index):
                expanded.add(index.data(KeyRole))
                stack += [model.index(r, 0, index) for r in range(model.rowCount(index))]
        if expanded or self._expanded:
            self._expanded = expanded
        current = self.tree.currentIndex()
        if current.isValid():
            self._current_key = current.data(KeyRole)

    def _restore_tree(self) -> None:
        model = self.tree_model
        if model.filter_text:
            self.tree.expandAll()
        else:
            for key in self._expanded or {"cohorts", "courses"}:
                index = model.find_key(key)
                if index.isValid():
                    self.tree.expand(index)
            for key in ("cohorts", "courses"):
                index = model.find_key(key)
                if index.isValid() and not self._expanded:
                    self.tree.expand(index)
        key = self._pending_key or self._current_key
        self._pending_key = None
        if key is not None and self._select_key(key, quiet=key == self._current_key):
            return
        if self.node is not None:
            self._show_node(self.tree.currentIndex())

    def _select_key(self, key: str, quiet: bool = False) -> bool:
        index = self.tree_model.find_key(key)
        if not index.isValid():
            return False
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        if quiet:
            self.tree.selectionModel().blockSignals(True)
        self.tree.setCurrentIndex(index)
        if quiet:
            self.tree.selectionModel().blockSignals(False)
            self._show_node(index, refresh_only=True)
        self.tree.scrollTo(index)
        return True

    # -- details ---------------------------------------------------------------------------------------------
    def _show_node(self, index, refresh_only: bool = False) -> None:
        node = index.data(NodeRole) if index is not None and index.isValid() else None
        self.node = node
        self._update_actions()
        self.selection_changed.emit(node)
        if node is None:
            self._show_empty("Select a cohort, a group or a course", self.empty_text.text())
            return
        e = node.extra
        if node.kind == "cohort":
            bits = [e.get("context", "System").replace("Category: ", "Category ")]
            if e.get("idnumber"):
                bits.append(f"ID number {e['idnumber']}")
            bits.append("visible" if e.get("visible", True) else "hidden")
            bits.append(f"{node.count or 0:,} members")
            self.members.show_container("cohort", int(node.id), node.name, "Cohort · " + " · ".join(bits))
            self.members.set_rule(self.rules.rule_for(int(node.id)))
            self.details.setCurrentIndex(PAGE_MEMBERS)
        elif node.kind == "group":
            bits = [f"Group of {e.get('course', '')}"]
            if e.get("idnumber"):
                bits.append(f"ID number {e['idnumber']}")
            bits.append(f"{node.count or 0:,} members")
            self.members.show_container("group", int(node.id), node.name, " · ".join(bits))
            self.members.set_rule(None)
            self.details.setCurrentIndex(PAGE_MEMBERS)
        elif node.kind == "course":
            self.tree_model.load_course(int(node.id))
            hidden = " · hidden from students" if e.get("visible") is False else ""
            info = f"{node.name} · {node.count or 0:,} enrolled · {e.get('groups', 0):,} groups and groupings{hidden}"
            self.course.show_course(int(node.id), e.get("fullname") or node.name, info, self.choices.get("roles", []))
            self.details.setCurrentIndex(PAGE_COURSE)
        elif node.kind == "grouping":
            names = [c.name for c in node.children]
            text = (f"Groups: {', '.join(names)}." if names else "No groups yet.") + \
                " A grouping collects groups; drop users on one of its groups to add them."
            self._show_empty(f"Grouping “{node.name}” of {e.get('course', '')}", text,
                             ("Rename or choose its groups…", self.dialogs.edit_selected))
        elif node.kind in ("cohorts", "context"):
            n = e.get("n", 0)
            self._show_empty(f"{node.name.split(' (')[0]}: {n:,} cohort{'s' if n != 1 else ''}",
                             "Select a cohort to see and change its members, or create one.",
                             ("New cohort…", self.dialogs.new_cohort))
        else:
            n = e.get("n", 0)
            self._show_empty(f"{node.name}: {n:,} course{'s' if n != 1 else ''}",
                             "Select a course to see its enrolments; expand it for its groups and groupings. Drop "
                             "users on a course to enrol them.")

    def _show_empty(self, title: str, text: str, button=None) -> None:
        self.empty_title.setText(title)
        self.empty_text.setText(text)
        self._empty_action = button[1] if button is not None else None
        if button is not None:
            self.empty_button.setText(button[0])
        self.empty_button.setVisible(button is not None)
        self.details.setCurrentIndex(PAGE_EMPTY)

    def _refresh_rule(self) -> None:
        if self.node is not None and self.node.kind == "cohort":
            self.members.set_rule(self.rules.rule_for(int(self.node.id)))

    def _update_actions(self) -> None:
        kind = self.node.kind if self.node is not None else None
        in_course = kind in ("course", "group", "grouping")
        self.new_group_action.setEnabled(in_course)
        self.new_grouping_action.setEnabled(in_course)
        self.edit_action.setEnabled(kind in ("cohort", "group", "grouping"))
        self.delete_action.setEnabled(kind in ("cohort", "group", "grouping"))

    def _tree_menu(self, index: QModelIndex, pos: QPoint) -> None:
        kind = index.data(KindRole) if index.isValid() else None
        menu = QMenu(self.tree)
        if kind in ("cohort", "group", "grouping"):
            menu.addAction(icon("edit"), "Properties…", self.dialogs.edit_selected)
            if kind == "cohort":
                menu.addAction(icon("filter"), "Membership rule…", lambda: self.dialogs.open_rule(int(index.data(
                    NodeRole).id)))
            menu.addAction(icon("remove"), "Delete…", self.dialogs.delete_selected)
            menu.addSeparator()
        if kind in ("course", "group", "grouping"):
            menu.addAction(icon("group"), "New group…", self.dialogs.new_group)
            menu.addAction(icon("grouping"), "New grouping…", self.dialogs.new_grouping)
        if kind == "course":
            menu.addAction(icon("add"), "Enrol users…", lambda: self.dialogs.open_matrix(courses=[index.data(
                NodeRole).id]))
        if kind in (None, "cohorts", "context", "cohort"):
            menu.addAction(icon("cohort"), "New cohort…", self.dialogs.new_cohort)
        if not menu.isEmpty():
            menu.popup(pos)

    # -- messages ----------------------------------------------------------------------------------------------
    def _show_drop_hint(self, text: str) -> None:
        self.drop_hint.setText(text)
        self.drop_hint.setVisible(bool(text))

    def _show_planning(self, text: str) -> None:
        self.drop_hint.setText(text)
        self.drop_hint.setVisible(bool(text))

    def show_problem(self, problem) -> None:
        from lms_console.services.lms.errors import Cancelled, LmsError

        self._show_planning("")
        if isinstance(problem, Cancelled):
            return
        if isinstance(problem, LmsError):
            self.banner.show_error(problem)
        elif isinstance(problem, str):
            self.banner.show_message("warning", problem)
        else:
            self.banner.show_message("error", getattr(problem, "message", str(problem)),
                                     details=getattr(problem, "hint", ""), title="The local copy cannot be read")


__all__ = ["GroupsPane"]
