"""Connects the CSV/XLSX import to the window: ``open_import()`` opens the import dialog for the
current connection; its "Apply…" hands the changes to the change engine, whose ``planned``
signal opens the preview (see ``changes_wiring``).

``app.py`` calls :func:`install_import_dialog` once and connects the users pane's
``import_requested`` to the returned callable.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt

from lms_console.models.import_model import ImportController
from lms_console.views.dialogs.import_dialog import ImportDialog


def install_import_dialog(window, session, engine) -> Callable[[], ImportDialog | None]:
    """Return ``open_import()``: it opens (or brings forward) the import dialog of ``window``."""
    state: dict[str, ImportDialog | None] = {"dialog": None}

    def forget(dialog: ImportDialog) -> None:
        if state["dialog"] is dialog:
            state["dialog"] = None

    def open_import() -> ImportDialog | None:
        if not session.is_open:
            banner = getattr(window, "banner", None)
            if banner is not None:
                banner.show_message("info", "Open a connection profile first (File › Profiles…): the import compares "
                                            "the file with the site's local copy.")
            return None
        current = state["dialog"]
        if current is not None and current.isVisible():
            current.raise_()
            current.activateWindow()
            return current
        dialog = ImportDialog(ImportController(session, engine), window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda _o=None, d=dialog: forget(d))
        state["dialog"] = dialog
        dialog.open()
        return dialog

    window.open_import = open_import  # keeps it reachable (menus, tests)
    return open_import


__all__ = ["install_import_dialog"]
