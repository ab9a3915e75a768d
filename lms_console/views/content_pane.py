"""The course-content pane: the tree of categories, courses, sections, activities and files, a
details panel, and the upload queue.

Everything it shows comes from the cache (ContentTreeModel, ContentDetailsModel); every change
it asks for goes through the ChangeEngine (preview, apply, journal); drops of files, folders and
links go to the UploadController. The same pane serves the navigation targets "categories"
(everything), "category" (one category) and "course" (one course, its sections at the top).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.content_details import ContentDetailsModel
from lms_console.models.content_model import ContentTreeModel, RefRole
from lms_console.models.content_read import ContentRef
from lms_console.models.nav_model import NavTarget
from lms_console.models.session import Online
from lms_console.models.uploads_model import UploadController
from lms_console.services.changes.model import Status
from lms_console.services.lms.errors import LmsError
from lms_console.services.uploads import Dropped, State
from lms_console.views import theme
from lms_console.views.content_actions import ContentActions
from lms_console.views.content_details import ContentDetailsView
from lms_console.views.content_tree import ContentIconProxy, ContentTreeView
from lms_console.views.content_uploads import UploadQueuePanel
from lms_console.views.icons import icon
from lms_console.views.widgets.banner import Banner
from lms_console.views.widgets.item_menu import install_item_menu

HINT = "Drop files, folders or links onto a section (or onto an activity, to place them after it) to upload them."


class ContentPane(QWidget):
    """The "categories", "category" and "course" pane.

    Views may use models directly: actions plan through the ChangeEngine (whose ``planned``
    signal opens the preview), uploads go to the UploadController.

    Signals: none of its own.
    """

    def __init__(self, session, engine, tree_model: ContentTreeModel, details_model: ContentDetailsModel,
                 uploads: UploadController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Pane")
        self.session, self.engine = session, engine
        self.tree_model, self.details_model, self.uploads = tree_model, details_model, uploads
        self.target: NavTarget | None = None
        self._keep: set[tuple[str, int]] = set()  # rows to expand again once they are back
        self._keep_current: tuple[str, int] | None = None
        self._refresh_after: set[int] = set()
        self._duplicate_jobs: dict[int, str] = {}
        self.actions = ContentActions(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        self.title = QLabel("Courses")
        self.title.setObjectName("PaneTitle")
        self.subtitle = QLabel(HINT)
        self.subtitle.setObjectName("PaneSubtitle")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self._build_toolbar())
        self.banner = Banner()
        layout.addWidget(self.banner)
        layout.addWidget(self._build_progress_strip())

        self.tree = ContentTreeView()
        self._proxy = ContentIconProxy(self)
        self._proxy.setSourceModel(tree_model)
        self.tree.setModel(self._proxy)
        self.tree.configure_header()
        self.tree.setAccessibleName("Course content")
        self.actions.attach_shortcuts(self.tree)
        install_item_menu(self.tree, self._context_menu)
        self.details_view = ContentDetailsView(details_model)
        self.queue_panel = UploadQueuePanel(uploads)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("ContentSplitter")
        self.split.addWidget(self.tree)
        self.split.addWidget(self.details_view)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([620, 420])
        self.vsplit = QSplitter(Qt.Orientation.Vertical)
        self.vsplit.setObjectName("ContentVSplitter")
        self.vsplit.addWidget(self.split)
        self.vsplit.addWidget(self.queue_panel)
        self.vsplit.setStretchFactor(0, 3)
        self.vsplit.setStretchFactor(1, 1)
        self.vsplit.setSizes([470, 290])
        layout.addWidget(self.vsplit, 1)
        self.drop_hint = QLabel(HINT)
        self.drop_hint.setObjectName("DropHint")
        self.drop_hint.setWordWrap(True)  # a long hint wraps instead of widening the window
        layout.addWidget(self.drop_hint)

        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.tree.dropped.connect(self._on_dropped)
        self.tree.drop_hint.connect(lambda text: self.drop_hint.setText(text or HINT))
        tree_model.modelAboutToBeReset.connect(self._remember)
        tree_model.loaded.connect(self._apply_target)
        tree_model.loaded.connect(self._restore)
        tree_model.rowsAboutToBeRemoved.connect(self._remember_course)
        tree_model.course_loaded.connect(self._restore)
        tree_model.course_fetch_failed.connect(lambda _cid, exc: self._problem(exc))
        details_model.download_finished.connect(
            lambda path, n: self.banner.show_notice(f"Saved {path} ({n:,} bytes)."))
        details_model.download_failed.connect(self._problem)
        self.details_view.open_requested.connect(lambda url: self.actions.open_browser.trigger())
        self.details_view.download_requested.connect(lambda _f: self.actions.download.trigger())
        self.details_view.files.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        uploads.drop_refused.connect(lambda text: self.banner.show_message(
            "warning", text, title="This site cannot take uploads yet"))
        uploads.problem_occurred.connect(self._problem)
        uploads.contents_changed.connect(self._on_contents_changed)
        uploads.entry_finished.connect(self._on_entry_finished)
        self.actions.planned.connect(self._on_planned)
        engine.changes_applied.connect(self._on_applied)
        engine.plan_failed.connect(self._problem)
        session.state_changed.connect(self._update_actions)
        session.runner.job_changed.connect(self._on_job_changed)
        theme.theme_notifier().theme_changed.connect(self._refresh_icons)
        self._update_actions()

    # -- construction -------------------------------------------------------------------------------
    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar("Content")
        bar.setObjectName("ContentToolBar")
        bar.setIconSize(QSize(16, 16))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        a = self.actions
        bar.addAction(a.new_course)
        self._menus: list[QToolButton] = []
        for text, actions in (("Course", [a.duplicate_course, a.course_visibility, a.move_course, None,
                                          a.delete_course]),
                              ("Section or activity", [a.add_section, a.rename, a.visibility, a.move, None,
                                                       a.delete])):
            button = QToolButton()
            button.setText(text)
            button.setObjectName(f"{text.split()[0]}Menu")
            button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            menu = QMenu(button)
            for action in actions:
                menu.addSeparator() if action is None else menu.addAction(action)
            button.setMenu(menu)
            bar.addWidget(button)
            self._menus.append(button)
        bar.addSeparator()
        for action in (a.upload_files, a.upload_folder, a.add_link):
            bar.addAction(action)
        bar.addSeparator()
        for action in (a.open_browser, a.download, a.refresh):
            bar.addAction(action)
        return bar

    def _build_progress_strip(self) -> QFrame:
        self.progress_strip = QFrame()
        self.progress_strip.setObjectName("DuplicateProgress")
        row = QHBoxLayout(self.progress_strip)
        row.setContentsMargins(10, 6, 10, 6)
        self.progress_text = QLabel()
        self.progress_text.setWordWrap(True)
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy: the site reports no progress for a backup and restore
        bar.setFixedWidth(140)
        bar.setFixedHeight(8)
        bar.setTextVisible(False)
        row.addWidget(self.progress_text, 1)
        row.addWidget(bar)
        self.progress_strip.hide()
        return self.progress_strip

    # -- navigation ------------------------------------------------------------------------------------
    def show_target(self, target: NavTarget | None) -> None:
        self.target = target
        self._apply_target()

    def _apply_target(self) -> None:
        target = self.target
        root = QModelIndex()
        title = "Courses"
        if target is not None and target.kind in ("category", "course") and isinstance(target.id, int):
            source = self.tree_model.index_of(target.kind, target.id)
            if source.isValid():
                root = self._proxy.mapFromSource(source)
                ref = self.tree_model.ref(source)
                title = ref.name if ref else target.label
                if target.kind == "course" and self.tree_model.canFetchMore(source):
                    self.tree_model.fetchMore(source)
            else:
                title = target.label or title
        self.title.setText(title)
        self.tree.setRootIndex(root)
        if self.tree.currentIndex().isValid() and not self._under_root(self.tree.currentIndex()):
            self.tree.setCurrentIndex(QModelIndex())  # what is not shown is never acted on
        if target is not None and target.kind == "categories":
            self.tree.expandToDepth(0)
        self._update_actions()
        self.details_model.show(self.current_ref())

    def current_ref(self) -> ContentRef | None:
        """The selected row, or the pane's own course/category when nothing (shown) is selected."""
        index = self.tree.currentIndex()
        if index.isValid() and self._under_root(index):
            return index.data(RefRole)
        root = self.tree.rootIndex()
        return root.data(RefRole) if root.isValid() else None

    def _under_root(self, index: QModelIndex) -> bool:
        root = self.tree.rootIndex()
        while index.isValid():
            index = index.parent()
            if index == root:
                return True
        return not root.isValid()

    def browser_url(self) -> str:
        details = self.details_model.current
        if details is not None and details.ref == self.current_ref():
            return details.browser_url
        return ""

    # -- reactions -----------------------------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.details_model.show(current.data(RefRole) if current.isValid() else self.current_ref())
        self._update_actions()

    def _update_actions(self, *_args) -> None:
        online = self.session.state.status == Online.ONLINE
        self.actions.update(self.current_ref(), online=online,
                            file_selected=self.details_view.selected_file() is not None)

    def _context_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            self.tree.setCurrentIndex(index)
        menu = self.actions.menu(self.current_ref())
        menu.popup(pos)

    def _on_dropped(self, ref: ContentRef, things: list[Dropped]) -> None:
        self.upload(things, ref)

    def upload(self, things: list[Dropped], ref: ContentRef | None) -> None:
        """Queue files, folders or links for the section (or after the activity) of ``ref``."""
        if ref is None or ref.kind not in ("section", "module", "file"):
            self.banner.show_message("info", "Choose a section or an activity of a course first.")
            return
        self.uploads.drop(things, self.actions.target(ref), visible=self.queue_panel.visible_to_students)

    def _on_planned(self, title: str, courses: set[int]) -> None:
        self._refresh_after |= courses

    def _on_applied(self, summary) -> None:
        if "courses" in summary.entities:
            self.tree_model.reload()
        if "contents" in summary.entities:
            courses, self._refresh_after = self._refresh_after, set()
            for courseid in courses:
                self.tree_model.refresh_from_site(courseid)
        for result in summary.results:
            if result.kind == "course.duplicate" and result.status == Status.DONE and result.result:
                self.banner.show_notice(f"The copy is ready: course id {result.result['id']} "
                                        f"({result.result.get('shortname', '')}).", title="Course duplicated")

    def _on_contents_changed(self, courseid: int) -> None:
        self.tree_model.reload_course(courseid, from_site_if_empty=False)

    def _on_entry_finished(self, item) -> None:
        if item.state == State.FAILED:
            self.drop_hint.setText(f"“{item.name}” was not uploaded: see its row in Uploads.")

    def _on_job_changed(self, info) -> None:
        # The engine's apply jobs are labelled "Apply: <plan title>"; this pane titles duplicates.
        if not (info.name.startswith("apply") and info.label.startswith("Apply: Duplicate course")):
            return
        if info.state.finished:
            self._duplicate_jobs.pop(info.id, None)
        else:
            self._duplicate_jobs[info.id] = info.label.removeprefix("Apply: ")
        if self._duplicate_jobs:
            what = next(iter(self._duplicate_jobs.values()))
            self.progress_text.setText(f"{what}: in progress. The site makes a backup and restores it; this can take "
                                       "several minutes for a big course. The console stays usable meanwhile.")
            self.progress_strip.show()
        else:
            self.progress_strip.hide()

    def _problem(self, exc) -> None:
        if isinstance(exc, LmsError):
            self.banner.show_error(exc)
        else:
            self.banner.show_message("error", str(exc))

    # -- keeping expansion and selection across reloads -----------------------------------------------------
    def _remember(self, parent: QModelIndex | None = None) -> None:
        """Note which rows under ``parent`` (a source index; invalid: all) are expanded, and the current row."""
        stack = [parent if parent is not None else QModelIndex()]
        while stack:
            idx = stack.pop()
            for row in range(self.tree_model.rowCount(idx)):
                child = self.tree_model.index(row, 0, idx)
                if self.tree.isExpanded(self._proxy.mapFromSource(child)):
                    self._keep.add(self.tree_model.ref(child).key)
                    stack.append(child)
        index = self.tree.currentIndex()
        if index.isValid() and self._under_root(index):
            self._keep_current = index.data(RefRole).key

    def _remember_course(self, parent: QModelIndex, _first: int, _last: int) -> None:
        ref = self.tree_model.ref(parent) if parent.isValid() else None
        if ref is not None and ref.kind == "course":
            self._remember(parent)

    def _restore(self, courseid: int | None = None) -> None:
        if self.target is not None and self.target.kind == "course" and self.target.id == courseid and \
                self.tree.rootIndex().isValid():
            for row in range(self._proxy.rowCount(self.tree.rootIndex())):
                self.tree.expand(self._proxy.index(row, 0, self.tree.rootIndex()))
        for key in list(self._keep):
            source = self.tree_model.index_of(*key)
            if source.isValid():
                self.tree.expand(self._proxy.mapFromSource(source))
                self._keep.discard(key)
        if self._keep_current is not None:
            source = self.tree_model.index_of(*self._keep_current)
            if source.isValid():
                self.tree.setCurrentIndex(self._proxy.mapFromSource(source))
                self._keep_current = None
        self._update_actions()

    def _refresh_icons(self, *_args) -> None:
        for action in self.actions.all():
            action.setIcon(icon(action.property("icon_name")))
        self.tree.viewport().update()
