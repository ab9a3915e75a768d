"""NavigationModel: the tree of the navigation pane, before a profile is open, built from a synced
cache (site, users with their filters, cohorts, groups, nested categories with courses, reports,
journal), with a saved filter added later, and after the profile is closed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from lms_console.models.nav_model import DEFAULT_FILTERS, NavigationModel, NavTarget, TargetRole
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services import saved_filters as SF
from lms_console.services import users_query as Q


@pytest.fixture(scope="module")
def server():
    site = SandboxServer(users=60, courses=5, seed=41).start()
    yield site
    site.stop()


@pytest.fixture
def session(qtbot, server):
    runner = TaskRunner(http_workers=2)
    s = ConnectionSession(runner)
    yield s
    s.close()
    runner.shutdown(wait=True)


def texts(model, parent):
    return [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]


def test_the_tree_before_during_and_after_a_profile(qtbot, qtmodeltester, server, session, go_online):
    model = NavigationModel(session)
    assert texts(model, model.index(-1, -1)) == ["No site open"]
    qtmodeltester.check(model)

    go_online(session, server)
    with qtbot.waitSignal(model.rebuilt, timeout=60000):
        with qtbot.waitSignal(session.sync_finished, timeout=60000):
            session.sync(("site", "categories", "courses", "users", "cohorts"))
    with session.db.read() as conn:
        users = conn.exec_driver_sql("SELECT count(*) FROM users WHERE username <> 'guest'").scalar()
        assert conn.exec_driver_sql("SELECT count(*) FROM users WHERE username = 'guest'").scalar() == 1
        cohorts = conn.exec_driver_sql("SELECT id, name FROM cohorts ORDER BY name").all()
        courses = conn.exec_driver_sql("SELECT id, categoryid, visible, shortname FROM courses "
                                       "WHERE format <> 'site'").all()
        categories = conn.exec_driver_sql("SELECT id, parent FROM categories").all()
    site = model.index(0, 0)
    assert texts(model, site) == ["Overview", f"Users ({users:,})", f"Cohorts ({len(cohorts):,})",
                                  "Groups & enrolments", "Course categories", "Reports", "Journal"]
    users_node = model.find("users")
    assert texts(model, users_node) == [label for _k, label in DEFAULT_FILTERS]
    assert [model.index(r, 0, model.find("cohorts")).data(TargetRole) for r in range(len(cohorts))] == \
        [NavTarget("cohort", cid, name) for cid, name in cohorts]
    for cid, category, visible, shortname in courses:  # every course under its own category
        node = model.find("course", cid)
        assert node.isValid() and node.data() == (shortname if visible else f"{shortname} (hidden)")
        assert node.parent().data(TargetRole) == NavTarget("category", category, node.parent().data(TargetRole).label)
    for cid, parent in categories:  # sub-categories under their parent, the others at the top
        up = model.find("category", cid).parent().data(TargetRole)
        assert (up.kind, up.id) == (("category", parent) if parent else ("categories", None))
    assert model.find("course", 999999).isValid() is False
    assert model.data(site, Qt.ItemDataRole.ToolTipRole) == server.url
    qtmodeltester.check(model)

    with qtbot.waitSignal(session.runner.job_changed, timeout=10000,
                          check_params_cb=lambda info: info.state.finished):
        session.run_writer("save-filter", lambda w: SF.save_filter(w, "Berlin staff", Q.UserFilter(text="berlin")))
    with qtbot.waitSignal(model.rebuilt, timeout=10000):
        model.refresh()
    saved = model.index(len(DEFAULT_FILTERS), 0, model.find("users"))
    assert saved.data() == "Berlin staff" and saved.data(TargetRole).id.startswith("saved:")

    session.close()
    assert texts(model, model.index(-1, -1)) == ["No site open"]
    qtmodeltester.check(model)
