"""What the content pane can do to the selected row: course, section and activity changes (each
planned by the ChangeEngine and previewed before anything is sent), uploads, opening in the
browser and downloading."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMenu, QWidget

from lms_console.models.content_read import ContentRef
from lms_console.services.changes.model import Change
from lms_console.services.uploads import Dropped, DropTarget
from lms_console.views.dialogs.course_dialog import CourseDialog, PickDialog
from lms_console.views.icons import icon


def _act(parent: QObject, text: str, icon_name: str, tip: str, name: str) -> QAction:
    action = QAction(icon(icon_name), text, parent)
    action.setObjectName(name)
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.setProperty("icon_name", icon_name)
    return action


def _section_text(section: ContentRef) -> str:
    """A section in a picker: its number first, since names repeat (every unnamed section is
    "New section") and a list of equal names cannot be told apart."""
    return f"section {section.section_number} · {section.name}" if section.name else \
        f"section {section.section_number}"


class ContentActions(QObject):
    """The pane's actions, enabled for what is selected.

    Signals:
        planned(str, object): a plan was asked of the engine: (title, set of course ids to re-read).
    """

    planned = Signal(str, object)

    def __init__(self, pane) -> None:
        super().__init__(pane)
        self.pane = pane
        self.dialog: QWidget | None = None  # the dialog open now (kept for tests and to close on switch)
        a = _act
        self.new_course = a(self, "New course…", "add", "Create a course in the selected category", "NewCourse")
        self.duplicate_course = a(self, "Duplicate course…", "copy",
                                  "Copy the selected course (a template) into a new course", "DuplicateCourse")
        self.course_visibility = a(self, "Hide course", "user-suspended", "Hide the course from students",
                                   "CourseVisibility")
        self.move_course = a(self, "Move to category…", "category", "Move the course to another category",
                             "MoveCourse")
        self.delete_course = a(self, "Delete course…", "remove", "Delete the course and everything in it",
                               "DeleteCourse")
        self.add_section = a(self, "Add section", "add", "Add a section after the selected one", "AddSection")
        self.rename = a(self, "Rename…", "edit", "Rename the selected section or activity", "Rename")
        self.visibility = a(self, "Hide", "user-suspended", "Hide the selected section or activity from students",
                            "Visibility")
        self.move = a(self, "Move…", "export", "Move the selected section or activity", "Move")
        self.delete = a(self, "Delete…", "remove", "Delete the selected section or activity", "Delete")
        self.upload_files = a(self, "Upload files…", "upload", "Upload files into the selected section "
                              "(or after the selected activity)", "UploadFiles")
        self.upload_folder = a(self, "Upload folder…", "activity-folder", "Upload a folder as a Folder activity",
                               "UploadFolder")
        self.add_link = a(self, "Add link…", "activity-url", "Add a URL activity", "AddLink")
        self.open_browser = a(self, "Open in browser", "site", "Open the selected item on the site", "OpenBrowser")
        self.download = a(self, "Download…", "download", "Save the selected file", "Download")
        self.refresh = a(self, "Refresh from site", "refresh", "Read this course's contents from the site again",
                         "RefreshContents")
        handlers = {self.new_course: self._new_course, self.duplicate_course: self._duplicate,
                    self.course_visibility: self._course_visibility, self.move_course: self._move_course,
                    self.delete_course: self._delete_course, self.add_section: self._add_section,
                    self.rename: self._rename, self.visibility: self._visibility, self.move: self._move,
                    self.delete: self._delete, self.upload_files: self._upload_files,
                    self.upload_folder: self._upload_folder, self.add_link: self._add_link,
                    self.open_browser: self._open_browser, self.download: self._download,
                    self.refresh: self._refresh}
        for action, handler in handlers.items():
            action.triggered.connect(lambda _c=False, h=handler: h())
        # Keys act where the admin is: F2 and Delete on the tree's row only (Delete in the upload
        # queue must never delete an activity), the others anywhere in the pane.
        for action, key in ((self.rename, "F2"), (self.delete, QKeySequence.StandardKey.Delete),
                            (self.refresh, "Ctrl+R"), (self.upload_files, "Ctrl+U")):
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def attach_shortcuts(self, tree: QWidget) -> None:
        tree.addAction(self.rename)
        tree.addAction(self.delete)
        self.pane.addAction(self.refresh)
        self.pane.addAction(self.upload_files)

    # -- state ------------------------------------------------------------------------------------
    def all(self) -> list[QAction]:
        return [self.new_course, self.duplicate_course, self.course_visibility, self.move_course,
                self.delete_course, self.add_section, self.rename, self.visibility, self.move, self.delete,
                self.upload_files, self.upload_folder, self.add_link, self.open_browser, self.download,
                self.refresh]

    def update(self, ref: ContentRef | None, *, online: bool, file_selected: bool) -> None:
        kind = ref.kind if ref else ""
        course = kind == "course"
        in_course = kind in ("course", "section", "module", "file")
        content = kind in ("section", "module", "file")
        editable_section = kind == "section" and ref.section_number > 0
        self.new_course.setEnabled(True)  # in the selected row's category, else one chosen in the dialog
        for action in (self.duplicate_course, self.course_visibility, self.move_course, self.delete_course):
            action.setEnabled(course)
        self.course_visibility.setText("Show course" if course and not ref.visible else "Hide course")
        self.add_section.setEnabled(kind in ("course", "section"))
        self.rename.setEnabled(kind in ("section", "module"))
        self.visibility.setEnabled(editable_section or kind == "module")
        hidden = ref is not None and not ref.visible and kind in ("section", "module")
        self.visibility.setText("Show" if hidden else "Hide")
        self.move.setEnabled(editable_section or kind == "module")
        self.delete.setEnabled(editable_section or kind == "module")
        for action in (self.upload_files, self.upload_folder, self.add_link):
            action.setEnabled(content and online)
        self.open_browser.setEnabled(ref is not None)
        self.download.setEnabled(file_selected and online)
        self.refresh.setEnabled(in_course and online)

    def menu(self, ref: ContentRef | None) -> QMenu:
        menu = QMenu(self.pane)
        kind = ref.kind if ref else ""
        groups = {"category": [self.new_course, None, self.open_browser],
                  "course": [self.add_section, None, self.duplicate_course, self.course_visibility,
                             self.move_course, None, self.refresh, self.open_browser, None, self.delete_course],
                  "section": [self.upload_files, self.upload_folder, self.add_link, None, self.add_section,
                              self.rename, self.visibility, self.move, None, self.open_browser, None, self.delete],
                  "module": [self.upload_files, self.upload_folder, self.add_link, None, self.rename,
                             self.visibility, self.move, None, self.open_browser, None, self.delete],
                  "file": [self.download, self.open_browser, None, self.upload_files, self.add_link]}
        for action in groups.get(kind, [self.new_course]):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        return menu

    # -- helpers -------------------------------------------------------------------------------------
    @property
    def ref(self) -> ContentRef | None:
        return self.pane.current_ref()

    def _plan(self, changes: list[Change], title: str, courses: set[int]) -> None:
        self.pane.engine.plan(changes, title=title)
        self.planned.emit(title, set(courses))

    def _show(self, dialog: QWidget) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        dialog.open()

    def _forget(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _course_label(self, courseid: int) -> str:
        return self.pane.tree_model.course_label(courseid)

    # -- courses -------------------------------------------------------------------------------------
    def _new_course(self) -> None:
        ref = self.ref
        category = ref.id if ref and ref.kind == "category" else self.pane.tree_model.category_of(ref)
        dialog = CourseDialog(self.pane.tree_model.categories(), category=category,
                              taken=self.pane.tree_model.shortnames(), parent=self.pane)
        dialog.change_ready.connect(lambda ch: self._plan([ch], f"Create course {ch.data['shortname']}", set()))
        self._show(dialog)

    def _duplicate(self) -> None:
        ref = self.ref
        dialog = CourseDialog(self.pane.tree_model.categories(), category=self.pane.tree_model.category_of(ref),
                              template=ref, taken=self.pane.tree_model.shortnames(), parent=self.pane)
        dialog.change_ready.connect(lambda ch: self._plan(
            [ch], f"Duplicate course {self._course_label(ref.id)} as {ch.data['shortname']}", set()))
        self._show(dialog)

    def _course_visibility(self) -> None:
        ref = self.ref
        verb = "Show" if not ref.visible else "Hide"
        self._plan([Change("course.update", {"id": ref.id, "visible": not ref.visible})],
                   f"{verb} course {self._course_label(ref.id)}", set())

    def _move_course(self) -> None:
        ref = self.ref
        options = [(c.name, c.id, depth) for c, depth in self.pane.tree_model.categories()]
        current = self.pane.tree_model.category_of(ref)
        dialog = PickDialog(f"Move {self._course_label(ref.id)}", "Move the course to this category:", options,
                            current=current, parent=self.pane)
        dialog.picked.connect(lambda cat: self._plan([Change("course.update", {"id": ref.id, "categoryid": cat})],
                                                     f"Move course {self._course_label(ref.id)}", set())
                              if cat != current else None)
        self._show(dialog)

    def _delete_course(self) -> None:
        ref = self.ref
        self._plan([Change("course.delete", {"id": ref.id})], f"Delete course {self._course_label(ref.id)}", set())

    # -- sections and activities -----------------------------------------------------------------------
    def _add_section(self) -> None:
        ref = self.ref
        data = {"courseid": ref.courseid or ref.id}
        if ref.kind == "section":
            data["targetsectionid"] = ref.id
        self._plan([Change("section.add", data)], f"Add a section to {self._course_label(data['courseid'])}",
                   {data["courseid"]})

    def _rename(self) -> None:
        ref = self.ref
        what = "section" if ref.kind == "section" else "activity"
        dialog = QInputDialog(self.pane)
        dialog.setObjectName("RenameDialog")
        dialog.setWindowTitle(f"Rename {what}")
        dialog.setLabelText(f"New name of the {what} “{ref.name}”:")
        dialog.setTextValue(ref.name)
        kind = "section.rename" if ref.kind == "section" else "module.rename"

        def renamed(text: str) -> None:
            text = text.strip()
            if text and text != ref.name:
                self._plan([Change(kind, {"id": ref.id, "name": text})], f"Rename {what} “{ref.name}”",
                           {ref.courseid})

        dialog.textValueSelected.connect(renamed)
        self._show(dialog)

    def _visibility(self) -> None:
        ref = self.ref
        prefix = "section" if ref.kind == "section" else "module"
        action = "show" if not ref.visible else "hide"
        self._plan([Change(f"{prefix}.{action}", {"courseid": ref.courseid, "id": ref.id})],
                   f"{action.capitalize()} “{ref.name}”", {ref.courseid})

    def _move(self) -> None:
        ref = self.ref
        sections = {s.id: s for s in self.pane.tree_model.sections_of(ref.courseid)}
        if ref.kind == "section":
            what = f"section {ref.section_number} “{ref.name}”"
            options = [(f"After {_section_text(s)}", s.id, 0) for s in sections.values() if s.id != ref.id]
            text = f"Move the {what} after:"
            kind, where = "section.move", "after"
        else:
            what = f"“{ref.name}”"
            options = [(f"To the end of {_section_text(s)}", s.id, 0) for s in sections.values()]
            text = f"Move the activity {what}:"
            kind, where = "module.move", "to the end of"
        dialog = PickDialog(f"Move {what}", text, options, parent=self.pane)
        dialog.picked.connect(lambda target: self._plan(
            [Change(kind, {"courseid": ref.courseid, "id": ref.id, "targetsectionid": target})],
            f"Move {what} {where} section {sections[target].section_number}", {ref.courseid}))
        self._show(dialog)

    def _delete(self) -> None:
        ref = self.ref
        kind = "section.delete" if ref.kind == "section" else "module.delete"
        self._plan([Change(kind, {"courseid": ref.courseid, "id": ref.id})], f"Delete “{ref.name}”", {ref.courseid})

    # -- uploads -------------------------------------------------------------------------------------------
    def target(self, ref: ContentRef) -> DropTarget:
        section = self.pane.tree_model.section_ref(ref.sectionid)
        where = f"{self._course_label(ref.courseid)} › {section.name if section else 'section'}"
        after = ref.cmid if ref.kind in ("module", "file") else None
        return DropTarget(ref.courseid, ref.sectionid, after, where)

    def _upload_files(self) -> None:
        self._file_dialog(QFileDialog.FileMode.ExistingFiles, "Upload files")

    def _upload_folder(self) -> None:
        self._file_dialog(QFileDialog.FileMode.Directory, "Upload a folder as a Folder activity")

    def _file_dialog(self, mode, title: str) -> None:
        ref = self.ref
        dialog = QFileDialog(self.pane, title)
        dialog.setObjectName("UploadFileDialog")
        dialog.setFileMode(mode)
        if mode == QFileDialog.FileMode.Directory:
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.filesSelected.connect(lambda paths: self.pane.upload([Dropped(path=p) for p in paths], ref))
        self._show(dialog)

    def _add_link(self) -> None:
        ref = self.ref
        dialog = QInputDialog(self.pane)
        dialog.setObjectName("AddLinkDialog")
        dialog.setWindowTitle("Add link")
        dialog.setLabelText("Address of the page (https://…). It becomes a URL activity:")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.textValueSelected.connect(lambda text: self.pane.upload([Dropped(url=text.strip())], ref)
                                         if text.strip() else None)
        self._show(dialog)

    # -- browser and files ----------------------------------------------------------------------------------
    def _open_browser(self) -> None:
        url = self.pane.browser_url()
        if url:
            open_url(url)

    def _download(self) -> None:
        file = self.pane.details_view.selected_file()
        if file is None:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation) or str(Path.home())
        dialog = QFileDialog(self.pane, f"Save {file.name}", str(Path(folder) / file.name))
        dialog.setObjectName("SaveFileDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda path: self.pane.details_model.download(file, path))
        self._show(dialog)

    def _refresh(self) -> None:
        ref = self.ref
        if ref is not None:
            self.pane.tree_model.refresh_from_site(ref.courseid or ref.id)


def open_url(url: str) -> bool:
    """Open an address of the site in the desktop's browser (the token never goes there)."""
    return QDesktopServices.openUrl(QUrl(url))
