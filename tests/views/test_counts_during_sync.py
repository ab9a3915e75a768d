"""The navigation tree's counts and the overview follow the local copy while a long first sync writes it (not
"Users (0)" and tiles of 0 until it ends), re-read at most once every few seconds, and the overview says the
sync runs instead of "Not synchronised yet". A real sandbox site over HTTP, a real session, main window and cache."""

from __future__ import annotations

import re
import time

import pytest
from PySide6.QtCore import QSettings

from lms_console.models import overview_model
from lms_console.models.session import ConnectionSession, Online
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore
from lms_console.views.main_window import MainWindow

WAIT_MS = 30_000
FOLLOW_SYNC_INTERVAL_MS = getattr(overview_model, "FOLLOW_SYNC_INTERVAL_MS", 3000)  # (the same without the fix)


@pytest.fixture(scope="module")
def server(sandbox_site):
    return sandbox_site(users=400, courses=4, seed=23)


@pytest.fixture
def window(qtbot, runner, tmp_path, server):
    session = ConnectionSession(runner)
    win = MainWindow(session, QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
    win.show()
    yield win
    # The sync and the reads it set off end before the window goes (not qtbot.addWidget: it closes it first).
    server.clear_faults()
    session.close()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    win.close()
    win.deleteLater()


def cached(session, table: str) -> int:
    where = " WHERE username <> 'guest'" if table == "users" else ""
    with session.db.read() as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM {table}{where}").scalar()


def node_count(window, kind: str) -> int:
    text = window.nav_model.find(kind).data() or ""
    match = re.fullmatch(r".* \(([\d,]+)\)", text)
    return int(match[1].replace(",", "")) if match else -1


def open_online(qtbot, session, server) -> None:
    session.open(ProfileStore().add("site", server.url), Secret(server.admin_token))
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT_MS)


def test_the_overview_says_a_first_sync_runs_not_that_there_was_none(qtbot, window, server):
    session, summary = window.session, window.overview.sync_summary
    open_online(qtbot, session, server)
    qtbot.waitUntil(lambda: summary.text() == "Not synchronised yet: press F5 (Sync).", timeout=WAIT_MS)
    server.set_faults(latency_ms=300)
    session.sync()
    qtbot.waitUntil(lambda: cached(session, "users") > 0, timeout=WAIT_MS)  # the copy fills, the sync goes on
    qtbot.waitUntil(lambda: summary.text().startswith("Syncing…"), timeout=3 * FOLLOW_SYNC_INTERVAL_MS)
    assert session.syncing and "F5" not in summary.text()

    server.clear_faults()
    with qtbot.waitSignal(session.sync_finished, timeout=60_000) as finished:
        session.cancel_sync()
    assert finished.args[0].status == "cancelled"
    qtbot.waitUntil(lambda: "was cancelled" in summary.text(), timeout=WAIT_MS)


def test_the_tree_and_the_overview_counts_follow_a_first_sync_as_it_writes(qtbot, window, server):
    session = window.session
    open_online(qtbot, session, server)
    qtbot.waitUntil(lambda: window.overview.cards["users"].value.text() == "0", timeout=WAIT_MS)
    reads = []
    session.runner.job_changed.connect(
        lambda info: info.name == "navigation" and info.state.value == "queued" and reads.append(time.monotonic()))

    server.set_faults(latency_ms=150)
    session.sync()
    qtbot.waitUntil(lambda: cached(session, "users") > 0 and cached(session, "cohorts") > 0, timeout=WAIT_MS)
    following = time.monotonic()
    server.set_faults(latency_ms=2000)  # the rest of the sync takes its time: the counts must not wait for it

    qtbot.waitUntil(lambda: node_count(window, "users") > 0 and node_count(window, "cohorts") > 0,
                    timeout=3 * FOLLOW_SYNC_INTERVAL_MS)
    qtbot.waitUntil(lambda: window.overview.cards["users"].value.text() != "0", timeout=3 * FOLLOW_SYNC_INTERVAL_MS)
    assert session.syncing  # all of that while the sync still runs
    assert 0 < node_count(window, "users") <= cached(session, "users")
    assert 0 < int(window.overview.cards["users"].value.text().replace(",", "")) <= cached(session, "users") + 1
    # Debounced: the tree is read again at most once every interval while progress comes ten times a second.
    elapsed_ms = (time.monotonic() - following) * 1000
    assert len([t for t in reads if t >= following]) <= elapsed_ms / FOLLOW_SYNC_INTERVAL_MS + 2

    server.clear_faults()
    with qtbot.waitSignal(session.sync_finished, timeout=60_000):
        session.cancel_sync()
    qtbot.waitUntil(lambda: node_count(window, "users") == cached(session, "users"), timeout=WAIT_MS)
