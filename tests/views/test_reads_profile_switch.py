"""Reads of one profile's copy that end after the admin opened another (or closed it): nothing of them is shown
as, acted on in, or written into the profile open now (a selection's ids, a plan of the groups pane, an import's
dry run, the outbox, a report, an after-sync snapshot, the groups and navigation trees, the overview). And a run
the admin cancelled says one thing: its results, or one banner, never the outbox's words. Two real sandbox sites
over HTTP, a real TaskRunner, ConnectionSession, ChangeEngine, main window and change views, real cache files."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from lms_console.models.enrolments_model import EnrolmentQuery, EnrolmentsTableModel
from lms_console.models.groups_actions import GroupsActions
from lms_console.models.groups_model import GroupsTreeModel
from lms_console.models.journal_model import OutboxTableModel
from lms_console.models.reports_model import ReportsModel
from lms_console.models.session import Online
from lms_console.models.tasks import JobState
from lms_console.models.users_model import UsersTableModel
from lms_console.services.cache.db import CacheDb
from lms_console.services.changes import Change, plan_changes, record
from lms_console.services.credentials import Secret
from lms_console.services.lms.errors import Cancelled
from lms_console.services.profiles import ProfileStore
from lms_console.services.reports import ReportParams
from lms_console.views.import_wiring import install_import_dialog
from suite_helpers import q

WAIT = 30_000
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def _no_faults_left(server, other_server):
    yield
    server.clear_faults()
    other_server.clear_faults()


@pytest.fixture
def console(change_console, server, template):
    """(session, engine, window, views): profile "site" open on a synced copy of ``server``."""
    session, engine, window, views, _ = change_console(server, (), cache_from=template)
    return session, engine, window, views


def _open_b(session, site) -> None:
    """Open profile B (``site``, its copy not synced) at once, as the toolbar's profile box does."""
    store = ProfileStore()
    profile = store.get("B") if store.exists("B") else store.add("B", site.url)
    assert session.open(profile, Secret(site.admin_token))


def _settle(qtbot, session, job: int | None) -> None:
    """Wait for ``job`` to end (and what its result set off), and for profile B to be online."""
    if job is not None:
        qtbot.waitUntil(lambda: session.runner.job(job).state.finished, timeout=WAIT)
    qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=WAIT)
    qtbot.wait(150)


def _job(session, prefix: str) -> int:
    return next(j.id for j in session.runner.running() if j.name.startswith(prefix))


def _one(session, sql: str, *params):
    with session.db.read() as conn:
        return conn.exec_driver_sql(sql, params).first()


# -- selections and plans -------------------------------------------------------------------------------------

def test_the_ids_of_a_users_selection_read_for_the_closed_profile_are_not_acted_on(qtbot, console, other_server):
    session, engine, window, views = console
    model = UsersTableModel(session, page_size=5)
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.refresh()
    got = []
    job = model.resolve_ranges([(10, 12)], got.append)  # not read yet: from SQL (a group's members to remove)
    assert job is not None
    _open_b(session, other_server)
    _settle(qtbot, session, job)
    assert got == []  # A's ids would be removed from a cohort or group of B


def test_the_ids_of_selected_enrolments_read_for_the_closed_profile_are_not_acted_on(qtbot, console, other_server):
    session, engine, window, views = console
    courseid = _one(session, "SELECT courseid FROM enrolments GROUP BY courseid ORDER BY COUNT(*) DESC")[0]
    model = EnrolmentsTableModel(session, page_size=3)
    with qtbot.waitSignal(model.loaded, timeout=WAIT):
        model.show(EnrolmentQuery(courseid))
    assert model.total() > 6
    got = []
    job = model.ids_for_rows([4, 5, 6], got.append)
    assert job is not None
    _open_b(session, other_server)
    _settle(qtbot, session, job)
    assert got == []  # A's users' enrolments would be suspended or ended in B's course of the same id


def test_a_groups_pane_plan_of_the_closed_profile_is_not_previewed_on_the_next(qtbot, console, other_server):
    session, engine, window, views = console
    cohort, member = _one(session, "SELECT cohortid, userid FROM cohort_members LIMIT 1")
    actions = GroupsActions(session, engine)
    planned = []
    engine.planned.connect(planned.append)
    actions.problem.connect(planned.append)
    job = actions.plan_remove("cohort", cohort, [member])
    _open_b(session, other_server)
    _settle(qtbot, session, job)
    assert planned == [] and views.preview is None  # its Apply would send A's plan to B's site


# -- the import's dry run -----------------------------------------------------------------------------------------

def _import_dialog(qtbot, tmp_path, session, engine, window):
    user = _one(session, "SELECT username, lastname FROM users WHERE id > 3 ORDER BY id LIMIT 1")
    path = tmp_path / "people.csv"
    path.write_text(f"username,lastname\n{user[0]},{user[1]}-Renamed\n", encoding="utf-8")
    dialog = install_import_dialog(window, session, engine)()
    dialog.set_path(str(path))
    with qtbot.waitSignal(dialog.controller.file_read, timeout=WAIT):
        dialog.next_step()
    return dialog


def _not_offered(dialog) -> None:
    assert dialog.controller.result is None and not dialog.apply_button.isEnabled()
    assert "profile site, which was closed" in dialog.run_message.text()
    assert dialog.next_button.isVisible() and dialog.next_button.text() == "Run again"


def test_a_dry_run_of_the_closed_profile_is_not_offered_for_apply_on_the_next(qtbot, tmp_path, console, other_server):
    session, engine, window, views = console
    dialog = _import_dialog(qtbot, tmp_path, session, engine, window)
    with qtbot.waitSignal(dialog.controller.dry_run_finished, timeout=WAIT):
        dialog.next_step()
    assert dialog.apply_button.isEnabled()
    _open_b(session, other_server)
    _settle(qtbot, session, None)
    _not_offered(dialog)  # its Apply would plan A's rows against B's site


def test_a_dry_run_still_running_when_its_profile_closes_is_not_offered_on_the_next(qtbot, tmp_path, console,
                                                                                     other_server, monkeypatch):
    session, engine, window, views = console
    dialog = _import_dialog(qtbot, tmp_path, session, engine, window)
    from lms_console.services import importer

    real = importer.run_dry_run

    def slow(db, table, targets, options, progress, cancel):
        if cancel.wait(2):
            raise Cancelled()
        return real(db, table, targets, options, progress, cancel)

    monkeypatch.setattr(importer, "run_dry_run", slow)
    dialog.next_step()
    job = _job(session, "import-dry-run")
    _open_b(session, other_server)
    _settle(qtbot, session, job)
    _not_offered(dialog)


# -- what the panes show ------------------------------------------------------------------------------------------

def test_the_outbox_read_for_the_closed_profile_is_not_listed_as_the_nexts(qtbot, console, other_server):
    session, engine, window, views = console
    user = _one(session, "SELECT id FROM users WHERE id > 3 ORDER BY id LIMIT 1")[0]
    plan = plan_changes(session.db, [Change("user.update", {"id": user, "fields": {"city": "Tromsø"}})],
                        site=session.site, title="One to Tromsø")
    recorded = session.run_writer("test-record", lambda w: record(w, plan, profile="site", lms_user="admin"))
    qtbot.waitUntil(lambda: session.runner.job(recorded).state.finished, timeout=WAIT)
    outbox = OutboxTableModel(session)
    job = outbox.refresh()
    _open_b(session, other_server)
    _settle(qtbot, session, job)
    assert outbox.rowCount() == 0  # B's outbox is empty; A's change is not B's to send or drop


def test_a_report_of_the_closed_profile_is_not_shown_as_the_nexts(qtbot, console, other_server):
    session, engine, window, views = console
    model = ReportsModel(session)
    shown = []
    model.report_ready.connect(shown.append)
    job = model.run("enrolments", ReportParams())
    _open_b(session, other_server)
    _settle(qtbot, session, job)
    assert shown == [] and model.current is None


def test_an_after_sync_snapshot_of_the_closed_profile_is_not_saved_into_the_next(qtbot, console, other_server,
                                                                                 monkeypatch):
    session, engine, window, views = console
    model = ReportsModel(session)
    with qtbot.waitSignal(model.report_ready, timeout=WAIT):
        model.run("enrolments", ReportParams())
    model.auto_snapshot = True
    from lms_console.models import reports_model

    gate, real = threading.Event(), reports_model._run

    def held(*args):  # the after-sync report of A is still being worked out when the admin opens B
        gate.wait(10)
        return real(*args)

    monkeypatch.setattr(reports_model, "_run", held)
    with qtbot.waitSignal(session.sync_finished, timeout=60_000):
        session.sync(("site",))
    job = _job(session, "report-auto-snapshot")
    _open_b(session, other_server)
    gate.set()
    _settle(qtbot, session, job)
    qtbot.waitUntil(lambda: not session.runner.running(), timeout=WAIT)
    with CacheDb.open(ProfileStore().get("B").cache_path, check=False) as db:
        assert q(db, "SELECT COUNT(*) FROM report_snapshots") == [(0,)]  # A's numbers are not B's snapshot


def test_the_groups_tree_read_for_a_profile_closed_meanwhile_stays_empty(qtbot, console):
    session, engine, window, views = console
    tree = GroupsTreeModel(session)
    with qtbot.waitSignal(tree.rebuilt, timeout=WAIT):
        tree.refresh()
    assert tree.data_read.cohorts and tree.data_read.courses
    job = tree.refresh()
    session.close()
    qtbot.waitUntil(lambda: session.runner.job(job).state.finished, timeout=WAIT)
    qtbot.wait(150)
    assert not tree.data_read.cohorts and not tree.data_read.courses


def test_the_navigation_tree_read_for_a_profile_closed_meanwhile_says_no_site_is_open(qtbot, console):
    session, engine, window, views = console
    nav = window.nav_model
    nav.refresh()
    job = _job(session, "navigation")
    session.close()
    qtbot.waitUntil(lambda: session.runner.job(job).state.finished, timeout=WAIT)
    qtbot.wait(150)
    assert nav.rowCount() == 1 and nav.item(0).text() == "No site open" and nav.item(0).rowCount() == 0


def test_the_overview_read_for_a_profile_closed_meanwhile_is_not_shown(qtbot, console):
    session, engine, window, views = console
    overview = window.overview_model
    shown = []
    overview.loaded.connect(shown.append)
    overview.refresh()
    job = _job(session, "overview")
    session.close()
    qtbot.waitUntil(lambda: session.runner.job(job).state.finished, timeout=WAIT)
    qtbot.wait(150)
    assert shown == []  # A's counts with no profile open


# -- a run the admin cancelled ---------------------------------------------------------------------------------

def test_a_run_the_admin_cancelled_shows_its_results_not_the_outboxs_words(qtbot, console, server):
    session, engine, window, views = console
    runner = session.runner
    with session.db.read() as conn:
        users = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT 8")]
    # Two kinds in turn: each change goes in a call of its own, so the run can stop between them.
    changes = [Change("user.update", {"id": u, "fields": {"city": "Vigo"}}) if n % 2 == 0
               else Change("user.force_password_change", {"id": u}) for n, u in enumerate(users)]
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan(changes, title="Eight to Vigo")
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    views.preview.confirm_check.click()
    server.set_faults(latency_ms=300)
    qtbot.mouseClick(views.preview.apply_button, LEFT)
    job = _job(session, "apply-")
    qtbot.waitUntil(lambda: runner.job(job).done > 0, timeout=WAIT)
    runner.cancel(job)  # the jobs panel's Cancel
    qtbot.waitUntil(lambda: runner.job(job).state.finished, timeout=WAIT)
    qtbot.wait(150)

    assert runner.job(job).state == JobState.CANCELLED
    assert views.results is not None and views.results.isVisible()
    assert views.results.summary.status == "cancelled"
    assert views.results.subtitle_label.text().startswith("Eight to Vigo — run ")
    assert "outbox" not in window.banner.message_text()


def test_a_run_cancelled_before_it_sent_anything_says_so_once(qtbot, console):
    session, engine, window, views = console
    runner = session.runner
    user = _one(session, "SELECT id FROM users WHERE id > 3 ORDER BY id LIMIT 1")[0]
    with qtbot.waitSignal(engine.planned, timeout=WAIT):
        engine.plan([Change("user.update", {"id": user, "fields": {"city": "Lugo"}})], title="One to Lugo")
    qtbot.waitUntil(lambda: views.preview is not None and views.preview.isVisible(), timeout=WAIT)
    gate = threading.Event()
    session.run_writer("test-hold", lambda w: gate.wait(10))  # the writer thread is busy: the run waits its turn
    qtbot.mouseClick(views.preview.apply_button, LEFT)
    job = _job(session, "apply-")
    runner.cancel(job)
    gate.set()
    qtbot.waitUntil(lambda: runner.job(job).state.finished, timeout=WAIT)
    qtbot.wait(150)

    assert views.results is None
    assert window.banner.message_text() == "“One to Lugo” was cancelled. The journal shows which items went through."
