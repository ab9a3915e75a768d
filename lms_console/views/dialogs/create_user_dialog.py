"""New user, validated as the admin types: required fields, Moodle's field rules, the password
policy, and whether the username or email is already taken in the local copy. "Preview…" hands
a user.create change to the change engine (its preview re-checks everything before sending)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.users_actions import REQUIRED, create_problems
from lms_console.views.dialogs.user_dialog import plain_label

FIELDS = (("username", "Username"), ("email", "Email address"), ("firstname", "First name"),
          ("lastname", "Last name"), ("idnumber", "ID number"), ("department", "Department"),
          ("institution", "Institution"), ("city", "City/town"), ("country", "Country (2 letters)"))
SUMMARY_ORDER = (*FIELDS, ("auth", "Authentication"), ("password", "Password"))
LABELS = dict(SUMMARY_ORDER)


class CreateUserDialog(QDialog):
    """The create-user form. Problems show under their field once it was touched (all of them
    after a first "Preview…"); the button stays off while anything is wrong, and the line above the
    buttons names every field that keeps it off.

    Signals: none of its own (it calls UsersActions.plan_create).
    """

    def __init__(self, actions, parent: QWidget | None = None, *, options=None) -> None:
        super().__init__(parent)
        self.setObjectName("CreateUserDialog")
        self.setWindowTitle("New user")
        self.actions = actions
        self.options = options
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self.touched: set[str] = set()
        self._taken: tuple[str, str, tuple] = ("", "", (None, None))
        self.custom_edits: dict[str, QLineEdit] = {}

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for key, label in FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"NewUser_{key}")
            edit.textEdited.connect(lambda _t, k=key: self._touch(k))
            edit.textChanged.connect(self._changed)
            self.edits[key] = edit
            form.addRow(label + (" *" if key in REQUIRED else ""), edit)
            self._add_error(form, key)
        self.edits["username"].setToolTip("Lower-case letters, digits and _ - . @ (Moodle stores usernames in "
                                          "lower case)")
        self.edits["country"].setMaxLength(2)
        self.auth_combo = QComboBox()
        self.auth_combo.setObjectName("NewUser_auth")
        auths = list(dict.fromkeys(["manual", *(getattr(options, "auths", ()) or ())]))
        self.auth_combo.addItems([a for a in auths if a != "nologin"])
        self.auth_combo.currentTextChanged.connect(self._changed)
        form.addRow("Authentication", self.auth_combo)
        self.password = QLineEdit()
        self.password.setObjectName("NewUser_password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setInputMethodHints(Qt.InputMethodHint.ImhSensitiveData | Qt.InputMethodHint.ImhNoPredictiveText)
        self.password.textEdited.connect(lambda _t: self._touch("password"))
        self.password.textChanged.connect(self._changed)
        self.reveal = QToolButton()
        self.reveal.setText("Show")
        self.reveal.setCheckable(True)
        self.reveal.toggled.connect(lambda on: self.password.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.password, 1)
        row.addWidget(self.reveal)
        box = QWidget()
        box.setLayout(row)
        form.addRow("Password", box)
        self._add_error(form, "password")
        self.generate = QCheckBox("Let Moodle create a password and email it")
        self.generate.toggled.connect(self._changed)
        self.generate.toggled.connect(lambda on: self.password.setEnabled(not on))
        form.addRow("", self.generate)
        if getattr(options, "custom_fields", ()):
            section = plain_label("Custom profile fields", "SectionTitle")
            form.addRow(section)
        for short, name in getattr(options, "custom_fields", ()) or ():
            edit = QLineEdit()
            edit.setObjectName(f"NewUser_cf_{short}")
            self.custom_edits[short] = edit
            form.addRow(name, edit)

        self.summary = plain_label("", "FieldProblem")
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.create_button = self.buttons.addButton("Preview…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.create_button.setProperty("primary", True)
        self.create_button.setToolTip("Nothing is sent until you apply the preview")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        note = plain_label("Fields marked * are required.", "PaneSubtitle")
        lay = QVBoxLayout(self)
        self.setMinimumWidth(600)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.summary)
        lay.addWidget(self.buttons)
        actions.taken_checked.connect(self._on_taken)
        self._changed()

    def _add_error(self, form: QFormLayout, key: str) -> None:
        error = plain_label("", "FieldProblem")  # one line: wrapped labels in a form get squeezed
        self.errors[key] = error
        form.addRow("", error)
        form.setRowVisible(error, False)
        self._form = form

    # -- values and checks --------------------------------------------------------------------------
    def data(self) -> dict:
        out = {k: e.text() for k, e in self.edits.items()}
        out["country"] = out["country"].strip().upper()  # Moodle's codes are upper case; "de" means DE
        out["auth"] = self.auth_combo.currentText()
        out["password"] = "" if self.generate.isChecked() else self.password.text()
        out["createpassword"] = self.generate.isChecked()
        out["customfields"] = {k: e.text() for k, e in self.custom_edits.items()}
        return out

    def problems(self) -> dict[str, str]:
        data = self.data()
        name, email, taken = self._taken
        username = data["username"].strip().lower()
        mail = data["email"].strip().lower()
        current = (taken[0] if name == username else None, taken[1] if email == mail else None)
        return create_problems(data, current)

    def _touch(self, key: str) -> None:
        self.touched.add(key)

    def _changed(self, *_args) -> None:
        data = self.data()
        self.actions.check_taken(data["username"].strip().lower(), data["email"].strip().lower())
        self._show_problems()

    def _on_taken(self, result) -> None:
        username, email, taken = result
        self._taken = (username, email, tuple(taken))
        self._show_problems()

    def _show_problems(self) -> None:
        problems = self.problems()
        shown_before = {k for k, label in self.errors.items() if label.text()}
        for key, label in self.errors.items():
            text = problems.get(key, "") if key in self.touched else ""
            label.setText(text)
            self._form.setRowVisible(label, bool(text))
        if shown_before != {k for k, label in self.errors.items() if label.text()}:
            self.adjustSize()  # make room for the messages instead of squeezing them
        # Every field that keeps Preview off, in the form's order, those shown under their field included:
        # never a disabled button and nothing said.
        blocking = [label for key, label in SUMMARY_ORDER if key in problems]
        blocking += [k for k in problems if k not in LABELS]
        self.summary.setText(f"Still to fill in or fix: {', '.join(blocking)}." if blocking else "")
        self.summary.setVisible(bool(blocking))
        self.create_button.setEnabled(not problems)

    def submit(self) -> None:
        self.touched.update(self.errors)
        self._show_problems()
        if self.problems():
            return
        self.actions.plan_create(self.data())
        self.accept()
