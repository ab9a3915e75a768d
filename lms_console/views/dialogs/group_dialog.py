"""Create or change a course group (name, ID number, description, the groupings it belongs to)
and create a grouping or choose its groups. Opened with ``open()``; the changes go out through
``changes_ready`` to the change engine's preview (nothing is sent from here).

A new group or grouping gets its id from the site only when it is created, so it is put into
groupings (or given groups) from its properties afterwards; the dialogs say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.plan_model import names_phrase
from lms_console.services.changes.model import Change


def _problem() -> QLabel:
    label = QLabel()
    label.setObjectName("FieldProblem")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.hide()
    return label


def _by_key(taken: Mapping[str, Sequence[tuple[int, str]]] | None) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for key, users in (taken or {}).items():
        out.setdefault(key.lower(), []).extend(users)
    return out


def _idnumber_problem(what: str, idnumber: str, before: str | None, own, taken: Mapping) -> str:
    """Who else in the course uses ``idnumber`` ("" when nobody, or when it is ``before``, unchanged)."""
    if not idnumber or idnumber == before:
        return ""
    others = [name for ident, name in taken.get(idnumber.lower(), ()) if ident != own]
    if not others:
        return ""
    return (f"{names_phrase(what.capitalize(), others)} in this course already {'uses' if len(others) == 1 else 'use'} "
            f"this ID number; a {what}'s ID number must be unique in its course.")


def _checklist(items: Sequence[tuple[int, str]], checked: set[int], name: str) -> QListWidget:
    lst = QListWidget()
    lst.setObjectName(name)
    lst.setMaximumHeight(150)
    for ident, label in items:
        item = QListWidgetItem(label)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if ident in checked else Qt.CheckState.Unchecked)
        item.setData(Qt.ItemDataRole.UserRole, ident)
        lst.addItem(item)
    return lst


def _checked(lst: QListWidget) -> set[int]:
    return {lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())
            if lst.item(i).checkState() == Qt.CheckState.Checked}


class _Base(QDialog):
    changes_ready = Signal(object, str)

    def _finish(self, layout: QVBoxLayout) -> None:
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Preview")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _accept(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    # What the dialog edits: "group" or "grouping", and the mapping of the one being changed (None: new).
    what = ""

    def _edited(self) -> Mapping | None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fields(self) -> dict:
        return {"name": " ".join(self.name.text().split()), "idnumber": self.idnumber.text().strip(),
                "description": self.description.toPlainText().strip()}

    def problems(self) -> dict[str, str]:
        """Field -> what is wrong with it: a missing name, a name or ID number another one in the course has."""
        f, item, what = self._fields(), self._edited(), self.what
        out = {}
        own = item.get("id") if item is not None else None
        if not f["name"]:
            out["name"] = f"A {what} needs a name."
        elif item is None or f["name"] != " ".join((item.get("name") or "").split()):
            other = self._taken.get(f["name"].lower())
            if other is not None and other != own:
                out["name"] = f"The course already has a {what} of this name."
        before = (item.get("idnumber") or "").strip() if item is not None else None
        clash = _idnumber_problem(what, f["idnumber"], before, own, self._taken_idnumbers)
        if clash:
            out["idnumber"] = clash
        return out

    def _show_problems(self, problems: Mapping[str, str]) -> None:
        """The name and ID number problems under their fields; the dialog grows to fit a message that wraps
        (it used to draw its second line over the next row)."""
        self.name_problem.setText(problems.get("name", ""))
        self.name_problem.setVisible("name" in problems and (self.name.isModified() or "already" in problems["name"]))
        self.idnumber_problem.setText(problems.get("idnumber", ""))
        self.idnumber_problem.setVisible("idnumber" in problems)
        layout = self.layout()
        if layout is not None:
            layout.activate()
            need = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else \
                layout.totalSizeHint().height()
            if need > self.height():
                self.resize(self.width(), need)


class GroupDialog(_Base):
    """New group in a course, or properties of one (``group``: id, name, idnumber, description).
    ``taken_names``: name → id of the course's groups; ``taken_idnumbers``: ID number → the (id,
    name) of the course's groups using it. An unchanged name or ID number is not checked.

    Signals:
        changes_ready(object, str): the list of Change and a title for the preview.
    """

    what = "group"

    def _edited(self) -> Mapping | None:
        return self.group

    def __init__(self, courseid: int, course: str, *, group: Mapping | None = None,
                 taken_names: Mapping[str, int] | None = None,
                 taken_idnumbers: Mapping[str, Sequence[tuple[int, str]]] | None = None,
                 groupings: Sequence[tuple[int, str]] = (), in_groupings: set[int] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.courseid = courseid
        self.group = dict(group) if group else None
        self._taken = {k.lower(): v for k, v in (taken_names or {}).items()}
        self._taken_idnumbers = _by_key(taken_idnumbers)
        self._in = set(in_groupings or ())
        editing = self.group is not None
        self.setObjectName("GroupDialog")
        self.setWindowTitle(f"Group {self.group['name']}" if editing else f"New group in {course}")
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        hint = QLabel(f"Course {course}. Changes are sent after you confirm the preview.")
        hint.setObjectName("DialogHint")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.name = QLineEdit(self.group.get("name", "") if editing else "")
        self.name.setMaxLength(254)
        self.idnumber = QLineEdit(self.group.get("idnumber", "") if editing else "")
        self.idnumber.setMaxLength(100)
        self.idnumber.setPlaceholderText("optional")
        self.description = QPlainTextEdit(self.group.get("description", "") if editing else "")
        self.description.setFixedHeight(70)
        self.description.setTabChangesFocus(True)
        self.name_problem = _problem()
        self.idnumber_problem = _problem()
        form.addRow("&Name", self.name)
        form.addRow("", self.name_problem)
        form.addRow("&ID number", self.idnumber)
        form.addRow("", self.idnumber_problem)
        form.addRow("&Description", self.description)
        self.groupings = _checklist(groupings, self._in, "GroupingsList")
        if editing and groupings:
            form.addRow("In &groupings", self.groupings)
        elif groupings:
            note = QLabel("Put the new group into groupings from its properties once it exists.")
            note.setObjectName("DialogHint")
            note.setWordWrap(True)
            form.addRow("Groupings", note)
        lay.addLayout(form)
        self._finish(lay)
        self.name.textChanged.connect(self._validate)
        self.idnumber.textChanged.connect(self._validate)
        self.description.textChanged.connect(self._validate)
        self.groupings.itemChanged.connect(lambda _i: self._validate())
        self._validate()

    def changes(self) -> list[Change]:
        f = self._fields()
        if self.group is None:
            return [Change("group.create", {"courseid": self.courseid, **f})]
        before = {k: (self.group.get(k) or "").strip() if isinstance(self.group.get(k), str) else self.group.get(k)
                  for k in f}
        fields = {k: v for k, v in f.items() if v != (before[k] or "")}
        out = [Change("group.update", {"id": self.group["id"], "fields": fields})] if fields else []
        now = _checked(self.groupings)
        gid = self.group["id"]
        out += [Change("grouping.assign", {"groupingid": g, "groupid": gid}) for g in sorted(now - self._in)]
        out += [Change("grouping.unassign", {"groupingid": g, "groupid": gid}) for g in sorted(self._in - now)]
        return out

    def _validate(self) -> None:
        problems = self.problems()
        self._show_problems(problems)
        empty = not self.changes() if not problems else False
        self.ok.setEnabled(not problems and not empty)
        self.ok.setToolTip("Nothing has changed." if empty else " ".join(problems.values()))

    def _accept(self) -> None:
        if self.problems():
            self.name_problem.setVisible("name" in self.problems())
            return
        changes = self.changes()
        name = self._fields()["name"]
        if self.group is None:
            title = f"Create group {name}"
        elif len(changes) == 1 and changes[0].kind == "group.update" and set(changes[0].data["fields"]) == {"name"}:
            title = f"Rename group {self.group['name']} to {name}"
        else:
            title = f"Change group {self.group['name']}"
        if changes:
            self.changes_ready.emit(changes, title)
        self.accept()


class GroupingDialog(_Base):
    """New grouping in a course, or properties of one (``grouping``: id, name, idnumber, description,
    groups): its name, ID number and description, and the groups it collects. The name and ID number
    are checked against the course's groupings: ``taken_names`` (name → id) and ``taken_idnumbers``
    (ID number → the (id, name) of the groupings using it); an unchanged one is not checked.

    Signals:
        changes_ready(object, str): the list of Change and a title for the preview.
    """

    what = "grouping"

    def _edited(self) -> Mapping | None:
        return self.grouping

    def __init__(self, courseid: int, course: str, groups: Sequence[tuple[int, str]], *,
                 grouping: Mapping | None = None, taken_names: Mapping[str, int] | None = None,
                 taken_idnumbers: Mapping[str, Sequence[tuple[int, str]]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.courseid = courseid
        self.grouping = dict(grouping) if grouping else None
        self._taken = {k.lower(): v for k, v in (taken_names or {}).items()}
        self._taken_idnumbers = _by_key(taken_idnumbers)
        editing = self.grouping is not None
        self._in = set(self.grouping.get("groups", ())) if editing else set()
        self.setObjectName("GroupingDialog")
        self.setWindowTitle(f"Grouping {self.grouping['name']}" if editing else f"New grouping in {course}")
        self.setMinimumWidth(460)
        lay = QVBoxLayout(self)
        hint = QLabel(f"Course {course}. A grouping collects groups, e.g. to limit an activity to them. Changes are "
                      "sent after you confirm the preview.")
        hint.setObjectName("DialogHint")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.name = QLineEdit(self.grouping.get("name", "") if editing else "")
        self.name.setMaxLength(254)
        self.idnumber = QLineEdit(self.grouping.get("idnumber", "") if editing else "")
        self.idnumber.setMaxLength(100)
        self.idnumber.setPlaceholderText("optional")
        self.description = QPlainTextEdit(self.grouping.get("description", "") if editing else "")
        self.description.setFixedHeight(70)
        self.description.setTabChangesFocus(True)
        self.name_problem = _problem()
        self.idnumber_problem = _problem()
        form.addRow("&Name", self.name)
        form.addRow("", self.name_problem)
        form.addRow("&ID number", self.idnumber)
        form.addRow("", self.idnumber_problem)
        form.addRow("&Description", self.description)
        self.groups = _checklist(groups, self._in, "GroupsList")
        if editing:
            form.addRow("&Groups", self.groups)
        else:
            note = QLabel("Choose its groups from its properties once it exists.")
            note.setObjectName("DialogHint")
            form.addRow("Groups", note)
        lay.addLayout(form)
        self._finish(lay)
        self.name.textChanged.connect(self._validate)
        self.idnumber.textChanged.connect(self._validate)
        self.description.textChanged.connect(self._validate)
        self.groups.itemChanged.connect(lambda _i: self._validate())
        self._validate()

    def changes(self) -> list[Change]:
        f = self._fields()
        if self.grouping is None:
            data = {"courseid": self.courseid, "name": f["name"], "idnumber": f["idnumber"]}
            if f["description"]:
                data["description"] = f["description"]
            return [Change("grouping.create", data)] if f["name"] else []
        fields = {k: v for k, v in f.items() if v != (self.grouping.get(k) or "").strip()}
        gp = self.grouping["id"]
        out = [Change("grouping.update", {"id": gp, "fields": fields})] if fields else []
        now = _checked(self.groups)
        return (out + [Change("grouping.assign", {"groupingid": gp, "groupid": g}) for g in sorted(now - self._in)]
                + [Change("grouping.unassign", {"groupingid": gp, "groupid": g}) for g in sorted(self._in - now)])

    def _validate(self) -> None:
        problems = self.problems()
        self._show_problems(problems)
        empty = not self.changes() if not problems else False
        self.ok.setEnabled(not problems and not empty)
        self.ok.setToolTip("Nothing has changed." if empty and self.grouping is not None
                           else " ".join(problems.values()))

    def _accept(self) -> None:
        changes = self.changes()
        if self.problems():
            self.name_problem.setVisible("name" in self.problems())
            return
        if not changes:
            return
        if self.grouping is None:
            title = f"Create grouping {changes[0].data['name']}"
        elif all(c.kind != "grouping.update" for c in changes):
            title = f"Change the groups of grouping {self.grouping['name']}"
        elif len(changes) == 1 and set(changes[0].data["fields"]) == {"name"}:
            title = f"Rename grouping {self.grouping['name']} to {changes[0].data['fields']['name']}"
        else:
            title = f"Change grouping {self.grouping['name']}"
        self.changes_ready.emit(changes, title)
        self.accept()


__all__ = ["GroupDialog", "GroupingDialog"]
