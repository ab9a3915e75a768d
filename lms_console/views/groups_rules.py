"""The membership rule of a cohort: conditions on profile fields (department, country, a custom
field, ...) that define who belongs, the difference with the cohort now (who joins, who leaves),
and "Preview changes", which hands that difference to the change engine's preview.

Nothing is applied without the admin: saving a rule only stores it; after each sync the console
says which rules drifted and offers this dialog again.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.plan_model import count_phrase
from lms_console.services.users_filter_text import describe
from lms_console.services.users_query import PROFILE_FIELDS, Condition, FilterError, UserFilter
from lms_console.views.icons import icon

_CHECK_FIRST = "Press “Check” first: see who would join and leave before you preview the changes."
_TEXT_OPS = (("is", "is"), ("is_not", "is not"), ("contains", "contains"), ("empty", "is empty"),
             ("not_empty", "is filled in"))
_MEMBER_OPS = (("in", "is a member of"), ("not_in", "is not a member of"))
_COURSE_OPS = (("in", "is enrolled in"), ("not_in", "is not enrolled in"))


def rule_fields(custom: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(field, key, label) a rule condition can test."""
    out = [("profile", k, label) for k, label in PROFILE_FIELDS.items()]
    out += [("custom", short, f"{name or short} (custom field)") for short, name in custom]
    out += [("auth", "", "Authentication method"), ("suspended", "", "Account suspended"),
            ("cohort", "", "Another cohort"), ("course", "", "Course enrolment")]
    return out


class ConditionRow(QWidget):
    """One condition: field, operator, value.

    Signals:
        changed(): something changed.
        remove_requested(): the × was clicked.
    """

    changed = Signal()
    remove_requested = Signal()

    def __init__(self, fields, choices: Mapping[str, Sequence[str]], cohorts, courses, auths,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._choices, self._cohorts, self._courses, self._auths = choices, cohorts, courses, auths
        self.field = QComboBox()
        self.field.setObjectName("RuleField")
        for f, key, label in fields:
            self.field.addItem(label, (f, key))
        self.op = QComboBox()
        self.op.setObjectName("RuleOperator")
        self.value = QComboBox()
        self.value.setObjectName("RuleValue")
        self.value.setEditable(True)
        self.value.setMinimumContentsLength(18)
        self.value.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.remove = QToolButton()
        self.remove.setIcon(icon("close"))
        self.remove.setToolTip("Remove this condition")
        self.remove.setAutoRaise(True)
        self.remove.clicked.connect(self.remove_requested)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.field, 2)
        lay.addWidget(self.op, 1)
        lay.addWidget(self.value, 2)
        lay.addWidget(self.remove)
        self.field.currentIndexChanged.connect(self._field_changed)
        self.op.currentIndexChanged.connect(self._op_changed)
        self.value.currentTextChanged.connect(lambda _t: self.changed.emit())
        self._field_changed()

    def _field_changed(self) -> None:
        f, key = self.field.currentData()
        ops = {"cohort": _MEMBER_OPS, "course": _COURSE_OPS, "suspended": (("is", "is"),),
               "auth": (("is", "is"), ("is_not", "is not"))}.get(f, _TEXT_OPS)
        self.op.blockSignals(True)
        self.op.clear()
        for op, label in ops:
            self.op.addItem(label, op)
        self.op.blockSignals(False)
        self.value.blockSignals(True)
        self.value.clear()
        self.value.setEditable(f in ("profile", "custom", "auth"))
        if f == "profile":
            for v in self._choices.get(key, ()):
                self.value.addItem(v, v)
        elif f == "auth":
            for v in self._auths:
                self.value.addItem(v, v)
        elif f == "cohort":
            for cid, name in self._cohorts:
                self.value.addItem(name, cid)
        elif f == "course":
            for cid, short, _full in self._courses:
                self.value.addItem(short, cid)
        elif f == "suspended":
            self.value.addItem("yes", True)
            self.value.addItem("no", False)
        if self.value.isEditable():
            self.value.setEditText("")
        self.value.blockSignals(False)
        self._op_changed()

    def _op_changed(self) -> None:
        self.value.setVisible(self.op.currentData() not in ("empty", "not_empty"))
        self.changed.emit()

    def set_condition(self, c: Condition) -> None:
        for i in range(self.field.count()):
            f, key = self.field.itemData(i)
            if f == c.field and (key == c.key or f not in ("profile", "custom")):
                self.field.setCurrentIndex(i)
                break
        self.op.setCurrentIndex(max(0, self.op.findData(c.op)))
        if self.value.isEditable():
            self.value.setEditText("" if c.value is None else str(c.value))
        else:
            self.value.setCurrentIndex(max(0, self.value.findData(c.value)))

    def condition(self) -> Condition:
        """The condition, or FilterError saying what is missing."""
        f, key = self.field.currentData()
        op = self.op.currentData()
        if op in ("empty", "not_empty"):
            return Condition(f, op, None, key)
        if self.value.isEditable():
            text = self.value.currentText().strip()
            if not text:
                raise FilterError(f"“{self.field.currentText()}” needs a value")
            return Condition(f, op, text, key)
        return Condition(f, op, self.value.currentData(), key)


class RuleDialog(QDialog):
    """Edit, check and apply the rule of one cohort (``open()``).

    Signals:
        save_requested(int, object, bool): cohort id, UserFilter, remove members it does not match.
        check_requested(int, object, bool): work out the diff of these conditions (not saved).
        apply_requested(object): plan this RuleDiff (the change engine's preview opens).
        delete_requested(int): delete the rule with this id.
    """

    save_requested = Signal(int, object, bool)
    check_requested = Signal(int, object, bool)
    apply_requested = Signal(object)
    delete_requested = Signal(int)

    def __init__(self, cohortid: int, cohort: str, rule=None, *, custom: Sequence[tuple[str, str]] = (),
                 choices: Mapping[str, Sequence[str]] | None = None, cohorts=(), courses=(), auths=(),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cohortid = cohortid
        self.rule = rule
        self.diff = None
        self.setObjectName("RuleDialog")
        self.setWindowTitle(f"Membership rule of {cohort}")
        self.resize(820, 640)
        self._args = (rule_fields(custom), dict(choices or {}), [(c, n) for c, n in cohorts if c != cohortid],
                      list(courses), list(auths))
        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        head = QLabel(f"Who belongs in {cohort}")
        head.setObjectName("DialogHeading")
        head.setTextFormat(Qt.TextFormat.PlainText)
        sub = QLabel("Users who match every condition belong in the cohort. Saving only stores the rule; after each "
                     "sync the console says when the cohort no longer matches it, and nothing changes on the site "
                     "until you preview and apply the changes.")
        sub.setObjectName("DialogHint")
        sub.setWordWrap(True)
        lay.addWidget(head)
        lay.addWidget(sub)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(6)
        lay.addLayout(self.rows_box)
        add_row = QHBoxLayout()
        self.add_button = QPushButton("Add condition")
        self.add_button.setIcon(icon("add"))
        self.add_button.clicked.connect(lambda: self.add_row())
        self.remove_others = QCheckBox("Also remove members who do not match")
        self.remove_others.setChecked(rule.remove_others if rule is not None else True)
        self.remove_others.setToolTip("Off: the rule only adds; members put in by hand stay.")
        self.remove_others.toggled.connect(self._changed)
        add_row.addWidget(self.add_button)
        add_row.addStretch(1)
        add_row.addWidget(self.remove_others)
        lay.addLayout(add_row)
        self.sentence = QLabel()
        self.sentence.setObjectName("RuleSentence")
        self.sentence.setWordWrap(True)
        self.sentence.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.sentence)

        self.diff_frame = QFrame()
        self.diff_frame.setObjectName("RuleDiff")
        grid = QGridLayout(self.diff_frame)
        self.diff_summary = QLabel("Press “Check” to see who would join and who would leave.")
        self.diff_summary.setObjectName("RuleDiffSummary")
        self.diff_summary.setWordWrap(True)
        self.diff_summary.setTextFormat(Qt.TextFormat.RichText)
        self.joins_label = QLabel("Join")
        self.joins_label.setObjectName("SectionTitle")
        self.leaves_label = QLabel("Leave")
        self.leaves_label.setObjectName("SectionTitle")
        self.joins = QListWidget()
        self.joins.setObjectName("RuleJoins")
        self.leaves = QListWidget()
        self.leaves.setObjectName("RuleLeaves")
        # Before everyone (or most) of the members go: said plainly, and "everyone" needs a tick.
        self.warning = QLabel()
        self.warning.setObjectName("FieldProblem")
        self.warning.setAccessibleName("Warning")
        self.warning.setWordWrap(True)
        self.warning.setTextFormat(Qt.TextFormat.PlainText)
        self.warning.hide()
        self.confirm_remove = QCheckBox("Remove them all anyway")
        self.confirm_remove.setObjectName("ConfirmRemoveAll")
        self.confirm_remove.setToolTip("Tick to preview changes that leave the cohort without the members it has")
        self.confirm_remove.hide()
        self.confirm_remove.toggled.connect(self._update_apply)
        grid.addWidget(self.diff_summary, 0, 0, 1, 2)
        grid.addWidget(self.warning, 1, 0, 1, 2)
        grid.addWidget(self.confirm_remove, 2, 0, 1, 2)
        grid.addWidget(self.joins_label, 3, 0)
        grid.addWidget(self.leaves_label, 3, 1)
        grid.addWidget(self.joins, 4, 0)
        grid.addWidget(self.leaves, 4, 1)
        lay.addWidget(self.diff_frame, 1)

        self.problem = QLabel()
        self.problem.setObjectName("FieldProblem")
        self.problem.setWordWrap(True)
        self.problem.hide()
        lay.addWidget(self.problem)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete rule")
        self.delete_button.setObjectName("DeleteRuleButton")
        self.delete_button.setVisible(rule is not None)
        self.delete_button.clicked.connect(self._delete)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("Work out who would join and leave (nothing is saved or sent)")
        self.check_button.clicked.connect(self.check)
        self.save_button = QPushButton("Save rule")
        self.save_button.clicked.connect(self.save)
        self.apply_button = QPushButton("Preview changes…")
        self.apply_button.setObjectName("ApplyRuleButton")
        self.apply_button.setProperty("primary", True)
        self.apply_button.setToolTip(_CHECK_FIRST)
        self.apply_button.clicked.connect(self.apply)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.reject)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        for b in (self.check_button, self.save_button, self.apply_button, close):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self._rows: list[ConditionRow] = []
        for c in (rule.spec.conditions if rule is not None else ()):
            self.add_row(c)
        if not self._rows:
            self.add_row()
        self._changed()

    # -- conditions ---------------------------------------------------------------------------------------
    def add_row(self, condition: Condition | None = None) -> ConditionRow:
        row = ConditionRow(*self._args)
        if condition is not None:
            row.set_condition(condition)
        row.changed.connect(self._changed)
        row.remove_requested.connect(lambda r=row: self._remove_row(r))
        self._rows.append(row)
        self.rows_box.addWidget(row)
        self._changed()
        return row

    def _remove_row(self, row: ConditionRow) -> None:
        self._rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        self._changed()

    def spec(self) -> UserFilter:
        """The conditions as a UserFilter, or FilterError naming what is missing."""
        return UserFilter(conditions=tuple(r.condition() for r in self._rows))

    def _changed(self, *_args) -> None:
        self.diff = None
        self._show_warning("")
        try:
            spec = self.spec()
        except FilterError as exc:
            self._say(str(exc)[0].upper() + str(exc)[1:] + ".")
            self.sentence.setText("")
            self._enable(False)
            return
        if not spec.conditions:
            self._say("Add at least one condition: a rule without one would put every user in the cohort.")
            self.sentence.setText("")
            self._enable(False)
            return
        self._say("")
        names = {("cohort", c): n for c, n in self._args[2]}
        names.update({("course", c): s for c, s, _f in self._args[3]})
        names.update({("custom", s): label.replace(" (custom field)", "") for f, s, label in self._args[0]
                      if f == "custom"})
        self.sentence.setText(f"Members: {describe(spec, names)}"
                              + ("" if self.remove_others.isChecked() else ", plus anyone added by hand"))
        self._enable(True)

    def _enable(self, ok: bool) -> None:
        for b in (self.check_button, self.save_button):
            b.setEnabled(ok)
        self._update_apply()

    def _update_apply(self, *_args) -> None:
        """Preview needs a checked diff of these very conditions that changes something; one that
        removes every member also needs "Remove them all anyway" ticked."""
        diff = self.diff
        if diff is None or diff.problem:
            ok, tip = False, _CHECK_FIRST
        elif not diff.drifted:
            ok, tip = False, "Nothing to change: the cohort matches the rule."
        elif diff.needs_confirmation and not self.confirm_remove.isChecked():
            ok, tip = False, "Tick “Remove them all anyway” above to preview removing every member."
        else:
            ok, tip = True, "Save the rule and preview the changes; they are sent only when you confirm"
        self.apply_button.setEnabled(ok)
        self.apply_button.setToolTip(tip)

    def _show_warning(self, text: str, level: str = "error", confirm: bool = False) -> None:
        self.warning.setText(text)
        self.warning.setProperty("level", level)
        self.warning.style().unpolish(self.warning)
        self.warning.style().polish(self.warning)
        self.warning.setVisible(bool(text))
        self.confirm_remove.blockSignals(True)
        self.confirm_remove.setChecked(False)  # every new diff asks again
        self.confirm_remove.blockSignals(False)
        self.confirm_remove.setVisible(confirm)

    def _say(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    # -- results -------------------------------------------------------------------------------------------
    def show_problem(self, message: str) -> None:
        self._say(message)

    def show_diff(self, diff) -> None:
        if diff.rule.cohortid != self.cohortid:
            return
        self.diff = diff
        self.joins.clear()
        self.leaves.clear()
        if diff.problem:
            self.diff_summary.setText(html.escape(diff.problem))
            self._show_warning("")
            self._update_apply()
            return
        notes = []
        if diff.suspended_joins:
            n = diff.suspended_joins
            notes.append(count_phrase(n, "of those joining is a suspended account",
                                      "of those joining are suspended accounts") + " (they join, but cannot sign in)")
        if diff.unseen:
            n = diff.unseen
            notes.append(f"{count_phrase(n, 'member')} {'is' if n == 1 else 'are'} not visible to the console's token "
                         "and never removed")
        text = f"<b>{html.escape(diff.summary())}</b>"
        text += (f" The rule matches {count_phrase(diff.matched, 'user')}; the cohort has "
                 f"{count_phrase(diff.members, 'member')} now.")
        if notes:
            text += "<br>" + "; ".join(html.escape(n) for n in notes) + "."
        self.diff_summary.setText(text)
        for lst, sample, total in ((self.joins, diff.join_sample, len(diff.joins)),
                                   (self.leaves, diff.leave_sample, len(diff.leaves))):
            for u in sample:
                lst.addItem(f"{u.fullname} ({u.username})" + (" — suspended account" if u.suspended else ""))
            if total > len(sample):
                lst.addItem(f"… and {total - len(sample):,} more")
        self.joins_label.setText(f"Join ({len(diff.joins):,})")
        self.leaves_label.setText(f"Leave ({len(diff.leaves):,})")
        warning = diff.warning()
        self._show_warning(warning, "error" if diff.removes_everyone else "warning", diff.needs_confirmation)
        self._update_apply()

    def rule_saved(self, rule_id: int) -> None:
        self.delete_button.setVisible(True)
        self.rule_id = rule_id

    # -- intents ---------------------------------------------------------------------------------------------
    def check(self) -> None:
        try:
            spec = self.spec()
        except FilterError as exc:
            self._say(str(exc))
            return
        self.diff_summary.setText("Working out who would join and leave…")
        self.check_requested.emit(self.cohortid, spec, self.remove_others.isChecked())

    def save(self) -> None:
        try:
            spec = self.spec()
        except FilterError as exc:
            self._say(str(exc))
            return
        self.save_requested.emit(self.cohortid, spec, self.remove_others.isChecked())

    def apply(self) -> None:
        """Save, then preview the changes (the wiring plans the diff once the rule is saved)."""
        self._apply_after_save = True
        self.save()

    def wants_apply(self) -> bool:
        wanted = getattr(self, "_apply_after_save", False)
        self._apply_after_save = False
        return wanted

    def _delete(self) -> None:
        rule_id = getattr(self, "rule_id", None) or (self.rule.id if self.rule is not None else None)
        if rule_id:
            self.delete_requested.emit(int(rule_id))
            self.accept()


__all__ = ["ConditionRow", "RuleDialog", "rule_fields"]
