"""Enrolment functions: enrolled users (paged), a user's courses, enrolment methods, manual (un)enrol."""

from __future__ import annotations

from .. import errors
from ..context import (
    CONTEXT_COURSE,
    CONTEXT_COURSECAT,
    CONTEXT_MODULE,
    CONTEXT_SYSTEM,
    CONTEXT_USER,
    SITEID,
)
from ..registry import ws
from ..validation import (
    ALPHA,
    ALPHANUMEXT,
    BOOL,
    DEFAULT,
    INT,
    RAW,
    Multiple,
    Single,
    Value,
    v_opt,
)
from .common import rows_in, user_details
from .coursecommon import course_image

ENROLLED_FIELDS = ["id", "username", "firstname", "lastname", "fullname", "email", "address", "phone1", "phone2",
                   "department", "institution", "idnumber", "interests", "firstaccess", "lastaccess",
                   "lastcourseaccess", "description", "descriptionformat", "city", "country", "profileimageurlsmall",
                   "profileimageurl", "customfields", "groups", "roles", "preferences", "enrolledcourses"]
ASSIGNABLE_ROLES = {1, 3, 4, 5}
ROLE_NAMES = {1: "manager", 2: "coursecreator", 3: "editingteacher", 4: "teacher", 5: "student", 6: "guest",
              7: "user", 8: "frontpage"}


def active_sql(alias: str = "ue") -> str:
    return (f"{alias}.status = 0 AND e.status = 0 AND ({alias}.timestart = 0 OR {alias}.timestart <= :now)"
            f" AND ({alias}.timeend = 0 OR {alias}.timeend > :now)")


def _course_context_check(ctx, courseid: int):
    course = ctx.course(courseid)
    ctx.validate_course_context(courseid)
    return course


@ws("core_enrol_get_enrolled_users", courseid=Value(INT),
    options=Multiple(Single({"name": Value(ALPHANUMEXT), "value": Value(RAW)}), DEFAULT, []))
def get_enrolled_users(ctx, courseid, options):
    opts = {"groupid": 0, "onlyactive": False, "onlysuspended": False, "userfields": None, "limitfrom": 0,
            "limitnumber": 0, "sortby": "id", "sortdirection": "ASC"}
    for option in options:
        name, value = option["name"].lower(), option["value"]
        if name in ("groupid", "limitfrom", "limitnumber"):
            opts[name] = int(value) if value.strip().lstrip("-").isdigit() else 0
        elif name in ("onlyactive", "onlysuspended"):
            opts[name] = value.strip() not in ("", "0", "false")
        elif name == "userfields":
            opts[name] = [f.strip() for f in value.split(",") if f.strip()]
        elif name in ("sortby", "sortdirection", "withcapability"):
            opts[name] = value.strip()
        else:
            raise errors.moodle_exception("invalidextparam", f"Invalid external api parameter: {option['name']}")
    course = _course_context_check(ctx, courseid)
    if opts["onlyactive"] and opts["onlysuspended"]:
        raise errors.moodle_exception("bothonlyactiveandonlysuspended",
                                      "Cannot return only active and only suspended users at the same time")
    if opts["sortby"] not in ("id", "firstname", "lastname", "siteorder"):
        raise errors.invalid_parameter("Invalid sort parameter")
    if opts["sortdirection"].upper() not in ("ASC", "DESC"):
        raise errors.invalid_parameter("Invalid sort direction parameter")
    if opts["userfields"]:
        for field in opts["userfields"]:
            if field not in ENROLLED_FIELDS:
                raise errors.moodle_exception("invaliduserfield", f"The user field {field} is invalid")
    params = {"course": courseid, "now": ctx.now}
    enrolled = "SELECT ue.userid FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid WHERE e.courseid = :course"
    where = [f"u.id IN ({enrolled}{' AND ' + active_sql() if opts['onlyactive'] else ''})", "u.deleted = 0"]
    if opts["onlysuspended"]:
        where.append(f"u.id NOT IN ({enrolled} AND {active_sql()})")
    if opts["groupid"]:
        group = ctx.one("SELECT courseid FROM groups WHERE id = ?", (opts["groupid"],))
        if group is None or group["courseid"] != courseid:
            raise errors.moodle_exception("invalidgroupid", "Invalid group ID")
        where.append("u.id IN (SELECT userid FROM groups_members WHERE groupid = :groupid)")
        params["groupid"] = opts["groupid"]
    direction = opts["sortdirection"].upper()
    order = {"id": f"u.id {direction}", "firstname": f"u.firstname {direction}, u.id",
             "lastname": f"u.lastname {direction}, u.id",
             "siteorder": f"u.lastname {direction}, u.firstname {direction}, u.id"}[opts["sortby"]]
    sql = f"SELECT u.* FROM user u WHERE {' AND '.join(where)} ORDER BY {order}"
    if opts["limitnumber"] > 0:
        sql += " LIMIT :limit OFFSET :offset"
        params.update(limit=opts["limitnumber"], offset=max(opts["limitfrom"], 0))
    elif opts["limitfrom"] > 0:
        sql += " LIMIT -1 OFFSET :offset"
        params["offset"] = opts["limitfrom"]
    users = ctx.all(sql, params)
    return _enrolled_details(ctx, course, users, opts["userfields"])


def _enrolled_details(ctx, course, users, userfields) -> list[dict]:
    if not users:
        return []
    ids = [u["id"] for u in users]
    courseid = course["id"]
    coursectx = ctx.context_id(CONTEXT_COURSE, courseid)
    access = {r[0]: r[1] for r in rows_in(
        ctx.conn, "SELECT userid, timeaccess FROM user_lastaccess WHERE userid IN ({ids}) AND courseid = ?",
        ids, (courseid,))}
    groups: dict[int, list] = {}
    for r in rows_in(ctx.conn, "SELECT gm.userid, g.id, g.name, g.description FROM groups_members gm JOIN groups g"
                               " ON g.id = gm.groupid WHERE gm.userid IN ({ids}) AND g.courseid = ? ORDER BY g.name",
                     ids, (courseid,)):
        groups.setdefault(r[0], []).append({"id": r[1], "name": r[2],
                                            "description": f'<div class="text_to_html">{r[3] or ""}</div>',
                                            "descriptionformat": 0})
    roles: dict[int, list] = {}
    for r in rows_in(ctx.conn, "SELECT userid, roleid FROM role_assignments WHERE userid IN ({ids})"
                               " AND contextid = ? ORDER BY roleid", ids, (coursectx,)):
        roles.setdefault(r[0], []).append({"roleid": r[1], "name": "", "shortname": ROLE_NAMES.get(r[1], ""),
                                           "sortorder": 0})
    courses: dict[int, list] = {}
    for r in rows_in(ctx.conn, "SELECT DISTINCT ue.userid, c.id, c.fullname, c.shortname FROM user_enrolments ue"
                               " JOIN enrol e ON e.id = ue.enrolid JOIN course c ON c.id = e.courseid"
                               " WHERE ue.userid IN ({ids}) AND " + active_sql().replace(":now", "?") + " ORDER BY c.visible DESC, c.sortorder",
                     ids, (ctx.now, ctx.now)):
        courses.setdefault(r[0], []).append({"id": r[1], "fullname": r[2], "shortname": r[3]})
    details = user_details(ctx, users, course_variant=True)
    wanted = set(userfields or ENROLLED_FIELDS) | {"id", "fullname", "phone1"}
    out = []
    for d in details:
        uid = d["id"]
        full = {}
        for key, value in d.items():
            full[key] = value
            if key == "lastaccess":
                full["lastcourseaccess"] = access.get(uid, 0)
        if uid in groups:
            full["groups"] = groups[uid]
        full["roles"] = roles.get(uid, [])
        if uid in courses:
            full["enrolledcourses"] = courses[uid]
        out.append({k: v for k, v in full.items() if k in wanted})
    return out


@ws("core_enrol_get_users_courses", userid=Value(INT), returnusercount=Value(BOOL, DEFAULT, True))
def get_users_courses(ctx, userid, returnusercount):
    if not ctx.is_admin and userid != ctx.userid:
        return []
    rows = ctx.all("SELECT DISTINCT c.* FROM course c JOIN enrol e ON e.courseid = c.id JOIN user_enrolments ue"
                   f" ON ue.enrolid = e.id WHERE ue.userid = :user AND c.id <> {SITEID} AND {active_sql()}"
                   " ORDER BY c.visible DESC, c.sortorder", {"user": userid, "now": ctx.now})
    out = []
    for c in rows:
        cid = c["id"]
        criteria = [r[0] for r in ctx.all("SELECT moduleinstance FROM course_completion_criteria WHERE course = ?"
                                          " AND criteriatype = 4", (cid,))]
        progress = None
        if c["enablecompletion"]:
            tracked = [r[0] for r in ctx.all("SELECT id FROM course_modules WHERE course = ? AND completion > 0",
                                             (cid,))]
            if tracked:
                done = ctx.one(f"SELECT COUNT(*) FROM course_modules_completion WHERE userid = ? AND completionstate"
                               f" > 0 AND coursemoduleid IN ({','.join('?' * len(tracked))})",
                               (userid, *tracked))[0]
                value = done * 100 / len(tracked)
                progress = int(value) if value == int(value) else value
        completion = ctx.one("SELECT timecompleted FROM course_completions WHERE userid = ? AND course = ?",
                             (userid, cid))
        last = ctx.one("SELECT timeaccess FROM user_lastaccess WHERE userid = ? AND courseid = ?", (userid, cid))
        entry = {"id": cid, "shortname": c["shortname"], "fullname": c["fullname"], "displayname": c["fullname"]}
        if returnusercount:
            entry["enrolledusercount"] = ctx.server.cached(("enrolledusercount", cid), lambda cid=cid: ctx.one(
                f"SELECT COUNT(DISTINCT ue.userid) FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid"
                f" WHERE e.courseid = :course AND {active_sql()}", {"course": cid, "now": ctx.now})[0])
        entry.update({
            "idnumber": c["idnumber"], "visible": c["visible"], "summary": c["summary"] or "",
            "summaryformat": c["summaryformat"], "format": c["format"],
            "courseimage": course_image(ctx, ctx.context_id(CONTEXT_COURSE, cid)), "showgrades": bool(c["showgrades"]),
            "lang": c["lang"], "enablecompletion": bool(c["enablecompletion"]), "completionhascriteria": bool(criteria),
            "completionusertracked": True, "category": c["category"], "progress": progress,
            "completed": bool(completion and completion[0]), "startdate": c["startdate"], "enddate": c["enddate"],
            "marker": c["marker"], "lastaccess": last[0] if last else None, "isfavourite": False, "hidden": False,
            "overviewfiles": [], "showactivitydates": True, "showcompletionconditions": True,
            "timemodified": c["timemodified"]})
        out.append(entry)
    return out


@ws("core_enrol_get_course_enrolment_methods", courseid=Value(INT))
def get_course_enrolment_methods(ctx, courseid):
    ctx.course(courseid)
    names = {"self": "Self enrolment (Student)", "guest": "Guest access"}
    out = []
    for row in ctx.all("SELECT * FROM enrol WHERE courseid = ? AND status = 0 AND enrol IN ('self', 'guest')"
                       " ORDER BY sortorder", (courseid,)):
        out.append({"id": row["id"], "courseid": courseid, "type": row["enrol"], "name": row["name"] or
                    names[row["enrol"]], "status": True, "wsfunction": f"enrol_{row['enrol']}_get_instance_info"})
    return out


def _manual_instance(ctx, courseid: int):
    row = ctx.one("SELECT * FROM enrol WHERE courseid = ? AND enrol = 'manual' AND status = 0 ORDER BY id",
                  (courseid,))
    if row is None:
        raise errors.moodle_exception(
            "wsnoinstance", "Manual enrolment plugin instance doesn't exist or is disabled for the course "
                            f"(id = {courseid})")
    return row


def _validate_course(ctx, courseid: int) -> int:
    coursectx = ctx.context_id(CONTEXT_COURSE, courseid)
    if coursectx is None:
        raise errors.invalid_parameter("Context does not exist")
    ctx.require_login_course(courseid)
    ctx.require_capability("enrol/manual:enrol")
    return coursectx


@ws("enrol_manual_enrol_users", write=True, enrolments=Multiple(Single({
    "roleid": Value(INT), "userid": Value(INT), "courseid": Value(INT), "timestart": v_opt(INT),
    "timeend": v_opt(INT), "suspend": v_opt(INT)})))
def manual_enrol_users(ctx, enrolments):
    for item in enrolments:
        coursectx = _validate_course(ctx, item["courseid"])
        if item["roleid"] not in ASSIGNABLE_ROLES:
            raise errors.moodle_exception(
                "wsusercannotassign", f"You don't have the permission to assign this role ({item['roleid']}) to this"
                                      f" user ({item['userid']}) in this course({item['courseid']}).")
        instance = _manual_instance(ctx, item["courseid"])
        if ctx.one("SELECT 1 FROM user WHERE id = ? AND deleted = 0", (item["userid"],)) is None:
            raise errors.coding_error("User ID does not exist or is deleted!")
        status = 1 if item.get("suspend") else 0
        existing = ctx.one("SELECT * FROM user_enrolments WHERE enrolid = ? AND userid = ?",
                           (instance["id"], item["userid"]))
        if existing is None:
            ctx.conn.execute("INSERT INTO user_enrolments(status, enrolid, userid, timestart, timeend, timecreated,"
                             " timemodified) VALUES (?,?,?,?,?,?,?)",
                             (status, instance["id"], item["userid"], item.get("timestart") or 0,
                              item.get("timeend") or 0, ctx.now, ctx.now))
        else:
            # As Moodle's enrol_users(): dates not sent are 0 and the status is active unless suspend is
            # sent, and enrol_user() writes them over an existing enrolment's.
            ctx.conn.execute("UPDATE user_enrolments SET timestart = ?, timeend = ?, status = ?, timemodified = ? "
                             "WHERE id = ?", (item.get("timestart") or 0, item.get("timeend") or 0, status, ctx.now,
                                              existing["id"]))
        if not ctx.one("SELECT 1 FROM role_assignments WHERE roleid = ? AND contextid = ? AND userid = ?",
                       (item["roleid"], coursectx, item["userid"])):
            ctx.conn.execute("INSERT INTO role_assignments(roleid, contextid, userid, timemodified) VALUES (?,?,?,?)",
                             (item["roleid"], coursectx, item["userid"], ctx.now))
    return None


@ws("enrol_manual_unenrol_users", write=True, enrolments=Multiple(Single({
    "userid": Value(INT), "courseid": Value(INT), "roleid": v_opt(INT)})))
def manual_unenrol_users(ctx, enrolments):
    for item in enrolments:
        instance = _manual_instance(ctx, item["courseid"])
        coursectx = _validate_course(ctx, item["courseid"])
        if ctx.one("SELECT 1 FROM user WHERE id = ? AND deleted = 0", (item["userid"],)) is None:
            raise errors.invalid_parameter(f"User id not exist: {item['userid']}")
        ctx.conn.execute("DELETE FROM user_enrolments WHERE enrolid = ? AND userid = ?",
                         (instance["id"], item["userid"]))
        others = ctx.one("SELECT 1 FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid WHERE e.courseid = ?"
                         " AND ue.userid = ?", (item["courseid"], item["userid"]))
        # Moodle's unenrol_users() ignores roleid: the last enrolment takes every role and group with it,
        # another one left keeps them (manual roles are not the plugin's own).
        if others is None:
            ctx.conn.execute("DELETE FROM role_assignments WHERE contextid = ? AND userid = ?",
                             (coursectx, item["userid"]))
            ctx.conn.execute("DELETE FROM groups_members WHERE userid = ? AND groupid IN (SELECT id FROM groups"
                             " WHERE courseid = ?)", (item["userid"], item["courseid"]))
    return None


CONTEXT_LEVELS = {"system": CONTEXT_SYSTEM, "user": CONTEXT_USER, "coursecat": CONTEXT_COURSECAT,
                  "course": CONTEXT_COURSE, "module": CONTEXT_MODULE, "block": 80}


def _context_from_params(ctx, item) -> int:
    """``external_api::get_context_from_params`` then ``validate_context``: the context's id."""
    if item.get("contextid"):
        row = ctx.one("SELECT id FROM context WHERE id = ?", (item["contextid"],))
    elif item.get("contextlevel") and item.get("instanceid") is not None:
        level = CONTEXT_LEVELS.get(item["contextlevel"])
        if level is None:
            raise errors.invalid_parameter(f"Invalid context level = {item['contextlevel']}")
        row = ctx.one("SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?", (level, item["instanceid"]))
    else:
        raise errors.invalid_parameter("Missing parameters, please provide either context level with instance id "
                                       "or contextid")
    if row is None:
        raise errors.invalid_parameter("Context does not exist")
    return row[0]


@ws("core_role_unassign_roles", write=True, unassignments=Multiple(Single({
    "roleid": Value(INT), "userid": Value(INT), "contextid": v_opt(INT), "contextlevel": v_opt(ALPHA),
    "instanceid": v_opt(INT)})))
def unassign_roles(ctx, unassignments):
    """``core_role_external::unassign_roles``: role_unassign() of each role; enrolments stay as they are."""
    for item in unassignments:
        contextid = _context_from_params(ctx, item)
        ctx.require_capability("moodle/role:assign")
        if item["roleid"] not in ASSIGNABLE_ROLES:
            raise errors.invalid_parameter(f"Can not unassign roleid={item['roleid']} in contextid="
                                           f"{item.get('contextid') or ''}")
        ctx.conn.execute("DELETE FROM role_assignments WHERE roleid = ? AND contextid = ? AND userid = ?",
                         (item["roleid"], contextid, item["userid"]))
    return None
