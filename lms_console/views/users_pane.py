"""The users pane: every cached account in a lazy table, type-ahead search, structured filters
read as a sentence, saved filters, bulk actions, export, and the doors to the user's properties,
a new user, the access check and the import.

Everything it shows comes from UsersTableModel (SQL windows over the cache); everything it
changes goes through UsersActions to the change engine, which opens the preview.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.nav_model import NavTarget
from lms_console.models.users_actions import UsersActions
from lms_console.models.users_model import UsersTableModel
from lms_console.services import users_query as Q
from lms_console.services.users_query import UserFilter
from lms_console.views import theme
from lms_console.views.dialogs.bulk_action_dialog import BULK_LABELS, BulkActionDialog
from lms_console.views.icons import icon
from lms_console.views.widgets.banner import Banner
from lms_console.views.widgets.empty_state import empty_state_label
from lms_console.views.widgets.export_progress import ExportProgress
from lms_console.views.widgets.filter_bar import FilterBar
from lms_console.views.widgets.item_menu import install_item_menu
from lms_console.views.widgets.users_table import (
    DEFAULT_WIDTH,
    WIDTHS,
    DraggableUsersTable,
    row_icon,
    setup_users_table,
)

SETTINGS_PREFIX = "users/views"
class UsersPane(QWidget):
    """The "users" and "filter" pane of the main window.

    Signals:
        user_open_requested(int): open this user's properties (Enter, double-click, menu).
        new_user_requested(): the admin clicked New user.
        access_check_requested(object): a user id (or None) to check "why can't they get in?".
        import_requested(): the admin clicked Import… (CSV/XLSX import lives elsewhere).
        filter_saved(int, str): a filter was saved as a navigation node (id, name).
        filters_changed(): saved filters were added, renamed or deleted.
    """

    user_open_requested = Signal(int)
    new_user_requested = Signal()
    access_check_requested = Signal(object)
    import_requested = Signal()
    filter_saved = Signal(int, str)
    filters_changed = Signal()

    def __init__(self, session, engine, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Pane")
        self.session = session
        self.engine = engine
        self.settings = settings
        self.model = UsersTableModel(session, self, icons=row_icon, colours=theme.color)
        self.actions = UsersActions(session, engine, self.model, self)
        self.view_key = "users"
        self.target: NavTarget | None = None
        self.saved_filter_id: int | None = None
        self._dialog = None
        self._collecting = False  # the ids of "everything the filter matches" are being read
        self._kept: tuple[set[int], bool] = (set(), False)
        self._build()
        self._connect()
        self._refresh_icons()
        self._apply_widths()
        self._update_actions()

    # -- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.title = QLabel("Users")
        self.title.setObjectName("PaneTitle")
        self.subtitle = QLabel("Every account in the local copy of the site.")
        self.subtitle.setObjectName("PaneSubtitle")
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        head.addLayout(titles, 1)
        layout.addLayout(head)

        self.toolbar = QToolBar("Users")
        self.toolbar.setObjectName("UsersToolBar")
        self.toolbar.setIconSize(QSize(18, 18))
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        # Toolbar buttons take no focus: each command also has a key and is in the window's Actions
        # menu (menu_actions), with a mnemonic there.
        self.new_action = self.toolbar.addAction("&New user", self.new_user_requested.emit)
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_action.setToolTip("Create an account on the site (previewed before it is sent) (Ctrl+N)")
        self.bulk_button = QToolButton()
        self.bulk_button.setObjectName("BulkActionsButton")
        self.bulk_button.setText("Bulk actions")
        self.bulk_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.bulk_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.bulk_menu = QMenu("&Bulk actions", self.bulk_button)
        self.bulk_actions: dict[str, QAction] = {}
        for key, label in BULK_LABELS.items():
            if key == "delete":
                self.bulk_menu.addSeparator()
            self.bulk_actions[key] = self.bulk_menu.addAction(label, lambda k=key: self.bulk(k))
        self.bulk_button.setMenu(self.bulk_menu)
        self.toolbar.addWidget(self.bulk_button)
        self.toolbar.addSeparator()
        self.export_action = self.toolbar.addAction("&Export…", self.export)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setToolTip("Save this view (filter, sort order, columns) as CSV or Excel (Ctrl+E)")
        self.access_action = self.toolbar.addAction("A&ccess check…", self.request_access_check)
        self.access_action.setToolTip("Why can't a user get in? Checks the account and, optionally, a course")
        self.import_action = self.toolbar.addAction("&Import…", self.import_requested.emit)
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.import_action.setToolTip("Create or update users from a CSV or Excel file, with a dry run first "
                                      "(Ctrl+I)")
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        self.toolbar.addWidget(spacer)
        self.view_button = QToolButton()
        self.view_button.setObjectName("ViewMenuButton")
        self.view_button.setText("View")
        self.view_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.view_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.view_menu = QMenu(self.view_button)
        self.columns_menu = self.view_menu.addMenu("Columns")
        self.columns_menu.aboutToShow.connect(lambda: self._fill_columns_menu(self.columns_menu))
        self.view_menu.addAction("Reset columns", self.reset_columns)
        self.view_menu.addSeparator()
        self.rename_filter_action = self.view_menu.addAction("Rename saved filter…", self.rename_saved_filter)
        self.delete_filter_action = self.view_menu.addAction("Delete saved filter", self.delete_saved_filter)
        self.view_button.setMenu(self.view_menu)
        self.toolbar.addWidget(self.view_button)
        layout.addWidget(self.toolbar)

        self.filter_bar = FilterBar()
        layout.addWidget(self.filter_bar)
        self.banner = Banner()
        layout.addWidget(self.banner)

        # Rows dragged from here land on cohorts, groups and courses (the groups pane).
        self.table = DraggableUsersTable("users")
        setup_users_table(self.table, "UsersTable")
        self.table.setAccessibleName("Users")
        self.table.setModel(self.model)
        self.table.drag_note.connect(lambda text: self.banner.show_message("info", text))
        self.table.delete_pressed.connect(lambda: self.bulk("delete"))  # previewed, never sent at once
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(150)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        # No rows: a sentence says why, where the table would be.
        self.empty_label = empty_state_label()
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty_label)
        layout.addWidget(self.table_stack, 1)

        self.open_action = QAction("Open", self.table, shortcut=QKeySequence(Qt.Key.Key_Return),
                                   shortcutContext=Qt.ShortcutContext.WidgetShortcut)
        self.open_action.triggered.connect(self.open_current)
        enter = QAction(self.table, shortcut=QKeySequence(Qt.Key.Key_Enter),
                        shortcutContext=Qt.ShortcutContext.WidgetShortcut)
        enter.triggered.connect(self.open_current)
        self.table.addActions([self.open_action, enter])

        self.export_progress = ExportProgress(self.session.runner, "users")
        self.export_progress.finished.connect(self._on_export_finished)
        layout.addWidget(self.export_progress)

    def _connect(self) -> None:
        m = self.model
        self.filter_bar.spec_changed.connect(self._on_spec)
        self.filter_bar.save_requested.connect(self.ask_save_filter)
        m.described.connect(self.filter_bar.set_sentence)
        m.counted.connect(lambda _n: self._update_count())
        m.loaded.connect(self._update_count)
        m.options_loaded.connect(self.filter_bar.set_options)
        m.failed.connect(self._on_failed)
        m.columns_changed.connect(lambda _c: self._apply_widths())
        m.modelAboutToBeReset.connect(self._remember_selection)
        m.modelReset.connect(self._restore_selection)
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._update_actions())
        self.table.doubleClicked.connect(lambda index: self._open_row(index.row()))
        install_item_menu(self.table, self._context_menu)
        self.table.horizontalHeader().customContextMenuRequested.connect(self._header_menu)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._on_sort)
        self.actions.filter_saved.connect(self.filter_saved)
        self.actions.filter_saved.connect(self._on_filter_saved)
        self.actions.filters_changed.connect(self.filters_changed)
        self.actions.problem.connect(self._on_failed)
        self.actions.collecting.connect(self._on_collecting)
        if self.engine is not None:
            self.engine.changes_applied.connect(m.on_changes_applied)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)

    def _apply_widths(self) -> None:
        header = self.table.horizontalHeader()
        for n, key in enumerate(self.model.columns):
            # At least as wide as the header's text (with the sort arrow): "Authentication", not "Authenticat".
            header.resizeSection(n, max(WIDTHS.get(key, DEFAULT_WIDTH), header.sectionSizeFromContents(n).width()))

    def _refresh_icons(self, *_args) -> None:
        self.model.clear_style_cache()
        self.new_action.setIcon(icon("add"))
        self.bulk_button.setIcon(icon("users"))
        self.export_action.setIcon(icon("export"))
        self.access_action.setIcon(icon("details"))
        self.import_action.setIcon(icon("upload"))
        self.view_button.setIcon(icon("settings"))

    def menu_actions(self) -> list[QAction | None]:
        """The pane's commands for the window's Actions menu (None: a separator)."""
        return [self.new_action, self.bulk_menu.menuAction(), None, self.export_action, self.access_action,
                self.import_action]

    # -- navigation -------------------------------------------------------------------------------
    def show_target(self, target: NavTarget) -> None:
        """Show the Users node (everyone) or a filter node (default or saved)."""
        if target == self.target and self.model.is_active():
            return  # the same node again (the tree was rebuilt): keep the search and conditions
        self.save_view_settings()
        self._forget_selection()
        self.target = target
        self.saved_filter_id = None
        self.banner.clear()
        if target.kind == "filter" and isinstance(target.id, str) and target.id.startswith("saved:"):
            self.saved_filter_id = int(target.id.split(":", 1)[1])
            self.view_key = f"filter/{target.id}"
            self.subtitle.setText(f"Saved filter: {target.label}")
            self.actions.load_saved_filter(self.saved_filter_id, self._on_saved_filter)
        elif target.kind == "filter":
            spec = Q.DEFAULT_FILTER_SPECS.get(str(target.id), UserFilter())
            self.view_key = f"filter/{target.id}"
            self.subtitle.setText(f"Filter: {target.label}")
            self._show(spec)
        else:
            self.view_key = "users"
            self.subtitle.setText("Every account in the local copy of the site.")
            self._show(UserFilter())
        self._update_actions()

    def show_users(self, ids, title: str) -> None:
        """Show exactly these users (handed over by another pane, e.g. a report's drill-down),
        ready for a bulk action; the filter bar names where they came from."""
        from lms_console.services.users_query import Condition

        ids = tuple(sorted({int(i) for i in ids}))
        if not ids:
            self.banner.show_message("info", f"{title}: no users to show.")
            return
        self.save_view_settings()
        self._forget_selection()
        self.saved_filter_id = None
        self.banner.clear()
        self.view_key = "users"
        self.subtitle.setText(f"{len(ids):,} users from {title}")
        self._show(UserFilter("", (Condition("users", "in", ids, key=title),)))
        self._update_actions()

    def forget_view(self) -> None:
        """Another profile: its users are others, so the search and conditions typed here go (saved
        filters belong to each profile's cache); the next node shown is queried afresh."""
        self.target = None
        self.saved_filter_id = None
        self.view_key = "users"
        self.subtitle.setText("Every account in the local copy of the site.")
        self.banner.clear()
        self._forget_selection()
        self.filter_bar.set_spec(UserFilter())
        if self.model.is_active():  # else the next show_target sets it
            self.model.set_filter(UserFilter())

    def _on_saved_filter(self, saved) -> None:
        if saved is None:
            self.banner.show_message("warning", "This saved filter no longer exists; showing every user.")
            self._show(UserFilter())
            return
        if saved.problem:
            self.banner.show_message("warning", f"The saved filter “{saved.name}” cannot be read: {saved.problem}. "
                                                "Showing every user; save the filter again to repair it.")
        self._show(saved.spec)

    def _show(self, spec: UserFilter) -> None:
        columns, sort, desc = self.view_settings()
        self.filter_bar.set_spec(spec)
        if not self.model.options.auths:
            self.model.load_options()
        self.model.show(spec, columns, sort, desc)
        self._sync_sort_indicator()

    def focus_search(self) -> None:
        self.filter_bar.focus_search()

    # -- per-view settings (QSettings of the window) ------------------------------------------------
    def view_settings(self) -> tuple[list[str], str | None, bool]:
        if self.settings is None:
            return list(self.model.columns), None, False
        base = f"{SETTINGS_PREFIX}/{self.view_key}"
        raw = self.settings.value(f"{base}/columns", "")
        cols = [c for c in (raw if isinstance(raw, list) else str(raw or "").split(",")) if c]
        sort = self.settings.value(f"{base}/sort", "") or None
        desc = str(self.settings.value(f"{base}/descending", "false")).lower() in ("true", "1")
        return cols or list(Q.DEFAULT_COLUMNS), sort, desc

    def save_view_settings(self) -> None:
        if self.settings is None or not self.model.is_active():
            return
        base = f"{SETTINGS_PREFIX}/{self.view_key}"
        self.settings.setValue(f"{base}/columns", ",".join(self.model.columns))
        self.settings.setValue(f"{base}/sort", self.model.sort_key)
        self.settings.setValue(f"{base}/descending", self.model.descending)

    def set_columns(self, keys) -> None:
        self.model.set_columns(keys)
        self._sync_sort_indicator()
        self.save_view_settings()

    def reset_columns(self) -> None:
        self.set_columns(Q.DEFAULT_COLUMNS)

    def _fill_columns_menu(self, menu: QMenu) -> None:
        menu.clear()
        shown = list(self.model.columns)
        custom_started = False
        for key, title in self.model.available_columns():
            if key.startswith(Q.CUSTOM_PREFIX) and not custom_started:
                menu.addSection("Custom profile fields")
                custom_started = True
            act = menu.addAction(title.replace("&", "&&"))
            act.setCheckable(True)
            act.setChecked(key in shown)
            act.setEnabled(not (key in shown and len(shown) == 1))
            act.toggled.connect(lambda on, k=key: self._toggle_column(k, on))

    def _toggle_column(self, key: str, on: bool) -> None:
        cols = [c for c in self.model.columns if c != key]
        if on:
            cols.append(key)
        self.set_columns(cols)

    def _header_menu(self, pos) -> None:
        menu = QMenu(self)
        self._fill_columns_menu(menu.addMenu("Columns"))
        menu.addAction("Reset columns", self.reset_columns)
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))

    def _on_sort(self, section: int, order: Qt.SortOrder) -> None:
        if 0 <= section < len(self.model.columns):
            self.model.set_sort(self.model.columns[section], order == Qt.SortOrder.DescendingOrder)
            self.save_view_settings()

    def _sync_sort_indicator(self) -> None:
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        cols = self.model.columns
        order = Qt.SortOrder.DescendingOrder if self.model.descending else Qt.SortOrder.AscendingOrder
        header.setSortIndicator(cols.index(self.model.sort_key) if self.model.sort_key in cols else -1, order)
        header.blockSignals(False)

    # -- reactions -------------------------------------------------------------------------------------
    def _on_spec(self, spec: UserFilter) -> None:
        self.model.set_filter(spec)

    def _update_count(self) -> None:
        self.filter_bar.set_count(self.model.total(), counting=self.model.is_counting(),
                                  selected=self.selected_count())
        self._update_actions()

    def _on_failed(self, problem) -> None:
        if hasattr(problem, "code") and hasattr(problem, "hint"):  # an LmsError
            self.banner.show_error(problem)
            return
        text = getattr(problem, "message", None) or str(problem)
        self.banner.show_message("error" if not isinstance(problem, str) else "warning", text)

    def _on_collecting(self, busy: bool) -> None:
        self._collecting = busy
        self.bulk_button.setEnabled(not busy and self.model.total() > 0)
        self.filter_bar.count.setText("Reading the matching users…" if busy else self.filter_bar.count.text())
        if not busy:
            self._update_count()

    def _forget_selection(self) -> None:
        """Another list is shown (another node, a report's users, another profile): what was selected
        belongs to the list before, so it goes, as in a file manager that changes folders. A bulk action
        then defaults to what the admin sees (the filter), never to rows chosen elsewhere."""
        self._kept = (set(), 0)
        self.table.selectionModel().clear()

    def _remember_selection(self) -> None:
        ids = {self.model.user_id(r) for first, last in self.selected_ranges() if last - first < 1000
               for r in range(first, last + 1)}
        self._kept = ({i for i in ids if i is not None}, self.table.verticalScrollBar().value())

    def _restore_selection(self) -> None:
        ids, scroll = self._kept
        self._kept = (set(), 0)
        if not ids:
            return
        sel = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(min(self.model.rowCount(), self.model.PAGE_SIZE)):
            if self.model.user_id(row) in ids:
                sel.select(self.model.index(row, 0), flags)

    # -- selection -------------------------------------------------------------------------------------
    def selected_ranges(self) -> list[tuple[int, int]]:
        return self.table.selected_ranges()

    def selected_count(self) -> int:
        return sum(last - first + 1 for first, last in self.selected_ranges())

    def current_user_id(self) -> int | None:
        index = self.table.currentIndex()
        if index.isValid() and self.table.selectionModel().isRowSelected(index.row()):
            return self.model.user_id(index.row())
        ranges = self.selected_ranges()
        return self.model.user_id(ranges[0][0]) if ranges else None

    def _update_actions(self) -> None:
        has_rows = self.model.total() > 0
        for act in self.bulk_actions.values():
            act.setEnabled(has_rows)
        self.bulk_button.setEnabled(has_rows and not self._collecting)
        self._show_empty_state(not has_rows and not self.model.is_counting() and not self.model.is_loading())
        self.export_action.setEnabled(has_rows and not self.export_progress.busy)
        saved = self.saved_filter_id is not None
        self.rename_filter_action.setEnabled(saved)
        self.delete_filter_action.setEnabled(saved)
        self.filter_bar.set_count(self.model.total(), counting=self.model.is_counting(),
                                  selected=self.selected_count())

    def _show_empty_state(self, empty: bool) -> None:
        if empty:
            if self.session.db is None:
                text = "Open a connection profile to see its users."
            elif self.model.spec.is_empty:
                text = "There are no users in the local copy yet: sync the site to read its accounts."
            else:
                text = "No users match this search and these filters. Remove a condition or clear the search."
            self.empty_label.setText(text)
        self.table_stack.setCurrentWidget(self.empty_label if empty else self.table)

    # -- opening users ---------------------------------------------------------------------------------
    def open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self._open_row(index.row())

    def _open_row(self, row: int) -> None:
        uid = self.model.user_id(row)
        if uid is not None:
            self.user_open_requested.emit(uid)

    def request_access_check(self) -> None:
        self.access_check_requested.emit(self.current_user_id())

    def _context_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid() and not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                               | QItemSelectionModel.SelectionFlag.Rows)
            self.table.setCurrentIndex(index)
        menu = self.context_menu()
        menu.popup(pos)

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        n = self.selected_count()
        one = n == 1
        menu.addAction(icon("details"), "Open properties", self.open_current).setEnabled(one)
        menu.addAction("Why can't they get in?…", self.request_access_check).setEnabled(one)
        menu.addSeparator()
        for key, label in BULK_LABELS.items():
            if key == "delete":
                menu.addSeparator()
            menu.addAction(label, lambda k=key: self.bulk(k)).setEnabled(n > 0)
        menu.addSeparator()
        menu.addAction(icon("copy"), "Copy usernames", lambda: self.copy_column("username")).setEnabled(n > 0)
        menu.addAction("Copy email addresses", lambda: self.copy_column("email")).setEnabled(n > 0)
        return menu

    def copy_column(self, key: str) -> None:
        """Copy the loaded selected rows' ``key`` column (shown columns only) to the clipboard."""
        if key not in self.model.columns:
            self.banner.show_message("info", f"Show the {Q.column(key).title} column to copy it.")
            return
        col = self.model.columns.index(key)
        values = []
        for first, last in self.selected_ranges():
            for r in range(first, min(last, first + 10_000) + 1):
                data = self.model.row_data(r)
                if data is not None:
                    values.append(str(data[2][col] or ""))
        QGuiApplication.clipboard().setText("\n".join(values))

    # -- bulk actions ------------------------------------------------------------------------------------
    def bulk(self, action: str) -> BulkActionDialog:
        """Ask how (scope, cohort, course...) and then plan ``action``; the preview follows."""
        if self._dialog is not None:
            self._dialog.close()
        dialog = BulkActionDialog(action, selected=self.selected_count(), matching=self.model.total(),
                                  description=self.model.description, options=self.model.options,
                                  actions=self.actions, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.confirmed.connect(self._run_bulk)
        dialog.switch_requested.connect(self.bulk)
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_dialog(d))
        self._dialog = dialog
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog) -> None:
        if self._dialog is dialog:
            self._dialog = None

    def _run_bulk(self, action: str, scope: str, params: dict, names: dict) -> None:
        ranges = self.selected_ranges() if scope == "selection" else None
        self.actions.plan_bulk(action, ranges=ranges, params=params, names=names)

    # -- saved filters --------------------------------------------------------------------------------------
    def ask_save_filter(self) -> QInputDialog:
        default = self.target.label if self.saved_filter_id is not None and self.target else self.model.description
        spec = self.filter_bar.spec()
        return self._ask_name("Save filter",
                              "Name in the navigation tree (a saved filter of the same name is replaced):",
                              default[:100], lambda name: self.actions.save_filter(name, spec))

    def _on_filter_saved(self, filter_id: int, name: str) -> None:
        self.banner.show_notice(f"Saved “{name}”: it is listed under Users in the navigation tree.")

    def rename_saved_filter(self) -> QInputDialog | None:
        if self.saved_filter_id is None:
            return None
        fid = self.saved_filter_id
        return self._ask_name("Rename saved filter", "New name:", self.target.label if self.target else "",
                              lambda name: self.actions.rename_filter(fid, name))

    def _ask_name(self, title: str, label: str, text: str, on_name) -> QInputDialog:
        dialog = QInputDialog(self)
        dialog.setWindowTitle(title)
        dialog.setLabelText(label)
        dialog.setTextValue(text)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.textValueSelected.connect(on_name)
        dialog.open()
        return dialog

    def delete_saved_filter(self) -> None:
        if self.saved_filter_id is not None:
            self.actions.delete_filter(self.saved_filter_id)

    # -- export -----------------------------------------------------------------------------------------------
    def export(self) -> QFileDialog:
        dialog = QFileDialog(self, "Export users", "users.csv", "CSV (*.csv);;Excel workbook (*.xlsx)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_to)
        dialog.open()
        return dialog

    def export_to(self, path: str) -> int | None:
        self.export_progress.start(self.model.export(path, self._on_exported), self.model.total())
        self._update_actions()
        return self.export_progress.job

    def _on_export_finished(self, state: str) -> None:
        if state == "cancelled":
            self.banner.show_notice("Export cancelled.")
        self._update_actions()

    def _on_exported(self, result) -> None:
        if result.error:
            self.banner.show_message("error", result.error, title="Export failed")
        else:
            self.banner.show_notice(f"Exported {result.rows:,} users to {result.path}.")
