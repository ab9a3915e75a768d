"""The user's properties dialog, the create-user dialog (live validation) and the access-check
dialog, with real widgets over a real cache; plans go to a recording engine."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.models.users_actions import UsersActions
from lms_console.models.users_model import UsersTableModel
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.changes import journal as J
from lms_console.services.changes import plan_changes
from lms_console.services.changes.model import Change
from lms_console.services.lms.base import (
    Cohort,
    Course,
    CourseProgress,
    CustomField,
    Enrolment,
    Members,
    Role,
    User,
)
from lms_console.services.users_query import FilterOptions
from lms_console.views.dialogs.access_dialog import AccessDialog
from lms_console.views.dialogs.create_user_dialog import CreateUserDialog
from lms_console.views.dialogs.user_dialog import UserDialog

NOW = 1_767_225_600
DAY = 86_400


class FakeEngine(QObject):
    """Records plans instead of opening the preview.

    Signals:
        changes_applied(object): as ChangeEngine's.
    """

    changes_applied = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.plans: list[tuple[list[Change], str]] = []

    def plan(self, changes, *, title="", enrol_first=False):
        self.plans.append((list(changes), title))
        return 1


@pytest.fixture
def session(qapp, tmp_path):
    runner = TaskRunner(http_workers=4)
    s = ConnectionSession(runner)
    s.db = CacheDb.open(tmp_path / "cache.sqlite")
    with CacheWriter(s.db, clock=lambda: NOW) as w:
        run = w.begin_run(["users"])
        w.upsert_users([
            User(id=10, username="anna", firstname="Anna", lastname="Smith", email="anna@example.org",
                 department="Sales", lastaccess=NOW - DAY,
                 customfields=(CustomField("faculty", "Arts", "Faculty", "menu", "Arts"),)),
            User(id=11, username="ben", firstname="Ben", lastname="<b>Bold</b>", email="ben@example.org",
                 suspended=True, lastaccess=NOW - 9 * DAY),
            User(id=12, username="cara", firstname="Cara", lastname="Jones", email="cara@example.org",
                 lastaccess=NOW - 2 * DAY),
        ], run)
        w.upsert_cohorts([Cohort(1, "Sales")], run)
        w.replace_cohort_members([Members(1, (10,))], run)
        w.upsert_courses([Course(100, "C101", "Chemistry", 1), Course(101, "B202", "Biology", 1)], run)
        w.upsert_enrolments([Enrolment(100, 10, (Role(5, "student"),)),
                             Enrolment(101, 12, (Role(5, "student"),), suspended=True, timeend=NOW - DAY)], run)
        w.upsert_course_progress([CourseProgress(10, 100, 75.0, False, lastaccess=NOW - 3 * DAY)], run)
    yield s
    runner.shutdown(wait=True)
    s.db.close()


@pytest.fixture
def actions(session):
    model = UsersTableModel(session)
    return UsersActions(session, FakeEngine(), model)


def open_user(qtbot, session, actions, userid):
    dialog = UserDialog(session, actions, userid)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=10000)
    return dialog


def test_properties_show_every_tab(qtbot, session, actions):
    plan = plan_changes(session.db, [Change("user.suspend", {"id": 10})])
    with CacheWriter(session.db) as w:
        J.create_run(w, plan, profile="p", lms_user="admin")
    d = open_user(qtbot, session, actions, 10)
    assert d.heading.text() == "Anna Smith (anna)"
    assert d.edits["email"].text() == "anna@example.org" and d.auth_combo.currentText() == "manual"
    assert d.custom_edits["faculty"].text() == "Arts"
    assert d.cohorts.item(0, 0).text() == "Sales"
    assert [d.enrolments.item(0, c).text() for c in (0, 1, 2, 6)] == ["C101", "Student", "Active", "75 %"]
    assert d.tabs.tabText(4) == "Enrolments (1)"
    qtbot.waitUntil(lambda: d.journal.rowCount() == 1, timeout=10000)
    assert d.journal_view.parentWidget().currentWidget() is d.journal_view
    d.tabs.setCurrentWidget(d.journal_view.parentWidget().parentWidget())
    d.resize(900, 600)
    qtbot.waitUntil(lambda: d.journal_view.columnWidth(1) > d.journal_view.columnWidth(4), timeout=5000)  # change
    assert not d.preview_button.isEnabled()  # nothing changed yet
    other = open_user(qtbot, session, actions, 12)  # no change made to this account: said in words
    qtbot.waitUntil(lambda: other.journal_empty.parentWidget().currentWidget() is other.journal_empty, timeout=10000)
    assert "no changes to this account" in other.journal_empty.text()


def test_data_is_shown_as_text_never_markup(qtbot, session, actions):
    d = open_user(qtbot, session, actions, 11)
    assert d.heading.text() == "Ben <b>Bold</b> (ben)" and d.heading.textFormat().name == "PlainText"


def test_edits_become_one_previewed_plan(qtbot, session, actions):
    d = open_user(qtbot, session, actions, 10)
    d.edits["email"].setText("anna.smith@example.org")
    d.custom_edits["faculty"].setText("Law")
    d.suspended_check.setChecked(True)
    assert d.preview_button.isEnabled()
    d.preview_button.click()
    assert actions.engine.plans == [([
        Change("user.update", {"id": 10, "fields": {"email": "anna.smith@example.org",
                                                    "customfields": {"faculty": "Law"}}}),
        Change("user.suspend", {"id": 10})], "Edit anna")]


def test_invalid_edits_say_why_at_the_field_and_cannot_be_sent(qtbot, session, actions):
    # QA: "email: is not a valid email address" at the bottom, with the internal field name. As in the
    # New user dialog: the problem under the Email field, in words; the line above the buttons names the field.
    d = open_user(qtbot, session, actions, 10)
    email = d.errors["email"][1]
    assert not email.isVisibleTo(d)
    d.edits["email"].setText("not an email")
    assert not d.preview_button.isEnabled()
    assert email.text() == "Not a valid email address." and email.isVisibleTo(d)
    assert d.problems.text() == "Still to fix: Email address."
    d.edits["email"].setText("")
    assert email.text() == "Required: an account cannot be without it."
    d.edits["email"].setText("anna@example.org")
    assert not email.isVisibleTo(d) and d.problems.isHidden()
    d.edits["country"].setText("Germany")
    assert d.errors["country"][1].text() == "Use a two-letter country code such as DE or US."
    assert d.problems.text() == "Still to fix: Country (2 letters)."  # on the Profile tab: named here
    d.edits["username"].setText("Anna B")
    assert d.problems.text() == "Still to fix: Username, Country (2 letters)."
    assert d.errors["username"][1].text() == "Use lower-case letters, digits and _ - . @ only."


def test_language_and_timezone_say_what_an_empty_value_means(qtbot, session, actions):
    # A user just created has no language or timezone in the local copy (Moodle gave them the site's language
    # and "99", the server's timezone); a synced one has timezone "99". Neither shows as an unexplained blank.
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.upsert_users([User(id=20, username="new", firstname="New", lastname="User", email="new@example.org"),
                        User(id=21, username="old", firstname="Old", lastname="User", email="old@example.org",
                             lang="en", timezone="99"),
                        User(id=22, username="ber", firstname="Ber", lastname="Lin", email="ber@example.org",
                             lang="de", timezone="Europe/Berlin")], w.begin_run(["users"]))
    new = open_user(qtbot, session, actions, 20)
    assert new.edits["lang"].placeholderText() == "Site default language"
    assert new.edits["timezone"].placeholderText() == "Server timezone" and new.changes() == []
    old = open_user(qtbot, session, actions, 21)
    assert old.edits["lang"].text() == "en" and old.edits["timezone"].text() == ""  # not a bare "99"
    assert old.changes() == [] and not old.preview_button.isEnabled()
    old.edits["timezone"].setText("Europe/Lisbon")
    assert old.changes() == [Change("user.update", {"id": 21, "fields": {"timezone": "Europe/Lisbon"}})]
    old.edits["timezone"].setText("")
    assert old.changes() == []
    ber = open_user(qtbot, session, actions, 22)
    assert ber.edits["timezone"].text() == "Europe/Berlin"
    ber.edits["timezone"].setText("")  # emptied: back to the server's timezone
    assert ber.changes() == [Change("user.update", {"id": 22, "fields": {"timezone": "99"}})]


def test_force_password_change_is_planned(qtbot, session, actions):
    d = open_user(qtbot, session, actions, 10)
    d.force_button.click()
    assert actions.engine.plans == [([Change("user.force_password_change", {"id": 10})],
                                     "Force a password change for anna")]
    with qtbot.waitSignal(d.access_check_requested) as asked:
        d.check_button.click()
    assert asked.args == [10]


def test_unknown_user_says_so(qtbot, session, actions):
    d = UserDialog(session, actions, 999)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: "not in the local copy" in d.heading.text(), timeout=10000)
    assert not d.preview_button.isEnabled()


# -- create user --------------------------------------------------------------------------------------

def fill(dialog, **values):
    for key, value in values.items():
        if key == "password":
            dialog.password.setText(value)
        else:
            dialog.edits[key].setText(value)
        dialog._touch(key)


def test_create_user_validates_live(qtbot, session, actions):
    d = CreateUserDialog(actions, options=FilterOptions(custom_fields=(("faculty", "Faculty"),)))
    qtbot.addWidget(d)
    d.show()
    assert not d.create_button.isEnabled() and not d.errors["username"].text()  # nothing shouted yet
    with qtbot.waitSignal(actions.taken_checked, timeout=10000):
        fill(d, username="Anna", email="ben@example.org", firstname="New", password="short")
    assert d.errors["username"].text() == "Another account already has this username (id 10)."
    assert d.errors["email"].text() == "Already used by the account “ben” (id 11)."
    assert d.errors["password"].text().startswith("Needs 8+ characters")
    assert "Last name" in d.summary.text()
    assert not d.create_button.isEnabled()
    with qtbot.waitSignal(actions.taken_checked, timeout=10000):
        fill(d, username="new.user", email="new@example.org", lastname="User", password="Secret-123",
             country="de")
    assert not any(label.text() for label in d.errors.values())
    assert d.create_button.isEnabled()
    d.custom_edits["faculty"].setText("Arts")
    d.create_button.click()
    assert actions.engine.plans == [([Change("user.create", {
        "username": "new.user", "email": "new@example.org", "firstname": "New", "lastname": "User",
        "country": "DE", "auth": "manual", "password": "Secret-123", "customfields": {"faculty": "Arts"}})],
        "Create user new.user")]


def test_create_user_summary_names_every_field_that_keeps_preview_off(qtbot, session, actions):
    """QA: with the guest account's username (or any taken one) and no password, the summary said only
    "Password", and once the password was filled it said nothing while Preview stayed off."""
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.upsert_users([User(id=1, username="guest", firstname="Guest user", lastname=" ", email="root@localhost")],
                       w.begin_run(["users"]))
    d = CreateUserDialog(actions)
    qtbot.addWidget(d)
    d.show()
    assert not d.create_button.isEnabled()
    assert d.summary.text() == "Still to fill in or fix: Username, Email address, First name, Last name, Password."
    for key, value in (("email", "g@example.org"), ("firstname", "G"), ("lastname", "H")):
        qtbot.keyClicks(d.edits[key], value)
    with qtbot.waitSignal(actions.taken_checked, timeout=10000):
        qtbot.keyClicks(d.edits["username"], "Guest")
    qtbot.waitUntil(lambda: bool(d.errors["username"].text()), timeout=10000)
    assert d.errors["username"].text() == "This is the username of the site's guest account."
    assert d.summary.text() == "Still to fill in or fix: Username, Password."
    qtbot.keyClicks(d.password, "Secret-123")
    assert not d.create_button.isEnabled()
    assert d.summary.isVisible() and d.summary.text() == "Still to fill in or fix: Username."
    d.edits["username"].clear()
    with qtbot.waitSignal(actions.taken_checked, timeout=10000):
        qtbot.keyClicks(d.edits["username"], "anna")
    qtbot.waitUntil(lambda: "Another account" in d.errors["username"].text(), timeout=10000)
    assert not d.create_button.isEnabled() and d.summary.text() == "Still to fill in or fix: Username."
    d.edits["username"].clear()
    with qtbot.waitSignal(actions.taken_checked, timeout=10000):
        qtbot.keyClicks(d.edits["username"], "gina")
    qtbot.waitUntil(d.create_button.isEnabled, timeout=10000)
    assert not d.summary.isVisible() and not d.summary.text()


def test_create_user_refuses_the_guest_username_before_the_users_are_synced(qtbot, session, actions):
    """Every Moodle site has the guest account: "guest" is refused even when the local copy does not list it."""
    d = CreateUserDialog(actions)
    qtbot.addWidget(d)
    fill(d, email="g@example.org", firstname="G", lastname="H", password="Secret-123")
    with qtbot.waitSignal(actions.taken_checked, timeout=10000):
        qtbot.keyClicks(d.edits["username"], "guest")
    assert d.errors["username"].text() == "This is the username of the site's guest account."
    assert not d.create_button.isEnabled() and d.summary.text() == "Still to fill in or fix: Username."


def test_create_user_with_a_generated_password(qtbot, session, actions):
    d = CreateUserDialog(actions)
    qtbot.addWidget(d)
    fill(d, username="gen", email="gen@example.org", firstname="G", lastname="E")
    d.generate.setChecked(True)
    qtbot.waitUntil(d.create_button.isEnabled, timeout=10000)
    assert not d.password.isEnabled()
    d.submit()
    assert actions.engine.plans[0][0][0].data["createpassword"] == 1


# -- access check ---------------------------------------------------------------------------------------

def test_access_check_lists_reasons_with_fixes(qtbot, session):
    engine = FakeEngine()
    d = AccessDialog(session, engine, userid=11, options=FilterOptions(courses=((100, "C101", "Chemistry"),)))
    qtbot.addWidget(d)
    d.show()
    qtbot.waitUntil(lambda: d.report is not None, timeout=10000)
    assert d.verdict.text() == "Ben <b>Bold</b> (ben) cannot sign in."
    assert d.source.text() == "Not connected to the site; this check uses the local copy."
    d.fix_buttons["account.suspended"].click()
    assert engine.plans == [([Change("user.unsuspend", {"id": 11})], "Unsuspend the account: Ben <b>Bold</b> (ben)")]


def test_access_check_finds_the_user_and_checks_a_course(qtbot, session):
    engine = FakeEngine()
    d = AccessDialog(session, engine, options=FilterOptions(courses=((100, "C101", "Chemistry"),
                                                                      (101, "B202", "Biology"))))
    qtbot.addWidget(d)
    d.show()
    d.user_edit.setText("cara@example.org")
    d.course_combo.setCurrentIndex(d.course_combo.findData(101))
    d.check()
    qtbot.waitUntil(lambda: d.report is not None, timeout=10000)
    assert d.report.userid == 12
    assert d.verdict.text() == "Cara Jones (cara) can sign in but cannot get into B202."
    assert "course.ended" in d.fix_buttons
    d.fix_buttons["course.ended"].click()
    (changes, _title), = engine.plans
    assert changes[0].kind == "enrol.add" and changes[0].data["timeend"] > NOW
    d.user_edit.setText("nobody-at-all")
    d._user_edited()
    qtbot.waitUntil(lambda: "No single user" in d.user_note.text(), timeout=10000)


def test_a_very_long_course_name_does_not_push_the_access_check_off_the_screen(qtbot, session):
    long = "BUS301" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 6 + "2026"  # 166 characters, no space or hyphen to break at
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.upsert_courses([Course(102, long, long, 1)], w.begin_run(["courses"]))
    d = AccessDialog(session, FakeEngine(), userid=12, courseid=102, options=FilterOptions(courses=(
        (100, "C101", "Chemistry"), (102, long, long))))
    qtbot.addWidget(d)
    d.show()
    qtbot.waitUntil(lambda: d.report is not None, timeout=10000)
    assert long in d.verdict.text().replace("\u200b", "")  # all of it is said, broken into lines
    assert any(long in label.text().replace("\u200b", "") for label in d.reasons_box.findChildren(QLabel))
    assert d.minimumSizeHint().width() < 800 and d.sizeHint().width() < 1000
    (button,) = d.fix_buttons.values()
    qtbot.waitUntil(button.isVisible, timeout=5000)
    assert button.mapTo(d, button.rect().topRight()).x() <= d.width()  # the fix is on the dialog, not beyond it


def test_access_check_says_what_is_missing_before_asking(qtbot, session):
    """No user typed, or a course typed that the list does not have: the dialog says so and asks nothing."""
    engine = FakeEngine()
    many = tuple((100 + i, f"K{i:02d}", f"Course {i}") for i in range(20))
    d = AccessDialog(session, engine, options=FilterOptions(courses=many))
    qtbot.addWidget(d)
    d.show()
    d.check()
    assert "Type the username, email address or ID" in d.user_note.text() and d.report is None
    d.user_edit.setText("cara")
    d.course_combo.setEditText("Underwater basket weaving")
    d.check()
    assert "No course in the list matches “Underwater basket weaving”" in d.verdict.text() and d.report is None
    d.course_combo.setEditText("k07")
    d.check()
    qtbot.waitUntil(lambda: d.report is not None, timeout=10000)
    assert d.report.userid == 12 and d.course_combo.currentData() == 107


def test_a_field_left_as_the_site_has_it_is_no_error(qtbot, session, actions):
    # Moodle's guest account has a last name of one space: untouched, it is neither an edit nor "emptied".
    with CacheWriter(session.db, clock=lambda: NOW) as w:
        w.upsert_users([User(id=1, username="guest", firstname="Guest user", lastname=" ",
                             email="root@localhost", auth="manual")], w.begin_run(["users"]))
    d = open_user(qtbot, session, actions, 1)
    assert d.problems.isHidden() and d.changes() == []
    d.edits["email"].setText("guest@example.org")
    assert d.problems.isHidden() and d.preview_button.isEnabled()
    assert d.changes() == [Change("user.update", {"id": 1, "fields": {"email": "guest@example.org"}})]
    d.edits["lastname"].setText("")  # emptied by hand: still refused
    assert d.errors["lastname"][1].text().startswith("Required") and not d.preview_button.isEnabled()
    assert d.problems.text() == "Still to fix: Last name."


def test_reading_the_user_again_keeps_the_fields_and_the_keyboard_where_they_were(qtbot, session, actions):
    """After a change was applied (or a sync) the dialog reads the user again. It used to make its Profile fields
    anew: the field the admin was in went away with the keyboard, and checking the form touched fields already
    deleted (RuntimeError in the event loop, the crash dialog in the application)."""
    d = open_user(qtbot, session, actions, 10)
    d.tabs.setCurrentIndex(1)  # Profile
    qtbot.waitUntil(lambda: d.isActiveWindow(), timeout=10000)
    city = d.edits["city"]
    city.setFocus()
    faculty = d.custom_edits["faculty"]
    with CacheWriter(session.db, clock=lambda: NOW) as w:  # what the applied change wrote back
        w.upsert_users([User(id=10, username="anna", firstname="Anna", lastname="Smith", email="anna@example.org",
                             department="Sales", city="Porto", lastaccess=NOW - DAY,
                             customfields=(CustomField("faculty", "Arts", "Faculty", "menu", "Arts"),))],
                       w.begin_run(["users"]))
    with qtbot.waitSignal(d.loader.loaded, timeout=10000):
        session.cache_changed.emit(frozenset({"users"}))
    assert d.edits["city"] is city and city.text() == "Porto" and d.custom_edits["faculty"] is faculty
    assert d.focusWidget() is city and d.changes() == []
