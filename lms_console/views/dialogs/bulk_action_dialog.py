"""The users pane's bulk-action dialog: what to do (suspend, add to a cohort or group, enrol...) to the
selection or to everything the filter matches. It only gathers the choice; the pane plans the changes
and the preview shows them before anything is sent."""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, QTime, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.users_actions import LARGE_BULK
from lms_console.views.dialogs.user_dialog import plain_label
from lms_console.views.widgets.pick_list import chosen_index, make_searchable

BULK_LABELS = {
    "suspend": "Suspend…",
    "unsuspend": "Unsuspend…",
    "force_password_change": "Force password change…",
    "add_to_cohort": "Add to cohort…",
    "add_to_group": "Add to group…",
    "enrol": "Enrol in course…",
    "delete": "Delete…",
}
BULK_INTRO = {
    "suspend": ("Suspend accounts", "Suspended users cannot sign in; everything they did is kept."),
    "unsuspend": ("Unsuspend accounts", "They can sign in again."),
    "force_password_change": ("Force a password change",
                              "They must choose a new password the next time they sign in."),
    "add_to_cohort": ("Add to a cohort", "Cohort members get the cohort's course enrolments (cohort sync)."),
    "add_to_group": ("Add to a course group", ("Moodle only puts users enrolled in the course into its groups: "
                                               "the preview names those who are not, and adds the others.")),
    "enrol": ("Enrol in a course", "A manual enrolment in the course, with a role and optional dates."),
    "delete": ("Delete accounts", "Deleting removes the accounts from the site."),
}

class BulkActionDialog(QDialog):
    """How to run a bulk action: on the selection or on everything the filter matches, and with
    which cohort / course / role / dates. The change engine's preview follows.

    Signals:
        confirmed(str, str, object, object): action, scope ("selection" | "filter"), params, names.
        switch_requested(str): the admin picked another action instead (Delete -> "Suspend instead").
    """

    confirmed = Signal(str, str, object, object)
    switch_requested = Signal(str)

    def __init__(self, action: str, *, selected: int, matching: int, description: str, options,
                 actions=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BulkActionDialog")
        self.action = action
        self.actions = actions  # UsersActions: reads a course's groups for "Add to group"
        self._groups_of: int | None = None  # the course whose groups the group list shows (None: being read)
        self.selected, self.matching = selected, matching
        self.setWindowTitle(BULK_LABELS[action].rstrip("…"))
        lay = QVBoxLayout(self)
        heading = plain_label(BULK_INTRO[action][0], "DialogHeading")
        intro = plain_label(BULK_INTRO[action][1], "PaneSubtitle")
        intro.setWordWrap(True)
        lay.addWidget(heading)
        lay.addWidget(intro)
        self.selection_radio = QRadioButton(f"The {selected:,} selected user{'s' if selected != 1 else ''}"
                                            if selected != 1 else "The selected user")
        self.filter_radio = QRadioButton(f"All {matching:,} users the filter matches" if matching != 1
                                         else "The one user the filter matches")
        self.filter_radio.setToolTip(description)
        self.scope = QButtonGroup(self)
        for b in (self.selection_radio, self.filter_radio):
            self.scope.addButton(b)
        self.selection_radio.setEnabled(selected > 0)
        (self.selection_radio if selected else self.filter_radio).setChecked(True)
        lay.addWidget(plain_label("Apply to", "SectionTitle"))
        lay.addWidget(self.selection_radio)
        lay.addWidget(self.filter_radio)
        filter_note = plain_label(f"   {description}", "PaneSubtitle")
        filter_note.setWordWrap(True)
        lay.addWidget(filter_note)
        form = QFormLayout()
        self.cohort_combo = QComboBox()
        self.course_combo = QComboBox()
        self.group_combo = QComboBox()
        self.role_combo = QComboBox()
        self.start_check = QCheckBox("Starts on")
        self.end_check = QCheckBox("Ends on")
        today = QDate.currentDate()
        self.start_date = QDateEdit(today, calendarPopup=True, enabled=False)
        self.end_date = QDateEdit(today.addYears(1), calendarPopup=True, enabled=False)
        for d in (self.start_date, self.end_date):
            d.setDisplayFormat("yyyy-MM-dd")
        self.start_check.toggled.connect(self.start_date.setEnabled)
        self.end_check.toggled.connect(self.end_date.setEnabled)
        if action == "add_to_cohort":
            for cid, name in options.cohorts:
                self.cohort_combo.addItem(name, cid)
            form.addRow("Cohort", self.cohort_combo)
        elif action == "add_to_group":
            for cid, short, full in options.courses:
                self.course_combo.addItem(f"{short} — {full}" if full else short, cid)
            form.addRow("Course", self.course_combo)
            form.addRow("Group", self.group_combo)
        elif action == "enrol":
            for cid, short, full in options.courses:
                self.course_combo.addItem(f"{short} — {full}" if full else short, cid)
            for rid, name in options.roles or ((5, "Student"),):
                self.role_combo.addItem(name, rid)
            student = self.role_combo.findData(5)
            self.role_combo.setCurrentIndex(max(student, 0))
            form.addRow("Course", self.course_combo)
            form.addRow("Role", self.role_combo)
            form.addRow(self.start_check, self.start_date)
            form.addRow(self.end_check, self.end_date)
        for combo in (self.cohort_combo, self.course_combo):  # the group list: once the course's are read
            make_searchable(combo)
        lay.addLayout(form)
        self.warning = plain_label("", "BulkWarning")
        self.warning.setWordWrap(True)
        lay.addWidget(self.warning)
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton("Preview…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setProperty("primary", True)
        if action == "delete":
            self.suspend_button = self.buttons.addButton("Suspend instead…", QDialogButtonBox.ButtonRole.ActionRole)
            self.suspend_button.clicked.connect(self._suspend_instead)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.scope.buttonToggled.connect(lambda *_a: self._update())
        for w in (self.start_check, self.end_check):
            w.toggled.connect(lambda *_a: self._update())
        for w in (self.start_date, self.end_date):
            w.dateChanged.connect(lambda *_a: self._update())
        if action == "add_to_group" and actions is not None:
            actions.groups_loaded.connect(self._on_groups)
            self.course_combo.currentIndexChanged.connect(lambda *_a: self._read_groups())
            self._read_groups()
        self._update()

    def _read_groups(self) -> None:
        """The chosen course's groups are read from the local copy (the list waits for them)."""
        self._groups_of = None
        self.group_combo.clear()
        courseid = self.course_combo.currentData()
        if courseid is not None:
            self.group_combo.setPlaceholderText("Reading the course's groups…")
            self.actions.load_groups(int(courseid))
        self._update()

    def _on_groups(self, courseid: int, groups) -> None:
        if courseid != self.course_combo.currentData():
            return  # an earlier course's answer
        self._groups_of = courseid
        self.group_combo.clear()
        for gid, name in groups:
            self.group_combo.addItem(name, gid)
        self.group_combo.setPlaceholderText("No groups" if not groups else "")
        self.group_combo.setCurrentIndex(0 if groups else -1)  # with a placeholder set, none is chosen by itself
        make_searchable(self.group_combo)
        self._update()

    def count(self) -> int:
        return self.selected if self.selection_radio.isChecked() else self.matching

    def _update(self) -> None:
        n = self.count()
        who = f"{n:,} user{'s' if n != 1 else ''}"
        notes, ok = [], n > 0
        if self.action == "delete":
            notes.append(f"Deleting {who} cannot be undone: Moodle removes the accounts with their enrolments, "
                         "grades, submissions and posts. Suspending keeps everything and can be reversed.")
            self.ok_button.setText(f"Preview deletion of {who}…")
        else:
            self.ok_button.setText(f"Preview for {who}…")
        if self.action == "add_to_cohort" and self.cohort_combo.count() == 0:
            notes.append("There are no cohorts in the local copy: create one on the site or sync first.")
            ok = False
        if self.action == "add_to_group" and not self._group_ready(notes):
            ok = False
        if self.action == "enrol":
            if self.course_combo.count() == 0:
                notes.append("There are no courses in the local copy: sync first.")
                ok = False
            if self.start_check.isChecked() and self.end_check.isChecked() \
                    and self.end_date.date() <= self.start_date.date():
                notes.append("The end date must be after the start date.")
                ok = False
        if n > LARGE_BULK:
            notes.append(f"This plans {n:,} changes: reading and checking them takes a while.")
        self.warning.setText("\n".join(notes))
        self.warning.setVisible(bool(notes))
        self.warning.setProperty("level", "error" if self.action == "delete" or not ok else "warning")
        self.warning.style().unpolish(self.warning)
        self.warning.style().polish(self.warning)
        self.ok_button.setEnabled(ok)

    def _group_ready(self, notes: list[str]) -> bool:
        """Whether a group can be chosen; when not, a note says why (unless its list is being read)."""
        if self.course_combo.count() == 0:
            notes.append("There are no courses in the local copy: sync first.")
        elif self._groups_of is None:
            pass  # being read: the list says so
        elif self.group_combo.count() == 0:
            notes.append(f"{self.course_combo.currentText().split(' — ')[0]} has no groups in the local copy: "
                         "create one in the Groups & enrolments pane, or sync first.")
        else:
            return True
        return False

    def params(self) -> tuple[dict, dict]:
        params: dict = {}
        names: dict = {}
        if self.action == "add_to_cohort":
            i = chosen_index(self.cohort_combo)
            params["cohortid"] = self.cohort_combo.itemData(i) if i >= 0 else None
            names["cohort"] = self.cohort_combo.itemText(i) if i >= 0 else self.cohort_combo.currentText()
        elif self.action == "add_to_group":
            i = chosen_index(self.group_combo)
            params["groupid"] = self.group_combo.itemData(i) if i >= 0 else None
            names["group"] = self.group_combo.itemText(i) if i >= 0 else self.group_combo.currentText()
            names["course"] = self.course_combo.itemText(self.course_combo.currentIndex()).split(" — ")[0]
        elif self.action == "enrol":
            i = chosen_index(self.course_combo)
            params["courseid"] = self.course_combo.itemData(i) if i >= 0 else None
            params["roleid"] = self.role_combo.currentData()
            names["course"] = (self.course_combo.itemText(i) if i >= 0 else self.course_combo.currentText()).split(" — ")[0]
            names["role"] = self.role_combo.currentText()
            if self.start_check.isChecked():
                params["timestart"] = QDateTime(self.start_date.date(), QTime(0, 0)).toSecsSinceEpoch()
            if self.end_check.isChecked():
                params["timeend"] = QDateTime(self.end_date.date(), QTime(23, 59)).toSecsSinceEpoch()
        return params, names

    def _accept(self) -> None:
        params, names = self.params()
        missing = [k for k, v in params.items() if v is None]
        if missing:
            what = {"cohortid": "cohort", "groupid": "group", "courseid": "course", "roleid": "role"}.get(
                missing[0], missing[0])
            typed = names.get(what, "")
            self.warning.setText(f"No {what} in the list matches “{typed}”: choose one from the list (typing "
                                 "part of its name narrows it down)." if typed else f"Choose a {what} from the list.")
            self.warning.setProperty("level", "error")
            self.warning.style().unpolish(self.warning)
            self.warning.style().polish(self.warning)
            self.warning.show()
            return
        scope = "selection" if self.selection_radio.isChecked() else "filter"
        self.confirmed.emit(self.action, scope, params, names)
        self.accept()

    def _suspend_instead(self) -> None:
        self.reject()
        self.switch_requested.emit("suspend")
