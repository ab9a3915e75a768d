"""The main window against the sandbox over real HTTP: open, sync with progress, cancel, offline/online, bad token."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from lms_console.models.nav_model import NavTarget, TargetRole
from lms_console.models.session import ConnectionSession, Online
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.credentials import Secret
from lms_console.services.profiles import ProfileStore
from lms_console.views.main_window import MainWindow


@pytest.fixture
def server():
    s = SandboxServer(users=120, courses=4, seed=13).start()
    yield s
    s.stop()


@pytest.fixture
def window(qtbot, tmp_path):
    runner = TaskRunner(http_workers=4)
    session = ConnectionSession(runner)
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    win = MainWindow(session, settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    session.close()
    runner.shutdown(wait=True)


def _open(window, server, token=None):
    store = ProfileStore()
    profile = store.add("site", server.url)
    window.session.open(profile, Secret(token or server.admin_token))
    return profile


def test_opens_syncs_with_progress_and_shows_the_overview(qtbot, window, server):
    progress = []
    window.session.runner.job_changed.connect(lambda info: info.name == "sync" and progress.append(info))
    _open(window, server)
    qtbot.waitUntil(lambda: window.session.state.status == Online.ONLINE, timeout=10000)
    assert window.connection_indicator.state() == "online"
    window.request_sync()
    with qtbot.waitSignal(window.session.sync_finished, timeout=60000) as finished:
        pass
    assert finished.args[0].status == "ok"
    assert any(p.total and p.done < p.total for p in progress)  # intermediate progress was shown
    with server.store.connection() as conn:
        users = conn.execute("SELECT COUNT(*) FROM user WHERE deleted = 0 AND username <> 'guest'").fetchone()[0]
    qtbot.waitUntil(lambda: window.overview.cards["users"].value.text() == f"{users:,}", timeout=10000)
    assert window.overview.capabilities.rowCount() > 5
    rows = window.overview.freshness.horizontalHeaderItem(3)
    assert rows.text() == "Rows read" and "what the local copy holds" in rows.toolTip()  # not the rows held
    assert "As of" in window.freshness_label.text()
    # The navigation tree lists the site's courses under the categories.
    qtbot.waitUntil(lambda: window.nav_model.find("course").isValid(), timeout=10000)
    target = window.nav_model.find("course").data(TargetRole)
    assert isinstance(target, NavTarget) and target.kind == "course"


def test_sync_can_be_cancelled_and_keeps_the_window_usable(qtbot, window, server):
    server.set_faults(latency_ms=40)
    _open(window, server)
    qtbot.waitUntil(lambda: window.session.state.status == Online.ONLINE, timeout=10000)
    window.request_sync()
    qtbot.waitUntil(lambda: window.cancel_action.isEnabled(), timeout=5000)
    qtbot.wait(300)
    with qtbot.waitSignal(window.session.sync_finished, timeout=20000) as finished:
        window.cancel_action.trigger()
    assert finished.args[0].status == "cancelled"  # what was fetched before Cancel is kept
    assert "cancelled" in window.sync_label.text()
    server.clear_faults()


def test_offline_and_back_online(qtbot, window, server):
    _open(window, server)
    qtbot.waitUntil(lambda: window.session.state.status == Online.ONLINE, timeout=10000)
    server.set_faults(drop_before_rate=1.0)  # the site stops answering
    window.session.check_connection()
    qtbot.waitUntil(lambda: window.session.state.status == Online.OFFLINE, timeout=15000)
    assert window.connection_indicator.state() == "offline"
    assert "Offline since" in window.banner.message_text()
    assert not window.sync_action.isEnabled()
    window.sync_label.setText("Sync failed.")  # as a sync cut off by the site going away leaves it
    server.clear_faults()
    window.session._retry.setInterval(10)  # do not wait for the back-off in a test
    window.session._retry.start()
    qtbot.waitUntil(lambda: window.session.state.status == Online.ONLINE, timeout=15000)
    assert "back online" in window.banner.message_text()
    assert window.sync_action.isEnabled()
    assert window.sync_label.text() == "The last sync did not finish; press F5 to sync again."


def test_a_bad_token_shows_the_banner_with_the_lms_code(qtbot, window, server):
    _open(window, server, token="0" * 32)
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.banner.code_text() != "", timeout=10000)
    assert "invalidtoken" in window.banner.code_text()
    assert "Paste a valid token" in window.banner.hint_text()
    assert window.session.state.status == Online.AUTH_FAILED


def test_settings_are_remembered(qtbot, window, tmp_path):
    window.resize(700, 500)  # the offscreen screen is 800x800
    window.splitter.setSizes([230, 470])
    window.save_settings()
    settings = QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)
    assert int(settings.value("window/version")) == 1
    again = MainWindow(window.session, settings)
    qtbot.addWidget(again)
    assert (again.size().width(), again.size().height()) == (700, 500)
    assert again.splitter.sizes()[0] == window.splitter.sizes()[0]
    # Settings of another version are ignored (layouts change between versions).
    settings.setValue("window/version", 99)
    fresh = MainWindow(window.session, settings)
    qtbot.addWidget(fresh)
    assert fresh.size().width() != 700


def _select(qtbot, window, kind, ident=None):
    index = window.nav_model.find(kind, ident)
    assert index.isValid(), (kind, ident)
    window.nav.setCurrentIndex(window.nav.model().mapFromSource(index))
    qtbot.waitUntil(lambda: window.current_target() is not None and window.current_target().kind == kind)


def _rebuild(qtbot, window):
    with qtbot.waitSignal(window.nav_model.rebuilt, timeout=10000):
        window.nav_model.refresh()


def test_the_node_shown_stays_selected_when_the_tree_is_rebuilt(qtbot, window, server):
    _open(window, server)
    window.request_sync()
    qtbot.waitSignal(window.session.sync_finished, timeout=60000).wait()
    qtbot.waitUntil(lambda: window.nav_model.find("cohort").isValid(), timeout=10000)
    cohort = window.nav_model.find("cohort").data(TargetRole)
    _select(qtbot, window, "cohort", cohort.id)
    pane = window.stack.currentWidget()

    _rebuild(qtbot, window)
    assert window.current_target() == cohort
    assert window.stack.currentWidget() is pane

    # The cohort goes away (deleted on the site, seen by the last sync): the window shows all cohorts.
    with window.session.db.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM cohort_members WHERE cohortid = ?", (cohort.id,))
        conn.exec_driver_sql("DELETE FROM cohorts WHERE id = ?", (cohort.id,))
    _rebuild(qtbot, window)
    assert window.current_target().kind == "cohorts"
    assert not window.nav_model.find("cohort", cohort.id).isValid()


def test_a_rebuild_keeps_the_open_nodes_open_and_the_shown_node_selected(qtbot, window, server):
    # An applied change (a bulk suspend from the "No cohort" node) rebuilds the tree from the cache.
    _open(window, server)
    window.request_sync()
    qtbot.waitSignal(window.session.sync_finished, timeout=60000).wait()
    qtbot.waitUntil(lambda: window.nav_model.find("course").isValid(), timeout=10000)
    _select(qtbot, window, "filter", "no_cohort")
    proxy = window.nav.model()

    def node(kind):
        return proxy.mapFromSource(window.nav_model.find(kind))

    window.nav.expand(node("users"))
    window.nav.expand(node("categories"))
    window.nav.collapse(node("cohorts"))

    with qtbot.waitSignal(window.nav_model.rebuilt, timeout=10000):
        window.session.cache_changed.emit({"users"})
    assert window.nav.isExpanded(node("users")) and window.nav.isExpanded(node("categories"))
    assert not window.nav.isExpanded(node("cohorts"))
    shown = proxy.mapFromSource(window.nav_model.find("filter", "no_cohort"))
    assert window.current_target().id == "no_cohort"
    assert window.nav.selectionModel().isSelected(shown)
    assert window.nav.visualRect(shown).isValid()  # on screen, not inside a collapsed node


def test_the_window_banner_offers_retry_only_for_what_can_be_retried(qtbot, window):
    from PySide6.QtWidgets import QPushButton

    from lms_console.services.lms.errors import Unreachable

    retry = window.banner.findChild(QPushButton, "BannerRetry")
    window.banner.show_message("info", "The profile was closed and removed.")
    assert window.banner.isVisibleTo(window) and not retry.isVisibleTo(window)
    window.show_problem(Unreachable("cannot connect to 127.0.0.1:9"))
    assert retry.isVisibleTo(window)


def test_overview_tables_show_their_headings_whole_even_when_empty(qtbot, window):
    from PySide6.QtWidgets import QTableWidget

    from lms_console.views.overview_pane import OverviewPane

    tables = window.findChild(OverviewPane).findChildren(QTableWidget)
    assert len(tables) >= 2
    for table in tables:
        header = table.horizontalHeader()
        for n in range(table.columnCount() - 1):  # "Missing functions" read "ssing functio"
            assert header.sectionSize(n) >= header.sectionSizeFromContents(n).width(), \
                table.horizontalHeaderItem(n).text()


def test_the_window_can_be_made_1024_by_700_with_every_pane_installed(qtbot, window):
    from lms_console.models.changes_model import ChangeEngine
    from lms_console.views.changes_wiring import install_change_views
    from lms_console.views.content_wiring import install_content_views
    from lms_console.views.groups_wiring import install_groups_views
    from lms_console.views.reports_wiring import install_reports_views
    from lms_console.views.users_wiring import install_users_views

    session = window.session
    engine = ChangeEngine(session)
    install_change_views(window, engine)
    install_users_views(window, session, engine)
    install_reports_views(window, session)
    install_content_views(window, session, engine)
    install_groups_views(window, session, engine)
    for key in ("overview", "users", "reports", "categories", "groups", "journal"):
        window.show_pane(key)
        qtbot.wait(20)  # the layouts take the new sizes in the next turn of the event loop
        hint = window.minimumSizeHint()
        assert hint.width() <= 1024 and hint.height() <= 700, (key, hint)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (1024, 700))


def _capability_texts(window) -> list[str]:
    table = window.overview.capabilities
    return [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())
            if table.item(r, c) is not None]


def test_a_rejected_token_says_sign_in_again_not_offline(qtbot, window, server):
    from PySide6.QtWidgets import QToolButton

    _open(window, server, token="0" * 32)
    qtbot.waitUntil(lambda: window.session.state.status == Online.AUTH_FAILED, timeout=10000)
    indicator = window.connection_indicator
    assert indicator.state() == "rejected" and indicator.text() == "Token rejected: sign in again"
    assert "Offline" not in indicator.text()  # the site answers: it refuses the token
    tip = indicator.findChild(QToolButton).toolTip()
    assert "rejects the token" in tip and "Profiles" in tip and "Invalid token" in tip
    with qtbot.waitSignal(window.profiles_requested, timeout=2000):  # a click leads to signing in again
        indicator.clicked.emit()


def test_the_overview_never_shows_another_profiles_capabilities(qtbot, window, server):
    _open(window, server)
    qtbot.waitUntil(lambda: window.session.state.status == Online.ONLINE, timeout=10000)
    qtbot.waitUntil(lambda: "Yes" in _capability_texts(window), timeout=5000)

    # Another profile whose token the site rejects: nothing of the first profile's answer stays.
    profile = ProfileStore().add("rejected", server.url)
    window.session.open(profile, Secret("0" * 32))
    assert "Yes" not in _capability_texts(window)  # cleared as soon as the profile changed
    qtbot.waitUntil(lambda: window.session.state.status == Online.AUTH_FAILED, timeout=10000)
    texts = _capability_texts(window)
    assert "Yes" not in texts and "No" not in texts
    assert any(t.startswith("Not known: the site rejected the token") for t in texts), texts

    # A URL that is no Moodle site (the sandbox answers a page there, not web services).
    other = ProfileStore().add("not-moodle", server.url + "/no-moodle-here")
    window.session.open(other, Secret(server.admin_token))
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.banner.code_text() != "", timeout=10000)
    # Something answers, but no web service: not "Connecting…" for ever, and not "Offline" either.
    qtbot.waitUntil(lambda: window.connection_indicator.state() == "failed", timeout=5000)
    assert window.connection_indicator.text() == "Cannot connect"
    texts = _capability_texts(window)
    assert "Yes" not in texts and "No" not in texts
    assert any(t.startswith("Not known") for t in texts), texts

    window.session.close()
    assert _capability_texts(window)[0] == "Not known: no connection profile is open."


def test_overview_tables_grow_with_their_wrapped_rows_at_every_width(qtbot, window):
    from PySide6.QtWidgets import QLabel

    from lms_console.models.overview_model import OverviewData
    from lms_console.services.cache.queries import SyncStateRow
    from lms_console.views.overview_pane import ENTITY_TITLES

    why = ("the token's account is not a site administrator, so the site shows it only what that account may see; "
           "nothing else was removed from the local copy")
    fresh = {e: SyncStateRow(e, "partial", 1, None, 1, 3, why if n % 2 else None, None)
             for n, e in enumerate(ENTITY_TITLES)}
    overview = window.overview
    window.resize(1400, 860)
    qtbot.wait(20)
    overview.show_overview(OverviewData({}, {"site": fresh["site"]}, None))  # one row first, as a sync starts
    qtbot.wait(20)
    overview.show_overview(OverviewData({}, fresh, None))
    heading = next(label for label in overview.widget().findChildren(QLabel)
                   if label.text() == "What this connection can do")
    table = overview.freshness
    for width, height in ((1400, 860), (1024, 700), (900, 640), (1400, 860)):
        window.resize(width, height)
        qtbot.waitUntil(lambda w=width: window.width() == w)
        qtbot.wait(50)  # the layouts settle in the next turns of the event loop
        rows = range(table.rowCount())
        assert all(table.rowHeight(r) >= table.sizeHintForRow(r) for r in rows), (width, "a row is cut off")
        needed = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in rows)
        assert table.viewport().height() >= needed - table.horizontalHeader().height(), width
        assert heading.geometry().top() >= table.geometry().bottom(), (width, "the heading overlaps the table")


def _status_bar_overlaps(window) -> list[str]:
    """Pairs of visible status-bar parts drawn over each other, and parts drawn over the bar's message."""
    from PySide6.QtCore import QRect

    bar = window.statusBar()
    shown = [w for w in bar.children() if w.isWidgetType() and w.isVisible() and w.geometry().width() > 0
             and w.objectName() != "qt_statusbar_sizegrip"]
    names = {id(w): w.objectName() or type(w).__name__ for w in shown}
    clashes = [f"{names[id(a)]} / {names[id(b)]}" for i, a in enumerate(shown) for b in shown[i + 1:]
               if a.geometry().intersects(b.geometry())]
    message = bar.currentMessage()
    if message:  # QStatusBar draws it from the left, where its normal (not permanent) widgets were
        area = QRect(0, 0, bar.fontMetrics().horizontalAdvance(message) + 8, bar.height())
        clashes += [f"{names[id(w)]} over the message" for w in shown if w.geometry().intersects(area)]
    return clashes


def test_the_status_bar_parts_never_overlap_at_1024_px(qtbot, window):
    """QA: with a button's status tip shown (the mouse over Sync), "Not synced yet" was drawn over its text."""
    import time

    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024)
    bar = window.statusBar()
    window.connection_indicator.set_offline(time.time(), "no answer")
    window.freshness_label.set_times({"Users": None, "Courses": None})
    window.sync_label.setText("The last sync did not finish; press F5 to sync again.")
    window.outbox_indicator.set_count(3)
    qtbot.wait(20)  # the bar lays out in the next turn of the event loop
    assert window.freshness_label.isVisible() and _status_bar_overlaps(window) == []
    bar.showMessage(window.sync_action.statusTip())  # as when the mouse is over the Sync button
    qtbot.wait(20)
    assert _status_bar_overlaps(window) == []
    window.freshness_label.set_times({"Users": time.time(), "Courses": None})  # new data meanwhile
    window.freshness_label.set_times({})  # another profile: nothing to say, then something again
    window.freshness_label.set_times({"Users": None})
    qtbot.wait(20)
    assert _status_bar_overlaps(window) == []
    bar.clearMessage()  # the mouse left the button: the bar's parts are back
    qtbot.wait(20)
    assert window.freshness_label.isVisible() and window.freshness_label.text() == "Not synced yet"
    assert window.connection_indicator.isVisible() and _status_bar_overlaps(window) == []
    window.freshness_label.set_times({})
    bar.showMessage("Another status tip")
    bar.clearMessage()
    qtbot.wait(20)
    assert not window.freshness_label.isVisible()  # nothing to say: stays hidden after a message
