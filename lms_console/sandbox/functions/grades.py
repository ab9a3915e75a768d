"""``gradereport_user_get_grade_items``: grade items per user (``userid=0`` = every student)."""

from __future__ import annotations

from .. import errors
from ..context import CONTEXT_COURSE, fullname
from ..registry import ws
from ..validation import DEFAULT, INT, Value
from .common import rows_in


def _num(value):
    if value is None:
        return None
    return int(value) if float(value) == int(value) else round(float(value), 5)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


@ws("gradereport_user_get_grade_items", courseid=Value(INT), userid=Value(INT, DEFAULT, 0),
    groupid=Value(INT, DEFAULT, 0))
def get_grade_items(ctx, courseid, userid, groupid):
    course = ctx.course(courseid)
    ctx.require_login_course(courseid)
    if userid and userid != ctx.userid:
        ctx.require_capability("moodle/grade:viewall")
    elif not userid:
        ctx.require_capability("moodle/grade:viewall")
    coursectx = ctx.context_id(CONTEXT_COURSE, courseid)
    if userid:
        users = ctx.all("SELECT * FROM user WHERE id = ? AND deleted = 0", (userid,))
        if not users:
            raise errors.MissingRecord("user", "SELECT * FROM {user} WHERE id = ? AND deleted = ?", [userid, 0])
    else:
        sql = ("SELECT u.* FROM user u WHERE u.deleted = 0 AND u.id IN (SELECT userid FROM role_assignments"
               " WHERE contextid = ? AND roleid = 5) AND u.id IN (SELECT ue.userid FROM user_enrolments ue"
               " JOIN enrol e ON e.id = ue.enrolid WHERE e.courseid = ?)")
        params = [coursectx, courseid]
        if groupid:
            sql += " AND u.id IN (SELECT userid FROM groups_members WHERE groupid = ?)"
            params.append(groupid)
        users = ctx.all(sql + " ORDER BY u.lastname, u.firstname, u.id", params)
    items = ctx.all("SELECT * FROM grade_items WHERE courseid = ? ORDER BY itemtype = 'course', sortorder, id",
                    (courseid,))
    mod_items = [i for i in items if i["itemtype"] == "mod"]
    course_item = next((i for i in items if i["itemtype"] == "course"), None)
    grades: dict[tuple[int, int], tuple] = {}
    if mod_items and users:
        for r in rows_in(ctx.conn, "SELECT itemid, userid, finalgrade, timemodified FROM grade_grades"
                                   " WHERE userid IN ({ids}) AND itemid IN (%s)" %
                                   ",".join(str(i["id"]) for i in mod_items), [u["id"] for u in users]):
            grades[(r[0], r[1])] = (r[2], r[3])
    usergrades = []
    for user in users:
        graded = [(i, grades.get((i["id"], user["id"]))) for i in mod_items]
        total_max = sum(i["grademax"] for i, g in graded if g and g[0] is not None)
        entries = []
        for item, grade in graded:
            value = grade[0] if grade else None
            weight = (item["grademax"] / total_max) if (value is not None and total_max) else 0
            entry = {"id": item["id"], "itemname": item["itemname"], "itemtype": "mod",
                     "itemmodule": item["itemmodule"], "iteminstance": item["iteminstance"],
                     "itemnumber": item["itemnumber"], "idnumber": item["idnumber"] or "",
                     "categoryid": item["categoryid"], "outcomeid": None, "scaleid": None, "locked": False,
                     "cmid": item["cmid"], "weightraw": _num(round(weight, 5)),
                     "weightformatted": f"{weight * 100:.2f} %"}
            if value is None:
                entry["status"] = "novalue"
            entry.update(_grade_fields(value, grade[1] if grade and value is not None else None, item["grademin"],
                                       item["grademax"]))
            entries.append(entry)
        if course_item is not None:
            values = [g[0] for _i, g in graded if g and g[0] is not None]
            total = sum(values) if values else None
            when = max((g[1] for _i, g in graded if g and g[0] is not None), default=None)
            entry = {"id": course_item["id"], "itemname": None, "itemtype": "course", "itemmodule": None,
                     "iteminstance": course_item["iteminstance"], "itemnumber": None, "idnumber": None,
                     "categoryid": None, "outcomeid": None, "scaleid": None, "locked": False}
            entry.update(_grade_fields(total, when, 0, total_max or course_item["grademax"]))
            entries.append(entry)
        usergrades.append({"courseid": courseid, "courseidnumber": course["idnumber"], "userid": user["id"],
                           "userfullname": fullname(user), "useridnumber": user["idnumber"], "maxdepth": 2,
                           "gradeitems": entries})
    return {"usergrades": usergrades, "warnings": []}


def _grade_fields(value, graded_at, grademin, grademax) -> dict:
    percent = None if value is None or not grademax else (value - grademin) * 100 / (grademax - grademin)
    return {"graderaw": _num(value), "gradedatesubmitted": None, "gradedategraded": graded_at,
            "gradehiddenbydate": False, "gradeneedsupdate": False, "gradeishidden": False, "gradeislocked": False,
            "gradeisoverridden": False, "gradeformatted": _fmt(value), "grademin": _num(grademin),
            "grademax": _num(grademax), "rangeformatted": f"{_num(grademin)}&ndash;{_num(grademax)}",
            "percentageformatted": "-" if percent is None else f"{percent:.2f} %", "feedback": "",
            "feedbackformat": 2}
