"""Connects the course-content pane to the window: one pane for the navigation targets
"categories", "category" and "course", the upload queue restored (and interrupted uploads sent
again) whenever a profile opens, and the tree re-read after each sync.

``app.py`` calls :func:`install_content_views` once, after it built the window, the session
and the ChangeEngine.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from lms_console.models.content_details import ContentDetailsModel
from lms_console.models.content_model import ContentTreeModel
from lms_console.models.uploads_model import UploadController
from lms_console.views.content_pane import ContentPane


class ContentViews(QObject):
    """The content pane and its models for one main window. Signals: none."""

    def __init__(self, window, session, engine, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window, self.session, self.engine = window, session, engine
        self.tree_model = ContentTreeModel(session, self)
        self.details_model = ContentDetailsModel(session, self)
        self.uploads = UploadController(session, self)
        self.pane = ContentPane(session, engine, self.tree_model, self.details_model, self.uploads)
        for key in ("categories", "category", "course"):
            window.register_pane(key, self.pane)
        session.sync_finished.connect(self._on_sync_finished)
        if session.is_open:  # installed after the profile opened: catch up
            self.tree_model.reload()
            self.uploads.restore()

    def _on_sync_finished(self, _result) -> None:
        self.tree_model.reload()


def install_content_views(window, session, engine) -> ContentViews:
    """Register the content pane for categories, a category and a course; run the upload queue."""
    views = ContentViews(window, session, engine)
    window.content_views = views  # keeps it alive with the window
    return views


__all__ = ["ContentViews", "install_content_views"]
