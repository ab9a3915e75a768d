"""The change kinds no other test sends: groups and groupings, cohort deletion, course sections and
activity visibility, the forced password change, a role taken back; each planned against the cache, applied to the
sandbox over real HTTP (which checks parameters as Moodle does), checked on the site and in the
cache, and undone where it can be."""

from __future__ import annotations

import pytest

from lms_console.services import changes as C
from lms_console.services.changes import journal as J
from lms_console.services.changes.model import Outcome


@pytest.fixture
def synced(synced_site):
    """(server, client, db, writer) of a fresh sandbox mirrored into the test's cache."""
    return synced_site(users=80, courses=3, seed=23)


def cached(db, sql, *params):
    with db.read() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql, params).all()]


def on_site(server, sql, *params):
    with server.store.connection() as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def run(client, writer, db, changes, title="test"):
    plan = C.plan_changes(db, changes, title=title)
    assert [i.outcome for i in plan.items] == [Outcome.APPLY] * len(changes), \
        [(i.change.kind, [str(p) for p in i.problems]) for i in plan.items]
    summary = C.apply_run(client, writer, C.record(writer, plan, profile="test", lms_user="admin"))
    assert summary.status == "done", [(r.kind, r.code, r.message) for r in summary.results]
    return summary


def undo(client, writer, db, summary):
    with db.read() as conn:
        changes, irreversible = C.undo_changes(J.run_rows(conn, summary.run_id))
    assert not irreversible
    return run(client, writer, db, changes, title="Undo")


def test_groups_and_groupings_from_creation_to_deletion(synced):
    server, client, db, writer = synced
    course = cached(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    made = run(client, writer, db, [C.Change("group.create", {"courseid": course, "name": "Lab A"}),
                                    C.Change("grouping.create", {"courseid": course, "name": "Labs"})])
    group, grouping = (r.result["id"] for r in made.results)
    assert on_site(server, 'SELECT courseid, name FROM "groups" WHERE id = ?', group) == [(course, "Lab A")]
    assert on_site(server, "SELECT courseid, name FROM groupings WHERE id = ?", grouping) == [(course, "Labs")]
    assert cached(db, 'SELECT courseid, name FROM "groups" WHERE id = ?', group) == [(course, "Lab A")]
    assert cached(db, "SELECT courseid, name FROM groupings WHERE id = ?", grouping) == [(course, "Labs")]
    # a second group of the same name in the course is refused before anything is sent
    again = C.plan_changes(db, [C.Change("group.create", {"courseid": course, "name": "Lab A"})])
    assert again.items[0].outcome == Outcome.ERROR and "already exists" in str(again.items[0].problems[0])

    assigned = run(client, writer, db, [C.Change("grouping.assign", {"groupingid": grouping, "groupid": group})])
    assert on_site(server, "SELECT groupid FROM groupings_groups WHERE groupingid = ?", grouping) == [(group,)]
    assert cached(db, "SELECT groupid FROM grouping_groups WHERE groupingid = ?", grouping) == [(group,)]
    undo(client, writer, db, assigned)  # the inverse of assign is unassign
    assert on_site(server, "SELECT groupid FROM groupings_groups WHERE groupingid = ?", grouping) == []
    assert cached(db, "SELECT groupid FROM grouping_groups WHERE groupingid = ?", grouping) == []

    run(client, writer, db, [C.Change("grouping.delete", {"id": grouping}), C.Change("group.delete", {"id": group})])
    assert on_site(server, 'SELECT id FROM "groups" WHERE id = ?', group) == []
    assert on_site(server, "SELECT id FROM groupings WHERE id = ?", grouping) == []
    assert cached(db, 'SELECT id FROM "groups" WHERE id = ?', group) == []
    assert cached(db, "SELECT id FROM groupings WHERE id = ?", grouping) == []


def test_cohort_create_then_delete_and_delete_is_not_undoable(synced):
    server, client, db, writer = synced
    made = run(client, writer, db, [C.Change("cohort.create", {"name": "Night school", "idnumber": "NIGHT"})])
    cohort = made.results[0].result["id"]
    assert on_site(server, "SELECT name, idnumber FROM cohort WHERE id = ?", cohort) == [("Night school", "NIGHT")]
    plan = C.plan_changes(db, [C.Change("cohort.delete", {"id": cohort})])
    assert len(plan.irreversible) == 1
    with writer.batch() as raw:  # a membership rule for it
        raw.execute("INSERT INTO cohort_rules (cohortid, spec) VALUES (?, '{}')", (cohort,))
    gone = run(client, writer, db, [C.Change("cohort.delete", {"id": cohort})])
    assert on_site(server, "SELECT id FROM cohort WHERE id = ?", cohort) == []
    assert cached(db, "SELECT id FROM cohorts WHERE id = ?", cohort) == []
    assert cached(db, "SELECT id FROM cohort_rules WHERE cohortid = ?", cohort) == []  # deleted here: rule goes too
    with db.read() as conn:
        assert len(C.undo_changes(J.run_rows(conn, gone.run_id))[1]) == 1


def test_sections_added_renamed_hidden_shown_moved_and_deleted(synced):
    server, client, db, writer = synced
    course = cached(db, "SELECT courseid FROM sections GROUP BY courseid HAVING count(*) >= 3 LIMIT 1")[0][0]
    before = on_site(server, "SELECT count(*) FROM course_sections WHERE course = ?", course)[0][0]
    run(client, writer, db, [C.Change("section.add", {"courseid": course})])
    assert on_site(server, "SELECT count(*) FROM course_sections WHERE course = ?", course)[0][0] == before + 1
    new = on_site(server, "SELECT id FROM course_sections WHERE course = ? ORDER BY section DESC LIMIT 1", course)[0][0]
    # The new section reaches the cache as the content pane does it: the course is read again afterwards.
    assert cached(db, "SELECT count(*) FROM sections WHERE id = ?", new) == [(0,)]
    writer.replace_course_contents(course, client.course_contents(course).items, 0)
    assert cached(db, "SELECT count(*) FROM sections WHERE id = ?", new) == [(1,)]

    renamed = run(client, writer, db, [C.Change("section.rename", {"courseid": course, "id": new, "name": "Extra"})])
    assert on_site(server, "SELECT name FROM course_sections WHERE id = ?", new) == [("Extra",)]
    assert cached(db, "SELECT name FROM sections WHERE id = ?", new) == [("Extra",)]
    undo(client, writer, db, renamed)
    assert on_site(server, "SELECT name FROM course_sections WHERE id = ?", new) != [("Extra",)]

    hidden = run(client, writer, db, [C.Change("section.hide", {"courseid": course, "id": new})])
    assert on_site(server, "SELECT visible FROM course_sections WHERE id = ?", new) == [(0,)]
    assert cached(db, "SELECT visible FROM sections WHERE id = ?", new) == [(0,)]
    assert C.plan_changes(db, [C.Change("section.hide", {"courseid": course, "id": new})]).items[0].outcome \
        == Outcome.NOOP
    undo(client, writer, db, hidden)  # section.show
    assert on_site(server, "SELECT visible FROM course_sections WHERE id = ?", new) == [(1,)]

    first = cached(db, "SELECT id FROM sections WHERE courseid = ? AND section = 1", course)[0][0]
    run(client, writer, db, [C.Change("section.move", {"courseid": course, "id": new, "targetsectionid": first})])
    assert on_site(server, "SELECT section FROM course_sections WHERE id = ?", new) == [(2,)]

    run(client, writer, db, [C.Change("section.delete", {"courseid": course, "id": new})])
    assert on_site(server, "SELECT id FROM course_sections WHERE id = ?", new) == []
    assert cached(db, "SELECT id FROM sections WHERE id = ?", new) == []


def test_an_activity_hidden_and_shown_again(synced):
    server, client, db, writer = synced
    course, cmid = cached(db, "SELECT courseid, cmid FROM modules WHERE visible = 1 LIMIT 1")[0]
    hidden = run(client, writer, db, [C.Change("module.hide", {"courseid": course, "id": cmid})])
    assert on_site(server, "SELECT visible FROM course_modules WHERE id = ?", cmid) == [(0,)]
    undo(client, writer, db, hidden)  # module.show
    assert on_site(server, "SELECT visible FROM course_modules WHERE id = ?", cmid) == [(1,)]
    assert cached(db, "SELECT visible FROM modules WHERE cmid = ?", cmid) == [(1,)]


def test_a_forced_password_change_cannot_be_undone_as_the_flag_before_is_unknown(synced):
    """The cache keeps no preferences and the site shows an admin no one else's: undoing the change by
    clearing the flag would clear it for a user who had it before. The plan says it cannot be undone,
    and the journal keeps no inverse."""
    server, client, db, writer = synced
    had, fresh = (r[0] for r in cached(db, "SELECT id FROM users WHERE id > 3 AND auth = 'manual' AND suspended = 0 "
                                           "ORDER BY id LIMIT 2"))

    def forced(user):
        return on_site(server, "SELECT value FROM user_preferences WHERE userid = ? AND name = "
                               "'auth_forcepasswordchange'", user)

    client.call("core_user_update_users", {"users": [{"id": had, "preferences": [
        {"type": "auth_forcepasswordchange", "value": "1"}]}]})  # set before, by someone else
    changes = [C.Change("user.force_password_change", {"id": had}),
               C.Change("user.force_password_change", {"id": fresh})]
    plan = C.plan_changes(db, changes)
    assert [i.outcome for i in plan.items] == [Outcome.APPLY, Outcome.APPLY]  # no-op or not: unknown
    assert len(plan.irreversible) == 2
    done = run(client, writer, db, changes)
    assert forced(had) == [("1",)] and forced(fresh) == [("1",)]
    with db.read() as conn:
        inverses, irreversible = C.undo_changes(J.run_rows(conn, done.run_id))
    assert inverses == [] and len(irreversible) == 2
    assert forced(had) == [("1",)]  # what it was before, and stays

    cleared = run(client, writer, db, [C.Change("user.clear_password_change", {"id": fresh})])
    assert forced(fresh) == [("0",)]
    with db.read() as conn:  # forcing it again would force someone who may never have had it
        assert C.undo_changes(J.run_rows(conn, cleared.run_id))[0] == []


def test_undo_of_an_enrolment_takes_back_only_the_role_it_added(synced):
    """Bulk-enrolling as student a user who teaches in the course adds a role to their enrolment; the
    undo removes that role (core_role_unassign_roles) and keeps the teacher's role and enrolment, and
    unenrols the one who was not enrolled before."""
    server, client, db, writer = synced
    course = cached(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    teacher, newcomer = (r[0] for r in cached(
        db, "SELECT id FROM users WHERE id > 3 AND username <> 'guest' AND id NOT IN (SELECT userid FROM enrolments "
            "WHERE courseid = ?) ORDER BY id LIMIT 2", course))

    def roles_on_site(user):
        return [r[0] for r in on_site(server, "SELECT ra.roleid FROM role_assignments ra JOIN context x ON "
                                              "x.id = ra.contextid WHERE x.contextlevel = 50 AND x.instanceid = ? "
                                              "AND ra.userid = ? ORDER BY ra.roleid", course, user)]

    def enrolled_on_site(user):
        return bool(on_site(server, "SELECT 1 FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid WHERE "
                                    "e.courseid = ? AND ue.userid = ?", course, user))

    run(client, writer, db, [C.Change("enrol.add", {"userid": teacher, "courseid": course, "roleid": 3})])
    bulk = run(client, writer, db, [C.Change("enrol.add", {"userid": u, "courseid": course, "roleid": 5})
                                    for u in (teacher, newcomer)])
    assert roles_on_site(teacher) == [3, 5]
    assert cached(db, "SELECT roleids FROM enrolments WHERE courseid = ? AND userid = ?", course, teacher) \
        == [("[3, 5]",)]

    undone = undo(client, writer, db, bulk)
    assert [r.kind for r in undone.results] == ["enrol.remove", "enrol.unassign_role"]
    assert roles_on_site(teacher) == [3] and enrolled_on_site(teacher)
    assert cached(db, "SELECT roleids FROM enrolments WHERE courseid = ? AND userid = ?", course, teacher) \
        == [("[3]",)]
    assert not enrolled_on_site(newcomer) and roles_on_site(newcomer) == []
    assert cached(db, "SELECT 1 FROM enrolments WHERE courseid = ? AND userid = ?", course, newcomer) == []

    # Taking the role back can itself be undone (an unenrolment cannot): the student role comes back.
    with db.read() as conn:
        redo, irreversible = C.undo_changes(J.run_rows(conn, undone.run_id))
    assert [c.kind for c in redo] == ["enrol.add"] and [r.kind for r in irreversible] == ["enrol.remove"]
    run(client, writer, db, redo, title="Undo")
    assert roles_on_site(teacher) == [3, 5] and enrolled_on_site(teacher)


def test_enrolment_changes_name_roles_as_the_site_does_and_say_what_they_do(synced):
    """A role added to an existing enrolment reads as adding that role, a role taken away as removing it,
    a new enrolment as "Enrol"; roles by the names the site gives them (not "editingteacher", not ids), in
    the plan and in the journal. What is sent (the role ids) stays as it was, and so does the undo."""
    server, client, db, writer = synced
    course, short = cached(db, "SELECT id, shortname FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0]
    (teacher, tname), (newcomer, nname) = cached(
        db, "SELECT id, username FROM users WHERE id > 3 AND username <> 'guest' AND id NOT IN (SELECT userid FROM "
            "enrolments WHERE courseid = ?) ORDER BY id LIMIT 2", course)
    run(client, writer, db, [C.Change("enrol.add", {"userid": teacher, "courseid": course, "roleid": 3})])

    plan = C.plan_changes(db, [C.Change("enrol.add", {"userid": teacher, "courseid": course, "roleid": 5}),
                               C.Change("enrol.add", {"userid": newcomer, "courseid": course, "roleid": 5}),
                               C.Change("enrol.unassign_role", {"userid": teacher, "courseid": course, "roleid": 3})])
    assert [i.title for i in plan.items] == [f"Add the Student role to {tname} in {short}",
                                             f"Enrol {nname} in {short} as Student",
                                             f"Remove the Teacher role of {tname} in {short}"]
    assert plan.items[0].diff == [("roles", ["Teacher"], ["Teacher", "Student"])]
    assert ("roles", None, ["Student"]) in plan.items[1].diff
    assert plan.items[2].diff == [("roles", ["Teacher"], [])]
    assert not any(f.startswith("_") or f == "roleids" for i in plan.items for f, _b, _a in i.diff)
    # What goes to Moodle is unchanged: role ids.
    assert [i.change.data["roleid"] for i in plan.items] == [5, 5, 3]
    fields = dict(C.api_calls(plan)[0].fields)
    assert fields["enrolments[0][roleid]"] == "5" and fields["enrolments[1][roleid]"] == "5"

    again = C.plan_changes(db, [C.Change("enrol.add", {"userid": teacher, "courseid": course, "roleid": 3})])
    assert again.items[0].outcome == Outcome.NOOP
    assert again.items[0].title == f"Update the enrolment of {tname} in {short} (Teacher)"

    added = run(client, writer, db, [plan.items[0].change])
    with db.read() as conn:
        (row,) = J.run_rows(conn, added.run_id)
    assert row.title == plan.items[0].title and row.before["roles"] == ["Teacher"]
    assert row.after["roles"] == ["Teacher", "Student"]
    # The ids behind the names are kept for the undo: it takes back the role added, and only that.
    assert row.inverse == {"kind": "enrol.unassign_role", "userid": teacher, "courseid": course, "roleid": 5}
    spec = C.kind("enrol.add")
    assert spec.inverse({"userid": teacher, "courseid": course, "roleid": 3, "timeend": 2_000_000_000},
                        row.before, None) == C.Change("enrol.add", {"userid": teacher, "courseid": course,
                                                                    "roleid": 3, "suspend": 0})


def test_changing_an_existing_enrolment_keeps_its_dates_and_status(synced):
    """enrol_manual_enrol_users writes the dates (0 when not sent) and the status (active unless suspend is
    sent) over an existing enrolment: a second role, or a suspension, must not clear an enrolment's end date
    nor reactivate it."""
    server, client, db, writer = synced
    course = cached(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    a, b = (r[0] for r in cached(
        db, "SELECT id FROM users WHERE id > 3 AND username <> 'guest' AND id NOT IN (SELECT userid FROM enrolments "
            "WHERE courseid = ?) ORDER BY id LIMIT 2", course))
    start, end = 1_790_000_000, 1_800_000_000

    def on_site_enrolment(user):
        return on_site(server, "SELECT ue.timestart, ue.timeend, ue.status FROM user_enrolments ue JOIN enrol e ON "
                               "e.id = ue.enrolid WHERE e.courseid = ? AND ue.userid = ?", course, user)[0]

    run(client, writer, db, [C.Change("enrol.add", {"userid": a, "courseid": course, "roleid": 5, "timestart": start,
                                                    "timeend": end, "suspend": 1}),
                             C.Change("enrol.add", {"userid": b, "courseid": course, "roleid": 5, "timestart": start,
                                                    "timeend": end})])
    run(client, writer, db, [C.Change("enrol.add", {"userid": a, "courseid": course, "roleid": 4}),
                             C.Change("enrol.suspend", {"userid": b, "courseid": course})])
    assert on_site_enrolment(a) == (start, end, 1)  # a second role: still suspended, dates kept
    run(client, writer, db, [C.Change("enrol.unsuspend", {"userid": a, "courseid": course})])
    assert on_site_enrolment(a) == (start, end, 0)  # reactivated: dates kept
    assert on_site_enrolment(b) == (start, end, 1)  # suspended: dates kept


def test_reactivating_an_enrolment_whose_dates_moodle_did_not_report_says_they_go(synced):
    """Moodle reports no enrolment dates and enrol_manual_enrol_users writes 0 for those not sent: the preview
    must say that the dates are cleared (the access check's "Reactivate" wiped them without a word)."""
    server, client, db, writer = synced
    course, user = cached(db, "SELECT courseid, userid FROM enrolments WHERE courseid > 1 AND timestart IS NULL "
                              "AND timeend IS NULL ORDER BY courseid, userid LIMIT 1")[0]
    plan = C.plan_changes(db, [C.Change("enrol.suspend", {"userid": user, "courseid": course})])
    (item,) = plan.items
    assert ("start and end dates", "not reported by Moodle", "cleared by Moodle (no start, no end)") in item.diff
    run(client, writer, db, [C.Change("enrol.suspend", {"userid": user, "courseid": course})])
    plan = C.plan_changes(db, [C.Change("enrol.unsuspend", {"userid": user, "courseid": course})])
    assert ("start and end dates", "not reported by Moodle", "cleared by Moodle (no start, no end)") \
        in plan.items[0].diff
    with writer.batch() as raw:  # dates the console set (so knows): kept, nothing to warn about
        raw.execute("UPDATE enrolments SET timestart = 0, timeend = 1900000000 WHERE courseid = ? AND userid = ?",
                    (course, user))
    plan = C.plan_changes(db, [C.Change("enrol.unsuspend", {"userid": user, "courseid": course})])
    assert plan.items[0].diff == [("suspended", True, False)]


def test_profile_fields_a_change_sets_are_in_the_local_copy_afterwards(synced):
    """So a re-import of the same file finds them unchanged (it proposed them again and again)."""
    server, client, db, writer = synced
    shortname, userid = cached(db, "SELECT shortname, userid FROM user_custom_fields WHERE userid > 3 ORDER BY userid "
                                   "LIMIT 1")[0]
    created = run(client, writer, db, [C.Change("user.create", {
        "username": "cf.new", "firstname": "Cf", "lastname": "New", "email": "cf.new@example.org",
        "password": "Fresh#2024x", "customfields": {shortname: "Blue"}})])
    newid = created.results[0].result["id"]
    run(client, writer, db, [C.Change("user.update", {"id": userid, "fields": {"customfields": {shortname: "Green"}}})])
    assert cached(db, "SELECT userid, value FROM user_custom_fields WHERE shortname = ? AND userid IN (?, ?) "
                      "ORDER BY userid", shortname, userid, newid) == [(userid, "Green"), (newid, "Blue")]
    again = C.plan_changes(db, [C.Change("user.update", {"id": u, "fields": {"customfields": {shortname: v}}})
                                for u, v in ((userid, "Green"), (newid, "Blue"))])
    assert [i.outcome for i in again.items] == [Outcome.NOOP, Outcome.NOOP]


def test_an_added_role_with_changed_dates_is_not_half_undone():
    """One call cannot both take the role back and restore the dates: no inverse rather than half of one."""
    spec = C.kind("enrol.add")
    before = {"enrolled": True, "roleids": [3], "suspended": False, "timestart": 0, "timeend": 0}
    assert spec.inverse({"userid": 7, "courseid": 2, "roleid": 5, "timeend": 2_000_000_000}, before, None) is None
    assert spec.inverse({"userid": 7, "courseid": 2, "roleid": 5}, before, None) \
        == C.Change("enrol.unassign_role", {"userid": 7, "courseid": 2, "roleid": 5})
    assert spec.inverse({"userid": 7, "courseid": 2, "roleid": 3, "timeend": 2_000_000_000}, before, None) \
        == C.Change("enrol.add", {"userid": 7, "courseid": 2, "roleid": 3, "suspend": 0})


def test_the_guest_account_is_refused_at_plan_time_as_moodle_keeps_it(synced):
    """Moodle refuses to update the guest account, and core_user_delete_users reports success while
    delete_user() keeps it: the plan says so instead of a "done" that did nothing."""
    server, client, db, writer = synced
    guest = cached(db, "SELECT id FROM users WHERE username = 'guest'")[0][0]
    for kind in ("user.delete", "user.suspend", "user.force_password_change"):
        plan = C.plan_changes(db, [C.Change(kind, {"id": guest})], title="guest")
        item = plan.items[0]
        assert item.outcome != Outcome.APPLY, kind
        assert "guest account" in " ".join(str(p) for p in item.problems), kind
    # The sandbox answers as Moodle: the call succeeds and the guest stays.
    client.call("core_user_delete_users", {"userids": [guest]})
    assert on_site(server, "SELECT deleted FROM user WHERE id = ?", guest) == [(0,)]


def test_a_grouping_renamed_and_given_another_id_number_then_undone(synced):
    """grouping.update (core_group_update_groupings): the name and ID number change on the site and in the
    cache, the description the call requires is sent unchanged, a name or ID number another grouping of
    the course has and a blank name are refused before anything is sent, and the undo restores both."""
    server, client, db, writer = synced
    course = cached(db, "SELECT id FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0][0]
    shortname = cached(db, "SELECT shortname FROM courses WHERE id = ?", course)[0][0]
    made = run(client, writer, db, [
        C.Change("grouping.create", {"courseid": course, "name": "Labs", "idnumber": "LAB",
                                     "description": "Lab sessions"}),
        C.Change("grouping.create", {"courseid": course, "name": "Talks", "idnumber": "TALK"})])
    labs, _talks = (r.result["id"] for r in made.results)
    assert C.plan_changes(db, [C.Change("grouping.create", {"courseid": course, "name": "X"})]).items[0].title \
        == f"Create grouping X in course {shortname}"  # not its id

    def refused(fields):
        plan = C.plan_changes(db, [C.Change("grouping.update", {"id": labs, "fields": fields})])
        assert plan.items[0].outcome == Outcome.ERROR
        return str(plan.items[0].problems[0])

    assert "already exists" in refused({"name": "talks"})
    assert "ID number of grouping Talks" in refused({"idnumber": "TALK"})
    assert "needs a name" in refused({"name": " "})
    assert "no such grouping" in str(C.plan_changes(db, [C.Change("grouping.update", {
        "id": 999999, "fields": {"name": "X"}})]).items[0].problems[0])
    assert C.plan_changes(db, [C.Change("grouping.update", {"id": labs, "fields": {"name": "Labs"}})]) \
        .items[0].outcome == Outcome.NOOP

    change = C.Change("grouping.update", {"id": labs, "fields": {"name": "Labs 2026", "idnumber": "LAB26"}})
    assert C.plan_changes(db, [change]).items[0].title == "Change grouping Labs"
    renamed = run(client, writer, db, [change])
    assert on_site(server, "SELECT name, idnumber, description FROM groupings WHERE id = ?", labs) \
        == [("Labs 2026", "LAB26", "Lab sessions")]
    assert cached(db, "SELECT name, idnumber FROM groupings WHERE id = ?", labs) == [("Labs 2026", "LAB26")]
    assert C.plan_changes(db, [C.Change("grouping.delete", {"id": labs})]).items[0].title \
        == "Delete grouping Labs 2026"

    undo(client, writer, db, renamed)
    assert on_site(server, "SELECT name, idnumber, description FROM groupings WHERE id = ?", labs) \
        == [("Labs", "LAB", "Lab sessions")]
    assert cached(db, "SELECT name, idnumber FROM groupings WHERE id = ?", labs) == [("Labs", "LAB")]


def test_an_added_role_that_reactivates_says_so_and_its_undo_names_it_instead_of_leaving_it_out(synced):
    """QA: enrolling a cohort as Teacher where a member had a suspended Student enrolment reactivated it; the
    item ("Add the Teacher role to …") did not say so, and "Undo this run" left it out without a word (one call
    cannot take the role back and suspend again: it has no inverse)."""
    server, client, db, writer = synced
    course, short = cached(db, "SELECT id, shortname FROM courses WHERE id > 1 ORDER BY id LIMIT 1")[0]
    (member, mname), (newcomer, nname) = cached(
        db, "SELECT id, username FROM users WHERE id > 3 AND username <> 'guest' AND id NOT IN (SELECT userid FROM "
            "enrolments WHERE courseid = ?) ORDER BY id LIMIT 2", course)
    run(client, writer, db, [C.Change("enrol.add", {"userid": member, "courseid": course, "roleid": 5,
                                                    "suspend": 1})])
    as_teachers = [C.Change("enrol.add", {"userid": u, "courseid": course, "roleid": 3, "suspend": 0})
                   for u in (member, newcomer)]  # as the enrolment matrix sends them
    plan = C.plan_changes(db, as_teachers)
    title = f"Add the Teacher role to {mname} in {short} and reactivate the enrolment"
    assert [i.title for i in plan.items] == [title, f"Enrol {nname} in {short} as Teacher"]
    done = run(client, writer, db, as_teachers)
    with db.read() as conn:
        changes, notes = C.undoable_changes(J.run_rows(conn, done.run_id), f"run {done.run_id}")
    assert [(c.kind, c.data["userid"]) for c in changes] == [("enrol.remove", newcomer)]
    assert notes == (f"1 change cannot be undone from here: “{title}” (it also reactivated the enrolment; one call "
                     "cannot put back both). Make the opposite change by hand if it is needed.",)
