"""The groups pane's dialogs: new and changed cohorts, groups and groupings, deletions, the
enrolment options after a drop on a course, the enrolment matrix, the membership import and the
membership rule of a cohort. Every dialog is opened with ``open()`` (one of each kind at a time)
and ends in a plan for the change engine's preview.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from lms_console.models.groups_model import NodeRole
from lms_console.services.changes.model import Change
from lms_console.views.dialogs.cohort_dialog import CohortDialog
from lms_console.views.dialogs.enrolment_matrix_dialog import EnrolDropDialog, EnrolmentMatrixDialog
from lms_console.views.dialogs.group_dialog import GroupDialog, GroupingDialog
from lms_console.views.groups_import import ImportMembershipsDialog
from lms_console.views.groups_rules import RuleDialog


def category_paths(categories) -> list[tuple[int, str]]:
    """(id, "Faculty › Department") of every category, parents first."""
    rows = {c[0]: c for c in categories}

    def path(cid: int, depth: int = 0) -> str:
        row = rows.get(cid)
        if row is None or depth > 20:
            return ""
        up = path(row[1], depth + 1) if row[1] and row[1] != cid else ""
        return f"{up} › {row[2]}" if up else row[2]

    return sorted(((cid, path(cid)) for cid in rows), key=lambda p: p[1].lower())


def _by_idnumber(items) -> dict[str, list[tuple[int, str]]]:
    """ID number → (id, name) of the ``(id, name, idnumber)`` items using it."""
    out: dict[str, list[tuple[int, str]]] = {}
    for ident, name, idnumber in items:
        if idnumber:
            out.setdefault(idnumber, []).append((ident, name))
    return out


class GroupsDialogs(QObject):
    """Opens the pane's dialogs and turns what they produce into plans.

    Signals: none; results go to ``pane.actions`` (GroupsActions) and ``pane.rules``.
    """

    def __init__(self, pane) -> None:
        super().__init__(pane)
        self.pane = pane
        self.open_dialogs: dict[str, object] = {}
        self._apply_rule: set[int] = set()  # cohorts whose rule diff is to be planned once it is worked out
        rules = pane.rules
        rules.diff_ready.connect(self._on_diff)
        rules.saved.connect(self._on_rule_saved)
        rules.problem.connect(self._on_rule_problem)

    # -- helpers -------------------------------------------------------------------------------------------
    def _open(self, key: str, dialog) -> object:
        old = self.open_dialogs.get(key)
        if old is not None:
            old.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda _o=None, k=key, d=dialog: self._forget(k, d))
        self.open_dialogs[key] = dialog
        dialog.open()
        return dialog

    def _forget(self, key: str, dialog) -> None:
        if self.open_dialogs.get(key) is dialog:
            del self.open_dialogs[key]

    def _node(self):
        index = self.pane.tree.currentIndex()
        return index.data(NodeRole) if index.isValid() else None

    def _course(self):
        """(course id, short name) of the selected course, group or grouping."""
        node = self._node()
        if node is None:
            return None
        if node.kind == "course":
            return int(node.id), node.name
        if node.kind in ("group", "grouping"):
            return int(node.extra["courseid"]), node.extra.get("course", "")
        return None

    def _plan(self, changes, title: str) -> None:
        self.pane.actions.plan_changes(changes, title)

    # -- drops ---------------------------------------------------------------------------------------------
    def users_dropped(self, kind: str, ident: int, drag) -> None:
        pane = self.pane
        if not drag.ok:
            pane.show_problem(drag.problem or "Nothing was dropped.")
            return
        if kind != "course":
            pane.actions.plan_drop(kind, ident, drag)
            return
        node = pane.tree_model.node_at(pane.tree_model.find("course", ident))
        name = node.name if node is not None else f"course {ident}"
        dialog = EnrolDropDialog(name, drag, pane.choices.get("roles", []), pane)
        dialog.chosen.connect(lambda options: pane.actions.plan_drop("course", ident, drag, options))
        self._open("enrol-drop", dialog)

    # -- cohorts, groups, groupings -----------------------------------------------------------------------------
    def new_cohort(self) -> None:
        data = self.pane.tree_model.data_read
        node = self._node()
        category = node.extra.get("categoryid") if node is not None and node.kind in ("context", "cohort") else None
        dialog = CohortDialog(category_paths(data.categories), taken_idnumbers=self._cohort_idnumbers(),
                              category=category if isinstance(category, int) and category > 0 else None,
                              parent=self.pane)
        dialog.changes_ready.connect(self._plan)
        self._open("cohort", dialog)

    def _cohort_idnumbers(self) -> dict[str, list[tuple[int, str]]]:
        """ID number → (id, name) of every cohort using it (older sites have duplicates)."""
        return _by_idnumber((c[0], c[1], c[2]) for c in self.pane.tree_model.data_read.cohorts)

    def _course_items(self, courseid: int, kind: str) -> list[tuple[int, str, str]]:
        """(id, name, ID number) of the course's groups or groupings (``kind``) the tree has read."""
        model = self.pane.tree_model
        node = model.node_at(model.find("course", courseid))
        return [(c.id, c.name, c.extra.get("idnumber") or "") for c in node.children if c.kind == kind] if node else []

    def new_group(self) -> None:
        course = self._course()
        if course is None:
            self.pane.show_problem("Select a course (or one of its groups) first.")
            return
        model = self.pane.tree_model
        groups = self._course_items(course[0], "group")
        dialog = GroupDialog(course[0], course[1], taken_names={n: g for g, n, _i in groups},
                             taken_idnumbers=_by_idnumber(groups),
                             groupings=[(g, n) for g, n, _gs in model.groupings_of_course(course[0])], parent=self.pane)
        dialog.changes_ready.connect(self._plan)
        self._open("group", dialog)

    def new_grouping(self) -> None:
        course = self._course()
        if course is None:
            self.pane.show_problem("Select a course (or one of its groups) first.")
            return
        groupings = self._course_items(course[0], "grouping")
        dialog = GroupingDialog(course[0], course[1], self.pane.tree_model.groups_of_course(course[0]),
                                taken_names={n: g for g, n, _i in groupings}, taken_idnumbers=_by_idnumber(groupings),
                                parent=self.pane)
        dialog.changes_ready.connect(self._plan)
        self._open("grouping", dialog)

    def edit_selected(self) -> None:
        node = self._node()
        if node is None:
            return
        model = self.pane.tree_model
        e = node.extra
        if node.kind == "cohort":
            cohort = {"id": node.id, "name": node.name, "idnumber": e.get("idnumber", ""),
                      "visible": e.get("visible", True), "description": e.get("description", ""),
                      "categoryid": e.get("categoryid")}
            dialog = CohortDialog(category_paths(model.data_read.categories), cohort=cohort,
                                  taken_idnumbers=self._cohort_idnumbers(), parent=self.pane)
        elif node.kind == "group":
            cid = int(e["courseid"])
            groupings = model.groupings_of_course(cid)
            groups = self._course_items(cid, "group")
            dialog = GroupDialog(cid, e.get("course", ""), group={"id": node.id, "name": node.name,
                                                                "idnumber": e.get("idnumber", ""),
                                                                "description": e.get("description", "")},
                                 taken_names={n: g for g, n, _i in groups}, taken_idnumbers=_by_idnumber(groups),
                                 groupings=[(g, n) for g, n, _gs in groupings],
                                 in_groupings={g for g, _n, gs in groupings if node.id in gs}, parent=self.pane)
        elif node.kind == "grouping":
            cid = int(e["courseid"])
            groupings = self._course_items(cid, "grouping")
            dialog = GroupingDialog(cid, e.get("course", ""), model.groups_of_course(cid),
                                    grouping={"id": node.id, "name": node.name, "idnumber": e.get("idnumber", ""),
                                              "description": e.get("description", ""),
                                              "groups": tuple(e.get("groups", ()))},
                                    taken_names={n: g for g, n, _i in groupings},
                                    taken_idnumbers=_by_idnumber(groupings), parent=self.pane)
        else:
            return
        dialog.changes_ready.connect(self._plan)
        self._open("edit", dialog)

    def delete_selected(self) -> None:
        """Delete the selected cohort, group or grouping: a plan whose preview asks to confirm."""
        node = self._node()
        if node is None or node.kind not in ("cohort", "group", "grouping"):
            return
        what = {"cohort": "cohort", "group": "group", "grouping": "grouping"}[node.kind]
        members = f" and its {node.count:,} memberships" if node.count else ""
        self._plan([Change(f"{node.kind}.delete", {"id": int(node.id)})], f"Delete {what} {node.name}{members}")

    # -- matrix and import --------------------------------------------------------------------------------------
    def open_matrix(self, courses=()) -> None:
        pane = self.pane
        rows = pane.user_list.table.selected_rows()
        selection, _missing = pane.user_list.model.loaded_ids(rows)
        if not selection and pane.details.currentWidget() is pane.members:
            selection, _m = pane.members.model.loaded_ids(pane.members.table.selected_rows())
        ul = pane.user_list.model
        search = (ul.spec, ul.total(), ul.description) if ul.is_active() else None
        if pane.tree_search.text().strip() or "cohorts" not in pane.choices:  # the tree lists what its search finds
            cohorts = pane.choices.get("cohorts") or [(c[0], c[1], c[5]) for c in pane.tree_model.data_read.cohorts]
        else:
            cohorts = [(c[0], c[1], c[5]) for c in pane.tree_model.data_read.cohorts]  # as fresh as the tree
        if not courses:  # the course the admin is on in the tree
            node = pane.tree_model.node_at(pane.tree.currentIndex())
            course = node.id if node is not None and node.kind == "course" else None
            courses = [int(course)] if course is not None else []
        dialog = EnrolmentMatrixDialog(pane.session, pane.choices.get("roles", []), selection=selection,
                                       search=search, cohorts=cohorts, saved=pane.choices.get("saved", []),
                                       courses=list(courses), parent=pane)
        dialog.enrol_requested.connect(lambda drag, ids, options: pane.actions.plan_enrol(ids, drag, options))
        self._open("matrix", dialog)

    def open_import(self) -> None:
        dialog = ImportMembershipsDialog(self.pane.session, self.pane)
        dialog.plan_requested.connect(lambda changes, title, enrol_first: self.pane.actions.plan_changes(
            changes, title, enrol_first=enrol_first))
        self._open("import", dialog)

    # -- rules ------------------------------------------------------------------------------------------------
    def open_rule(self, cohortid: int, check: bool = False) -> RuleDialog | None:
        pane = self.pane
        cohort = next((c for c in pane.tree_model.data_read.cohorts if c[0] == cohortid), None)
        name = cohort[1] if cohort else f"cohort {cohortid}"
        options = pane.choices.get("options")
        dialog = RuleDialog(cohortid, name, pane.rules.rule_for(cohortid),
                            custom=options.custom_fields if options else (),
                            choices=pane.choices.get("rule_choices", {}),
                            cohorts=[(c[0], c[1]) for c in pane.tree_model.data_read.cohorts],
                            courses=options.courses if options else (), auths=options.auths if options else (),
                            parent=pane)
        dialog.check_requested.connect(lambda cid, spec, remove: pane.rules.diff(cid, spec, remove))
        dialog.save_requested.connect(lambda cid, spec, remove: pane.rules.save(cid, spec, remove_others=remove))
        dialog.delete_requested.connect(pane.rules.delete)
        self._open("rule", dialog)
        if check:
            dialog.check()
        return dialog

    def _rule_dialog(self, cohortid: int) -> RuleDialog | None:
        dialog = self.open_dialogs.get("rule")
        return dialog if isinstance(dialog, RuleDialog) and dialog.cohortid == cohortid else None

    def _on_diff(self, diff) -> None:
        cid = diff.rule.cohortid
        dialog = self._rule_dialog(cid)
        if dialog is not None:
            dialog.show_diff(diff)
        if cid in self._apply_rule:
            self._apply_rule.discard(cid)
            if diff.ok and diff.drifted:
                self.pane.rules.plan_diff(diff)
                if dialog is not None:
                    dialog.accept()
            elif dialog is not None and diff.ok:
                dialog.show_problem("Nothing to change: the cohort already matches the rule.")

    def _on_rule_saved(self, rule_id: int, cohortid: int) -> None:
        dialog = self._rule_dialog(cohortid)
        if dialog is None:
            return
        dialog.rule_saved(rule_id)
        if dialog.wants_apply():
            self._apply_rule.add(cohortid)
        self.pane.rules.diff(cohortid)

    def _on_rule_problem(self, problem) -> None:
        dialog = self.open_dialogs.get("rule")
        if isinstance(dialog, RuleDialog) and isinstance(problem, str):
            dialog.show_problem(problem)
            dialog.wants_apply()


__all__ = ["GroupsDialogs", "category_paths"]
