"""Enrol many users into many courses in one run: choose the users (a selection, the user list's
search, a cohort or a saved filter) and the courses, set role, dates and status, then preview.

:class:`EnrolOptionsBox` (role, start, end, status) is shared with :class:`EnrolDropDialog`, which
asks the same questions after users are dropped on a course. Both are opened with ``open()``
and say what the admin chose through a signal; nothing is sent from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.dnd import UserDrag
from lms_console.models.enrolments_model import read_course_choices, read_saved_filters
from lms_console.models.groups_actions import MAX_CHANGES, DropOptions
from lms_console.services.users_query import DEFAULT_FILTER_SPECS, DEFAULT_FILTERS, Condition, UserFilter
from lms_console.views.icons import icon


class EnrolOptionsBox(QGroupBox):
    """Role, start date, end date and status of new enrolments.

    Signals:
        changed(): any of them changed (the dialog re-checks).
    """

    changed = Signal()

    def __init__(self, roles: Sequence[tuple[int, str]], parent: QWidget | None = None) -> None:
        super().__init__("Enrolment", parent)
        self.setObjectName("EnrolOptions")
        form = QFormLayout(self)
        self.role = QComboBox()
        self.role.setObjectName("RoleCombo")
        for rid, name in roles or [(5, "Student")]:
            self.role.addItem(name, rid)
        today = QDate.currentDate()
        self.has_start = QCheckBox("Starts on")
        self.start = QDateEdit(today, calendarPopup=True)
        self.start.setDisplayFormat("yyyy-MM-dd")
        self.start.setEnabled(False)
        self.has_end = QCheckBox("Ends on")
        self.end = QDateEdit(today.addMonths(6), calendarPopup=True)
        self.end.setDisplayFormat("yyyy-MM-dd")
        self.end.setEnabled(False)
        self.status = QComboBox()
        self.status.setObjectName("StatusCombo")
        self.status.addItem("Active", False)
        self.status.addItem("Suspended (enrolled, no access yet)", True)
        for box, edit in ((self.has_start, self.start), (self.has_end, self.end)):
            box.toggled.connect(edit.setEnabled)
            box.toggled.connect(lambda _v: self.changed.emit())
            edit.dateChanged.connect(lambda _d: self.changed.emit())
        self.role.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.status.currentIndexChanged.connect(lambda _i: self.changed.emit())
        start_row, end_row = QHBoxLayout(), QHBoxLayout()
        start_row.addWidget(self.has_start)
        start_row.addWidget(self.start, 1)
        end_row.addWidget(self.has_end)
        end_row.addWidget(self.end, 1)
        self.problem = QLabel()
        self.problem.setObjectName("FieldProblem")
        self.problem.hide()
        form.addRow("&Role", self.role)
        form.addRow("", _wrap(start_row))
        form.addRow("", _wrap(end_row))
        form.addRow("", self.problem)
        form.addRow("&Status", self.status)
        self.changed.connect(self._check)

    def options(self) -> DropOptions:
        start = QDateTime(self.start.date(), QTime(0, 0)).toSecsSinceEpoch() if self.has_start.isChecked() else 0
        end = QDateTime(self.end.date(), QTime(23, 59, 59)).toSecsSinceEpoch() if self.has_end.isChecked() else 0
        return DropOptions(int(self.role.currentData() or 5), int(start), int(end), bool(self.status.currentData()))

    def error(self) -> str:
        o = self.options()
        if o.timestart and o.timeend and o.timeend <= o.timestart:
            return "The end date must be after the start date."
        return ""

    def _check(self) -> None:
        err = self.error()
        self.problem.setText(err)
        self.problem.setVisible(bool(err))


def _wrap(layout) -> QWidget:
    w = QWidget()
    layout.setContentsMargins(0, 0, 0, 0)
    w.setLayout(layout)
    return w


class EnrolDropDialog(QDialog):
    """After a drop on a course: with which role, dates and status to enrol the users.

    Signals:
        chosen(object): the DropOptions.
    """

    chosen = Signal(object)

    def __init__(self, course: str, drag: UserDrag, roles: Sequence[tuple[int, str]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EnrolDropDialog")
        self.setWindowTitle(f"Enrol in {course}")
        self.drag = drag
        lay = QVBoxLayout(self)
        head = QLabel(f"Enrol {drag.label()} in {course}")
        head.setObjectName("DialogHeading")
        head.setTextFormat(Qt.TextFormat.PlainText)
        hint = QLabel("Manual enrolment. Users already enrolled keep their enrolment and get this role added; the "
                      "preview shows each case before anything is sent.")
        hint.setObjectName("DialogHint")
        hint.setWordWrap(True)
        self.box = EnrolOptionsBox(roles)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Preview")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.box.changed.connect(lambda: self.ok.setEnabled(not self.box.error()))
        lay.addWidget(head)
        lay.addWidget(hint)
        lay.addWidget(self.box)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(420)

    def _accept(self) -> None:
        if self.box.error():
            return
        self.chosen.emit(self.box.options())
        self.accept()


class EnrolmentMatrixDialog(QDialog):
    """Many users × many courses, one previewed run.

    ``selection``: ids selected in the pane (may be empty); ``search``: the user list's filter and
    its count; ``cohorts``: (id, name, members); ``saved``: (id, name, UserFilter) of the saved filters
    as the pane last read them. "A saved filter" offers the built-in filters every site has (as the
    navigation tree lists them) and the saved ones, read again from the local copy on opening (a filter
    saved in the users pane since the pane read its choices is there too).

    Signals:
        enrol_requested(object, object, object): a UserDrag (ids or a filter), the course ids,
            and the DropOptions.
    """

    enrol_requested = Signal(object, object, object)

    def __init__(self, session, roles: Sequence[tuple[int, str]], *, selection: Sequence[int] = (),
                 search: tuple[UserFilter, int, str] | None = None, cohorts: Sequence[tuple[int, str, int]] = (),
                 saved: Sequence[tuple[int, str, UserFilter]] = (), courses: Sequence[int] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("EnrolmentMatrixDialog")
        self.setWindowTitle("Enrol users in courses")
        self.resize(1000, 620)
        self.selection = tuple(dict.fromkeys(selection))
        self.search_spec = search
        self.checked: dict[int, str] = {}
        self._preselect = set(courses)
        self._name = f"matrix-courses-{id(self):x}"
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._load_courses)

        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        head = QLabel("Enrol users in courses")
        head.setObjectName("DialogHeading")
        sub = QLabel("Every chosen user is enrolled in every chosen course, in one run. The preview lists each "
                     "enrolment (already enrolled, suspended accounts, …) before anything is sent.")
        sub.setObjectName("DialogHint")
        sub.setWordWrap(True)
        lay.addWidget(head)
        lay.addWidget(sub)
        cols = QHBoxLayout()
        cols.setSpacing(12)
        lay.addLayout(cols, 1)

        users = QGroupBox("1. Users")
        users.setObjectName("MatrixUsers")
        ul = QVBoxLayout(users)
        self.from_selection = QRadioButton(f"The {len(self.selection):,} selected user"
                                           f"{'s' if len(self.selection) != 1 else ''}")
        self.from_selection.setEnabled(bool(self.selection))
        self.from_search = QRadioButton(
            f"Everyone the user list shows: {search[2]} ({search[1]:,})" if search else "Everyone the user list shows")
        self.from_search.setEnabled(search is not None and search[1] > 0)
        self.from_cohort = QRadioButton("The members of a cohort")
        self.cohort_combo = QComboBox()
        self.cohort_combo.setObjectName("MatrixCohort")
        self._members = {cid: members for cid, _name, members in cohorts}
        for cid, name, members in cohorts:
            self.cohort_combo.addItem(f"{name} ({members:,})", cid)
        self.from_cohort.setEnabled(bool(cohorts))
        self.from_saved = QRadioButton("A saved filter")
        self.saved_combo = QComboBox()
        self.saved_combo.setObjectName("MatrixSavedFilter")
        self._fill_saved(saved)
        for w in (self.from_selection, self.from_search, self.from_cohort, self.cohort_combo, self.from_saved,
                  self.saved_combo):
            ul.addWidget(w)
        ul.addStretch(1)
        # Start from what the admin pointed at: the selection, else a list they narrowed. Never start
        # from every account of the site: that choice is made on purpose or not at all.
        if self.from_selection.isEnabled():
            self.from_selection.setChecked(True)
        elif self.from_search.isEnabled() and search is not None and not search[0].is_empty:
            self.from_search.setChecked(True)
        cols.addWidget(users, 3)

        courses_box = QGroupBox("2. Courses")
        courses_box.setObjectName("MatrixCourses")
        cl = QVBoxLayout(courses_box)
        self.course_search = QLineEdit()
        self.course_search.setObjectName("MatrixCourseSearch")
        self.course_search.setPlaceholderText("Search courses by short or full name")
        self.course_search.setClearButtonEnabled(True)
        self.course_search.addAction(icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.course_search.textChanged.connect(lambda _t: self._timer.start())
        self.course_list = QListWidget()
        self.course_list.setObjectName("MatrixCourseList")
        self.course_list.itemChanged.connect(self._on_course_checked)
        self.course_count = QLabel()
        self.course_count.setObjectName("GroupsHint")
        cl.addWidget(self.course_search)
        cl.addWidget(self.course_list, 1)
        cl.addWidget(self.course_count)
        cols.addWidget(courses_box, 4)

        self.options_box = EnrolOptionsBox(roles)
        cols.addWidget(self.options_box, 3)

        self.summary = QLabel()
        self.summary.setObjectName("MatrixSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Preview")
        self.ok.setObjectName("MatrixPreview")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        for b in (self.from_selection, self.from_search, self.from_cohort, self.from_saved):
            b.toggled.connect(lambda _v: self._update())
        self.cohort_combo.currentIndexChanged.connect(lambda _i: self._update())
        self.saved_combo.currentIndexChanged.connect(lambda _i: self._update())
        self.options_box.changed.connect(self._update)
        self.finished.connect(lambda _r: self.session.runner.cancel_named(self._name))
        self.finished.connect(lambda _r: self.session.runner.cancel_named(f"{self._name}-saved"))
        self._load_courses()
        self._load_saved()
        self._update()

    # -- saved filters --------------------------------------------------------------------------------------
    def set_saved(self, saved: Sequence[tuple[int, str, UserFilter]]) -> None:
        """List the built-in filters, then ``saved`` (id, name, filter); the chosen one stays chosen."""
        self._fill_saved(saved)
        self._update()

    def _fill_saved(self, saved: Sequence[tuple[int, str, UserFilter]]) -> None:
        current = self.saved_combo.currentText()
        self.saved_combo.blockSignals(True)
        self.saved_combo.clear()
        for key, label in DEFAULT_FILTERS:
            self.saved_combo.addItem(label, DEFAULT_FILTER_SPECS[key])
        for _fid, name, spec in saved:
            self.saved_combo.addItem(name, spec)
        self.saved_combo.setCurrentIndex(max(0, self.saved_combo.findText(current)))
        self.saved_combo.blockSignals(False)
        self.from_saved.setEnabled(self.saved_combo.count() > 0)

    def _load_saved(self) -> None:
        db = self.session.db
        if db is not None:
            self.session.runner.run(f"{self._name}-saved", lambda p, c: read_saved_filters(db),
                                    label="Read saved filters", quiet=True, on_done=self.set_saved)

    # -- courses --------------------------------------------------------------------------------------------
    def _load_courses(self) -> None:
        db = self.session.db
        if db is None:
            return
        text = self.course_search.text()
        self.session.runner.run(self._name, lambda p, c: read_course_choices(db, text), label="Read courses",
                                quiet=True, on_done=self.set_courses)

    def set_courses(self, rows) -> None:
        self.course_list.blockSignals(True)
        self.course_list.clear()
        for cid, shortname, fullname, category, enrolled in rows:
            if cid in self._preselect:
                self.checked[cid] = shortname
                self._preselect.discard(cid)
            item = QListWidgetItem(f"{shortname} — {fullname}")
            item.setToolTip(f"{fullname}\n{category} · {enrolled:,} enrolled")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if cid in self.checked else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, (cid, shortname))
            self.course_list.addItem(item)
        self.course_list.blockSignals(False)
        self._update()

    def _on_course_checked(self, item: QListWidgetItem) -> None:
        cid, shortname = item.data(Qt.ItemDataRole.UserRole)
        if item.checkState() == Qt.CheckState.Checked:
            self.checked[cid] = shortname
        else:
            self.checked.pop(cid, None)
        self._update()

    # -- what is asked ----------------------------------------------------------------------------------------
    def users(self) -> tuple[UserDrag | None, int | None, str]:
        """(the users as a UserDrag, how many if known, a label)."""
        if self.from_selection.isChecked() and self.selection:
            return UserDrag(ids=self.selection, source="matrix"), len(self.selection), "selected users"
        if self.from_search.isChecked() and self.search_spec is not None:
            spec, n, label = self.search_spec
            return UserDrag(spec=spec, count=n, source="matrix"), n, label
        if self.from_cohort.isChecked() and self.cohort_combo.currentData() is not None:
            cid = int(self.cohort_combo.currentData())
            members = self._members.get(cid, 0)
            spec = UserFilter(conditions=(Condition("cohort", "in", cid),))
            return UserDrag(spec=spec, count=members, source="matrix"), members, self.cohort_combo.currentText()
        if self.from_saved.isChecked() and isinstance(self.saved_combo.currentData(), UserFilter):
            spec = self.saved_combo.currentData()
            return UserDrag(spec=spec, source="matrix"), None, self.saved_combo.currentText()
        return None, None, ""

    def problem(self) -> str:
        drag, n, _label = self.users()
        if drag is None:
            return "Choose the users to enrol."
        if n == 0:
            return "No users to enrol: the chosen source is empty."
        if not self.checked:
            return "Choose at least one course."
        if n is not None and n * len(self.checked) > MAX_CHANGES:
            return (f"{n:,} users × {len(self.checked):,} courses is {n * len(self.checked):,} enrolments; one run "
                    f"takes at most {MAX_CHANGES:,}. Choose fewer and do it in parts.")
        return self.options_box.error()

    def _update(self) -> None:
        self.cohort_combo.setEnabled(self.from_cohort.isChecked())
        self.saved_combo.setEnabled(self.from_saved.isChecked())
        self.course_count.setText(f"{len(self.checked):,} course{'s' if len(self.checked) != 1 else ''} chosen"
                                  + (f": {', '.join(list(self.checked.values())[:6])}"
                                     + ("…" if len(self.checked) > 6 else "") if self.checked else ""))
        problem = self.problem()
        _drag, n, _label = self.users()
        if problem:
            self.summary.setText(problem)
            self.summary.setProperty("state", "problem")
        else:
            who = f"{n:,} user{'s' if n != 1 else ''}" if n is not None else "the users the filter matches"
            total = (f" = {n * len(self.checked):,} enrolment{'s' if n * len(self.checked) != 1 else ''}"
                     if n is not None else "")
            self.summary.setText(f"{who} × {len(self.checked):,} course{'s' if len(self.checked) != 1 else ''}{total}, "
                                 f"as {self.options_box.role.currentText()}. Nothing is sent before you confirm the "
                                 "preview.")
            self.summary.setProperty("state", "ok")
        self.summary.style().unpolish(self.summary)
        self.summary.style().polish(self.summary)
        self.ok.setEnabled(not problem)

    def _accept(self) -> None:
        if self.problem():
            return
        drag, _n, _label = self.users()
        self.enrol_requested.emit(drag, list(self.checked), self.options_box.options())
        self.accept()


__all__ = ["EnrolDropDialog", "EnrolOptionsBox", "EnrolmentMatrixDialog"]
