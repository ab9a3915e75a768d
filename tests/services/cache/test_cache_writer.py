"""Every CacheWriter method: upserts, replace semantics, sweeps, bookkeeping."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lms_console.services.cache import queries
from lms_console.services.cache.errors import CacheWriteError
from lms_console.services.lms.base import (
    ActivityCompletion,
    Category,
    Cohort,
    CourseGrades,
    CourseProgress,
    Enrolment,
    Grade,
    GradeItem,
    Group,
    Grouping,
    Members,
    Module,
    ModuleFile,
    Role,
    Section,
    SiteInfo,
)

STUDENT = Role(5, "student", "Student", 5)
TEACHER = Role(3, "editingteacher", "Teacher", 3)


def test_runs_are_recorded(writer, db, clock) -> None:
    run = writer.begin_run(["users", "courses"])
    clock.now += 60
    writer.finish_run(run, "failed", "site unreachable")
    with db.read() as conn:
        last = queries.last_run(conn)
        assert queries.unfinished_run(conn) is None
    assert last is not None and last.id == run
    assert (last.status, last.entities, last.error) == ("failed", ("users", "courses"), "site unreachable")
    assert last.finished_at - last.started_at == 60
    run2 = writer.begin_run(["users"])
    with db.read() as conn:
        assert queries.unfinished_run(conn).id == run2


def test_site_info_round_trip(writer, db) -> None:
    site = SiteInfo(siteid=1, sitename="Uni", siteurl="https://lms.example.org", release="5.2dev", version="2026020500",
                    userid=2, username="admin", fullname="Ad Min", is_site_admin=True,
                    functions=frozenset({"core_user_get_users", "core_webservice_get_site_info"}),
                    upload_allowed=True, download_allowed=False, max_upload_bytes=-1, user_quota=104857600,
                    lang="en", theme="boost")
    writer.save_site_info(site)
    writer.save_site_info(dataclasses.replace(site, sitename="University"))
    with db.read() as conn:
        assert queries.get_site_info(conn) == dataclasses.replace(site, sitename="University")


def test_upsert_users_inserts_updates_and_keeps_custom_fields_in_step(writer, db, sql, dto) -> None:
    u = dto.user(2, customfields=(dto.cf("faculty", "sci", "Science"), dto.cf("staffno", "17")))
    assert writer.upsert_users([u, dto.user(3)], 1) == 2
    assert sql.rows("SELECT userid, shortname, value, displayvalue FROM user_custom_fields ORDER BY 1, 2") == [
        (2, "faculty", "sci", "Science"), (2, "staffno", "17", None)]
    writer.upsert_users([dataclasses.replace(u, lastname="Changed", customfields=(dto.cf("faculty", "arts"),))], 2)
    with db.read() as conn:
        got = queries.get_user(conn, 2)
        assert queries.users_with_custom_field(conn, "faculty", "arts") == [2]
        assert queries.users_with_custom_field(conn, "staffno", "17") == []
    assert got.lastname == "Changed" and got.customfields == (dto.cf("faculty", "arts"),)
    assert sql.rows("SELECT id, seen_run FROM users ORDER BY id") == [(2, 2), (3, 1)]


def test_upsert_users_round_trips_every_field(writer, db, dto) -> None:
    u = dto.user(7, idnumber="S7", department="Maths", institution="Uni", city="Kraków", country="PL",
                 auth="ldap", suspended=True, confirmed=False, firstaccess=10, lastaccess=20, lang="pl",
                 timezone="Europe/Warsaw", phone1="1", phone2="2", address="Street 1", description="<p>x</p>",
                 customfields=(dto.cf("a", "1", "one"),))
    writer.upsert_users([u], 1)
    with db.read() as conn:
        assert queries.get_user(conn, 7) == u


def test_duplicate_custom_field_shortnames_do_not_break_ingest(writer, sql, dto) -> None:
    writer.upsert_users([dto.user(2, customfields=(dto.cf("x", "first"), dto.cf("x", "second")))], 1)
    assert sql.rows("SELECT shortname, value FROM user_custom_fields") == [("x", "second")]


def test_upsert_users_case_only_change_is_written(writer, sql, dto) -> None:
    writer.upsert_users([dto.user(2, lastname="mcdonald")], 1)
    writer.upsert_users([dto.user(2, lastname="McDonald")], 2)
    assert sql.scalar("SELECT lastname FROM users WHERE id = 2") == "McDonald"


def test_unchanged_users_are_stamped_seen_without_being_rewritten(writer, sql, dto, clock) -> None:
    writer.upsert_users([dto.user(2)], 1)
    clock.now += 100
    writer.upsert_users([dto.user(2)], 2)
    assert sql.rows("SELECT seen_run, synced_at FROM users") == [(2, clock.now)]


def test_delete_users_removes_their_rows_everywhere(writer, sql, dto) -> None:
    writer.upsert_users([dto.user(2, lastaccess=5, customfields=(dto.cf("a", "1"),)), dto.user(3)], 1)
    writer.upsert_courses([dto.course(10)], 1)
    writer.upsert_cohorts([Cohort(1, "All")], 1)
    writer.replace_cohort_members([Members(1, (2, 3))], 1)
    writer.upsert_enrolments([Enrolment(10, 2, (STUDENT,), lastcourseaccess=9), Enrolment(10, 3)], 1)
    writer.upsert_course_progress([CourseProgress(2, 10, 50.0, False)], 1)
    assert writer.delete_users([2, 99]) == 1
    assert sql.rows("SELECT id FROM users") == [(3,)]
    for table in ("user_custom_fields", "user_access_history", "cohort_members", "enrolments", "enrolment_roles",
                  "course_progress"):
        assert sql.count(table, "userid = 2") == 0, table
    assert sql.count("cohort_members") == 1 and sql.count("enrolments") == 1
    assert sql.scalar("SELECT count(*) FROM users_fts WHERE users_fts MATCH 'user2'") == 0


def test_categories_courses_cohorts_upsert_and_sweep_only_unseen(writer, sql, dto) -> None:
    writer.upsert_categories([Category(1, "Top"), Category(2, "Sub", parent=1, path="/1/2", depth=2)], 1)
    writer.upsert_courses([dto.course(10), dto.course(11)], 1)
    writer.upsert_cohorts([Cohort(1, "A", contextid=1), Cohort(2, "B")], 1)
    # run 2 sees only some of them
    writer.upsert_categories([Category(1, "Top renamed")], 2)
    writer.upsert_courses([dto.course(11, fullname="Eleven")], 2)
    writer.upsert_cohorts([Cohort(2, "B")], 2)
    assert writer.sweep("categories", 2) == 1
    assert writer.sweep("courses", 2) == 1
    assert writer.sweep("cohorts", 2) == 1
    assert sql.rows("SELECT id, name FROM categories") == [(1, "Top renamed")]
    assert sql.rows("SELECT id, fullname FROM courses") == [(11, "Eleven")]
    assert sql.rows("SELECT id FROM cohorts") == [(2,)]
    assert writer.sweep("courses", 2) == 0  # idempotent


def test_sweep_rejects_unknown_entities_and_bad_scopes(writer) -> None:
    with pytest.raises(ValueError, match="unknown entity"):
        writer.sweep("sections", 1)
    with pytest.raises(ValueError, match="per course"):
        writer.sweep("users", 1, courseid=3)


def test_sweep_users_keeps_users_seen_in_the_run(writer, db, sql, dto) -> None:
    writer.upsert_users([dto.user(i) for i in (2, 3, 4)], 1)
    writer.upsert_users([dto.user(2), dto.user(4)], 2)
    with db.read() as conn:
        assert queries.unseen_ids(conn, "users", 2) == [3]
    assert writer.sweep("users", 2) == 1
    assert sql.rows("SELECT id FROM users ORDER BY id") == [(2,), (4,)]


def _contents(courseid: int) -> list[Section]:
    f1 = ModuleFile("a.pdf", filesize=10, mimetype="application/pdf")
    return [
        Section(100, courseid, 0, "General", modules=(
            Module(1000, courseid, 100, "Forum", "forum"),
            Module(1001, courseid, 100, "Slides", "resource", files=(f1, ModuleFile("b.pdf"))),
        )),
        Section(101, courseid, 1, "Week 1", modules=(Module(1002, courseid, 101, "Quiz", "quiz", completion=2),)),
    ]


def test_replace_course_contents_replaces_sections_modules_files(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10)], 1)
    writer.replace_course_contents(10, _contents(10), 1)
    assert sql.count("sections") == 2 and sql.count("modules") == 3 and sql.count("module_files") == 2
    # Second sync: week 1 deleted, the quiz moved to General, the slides lost a file, a new page.
    new = [Section(100, 10, 0, "General", modules=(
        Module(1001, 10, 100, "Slides", "resource", files=(ModuleFile("a.pdf", filesize=11),)),
        Module(1002, 10, 101, "Quiz", "quiz"),
        Module(1003, 10, 100, "Page", "page"),
    ))]
    writer.replace_course_contents(10, new, 2)
    assert sql.rows("SELECT id FROM sections") == [(100,)]
    assert sql.rows("SELECT cmid, sectionid FROM modules ORDER BY cmid") == [(1001, 100), (1002, 100), (1003, 100)]
    assert sql.rows("SELECT cmid, filename, filesize FROM module_files") == [(1001, "a.pdf", 11)]
    writer.replace_course_contents(10, [], 3)
    assert sql.count("sections") == 0 and sql.count("modules") == 0 and sql.count("module_files") == 0


def test_replace_course_contents_leaves_other_courses_alone(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10), dto.course(11)], 1)
    writer.replace_course_contents(10, _contents(10), 1)
    writer.replace_course_contents(11, [Section(200, 11, 0, "General")], 1)
    writer.replace_course_contents(11, [], 2)
    assert sql.count("sections", "courseid = 10") == 2 and sql.count("modules") == 3


def test_replace_course_contents_of_an_uncached_course_fails_cleanly(writer, sql) -> None:
    with pytest.raises(CacheWriteError, match="FOREIGN KEY"):
        writer.replace_course_contents(77, _contents(77), 1)
    assert sql.count("sections") == 0


def test_deleting_a_course_cascades_to_its_structure(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10)], 1)
    writer.replace_course_contents(10, _contents(10), 1)
    writer.replace_course_groups(10, [Group(1, 10, "G1")], [Grouping(5, 10, "GG", groupids=(1,))], 1)
    writer.replace_group_members([Members(1, (2, 3))], 1)
    writer.upsert_enrolments([Enrolment(10, 2, (STUDENT,))], 1)
    writer.replace_course_grades(CourseGrades(10, (GradeItem(1, 10, "Quiz", "mod"),), (Grade(1, 10, 2, 5.0),)), 1)
    assert writer.sweep("courses", 2) == 1
    for table in ("sections", "modules", "module_files", "groups", "groupings", "grouping_groups", "group_members",
                  "enrolments", "enrolment_roles", "grade_items", "grades"):
        assert sql.count(table) == 0, table


def test_groups_groupings_and_members(writer, db, sql, dto) -> None:
    writer.upsert_courses([dto.course(10), dto.course(11)], 1)
    writer.replace_course_groups(10, [Group(1, 10, "A"), Group(2, 10, "B")],
                                 [Grouping(5, 10, "All", groupids=(1, 2, 99))], 1)  # 99 is not a group of 10
    writer.replace_course_groups(11, [Group(3, 11, "C")], [], 1)
    writer.replace_group_members([Members(1, (2, 3, 3)), Members(2, (4,)), Members(3, (2,))], 1)
    assert sql.rows("SELECT groupingid, groupid FROM grouping_groups ORDER BY 2") == [(5, 1), (5, 2)]
    # B is gone: its members and grouping link go with it; A's members become exactly (3, 5).
    writer.replace_course_groups(10, [Group(1, 10, "A renamed")], [Grouping(5, 10, "All", groupids=(1,))], 2)
    writer.replace_group_members([Members(1, (3, 5))], 2)
    with db.read() as conn:
        assert queries.members(conn, "group", 1) == [3, 5]
        assert queries.members(conn, "group", 3) == [2]
    assert sql.rows('SELECT id, name FROM "groups" ORDER BY id') == [(1, "A renamed"), (3, "C")]
    assert sql.count("group_members", "groupid = 2") == 0
    assert sql.rows("SELECT groupingid, groupid FROM grouping_groups") == [(5, 1)]
    assert writer.sweep("groups", 2, courseid=11) == 1  # C not seen in run 2 (course 11 pass complete)
    assert sql.count("group_members", "groupid = 3") == 0


def test_cohort_members_become_exactly_the_given_ids(writer, db) -> None:
    writer.upsert_cohorts([Cohort(1, "A"), Cohort(2, "B")], 1)
    assert writer.replace_cohort_members([Members(1, (2, 3, 4)), Members(2, (2,))], 1) == 4
    writer.replace_cohort_members([Members(1, (4, 5)), Members(2, ())], 2)
    with db.read() as conn:
        assert queries.members(conn, "cohort", 1) == [4, 5]
        assert queries.members(conn, "cohort", 2) == []


def test_cohort_members_of_an_unknown_cohort_raise_and_write_nothing(writer, sql) -> None:
    writer.upsert_cohorts([Cohort(1, "A")], 1)
    with pytest.raises(CacheWriteError):
        writer.replace_cohort_members([Members(1, (2,)), Members(42, (3,))], 1)
    assert sql.count("cohort_members") == 0


def test_set_cohort_categories(writer, sql) -> None:
    writer.upsert_cohorts([Cohort(1, "A"), Cohort(2, "B"), Cohort(3, "C")], 1)
    writer.set_cohort_categories({1: 0, 2: 7})
    assert sql.rows("SELECT id, categoryid FROM cohorts ORDER BY id") == [(1, 0), (2, 7), (3, None)]
    writer.set_cohort_categories({3: 0}, others_unknown=True)
    assert sql.rows("SELECT id, categoryid FROM cohorts ORDER BY id") == [(1, None), (2, None), (3, 0)]
    writer.upsert_cohorts([Cohort(3, "C renamed")], 2)  # an upsert keeps the category
    assert sql.scalar("SELECT categoryid FROM cohorts WHERE id = 3") == 0


def test_enrolments_roles_and_unreported_values(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10)], 1)
    writer.upsert_enrolments([Enrolment(10, 2, (STUDENT,), lastcourseaccess=100, timestart=5, method="manual"),
                              Enrolment(10, 3, (STUDENT, TEACHER))], 1)
    assert sql.rows("SELECT id, shortname FROM roles ORDER BY id") == [(3, "editingteacher"), (5, "student")]
    writer.upsert_enrolments([Enrolment(10, 2, (TEACHER,), lastcourseaccess=None, timestart=None),
                              Enrolment(10, 3, ())], 2)
    assert sql.rows("SELECT userid, lastcourseaccess, timestart, method, seen_run FROM enrolments ORDER BY 1") == [
        (2, 100, 5, "", 2), (3, None, None, "", 2)]
    assert sql.rows("SELECT courseid, userid, roleid FROM enrolment_roles") == [(10, 2, 3)]


def test_set_enrolment_suspended_marks_exactly_the_given_users(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10), dto.course(11)], 1)
    writer.upsert_enrolments([Enrolment(10, u, suspended=u == 2) for u in (2, 3, 4)] + [Enrolment(11, 2)], 1)
    assert writer.set_enrolment_suspended(10, [3, 4, 99], 1) == 3  # 2 reactivated, 3 and 4 suspended
    assert sql.rows("SELECT courseid, userid, suspended FROM enrolments ORDER BY 1, 2") == [
        (10, 2, 0), (10, 3, 1), (10, 4, 1), (11, 2, 0)]
    assert writer.set_enrolment_suspended(10, [3, 4], 2) == 0


def test_enrolment_sweep_per_course(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10), dto.course(11)], 1)
    writer.upsert_enrolments([Enrolment(10, 2), Enrolment(10, 3), Enrolment(11, 2)], 1)
    writer.upsert_enrolments([Enrolment(10, 3)], 2)
    assert writer.sweep("enrolments", 2, courseid=10) == 1
    assert sql.rows("SELECT courseid, userid FROM enrolments ORDER BY 1, 2") == [(10, 3), (11, 2)]


def test_course_progress_upsert_marks_changes_for_activity_refresh(writer, db, sql) -> None:
    writer.upsert_course_progress([CourseProgress(2, 10, 50.0, False, lastaccess=7),
                                   CourseProgress(3, 10, 0.0, False), CourseProgress(4, 10, None, False)], 1)
    with db.read() as conn:
        assert queries.progress_pairs_to_refresh(conn, 1) == [(2, 10)]
        assert queries.progress_pairs_to_refresh(conn, 1, changed_only=False) == [(2, 10), (3, 10)]
    writer.upsert_course_progress([CourseProgress(2, 10, 50.0, False, lastaccess=None),
                                   CourseProgress(3, 10, 25.0, False)], 2)
    with db.read() as conn:
        assert queries.progress_pairs_to_refresh(conn, 2) == [(3, 10)]
    assert sql.scalar("SELECT lastaccess FROM course_progress WHERE userid = 2") == 7  # None = not reported
    assert writer.sweep("course_progress", 2) == 1  # user 4
    assert sql.count("course_progress") == 2


def test_replace_activity_completion(writer, sql) -> None:
    writer.replace_activity_completion(10, 2, [ActivityCompletion(2, 10, 1000, 1, 50), ActivityCompletion(2, 10, 1001, 0)], 1)
    writer.replace_activity_completion(10, 3, [ActivityCompletion(3, 10, 1000, 1)], 1)
    writer.replace_activity_completion(10, 2, [ActivityCompletion(2, 10, 1001, 2, 60, overrideby=9)], 2)
    assert sql.rows("SELECT userid, cmid, state, timecompleted, overrideby FROM activity_completion ORDER BY 1, 2") == [
        (2, 1001, 2, 60, 9), (3, 1000, 1, 0, None)]
    with pytest.raises(ValueError, match="other users"):
        writer.replace_activity_completion(10, 2, [ActivityCompletion(3, 10, 1000, 1)], 3)


def test_replace_course_grades(writer, sql, dto) -> None:
    writer.upsert_courses([dto.course(10)], 1)
    items = (GradeItem(1, 10, "Quiz", "mod", "quiz", 1000), GradeItem(2, 10, "Course total", "course"))
    writer.replace_course_grades(CourseGrades(10, items, (Grade(1, 10, 2, 7.5, 75.0, 99), Grade(2, 10, 2, 7.5),
                                                          Grade(3, 10, 2, 1.0))), 1)  # item 3 unknown: skipped
    assert sql.count("grades") == 2
    writer.replace_course_grades(CourseGrades(10, items[:1], (Grade(1, 10, 3, None),)), 2)
    assert sql.rows("SELECT id FROM grade_items") == [(1,)]
    assert sql.rows("SELECT itemid, userid, graderaw FROM grades") == [(1, 3, None)]


def test_sync_state_and_freshness(writer, db, clock) -> None:
    writer.set_sync_state("users", status="running", run_id=1, detail={"partitions": 48})
    clock.now += 30
    writer.set_sync_state("users", status="ok", run_id=1, rows=1000, success=True)
    clock.now += 30
    writer.set_sync_state("users", status="failed", run_id=2, error="site down")
    with db.read() as conn:
        state = queries.freshness(conn)["users"]
        assert queries.sync_state(conn, "nothing") is None
    assert (state.status, state.run_id, state.rows, state.error) == ("failed", 2, 1000, "site down")
    assert state.last_success_at == clock.now - 30 and state.last_attempt_at == clock.now
    assert state.detail == {"partitions": 48}
    writer.set_sync_state("users", status="ok", run_id=3, success=True, as_of=123)
    with db.read() as conn:
        assert queries.sync_state(conn, "users").last_success_at == 123


def test_partitions_plan_done_and_resume(writer, db) -> None:
    writer.save_partitions("users", {"a": None, "b": 10, "c": 5}, 7)
    writer.mark_partition_done("users", "a", 7, count=3)
    with db.read() as conn:
        assert queries.pending_partitions(conn, "users", 7) == ["b", "c"]
        assert queries.partitions_done(conn, "users", 7) == {"a"}
    # Re-planning inside the same (resumed) run keeps what was done and drops keys outside the plan.
    writer.save_partitions("users", {"a": None, "b": None, "d": None}, 7)
    with db.read() as conn:
        parts = queries.partitions(conn, "users")
    assert sorted(parts) == ["a", "b", "d"]
    assert (parts["a"].done_run, parts["a"].last_count, parts["b"].last_count) == (7, 3, 10)


def test_counts(writer, db, dto) -> None:
    # The guest account (id 1 on Moodle) is not counted: the users pane and the tree never list it.
    writer.upsert_users([dto.user(1, username="guest"), dto.user(2), dto.user(3, suspended=True)], 1)
    writer.upsert_courses([dto.course(1, format="site"), dto.course(10)], 1)
    writer.upsert_categories([Category(1, "Top")], 1)
    writer.upsert_cohorts([Cohort(1, "A")], 1)
    writer.replace_course_groups(10, [Group(1, 10, "G")], [], 1)
    writer.upsert_enrolments([Enrolment(10, 2), Enrolment(10, 3)], 1)
    writer.upsert_course_progress([CourseProgress(2, 10, 100.0, True), CourseProgress(3, 10, 0.0, False)], 1)
    with db.read() as conn:
        assert queries.counts(conn) == {"users": 2, "active": 1, "suspended": 1, "courses": 1, "categories": 1,
                                        "cohorts": 1, "groups": 1, "enrolments": 2, "completions": 1}
        assert queries.course_ids(conn) == [1, 10]
        assert queries.enrolled_user_ids(conn) == [2, 3]
        assert queries.user_ids(conn) == {1, 2, 3}


def test_sync_runs_entities_are_json(writer, sql) -> None:
    writer.begin_run(["users"])
    assert json.loads(sql.scalar("SELECT entities FROM sync_runs")) == ["users"]
