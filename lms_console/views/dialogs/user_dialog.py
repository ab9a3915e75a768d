"""A user's properties (account, profile, cohorts, groups, enrolments, journal). Edits become Changes
planned by the change engine (the preview opens); nothing is sent from here. Closing with edits that are
not in a preview now, nor applied from one, asks first. The users pane's bulk-action dialog is in
bulk_action_dialog.py."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.users_actions import edit_problems
from lms_console.models.users_detail_model import UserDetailLoader, UserJournalModel
from lms_console.services.changes.model import Change
from lms_console.views.widgets.empty_state import empty_state_label
from lms_console.views.widgets.question import ask

PROFILE_FIELDS = (("firstname", "First name"), ("lastname", "Last name"), ("idnumber", "ID number"),
                  ("department", "Department"), ("institution", "Institution"), ("city", "City/town"),
                  ("country", "Country (2 letters)"), ("lang", "Language"), ("timezone", "Timezone"),
                  ("phone1", "Phone"), ("phone2", "Mobile phone"), ("address", "Address"))
ACCOUNT_FIELDS = (("username", "Username"), ("email", "Email address"))
FIELD_LABELS = dict((*ACCOUNT_FIELDS, *PROFILE_FIELDS, ("auth", "Authentication"), ("description", "Description")))
SERVER_TIMEZONE = "99"  # Moodle's value for "the server's timezone" (the default of every new account)
# What an empty field means, said in it: Moodle gives a new account the site's language, and "99" is no
# timezone but the server's. A just-created account has neither in the local copy until the next sync.
DEFAULT_HINTS = {"lang": "Site default language", "timezone": "Server timezone"}


def shown_value(key: str, value) -> str:
    """The text a profile field shows for the site's value (the server's timezone: empty, with its hint)."""
    text = str(value or "")
    return "" if key == "timezone" and text == SERVER_TIMEZONE else text


def stored_value(key: str, text: str, site: str) -> str:
    """The value a profile field's text stands for (an emptied timezone is the server's again)."""
    if key == "timezone" and not text.strip():
        return site if site in ("", SERVER_TIMEZONE) else SERVER_TIMEZONE
    return text


def plain_label(text: str = "", name: str = "") -> QLabel:
    """A label for data: never interpreted as rich text (a name like "<b>x" stays literal)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


def when(stamp: int | None, never: str = "Never") -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)) if stamp else never


def small_table(name: str, headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return table


def fill(table: QTableWidget, rows: list[tuple]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            table.setItem(r, c, QTableWidgetItem("" if value is None else str(value)))
    table.resizeColumnsToContents()


class ListTable(QStackedWidget):
    """A small table that says so in words when it is empty."""

    def __init__(self, name: str, headers: tuple[str, ...], empty: str) -> None:
        super().__init__()
        self.table = small_table(name, headers)
        self.empty = empty_state_label(empty)
        self.addWidget(self.table)
        self.addWidget(self.empty)

    def set_rows(self, rows: list[tuple]) -> None:
        fill(self.table, rows)
        self.setCurrentWidget(self.table if rows else self.empty)


class UserDialog(QDialog):
    """Properties of one user; "Preview changes…" plans what the admin edited.

    Signals:
        access_check_requested(int): the admin asked why this user cannot get in.
    """

    access_check_requested = Signal(int)

    def __init__(self, session, actions, userid: int, parent: QWidget | None = None, *, auths=()) -> None:
        super().__init__(parent)
        self.setObjectName("UserDialog")
        self.setWindowTitle(f"User {userid}")
        self.resize(760, 560)
        self.session = session
        self.actions = actions
        self.userid = userid
        self.detail = None
        self.loader = UserDetailLoader(session, self)
        self.journal = UserJournalModel(session, self)
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, tuple[QFormLayout, QLabel]] = {}  # field -> the line under it that says what is wrong
        self.custom_edits: dict[str, QLineEdit] = {}
        self._previewed: list[Change] = []  # the edits in the preview (or applied from it): closing does not lose them
        self._planning: list[Change] | None = None  # the edits whose preview was asked for and has not opened yet
        self._preview_title = ""  # the title of their preview, once it opened
        self.discard_box: QMessageBox | None = None

        self.heading = plain_label("Reading the user…", "DialogHeading")
        self.summary = plain_label("", "DialogSummary")
        self.stale_note = plain_label("", "StaleNote")
        self.stale_note.hide()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._account_tab(auths), "Account")
        self.profile_form = QFormLayout()
        profile = QWidget()
        profile.setLayout(self.profile_form)
        scroll = QScrollArea()  # sites with many custom profile fields
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(profile)
        self.tabs.addTab(scroll, "Profile")
        self.cohorts_box = ListTable("UserCohorts", ("Cohort", "ID number"), "Not a member of any cohort.")
        self.cohorts = self.cohorts_box.table
        self.tabs.addTab(self.cohorts_box, "Cohorts")
        self.groups_box = ListTable("UserGroups", ("Course", "Group"), "Not in any course group.")
        self.groups = self.groups_box.table
        self.tabs.addTab(self.groups_box, "Groups")
        self.enrolments_box = ListTable("UserEnrolments", ("Course", "Roles", "Status", "Starts", "Ends",
                                                           "Last access", "Progress", "Completed"),
                                        "Not enrolled in any course (as far as the local copy knows).")
        self.enrolments = self.enrolments_box.table
        self.tabs.addTab(self.enrolments_box, "Enrolments")
        self.journal_view = QTableView()
        self.journal_view.setTabKeyNavigation(False)  # Tab leaves the table, not walks its cells
        self.journal_view.setObjectName("UserJournal")
        self.journal_view.setModel(self.journal)
        self.journal_view.verticalHeader().hide()
        self.journal_view.setShowGrid(False)
        self.journal_view.setAlternatingRowColors(True)
        # The change's title is what the admin reads; the message is often empty: the title gets the room.
        header = self.journal_view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # time, result, by
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(4, 180)
        self.journal_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.journal_empty = empty_state_label("The console has made no changes to this account yet.")
        journal_page = QStackedWidget()
        journal_page.addWidget(self.journal_view)
        journal_page.addWidget(self.journal_empty)
        self.journal.loaded.connect(
            lambda n: journal_page.setCurrentWidget(self.journal_view if n else self.journal_empty))
        self.tabs.addTab(journal_page, "Journal")

        self.problems = plain_label("", "FieldProblem")
        self.problems.setWordWrap(True)
        self.problems.hide()
        self.buttons = QDialogButtonBox()
        self.preview_button = self.buttons.addButton("Preview changes…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.preview_button.setProperty("primary", True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.preview)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(self.summary)
        lay.addWidget(self.stale_note)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.problems)
        lay.addWidget(self.buttons)
        self.loader.loaded.connect(self._on_loaded)
        session.cache_changed.connect(self._on_cache_changed)
        self._follow_previews(getattr(parent, "change_views", None))
        self._set_enabled(False)
        self.loader.load(userid)
        self.journal.set_user(userid)

    def _account_tab(self, auths) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        for key, label in ACCOUNT_FIELDS:
            self._add_field(form, key, label)
        self.auth_combo = QComboBox()
        self.auth_combo.setEditable(True)
        self.auth_combo.addItems(list(dict.fromkeys(["manual", *auths])))
        self.auth_combo.currentTextChanged.connect(self._validate)
        form.addRow("Authentication", self.auth_combo)
        self.suspended_check = QCheckBox("Suspended (cannot sign in)")
        self.suspended_check.toggled.connect(self._validate)
        form.addRow("Status", self.suspended_check)
        self.confirmed_label = plain_label()
        form.addRow("Confirmed", self.confirmed_label)
        self.access_label = plain_label()
        form.addRow("Access", self.access_label)
        row = QHBoxLayout()
        self.force_button = QPushButton("Force password change…")
        self.force_button.setToolTip("They must choose a new password the next time they sign in")
        self.force_button.clicked.connect(self.force_password_change)
        self.check_button = QPushButton("Why can't they get in?…")
        self.check_button.clicked.connect(lambda: self.access_check_requested.emit(self.userid))
        row.addWidget(self.force_button)
        row.addWidget(self.check_button)
        row.addStretch(1)
        form.addRow("Actions", row)
        return page

    def _add_field(self, form: QFormLayout, key: str, label: str) -> None:
        """A field of the form, with the line under it where its problem is shown (hidden while fine)."""
        self.edits[key] = self._edit(key)
        form.addRow(label, self.edits[key])
        error = plain_label("", "FieldProblem")  # one line: wrapped labels in a form get squeezed
        form.addRow("", error)
        form.setRowVisible(error, False)
        self.errors[key] = (form, error)

    def _edit(self, key: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(f"UserField_{key}")
        edit.textChanged.connect(self._validate)
        return edit

    def _set_enabled(self, on: bool) -> None:
        for w in (self.tabs, self.preview_button):
            w.setEnabled(on)

    # -- loading --------------------------------------------------------------------------------------
    def _on_cache_changed(self, _entities) -> None:
        self.loader.load(self.userid)

    def _on_loaded(self, detail) -> None:
        if detail is None:
            self.heading.setText(f"User {self.userid} is not in the local copy (deleted, or not synced yet).")
            self._set_enabled(False)
            return
        if self.detail is None or not self.has_edits() or self._matches(detail):
            self.populate(detail)  # the first read, nothing edited, or the edits are what the local copy has now
        elif self._form_values(detail) == self._form_values(self.detail):
            self.detail = detail  # read again (a sync): nothing the form shows changed, the edits stay as they are
            self._show_facts(detail)
        else:
            self.stale_note.setText("This user changed in the local copy since you opened it; your edits are kept. "
                                    "Close and reopen to see the new values.")
            self.stale_note.show()

    def populate(self, detail) -> None:
        self.detail = detail
        u = detail.user
        self.edits["username"].setText(u.username)
        self.edits["email"].setText(u.email)
        self.auth_combo.setCurrentText(u.auth)
        self.suspended_check.setChecked(u.suspended)
        self._fill_profile(detail)
        self._show_facts(detail)

    @staticmethod
    def _form_values(detail) -> tuple:
        """What the form shows of ``detail`` (the fields, the status, the custom fields): a user read again with
        these the same did not change for the admin, whatever else the sync wrote (its time, the last access)."""
        u = detail.user
        return ({key: getattr(u, key, None) for key in FIELD_LABELS}, bool(u.suspended),
                tuple((cv.shortname, cv.name, cv.value) for cv in detail.custom))

    def _show_facts(self, detail) -> None:
        """Everything but the fields: the heading, the account's facts, the memberships and enrolments."""
        u = detail.user
        self.setWindowTitle(f"{u.fullname or u.username} — properties")
        self.heading.setText(detail.label)
        state = "Suspended" if u.suspended else "Active"
        self.summary.setText(f"{state} · {u.auth} · last access {when(u.lastaccess)} · id {u.id}")
        self.confirmed_label.setText("Yes" if u.confirmed else "No: has not followed the confirmation email")
        self.access_label.setText(f"First {when(u.firstaccess)}, last {when(u.lastaccess)}")
        manual = u.auth in ("manual", "email")
        self.force_button.setEnabled(manual)
        self.force_button.setToolTip("They must choose a new password the next time they sign in" if manual else
                                     f"The password is managed by {u.auth}, not by Moodle")
        self.cohorts_box.set_rows([(name, idn) for _i, name, idn in detail.cohorts])
        self.groups_box.set_rows([(course, group) for _c, course, _g, group in detail.groups])
        self.enrolments_box.set_rows([self._enrolment_row(e) for e in detail.enrolments])
        self.tabs.setTabText(2, f"Cohorts ({len(detail.cohorts)})")
        self.tabs.setTabText(3, f"Groups ({len(detail.groups)})")
        self.tabs.setTabText(4, f"Enrolments ({len(detail.enrolments)})")
        self.stale_note.hide()
        self._set_enabled(True)
        self._validate()

    def _fill_profile(self, detail) -> None:
        """The Profile tab. Its fields are made once and refilled in place when the user is read again (after
        a change was applied, after a sync): the field the admin is in keeps the keyboard, and no edit that
        ``values()`` reads is ever a deleted one. Only custom fields the site added or dropped are made anew."""
        u = detail.user
        if "firstname" not in self.edits:
            for key, label in PROFILE_FIELDS:
                self._add_field(self.profile_form, key, label)
            for key, hint in DEFAULT_HINTS.items():
                self.edits[key].setPlaceholderText(hint)
            self.edits["timezone"].setToolTip("Empty: the server's timezone (Moodle's 99). Or a zone such as "
                                              "Europe/Berlin")
            self.description = QPlainTextEdit()
            self.description.setMaximumHeight(70)
            self.description.textChanged.connect(self._validate)
            self.profile_form.addRow("Description", self.description)
            self._profile_rows = self.profile_form.rowCount()  # what stays when custom fields come and go
        for key, _label in PROFILE_FIELDS:
            self.edits[key].setText(shown_value(key, getattr(u, key)))
        if self.description.toPlainText() != (u.description or ""):
            self.description.setPlainText(u.description or "")
        if [cv.shortname for cv in detail.custom] != list(self.custom_edits):
            self.custom_edits = {}
            while self.profile_form.rowCount() > self._profile_rows:  # the fields and the description stay
                self.profile_form.removeRow(self.profile_form.rowCount() - 1)
            if detail.custom:
                self.profile_form.addRow(plain_label("Custom profile fields", "SectionTitle"))
            for cv in detail.custom:
                edit = self._edit(f"cf_{cv.shortname}")
                edit.setToolTip(f"Custom profile field {cv.shortname} ({cv.type or 'text'})")
                self.custom_edits[cv.shortname] = edit
                self.profile_form.addRow(cv.name, edit)
        for cv in detail.custom:
            self.custom_edits[cv.shortname].setText(cv.value)

    @staticmethod
    def _enrolment_row(e) -> tuple:
        status = "Not active" if e.suspended else "Active"
        progress = "" if e.progress is None else f"{e.progress:.0f} %"
        done = when(e.timecompleted, "Yes") if e.completed else "No"
        name = e.course.shortname + ("" if e.course.visible else " (hidden)")
        return (name, ", ".join(e.roles), status, when(e.timestart, ""), when(e.timeend, ""),
                when(e.lastaccess), progress, done)

    # -- editing --------------------------------------------------------------------------------------
    def values(self) -> tuple[dict[str, str], dict[str, str], bool]:
        site = self.detail.user if self.detail is not None else None
        # A field left as the site has it is no edit, even when the site's value is odd: the guest
        # account's last name is a single space, which stripped would read as "emptied".
        fields = {}
        for k, e in self.edits.items():
            before = str(getattr(site, k, "") or "") if site is not None else ""
            text = stored_value(k, e.text(), before)
            fields[k] = text if site is not None and text == before else text.strip()
        fields["auth"] = self.auth_combo.currentText().strip()
        if hasattr(self, "description"):
            fields["description"] = self.description.toPlainText()
        custom = {k: e.text() for k, e in self.custom_edits.items()}
        return fields, custom, self.suspended_check.isChecked()

    def changes(self) -> list[Change]:
        from lms_console.models.users_actions import edit_changes

        if self.detail is None:
            return []
        fields, custom, suspended = self.values()
        current = {c.shortname: c.value for c in self.detail.custom}
        return edit_changes(self.detail.user, fields, custom, suspended, current_custom=current)

    def has_edits(self) -> bool:
        return bool(self.changes())

    def _matches(self, detail) -> bool:
        from lms_console.models.users_actions import edit_changes

        fields, custom, suspended = self.values()
        return not edit_changes(detail.user, fields, custom, suspended,
                                current_custom={c.shortname: c.value for c in detail.custom})

    def _validate(self, *_args) -> None:
        if self.detail is None:
            return
        changes = self.changes()
        changed = {}
        for c in changes:
            if c.kind == "user.update":
                changed = {k: v for k, v in c.data["fields"].items() if k != "customfields"}
        problems = edit_problems(changed)
        for key, (form, label) in self.errors.items():
            label.setText(problems.get(key, ""))
            form.setRowVisible(label, key in problems)
        # Above the buttons: every field that keeps Preview off (it may be on the other tab), in the form's
        # order; a field with no line of its own (the description) says its problem here.
        keys = [k for k in FIELD_LABELS if k in problems] + [k for k in problems if k not in FIELD_LABELS]
        named = [FIELD_LABELS.get(k, k) if k in self.errors else f"{FIELD_LABELS.get(k, k)}: {problems[k].rstrip('.')}"
                 for k in keys]
        self.problems.setText(f"Still to fix: {', '.join(named)}." if named else "")
        self.problems.setVisible(bool(named))
        self.preview_button.setEnabled(bool(changes) and not problems)
        self.preview_button.setToolTip("" if changes else "Nothing changed yet")

    def preview(self) -> None:
        if self.detail is None:
            return
        changes = self.changes()
        fields, custom, suspended = self.values()
        if self.actions.plan_edit(self.detail.user, fields, custom, suspended) is not None:
            self._previewed = self._planning = changes

    # -- the preview of the edits ---------------------------------------------------------------------
    def _follow_previews(self, views) -> None:
        """Learn from the window's change views (none: no preview ever opens) whether the preview of the edits
        opened, and whether it was applied or closed without: only then are the edits unsent again."""
        if views is None:
            return
        views.engine.planned.connect(self._on_planned)
        views.engine.plan_failed.connect(self._on_plan_failed)
        views.preview_finished.connect(self._on_preview_finished)

    def _on_planned(self, plan) -> None:
        """The first plan after Preview is that of the edits, or one asked for later that replaced it (the engine
        plans one at a time): then no preview of the edits opens."""
        if self._planning is None:
            return
        mine = bool(plan.items) and all(i.target == f"user:{self.userid}" for i in plan.items)
        self._previewed = self._planning if mine else []
        self._preview_title = plan.title if mine else ""
        self._planning = None

    def _on_plan_failed(self, _error) -> None:
        if self._planning is not None:  # no preview opens (the failure may be of another job: it opens then)
            self._previewed = []

    def _on_preview_finished(self, title: str, applied: bool) -> None:
        if title == self._preview_title and self._planning is None:
            self._preview_title = ""
            if not applied:  # cancelled: nothing was sent
                self._previewed = []

    def force_password_change(self) -> None:
        if self.detail is not None:
            self.actions.plan([Change("user.force_password_change", {"id": self.userid})],
                              f"Force a password change for {self.detail.user.username}")

    # -- closing --------------------------------------------------------------------------------------
    def unsent_edits(self) -> list[Change]:
        """The edits closing would lose: none when nothing was edited, when these very edits are in the preview
        or were applied from it (once the run is in the local copy the dialog reads the user again and has none),
        or when the profile was closed (nothing can be sent from it any more). A preview closed without applying
        sent nothing: its edits are unsent again."""
        if self.session.db is None:
            return []
        changes = self.changes()
        return [] if changes == self._previewed else changes

    def reject(self) -> None:
        """Close, Esc and the window's close button (QDialog sends all three here): with unsent edits, the
        dialog asks first and stays open."""
        if self.unsent_edits():
            self.ask_discard()
            return
        super().reject()

    def discard(self) -> None:
        """Close without asking: the edits are dropped."""
        super().reject()

    def ask_discard(self) -> QMessageBox:
        """Ask what to do with the unsent edits (non-blocking); returns the question. "Keep editing" is the
        default and Esc's; "Preview…" opens the preview of the edits and the dialog stays open."""
        info = f"You changed {self._changed_names(self.unsent_edits())}. Nothing has been sent to the site."
        can_preview = self.preview_button.isEnabled()
        if not can_preview:
            info += f" To preview, first fix what is wrong: {self.problems.text().removeprefix('Still to fix: ')}"
        R = QMessageBox.ButtonRole
        return ask(self, "discard_box", title="Unsaved changes", name="DiscardEditsQuestion", info=info,
                   text=f"Discard your changes to \u201c{self.detail.user.username}\u201d?",
                   answers=(("Preview…", R.AcceptRole, self.preview, can_preview),
                            ("Discard", R.DestructiveRole, self.discard, True),
                            ("Keep editing", R.RejectRole, None, True)),
                   default="Keep editing", escape="Keep editing")

    def _changed_names(self, changes: list[Change], most: int = 5) -> str:
        """"Email address, City/town and Status": the edited fields, in the form's words, at most ``most``."""
        custom = {cv.shortname: cv.name for cv in self.detail.custom}
        names = []
        for c in changes:
            if c.kind != "user.update":
                names.append("Status")  # suspended or not
                continue
            fields = c.data["fields"]
            names += [label for key, label in FIELD_LABELS.items() if key in fields]
            names += [custom.get(k, k) for k in fields.get("customfields", {})]
        if len(names) > most:
            names = [*names[:most - 1], f"{len(names) - most + 1} more fields"]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
