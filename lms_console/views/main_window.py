"""The main window: navigation tree, panes, toolbar, jobs dock and status bar.

It assembles panes and routes intents; it owns no data.  Everything it shows
comes from models (session, navigation, overview, jobs) that read the cache.
The status bar and the reactions to the connection state, the sync and problems
are in main_window_status.py (:class:`StatusBarMixin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6 import QtCore
from PySide6.QtCore import QByteArray, QIdentityProxyModel, QModelIndex, QSettings, Signal
from PySide6.QtWidgets import QMainWindow, QSplitter, QStackedWidget, QTreeView, QVBoxLayout, QWidget

from lms_console import __version__
from lms_console.views.main_window_status import StatusBarMixin

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QMessageBox

# Everything else (models, panes, icons, the jobs panel, and the Qt classes of the toolbar, menus,
# docks and status bar: each costs ~0.2-1.5 ms the first time Python touches it) is imported
# by complete() and the builders it calls: the frame paints first, the rest is built in the next turns of the event loop. The Qt namespace
# is reached as QtCore.Qt at call time: loading it creates ~100 enums (~40 ms).

SETTINGS_VERSION = 1
# Ctrl+1..5 go to these panes.
PANE_SHORTCUTS = ("overview", "users", "cohorts", "categories", "reports")


class _IconProxy(QIdentityProxyModel):
    """Turns the navigation model's icon names into QIcons (models stay free of widgets)."""

    def __init__(self, parent=None) -> None:
        from lms_console.models.nav_model import IconRole
        from lms_console.views.icons import icon

        super().__init__(parent)
        self._icon_role, self._icon = IconRole, icon

    def data(self, index: QModelIndex, role: int = 0):  # 0 = DisplayRole, 1 = DecorationRole
        if role == 1:
            name = self.sourceModel().data(self.mapToSource(index), self._icon_role)
            return self._icon(name) if name else None
        return self.sourceModel().data(self.mapToSource(index), role)


# Where the window goes when the node it showed is gone after a rebuild.
_NAV_PARENT = {"filter": "users", "cohort": "cohorts", "category": "categories", "course": "categories"}


def _leave_text_field(widget) -> bool:
    """Esc in an editable text field: clear it (a search), or when it is empty leave it for the next
    widget in the Tab order. False when ``widget`` is not such a field (Esc then means Cancel)."""
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit

    if isinstance(widget, QLineEdit):
        editable = not widget.isReadOnly()
        inside = isinstance(widget.parent(), (QComboBox, QAbstractSpinBox))
    elif isinstance(widget, (QPlainTextEdit, QTextEdit)):
        editable, inside = not widget.isReadOnly(), True  # several lines: never cleared by one key
    elif isinstance(widget, QAbstractSpinBox):
        editable, inside = not widget.isReadOnly(), True
    else:
        return False
    if not editable:
        return False
    if not inside and widget.text():
        widget.clear()
        return True
    nxt = widget.nextInFocusChain()
    while nxt is not widget and not (nxt.isVisible() and nxt.isEnabled()
                                     and nxt.focusPolicy().value & QtCore.Qt.FocusPolicy.TabFocus.value):
        nxt = nxt.nextInFocusChain()
    nxt.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    return True


def _unsaved_changes_text(dialogs: list) -> str:
    """The question: "You have unsaved changes to “jdoe” and 2 other users." (the first dialog's user)."""
    first = f"\u201c{dialogs[0].detail.user.username}\u201d"
    others = len(dialogs) - 1
    if others:
        first += f" and {others} other user{'s' if others > 1 else ''}"
    return f"You have unsaved changes to {first}."


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _pending_work_text(profile: str, *, syncing: bool, sends: list[str], waiting: int) -> str:
    """What quitting leaves undone, in a sentence or two ("" when nothing): "A sync of big is running and
    19,920 changes wait in the outbox: they go out the next time big is open." ``sends``: the labels of the
    sends running ("Apply: <title>", "Send the outbox")."""
    parts = [f"a sync of {profile} is running"] if syncing else []
    applies = [label.removeprefix("Apply: ") for label in sends if label.startswith("Apply: ")]
    if len(applies) == 1:
        parts.append(f"\u201c{applies[0]}\u201d is being sent")
    elif applies:
        parts.append(f"{len(applies)} runs of changes are being sent")
    if len(applies) < len(sends):
        parts.append("the outbox is being sent")
    if waiting:
        parts.append("1 change waits in the outbox" if waiting == 1 else f"{waiting:,} changes wait in the outbox")
    if not parts:
        return ""
    text = _and(parts)
    text = text[0].upper() + text[1:]
    if waiting:
        text += f": {'it goes' if waiting == 1 else 'they go'} out the next time {profile} is open."
    else:
        text += "."
    if sends:
        text += " Quitting stops the sending; the journal shows what went out."
    return text


def _leave_question(edits: str, pending: str, doing: str) -> tuple[str, str, str, str]:
    """(title, text, question, button) of the one question asked before quitting (``doing``: "quit") or opening
    another profile: unsent ``edits`` (their words) and ``pending`` work, either or both."""
    if not edits:
        verb = doing[:1].upper() + doing[1:]
        return verb, pending, f"{verb} anyway?", verb
    if pending:
        return ("Unsaved changes", f"{edits}\n\n{pending}",
                f"Your edits have not been sent to the site. Discard them and {doing} anyway?", "Discard")
    return "Unsaved changes", edits, f"Nothing has been sent to the site. Discard the changes and {doing}?", "Discard"


def _bring_to_front(dialog) -> None:
    """The dialog the admin stays with (it may have been closed meanwhile)."""
    from shiboken6 import isValid

    if isValid(dialog) and dialog.isVisible():
        dialog.raise_()
        dialog.activateWindow()


class MainWindow(StatusBarMixin, QMainWindow):
    """The console's frame.

    Signals:
        profiles_requested(): the user asked for the Profiles dialog.
        profile_switch_requested(str): the user chose another profile in the toolbar.
        theme_change_requested(str): light | dark | system.
    """

    profiles_requested = Signal()
    profile_switch_requested = Signal(str)
    theme_change_requested = Signal(str)

    def __init__(self, session, settings: QSettings, parent: QWidget | None = None, *,
                 deferred: bool = False) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.completed = False
        self._pane_policies: dict = {}  # each pane's own size policy (hidden ones are set to Ignored)
        self._nav_expanded: set[tuple] = set()  # (kind, id) of the tree's open nodes, kept across rebuilds
        self._nav_scroll = 0
        self._discarding = False  # closing after the admin chose to discard unsent edits (close_discarding)
        self._quitting = False  # closing because the admin asked to quit (request_quit)
        self.discard_box: QMessageBox | None = None  # the question of ask_discard_unsent_edits, while open
        self.setWindowTitle("LMS Console")
        self._build_frame()
        if not deferred:
            self.complete()

    def _build_frame(self) -> None:
        """What the first paint shows: the window at its remembered size, its two halves."""
        self.nav = QTreeView()
        self.nav.setObjectName("NavigationTree")
        self.nav.setHeaderHidden(True)
        self.nav.setUniformRowHeights(True)
        self.nav.setMinimumWidth(200)
        self._right = QWidget()
        lay = QVBoxLayout(self._right)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.stack = QStackedWidget()
        self.stack.currentChanged.connect(self._size_to_current_pane)
        self.stack.currentChanged.connect(self._fill_pane_menu)
        lay.addWidget(self.stack, 1)
        self.splitter = QSplitter()  # horizontal; the Qt namespace is loaded after the first paint
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(self.nav)
        self.splitter.addWidget(self._right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 900])
        self.setCentralWidget(self.splitter)
        self._restore_geometry()

    def complete(self) -> None:
        """Build models, panes, docks, menus and the status bar (after the first paint)."""
        if self.completed:
            return
        from lms_console.models.jobs_model import JobsModel
        from lms_console.models.nav_model import NavigationModel
        from lms_console.models.overview_model import OverviewModel
        from lms_console.views.icons import icon

        self.setWindowIcon(icon("app"))
        self.nav_model = NavigationModel(self.session, self)
        self.overview_model = OverviewModel(self.session, self)
        self.jobs_model = JobsModel(self.session.runner, self)
        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._build_menus_and_toolbar()
        self._connect()
        self._restore_state()
        self.completed = True
        self.show_pane("overview")

    # -- construction -----------------------------------------------------------------
    def _build_actions(self) -> None:
        from PySide6.QtGui import QAction, QKeySequence

        from lms_console.views.icons import icon

        self.sync_action = QAction(icon("sync"), "&Sync", self, shortcut=QKeySequence(QtCore.Qt.Key.Key_F5),
                                   statusTip="Bring the local copy up to date with the site (F5)")
        self.cancel_action = QAction(icon("cancel"), "&Cancel", self,
                                     statusTip="Cancel the running sync and jobs (Esc)", enabled=False)
        # Esc is not the Cancel action's shortcut: in a text field it clears or leaves the field, and
        # elsewhere it asks before cancelling (a reflexive Esc must not throw away a long sync).
        self.escape_action = QAction("Escape", self, shortcut=QKeySequence(QtCore.Qt.Key.Key_Escape))
        self.profiles_action = QAction(icon("profile"), "&Profiles…", self,
                                       statusTip="Add, edit and test connection profiles")
        self.test_action = QAction(icon("refresh"), "&Check connection", self,
                                   statusTip="Ask the site whether it answers and what the token can do")
        self.find_action = QAction(icon("search"), "&Find", self, shortcut=QKeySequence.StandardKey.Find)
        # Ctrl+Q (Cmd+Q on macOS) quits from every window of the console (a user properties window too), not
        # only this one; a modal question (the quit question itself, a preview) still blocks it, as it blocks
        # this window. Spelled out: StandardKey.Quit has no key on Windows (nor without a desktop theme).
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence("Ctrl+Q"),
                                   shortcutContext=QtCore.Qt.ShortcutContext.ApplicationShortcut)
        self.about_action = QAction(icon("info"), "&About LMS Console", self)

    def _build_central(self) -> None:
        from lms_console.views.overview_pane import OverviewPane
        from lms_console.views.summary_pane import SummaryPane
        from lms_console.views.widgets.banner import Banner

        self._nav_proxy = _IconProxy(self)
        self._nav_proxy.setSourceModel(self.nav_model)
        self.nav.setModel(self._nav_proxy)
        self.banner = Banner()
        self._right.layout().insertWidget(0, self.banner)
        self.overview = OverviewPane()
        self.summary = SummaryPane()
        self._panes = {"overview": self.overview, "summary": self.summary}
        for pane in self._panes.values():
            self.stack.addWidget(pane)
        self._size_to_current_pane()

    def _build_docks(self) -> None:
        from PySide6.QtWidgets import QDockWidget

        from lms_console.views.jobs_panel import JobsPanel

        self.jobs_panel = JobsPanel(self.session.runner, self.jobs_model)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("JobsDock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
        self.jobs_dock.hide()

    def _build_menus_and_toolbar(self) -> None:
        from PySide6.QtGui import QAction, QActionGroup, QKeySequence
        from PySide6.QtWidgets import QComboBox, QLabel, QToolBar

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.profiles_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view = menu.addMenu("&View")
        self.pane_actions: dict[str, QAction] = {}
        titles = {"overview": "Overview", "users": "Users", "cohorts": "Cohorts", "categories": "Courses",
                  "reports": "Reports"}
        for n, key in enumerate(PANE_SHORTCUTS, start=1):
            act = QAction(titles[key], self, shortcut=QKeySequence(f"Ctrl+{n}"))
            act.triggered.connect(lambda _=False, k=key: self.go_to(k))
            view.addAction(act)
            self.pane_actions[key] = act
        view.addSeparator()
        view.addAction(self.jobs_dock.toggleViewAction())
        theme_menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            act = QAction(label, self, checkable=True)
            act.triggered.connect(lambda _=False, n=name: self.theme_change_requested.emit(n))
            group.addAction(act)
            theme_menu.addAction(act)
            self.theme_actions[name] = act

        self.pane_menu = menu.addMenu("&Actions")  # the shown pane's commands (toolbar buttons take no focus)
        self._fill_pane_menu()

        site = menu.addMenu("&Site")
        site.addAction(self.sync_action)
        site.addAction(self.cancel_action)
        site.addAction(self.test_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

        tb = QToolBar("Main", self)
        tb.setObjectName("MainToolBar")
        tb.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.sync_action)
        tb.addAction(self.cancel_action)
        tb.addSeparator()
        tb.addWidget(QLabel(" Profile: "))
        self.profile_combo = QComboBox()
        self.profile_combo.setObjectName("ProfileSwitcher")
        self.profile_combo.setMinimumWidth(180)
        self.profile_combo.setToolTip("Switch to another connection profile")
        tb.addWidget(self.profile_combo)
        tb.addAction(self.profiles_action)
        self.addToolBar(tb)
        self.addAction(self.find_action)
        self.addAction(self.escape_action)
        self.addAction(self.quit_action)

    def _connect(self) -> None:
        s = self.session
        self.sync_action.triggered.connect(self.request_sync)
        self.cancel_action.triggered.connect(self.cancel_jobs)
        self.escape_action.triggered.connect(self._on_escape)
        self.profiles_action.triggered.connect(self.profiles_requested)
        self.test_action.triggered.connect(s.check_connection)
        self.quit_action.triggered.connect(self.request_quit)
        self.about_action.triggered.connect(self._about)
        self.find_action.triggered.connect(self._find)
        self.profile_combo.activated.connect(
            lambda i: self.profile_switch_requested.emit(self.profile_combo.itemText(i)))
        self.nav.selectionModel().currentChanged.connect(self._on_nav_changed)
        self.nav_model.rebuilding.connect(self._remember_nav_expansion)
        self.nav_model.rebuilt.connect(self._on_nav_rebuilt)
        self.overview_model.loaded.connect(self._on_overview)
        self.jobs_indicator.clicked.connect(self._show_jobs)
        self.connection_indicator.clicked.connect(self._on_connection_clicked)
        s.opened.connect(self._on_opened)
        s.closed.connect(self._on_closed)
        s.state_changed.connect(self._on_state)
        s.site_changed.connect(self.overview.show_site)
        s.sync_started.connect(self._on_sync_started)
        s.sync_finished.connect(self._on_sync_finished)
        s.problem_occurred.connect(self.show_problem)
        s.problem_occurred.connect(lambda exc: self.overview.show_problem(exc, s.is_open and s.capabilities is None))
        s.runner.busy_changed.connect(self.cancel_action.setEnabled)
        s.runner.job_changed.connect(self._on_job_changed)

    # -- settings ---------------------------------------------------------------------
    def _valid_settings(self) -> bool:
        return int(self.settings.value("window/version", 0) or 0) == SETTINGS_VERSION

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry") if self._valid_settings() else None
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        splitter = self.settings.value("window/splitter") if self._valid_settings() else None
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)

    def _restore_state(self) -> None:
        state = self.settings.value("window/state") if self._valid_settings() else None
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_settings(self) -> None:
        if not self.completed:
            return
        st = self.settings
        st.setValue("window/version", SETTINGS_VERSION)
        st.setValue("window/geometry", self.saveGeometry())
        st.setValue("window/state", self.saveState())
        st.setValue("window/splitter", self.splitter.saveState())
        st.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Closing the window quits the console (its close button, File > Quit, Ctrl+Q): with user dialogs
        holding unsent edits the window asks first and stays open; when the admin quits (File > Quit, Ctrl+Q, the
        close button: a spontaneous close) that one question also names the sync or send running and the changes
        waiting in the outbox. A close by code (the self-test's shutdown) asks about unsent edits only."""
        admin = self._quitting or event.spontaneous()
        if not self._discarding and self.ask_discard_unsent_edits(
                self.close_discarding, "quit", pending=self.pending_work() if admin else "") is not None:
            event.ignore()
            return
        self.save_settings()
        super().closeEvent(event)

    def request_quit(self) -> bool:
        """File > Quit, Ctrl+Q: close the window (and so the console), asking first (see :meth:`closeEvent`)."""
        self._quitting = True
        try:
            return self.close()
        finally:
            self._quitting = False

    def close_discarding(self) -> bool:
        """Close (quit) without asking: open user dialogs drop their unsent edits and close (quitting closes
        every window, and they would ask on their own)."""
        self.discard_unsent_edits()
        self._discarding = True
        try:
            return self.close()
        finally:
            self._discarding = False

    def pending_work(self) -> str:
        """What quitting now would leave undone (a sync or a send running, changes waiting in the outbox), in
        words for the quit question; "" when nothing (or no profile is open, or the window is not shown)."""
        from lms_console.models.journal_model import sends_running

        s = self.session
        if not (self.completed and s.is_open and self.isVisible()):
            return ""
        return _pending_work_text(s.profile.name, syncing=s.syncing, waiting=self.outbox_indicator.count(),
                                  sends=[job.label for job in sends_running(s.runner)])

    # -- unsent edits in user dialogs --------------------------------------------------------
    def dialogs_with_unsent_edits(self) -> list:
        """The user properties dialogs open on this window whose edits never went to the preview, in the
        order they were opened."""
        from lms_console.views.dialogs.user_dialog import UserDialog

        dialogs = self.findChildren(UserDialog, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
        return [d for d in dialogs if d.isVisible() and d.unsent_edits()]

    def discard_unsent_edits(self) -> None:
        """Close the user dialogs with unsent edits without asking: the edits are dropped."""
        for dialog in self.dialogs_with_unsent_edits():
            dialog.discard()

    def ask_discard_unsent_edits(self, then: Callable[[], object], doing: str,
                                 pending: str = "") -> QMessageBox | None:
        """Before ``then`` (quitting, opening another profile) closes user dialogs whose edits never went to
        the preview, or leaves ``pending`` work undone (its words: :meth:`pending_work`), ask once (non-blocking)
        and return the question; None, and nothing asked, when there is neither (the caller goes on). Discard
        (Quit, with no edits) closes those dialogs, then calls ``then``; Cancel (the default, and Esc's) calls
        nothing and brings the first such dialog to the front. ``doing`` ends the question: "quit", "open
        “Other”". A question already open is brought to the front instead (its own ``then`` stays)."""
        from PySide6.QtWidgets import QMessageBox

        dialogs = self.dialogs_with_unsent_edits()
        if not dialogs and not pending:
            return None
        from lms_console.views.widgets.question import ask

        title, text, question, yes = _leave_question(_unsaved_changes_text(dialogs) if dialogs else "", pending, doing)
        first = dialogs[0] if dialogs else None
        R = QMessageBox.ButtonRole
        return ask(self, "discard_box", title=title, text=text, info=question,
                   name="DiscardUnsentEditsQuestion" if dialogs else "PendingWorkQuestion",
                   answers=((yes, R.DestructiveRole, lambda: (self.discard_unsent_edits(), then()), True),
                            ("Cancel", R.RejectRole, lambda: first is not None and _bring_to_front(first), True)),
                   default="Cancel", escape="Cancel")

    # -- public API ---------------------------------------------------------------------
    def set_profiles(self, names: list[str], current: str | None) -> None:
        self.profile_combo.blockSignals(True)
        self.profile_combo.clear()
        self.profile_combo.addItems(names)
        if current in names:
            self.profile_combo.setCurrentIndex(names.index(current))
        self.profile_combo.blockSignals(False)

    def set_theme_choice(self, name: str) -> None:
        if name in self.theme_actions:
            self.theme_actions[name].setChecked(True)

    def register_pane(self, key: str, pane: QWidget) -> None:
        """Add a pane for navigation targets of kind ``key`` (users, cohorts, course, ...)."""
        self._panes[key] = pane
        self.stack.addWidget(pane)
        self._size_to_current_pane()

    def _size_to_current_pane(self, *_args) -> None:
        """Only the pane shown sets the window's minimum size: a stack is as wide as its widest page,
        and a hidden pane (a wide one, a large font) would keep the window from being made smaller."""
        from PySide6.QtWidgets import QSizePolicy

        current = self.stack.currentWidget()
        for n in range(self.stack.count()):
            page = self.stack.widget(n)
            own = self._pane_policies.setdefault(page, page.sizePolicy())
            if page is current:
                page.setSizePolicy(own)
            else:
                page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def _fill_pane_menu(self, *_args) -> None:
        """The Actions menu holds the shown pane's commands only (their keys then belong to that pane)."""
        menu = getattr(self, "pane_menu", None)
        if menu is None:
            return
        for action in menu.actions():  # not clear(): PySide deletes the actions with it, and they are the pane's
            menu.removeAction(action)
            if action.isSeparator():
                action.deleteLater()
        pane = self.stack.currentWidget()
        actions = pane.menu_actions() if hasattr(pane, "menu_actions") else []
        for action in actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.menuAction().setEnabled(bool(actions))

    def show_pane(self, key: str) -> QWidget:
        pane = self._panes.get(key, self.summary)
        self.stack.setCurrentWidget(pane)
        return pane

    def go_to(self, kind: str) -> None:
        idx = self.nav_model.find(kind)
        if idx.isValid():
            self.nav.setCurrentIndex(self._nav_proxy.mapFromSource(idx))
        elif kind == "overview":
            self.show_pane("overview")

    def current_target(self):
        from lms_console.models.nav_model import TargetRole

        idx = self.nav.currentIndex()
        return idx.data(TargetRole) if idx.isValid() else None

    def request_sync(self) -> None:
        if not self.session.is_open:
            self.banner.show_message("info", "Open a connection profile first (File > Profiles…).")
            return
        if self.session.syncing:
            return
        self.session.sync()

    def cancel_jobs(self) -> None:
        self.session.runner.cancel_all()

    def _on_escape(self) -> None:
        from PySide6.QtWidgets import QApplication

        if _leave_text_field(QApplication.focusWidget()):
            return
        if self.cancel_action.isEnabled():
            self.ask_cancel_jobs()

    def ask_cancel_jobs(self) -> QMessageBox | None:
        """Ask before cancelling what runs (Esc); returns the question (a QMessageBox), or None when
        only background reads run: those are cancelled at once."""
        from PySide6.QtWidgets import QMessageBox

        runner = self.session.runner
        shown = [j for j in runner.running() if not j.quiet]
        if self.session.syncing:
            text = "Cancel the sync? What was fetched is kept."
        elif shown:
            text = f"Cancel {', '.join(j.label for j in shown[:3])}{'…' if len(shown) > 3 else ''}?"
        else:
            self.cancel_jobs()
            return None
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        box = QMessageBox(QMessageBox.Icon.Question, "Cancel", text, buttons, self)
        box.setObjectName("CancelJobsQuestion")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(self.cancel_jobs)
        box.open()
        return box

    # -- reactions ----------------------------------------------------------------------
    def _on_opened(self, profile) -> None:
        self.banner.clear()
        self.overview.show_profile(profile)  # forgets the last profile's capabilities
        if self.session.site is not None:  # what this profile's site said last time (its own cache)
            self.overview.show_site(self.session.site, self.session.capabilities)
        self.setWindowTitle(f"{profile.name} — LMS Console")
        self.go_to("overview")

    def _on_closed(self) -> None:
        self._nav_expanded = set()  # the next profile's tree opens as new (its ids are others)
        self.overview.show_profile(None)
        self.setWindowTitle("LMS Console")
        self.freshness_label.set_times({})

    def _on_overview(self, data) -> None:
        self.overview.show_overview(data)
        self.freshness_label.set_times({k: (v.last_success_at or None) for k, v in data.freshness.items()})
        self.summary.set_counts(data.counts)

    def _on_nav_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        from lms_console.models.nav_model import NavTarget, TargetRole

        target = current.data(TargetRole) if current.isValid() else None
        if not isinstance(target, NavTarget):
            return  # the tree is being rebuilt (or nothing is selected): keep the pane shown
        self._nav_before = target  # re-selected after the next rebuild
        pane = self.show_pane(target.kind)
        if hasattr(pane, "show_target"):
            pane.show_target(target)

    def _remember_nav_expansion(self) -> None:
        """The tree is about to be rebuilt (a sync, an applied change): note which nodes are open."""
        from lms_console.models.nav_model import NavTarget, TargetRole

        expanded, stack = set(), [QModelIndex()]
        while stack:
            parent = stack.pop()
            for row in range(self._nav_proxy.rowCount(parent)):
                index = self._nav_proxy.index(row, 0, parent)
                target = index.data(TargetRole)
                if isinstance(target, NavTarget) and self._nav_proxy.hasChildren(index) \
                        and self.nav.isExpanded(index):
                    expanded.add((target.kind, target.id))
                    stack.append(index)
        self._nav_expanded = expanded
        self._nav_scroll = self.nav.verticalScrollBar().value()

    def _restore_nav_expansion(self) -> None:
        """The nodes open before the rebuild are open again (a new tree: only the site's), at the same
        scroll position: the admin's place in the tree survives a sync or an applied change."""
        self.nav.expandToDepth(0)
        for kind, ident in self._nav_expanded:
            idx = self.nav_model.find(kind, ident)
            if idx.isValid():
                self.nav.expand(self._nav_proxy.mapFromSource(idx))
        if self._nav_expanded:
            self.nav.verticalScrollBar().setValue(self._nav_scroll)

    def _on_nav_rebuilt(self) -> None:
        self._restore_nav_expansion()
        before = getattr(self, "_nav_before", None)
        if before is not None:
            idx = self.nav_model.find(before.kind, before.id)
            if idx.isValid():
                # Re-select without switching panes: the pane already shows this target (or a
                # pane opened from it, such as the journal after an apply).
                self.nav.selectionModel().blockSignals(True)
                self.nav.setCurrentIndex(self._nav_proxy.mapFromSource(idx))
                self.nav.selectionModel().blockSignals(False)
                return
            parent = _NAV_PARENT.get(before.kind)
            if parent is not None and self.nav_model.find(parent).isValid():
                self.go_to(parent)  # what was shown is gone (a deleted filter, cohort, course)
                return
        if not self.nav.currentIndex().isValid():
            self.go_to("overview")

    def _show_jobs(self) -> None:
        self.jobs_dock.show()
        self.jobs_dock.raise_()

    def _find(self) -> None:
        pane = self.stack.currentWidget()
        if hasattr(pane, "focus_search"):
            pane.focus_search()
        else:
            self.go_to("users")

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        from lms_console.views import theme

        box = QMessageBox(QMessageBox.Icon.Information, "About LMS Console",
                          f"LMS Console {__version__}\nA desktop workbench for LMS administrators.\n"
                          f"Theme: {theme.current_theme()}", parent=self)
        box.open()
