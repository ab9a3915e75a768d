"""Course change kinds (create, update, delete, duplicate), the titles of the section kinds, and
the journal-only upload kinds, planned against the cache and applied to the sandbox over real HTTP."""

from __future__ import annotations

import pytest
from suite_helpers import apply

from lms_console.services import changes as C
from lms_console.services.changes import journal as J
from lms_console.services.changes import kinds_content  # noqa: F401  (registers the kinds)
from lms_console.services.changes.model import Outcome, Status


@pytest.fixture
def synced(make_site, connect, cache, run_sync):
    server = make_site(users=60, courses=4, seed=19)
    client = connect(server)
    assert run_sync(client, entities=("site", "categories", "courses", "contents", "users",
                                      "enrolments")).status == "ok"
    db, writer = cache
    return server, client, db, writer


def site_course(server, **where):
    key, value = next(iter(where.items()))
    with server.store.connection() as conn:
        row = conn.execute(f"SELECT * FROM course WHERE {key} = ?", (value,)).fetchone()
        return dict(row) if row else None


def cached(db, sql, *params):
    with db.read() as conn:
        return conn.exec_driver_sql(sql, params).all()


def test_create_checks_the_cache_then_creates_and_undo_deletes(synced):
    server, client, db, writer = synced
    plan = C.plan_changes(db, [
        C.Change("course.create", {"fullname": "Data Science 1", "shortname": "DS1", "categoryid": 3,
                                   "numsections": 6, "enablecompletion": True, "format": "weeks",
                                   "startdate": 1_800_000_000, "enddate": 1_810_000_000}),
        C.Change("course.create", {"fullname": "Clash", "shortname": "CS101", "categoryid": 3}),
        C.Change("course.create", {"fullname": "", "shortname": "X", "categoryid": 999}),
        C.Change("course.create", {"fullname": "Bad dates", "shortname": "BD", "categoryid": 3,
                                   "startdate": 1_800_000_000, "enddate": 1_700_000_000}),
    ])
    assert [i.outcome for i in plan.items] == [Outcome.APPLY, Outcome.ERROR, Outcome.ERROR, Outcome.ERROR]
    problems = [" ".join(map(str, i.problems)) for i in plan.items]
    assert "already used by course 2" in problems[1]
    assert "fullname" in problems[2] and "no such category" in problems[2]
    assert "after the start date" in problems[3]
    summary = apply(client, writer, plan)
    new_id = summary.results[0].result["id"]
    row = site_course(server, id=new_id)
    assert row["shortname"] == "DS1" and row["format"] == "weeks" and row["enablecompletion"] == 1
    with server.store.connection() as conn:
        assert conn.execute("SELECT count(*) FROM course_sections WHERE course = ?", (new_id,)).fetchone()[0] == 7
    assert cached(db, "SELECT shortname, categoryid FROM courses WHERE id = ?", new_id) == [("DS1", 3)]
    assert "courses" in summary.entities
    with db.read() as conn:
        undo, irreversible = C.undo_changes(J.run_rows(conn, summary.run_id))
    assert [c.kind for c in undo] == ["course.delete"] and irreversible == []


def test_a_short_name_taken_on_the_site_but_not_in_the_cache_fails_that_course_only(synced):
    server, client, db, writer = synced
    client.call("core_course_create_courses", {"courses": [{"fullname": "Made elsewhere", "shortname": "ELSE",
                                                            "categoryid": 3}]}, write=True)
    plan = C.plan_changes(db, [C.Change("course.create", {"fullname": "Mine", "shortname": "MINE",
                                                          "categoryid": 3}),
                               C.Change("course.create", {"fullname": "Other", "shortname": "ELSE",
                                                          "categoryid": 3})])
    assert plan.counts["apply"] == 2  # the cache does not know ELSE yet
    summary = apply(client, writer, plan)
    mine, other = summary.results
    assert mine.status == Status.DONE and other.status == Status.FAILED and other.code == "shortnametaken"
    assert site_course(server, shortname="MINE") is not None


def test_update_hides_renames_moves_and_reports_per_course_warnings(synced):
    server, client, db, writer = synced
    plan = C.plan_changes(db, [
        C.Change("course.update", {"id": 2, "visible": False}),
        C.Change("course.update", {"id": 3, "fullname": "Circuits, renamed", "shortname": "EE101R"}),
        C.Change("course.update", {"id": 4, "categoryid": 15}),
        C.Change("course.update", {"id": 5, "shortname": "CS101"}),
    ])
    titles = [i.title for i in plan.items]
    assert titles[0] == "Hide course CS101" and titles[1].startswith("Rename course EE101 to EE101R")
    assert titles[2].startswith("Move course") and "Staff Training" in titles[2]
    assert plan.items[3].outcome == Outcome.ERROR
    assert plan.items[0].diff == [("visible", True, False)]
    with server.store.connection() as conn:  # course 4 is deleted on the site behind the cache's back
        from lms_console.sandbox.functions.coursecommon import delete_course_rows

        delete_course_rows(conn, 4)
        conn.commit()
    summary = apply(client, writer, plan)
    statuses = [r.status for r in summary.results]
    assert statuses[:3] == [Status.DONE, Status.DONE, Status.FAILED]
    assert summary.results[2].code and summary.status == "partial"
    assert site_course(server, id=2)["visible"] == 0 and site_course(server, id=3)["shortname"] == "EE101R"
    assert cached(db, "SELECT visible FROM courses WHERE id = 2") == [(0,)]
    with db.read() as conn:
        undo, _ = C.undo_changes(J.run_rows(conn, summary.run_id))
    assert {(c.kind, tuple(sorted(c.data))) for c in undo} == {("course.update", ("id", "visible")),
                                                                ("course.update", ("fullname", "id", "shortname"))}


def test_showing_a_visible_course_is_a_noop(synced):
    _server, _client, db, _writer = synced
    plan = C.plan_changes(db, [C.Change("course.update", {"id": 2, "visible": True})])
    assert plan.items[0].outcome == Outcome.NOOP


def test_delete_is_irreversible_refuses_the_front_page_and_removes_from_the_cache(synced):
    server, client, db, writer = synced
    plan = C.plan_changes(db, [C.Change("course.delete", {"id": 3}), C.Change("course.delete", {"id": 1}),
                               C.Change("course.delete", {"id": 777})])
    assert [i.outcome for i in plan.items] == [Outcome.APPLY, Outcome.ERROR, Outcome.ERROR]
    assert [i.seq for i in plan.irreversible] == [1]
    before = plan.items[0].before
    assert before["course"].startswith("EE101") and before["activities"] > 0 and before["enrolments"] > 0
    summary = apply(client, writer, plan)
    assert summary.results[0].status == Status.DONE
    assert site_course(server, id=3) is None
    assert cached(db, "SELECT count(*) FROM courses WHERE id = 3") == [(0,)]
    assert cached(db, "SELECT count(*) FROM modules WHERE courseid = 3") == [(0,)]


def test_duplicate_makes_a_copy_and_a_lost_answer_is_found_by_its_short_name(synced):
    server, client, db, writer = synced
    change = C.Change("course.duplicate", {"courseid": 2, "fullname": "CS101 (2027)", "shortname": "CS101-27",
                                           "categoryid": 3, "visible": False})
    plan = C.plan_changes(db, [change])
    assert plan.items[0].outcome == Outcome.APPLY and plan.items[0].title.startswith("Duplicate CS101 as CS101-27")
    [call] = C.api_calls(plan)
    assert call.function == "core_course_duplicate_course" and ("options[1][value]", "0") in call.fields
    server.set_faults(drop_after_rate=1.0)  # the copy is made, then the answer is lost (a read timeout)
    run_id = C.record(writer, plan, profile="test", lms_user="admin")
    from lms_console.services.changes.applier import Applier

    class ClearAfterSend:
        def __getattr__(self, name):
            return getattr(client, name)

        def call(self, function, params=None, **kw):
            try:
                return client.call(function, params, **kw)
            finally:
                server.clear_faults()

    summary = Applier(ClearAfterSend(), writer).run(run_id)
    [result] = summary.results
    assert result.status == Status.DONE and result.result["id"] > 0
    copy = site_course(server, shortname="CS101-27")
    assert copy["id"] == result.result["id"] and copy["visible"] == 0
    with server.store.connection() as conn:  # checked on the site, not sent twice
        assert conn.execute("SELECT count(*) FROM course WHERE shortname = 'CS101-27'").fetchone()[0] == 1
    assert [r["function"] for r in server.requests].count("core_course_duplicate_course") == 1
    assert cached(db, "SELECT fullname, visible FROM courses WHERE id = ?", copy["id"]) == [("CS101 (2027)", 0)]


def test_upload_kinds_are_journal_only(synced):
    _server, _client, db, _writer = synced
    plan = C.plan_changes(db, [C.Change("upload.resource", {"courseid": 2, "name": "x"})])
    assert plan.items[0].outcome == Outcome.ERROR and "upload queue" in str(plan.items[0].problems[0])


def test_section_titles_name_the_course_and_tell_equally_named_sections_apart(synced, run_sync):
    server, client, db, writer = synced
    for _ in range(2):  # two unnamed sections: Moodle shows both as "New section"
        added = C.plan_changes(db, [C.Change("section.add", {"courseid": 3})])
        assert added.items[0].title == "Add a section to EE101"  # the short name, as the plan's title says
        assert apply(client, writer, added).status == "done"
    assert run_sync(client, entities=("contents",)).status == "ok"
    *_, (first, first_no), (second, second_no) = cached(
        db, "SELECT id, section FROM sections WHERE courseid = 3 AND name = 'New section' ORDER BY section")
    one = cached(db, "SELECT id FROM sections WHERE courseid = 3 AND section = 1")[0][0]
    assert C.plan_changes(db, [C.Change("section.add", {"courseid": 3, "targetsectionid": first})]).items[0].title \
        == f"Add a section to EE101 after section {first_no}"
    assert C.plan_changes(db, [C.Change("section.add", {"courseid": 999})]).items[0].title \
        == "Add a section to course 999"  # not in the cache: its id is all there is

    move = C.plan_changes(db, [C.Change("section.move", {"courseid": 3, "id": second, "targetsectionid": one})])
    assert move.items[0].outcome == Outcome.APPLY
    assert move.items[0].title == f"Move section {second_no} “New section” to after section 1"
    assert f"section {first_no}" not in move.items[0].title  # the other "New section" is not the one moved
    assert apply(client, writer, move).status == "done"
    with server.store.connection() as conn:
        assert conn.execute("SELECT section FROM course_sections WHERE id = ?", (second,)).fetchone()[0] == 2

    cmid, name = cached(db, "SELECT cmid, name FROM modules WHERE courseid = 3 ORDER BY cmid LIMIT 1")[0]
    to = C.plan_changes(db, [C.Change("module.move", {"courseid": 3, "id": cmid, "targetsectionid": first})])
    assert to.items[0].title == f"Move {name} to the end of section {first_no} “New section”"


def test_rename_titles_name_the_section_and_the_activity_not_their_ids(synced):
    """A preview said "Rename cm 794 to X" and "Rename section 12 to X"; it names them as the admin
    sees them, and falls back to the id only for what the local copy does not know."""
    _server, _client, db, _writer = synced
    sid, number, name = cached(db, "SELECT id, section, name FROM sections WHERE courseid = 3 AND section = 1")[0]
    cmid, activity = cached(db, "SELECT cmid, name FROM modules WHERE courseid = 3 ORDER BY cmid LIMIT 1")[0]
    plan = C.plan_changes(db, [C.Change("section.rename", {"courseid": 3, "id": sid, "name": "Week one"}),
                               C.Change("module.rename", {"id": cmid, "name": f"{activity} (2026)"})])
    assert [i.title for i in plan.items] == [f"Rename section {number} “{name}” of EE101 to “Week one”",
                                             f"Rename activity “{activity}” to “{activity} (2026)”"]
    titles = [C.plan_changes(db, [C.Change(kind, {"courseid": 3, "id": 999999, "name": "X"})]).items[0].title
              for kind in ("section.rename", "module.rename", "module.hide")]
    assert titles == ["Rename the section with id 999999 to “X”", "Rename the activity with id 999999 to “X”",
                      "Hide the activity with id 999999"]
