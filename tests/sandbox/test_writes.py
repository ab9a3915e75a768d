"""Write functions: all-or-nothing batches, per-item warnings, Moodle's error codes, null success bodies."""

from .conftest import ws_call

GOOD = "Good#Pass1"


def _user(name: str, **extra) -> dict:
    return {"username": name, "password": GOOD, "firstname": name.title(), "lastname": "Tester",
            "email": f"{name}@example.org", **extra}


def _count(server, sql, args=()):
    with server.store.connection() as conn:
        return conn.execute(sql, args).fetchone()[0]


def test_create_users_is_all_or_nothing(make_sandbox):
    server = make_sandbox()
    before = _count(server, "SELECT COUNT(*) FROM user")
    body = ws_call(server, "core_user_create_users", users=[_user("fresh.one"), _user("admin")])
    assert body["errorcode"] == "invalidparameter" and "debuginfo" not in body
    assert _count(server, "SELECT COUNT(*) FROM user") == before
    server.update_settings(debug=True)
    body = ws_call(server, "core_user_create_users", users=[_user("fresh.one"), _user("admin")])
    assert body["debuginfo"] == "Username already exists: admin"
    created = ws_call(server, "core_user_create_users", users=[
        _user("fresh.one", customfields=[{"type": "jobtitle", "value": "QA Engineer"}]), _user("fresh.two")])
    assert [u["username"] for u in created] == ["fresh.one", "fresh.two"]
    user = ws_call(server, "core_user_get_users_by_field", field="id", values=[created[0]["id"]])[0]
    assert {"type": "text", "value": "QA Engineer", "displayvalue": "QA Engineer", "name": "Job title",
            "shortname": "jobtitle"} in user["customfields"]


def test_weak_password_reports_the_policy_as_html(make_sandbox):
    server = make_sandbox()
    body = ws_call(server, "core_user_create_users", users=[_user("weak", password="abc")])
    policy = ("<div>Passwords must be at least 8 characters long.</div><div>Passwords must have at least 1 digit(s)."
              "</div><div>Passwords must have at least 1 upper case letter(s).</div><div>The password must have at "
              "least 1 special character(s) such as *, -, or #.</div>")
    assert body == {"exception": "core\\exception\\moodle_exception", "errorcode": policy, "message": "error/" + policy}


def test_update_users_reports_warnings_per_user(make_sandbox):
    server = make_sandbox()
    body = ws_call(server, "core_user_update_users", users=[{"id": 10, "suspended": 1, "city": "Hamburg"},
                                                            {"id": 999999, "firstname": "Ghost"}])
    assert body == {"warnings": [{"item": "user", "itemid": 999999, "warningcode": "invaliduserid",
                                  "message": "Invalid user id"}]}
    user = ws_call(server, "core_user_get_users_by_field", field="id", values=[10])[0]
    assert user["suspended"] is True and user["city"] == "Hamburg"


def test_delete_users_refuses_admin_and_self_atomically(make_sandbox):
    server = make_sandbox()
    assert ws_call(server, "core_user_delete_users", userids=[10, 2])["errorcode"] == "useradminodelete"
    assert ws_call(server, "core_user_get_users_by_field", field="id", values=[10]) != []
    assert ws_call(server, "core_user_delete_users", userids=[10]) is None
    assert ws_call(server, "core_user_get_users_by_field", field="id", values=[10]) == []
    missing = ws_call(server, "core_user_delete_users", userids=[987654])
    assert missing["errorcode"] == "invalidrecordunknown"


def test_get_users_criteria_rules(make_sandbox):
    server = make_sandbox()
    ws_call(server, "core_user_create_users", users=[_user("pct.user", lastname="100%_Done"),
                                                     _user("plain.user", lastname="100XYDone")])
    found = ws_call(server, "core_user_get_users", criteria=[{"key": "lastname", "value": "100\\%\\_done"}])
    assert [u["username"] for u in found["users"]] == ["pct.user"]          # escaped, case-insensitive
    found = ws_call(server, "core_user_get_users", criteria=[{"key": "lastname", "value": "100__done"}])
    assert {u["username"] for u in found["users"]} == {"pct.user", "plain.user"}
    again = ws_call(server, "core_user_get_users", criteria=[{"key": "email", "value": "%"},
                                                            {"key": "email", "value": "x"}])
    assert again["errorcode"] == "keyalreadyset"
    odd = ws_call(server, "core_user_get_users", criteria=[{"key": "shoesize", "value": "9"},
                                                          {"key": "username", "value": "admin"}])
    assert odd["warnings"][0]["warningcode"] == "invalidfieldparameter" and len(odd["users"]) == 1
    # guest's email is set, admin's idnumber is empty: searching idnumber drops users whose field is empty
    assert ws_call(server, "core_user_get_users", criteria=[{"key": "idnumber", "value": ""}])["users"] == []


def test_cohort_members_unknown_user_is_a_warning(make_sandbox):
    server = make_sandbox()
    body = ws_call(server, "core_cohort_add_cohort_members", members=[
        {"cohorttype": {"type": "id", "value": "1"}, "usertype": {"type": "username", "value": "wslimited"}},
        {"cohorttype": {"type": "id", "value": "1"}, "usertype": {"type": "username", "value": "no.such.user"}}])
    assert body == {"warnings": [{"warningcode": "2", "message": "user username=no.such.user not exists"}]}
    members = ws_call(server, "core_cohort_get_cohort_members", cohortids=[1])[0]["userids"]
    assert 3 in members


def test_course_create_update_delete(make_sandbox):
    server = make_sandbox()
    created = ws_call(server, "core_course_create_courses", courses=[
        {"fullname": "New", "shortname": "NEW1", "categoryid": 2, "numsections": 3, "enablecompletion": 1}])
    cid = created[0]["id"]
    dup = ws_call(server, "core_course_create_courses", courses=[{"fullname": "Dup", "shortname": "NEW1",
                                                                  "categoryid": 2}])
    assert dup["errorcode"] == "shortnametaken" and dup["message"].endswith("(NEW1)")
    body = ws_call(server, "core_course_update_courses", courses=[{"id": cid, "fullname": "Renamed"},
                                                                 {"id": 999999, "fullname": "x"}])
    assert [w["itemid"] for w in body["warnings"]] == [999999]
    assert len(ws_call(server, "core_course_get_contents", courseid=cid)) == 4
    body = ws_call(server, "core_course_delete_courses", courseids=[cid, 888888])
    assert body["warnings"][0]["warningcode"] == "unknowncourseidnumber"
    assert ws_call(server, "core_course_get_contents", courseid=cid)["errorcode"] == "invalidrecordunknown"


def test_groups_are_all_or_nothing_and_need_enrolment(make_sandbox):
    server = make_sandbox()
    course = ws_call(server, "core_course_create_courses", courses=[
        {"fullname": "G", "shortname": "G1", "categoryid": 2}])[0]["id"]
    groups = ws_call(server, "core_group_create_groups", groups=[
        {"courseid": course, "name": "A", "description": ""}, {"courseid": course, "name": "B", "description": "x"}])
    assert [g["name"] for g in groups] == ["A", "B"] and groups[0]["enrolmentkey"] == ""
    dup = ws_call(server, "core_group_create_groups", groups=[{"courseid": course, "name": "C", "description": ""},
                                                              {"courseid": course, "name": "A", "description": ""}])
    assert dup["errorcode"] == "invalidparameter"
    assert len(ws_call(server, "core_group_get_course_groups", courseid=course)) == 2
    assert ws_call(server, "enrol_manual_enrol_users", enrolments=[
        {"roleid": 5, "userid": 10, "courseid": course}, {"roleid": 5, "userid": 11, "courseid": course,
                                                          "timestart": 1, "suspend": 1}]) is None
    body = ws_call(server, "core_group_add_group_members", members=[
        {"groupid": groups[0]["id"], "userid": 10}, {"groupid": groups[0]["id"], "userid": 12}])
    assert body["errorcode"] == "invalidparameter"
    assert ws_call(server, "core_group_get_group_members", groupids=[groups[0]["id"]])[0]["userids"] == []
    assert ws_call(server, "core_group_add_group_members", members=[
        {"groupid": groups[0]["id"], "userid": 10}, {"groupid": groups[0]["id"], "userid": 11}]) is None
    assert sorted(ws_call(server, "core_group_get_group_members",
                          groupids=[groups[0]["id"]])[0]["userids"]) == [10, 11]
    grouping = ws_call(server, "core_group_create_groupings", groupings=[
        {"courseid": course, "name": "All", "description": ""}])[0]
    assert ws_call(server, "core_group_assign_grouping", assignments=[
        {"groupingid": grouping["id"], "groupid": groups[1]["id"]}]) is None
    got = ws_call(server, "core_group_get_groupings", groupingids=[grouping["id"]], returngroups=1)
    assert [g["id"] for g in got[0]["groups"]] == [groups[1]["id"]]
    active = ws_call(server, "core_enrol_get_enrolled_users", courseid=course,
                     options=[{"name": "onlyactive", "value": "1"}, {"name": "userfields", "value": "id"}])
    assert [u["id"] for u in active] == [10]


def test_manual_enrol_batch_rolls_back_and_needs_instance(make_sandbox):
    server = make_sandbox()
    course = ws_call(server, "core_course_create_courses", courses=[
        {"fullname": "E", "shortname": "E1", "categoryid": 2}])[0]["id"]
    body = ws_call(server, "enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": 10, "courseid": course},
                                                                   {"roleid": 8, "userid": 11, "courseid": course}])
    assert body["errorcode"] == "wsusercannotassign"
    assert ws_call(server, "core_enrol_get_enrolled_users", courseid=course) == []
    with server.store.connection() as conn, server.store.transaction(conn):
        conn.execute("UPDATE enrol SET status = 1 WHERE courseid = ?", (course,))
    body = ws_call(server, "enrol_manual_enrol_users", enrolments=[{"roleid": 5, "userid": 10, "courseid": course}])
    assert body["errorcode"] == "wsnoinstance"


def test_completion_override_and_manual(make_sandbox):
    server = make_sandbox()
    with server.store.connection() as conn:
        row = conn.execute(
            "SELECT cm.id, cm.course, ra.userid FROM course_modules cm JOIN context c ON c.contextlevel = 50 AND"
            " c.instanceid = cm.course JOIN role_assignments ra ON ra.contextid = c.id AND ra.roleid = 5"
            " JOIN user_enrolments ue ON ue.userid = ra.userid AND ue.status = 0 AND ue.timeend = 0"
            " JOIN enrol e ON e.id = ue.enrolid AND e.courseid = cm.course JOIN user u ON u.id = ra.userid"
            " WHERE cm.completion = 1 AND u.suspended = 0 ORDER BY cm.id LIMIT 1").fetchone()
    cmid, course, userid = row
    body = ws_call(server, "core_completion_override_activity_completion_status", userid=userid, cmid=cmid,
                   newstate=1)
    assert body["state"] == 1 and body["overrideby"] == 2 and body["tracking"] == 1
    statuses = ws_call(server, "core_completion_get_activities_completion_status", courseid=course, userid=userid)
    assert {s["cmid"]: s["state"] for s in statuses["statuses"]}[cmid] == 1
    assert ws_call(server, "core_completion_update_activity_completion_status_manually", cmid=cmid,
                   completed=1) == {"status": True, "warnings": []}
    grades = ws_call(server, "gradereport_user_get_grade_items", courseid=course)
    assert grades["usergrades"] and grades["usergrades"][0]["gradeitems"][-1]["itemtype"] == "course"


def test_update_groupings_answers_like_moodle(make_sandbox):
    """core_group_update_groupings: null on success; a blank name, an unknown grouping and a name another
    grouping has are invalid parameters (debuginfo as Moodle's); a taken ID number is idnumbertaken;
    one bad item undoes the whole call."""
    server = make_sandbox()
    server.update_settings(debug=True)
    course = ws_call(server, "core_course_create_courses", courses=[
        {"fullname": "GP", "shortname": "GP1", "categoryid": 2}])[0]["id"]
    labs, talks = ws_call(server, "core_group_create_groupings", groupings=[
        {"courseid": course, "name": "Labs", "description": "", "idnumber": "LAB"},
        {"courseid": course, "name": "Talks", "description": "", "idnumber": "TALK"}])
    assert ws_call(server, "core_group_update_groupings", groupings=[
        {"id": labs["id"], "name": "  Labs 2026 ", "description": "<p>x</p>", "idnumber": " LAB26 "}]) is None
    got = ws_call(server, "core_group_get_groupings", groupingids=[labs["id"]])[0]
    assert (got["name"], got["idnumber"], got["description"]) == ("Labs 2026", "LAB26", "<p>x</p>")
    assert ws_call(server, "core_group_update_groupings", groupings=[  # idnumber not sent: kept
        {"id": labs["id"], "name": "Labs 2026", "description": ""}]) is None
    assert ws_call(server, "core_group_get_groupings", groupingids=[labs["id"]])[0]["idnumber"] == "LAB26"
    for item, code, debuginfo in (
            ({"id": labs["id"], "name": "  ", "description": ""}, "invalidparameter", "Invalid grouping name"),
            ({"id": 999999, "name": "X", "description": ""}, "invalidparameter",
             "Grouping 999999 does not exist in the course"),
            ({"id": labs["id"], "name": "Talks", "description": ""}, "invalidparameter",
             "A different grouping with the same name already exists in the course"),
            ({"id": labs["id"], "name": "Labs", "description": "", "idnumber": "TALK"}, "idnumbertaken", None)):
        body = ws_call(server, "core_group_update_groupings", groupings=[
            {"id": talks["id"], "name": "Talks", "description": "changed"}, item])
        assert body["errorcode"] == code and body.get("debuginfo") == debuginfo, body
        assert ws_call(server, "core_group_get_groupings", groupingids=[talks["id"]])[0]["description"] == ""
    body = ws_call(server, "core_group_update_groupings", groupings=[{"id": labs["id"], "name": "Labs"}])
    assert body["errorcode"] == "invalidparameter"  # the description is required
