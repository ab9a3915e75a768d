"""Connects the users pane to the window: it becomes the pane of the "users" and "filter" nodes,
opens the properties, new-user and access-check dialogs, lists saved filters in the navigation
tree and hands "Import…" to whoever builds the import.

``app.py`` calls :func:`install_users_views` once, after it built the window and the engine.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QSettings, Qt

from lms_console.views.dialogs.access_dialog import AccessDialog
from lms_console.views.dialogs.create_user_dialog import CreateUserDialog
from lms_console.views.dialogs.user_dialog import UserDialog
from lms_console.views.users_pane import UsersPane


class UsersViews(QObject):
    """The users pane and its dialogs for one main window.

    One properties dialog per user (opening it again raises it); one new-user dialog and one
    access-check dialog at a time.

    Signals: none; it routes the pane's intents.
    """

    def __init__(self, window, session, engine, settings: QSettings | None,
                 on_import: Callable[[], object] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window = window
        self.session = session
        self.engine = engine
        self.on_import = on_import
        self.pane = UsersPane(session, engine, settings)
        window.register_pane("users", self.pane)
        window.register_pane("filter", self.pane)
        self.user_dialogs: dict[int, UserDialog] = {}
        self.create_dialog: CreateUserDialog | None = None
        self.access_dialog: AccessDialog | None = None
        self._select_after_rebuild: str | None = None
        p = self.pane
        p.user_open_requested.connect(self.open_user)
        p.new_user_requested.connect(self.new_user)
        p.access_check_requested.connect(self.check_access)
        p.import_requested.connect(self._import)
        p.filter_saved.connect(self._on_filter_saved)
        p.filters_changed.connect(self._on_filters_changed)
        window.nav_model.rebuilt.connect(self._on_nav_rebuilt)
        session.closed.connect(self._close_dialogs)
        session.closed.connect(p.forget_view)  # a search typed on one profile is not carried to the next

    # -- dialogs --------------------------------------------------------------------------------------
    def show_users(self, ids, title: str) -> None:
        """Bring the users pane forward with exactly these users (a report's drill-down)."""
        self.window.go_to("users")
        self.window.show_pane("users")
        self.pane.show_users(ids, title)

    def open_user(self, userid: int) -> UserDialog:
        dialog = self.user_dialogs.get(userid)
        if dialog is not None:
            dialog.raise_()
            dialog.activateWindow()
            return dialog
        dialog = UserDialog(self.session, self.pane.actions, userid, self.window,
                            auths=self.pane.model.options.auths)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.access_check_requested.connect(self.check_access)
        dialog.destroyed.connect(lambda _o=None, u=userid: self.user_dialogs.pop(u, None))
        self.user_dialogs[userid] = dialog
        dialog.show()
        return dialog

    def new_user(self) -> CreateUserDialog:
        if self.create_dialog is not None:
            self.create_dialog.raise_()
            return self.create_dialog
        dialog = CreateUserDialog(self.pane.actions, self.window, options=self.pane.model.options)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda _o=None: setattr(self, "create_dialog", None))
        self.create_dialog = dialog
        dialog.open()
        return dialog

    def check_access(self, userid: int | None = None, courseid: int | None = None) -> AccessDialog:
        if self.access_dialog is not None:
            self.access_dialog.close()
        dialog = AccessDialog(self.session, self.engine, self.window, userid=userid, courseid=courseid,
                              options=self.pane.model.options)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget_access(d))
        self.access_dialog = dialog
        dialog.show()
        return dialog

    def _forget_access(self, dialog) -> None:
        if self.access_dialog is dialog:
            self.access_dialog = None

    def _close_dialogs(self) -> None:
        for dialog in [*self.user_dialogs.values(), self.create_dialog, self.access_dialog]:
            if dialog is not None:
                dialog.close()

    def _import(self) -> None:
        if self.on_import is not None:
            self.on_import()
        else:
            self.pane.banner.show_message("info", "Importing users from CSV or Excel is not available in this "
                                                  "version yet.")

    # -- saved filters in the navigation tree ------------------------------------------------------------
    def _on_filter_saved(self, filter_id: int, _name: str) -> None:
        self._select_after_rebuild = f"saved:{filter_id}"
        self.window.nav_model.refresh()

    def _on_filters_changed(self) -> None:
        target = self.window.current_target()
        if target is not None and target.kind == "filter" and self._select_after_rebuild is None:
            self._select_after_rebuild = str(target.id)
        self.window.nav_model.refresh()

    def _on_nav_rebuilt(self) -> None:
        # The window re-selects the node it showed; a filter saved just now is selected instead.
        key, self._select_after_rebuild = self._select_after_rebuild, None
        if key is None:
            return
        model = self.window.nav_model
        index = model.find("filter", key)
        if not index.isValid():
            index = model.find("users")
        if index.isValid():
            self.window.nav.setCurrentIndex(self.window.nav.model().mapFromSource(index))


def install_users_views(window, session, engine, settings: QSettings | None = None,
                        on_import: Callable[[], object] | None = None) -> UsersViews:
    """Register the users pane for the "users" and "filter" navigation targets and route its
    intents; ``on_import`` is called when the admin clicks Import…."""
    return UsersViews(window, session, engine, settings if settings is not None else window.settings, on_import)

