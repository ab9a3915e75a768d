"""Course and activity completion: status reads, manual completion (own user) and overrides."""

from __future__ import annotations

from .. import errors
from ..context import CONTEXT_COURSE
from ..registry import ws
from ..validation import BOOL, INT, Value
from .common import require_user
from .coursecommon import get_cm

VIEW_WORD = {"page": "page", "url": "url", "resource": "file", "folder": "folder"}


def is_tracked(ctx, courseid: int, userid: int) -> bool:
    """Tracked = actively enrolled with the student role."""
    coursectx = ctx.context_id(CONTEXT_COURSE, courseid)
    return ctx.is_enrolled(courseid, userid) and ctx.one(
        "SELECT 1 FROM role_assignments WHERE contextid = ? AND userid = ? AND roleid = 5", (coursectx, userid)) \
        is not None


def update_course_completion(conn, courseid: int, userid: int, now: int) -> None:
    """Aggregate the criteria (ALL): complete the course when every criterion is met, reopen otherwise."""
    remaining = conn.execute(
        "SELECT COUNT(*) FROM course_completion_criteria WHERE course = ? AND criteriatype = 4 AND moduleinstance NOT IN"
        " (SELECT coursemoduleid FROM course_modules_completion WHERE userid = ? AND completionstate > 0)",
        (courseid, userid)).fetchone()[0]
    total = conn.execute("SELECT COUNT(*) FROM course_completion_criteria WHERE course = ?", (courseid,)).fetchone()[0]
    conn.execute("INSERT INTO course_completions(userid, course, timeenrolled, timestarted) VALUES (?,?,?,?)"
                 " ON CONFLICT(userid, course) DO NOTHING", (userid, courseid, now, now))
    if total and remaining == 0:
        conn.execute("UPDATE course_completions SET timecompleted = ? WHERE userid = ? AND course = ?"
                     " AND timecompleted IS NULL", (now, userid, courseid))
    else:
        conn.execute("UPDATE course_completions SET timecompleted = NULL WHERE userid = ? AND course = ?",
                     (userid, courseid))


def _course_for_completion(ctx, courseid: int):
    course = ctx.course(courseid)
    ctx.require_login_course(courseid)
    if not course["enablecompletion"]:
        raise errors.moodle_exception("completionnotenabled", "Completion is not enabled")
    return course


def _requirement(modname: str, completion: int) -> str:
    if completion == 2:
        return f"Viewing the {VIEW_WORD.get(modname, modname)}"
    return "Marking yourself complete"


@ws("core_completion_get_course_completion_status", courseid=Value(INT), userid=Value(INT))
def get_course_completion_status(ctx, courseid, userid):
    _course_for_completion(ctx, courseid)
    user = require_user(ctx, userid)
    if user["suspended"]:
        raise errors.moodle_exception("suspended", "Your account has been suspended")
    if not is_tracked(ctx, courseid, userid):
        raise errors.moodle_exception("nottracked", "You are currently not being tracked by completion in this course")
    if not ctx.is_admin and userid != ctx.userid:
        raise errors.moodle_exception("cannotviewreport", "You cannot view this report")
    criteria = ctx.all("SELECT cr.moduleinstance AS cmid, cm.modname, cm.completion, mi.name FROM"
                       " course_completion_criteria cr JOIN course_modules cm ON cm.id = cr.moduleinstance"
                       " JOIN modinstance mi ON mi.modname = cm.modname AND mi.id = cm.instance"
                       " WHERE cr.course = ? AND cr.criteriatype = 4 ORDER BY cr.id", (courseid,))
    if not criteria:
        raise errors.moodle_exception("nocriteriaset", "No completion criteria set for this course")
    states = {r[0]: r for r in ctx.all("SELECT coursemoduleid, completionstate, timemodified FROM"
                                       " course_modules_completion WHERE userid = ?  AND coursemoduleid IN"
                                       " (SELECT id FROM course_modules WHERE course = ?)", (userid, courseid))}
    completions = []
    for c in criteria:
        state = states.get(c["cmid"])
        done = bool(state and state[1] > 0)
        completions.append({
            "type": 4, "title": "Activity completion", "status": "Yes" if done else "No", "complete": done,
            "timecompleted": state[2] if done else None,
            "details": {"type": "Activity completion",
                        "criteria": f'<a href="{ctx.site_url}/mod/{c["modname"]}/view.php?id={c["cmid"]}">'
                                    f'{c["name"]}</a>',
                        "requirement": _requirement(c["modname"], c["completion"]), "status": ""}})
    row = ctx.one("SELECT timecompleted FROM course_completions WHERE userid = ? AND course = ?", (userid, courseid))
    return {"completionstatus": {"completed": bool(row and row[0]), "aggregation": 1, "completions": completions},
            "warnings": []}


@ws("core_completion_get_activities_completion_status", courseid=Value(INT), userid=Value(INT))
def get_activities_completion_status(ctx, courseid, userid):
    ctx.course(courseid)
    ctx.require_login_course(courseid)
    require_user(ctx, userid)
    if not ctx.is_admin and userid != ctx.userid:
        raise errors.moodle_exception("cannotviewreport", "You cannot view this report")
    tracked = is_tracked(ctx, courseid, userid)
    cms = ctx.all("SELECT * FROM course_modules WHERE course = ? AND completion > 0 AND deletioninprogress = 0"
                  " ORDER BY id", (courseid,))
    states = {r["coursemoduleid"]: r for r in ctx.all(
        "SELECT * FROM course_modules_completion WHERE userid = ? AND coursemoduleid IN"
        " (SELECT id FROM course_modules WHERE course = ?)", (userid, courseid))}
    statuses = []
    for cm in cms:
        row = states.get(cm["id"])
        state = row["completionstate"] if row else 0
        automatic = cm["completion"] == 2
        statuses.append({
            "cmid": cm["id"], "modname": cm["modname"], "instance": cm["instance"], "state": state,
            "timecompleted": row["timemodified"] if row and state else 0, "tracking": cm["completion"],
            "overrideby": row["overrideby"] if row else None, "valueused": False, "hascompletion": True,
            "isautomatic": automatic, "istrackeduser": tracked, "uservisible": True,
            "details": [{"rulename": "completionview", "rulevalue": {"status": 1 if state else 0,
                                                                     "description": "View"}}] if automatic else [],
            "isoverallcomplete": bool(state)})
    return {"statuses": statuses, "warnings": []}


@ws("core_completion_override_activity_completion_status", write=True, userid=Value(INT), cmid=Value(INT),
    newstate=Value(INT))
def override_activity_completion_status(ctx, userid, cmid, newstate):
    cm = get_cm(ctx, cmid)
    ctx.require_login_course(cm["course"])
    ctx.require_capability("moodle/course:overridecompletion")
    require_user(ctx, userid)
    if newstate not in (0, 1):
        raise errors.invalid_parameter("Invalid completion state")
    if not cm["completion"]:
        raise errors.moodle_exception("nocompletiontracking", "Completion tracking is not enabled for this activity")
    if not is_tracked(ctx, cm["course"], userid):
        raise errors.moodle_exception("nottracked", "You are currently not being tracked by completion in this course")
    ctx.conn.execute("INSERT INTO course_modules_completion(coursemoduleid, userid, completionstate, overrideby,"
                     " timemodified) VALUES (?,?,?,?,?) ON CONFLICT(userid, coursemoduleid) DO UPDATE SET"
                     " completionstate = excluded.completionstate, overrideby = excluded.overrideby,"
                     " timemodified = excluded.timemodified", (cmid, userid, newstate, ctx.userid, ctx.now))
    update_course_completion(ctx.conn, cm["course"], userid, ctx.now)
    return {"cmid": cmid, "userid": userid, "state": newstate, "timecompleted": ctx.now, "overrideby": ctx.userid,
            "tracking": cm["completion"]}


@ws("core_completion_update_activity_completion_status_manually", write=True, cmid=Value(INT),
    completed=Value(BOOL))
def update_activity_completion_status_manually(ctx, cmid, completed):
    cm = get_cm(ctx, cmid)
    ctx.require_login_course(cm["course"])
    if cm["completion"] != 1:
        raise errors.moodle_exception("cannotmanualctrack", "Activity does not provide manual completion tracking")
    # Only ever the token's own user: another user's state needs the override function.
    if is_tracked(ctx, cm["course"], ctx.userid):
        ctx.conn.execute("INSERT INTO course_modules_completion(coursemoduleid, userid, completionstate, overrideby,"
                         " timemodified) VALUES (?,?,?,NULL,?) ON CONFLICT(userid, coursemoduleid) DO UPDATE SET"
                         " completionstate = excluded.completionstate, overrideby = NULL,"
                         " timemodified = excluded.timemodified", (cmid, ctx.userid, int(completed), ctx.now))
        update_course_completion(ctx.conn, cm["course"], ctx.userid, ctx.now)
    return {"status": True, "warnings": []}
