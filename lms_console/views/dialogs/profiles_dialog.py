"""The Profiles dialog: add, change and remove connections, store a token, sign in, test the connection.

Left: the saved profiles. Right: the selected profile's form, and below it the
result of "Test connection", feature by feature. Every action goes through the
:class:`~lms_console.models.profiles_controller.ProfilesController`; the dialog
never sees a stored token (a token from sign-in stays in the controller), and it
empties the token field once the token is stored. Opened with ``open()``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lms_console.models.profiles_checks import ConnectionSettings, explain_sign_in_failure
from lms_console.models.profiles_controller import DEFAULT_SERVICE, ProfilesController
from lms_console.models.profiles_model import ProfilesModel
from lms_console.services.lms.errors import LmsError
from lms_console.views import theme
from lms_console.views.icons import icon
from lms_console.views.widgets.connection_test_panel import (
    ConnectionTestPanel,
    note_label,
    set_note,
    tint,
)
from lms_console.views.widgets.question import ask

_HAS_ICON = QStyleOptionViewItem.ViewItemFeature.HasDecoration

# The question about unsaved edits (ProfilesDialog.ask_discard): its text, then its answers (save them, drop them,
# keep editing), when closing or showing another profile, and when connecting.
_DISCARD_QUESTION = ("Discard your changes to {what}?", "Save", "Discard", "Keep editing")
_CONNECT_QUESTION = ("Save the changes to {what} and connect?", "Save and connect", "Connect without saving",
                     "Cancel")


class _ProfileDelegate(QStyledItemDelegate):
    """Profile rows with an icon: a warning for insecure profiles, else the site icon."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        option.icon = icon("warning" if index.data(ProfilesModel.InsecureRole) else "site")
        option.features |= _HAS_ICON
        option.decorationSize = QSize(18, 18)

    def sizeHint(self, option, index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), 30))


class ProfilesDialog(QDialog):
    """Connection profiles: a list on the left, the selected profile's settings and test on the right.

    Signals:
        connect_requested(str): the user pressed Connect for this profile (the dialog then closes).
        profiles_changed(): a profile was added, changed or removed, or its token changed.
    """

    connect_requested = Signal(str)
    profiles_changed = Signal()

    def __init__(self, controller: ProfilesController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProfilesDialog")
        self.setWindowTitle("Connection profiles")
        self.setSizeGripEnabled(True)
        self._ctl = controller
        self._model = controller.model
        self._current: str | None = None  # the saved profile the form shows; None: a new one
        self._touched: set[str] = set()
        self._keychain_failed = False
        self._moved: str | None = None  # the open profile this Save moved to another site (it is reopened there)
        self._keychain_message = ""  # why the keychain cannot take a token ("" while it can)
        self._token_note_text = ""  # the note under the token (ProfilesController.token_note)
        self._no_keychain = False  # no OS keychain at all: the token note says so, in place of the warning
        self.discard_box: QMessageBox | None = None  # the question about unsaved edits, while open
        self._build()
        self._connect_signals()
        theme.theme_notifier().theme_changed.connect(self._refresh_theme)
        self._refresh_theme()
        self.show_profile(self._ctl.initial_profile())
        self.resize(1000, 740)

    # -- construction ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.profile_list = QListView()
        self.profile_list.setObjectName("ProfileList")
        self.profile_list.setAccessibleName("Connection profiles")
        self.profile_list.setModel(self._model)
        self.profile_list.setItemDelegate(_ProfileDelegate(self.profile_list))
        self.profile_list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.new_button = self._button("New", "add", "Add a new connection profile")
        self.remove_button = self._button("Remove", "remove", "Remove the selected profile and its token")
        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        left_box.addWidget(QLabel("Profiles"))
        left_box.addWidget(self.profile_list, 1)
        left_box.addLayout(self._row(self.new_button, self.remove_button, stretch="end"))

        self.heading = QLabel()
        self.heading.setObjectName("SectionTitle")
        self.name_edit = self._edit("Name", "e.g. Production")
        self.url_edit = self._edit("Site URL", "https://moodle.example.edu")
        self.insecure_check = QCheckBox("Allow insecure HTTP (the token travels unencrypted)")
        self.insecure_check.hide()
        self.token_edit = self._edit("Token", "Paste the web service token")
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setInputMethodHints(Qt.InputMethodHint.ImhSensitiveData
                                            | Qt.InputMethodHint.ImhNoPredictiveText)
        self.reveal_button = QToolButton()
        self.reveal_button.setText("Show")
        self.reveal_button.setCheckable(True)
        self.reveal_button.setToolTip("Show or hide the token you typed")
        self.sign_in_toggle = QPushButton("Sign in with password\u2026")
        self.sign_in_toggle.setCheckable(True)
        self.sign_in_toggle.setAutoDefault(False)
        self.session_only_check = QCheckBox("Use for this session only (forgotten when the console exits)")
        self.session_only_check.hide()
        self.service_edit = self._edit("Service short name", DEFAULT_SERVICE)
        self._errors = {f: note_label(f"{f.capitalize()}Error", "error") for f in ("name", "url", "token", "service")}
        self.url_note = note_label("UrlNote")
        self.insecure_warning = note_label("InsecureWarning", "error")
        self.token_note = note_label("TokenNote")
        self.keychain_warning = note_label("KeychainWarning", "warning")

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow("&Name:", self._stack(self.name_edit, self._errors["name"]))
        form.addRow("Site &URL:", self._stack(self.url_edit, self._errors["url"], self.url_note,
                                              self.insecure_check, self.insecure_warning))
        token_row = self._row(self.token_edit, self.reveal_button, self.sign_in_toggle)
        form.addRow("&Token:", self._stack(token_row, self._errors["token"], self.token_note,
                                           self.keychain_warning, self.session_only_check,
                                           self._build_sign_in()))
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        form.addRow(self.advanced_toggle)
        self._service_label = QLabel("&Service:")
        self._service_label.setBuddy(self.service_edit)
        self._service_box = self._stack(self.service_edit, self._errors["service"], note_label(
            "ServiceHelp", text="The short name of the site's external service for the console (Site "
            "administration > Server > Web services > External services).", shown=True))
        form.addRow(self._service_label, self._service_box)

        self.save_button = self._button("Add", "", "Save this profile")  # no icon: it would vanish on the accent
        self.save_button.setDefault(True)
        self.save_button.setProperty("primary", True)
        self.save_status = note_label("SaveStatus", "success")

        right = QWidget()
        right_box = QVBoxLayout(right)
        right_box.setContentsMargins(10, 0, 0, 0)
        right_box.addLayout(self._header_row())
        right_box.addLayout(form)
        self.connection_test = ConnectionTestPanel()
        # The panel's widgets, as the dialog's own (the banner also shows the dialog's other problems).
        panel = self.connection_test
        self.test_button, self.test_status, self.banner = panel.test_button, panel.test_status, panel.banner
        self.site_summary, self.feature_tree = panel.site_summary, panel.feature_tree
        right_box.addWidget(self.connection_test, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 780])
        self.connect_button = self._button("Connect", "online", "Open this profile in the console")
        self.close_button = self._button("Close", "", "")
        outer = QVBoxLayout(self)
        outer.addWidget(splitter, 1)
        outer.addLayout(self._row(self.connect_button, self.close_button, stretch="start"))

    def _header_row(self) -> QHBoxLayout:
        """The profile's name, then the save status, then Save, all at the top of the form.

        Save sits above everything the form says while the admin types (a URL error, the plain-HTTP
        choice and warning, a moved address, a token note), so none of it moves Save from under the
        pointer; a long status (a copy set aside) wraps downwards, never moving Save either. The form's
        fields still come first in the tab order, and Return still saves (Save is the default button).
        """
        line = self.save_button.sizeHint().height()
        for label in (self.heading, self.save_status):
            label.setMinimumHeight(line)  # one line of text sits level with the button's caption
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.save_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        row = QHBoxLayout()
        row.addWidget(self.heading, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.save_status, 1, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        return row

    def _build_sign_in(self) -> QFrame:
        self.sign_in_panel = QFrame()
        self.sign_in_panel.setObjectName("Card")
        self.username_edit = self._edit("User name", "")
        self.password_edit = self._edit("Password", "")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in_button = self._button("Sign in", "", "Ask the site for this account's token")
        self.sign_in_message = note_label("SignInMessage")
        grid = QGridLayout(self.sign_in_panel)
        grid.addWidget(note_label("SignInIntro", text="Asks the site for this account's token (Moodle's "
                             "login/token.php). Only sites that allow it answer; site administrators "
                             "always paste a token.", shown=True), 0, 0, 1, 3)
        grid.addWidget(QLabel("User name:"), 1, 0)
        grid.addWidget(self.username_edit, 1, 1, 1, 2)
        grid.addWidget(QLabel("Password:"), 2, 0)
        grid.addWidget(self.password_edit, 2, 1)
        grid.addWidget(self.sign_in_button, 2, 2)
        grid.addWidget(self.sign_in_message, 3, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        self.sign_in_panel.hide()
        return self.sign_in_panel

    @staticmethod
    def _edit(accessible: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setAccessibleName(accessible)
        edit.setPlaceholderText(placeholder)
        return edit

    @staticmethod
    def _button(text: str, icon_name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)
        button.setProperty("icon_name", icon_name)
        button.setToolTip(tip)
        return button

    @staticmethod
    def _row(*widgets: QWidget, stretch: str = "") -> QHBoxLayout:
        """Widgets side by side; line edits and labels take the room, or a stretch at ``stretch``."""
        row = QHBoxLayout()
        if stretch == "start":
            row.addStretch(1)
        for widget in widgets:
            row.addWidget(widget, 1 if isinstance(widget, (QLineEdit, QLabel)) else 0)
        if stretch == "end":
            row.addStretch(1)
        return row

    @staticmethod
    def _stack(first, *rest: QWidget) -> QWidget:
        holder = QWidget()
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        if isinstance(first, QHBoxLayout):
            box.addLayout(first)
        else:
            box.addWidget(first)
        for widget in rest:
            box.addWidget(widget)
        return holder

    def _connect_signals(self) -> None:
        self.profile_list.selectionModel().currentChanged.connect(self._on_current_changed)
        self._model.modelReset.connect(self._reselect)
        self._model.dataChanged.connect(self._on_profiles_read)
        self.new_button.clicked.connect(self.new_profile)
        self.remove_button.clicked.connect(self.confirm_remove)
        self.save_button.clicked.connect(self.save)
        self.connection_test.test_requested.connect(self.test_connection)
        self.connect_button.clicked.connect(self._on_connect)
        self.close_button.clicked.connect(self.reject)
        self.sign_in_toggle.toggled.connect(self.sign_in_panel.setVisible)
        self.sign_in_button.clicked.connect(self.sign_in)
        self.password_edit.returnPressed.connect(self.sign_in)
        self.advanced_toggle.toggled.connect(self._show_advanced)
        self.reveal_button.toggled.connect(self._on_reveal)
        for field, edit in (("name", self.name_edit), ("url", self.url_edit), ("token", self.token_edit),
                            ("service", self.service_edit)):
            edit.textEdited.connect(lambda _t, f=field: self._on_edited(f))
        self.insecure_check.toggled.connect(lambda _c: self._on_edited("url"))
        self.session_only_check.toggled.connect(lambda _c: self._render_token_notes())
        ctl = self._ctl
        ctl.profiles_changed.connect(self.profiles_changed)
        ctl.profile_moved.connect(lambda profile: setattr(self, "_moved", profile.name))
        ctl.keychain_unavailable.connect(self._on_keychain_unavailable)
        ctl.connection_test_started.connect(self._on_test_started)
        ctl.connection_tested.connect(self._on_tested)
        ctl.connection_test_failed.connect(self._on_test_failed)
        ctl.sign_in_started.connect(self._on_sign_in_started)
        ctl.signed_in.connect(self._on_signed_in)
        ctl.sign_in_failed.connect(self._on_sign_in_failed)

    # -- public actions -----------------------------------------------------------------------
    @property
    def current_profile(self) -> str | None:
        """The saved profile the form shows (None: a new, unsaved one)."""
        return self._current

    def new_profile(self) -> None:
        """Empty the form for a new profile (New): with unsaved edits, the dialog asks first."""
        if self.unsaved_edits():
            self.ask_discard(lambda: self._show_instead(None))
            return
        self._show_instead(None)

    def show_profile(self, name: str | None) -> None:
        """Show saved profile ``name`` in the form (None, or a name not saved: a new profile), without asking."""
        index = self._model.index_of(name) if name else QModelIndex()
        self._load_form(name if index.isValid() else None)  # first: the list's change is then no switch to ask about
        self.profile_list.setCurrentIndex(index)

    def field_error(self, field: str) -> str:
        """The inline message next to ``field`` ("name", "url", "token", "service"); "" if none."""
        label = self._errors[field]
        return "" if label.isHidden() else label.text()

    def save(self) -> bool:
        """Add or save the profile in the form, then its token; False when something was wrong."""
        self._touched |= {"name", "url", "service", "token"}
        if self._validate_live():
            return False
        url, insecure, service = self.url_edit.text().strip(), self.insecure_check.isChecked(), \
            self.service_edit.text().strip()
        token_text, session_only = self.token_edit.text().strip(), self.session_only_check.isChecked()
        self._moved = None
        try:
            if self._current is None:
                profile = self._ctl.add(self.name_edit.text().strip(), url, insecure, service)
            else:
                profile = self._ctl.update(self._current, url=url, insecure=insecure, service=service)
        except LmsError as exc:
            self._show_failure(exc)
            return False
        self._load_form(profile.name)
        self.session_only_check.setChecked(session_only)  # the user's choice, not the form's default
        status = "Saved."
        has_token, session_token = self._ctl.token_state(profile.name)
        if not (has_token or session_token) and not (token_text or self._ctl.has_pending_token(profile.url)):
            status = ("Saved. It cannot connect until it has a token: paste one above, or sign in with a "
                      "password.")
        if token_text or self._ctl.has_pending_token(profile.url):
            self._keychain_failed = False
            try:
                self._ctl.set_token(profile.name, token_text or None, session_only=session_only)
            except LmsError as exc:
                self._refresh_token_note()
                why = "" if self._keychain_failed else f": {exc.message}"  # the keychain note says why
                set_note(self._errors["token"], f"The profile was saved, but not its token{why}.")
                return False
            status = "Saved. The token is kept for this session only." if session_only else \
                "Saved. The token is in your OS keychain."
            if self._ctl.is_open(profile.name) and not self._moved:
                status += " The console uses it now."  # it reconnects the open profile with it (ConsoleApp)
            self._load_form(profile.name)
        reopens = "The console opens it again at the new address." if self._moved else ""
        set_note(self.save_status, " ".join(filter(None, (status, reopens, self._ctl.set_aside_note(profile.name)))))
        return True

    def confirm_remove(self) -> QMessageBox | None:
        """Ask before removing the current profile (non-blocking); returns the question box."""
        name = self._current
        if name is None:
            return None
        box = QMessageBox(QMessageBox.Icon.Warning, "Remove profile", f"Remove the profile \u201c{name}\u201d?",
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("RemoveProfileBox")
        info = "Its token is deleted from your OS keychain. Nothing changes on the site."
        if self._ctl.is_open(name):
            info = (f"\u201c{name}\u201d is open in the console: it is closed first, and nothing more is synced "
                    f"from it. {info}")
        box.setInformativeText(info)
        box.setCheckBox(QCheckBox("Also delete the local cache of this site (users, courses, reports)", box))
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(
            lambda button: self._remove(name, box.checkBox().isChecked()) if button is remove else None)
        box.open()
        return box

    def test_connection(self) -> None:
        """Test the form's settings (and token) against the site; the result shows below."""
        self._touched |= {"url", "service", "token"}
        if self._validate_live() & {"url", "service", "token"}:
            return
        settings = ConnectionSettings(self.name_edit.text().strip(), self.url_edit.text().strip(),
                                      self.insecure_check.isChecked(), self.service_edit.text().strip())
        try:
            self._ctl.test_connection(settings, self.token_edit.text().strip() or None)
        except LmsError as exc:
            self._show_failure(exc)

    def sign_in(self) -> None:
        """Ask the site for the token of the account typed in the sign-in panel."""
        self._touched |= {"url", "service"}
        if self._validate_live() & {"url", "service"}:
            return
        try:
            self._ctl.sign_in(self.url_edit.text().strip(), self.username_edit.text(), self.password_edit.text(),
                              self.service_edit.text().strip(), insecure=self.insecure_check.isChecked(),
                              profile=self._current)
        except LmsError as exc:
            if getattr(exc, "field", "") in self._errors:
                self._show_failure(exc)
            else:
                set_note(self.sign_in_message, exc.message, "error")

    def unsaved_edits(self) -> list[str]:
        """The fields whose edits closing would lose, in the form's words ("Site URL", "Token"): none when the
        form shows the profile as saved (a URL that saves as the saved one is no edit)."""
        info = self._model.row_info(self._current) if self._current else None
        saved = info.profile if info else None
        url = self.url_edit.text().strip()
        edited = {
            "Name": saved is None and bool(self.name_edit.text().strip()),
            "Site URL": (self._ctl.check_url(url, True).url or url) != (saved.url if saved else ""),
            "Allow insecure HTTP": self.insecure_check.isChecked() != bool(saved and saved.insecure),
            "Service": self.service_edit.text().strip() != (saved.service if saved else DEFAULT_SERVICE),
            "Token": bool(self.token_edit.text().strip()) or self._ctl.has_pending_token(url),
        }
        return [field for field, changed in edited.items() if changed]

    def reject(self) -> None:
        """Close, Esc and the window's close button (QDialog sends all three here): with unsaved edits, the
        dialog asks first and stays open."""
        if self.unsaved_edits():
            self.ask_discard(self.discard)
            return
        super().reject()

    def discard(self) -> None:
        """Close without asking: the edits are dropped."""
        super().reject()

    def ask_discard(self, then: Callable[[], object], *, connecting: bool = False) -> QMessageBox:
        """Before ``then`` drops the unsaved edits (closing, showing another profile, connecting with the saved
        settings), ask what to do with them (non-blocking); returns the question. Save saves them, then calls
        ``then`` (a field still wrong is flagged, and nothing more happens); Discard calls ``then``; Keep editing
        (Esc) calls nothing, and is the default. ``connecting``: "Save the changes to … and connect?", with Save
        and connect (the default), Connect without saving (only when the saved profile has a token) and Cancel.
        A question already open is brought to the front instead (its own ``then`` stays)."""
        question, save, discard, keep = _CONNECT_QUESTION if connecting else _DISCARD_QUESTION
        what = f"\u201c{self._current}\u201d" if self._current else "the new profile"
        R = QMessageBox.ButtonRole
        answers = [(save, R.AcceptRole, lambda: self.save() and then(), True)]
        if not connecting or self._saved_can_connect():  # no token saved: there is nothing to connect with unsaved
            answers.append((discard, R.DestructiveRole, then, True))
        answers.append((keep, R.RejectRole, None, True))
        return ask(self, "discard_box", title="Unsaved changes", text=question.format(what=what),
                   info=self._unsaved_summary(connecting), name="DiscardEditsQuestion", answers=answers,
                   default=save if connecting else keep, escape=keep)

    def _unsaved_summary(self, connecting: bool) -> str:
        fields = self.unsaved_edits()
        changed = fields[0] if len(fields) == 1 else f"{', '.join(fields[:-1])} and {fields[-1]}"
        without = "" if not connecting else " Without saving, the console connects with the saved settings." \
            if self._saved_can_connect() else " It has no token saved yet, so it can connect only once saved."
        return f"You changed {changed}. Nothing of it has been saved.{without}"

    def done(self, result: int) -> None:
        self._ctl.cancel_test()
        self._ctl.cancel_sign_in()
        self._ctl.discard_pending()
        self.token_edit.clear()
        self.password_edit.clear()
        super().done(result)

    # -- form state -----------------------------------------------------------------------------
    def _load_form(self, name: str | None) -> None:
        self._ctl.cancel_test()
        self._ctl.cancel_sign_in()
        info = self._model.row_info(name) if name else None
        profile = info.profile if info else None
        self._current = profile.name if profile else None
        self._touched.clear()
        self.connection_test.reset()
        for label in (self.save_status, self.sign_in_message):
            label.hide()
        self.sign_in_button.setEnabled(True)
        for edit in (self.token_edit, self.password_edit):
            edit.clear()
        self.reveal_button.setChecked(False)
        self._keychain_message = ""
        self.session_only_check.setChecked(False)
        self.session_only_check.hide()
        self.keychain_warning.hide()
        self.name_edit.setText(profile.name if profile else "")
        self.name_edit.setReadOnly(profile is not None)
        self.name_edit.style().unpolish(self.name_edit)  # the QSS keys on readOnly
        self.name_edit.style().polish(self.name_edit)
        self.name_edit.setToolTip("A profile keeps its name: to rename it, add a new profile and remove this one."
                                  if profile else "")
        self.url_edit.setText(profile.url if profile else "")
        self.insecure_check.setChecked(bool(profile and profile.insecure))
        self.service_edit.setText(profile.service if profile else DEFAULT_SERVICE)
        self.heading.setText(profile.name if profile else "New profile")
        self.save_button.setText("Save" if profile else "Add")
        self._show_advanced(bool(profile and profile.service != DEFAULT_SERVICE))
        self._validate_live()
        self._refresh_token_note()
        self._update_buttons()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """The admin picked another profile in the list: with unsaved edits, the list goes back to the edited
        profile (once the click or key is done with it) and the dialog asks; the answer may switch after all."""
        name = current.data(ProfilesModel.NameRole) if current.isValid() else None
        if name is None or name == self._current:
            return
        if self.unsaved_edits():
            QTimer.singleShot(0, self, self._select_shown)  # not run once the dialog is gone
            self.ask_discard(lambda: self._show_instead(name))
            return
        self._load_form(name)

    def _select_shown(self) -> None:
        """Select the profile the form shows in the list (none for a new profile)."""
        self.profile_list.setCurrentIndex(self._model.index_of(self._current) if self._current else QModelIndex())

    def _show_instead(self, name: str | None) -> None:
        """Show ``name`` (None: a new profile) in place of the form, whose edits (a sign-in's token too) are
        dropped."""
        self._ctl.discard_pending()
        self.show_profile(name)
        if name is None:
            self.name_edit.setFocus()

    def _reselect(self) -> None:
        """The list was read anew with a profile added or removed: the form's profile is selected again."""
        if self._current is not None:
            self.profile_list.setCurrentIndex(self._model.index_of(self._current))
        self._on_profiles_read()

    def _on_profiles_read(self, *_args) -> None:
        """The saved profiles were read again (a profile saved here, or a background change such as the time the
        open profile was last used): the form keeps what it shows and its unsaved edits; only what depends on the
        saved profile (its token note, Connect, Remove) follows."""
        self._refresh_token_note()
        self._update_buttons()

    def _on_edited(self, field: str) -> None:
        self._touched.add(field)
        self.save_status.hide()
        self._validate_live()
        if field in ("url", "token"):
            self._refresh_token_note()
            self._update_buttons()  # a typed token lets a saved profile without one connect (after saving it)

    def _validate_live(self) -> set[str]:
        """Show the inline messages of the fields touched so far; return every field that is wrong."""
        check = self._ctl.check_form(self.name_edit.text(), self.url_edit.text(), self.insecure_check.isChecked(),
                                     self.service_edit.text().strip(), self.token_edit.text(), editing=self._current)
        self.insecure_check.setVisible(check.plain_http_remote)
        if not check.plain_http_remote and self.insecure_check.isChecked():
            self.insecure_check.setChecked(False)  # consent is per plain-HTTP host, never carried over
        set_note(self.insecure_warning, check.insecure_warning, "error")
        for field, label in self._errors.items():
            set_note(label, check.errors.get(field, "") if field in self._touched else "", "error")
        if "service" in check.errors and "service" in self._touched:
            self._show_advanced(True)
        shown = check.moves_host or "url" in self._touched
        set_note(self.url_note, check.url_note if shown else "", "warning" if check.moves_host else "text_muted")
        return set(check.errors)

    def _refresh_token_note(self) -> None:
        note, placeholder = self._ctl.token_note(self._current, self.url_edit.text())
        self._token_note_text = note
        self.token_edit.setPlaceholderText(placeholder)
        self._no_keychain = not self._ctl.keychain_available()
        if self._no_keychain and self.session_only_check.isHidden():
            self.session_only_check.setChecked(True)  # the only way to use a token here; the note says so
            self.session_only_check.show()
        self._render_token_notes()

    def _saved_can_connect(self) -> bool:
        """Whether the form's saved profile can connect as saved (it has a token, stored or for this session)."""
        info = self._model.row_info(self._current) if self._current else None
        return bool(info and (info.has_token or info.session_only))

    def _update_buttons(self) -> None:
        saved = self._current is not None and self._model.row_of(self._current) >= 0
        self.remove_button.setEnabled(saved)
        # A token typed (or from sign-in) for a saved profile without one: Connect asks to save it first.
        typed = bool(self.token_edit.text().strip()) or self._ctl.has_pending_token(self.url_edit.text().strip())
        self.connect_button.setEnabled(saved and (self._saved_can_connect() or typed))
        self.connect_button.setToolTip("Open this profile in the console" if self.connect_button.isEnabled() else
                                       "Paste this profile’s token (or sign in) to connect" if saved else
                                       "Add the profile with a token first")

    def _show_advanced(self, shown: bool) -> None:
        self.advanced_toggle.setChecked(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self._service_label.setVisible(shown)
        self._service_box.setVisible(shown)

    def _show_failure(self, exc: LmsError) -> None:
        field = getattr(exc, "field", "")
        if field in self._errors:
            if field == "service":
                self._show_advanced(True)
            set_note(self._errors[field], exc.message, "error")
        else:
            self.banner.show_error(exc)

    def _on_reveal(self, shown: bool) -> None:
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.reveal_button.setText("Hide" if shown else "Show")

    # -- results from the controller -----------------------------------------------------------
    def _remove(self, name: str, delete_cache: bool) -> None:
        try:
            report = self._ctl.remove(name, delete_cache=delete_cache)
        except LmsError as exc:
            self.banner.show_error(exc)
            return
        self._current = None
        self.show_profile(self._ctl.initial_profile())
        if report.notes:
            self.banner.show_message("warning", " ".join(report.notes), title=f"Removed \u201c{name}\u201d")

    def _on_keychain_unavailable(self, name: str, message: str) -> None:
        self._keychain_failed = bool(name)
        self._keychain_message = message
        self.session_only_check.show()
        self._render_token_notes()

    def _render_token_notes(self) -> None:
        """The note under the token, and why the keychain cannot take it, each said once; the advice to tick the
        box only while it is shown and not ticked. Without any OS keychain the note says so itself (every note
        then names the missing keychain), as a warning: it is then the only line."""
        box = self.session_only_check
        advice = "" if box.isHidden() or box.isChecked() else (
            " Tick \u201cUse for this session only\u201d to use the token until the console exits.")
        if self._no_keychain:
            set_note(self.token_note, self._token_note_text + advice, "warning")
            self.keychain_warning.hide()
            return
        set_note(self.token_note, self._token_note_text, "text_muted")
        set_note(self.keychain_warning, self._keychain_message + advice if self._keychain_message else "")

    def _on_test_started(self, _name: str) -> None:
        self.connection_test.show_testing(self._ctl.check_url(self.url_edit.text(), True).host)

    def _on_tested(self, _name: str, report) -> None:
        self.connection_test.show_report(report)

    def _on_test_failed(self, _name: str, err: LmsError) -> None:
        self.connection_test.show_failure(err)

    def _on_sign_in_started(self) -> None:
        self.sign_in_button.setEnabled(False)
        set_note(self.sign_in_message, "Signing in\u2026", "text_muted")

    def _on_signed_in(self, stored: bool) -> None:
        self.sign_in_button.setEnabled(True)
        self.password_edit.clear()
        later = f"is stored when you {'save' if self._current else 'add'} the profile"
        set_note(self.sign_in_message, f"Signed in: the site's token for this account "
                       f"{'is now stored' if stored else later}.", "success")
        self._refresh_token_note()
        self._update_buttons()

    def _on_sign_in_failed(self, err: LmsError) -> None:
        self.sign_in_button.setEnabled(True)
        set_note(self.sign_in_message, explain_sign_in_failure(err), "error")

    def _on_connect(self) -> None:
        """Connect: with unsaved edits, the dialog asks whether to save them first (never connecting with the
        saved settings while the form shows others)."""
        if self._current is None or not self.connect_button.isEnabled():
            return
        if self.unsaved_edits():
            self.ask_discard(self._connect, connecting=True)
            return
        self._connect()

    def _connect(self) -> None:
        name = self._current
        if name is None or not self._saved_can_connect():
            return  # saved without a token (moved to another site): the save status says it cannot connect yet
        try:
            self._ctl.select(name)
        except LmsError as exc:
            self.banner.show_error(exc)
            return
        self.connect_requested.emit(name)
        self.accept()

    def _refresh_theme(self, *_args) -> None:
        for label in self.findChildren(QLabel):
            if label.property("tint"):
                tint(label, label.property("tint"))
        for button in self.findChildren(QPushButton):
            if button.property("icon_name"):
                button.setIcon(icon(button.property("icon_name")))
