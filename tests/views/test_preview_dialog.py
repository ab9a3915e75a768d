"""The preview and results dialogs, driven like an admin would, against the sandbox: a real
session, the real ChangeEngine and the wiring the application uses."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from lms_console.models.plan_model import COL_PROBLEM
from lms_console.sandbox.server import SandboxServer
from lms_console.services.changes import Change, Outcome, Status
from lms_console.views.dialogs.preview_dialog import PreviewDialog

WAIT = 20000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=80, courses=3, seed=41).start()
    yield site
    site.stop()


@pytest.fixture
def console(server, change_console):
    """(engine, window, views): a synced session, the main window and the change views."""
    _session, engine, window, views, _ = change_console(
        server, ("site", "users", "courses", "cohorts", "enrolments", "groups"))
    return engine, window, views


def _q(engine, sql, *params):
    with engine.session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(sql, params)]


def _active(engine, n):
    return _q(engine, "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id DESC LIMIT ?", n)


def _preview(qtbot, engine, views, changes, title="Test plan"):
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan(changes, title=title)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    return views.preview


def test_preview_counts_problems_filters_and_masked_api_calls(qtbot, console, server):
    engine, window, views = console
    active = _active(engine, 4)
    suspended = _q(engine, "SELECT id FROM users WHERE suspended = 1 LIMIT 1")
    dialog = _preview(qtbot, engine, views, [Change("user.suspend", {"id": u}) for u in active] + [
        Change("user.suspend", {"id": suspended[0]}),  # already so
        Change("user.suspend", {"id": 999999}),  # no such user
        Change("user.create", {"username": "new.person", "firstname": "New", "lastname": "Person",
                               "email": "new.person@example.org", "password": "Sup3r#secret"}),
    ], title="Suspend the leavers")
    assert dialog.windowModality() == Qt.WindowModality.WindowModal and dialog.parent() is window
    assert dialog.title_label.text() == "Suspend the leavers"
    assert [dialog.toggles.button(k).text() for k in ("apply", "noop", "conflict", "error")] == \
        ["5 to apply", "1 already so (dropped)", "0 conflicts", "1 error"]
    assert dialog.apply_button.text() == "Apply 5 changes" and dialog.apply_button.isEnabled()
    assert not dialog.irreversible_warning.isVisibleTo(dialog)
    assert not dialog.prerequisite_notice.isVisibleTo(dialog)
    assert not dialog.notes_notice.isVisibleTo(dialog)  # no notes: nothing to say beyond the items

    qtbot.mouseClick(dialog.toggles.button("apply"), LEFT)  # hide what will apply: the rest stays
    assert {dialog.model.item_at(r).outcome for r in range(dialog.model.rowCount())} == {Outcome.NOOP, Outcome.ERROR}
    dialog.toggles.set_only("error")
    assert dialog.model.rowCount() == 1
    problem = dialog.model.index(0, COL_PROBLEM).data()
    assert "id “999999”" in problem and "no such user" in problem
    assert "no such user" in dialog.details.text()

    qtbot.mouseClick(dialog.calls_toggle, LEFT)
    assert dialog.calls_text.isVisible()
    qtbot.waitUntil(lambda: "wstoken" in dialog.calls_text.toPlainText(), timeout=WAIT)  # worked out off-thread
    calls = dialog.calls_text.toPlainText()
    assert "core_user_update_users" in calls and "core_user_create_users" in calls
    assert "wstoken = ***" in calls and "users[0][password] = ***" in calls
    assert server.admin_token not in calls and "Sup3r#secret" not in calls

    dialog.apply_requested.disconnect()  # only the intent is under test here: nothing is sent
    with qtbot.waitSignal(dialog.apply_requested, timeout=WAIT) as requested:
        qtbot.mouseClick(dialog.apply_button, LEFT)
    assert requested.args[0] is dialog.plan
    assert not dialog.isVisible()


def test_deletes_need_an_explicit_confirmation(qtbot, console):
    engine, _window, views = console
    users = _active(engine, 3)
    dialog = _preview(qtbot, engine, views, [Change("user.delete", {"id": users[0]}),
                                             Change("user.delete", {"id": users[1]}),
                                             Change("user.suspend", {"id": users[2]})])
    assert dialog.irreversible_warning.isVisibleTo(dialog)
    warning = dialog.irreversible_warning.findChild(type(dialog.title_label), "NoticeText").text()
    assert "2 deletions cannot be undone" in warning and "Suspending the accounts instead" in warning
    assert not dialog.apply_button.isEnabled()
    assert "Confirm" in dialog.status_label.text()
    dialog.confirm_check.click()
    assert dialog.apply_button.isEnabled()
    dialog.reject()


def test_nothing_to_apply_disables_apply(qtbot, console):
    engine, _window, views = console
    suspended = _q(engine, "SELECT id FROM users WHERE suspended = 1 LIMIT 2")
    dialog = _preview(qtbot, engine, views, [Change("user.suspend", {"id": u}) for u in suspended])
    assert not dialog.apply_button.isEnabled()
    assert "Nothing to apply" in dialog.status_label.text()
    assert not dialog.calls_toggle.isEnabled()
    dialog.reject()


def test_enrol_them_first_plans_again_with_enrolments(qtbot, console):
    engine, _window, views = console
    group, course = _q(engine, 'SELECT id FROM "groups" LIMIT 1')[0], \
        _q(engine, 'SELECT courseid FROM "groups" LIMIT 1')[0]
    outsiders = _q(engine, "SELECT id FROM users WHERE id > 3 AND id NOT IN (SELECT userid FROM enrolments "
                           "WHERE courseid = ?) LIMIT 2", course)
    dialog = _preview(qtbot, engine, views,
                      [Change("group.add_member", {"groupid": group, "userid": u}) for u in outsiders])
    assert dialog.toggles.button("conflict").text() == "2 conflicts"
    assert dialog.prerequisite_notice.isVisibleTo(dialog)
    with qtbot.waitSignal(dialog.replan_requested, timeout=WAIT) as replan, \
            qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        qtbot.mouseClick(dialog.enrol_first_button, LEFT)
    assert replan.args == [True]
    assert [i.change.kind for i in planned.args[0].items] == ["enrol.add"] * 2 + ["group.add_member"] * 2
    qtbot.waitUntil(lambda: views.preview is not None and views.preview is not dialog, timeout=WAIT)
    assert views.preview.apply_button.text() == "Apply 4 changes"


def test_apply_shows_results_per_item_and_retry_plans_only_the_failed(qtbot, console, server):
    engine, window, views = console
    users = _active(engine, 6)
    dialog = _preview(qtbot, engine, views,
                      [Change("user.update", {"id": u, "fields": {"city": "Porto"}}) for u in users],
                      title="Move six to Porto")
    doomed = users[1], users[4]
    with server.store.connection() as conn:  # two accounts vanish on the site after planning
        conn.execute("UPDATE user SET deleted = 1 WHERE id IN (?, ?)", doomed)
        conn.commit()
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(dialog.apply_button, LEFT)
    summary = applied.args[0]
    assert summary.status == "partial"
    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    results = views.results
    assert results.title_label.text() == "Finished with failures"
    assert "Move six to Porto" in results.subtitle_label.text()
    assert results.toggles.button("done").text() == "4 done"
    assert results.toggles.button("failed").text() == "2 failed"
    assert "refused 2 items" in results.explanation.text()
    model = results.model
    assert model.index(0, 1).data().startswith("Update ")  # the plan's titles at once (not "Reading…")
    rows = [model.result_at(r) for r in range(model.rowCount())]
    assert [r.status for r in rows].count(Status.FAILED) == 2
    failed = [r for r in range(model.rowCount()) if model.result_at(r).status == Status.FAILED]
    assert all(model.index(r, 3).data() and model.index(r, 4).data() for r in failed)  # code and message
    assert results.retry_button.text() == "Retry failed (2)"

    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        qtbot.mouseClick(results.retry_button, LEFT)
    retry = planned.args[0]
    assert sorted(i.change.data["id"] for i in retry.items) == sorted(doomed)
    # The site deleted both accounts, so the local copy forgot them: the retry names them as the run did
    # (QA: "Update user 12"), not by their id.
    assert sorted(i.title for i in retry.items) == sorted(i.title for i in dialog.plan.items
                                                          if i.change.data["id"] in doomed)
    assert all(not i.title.startswith("Update user ") for i in retry.items)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.plan is retry, timeout=WAIT)
    views.preview.reject()

    views.show_results(summary, "Move six to Porto")
    qtbot.mouseClick(views.results.journal_button, LEFT)
    assert window.stack.currentWidget() is views.pane
    qtbot.waitUntil(lambda: views.pane.model.filter.run_id == summary.run_id
                    and views.pane.model.total() == 6, timeout=WAIT)
    assert views.pane.run_chip.text() == f"Run {summary.run_id}"


def test_undo_this_run_names_what_it_cannot_undo_and_why(qtbot, console):
    """QA: a run enrolled two members as Teacher, one of whom had a suspended Student enrolment, which the run
    reactivated: that item has no way back, and the undo's preview ("1 planned item") left it out without a
    word. It now says which change it cannot undo and why, next to the counts."""
    engine, _window, views = console
    course, short = _q(engine, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0], \
        _q(engine, "SELECT shortname FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0]
    member, newcomer = _q(engine, "SELECT id FROM users WHERE id > 3 AND username <> 'guest' AND id NOT IN "
                                  "(SELECT userid FROM enrolments WHERE courseid = ?) ORDER BY id LIMIT 2", course)
    name = _q(engine, "SELECT username FROM users WHERE id = ?", member)[0]

    def apply(changes):
        dialog = _preview(qtbot, engine, views, changes)
        with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
            qtbot.mouseClick(dialog.apply_button, LEFT)
        assert applied.args[0].status == "done"
        qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
        views.results.close()
        return dialog, applied.args[0].run_id

    apply([Change("enrol.add", {"userid": member, "courseid": course, "roleid": 5, "suspend": 1})])
    title = f"Add the Teacher role to {name} in {short} and reactivate the enrolment"
    dialog, run_id = apply([Change("enrol.add", {"userid": u, "courseid": course, "roleid": 3, "suspend": 0})
                            for u in (member, newcomer)])
    assert dialog.plan.items[0].title == title  # the preview says it reactivates, too

    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan_undo(run_id=run_id)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview is not dialog
                    and views.preview.isVisible(), timeout=WAIT)
    undo = views.preview
    assert [i.change.kind for i in undo.plan.items] == ["enrol.remove"]
    assert undo.notes_notice.isVisibleTo(undo)
    note = undo.notes_text.text()
    assert "1 change cannot be undone from here" in note and title in note
    assert "it also reactivated the enrolment; one call cannot put back both" in note
    assert "Make the opposite change by hand" in note
    undo.reject()


def test_preview_dialog_alone_accepts_a_plain_plan(qtbot, console):
    engine, window, _views = console
    with qtbot.waitSignal(engine.planned, timeout=WAIT) as planned:
        engine.plan([Change("user.suspend", {"id": _active(engine, 1)[0]})])
    plan = planned.args[0]
    dialog = PreviewDialog(plan, window)
    dialog.open()
    qtbot.waitExposed(dialog)
    assert dialog.model.rowCount() == 1 and dialog.details.text().count("suspended") == 1
    dialog.close()
    dialog.deleteLater()


def test_results_headline_says_when_nothing_went_through():
    from lms_console.services.changes.model import ItemResult, RunSummary
    from lms_console.views.dialogs.results_dialog import headline

    def result(seq, status):
        return ItemResult(seq, seq, "user.suspend", f"user:{seq}", status, "invaliduser" if status == Status.FAILED else "")

    some = RunSummary(7, "partial", (result(1, Status.DONE), result(2, Status.FAILED)))
    none = RunSummary(8, "failed", (result(1, Status.FAILED), result(2, Status.FAILED), result(3, Status.SKIPPED)))
    assert headline(some) == "Finished with failures"
    assert headline(none) == "Finished: nothing went through"
    assert headline(RunSummary(9, "done", (result(1, Status.DONE),))) == "Finished: every change went through"
    refused = RunSummary(10, "failed", (result(1, Status.SKIPPED),), error=RuntimeError("token refused"))
    assert headline(refused) != "Finished: nothing went through"


def test_a_very_long_course_name_does_not_widen_the_preview_past_the_screen(qtbot, console):
    """A 171-character short name, in a title and a diff, made the preview 1,633 px wide (Apply off a
    1,366 px screen): its details break it across lines instead."""
    engine, window, views = console
    long = "BUS301" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 6 + "2026"  # no space, no hyphen: nowhere to break
    course = _q(engine, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0]
    raw = sqlite3.connect(engine.session.db.path)  # the course as the last sync would have brought it
    with raw:
        raw.execute("UPDATE courses SET shortname = ? WHERE id = ?", (long, course))
    raw.close()
    userid = _q(engine, "SELECT userid FROM enrolments WHERE courseid = ? LIMIT 1", course)[0]
    dialog = _preview(qtbot, engine, views, [Change("enrol.suspend", {"userid": userid, "courseid": course})],
                      title=f"Suspend in {long}")
    qtbot.waitUntil(lambda: long[:40] in dialog.details.text(), timeout=WAIT)
    assert long in dialog.details.text().replace("\u200b", "")  # all of it is said
    assert dialog.minimumSizeHint().width() < 1000


def test_unenrolling_points_to_suspending_the_enrolment_not_to_hiding(qtbot, console):
    """QA: the "cannot be undone" notice of an unenrolment said "Hiding instead of deleting can be undone"."""
    engine, _window, views = console
    course = _q(engine, "SELECT courseid FROM enrolments WHERE courseid > 1 GROUP BY courseid LIMIT 1")[0]
    userid = _q(engine, "SELECT userid FROM enrolments WHERE courseid = ? LIMIT 1", course)[0]
    dialog = _preview(qtbot, engine, views, [Change("enrol.remove", {"userid": userid, "courseid": course})],
                      title="Unenrol")
    assert dialog.irreversible_warning.isVisibleTo(dialog)
    warning = dialog.irreversible_warning.findChild(type(dialog.title_label), "NoticeText").text()
    assert "1 unenrolment cannot be undone" in warning
    assert "Suspending the enrolment instead" in warning and "Hiding" not in warning
    assert dialog.confirm_check.text() == "I understand that 1 unenrolment cannot be undone"
    assert "deletions" not in dialog.status_label.text() and "Confirm" in dialog.status_label.text()
    assert not dialog.apply_button.isEnabled()
    dialog.reject()
    other = _active(engine, 1)[0]
    dialog = _preview(qtbot, engine, views, [Change("user.delete", {"id": other})], title="Delete one")
    warning = dialog.irreversible_warning.findChild(type(dialog.title_label), "NoticeText").text()
    assert "1 deletion cannot be undone" in warning
    assert "Suspending the account instead" in warning and "Hiding" not in warning
    dialog.reject()


# -- the keyboard goes back to the window the admin planned from --------------------------------------------------


@pytest.fixture
def users_console(server, change_console):
    """(engine, window, views, users): as ``console``, with the users pane and its dialogs, the window shown."""
    from lms_console.views.users_wiring import install_users_views

    _session, engine, window, views, users = change_console(
        server, ("site", "users", "courses", "cohorts", "enrolments", "groups"), setup=install_users_views)
    window.show()
    return engine, window, views, users


def _user_dialog(qtbot, users, userid):
    dialog = users.open_user(userid)
    qtbot.waitUntil(lambda: dialog.detail is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=WAIT)
    return dialog


def test_after_the_results_the_user_dialog_has_the_keyboard_again(qtbot, users_console):
    """QA: applying a change from a user's properties ended with the main window active; the properties
    dialog the admin worked in was left behind without the keyboard."""
    engine, window, views, users = users_console
    dialog = _user_dialog(qtbot, users, _active(engine, 1)[0])
    dialog.tabs.setCurrentIndex(1)  # Profile
    city = dialog.edits["city"]
    city.setFocus()
    assert QApplication.focusWidget() is city
    qtbot.keyClicks(city, "Porto")
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.keyClick(city, Qt.Key.Key_Return)  # "Preview changes…" is the default button
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    preview = views.preview
    assert preview.parentWidget() is dialog  # over the dialog it came from, not over the main window
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        qtbot.mouseClick(preview.apply_button, LEFT)
    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    results = views.results
    assert results.parentWidget() is dialog and results.summary.status == "done"
    qtbot.mouseClick(results.close_button, LEFT)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=WAIT)
    assert QApplication.focusWidget() is city  # where the admin was typing

    results = views.show_results(applied.args[0], "Edit", origin=dialog)
    assert results.parentWidget() is dialog
    qtbot.mouseClick(results.journal_button, LEFT)  # the journal is in the main window: it comes forward
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT)
    assert window.stack.currentWidget() is views.pane


def test_a_preview_from_the_access_check_leads_back_to_it(qtbot, users_console):
    engine, window, views, users = users_console
    suspended = _q(engine, "SELECT id FROM users WHERE suspended = 1 AND id > 3 LIMIT 1")[0]
    check = users.check_access(suspended)
    qtbot.waitUntil(lambda: "account.suspended" in check.fix_buttons, timeout=WAIT)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is check, timeout=WAIT)
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.mouseClick(check.fix_buttons["account.suspended"], LEFT)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    assert views.preview.parentWidget() is check
    qtbot.mouseClick(views.preview.cancel_button, LEFT)  # nothing sent: back to the check
    qtbot.waitUntil(lambda: QApplication.activeWindow() is check, timeout=WAIT)


def test_results_of_a_dialog_closed_during_the_run_open_over_the_main_window(qtbot, users_console):
    engine, window, views, users = users_console
    window.activateWindow()
    dialog = _user_dialog(qtbot, users, _active(engine, 1)[0])
    qtbot.keyClicks(dialog.edits["city"], "Braga")
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        qtbot.mouseClick(dialog.preview_button, LEFT)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    with qtbot.waitSignal(engine.applied, timeout=WAIT):
        qtbot.mouseClick(views.preview.apply_button, LEFT)
        dialog.close()  # the admin moved on while the run went
    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    assert views.results.parentWidget() is window
    qtbot.mouseClick(views.results.close_button, LEFT)
    assert views.results is None or not views.results.isVisible()
