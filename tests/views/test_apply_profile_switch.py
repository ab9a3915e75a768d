"""A run, a plan or a read started for one profile that ends after the admin opened another (or closed it):
it finishes into its own profile's journal and cache, but nothing of it reaches the profile open now, its state
or its windows (no results window whose Retry would plan the old profile's failures against the new site, no
"offline" for a site that answers, no queued plan sent to the other site). Two real sandbox sites over HTTP,
the real ChangeEngine, change views and main window, real cache files in tmp_path."""

from __future__ import annotations

import time

import pytest
import shiboken6
from PySide6.QtCore import Qt

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


def test_a_run_that_ends_after_another_profile_opened_stays_the_old_profiles(qtbot, console, site_a, site_b):
    session, engine, window, views = console
    runner = session.runner
    users = _active(session, 8)
    job = _apply_slowly(qtbot, session, engine, views, site_a, _slow_changes(users, "Porto"), "Move eight to Porto")
    porto_on_b = _one(site_b, "SELECT COUNT(*) FROM user WHERE city = 'Porto'")
    seen = Seen(engine, session)
    _open_b(session, site_b)
    _wait_online(qtbot, session)
    assert not runner.job(job).state.finished  # the run goes on after the switch
    _wait_finished(qtbot, runner, job)

    assert runner.job(job).state == JobState.DONE and session.profile.name == "B"
    # Nothing of it is said of B: no results (their Retry would plan A's failures against B), no re-read of B's
    # copy, B stays online.
    assert seen.applied == [] and seen.cache_changed == [] and views.results is None
    assert Online.OFFLINE not in seen.states and session.state.status == Online.ONLINE
    assert window.banner.message_text() == (
        "“Move eight to Porto” (profile site) finished after site was closed. Its results are in the journal of "
        "site: open site to see them.")
    # It finished into A's own journal, and A's site has it; B's site has nothing of it.
    assert _run_items("site", "Move eight to Porto") == ["done"] * 8
    assert _one(site_a, f"SELECT COUNT(*) FROM user WHERE city = 'Porto' AND id IN ({','.join('?' * 4)})",
                *users[::2]) == 4
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
    assert text.startswith("“Eight to Braga” (profile site) finished after site was closed.")
    assert text.endswith("Not sent: “Suspend one” waited for a run of profile site, which was closed.")
    assert window.banner.level == "error"


def _record(qtbot, session, plan, profile: str) -> None:
    """Record ``plan`` in the open profile's journal without sending it: it waits in the outbox (as after a quit
    during a run)."""
    job = session.run_writer("test-record", lambda w: record(w, plan, profile=profile, lms_user="admin"))
    _wait_finished(qtbot, session.runner, job)


def test_the_new_profiles_outbox_goes_out_while_the_closed_profiles_send_still_runs(qtbot, console, site_a,
                                                                                     site_b):
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
    _wait_online(qtbot, session)  # B's outbox goes out once its site answers, after A's send
    with qtbot.waitSignal(engine.applied, timeout=60_000) as applied:
        pass
    assert applied.args[0].status == "done" and [r.status.value for r in applied.args[0].results] == ["done"]
    assert _one(site_b, "SELECT COUNT(*) FROM user WHERE username = 'switch.outbox'") == 1
    assert session.runner.job(old_send).state == JobState.DONE
    assert _run_items("site", "Eight to Oslo") == ["done"] * 8


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
