"""A sync still running when the admin opens another profile (or closes the open one) is cancelled, and the
runner still hands back what it did (a cancelled sync's result matters). That result is the old profile's: it
stays in the old profile's own cache, and is never said of the profile open now (its last sync, the status
bar's "Sync cancelled", an offline banner for a site that answers). Two real sandbox sites over HTTP, a real
TaskRunner and ConnectionSession (and ConsoleApp), real cache files in tmp_path."""

from __future__ import annotations

import pytest

from lms_console.models.session import ConnectionSession, Online
from lms_console.models.tasks import JobState
from lms_console.services.cache import queries
from lms_console.services.cache.db import CacheDb
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore

WAIT_MS = 20_000


@pytest.fixture(scope="module")
def site_a(sandbox_site):
    return sandbox_site(users=40, courses=3, seed=11)


@pytest.fixture(scope="module")
def site_b(sandbox_site):
    return sandbox_site(users=12, courses=1, seed=12)


@pytest.fixture(autouse=True)
def _no_faults_left(site_a, site_b):
    yield
    site_a.clear_faults()
    site_b.clear_faults()


@pytest.fixture
def session(qtbot, runner):
    s = ConnectionSession(runner)
    yield s
    s.close()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)


@pytest.fixture
def arrivals(site_a, monkeypatch) -> list:
    """How many requests reached ``site_a`` so far (counted as they arrive, before any injected latency)."""
    faults, seen = site_a.app.faults, []
    plan = faults.plan

    def counted():
        seen.append(1)
        return plan()

    monkeypatch.setattr(faults, "plan", counted)
    return seen


class Watch:
    """What the session says after the switch: sync results, connection states, problems."""

    def __init__(self, session: ConnectionSession) -> None:
        self.finished, self.states, self.problems = [], [], []
        session.sync_finished.connect(self.finished.append)
        session.state_changed.connect(self.states.append)
        session.problem_occurred.connect(self.problems.append)


def open_profile(session, name, site):
    store = ProfileStore()
    profile = store.get(name) if store.exists(name) else store.add(name, site.url)
    assert session.open(profile, Secret(site.admin_token))
    return profile


def open_online(qtbot, session, name, site):
    profile = open_profile(session, name, site)
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    return profile


def start_slow_sync(qtbot, session, runner, site) -> int:
    """Start a sync of the open profile with every answer of ``site`` late; its job id once requests of the
    sync's own are on their way."""
    site.set_faults(latency_ms=400)
    job_id = session.sync()
    qtbot.waitUntil(lambda: runner.job(job_id).state == JobState.RUNNING and runner.job(job_id).done > 0,
                    timeout=WAIT_MS)
    return job_id


def wait_finished(qtbot, runner, job_id: int) -> None:
    qtbot.waitUntil(lambda: runner.job(job_id).state.finished, timeout=WAIT_MS)
    qtbot.wait(100)  # anything the result set off on the GUI thread


def last_run_status(profile) -> str:
    with CacheDb.open(profile.cache_path, check=False) as db, db.read() as conn:
        return queries.last_run(conn).status


def test_a_sync_cancelled_by_opening_another_profile_is_not_the_new_profiles_last_sync(
        qtbot, session, runner, site_a, site_b):
    a = open_online(qtbot, session, "A", site_a)
    old_sync = start_slow_sync(qtbot, session, runner, site_a)
    watch = Watch(session)
    open_profile(session, "B", site_b)
    assert not runner.job(old_sync).state.finished
    assert not session.syncing  # A's sync still stopping is not B's: B syncs on connect, F5 syncs B
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)
    wait_finished(qtbot, runner, old_sync)

    assert runner.job(old_sync).state == JobState.CANCELLED
    assert session.profile.name == "B"
    assert watch.finished == [] and session.last_sync is None
    assert watch.problems == [] and session.state.status == Online.ONLINE
    assert last_run_status(a) == "cancelled"  # what A's sync did stays in A's own copy, said as such
    with qtbot.waitSignal(session.sync_finished, timeout=60_000) as synced:  # B syncs, and that is B's
        assert session.sync() is not None
    assert synced.args[0].status == "ok" and session.last_sync is synced.args[0]


def test_a_sync_whose_site_stopped_answering_as_the_admin_switched_does_not_put_the_new_profile_offline(
        qtbot, session, runner, site_a, site_b, arrivals):
    """A's site stops answering while its sync runs, and the admin switches to B (whose site answers) as the
    sync's last try is on its way: that try fails "not reachable" after the switch."""
    open_online(qtbot, session, "A", site_a)
    arrivals.clear()
    site_a.set_faults(latency_ms=500, drop_after_rate=1.0)  # each answer late, then the connection lost
    old_sync = session.sync()
    # The sync first reads the site's info, retried up to 4 times; switch while the 4th try is on its way.
    qtbot.waitUntil(lambda: len(arrivals) >= 4, timeout=WAIT_MS)
    watch = Watch(session)
    open_online(qtbot, session, "B", site_b)
    wait_finished(qtbot, runner, old_sync)

    assert session.profile.name == "B"
    assert watch.finished == [] and session.last_sync is None and watch.problems == []
    assert Online.OFFLINE not in [s.status for s in watch.states]
    assert session.state.status == Online.ONLINE and not session._retry.isActive()


def test_a_sync_cancelled_by_closing_the_profile_leaves_the_closed_session_alone(
        qtbot, session, runner, site_a):
    open_online(qtbot, session, "A", site_a)
    old_sync = start_slow_sync(qtbot, session, runner, site_a)
    watch = Watch(session)
    session.close()
    wait_finished(qtbot, runner, old_sync)

    assert not session.is_open and session.state.status == Online.UNKNOWN
    assert watch.finished == [] and watch.states == [] and watch.problems == [] and session.last_sync is None


def test_switching_profile_during_a_sync_the_status_bar_speaks_of_the_new_profiles_sync(
        qtbot, console, site_a, site_b):
    """The toolbar's profile box: B opens while A's sync is still stopping. B's status bar says nothing of
    A's cancelled sync, and B gets its own sync on connect."""
    console.profiles.add("A", site_a.url)
    console.profiles.add("B", site_b.url)
    console.tokens.set("A", site_a.admin_token)
    console.tokens.set("B", site_b.admin_token)
    console.profiles.set_last_used("A")
    site_a.set_faults(latency_ms=400)
    console.start()
    qtbot.waitUntil(lambda: hasattr(console, "engine"), timeout=WAIT_MS)
    session, runner = console.session, console.runner
    qtbot.waitUntil(lambda: session.is_open and session.syncing, timeout=WAIT_MS)  # A's sync on connect
    old_sync = session._sync_job
    qtbot.waitUntil(lambda: runner.job(old_sync).done > 0, timeout=WAIT_MS)

    finished = []
    session.sync_finished.connect(lambda result: finished.append((session.profile.name, result.status)))
    combo = console.window.profile_combo
    combo.setCurrentIndex(combo.findText("B"))
    combo.activated.emit(combo.findText("B"))
    qtbot.waitUntil(lambda: session.profile is not None and session.profile.name == "B", timeout=WAIT_MS)
    wait_finished(qtbot, runner, old_sync)
    qtbot.waitUntil(lambda: bool(finished) and not session.syncing, timeout=60_000)  # B's own sync on connect
    assert finished == [("B", "ok")]
    assert console.window.sync_label.text().startswith("Synced in")
    assert console.window.connection_indicator.text() == "Online"
