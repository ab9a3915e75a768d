"""Registers the reports pane with the main window.

``app.py`` calls :func:`install_reports_views` once, after it built the window and the session.
The pane's ``users_requested(list, str)`` and ``user_requested(int)`` are for the users pane to
pick up (wired where both exist).
"""

from __future__ import annotations

from lms_console.views.reports_pane import ReportsPane


def install_reports_views(window, session) -> ReportsPane:
    """Create the reports pane, register it as the "reports" pane and return it."""
    pane = ReportsPane(session, settings=getattr(window, "settings", None))
    window.register_pane("reports", pane)
    window.reports_pane = pane  # keeps it reachable (and alive) with the window
    return pane


__all__ = ["install_reports_views"]
