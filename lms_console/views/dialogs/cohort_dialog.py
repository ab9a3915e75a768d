"""Create a cohort (system or category context) or change one: name, ID number, visibility,
description. Opened with ``open()``; what the admin asks for comes out as changes through
``changes_ready`` and goes to the change engine's preview (nothing is sent from here).

Bad input is named under the field and keeps the OK button disabled: no name, an ID number
another cohort uses (named; an unchanged ID number is not checked, as older sites have
duplicates), nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.plan_model import names_phrase
from lms_console.services.changes.model import Change


class CohortDialog(QDialog):
    """New cohort, or properties of an existing one (``cohort`` given: a mapping with id, name,
    idnumber, visible, description, categoryid). ``taken_idnumbers``: ID number → the (id, name)
    of every cohort using it.

    Signals:
        changes_ready(object, str): the list of Change and a title for the preview.
    """

    changes_ready = Signal(object, str)

    def __init__(self, categories: Sequence[tuple[int, str]], *, cohort: Mapping | None = None,
                 taken_idnumbers: Mapping[str, Sequence[tuple[int, str]]] | None = None,
                 category: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cohort = dict(cohort) if cohort else None
        self._taken: dict[str, list[tuple[int, str]]] = {}
        for key, users in (taken_idnumbers or {}).items():
            self._taken.setdefault(key.lower(), []).extend(users)
        self.setObjectName("CohortDialog")
        editing = self.cohort is not None
        self.setWindowTitle(f"Cohort {self.cohort['name']}" if editing else "New cohort")
        self.setMinimumWidth(480)
        lay = QVBoxLayout(self)
        hint = QLabel("Changes are sent after you confirm the preview." if editing else
                      "The cohort is created on the site after you confirm the preview.")
        hint.setObjectName("DialogHint")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.name = QLineEdit(self.cohort.get("name", "") if editing else "")
        self.name.setMaxLength(254)
        self.name.setPlaceholderText("e.g. Sales Germany")
        self.idnumber = QLineEdit(self.cohort.get("idnumber", "") if editing else "")
        self.idnumber.setMaxLength(100)
        self.idnumber.setPlaceholderText("optional, unique: e.g. COH-SALES-DE")
        self.context = QComboBox()
        self.context.setObjectName("ContextCombo")
        self.context.setMinimumContentsLength(28)
        self.context.addItem("System (the whole site)", 0)
        for ident, path in categories:
            self.context.addItem(f"Category: {path}", ident)
        current = self.cohort.get("categoryid") if editing else category
        if current is None and editing:
            self.context.insertItem(1, "A category (not known to the console yet)", -1)
            self.context.setCurrentIndex(1)
        else:
            self.context.setCurrentIndex(max(0, self.context.findData(current or 0)))
        self.context.setEnabled(not editing)
        if editing:
            self.context.setToolTip("A cohort's context cannot be changed here (Moodle would move it).")
        self.visible = QCheckBox("Visible (others can see and use it, e.g. for cohort sync)")
        self.visible.setChecked(bool(self.cohort.get("visible", True)) if editing else True)
        self.description = QPlainTextEdit(self.cohort.get("description", "") if editing else "")
        self.description.setFixedHeight(80)
        self.description.setTabChangesFocus(True)
        self.name_problem = _problem()
        self.idnumber_problem = _problem()
        form.addRow("&Name", self.name)
        form.addRow("", self.name_problem)
        form.addRow("&ID number", self.idnumber)
        form.addRow("", self.idnumber_problem)
        form.addRow("&Context", self.context)
        form.addRow("", self.visible)
        form.addRow("&Description", self.description)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Preview")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        for w in (self.name, self.idnumber):
            w.textChanged.connect(self._validate)
        self.visible.toggled.connect(self._validate)
        self.description.textChanged.connect(self._validate)
        self._validate()

    def _fields(self) -> dict:
        return {"name": " ".join(self.name.text().split()), "idnumber": self.idnumber.text().strip(),
                "visible": self.visible.isChecked(), "description": self.description.toPlainText().strip()}

    def problems(self) -> dict[str, str]:
        f = self._fields()
        out = {}
        if not f["name"]:
            out["name"] = "A cohort needs a name."
        unchanged = self.cohort is not None and f["idnumber"] == (self.cohort.get("idnumber") or "").strip()
        if f["idnumber"] and not unchanged:
            own = self.cohort.get("id") if self.cohort is not None else None
            others = [name for ident, name in self._taken.get(f["idnumber"].lower(), ()) if ident != own]
            if others:
                out["idnumber"] = (f"{names_phrase('Cohort', others)} already {'uses' if len(others) == 1 else 'use'} "
                                   "this ID number; ID numbers must be unique.")
        return out

    def changed_fields(self) -> dict:
        if self.cohort is None:
            return self._fields()
        before = {"name": self.cohort.get("name", ""), "idnumber": self.cohort.get("idnumber", "") or "",
                  "visible": bool(self.cohort.get("visible", True)),
                  "description": (self.cohort.get("description", "") or "").strip()}
        return {k: v for k, v in self._fields().items() if v != before[k]}

    def _validate(self) -> None:
        problems = self.problems()
        self.name_problem.setText(problems.get("name", ""))
        self.name_problem.setVisible("name" in problems and self.name.isModified())
        self.idnumber_problem.setText(problems.get("idnumber", ""))
        self.idnumber_problem.setVisible("idnumber" in problems)
        nothing = self.cohort is not None and not self.changed_fields()
        self.ok.setEnabled(not problems and not nothing)
        self.ok.setToolTip("Nothing has changed." if nothing else " ".join(problems.values()))

    def _accept(self) -> None:
        if self.problems():
            self.name_problem.setVisible("name" in self.problems())
            return
        fields = self.changed_fields()
        if self.cohort is None:
            data = {**fields}
            cat = self.context.currentData()
            if cat:
                data["categoryid"] = int(cat)
            self.changes_ready.emit([Change("cohort.create", data)], f"Create cohort {fields['name']}")
        elif fields:
            title = (f"Rename cohort {self.cohort['name']} to {fields['name']}" if set(fields) == {"name"}
                     else f"Change cohort {self.cohort['name']}")
            self.changes_ready.emit([Change("cohort.update", {"id": self.cohort["id"], "fields": fields})], title)
        self.accept()



def _problem() -> QLabel:
    label = QLabel()
    label.setObjectName("FieldProblem")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.hide()
    return label


__all__ = ["CohortDialog"]
