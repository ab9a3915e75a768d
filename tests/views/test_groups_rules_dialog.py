"""The membership rule dialog on its own, with diffs worked out by the real service on a real
cache synced from the sandbox: a rule that matches no one (a typo) warns and asks before it
empties the cohort, one that removes most members warns, and an add-only rule with members who
no longer match is not called "in step"."""

from __future__ import annotations

import re
import shutil

import pytest
from PySide6.QtCore import Qt

from lms_console.sandbox.server import SandboxServer
from lms_console.services import cohort_rules as R
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.views.groups_rules import RuleDialog

LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def template(synced_template, tmp_path_factory):
    server = SandboxServer(users=120, courses=2, seed=53).start()
    try:
        yield synced_template(server, tmp_path_factory.mktemp("rules") / "cache.sqlite",
                              ("site", "users", "categories", "courses", "cohorts"))
    finally:
        server.stop()


@pytest.fixture
def cache(template, tmp_path):
    """(db, writer) on this test's own copy of the synced cache."""
    path = tmp_path / "cache.sqlite"
    shutil.copy(template, path)
    db = CacheDb.open(path)
    writer = CacheWriter(db)
    yield db, writer
    writer.close()
    db.close()


def q(db, sql, *params):
    with db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def department_cohort(db):
    """(cohort id, name, department, member ids) of the largest department cohort."""
    dept = q(db, "SELECT department FROM users WHERE department <> '' GROUP BY 1 ORDER BY count(*) DESC")[0][0]
    cid, name = q(db, "SELECT id, name FROM cohorts WHERE name = ?", f"{dept} Department")[0]
    members = [r[0] for r in q(db, "SELECT userid FROM cohort_members WHERE cohortid = ? ORDER BY userid", cid)]
    return cid, name, dept, members


def open_dialog(qtbot, db, cid, name, value, *, remove_others=True):
    """The dialog with "Department is ``value``", its Check answered by the real diff (as the wiring does)."""
    with db.read() as conn:
        choices = R.rule_condition_choices(conn)
    dialog = RuleDialog(cid, name, None, choices=choices)
    qtbot.addWidget(dialog)

    def check(cohortid, spec, remove):
        with db.read() as conn:
            rule = R.CohortRule(0, cohortid, spec, remove, cohort_name=name)
            dialog.show_diff(R.diff_rule(conn, rule))

    dialog.check_requested.connect(check)
    dialog.show()
    qtbot.waitExposed(dialog)
    row = dialog._rows[0]
    row.field.setCurrentIndex(row.field.findText("Department"))
    row.value.setEditText(value)
    if dialog.remove_others.isChecked() != remove_others:
        qtbot.mouseClick(dialog.remove_others, LEFT)
    assert not dialog.apply_button.isEnabled()  # nothing checked yet: nothing to preview
    qtbot.mouseClick(dialog.check_button, LEFT)
    assert dialog.diff is not None
    return dialog


def test_a_rule_that_matches_no_one_warns_and_asks_before_removing_every_member(qtbot, cache):
    """QA: "Department is Marketng" with removing on said "0 to add, 120 to remove" with Preview enabled."""
    db, _writer = cache
    cid, name, dept, members = department_cohort(db)
    typo = dept[:-2] + dept[-1]
    dialog = open_dialog(qtbot, db, cid, name, typo)
    assert len(dialog.diff.leaves) == len(members) > 2
    assert dialog.warning.isVisible()
    assert dialog.warning.text().startswith(f"The rule matches no one: applying it removes all {len(members):,} "
                                            "members. Check the values (a typo?)")
    assert dialog.confirm_remove.isVisible() and not dialog.confirm_remove.isChecked()
    assert dialog.confirm_remove.text() == "Remove them all anyway"
    assert not dialog.apply_button.isEnabled() and "Remove them all anyway" in dialog.apply_button.toolTip()
    dialog.confirm_remove.click()
    assert dialog.apply_button.isEnabled()
    with qtbot.waitSignal(dialog.save_requested, timeout=2000) as saved:  # Preview saves, then previews
        qtbot.mouseClick(dialog.apply_button, LEFT)
    assert saved.args[0] == cid and saved.args[2] is True and dialog.wants_apply()
    # Checking again asks again; fixing the value takes the warning away.
    qtbot.mouseClick(dialog.check_button, LEFT)
    assert not dialog.confirm_remove.isChecked() and not dialog.apply_button.isEnabled()
    dialog._rows[0].value.setEditText(dept)
    assert not dialog.warning.isVisible() and not dialog.confirm_remove.isVisible()
    assert not dialog.apply_button.isEnabled()  # changed conditions: Check again first
    qtbot.mouseClick(dialog.check_button, LEFT)
    assert not dialog.warning.isVisible() and not dialog.confirm_remove.isVisible()
    assert "In step" in dialog.diff_summary.text() and not dialog.apply_button.isEnabled()


def test_a_rule_that_removes_most_members_warns_without_asking(qtbot, cache):
    db, writer = cache
    cid, name, dept, members = department_cohort(db)
    outsiders = [r[0] for r in q(db, "SELECT id FROM users WHERE department NOT IN ('', ?) AND id > 3 LIMIT ?",
                                 dept, len(members) + 1)]
    with writer.batch() as raw:  # more people in the cohort who are not of the department than who are
        raw.executemany("INSERT INTO cohort_members (cohortid, userid) VALUES (?, ?)", [(cid, u) for u in outsiders])
    dialog = open_dialog(qtbot, db, cid, name, dept)
    total = len(members) + len(outsiders)
    assert dialog.warning.isVisible() and dialog.warning.property("level") == "warning"
    assert dialog.warning.text().startswith(f"Applying the rule removes {len(outsiders):,} of the cohort's "
                                            f"{total:,} members")
    assert not dialog.confirm_remove.isVisible() and dialog.apply_button.isEnabled()


def test_an_add_only_rule_with_a_member_who_no_longer_matches_is_not_in_step(qtbot, cache):
    """QA: "In step: the cohort has exactly the 119 users … has 120 members now. 1 members do not match"."""
    db, writer = cache
    cid, name, dept, members = department_cohort(db)
    other = q(db, "SELECT department FROM users WHERE department NOT IN ('', ?) LIMIT 1", dept)[0][0]
    with writer.batch() as raw:
        raw.execute("UPDATE users SET department = ? WHERE id = ?", (other, members[0]))
    dialog = open_dialog(qtbot, db, cid, name, dept, remove_others=False)
    text = dialog.diff_summary.text()
    assert "Nothing to add. 1 member does not match the rule and stays (removing is off)." in text
    assert "In step" not in text and "exactly" not in text and not re.search(r"\b1 members", text)
    assert f"The rule matches {len(members) - 1:,} users; the cohort has {len(members):,} members now." in text
    assert not dialog.warning.isVisible() and not dialog.apply_button.isEnabled()
