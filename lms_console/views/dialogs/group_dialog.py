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

from lms_console.services.changes.model import Change


def _problem() -> QLabel:
    label = QLabel()
    label.setObjectName("FieldProblem")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.hide()
    return label


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


class GroupDialog(_Base):
    """New group in a course, or properties of one (``group``: id, name, idnumber, description).

    Signals:
        changes_ready(object, str): the list of Change and a title for the preview.
    """

    def __init__(self, courseid: int, course: str, *, group: Mapping | None = None,
                 taken_names: Mapping[str, int] | None = None, groupings: Sequence[tuple[int, str]] = (),
                 in_groupings: set[int] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.courseid = courseid
        self.group = dict(group) if group else None
        self._taken = {k.lower(): v for k, v in (taken_names or {}).items()}
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
        form.addRow("&Name", self.name)
        form.addRow("", self.name_problem)
        form.addRow("&ID number", self.idnumber)
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

    def _fields(self) -> dict:
        return {"name": " ".join(self.name.text().split()), "idnumber": self.idnumber.text().strip(),
                "description": self.description.toPlainText().strip()}

    def problems(self) -> dict[str, str]:
        f = self._fields()
        if not f["name"]:
            return {"name": "A group needs a name."}
        other = self._taken.get(f["name"].lower())
        if other is not None and (self.group is None or other != self.group.get("id")):
            return {"name": "The course already has a group of this name."}
        return {}

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
        self.name_problem.setText(problems.get("name", ""))
        self.name_problem.setVisible(bool(problems) and (self.name.isModified() or "already" in problems.get("name", "")))
        empty = not self.changes() if not problems else False
        self.ok.setEnabled(not problems and not empty)
        self.ok.setToolTip("Nothing has changed." if empty else " ".join(problems.values()))

    def _accept(self) -> None:
        if self.problems():
            self.name_problem.show()
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
    """New grouping in a course, or the groups of one (``grouping``: id, name, groups).

    Signals:
        changes_ready(object, str): the list of Change and a title for the preview.
    """

    def __init__(self, courseid: int, course: str, groups: Sequence[tuple[int, str]], *,
                 grouping: Mapping | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.courseid = courseid
        self.grouping = dict(grouping) if grouping else None
        editing = self.grouping is not None
        self._in = set(self.grouping.get("groups", ())) if editing else set()
        self.setObjectName("GroupingDialog")
        self.setWindowTitle(f"Grouping {self.grouping['name']}" if editing else f"New grouping in {course}")
        self.setMinimumWidth(440)
        lay = QVBoxLayout(self)
        hint = QLabel(f"Course {course}. A grouping collects groups, e.g. to limit an activity to them.")
        hint.setObjectName("DialogHint")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        self.name = QLineEdit(self.grouping.get("name", "") if editing else "")
        self.name.setMaxLength(254)
        self.name.setReadOnly(editing)
        self.idnumber = QLineEdit(self.grouping.get("idnumber", "") if editing else "")
        self.idnumber.setMaxLength(100)
        self.idnumber.setReadOnly(editing)
        self.name_problem = _problem()
        form.addRow("&Name", self.name)
        form.addRow("", self.name_problem)
        form.addRow("&ID number", self.idnumber)
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
        self.groups.itemChanged.connect(lambda _i: self._validate())
        self._validate()

    def changes(self) -> list[Change]:
        if self.grouping is None:
            name = " ".join(self.name.text().split())
            return [Change("grouping.create", {"courseid": self.courseid, "name": name,
                                               "idnumber": self.idnumber.text().strip()})] if name else []
        now = _checked(self.groups)
        gp = self.grouping["id"]
        return ([Change("grouping.assign", {"groupingid": gp, "groupid": g}) for g in sorted(now - self._in)]
                + [Change("grouping.unassign", {"groupingid": gp, "groupid": g}) for g in sorted(self._in - now)])

    def _validate(self) -> None:
        missing = self.grouping is None and not self.name.text().strip()
        self.name_problem.setText("A grouping needs a name." if missing else "")
        self.name_problem.setVisible(missing and self.name.isModified())
        self.ok.setEnabled(bool(self.changes()))

    def _accept(self) -> None:
        changes = self.changes()
        if not changes:
            return
        title = (f"Create grouping {changes[0].data['name']}" if self.grouping is None
                 else f"Change the groups of grouping {self.grouping['name']}")
        self.changes_ready.emit(changes, title)
        self.accept()


__all__ = ["GroupDialog", "GroupingDialog"]
