"""Connects the groups pane to the window: it becomes the pane of the "groups" (Groups &
enrolments), "cohorts" and "cohort" navigation nodes; rules that drifted after a sync are
announced in the window's banner with a way to review them; and the change preview's
"Enrol them first" re-plans the pane's own plans through the pane (keeping its notes on
suspended accounts and its check that the target still exists on the site).

``app.py`` calls :func:`install_groups_views` once, after :func:`install_change_views`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from lms_console.models.nav_model import NavTarget
from lms_console.views.groups_pane import GroupsPane

PANE_KINDS = ("groups", "cohorts", "cohort")


def drift_message(diffs) -> str:
    """The banner text for rules that drifted (or broke) after a sync."""
    broken = [d for d in diffs if d.problem]
    drifted = [d for d in diffs if not d.problem and d.drifted]
    parts = []
    if drifted:
        names = ", ".join(f"{d.rule.cohort_name} (+{len(d.joins):,} / −{len(d.leaves):,})" for d in drifted[:3])
        more = f" and {len(drifted) - 3} more" if len(drifted) > 3 else ""
        parts.append(f"{len(drifted)} rule-based cohort{'s' if len(drifted) != 1 else ''} no longer match"
                     f"{'es' if len(drifted) == 1 else ''} {'its' if len(drifted) == 1 else 'their'} rule: "
                     f"{names}{more}.")
    if broken:
        parts.append(f"{len(broken)} rule{'s' if len(broken) != 1 else ''} cannot be checked: {broken[0].problem}")
    return " ".join(parts) + " Nothing was changed: review and apply when you are ready."


class GroupsViews(QObject):
    """The groups pane of one main window and its routing.

    Signals: none; it routes the pane's and the engine's signals.
    """

    def __init__(self, window, session, engine, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window = window
        self.session = session
        self.engine = engine
        self.pane = GroupsPane(session, engine)
        for kind in PANE_KINDS:
            window.register_pane(kind, self.pane)
        self.pane.rules.drift_found.connect(self.announce_drift)
        self.pane.rules.all_hold.connect(self.announce_all_hold)
        engine.planned.connect(self._route_replan)

    def announce_drift(self, diffs) -> None:
        if not diffs:
            return
        first = next((d for d in diffs if not d.problem), diffs[0])
        self.window.banner.show_message(
            "info", drift_message(diffs), title="Rule-based cohorts drifted",
            actions=[("Review", lambda cid=first.rule.cohortid: self.review(cid))])

    def announce_all_hold(self, checked: int) -> None:
        if checked == 0:
            text = ("There are no rule-based cohorts to check: give a cohort a membership rule (its "
                    "“Membership rule…” button) to keep its members in step with a users filter.")
        else:
            text = (f"The {checked:,} rule-based cohort{'s match their rules' if checked != 1 else ' matches its rule'}"
                    " in the local copy: nothing to change.")
        if checked == 0:  # what to do first: stays
            self.window.banner.show_message("info", text, title="Membership rules checked")
        else:
            self.window.banner.show_notice(text, title="Membership rules checked")

    def review(self, cohortid: int) -> None:
        """Show the cohort in the pane and open its rule with the diff worked out."""
        self.window.go_to("groups")
        if self.window.stack.currentWidget() is not self.pane:
            self.window.show_pane("groups")
        self.pane.show_target(NavTarget("cohort", cohortid))
        self.pane.dialogs.open_rule(cohortid, check=True)

    def _route_replan(self, plan) -> None:
        # ChangeViews opened the preview just before (its slot was connected first): for a plan of
        # this pane, "Enrol them first" comes back here instead of re-planning the bare changes.
        views = getattr(self.window, "change_views", None)
        preview = getattr(views, "preview", None)
        if preview is None or getattr(preview, "plan", None) is not plan or not self.pane.actions.owns(plan):
            return
        try:
            preview.replan_requested.disconnect()
        except (RuntimeError, TypeError):
            pass
        preview.replan_requested.connect(lambda enrol_first, p=plan: self.pane.actions.replan(p, enrol_first))


def install_groups_views(window, session, engine) -> GroupsViews:
    """Register the groups pane for the "groups", "cohorts" and "cohort" targets and route its
    plans, drift notices and re-plans. Call after ``install_change_views``."""
    if not getattr(window, "completed", True):
        raise RuntimeError("install_groups_views needs the window's models: call it after MainWindow.complete()")
    views = GroupsViews(window, session, engine)
    window.groups_views = views  # keeps it alive with the window
    return views


__all__ = ["GroupsViews", "PANE_KINDS", "drift_message", "install_groups_views"]
