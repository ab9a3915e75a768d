"""A run, a plan or a read started for one profile that ends after the admin opened another (or closed it):
it ends into its own profile's journal and cache, but nothing of it reaches the profile open now, its state
or its windows (no results window whose Retry would plan the old profile's failures against the new site, no
"offline" for a site that answers, no queued plan sent to the other site). A run of the closed profile (an apply,
its outbox going out) pauses at its next chunk, what it did not send waiting in that profile's outbox: the next
profile's jobs (the writer thread runs one at a time) never wait for it (QA: a 26,120-change import held the next
profile's jobs for 25 minutes). Two real sandbox sites over HTTP, the real ChangeEngine, change views and main
window (and ConsoleApp), real cache files in tmp_path."""

from __future__ import annotations

import time

import pytest
import shiboken6
from PySide6.QtCore import Qt

from lms_console.app import ConsoleApp
from lms_console.models import profiles_controller
from lms_console.models.access_model import AccessChecker
from lms_console.models.cohort_rules import CohortRulesModel
from lms_console.models.content_model import ContentTreeModel
from lms_console.models.session import Online
from lms_console.models.tasks import JobState
from lms_console.models.users_actions import UsersActions
from lms_console.sandbox.server import SandboxServer
from lms_console.services.cache.db import CacheDb
from lms_console.services.changes import Change, plan_changes, record
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore
from lms_console.views.dialogs.profiles_dialog import ProfilesDialog
from suite_helpers import q, site_q

WAIT = 30_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def site_a():
    site = SandboxServer(users=40, courses=2, seed=61).start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def site_b():
    site = SandboxServer(users=40, courses=2, seed=62).start()
    yield site
    site.stop()


@pytest.fixture(autouse=True)
def _no_faults_left(site_a, site_b):
    yield
    site_a.clear_faults()
    site_b.clear_faults()


@pytest.fixture
def console(change_console, site_a):
    """(session, engine, window, views): profile "site" (site A) synced and open, its main window and change
    views."""
    session, engine, window, views, _ = change_console(site_a, ("site", "users", "courses", "enrolments", "groups"))
    return session, engine, window, views


class Seen:
    """What the engine and the session say from now on."""

    def __init__(self, engine, session) -> None:
        self.applied, self.cache_changed, self.states, self.planned = [], [], [], []
        engine.applied.connect(self.applied.append)
        engine.planned.connect(self.planned.append)
        session.cache_changed.connect(self.cache_changed.append)
        session.state_changed.connect(lambda state: self.states.append(state.status))


def _active(session, n: int, skip: int = 0) -> list[int]:
    """``n`` active accounts of the open profile's copy, after the first ``skip`` (each test its own)."""
    with session.db.read() as conn:
        return [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id DESC LIMIT ? OFFSET ?", (n, skip))]


def _slow_changes(users, city: str) -> list[Change]:
    """A change per user, of two kinds in turn, so that each goes in a call of its own (a kind's changes in a
    row go in one call): the even ones move to ``city``, the odd ones must change their password."""
    return [Change("user.update", {"id": u, "fields": {"city": city}}) if n % 2 == 0
            else Change("user.force_password_change", {"id": u}) for n, u in enumerate(users)]


def _open_b(session, site_b) -> None:
    """Open profile B (site B) at once, as the toolbar's profile box does."""
    store = ProfileStore()
    profile = store.get("B") if store.exists("B") else store.add("B", site_b.url)
    assert session.open(profile, Secret(site_b.admin_token))


def _wait_online(qtbot, session) -> None:
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT)


def _wait_finished(qtbot, runner, job_id: int) -> None:
    qtbot.waitUntil(lambda: runner.job(job_id).state.finished, timeout=60_000)
    qtbot.wait(150)  # anything its result set off on the GUI thread


def _preview(qtbot, engine, views, changes, title):
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan(changes, title=title)
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    return views.preview


def _apply_slowly(qtbot, session, engine, views, site, changes, title) -> int:
    """Preview ``changes``, press Apply with every answer of ``site`` late: the run's job id once it has sent
    its first items."""
    dialog = _preview(qtbot, engine, views, changes, title)
    dialog.confirm_check.click()  # forcing a password change cannot be undone: the admin confirms it
    site.set_faults(latency_ms=300)
    qtbot.mouseClick(dialog.apply_button, LEFT)
    runner = session.runner
    job = next(j.id for j in runner.running() if j.name.startswith("apply-"))
    qtbot.waitUntil(lambda: runner.job(job).state == JobState.RUNNING and runner.job(job).done > 0, timeout=WAIT)
    return job


def _one(site, sql, *params):
    """The one value ``sql`` reads from the sandbox ``site``'s own store."""
    return site_q(site, sql, *params)[0][0]


def _run_items(profile_name: str, title: str) -> list[str]:
    """The statuses of the items of the run ``title`` in the journal of ``profile_name``'s own cache file."""
    with CacheDb.open(ProfileStore().get(profile_name).cache_path, check=False) as db:
        return [r[0] for r in q(db, "SELECT i.status FROM change_items i JOIN change_runs r ON r.id = i.run_id "
                                    "WHERE r.title = ? ORDER BY i.id", title)]


def _paused_text(title: str, done: int, total: int, profile: str = "site") -> str:
    return (f"“{title}” (profile {profile}) paused when {profile} was closed: {done} of {total} went through; the "
            f"other {total - done} wait in {profile}'s outbox and go out when {profile} is open again. Its results "
            f"are in the journal of {profile}: open {profile} to see them.")


def _paused_items(items: list[str]) -> int:
    """How many of a paused run's items went through: the first ones, the rest queued (none on its way)."""
    done = items.count("done")
    assert 0 < done < len(items) and items == ["done"] * done + ["queued"] * (len(items) - done), items
    return done


def test_a_run_of_the_closed_profile_pauses_and_stays_the_old_profiles(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    runner = session.runner
    users = _active(session, 8)
    job = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Porto"), "Move eight to Porto")
    porto_on_b = _one(site_b, "SELECT COUNT(*) FROM user WHERE city = 'Porto'")
    seen = Seen(engine, session)
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    _wait_finished(qtbot, runner, job)

    # It stopped at its next chunk (B's jobs do not wait for it), with what it did handed back.
    assert runner.job(job).state == JobState.CANCELLED and session.profile.name == "B"
    # Nothing of it is said of B: no results (their Retry would plan A's failures against B), no re-read of B's
    # copy, B stays online.
    assert seen.applied == [] and seen.cache_changed == [] and views.results is None
    assert Online.OFFLINE not in seen.states and session.state.status == Online.ONLINE
    # What went through is in A's own journal and on A's site; the rest waits in A's outbox; B's site has nothing.
    done = _paused_items(_run_items("site", "Move eight to Porto"))
    assert window.banner.message_text() == _paused_text("Move eight to Porto", done, 8)
    assert window.banner.level == "info"
    assert _one(site_a, f"SELECT COUNT(*) FROM user WHERE city = 'Porto' AND id IN ({','.join('?' * 4)})",
                *users[::2]) == (done + 1) // 2
    assert _one(site_b, "SELECT COUNT(*) FROM user WHERE city = 'Porto'") == porto_on_b

    # B's own runs are B's: what waited in its outbox goes out as the outbox (a banner, not A's run's title) ...
    site_a.clear_faults()
    with qtbot.waitSignal(session.sync_finished, timeout=60_000):
        session.sync(("site", "users"))
    b_users = _active(session, 2)
    waiting = plan_changes(session.db, [Change("user.update", {"id": u, "fields": {"city": "Lima"}}) for u in b_users],
                           site=session.site, title="Two to Lima")
    recorded = session.run_writer("test-record", lambda w: record(w, waiting, profile="B", lms_user="admin"))
    _wait_finished(qtbot, runner, recorded)
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as outbox:
        assert engine.resume_outbox() is not None
    assert outbox.args[0].status == "done"
    qtbot.wait(100)
    assert views.results is None
    assert window.banner.message_text() == "The outbox went out to the site: 2 done."
    # ... and a run B's admin starts opens its results under its own title.
    dialog = _preview(qtbot, engine, views, [Change("user.update", {"id": b_users[0], "fields": {"city": "Quito"}})],
                      "One to Quito")
    qtbot.mouseClick(dialog.apply_button, LEFT)
    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    assert views.results.subtitle_label.text().startswith("One to Quito — run ")


def test_a_run_whose_site_stops_answering_after_the_switch_does_not_put_the_new_profile_offline(
        qtbot, console, site_a, site_b):
    session, engine, window, views = console
    users = _active(session, 8, skip=8)
    job = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Faro"), "Eight to Faro")
    seen = Seen(engine, session)
    _open_b(session, site_b)
    site_a.set_faults(latency_ms=300, drop_before_rate=1.0)  # A's site is gone before the run's last items
    _wait_online(qtbot, session)
    _wait_finished(qtbot, session.runner, job)

    assert seen.applied == [] and views.results is None
    assert Online.OFFLINE not in seen.states and session.state.status == Online.ONLINE
    assert not session._retry.isActive()
    items = _run_items("site", "Eight to Faro")
    # The rest waits in A's own outbox (the item on its way when the site went: sent, its answer lost).
    assert "queued" in items and set(items) <= {"done", "sending", "queued"}


def test_a_plan_waiting_for_a_run_of_the_closed_profile_is_not_sent_to_the_next_one(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    runner = session.runner
    users = _active(session, 8, skip=16)
    # An account active on both sites, under the same id: A's plan must never reach it on B.
    on_b = {r[0] for r in site_q(site_b, "SELECT id FROM user WHERE suspended = 0 AND deleted = 0 AND id > 3")}
    target = next(u for u in _active(session, 40, skip=24) if u in on_b)
    first = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Braga"), "Eight to Braga")
    second = _preview(qtbot, engine, views, [Change("user.suspend", {"id": target})], "Suspend one")
    qtbot.mouseClick(second.apply_button, LEFT)
    assert "waits for the run in progress" in window.banner.message_text()
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    _wait_finished(qtbot, runner, first)
    qtbot.wait(300)

    assert not [j for j in runner.running() if j.name.startswith("apply-")]
    assert _one(site_b, "SELECT suspended FROM user WHERE id = ?", target) == 0
    assert _one(site_a, "SELECT suspended FROM user WHERE id = ?", target) == 0
    assert _run_items("B", "Suspend one") == [] and _run_items("site", "Suspend one") == []
    text = window.banner.message_text()
    assert text.startswith("“Eight to Braga” (profile site) paused when site was closed: ")
    assert text.endswith("Not sent: “Suspend one” waited for a run of profile site, which was closed.")
    assert window.banner.level == "error"


def _record(qtbot, session, plan, profile: str) -> None:
    """Record ``plan`` in the open profile's journal without sending it: it waits in the outbox (as after a quit
    during a run)."""
    job = session.run_writer("test-record", lambda w: record(w, plan, profile=profile, lms_user="admin"))
    _wait_finished(qtbot, session.runner, job)


def test_the_new_profiles_outbox_goes_out_at_once_the_closed_profiles_send_pausing(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    users = _active(session, 8)
    _record(qtbot, session, plan_changes(session.db, _slow_changes(users, "Oslo"), site=session.site,
                                         title="Eight to Oslo"), "site")
    site_a.set_faults(latency_ms=300)
    old_send = engine.resume_outbox()
    qtbot.waitUntil(lambda: session.runner.job(old_send).done > 0, timeout=WAIT)
    _open_b(session, site_b)
    create = Change("user.create", {"username": "switch.outbox", "firstname": "Out", "lastname": "Box",
                                    "email": "switch.outbox@example.org", "password": "Sup3r#secret"})
    session.run_writer("test-record", lambda w: record(
        w, plan_changes(session.db, [create], site=None, title="Create one"), profile="B", lms_user="admin"))
    _wait_online(qtbot, session)  # B's outbox goes out once its site answers, A's send paused meanwhile
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as applied:
        pass
    assert applied.args[0].status == "done" and [r.status.value for r in applied.args[0].results] == ["done"]
    assert _one(site_b, "SELECT COUNT(*) FROM user WHERE username = 'switch.outbox'") == 1
    assert session.runner.job(old_send).state == JobState.CANCELLED
    _paused_items(_run_items("site", "Eight to Oslo"))  # the rest waits in A's outbox


def test_the_results_of_the_closed_profiles_run_close_with_it(qtbot, console, site_b):
    session, engine, window, views = console
    user = _active(session, 1, skip=32)[0]
    dialog = _preview(qtbot, engine, views, [Change("user.update", {"id": user, "fields": {"city": "Nice"}})],
                      "One to Nice")
    qtbot.mouseClick(dialog.apply_button, LEFT)
    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    results = views.results
    _open_b(session, site_b)
    qtbot.waitUntil(lambda: views.results is None, timeout=WAIT)  # its Retry and Show in journal would be B's
    assert not shiboken6.isValid(results) or not results.isVisible()
    _wait_online(qtbot, session)


def test_the_status_bar_shows_the_progress_of_the_open_profiles_sync_only(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    runner = session.runner
    site_a.set_faults(latency_ms=400)
    old_sync = session.sync()
    qtbot.waitUntil(lambda: window.sync_label.text().startswith("Syncing… ") and " of " in window.sync_label.text(),
                    timeout=WAIT)
    # The GUI thread is busy for a second while A's sync goes on: its progress reports wait in the event queue,
    # and reach the window only after the admin has opened B.
    time.sleep(1.0)
    _open_b(session, site_b)
    labels = []

    def seen(_info) -> None:
        labels.append(window.sync_label.text())

    runner.job_changed.connect(seen)
    try:
        _wait_online(qtbot, session)
        _wait_finished(qtbot, runner, old_sync)
    finally:
        runner.job_changed.disconnect(seen)

    assert runner.job(old_sync).state == JobState.CANCELLED
    assert not window.sync_label.text().startswith("Syncing")  # A's sync, stopping, is not B's
    assert not [t for t in labels if t.startswith("Syncing")]
    with qtbot.waitSignal(session.sync_finished, timeout=60_000):  # B's own sync is shown as B's
        session.sync(("site",))
    assert window.sync_label.text().startswith("Synced in")


# -- the other models: what they read or fetched for the closed profile is not the next one's -----------------

def test_a_course_groups_read_for_the_closed_profile_are_not_offered_on_the_next(qtbot, console, site_b):
    session, engine, window, views = console
    actions = UsersActions(session, engine, None)
    loaded = []
    actions.groups_loaded.connect(lambda cid, groups: loaded.append((cid, groups)))
    with session.db.read() as conn:
        courseid = conn.exec_driver_sql("SELECT courseid FROM groups LIMIT 1").scalar()
    job = actions.load_groups(courseid)
    _open_b(session, site_b)  # before the read's answer reaches the GUI thread
    _wait_finished(qtbot, session.runner, job)
    _wait_online(qtbot, session)
    assert loaded == []  # A's group ids would be added to on B


def test_an_access_check_of_the_closed_profile_is_neither_shown_nor_stored_in_the_next(qtbot, console, site_a,
                                                                                        site_b):
    session, engine, window, views = console
    checker = AccessChecker(session)
    shown = []
    checker.checked.connect(shown.append)
    checker.failed.connect(shown.append)
    user = _active(session, 1)[0]
    site_a.set_faults(latency_ms=300)
    job = checker.check(user)
    _open_b(session, site_b)  # B's copy is empty: not synced yet
    _wait_finished(qtbot, session.runner, job)
    _wait_online(qtbot, session)
    qtbot.waitUntil(lambda: not session.runner.running(), timeout=WAIT)
    assert shown == []
    with CacheDb.open(ProfileStore().get("B").cache_path, check=False) as db:
        assert q(db, "SELECT COUNT(*) FROM users") == [(0,)]  # A's user is not written into B's copy


def test_a_cohort_rules_check_of_the_closed_profile_is_not_said_of_the_next(qtbot, console, site_b):
    session, engine, window, views = console
    rules = CohortRulesModel(session)
    checked = []
    rules.checked.connect(checked.append)
    job = rules.check_now(announce=True)
    _open_b(session, site_b)
    _wait_finished(qtbot, session.runner, job)
    _wait_online(qtbot, session)
    assert checked == []


def test_the_content_tree_read_for_a_profile_closed_meanwhile_stays_empty(qtbot, console):
    session, engine, window, views = console
    tree = ContentTreeModel(session)
    tree.reload()
    job = next(j.id for j in session.runner.running() if j.name == "content-tree")
    session.close()
    _wait_finished(qtbot, session.runner, job)
    assert tree.rowCount() == 0


# -- a closed profile's runs pause: the next profile's jobs never wait for them ------------------------------------

def test_the_next_profiles_jobs_do_not_wait_for_the_closed_profiles_run(qtbot, console, site_a, site_b):
    """QA: B's save-site-info, outbox and "Sync small" sat Queued behind A's 26,120-change apply."""
    session, engine, window, views = console
    runner = session.runner
    users = _active(session, 16, skip=8)  # 15 more calls of 300 ms after the first: ~5 s had the run gone on
    job = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Tartu"), "Sixteen to Tartu")
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    with qtbot.waitSignal(session.sync_finished, timeout=2500) as synced:  # B's sync goes at once
        session.sync(("site",))
    assert synced.args[0].status == "ok"
    assert runner.job(job).state == JobState.CANCELLED
    _paused_items(_run_items("site", "Sixteen to Tartu"))


def test_a_paused_run_goes_out_when_its_profile_is_open_again(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    users = _active(session, 6, skip=24)
    job = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Graz"), "Six to Graz")
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    _wait_finished(qtbot, session.runner, job)
    done = _paused_items(_run_items("site", "Six to Graz"))
    assert window.banner.message_text() == _paused_text("Six to Graz", done, 6)

    site_a.clear_faults()
    with qtbot.waitSignal(engine.applied, timeout=WAIT) as outbox:  # A's outbox goes out once its site answers
        assert session.open(ProfileStore().get("site"), Secret(site_a.admin_token))
    assert outbox.args[0].status == "done"
    assert _run_items("site", "Six to Graz") == ["done"] * 6
    assert _one(site_a, "SELECT COUNT(*) FROM user WHERE city = 'Graz' AND id IN (?, ?, ?)", *users[::2]) == 3
    qtbot.wait(50)
    assert window.banner.message_text() == f"The outbox went out to the site: {6 - done} done."


def test_a_run_whose_site_stopped_as_its_profile_closed_says_its_rest_waits(qtbot, console, site_a, site_b,
                                                                              monkeypatch):
    """QA: "… finished after big was closed" of a run whose site had stopped answering (21,120 left queued)."""
    session, engine, window, views = console
    users = _active(session, 8, skip=16)
    job = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Kyiv"), "Eight to Kyiv")
    faults, fates = site_a.app.faults, []
    plan = faults.plan

    def seen():
        fates.append(plan()["action"])
        return {"delay": 0.3 if fates[-1] == "drop_before" else 0.0, "action": fates[-1], "die": False}

    monkeypatch.setattr(faults, "plan", seen)
    site_a.set_faults(drop_before_rate=1.0)  # the site stops answering: its next call is lost on its way
    qtbot.waitUntil(lambda: "drop_before" in fates, timeout=WAIT)
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    _wait_finished(qtbot, session.runner, job)

    items = _run_items("site", "Eight to Kyiv")
    done = items.count("done")
    assert 0 < done < 8 and set(items[done:]) <= {"sending", "queued"}  # the call lost: sent, its outcome unknown
    assert window.banner.message_text() == (
        f"“Eight to Kyiv” (profile site) stopped when site's site did not answer, after site was closed: {done} of 8 "
        f"went through; the other {8 - done} wait in site's outbox and go out when site is open again and its site "
        "answers. Its results are in the journal of site: open site to see them.")


# -- an Apply waiting for a sync says so ---------------------------------------------------------------------------

def _apply_during_sync(qtbot, session, engine, views, site, title: str, city: str, skip: int) -> tuple[int, int]:
    """Preview one change, start a slow sync, press Apply: (the sync's job id, the run's job id)."""
    runner = session.runner
    user = _active(session, 1, skip=skip)[0]
    dialog = _preview(qtbot, engine, views, [Change("user.update", {"id": user, "fields": {"city": city}})], title)
    site.set_faults(latency_ms=500)
    sync = session.sync(("site",))
    qtbot.waitUntil(lambda: runner.job(sync).state == JobState.RUNNING, timeout=WAIT)
    qtbot.mouseClick(dialog.apply_button, LEFT)
    job = next(j.id for j in runner.running() if j.name.startswith("apply-"))
    assert runner.job(job).state == JobState.QUEUED
    return sync, job


def test_an_apply_pressed_during_a_sync_says_it_starts_when_the_sync_has_finished(qtbot, console, site_a):
    session, engine, window, views = console
    runner = session.runner
    sync, job = _apply_during_sync(qtbot, session, engine, views, site_a, "One to Turku", "Turku", 30)
    assert window.banner.message_text() == "“One to Turku” starts when the sync of site has finished."
    assert window.banner.level == "info"
    qtbot.waitUntil(lambda: runner.job(job).state != JobState.QUEUED, timeout=60_000)
    assert runner.job(sync).state == JobState.DONE
    assert "starts when the sync" not in window.banner.message_text()  # it has started
    qtbot.waitUntil(lambda: views.results is not None and views.results.isVisible(), timeout=WAIT)
    assert _run_items("site", "One to Turku") == ["done"]


def test_an_apply_waiting_for_the_closed_profiles_sync_is_not_sent(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    runner = session.runner
    _sync, job = _apply_during_sync(qtbot, session, engine, views, site_a, "One to Oulu", "Oulu", 31)
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    _wait_finished(qtbot, runner, job)

    assert runner.job(job).state == JobState.CANCELLED  # it never started
    assert _run_items("site", "One to Oulu") == [] and _run_items("B", "One to Oulu") == []
    assert window.banner.message_text() == ("“One to Oulu” (profile site) was not sent: site was closed before it "
                                            "started. To send it, open site and plan it again.")
    assert window.banner.level == "error"


# -- a profile moved to another address while its outbox goes out -------------------------------------------------

@pytest.fixture
def console_app(qapp, qtbot):
    """A ConsoleApp, not started yet (as tests/views/conftest.py's ``console``, which this file's replaces)."""
    app = ConsoleApp(qapp)
    qtbot.addWidget(app.window)
    yield app
    for dialog in app.window.findChildren(ProfilesDialog):
        dialog.close()
    app.shutdown()
    app.window.close()


def _type_into(qtbot, edit, text: str) -> None:
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def test_a_profile_moved_while_its_outbox_goes_out_opens_again_at_once(qtbot, console_app, site_a, site_b,
                                                                       monkeypatch):
    """QA: moved to another address while its outbox sent 21,170 changes, the profile stayed closed ("No site
    open") for the whole send: it opens again there only after the writer thread's jobs before it."""
    monkeypatch.setattr(profiles_controller, "SAVE_WAITS_FOR_SET_ASIDE_S", 0.0)  # Save does not wait for it
    app = console_app
    app.profiles.add("Big", site_a.url)
    app.tokens.set("Big", site_a.admin_token)
    app.profiles.set_last_used("Big")
    app.start()
    qtbot.waitUntil(lambda: hasattr(app, "engine") and app.session.is_open, timeout=WAIT)
    session, runner = app.session, app.runner
    qtbot.waitUntil(lambda: session.last_sync is not None and not runner.running(), timeout=60_000)  # on connect
    users = _active(session, 16, skip=8)  # 15 more calls of 400 ms after the first: ~6 s had the send gone on
    _record(qtbot, session, plan_changes(session.db, _slow_changes(users, "Riga"), site=session.site,
                                         title="Sixteen to Riga"), "Big")
    site_a.set_faults(latency_ms=400)
    send = app.engine.resume_outbox()
    qtbot.waitUntil(lambda: runner.job(send).done > 0, timeout=WAIT)

    app.open_profiles_dialog()  # Settings › Profiles: Big gets site B's address and token, Save
    dialog = app._dialog
    qtbot.waitExposed(dialog)
    dialog.show_profile("Big")
    _type_into(qtbot, dialog.url_edit, site_b.url)
    _type_into(qtbot, dialog.token_edit, site_b.admin_token)
    qtbot.mouseClick(dialog.save_button, LEFT)
    dialog.close()
    qtbot.waitUntil(lambda: session.is_open and session.profile.url == site_b.url, timeout=2500)

    assert runner.job(send).state == JobState.CANCELLED  # paused: the rest waits in the old site's copy
    assert _one(site_b, "SELECT COUNT(*) FROM user WHERE city = 'Riga'") == 0
    assert app.window.banner.title_text() == "Reconnected"
