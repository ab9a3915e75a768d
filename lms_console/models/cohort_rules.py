"""Rule-based cohorts on the Qt side: list, save and delete rules, work out a rule's diff, and
check every rule after each sync (drift) - never applying anything by itself.

Applying a diff is the admin's choice: :meth:`CohortRulesModel.plan_diff` hands the diff's
changes to the change engine (through GroupsActions), whose preview the admin confirms.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lms_console.services import cohort_rules as R
from lms_console.services.users_query import UserFilter


class CohortRulesModel(QObject):
    """The cohort rules of the open profile.

    Signals:
        rules_loaded(object): list of CohortRule (all rules, by cohort name).
        diff_ready(object): a RuleDiff asked for with :meth:`diff`.
        checked(object): list of RuleDiff of every rule (after a sync, or :meth:`check_now`).
        drift_found(object): list of RuleDiff of the rules that drifted (after a sync); empty lists
            are not emitted.
        all_hold(int): an explicit check (``check_now(say_all_hold=True)``) found no drift; the number
            of rules checked (0: there are no rule-based cohorts).
        saved(int, int): a rule was saved (rule id, cohort id).
        deleted(int): a rule was deleted (rule id).
        problem(object): an expected problem (RuleError message, CacheError).
    """

    rules_loaded = Signal(object)
    diff_ready = Signal(object)
    checked = Signal(object)
    drift_found = Signal(object)
    all_hold = Signal(int)
    saved = Signal(int, int)
    deleted = Signal(int)
    problem = Signal(object)

    def __init__(self, session, actions=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.actions = actions  # GroupsActions: plans the diffs
        self.runner = session.runner
        self.rules: list[R.CohortRule] = []
        self._name = f"cohort-rules-{id(self):x}"
        session.opened.connect(self._on_opened)
        session.closed.connect(self._on_closed)
        session.sync_finished.connect(self._on_sync_finished)

    # -- reading -----------------------------------------------------------------------------------
    def load(self) -> int | None:
        db = self.session.db
        if db is None:
            return None

        def job(p, c):
            with db.read() as conn:
                return R.list_rules(conn)

        return self.runner.run(f"{self._name}-list", job, label="Read cohort rules", quiet=True,
                               **self._for_this_profile(self._on_loaded))

    def _on_loaded(self, rules) -> None:
        self.rules = list(rules)
        self.rules_loaded.emit(self.rules)

    def rule_for(self, cohortid: int) -> R.CohortRule | None:
        return next((r for r in self.rules if r.cohortid == cohortid), None)

    def diff(self, cohortid: int, spec: UserFilter | None = None, remove_others: bool | None = None) -> int | None:
        """Work out what the rule of ``cohortid`` (or ``spec``, not saved yet) would change now."""
        db = self.session.db
        if db is None:
            return None
        stored = self.rule_for(cohortid)

        def job(p, c):
            with db.read() as conn:
                rule = R.rule_for_cohort(conn, cohortid)
                if spec is not None or rule is None:
                    name = conn.exec_driver_sql("SELECT name FROM cohorts WHERE id = ?", (cohortid,)).scalar() or ""
                    rule = R.CohortRule(rule.id if rule else 0, cohortid, spec or UserFilter(),
                                        remove_others if remove_others is not None else
                                        (stored.remove_others if stored else True), name)
                elif remove_others is not None:
                    from dataclasses import replace

                    rule = replace(rule, remove_others=remove_others)
                return R.diff_rule(conn, rule)

        return self.runner.run(f"{self._name}-diff", job, label="Work out the rule's changes",
                               **self._for_this_profile(self.diff_ready.emit))

    def check_now(self, *, announce: bool = False, say_all_hold: bool = False) -> int | None:
        """Diff every rule and keep the counts (drift); with ``announce``, emit ``drift_found``; with
        ``say_all_hold`` (the admin asked), emit ``all_hold`` when nothing drifted."""
        db = self.session.db
        if db is None:
            return None

        def job(p, c):
            with db.read() as conn:
                return R.check_all(conn, cancel=c)

        return self.runner.run(f"{self._name}-check", job, label="Check rule-based cohorts", quiet=True,
                               **self._for_this_profile(lambda diffs: self._on_checked(diffs, announce, say_all_hold)))

    def _for_this_profile(self, on_done) -> dict:
        """A job's ``on_done`` (and ``problem`` as its ``on_error``) for the profile open now: the rules, diffs and
        checks of a profile closed since are not the next one's (a diff would be planned, a check recorded,
        against the other site's copy)."""
        mine = self.session.for_this_profile
        return {"on_done": mine(on_done), "on_error": mine(self.problem.emit)}

    def _on_checked(self, diffs, announce: bool, say_all_hold: bool = False) -> None:
        self.checked.emit(diffs)
        if diffs:
            self.session.run_writer(f"{self._name}-record", lambda w: R.record_checks(w, diffs),
                                    **self._for_this_profile(lambda _r: self.load()))
        drifted = [d for d in diffs if d.drifted or d.problem]
        if announce and drifted:
            self.drift_found.emit(drifted)
        elif say_all_hold and not drifted:
            self.all_hold.emit(len(diffs))

    def _on_sync_finished(self, result) -> None:
        # After a sync the site's truth is in the cache: say which rules no longer hold. Never apply.
        if result is not None and getattr(result, "status", "") in ("ok", "partial"):
            self.check_now(announce=True)

    def _on_opened(self, _profile) -> None:
        self.load()

    def _on_closed(self) -> None:
        self.rules = []
        self.rules_loaded.emit([])

    # -- writing -------------------------------------------------------------------------------------
    def save(self, cohortid: int, spec: UserFilter, *, remove_others: bool = True) -> int | None:
        """Store the rule (checked first: a rule without conditions is refused with a message)."""
        try:
            spec = R.check_rule(cohortid, spec)
        except R.RuleError as exc:
            self.problem.emit(str(exc))
            return None

        def job(writer):
            try:
                return R.save_rule(writer, cohortid, spec, remove_others=remove_others)
            except R.RuleError as exc:
                return exc

        def done(result) -> None:
            if isinstance(result, R.RuleError):
                self.problem.emit(str(result))
                return
            self.saved.emit(int(result), cohortid)
            self.load()

        return self.session.run_writer(f"{self._name}-save", job, **self._for_this_profile(done))

    def delete(self, rule_id: int) -> int | None:
        def done(_ok) -> None:
            self.deleted.emit(rule_id)
            self.load()

        return self.session.run_writer(f"{self._name}-delete", lambda w: R.delete_rule(w, rule_id),
                                       **self._for_this_profile(done))

    def plan_diff(self, diff: R.RuleDiff) -> int | None:
        """Hand the diff's changes to the change engine (the preview opens; nothing is sent yet)."""
        if not diff.ok or not diff.drifted or self.actions is None:
            return None
        from lms_console.services.memberships_import import Target

        target = Target("cohort", diff.rule.cohortid, diff.rule.cohort_name)
        return self.actions.plan_changes(diff.changes(), diff.title, target=target)


__all__ = ["CohortRulesModel"]
