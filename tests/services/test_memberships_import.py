"""Membership changes and the membership import against a real sandbox and cache: column mapping,
the dry run's classes and reasons (unknown, ambiguous, already so, not enrolled, duplicates,
opposite rows, bad actions), enrol-first, failed-row export, plan notes (suspended accounts, a
target deleted on the site) and applying what the import planned."""

from __future__ import annotations

import csv

import pytest
from openpyxl import Workbook
from suite_helpers import q

from lms_console.services import changes as C
from lms_console.services import memberships_import as M
from lms_console.services.changes.model import Outcome
from lms_console.services.importer_export import export_failed_rows
from lms_console.services.importer_read import read_table
from lms_console.services.lms.http import HttpTransport, RetryPolicy
from lms_console.services.lms.moodle import MoodleClient


@pytest.fixture
def synced(make_site, connect, cache, run_sync):
    server = make_site(users=160, courses=3, seed=31)
    client = connect(server)
    assert run_sync(client, entities=("site", "users", "categories", "courses", "cohorts", "groups",
                                      "enrolments")).status == "ok"
    db, writer = cache
    return server, client, db, writer


def write_csv(path, rows, delimiter=";", encoding="utf-8-sig"):
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def dry(db, path, **kw):
    table = read_table(path)
    targets = M.auto_map(table.headers)
    with db.read() as conn:
        return M.dry_run(conn, table, targets, **kw)


def test_columns_are_matched_and_bad_mappings_are_named():
    assert M.auto_map(["User name", "E-mail", "Cohort ID number", "Action", "notes"]) == \
        ("username", "email", "cohort", "action", "")
    assert M.auto_map(["login", "group", "course shortname"]) == ("username", "group", "course")
    assert M.check_mapping(["a"], ["username", "cohort"]).errors  # wrong length
    report = M.check_mapping(["u", "x"], ["username", ""])
    assert any("No column says where" in e for e in report.errors)
    report = M.check_mapping(["u", "e", "c"], ["username", "email", "cohort"])
    assert any("Several columns say who" in e for e in report.errors)
    report = M.check_mapping(["u", "c", "g"], ["username", "cohort", "group"])
    assert any("either a Cohort or a Group" in e for e in report.errors)
    report = M.check_mapping(["u", "g"], ["username", "group"])
    assert report.ok and any("no Course column" in w for w in report.warnings)
    report = M.check_mapping(["u", "c", "c2"], ["username", "cohort", "cohort"])
    assert any("all mapped to" in e for e in report.errors)


def test_cohort_dry_run_classifies_every_row_with_its_reason(synced, tmp_path):
    _server, _client, db, _writer = synced
    cid, cname, cidnumber = q(db, "SELECT id, name, idnumber FROM cohorts WHERE name = 'All Staff'")[0]
    members = [r[0] for r in q(db, "SELECT u.username FROM users u JOIN cohort_members m ON m.userid = u.id "
                                   "WHERE m.cohortid = ? ORDER BY u.id LIMIT 2", cid)]
    outside = [r[0] for r in q(db, "SELECT username FROM users WHERE id > 3 AND suspended = 0 AND id NOT IN "
                                   "(SELECT userid FROM cohort_members WHERE cohortid = ?) ORDER BY id LIMIT 3", cid)]
    suspended = q(db, "SELECT username FROM users WHERE suspended = 1 AND id NOT IN "
                      "(SELECT userid FROM cohort_members WHERE cohortid = ?) LIMIT 1", cid)[0][0]
    path = write_csv(tmp_path / "staff.csv", [
        ["username", "cohort", "action"],
        [outside[0], cidnumber, "add"],           # 2 add
        [members[0], cidnumber, ""],              # 3 already a member
        [members[1], cname, "remove"],            # 4 remove (cohort by name)
        [outside[1], cidnumber, "remove"],        # 5 not a member: already so
        ["nobody.here", cidnumber, "add"],        # 6 unknown user
        [outside[2], "NO-SUCH-COHORT", "add"],    # 7 unknown cohort
        [outside[0], cidnumber, "add"],           # 8 same as row 2 ...
        [outside[0], cidnumber, "remove"],        # 9 ... and the opposite of rows 2 and 8: all three conflict
        [suspended, str(cid), "add"],             # 10 suspended account, cohort by id
        [outside[2], cidnumber, "maybe"],         # 11 bad action
        ["", cidnumber, "add"],                   # 12 empty user
        [suspended, cidnumber, "add"],            # 13 same as row 10
    ])
    result = dry(db, path)
    by_row = {r.row: r for r in result.rows}
    assert [by_row[n].klass.value for n in range(2, 14)] == [
        "conflict", "unchanged", "remove", "unchanged", "error", "error", "conflict", "conflict", "add", "error", "error",
        "skipped"]
    assert "no account with this username" in by_row[6].reason
    assert "not visible to the console's token" in by_row[6].reason
    assert "no such cohort" in by_row[7].reason
    assert "same as row 10" in by_row[13].reason
    assert "row 9 asks the opposite (remove)" in by_row[2].reason and "keep one of rows 2, 8 and 9" in by_row[2].reason
    assert "rows 2 and 8 ask the opposite (add)" in by_row[9].reason
    assert "row 9 asks the opposite" in by_row[8].reason and "same as" not in by_row[8].reason
    assert any("suspended account" in n for n in by_row[10].notes)
    assert "is not an action" in by_row[11].reason
    assert "who?" in by_row[12].reason and by_row[12].reason.count("is empty") == 1, by_row[12].reason
    assert "already a member" in by_row[3].notes[0]
    assert result.counts == {"add": 1, "remove": 1, "unchanged": 2, "conflict": 3, "error": 4, "skipped": 1}
    assert result.summary() == "1 to add, 1 to remove, 2 already so, 3 conflicts, 4 errors, 1 skipped"
    assert sorted(c.kind for c in result.changes) == ["cohort.add_member", "cohort.remove_member"]
    out = tmp_path / "failed.csv"
    assert export_failed_rows(result, read_table(path), out) == 7
    with open(out, encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh, delimiter=";"))
    assert lines[0][-1] == "reason" and len(lines) == 8


def test_users_by_email_and_id_number_ambiguous_emails_conflict(synced, tmp_path):
    _server, _client, db, writer = synced
    cid = q(db, "SELECT idnumber FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    a, b = q(db, "SELECT id, email FROM users WHERE id > 3 ORDER BY id LIMIT 2")
    with writer.batch() as raw:  # two accounts sharing an address, as some sites allow
        raw.execute("UPDATE users SET email = ? WHERE id = ?", (a[1], b[0]))
    path = write_csv(tmp_path / "by-email.csv", [["email", "cohort"], [a[1].upper(), cid]], delimiter=",")
    row = dry(db, path).rows[0]
    assert row.klass == M.MemberClass.ERROR and "2 accounts have this email address" in row.reason
    idnumber = q(db, "SELECT idnumber FROM users WHERE idnumber <> '' LIMIT 1")[0][0]
    path = write_csv(tmp_path / "by-id.csv", [["idnumber", "cohort"], [idnumber, cid]], delimiter=",")
    assert dry(db, path).rows[0].klass == M.MemberClass.ADD


def test_group_rows_need_enrolment_first_and_the_planned_run_applies(synced, tmp_path):
    server, client, db, writer = synced
    gid, gname, courseid, course = q(db, 'SELECT g.id, g.name, g.courseid, c.shortname FROM "groups" g JOIN courses c '
                                         "ON c.id = g.courseid ORDER BY g.id LIMIT 1")[0]
    enrolled = q(db, "SELECT u.username FROM users u JOIN enrolments e ON e.userid = u.id AND e.courseid = ? "
                     "WHERE u.id NOT IN (SELECT userid FROM group_members WHERE groupid = ?) LIMIT 1",
                 courseid, gid)[0][0]
    stranger = q(db, "SELECT username FROM users WHERE id > 3 AND suspended = 0 AND id NOT IN "
                     "(SELECT userid FROM enrolments WHERE courseid = ?) LIMIT 1", courseid)[0][0]
    wb = Workbook()
    ws = wb.active
    for row in (["Username", "Group", "Course"], [enrolled, gname, course], [stranger, gname, course],
                [enrolled, gname, "NOPE"]):
        ws.append(row)
    path = tmp_path / "groups.xlsx"
    wb.save(path)
    plain = dry(db, path)
    assert [r.klass.value for r in plain.rows] == ["add", "conflict", "error"]
    assert f"is not enrolled in {course}" in plain.rows[1].reason
    assert "no such course" in plain.rows[2].reason
    first = dry(db, path, enrol_first=True)
    assert [r.klass.value for r in first.rows] == ["add", "add", "error"]
    assert any("first, as student" in n for n in first.rows[1].notes)
    plan = C.plan_changes(db, first.changes, title=first.title, enrol_first=True)
    assert [i.change.kind for i in plan.items] == ["enrol.add", "group.add_member", "group.add_member"]
    assert plan.counts["apply"] == 3
    run = C.record(writer, plan, profile="t", lms_user="admin")
    assert C.apply_run(client, writer, run).status == "done"
    with server.store.connection() as conn:
        names = {r[0] for r in conn.execute("SELECT u.username FROM groups_members m JOIN user u ON u.id = m.userid "
                                             "WHERE m.groupid = ?", (gid,))}
    assert {enrolled, stranger} <= names


def test_plan_notes_name_suspended_accounts_and_a_cohort_deleted_on_the_site(synced):
    server, client, db, writer = synced
    cid = q(db, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    suspended = q(db, "SELECT id FROM users WHERE suspended = 1 LIMIT 1")[0][0]
    active = q(db, "SELECT id FROM users WHERE suspended = 0 AND id > 3 LIMIT 1")[0][0]
    with db.read() as conn:
        target = M.load_target(conn, "cohort", cid)
        plan = C.plan(M.membership_changes(target, [suspended, active, 999_999]), C.PlanContext(conn))
        noted = M.annotate_plan(conn, plan)
    by_user = {i.change.data["userid"]: i for i in noted.items}
    assert by_user[suspended].outcome == Outcome.APPLY and by_user[suspended].title.endswith("(suspended account)")
    assert "cannot sign in" in by_user[suspended].problems[0].message
    assert by_user[active].problems == ()
    assert by_user[999_999].outcome == Outcome.ERROR
    assert "not visible to the token" in by_user[999_999].problems[0].message
    assert any("suspended account" in line for line in M.plan_notes(noted))
    assert M.check_on_site(client, target) == ""
    client.call("core_cohort_delete_cohorts", {"cohortids": [cid]}, write=True)  # someone else, meanwhile
    gone = M.check_on_site(client, target)
    assert "was deleted on the site" in gone
    with db.read() as conn:
        dead = M.annotate_plan(conn, plan, gone=gone, target=target)
    assert {i.outcome for i in dead.items} == {Outcome.ERROR} and dead.count(Outcome.APPLY) == 0
    assert all(any("deleted on the site" in p.message for p in i.problems) for i in dead.items)
    down = MoodleClient(HttpTransport("http://127.0.0.1:9", retry=RetryPolicy(attempts=1, base_delay=0.01)),
                        server.admin_token)
    try:
        assert M.check_on_site(down, target) is None  # offline: the apply will say it per item
    finally:
        down.transport.close()


def test_a_cohort_deleted_between_preview_and_apply_fails_every_item_and_applies_none(synced):
    server, client, db, writer = synced
    cid = q(db, "SELECT id FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    users = [r[0] for r in q(db, "SELECT id FROM users WHERE id > 3 AND suspended = 0 LIMIT 5")]
    with db.read() as conn:
        plan = C.plan(M.membership_changes(M.load_target(conn, "cohort", cid), users), C.PlanContext(conn))
    assert plan.counts["apply"] == 5
    client.call("core_cohort_delete_cohorts", {"cohortids": [cid]}, write=True)
    run = C.record(writer, plan, profile="t", lms_user="admin")
    summary = C.apply_run(client, writer, run)
    assert summary.count(C.Status.DONE) == 0 and summary.count(C.Status.FAILED) == 5
    assert all("not exists" in r.message for r in summary.results)


def test_membership_and_enrolment_changes_check_their_input():
    cohort, course = M.Target("cohort", 4, "Sales"), M.Target("course", 9, "C9", 9, "C9")
    assert M.membership_changes(cohort, [3, 3, 4]) == [
        C.Change("cohort.add_member", {"cohortid": 4, "userid": 3}),
        C.Change("cohort.add_member", {"cohortid": 4, "userid": 4})]
    assert M.membership_changes(M.Target("group", 7, "G"), [3], remove=True) == [
        C.Change("group.remove_member", {"groupid": 7, "userid": 3})]
    with pytest.raises(ValueError, match="enrol users instead"):
        M.membership_changes(course, [3])
    changes = M.enrol_changes([9, 10], [3, 4], roleid=3, timestart=100, timeend=200, suspend=True)
    assert len(changes) == 4 and changes[0].data == {"userid": 3, "courseid": 9, "roleid": 3, "suspend": 1,
                                                     "timestart": 100, "timeend": 200}
    with pytest.raises(ValueError, match="after the start"):
        M.enrol_changes([9], [3], timestart=200, timeend=100)


def test_opposite_rows_are_both_conflicts_and_neither_is_planned(synced, tmp_path):
    """QA: row 2 ``lweber,COH1,add`` and row 7 ``LWEBER,COH1,remove``: only row 7 was a conflict, row 2
    still went into the preview as an add ("first row wins")."""
    _server, _client, db, _writer = synced
    idnumber, cid = q(db, "SELECT idnumber, id FROM cohorts WHERE name = 'Empty cohort'")[0]
    users = [r[0] for r in q(db, "SELECT username FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT 5")]
    path = write_csv(tmp_path / "opposite.csv", [
        ["username", "cohort", "action"],
        [users[0], idnumber, "add"],                       # 2
        *[[u, idnumber, "add"] for u in users[1:5]],       # 3-6
        [users[0].upper(), str(cid), "remove"],            # 7: the same user and cohort, written otherwise
    ], delimiter=",")
    result = dry(db, path)
    by_row = {r.row: r for r in result.rows}
    assert by_row[2].klass == by_row[7].klass == M.MemberClass.CONFLICT
    assert by_row[2].reason == "row 7 asks the opposite (remove) for this user and cohort; keep one of the two rows"
    assert by_row[7].reason == "row 2 asks the opposite (add) for this user and cohort; keep one of the two rows"
    assert [by_row[n].klass.value for n in range(3, 7)] == ["add"] * 4
    uid = q(db, "SELECT id FROM users WHERE username = ?", users[0])[0][0]
    assert all(c.data["userid"] != uid for c in result.changes) and len(result.changes) == 4
    assert result.summary() == "4 to add, 2 conflicts"
    assert {r.row for r in result.failed} == {2, 7}


def test_counts_read_right_for_one_and_a_group_of_another_course_is_named(synced, tmp_path):
    """QA: "1 rows: 1 to add", "1 conflicts"; and "no such group in this course" for a group of another
    course."""
    _server, _client, db, _writer = synced
    idnumber = q(db, "SELECT idnumber FROM cohorts WHERE name = 'Empty cohort'")[0][0]
    user = q(db, "SELECT username FROM users WHERE id > 3 AND suspended = 0 ORDER BY id LIMIT 1")[0][0]
    one = dry(db, write_csv(tmp_path / "one.csv", [["username", "cohort"], [user, idnumber]], delimiter=","))
    assert one.summary() == "1 to add" and one.overview() == "1 row: 1 to add. 1 change to preview."
    two = dry(db, write_csv(tmp_path / "two.csv", [["username", "cohort", "action"], [user, idnumber, "add"],
                                                   [user, idnumber, "remove"], ["ghost", idnumber, "add"]],
                            delimiter=","))
    assert two.summary() == "2 conflicts, 1 error"
    assert two.overview() == "3 rows: 2 conflicts, 1 error. Nothing to change."
    lone = dry(db, write_csv(tmp_path / "lone.csv", [["username", "cohort"], ["ghost", idnumber]], delimiter=","))
    assert lone.summary() == "1 error" and lone.overview() == "1 row: 1 error. Nothing to change."
    gname, gcourse, gid, other = q(
        db, 'SELECT g.name, c.shortname, g.id, (SELECT shortname FROM courses o WHERE o.id <> g.courseid '
            'AND o.id > 1 AND NOT EXISTS (SELECT 1 FROM "groups" x WHERE x.courseid = o.id AND x.name = g.name) '
            'LIMIT 1) FROM "groups" g JOIN courses c ON c.id = g.courseid ORDER BY g.id LIMIT 1')[0]
    assert other
    path = write_csv(tmp_path / "groups.csv", [["username", "group", "course"], [user, gname, other],
                                               [user, str(gid), other], [user, "No such group", other]],
                     delimiter=",")
    rows = dry(db, path).rows
    assert [r.klass for r in rows] == [M.MemberClass.ERROR] * 3
    assert rows[0].reason.endswith(f"no group of this name in {other}; “{gname}” is a group of {gcourse}")
    assert rows[1].reason.endswith(f"group {gid} (“{gname}”) is a group of {gcourse}, not of {other}")
    assert rows[2].reason.endswith(f"no such group in {other} in the local copy (check the name; sync if it is new)")
