"""The groups pane's splitter in a small window: the tree gets a real share, not its minimum."""

from __future__ import annotations

import pytest

from lms_console.sandbox.server import SandboxServer
from lms_console.views.groups_wiring import install_groups_views

WAIT = 20000


@pytest.fixture
def server():
    site = SandboxServer(users=40, courses=3, seed=47).start()
    yield site
    site.stop()


def test_at_1024_by_700_the_tree_gets_about_a_third_and_room_for_names(qtbot, server, change_console):
    """At 1024×700 the tree had 180 px (its minimum) and names were cut until the splitter was dragged."""
    _session, _engine, window, _views, views = change_console(
        server, ("site", "users", "categories", "courses", "cohorts", "groups"), install_groups_views)
    window.resize(1024, 700)
    window.show()
    window.go_to("groups")
    pane = views.pane
    qtbot.waitUntil(lambda: pane.tree_model.find("cohort").isValid(), timeout=WAIT)
    qtbot.waitUntil(lambda: pane.tree.isVisible(), timeout=WAIT)
    tree, details, users = pane.splitter.sizes()
    assert window.width() == 1024 and users > 0
    assert tree >= 240 and tree >= 0.3 * sum(pane.splitter.sizes()), pane.splitter.sizes()
    assert details >= pane.details.minimumSizeHint().width()
    text = pane.tree.header().sectionSize(0) - 3 * pane.tree.indentation() - pane.tree.iconSize().width()
    assert text >= pane.tree.fontMetrics().averageCharWidth() * 15  # the name column had room for ~6
    # Narrow, the names get the whole tree: the member counts (in each node's details too) make way.
    assert pane.tree.isColumnHidden(1) and text >= pane.tree.fontMetrics().averageCharWidth() * 20

    window.resize(1400, 860)  # a wider window: the tree grows with it, about 35 %
    qtbot.waitUntil(lambda: pane.splitter.sizes()[0] >= 0.33 * sum(pane.splitter.sizes()), timeout=WAIT)
    qtbot.waitUntil(lambda: not pane.tree.isColumnHidden(1), timeout=WAIT)  # room for the counts again
    pane.splitter.moveSplitter(300, 1)  # the admin's choice holds from then on
    window.resize(1300, 860)
    qtbot.waitUntil(lambda: pane.splitter.sizes()[0] < 0.33 * sum(pane.splitter.sizes()), timeout=WAIT)
