"""Course groups and groupings.

``create_groups`` and ``add_group_members`` are all-or-nothing (one
transaction); a member must already be enrolled in the group's course.
"""

from __future__ import annotations

from .. import errors
from ..registry import ws
from ..validation import ALPHANUMEXT, BOOL, DEFAULT, INT, OPTIONAL, RAW, TEXT, Multiple, Single, Value, v_opt
from .common import require_user

_CUSTOM = Multiple(Single({"shortname": Value(ALPHANUMEXT), "value": Value(RAW)}), OPTIONAL)
_PAIR = Single({"groupingid": Value(INT), "groupid": Value(INT)})


def group_out(row) -> dict:
    return {"id": row["id"], "courseid": row["courseid"], "name": row["name"], "description": row["description"] or "",
            "descriptionformat": row["descriptionformat"], "enrolmentkey": row["enrolmentkey"],
            "idnumber": row["idnumber"], "visibility": row["visibility"], "participation": bool(row["participation"])}


def grouping_out(row) -> dict:
    return {"id": row["id"], "courseid": row["courseid"], "name": row["name"],
            "description": row["description"] or "", "descriptionformat": row["descriptionformat"],
            "idnumber": row["idnumber"]}


def _group(ctx, groupid: int):
    row = ctx.one("SELECT * FROM groups WHERE id = ?", (groupid,))
    if row is None:
        raise errors.MissingRecord("groups", "SELECT * FROM {groups} WHERE id = ?", [groupid])
    return row


def _grouping(ctx, groupingid: int):
    row = ctx.one("SELECT * FROM groupings WHERE id = ?", (groupingid,))
    if row is None:
        raise errors.MissingRecord("groupings", "SELECT * FROM {groupings} WHERE id = ?", [groupingid])
    return row


def _manage(ctx, courseid: int) -> None:
    ctx.validate_course_context(courseid)
    ctx.require_capability("moodle/course:managegroups")


@ws("core_group_create_groups", write=True, groups=Multiple(Single({
    "courseid": Value(INT), "name": Value(TEXT), "description": Value(RAW), "descriptionformat": Value(INT, DEFAULT, 1),
    "enrolmentkey": v_opt(RAW), "idnumber": v_opt(RAW), "visibility": v_opt(INT), "participation": v_opt(BOOL),
    "customfields": _CUSTOM})))
def create_groups(ctx, groups):
    out = []
    for group in groups:
        if ctx.one("SELECT 1 FROM groups WHERE courseid = ? AND name = ?", (group["courseid"], group["name"])):
            raise errors.invalid_parameter("Group with the same name already exists in the course")
        _manage(ctx, group["courseid"])
        idnumber = group.get("idnumber") or ""
        if idnumber and ctx.one("SELECT 1 FROM groups WHERE courseid = ? AND idnumber = ?",
                                (group["courseid"], idnumber)):
            raise errors.moodle_exception("idnumbertaken", "This ID number is already taken")
        participation = True if group.get("participation") is None else group["participation"]
        cur = ctx.conn.execute(
            "INSERT INTO groups(courseid, idnumber, name, description, descriptionformat, enrolmentkey, visibility,"
            " participation, timecreated, timemodified) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (group["courseid"], idnumber, group["name"], group["description"], group["descriptionformat"],
             group.get("enrolmentkey") or "", group.get("visibility") or 0, int(participation), ctx.now, ctx.now))
        out.append(group_out(_group(ctx, cur.lastrowid)))
    return out


@ws("core_group_get_course_groups", courseid=Value(INT))
def get_course_groups(ctx, courseid):
    ctx.validate_course_context(courseid)
    return [group_out(r) for r in ctx.all("SELECT * FROM groups WHERE courseid = ? ORDER BY name, id", (courseid,))]


@ws("core_group_get_groups", groupids=Multiple(Value(INT)))
def get_groups(ctx, groupids):
    out = []
    for gid in groupids:
        row = _group(ctx, gid)
        ctx.validate_course_context(row["courseid"])
        out.append(group_out(row))
    return out


@ws("core_group_update_groups", write=True, groups=Multiple(Single({
    "id": Value(INT), "name": Value(TEXT), "description": v_opt(RAW), "descriptionformat": Value(INT, DEFAULT, 1),
    "enrolmentkey": v_opt(RAW), "idnumber": v_opt(RAW), "visibility": v_opt(INT), "participation": v_opt(BOOL),
    "customfields": _CUSTOM})))
def update_groups(ctx, groups):
    for group in groups:
        row = _group(ctx, group["id"])
        if ctx.one("SELECT 1 FROM groups WHERE courseid = ? AND name = ? AND id <> ?",
                   (row["courseid"], group["name"], row["id"])):
            raise errors.invalid_parameter("A different group with the same name already exists in the course")
        _manage(ctx, row["courseid"])
        sets = {"name": group["name"], "descriptionformat": group["descriptionformat"], "timemodified": ctx.now}
        for key in ("description", "enrolmentkey", "idnumber", "visibility"):
            if group.get(key) is not None:
                sets[key] = group[key]
        if group.get("participation") is not None:
            sets["participation"] = int(group["participation"])
        ctx.conn.execute(f"UPDATE groups SET {', '.join(k + ' = ?' for k in sets)} WHERE id = ?",
                         (*sets.values(), row["id"]))
    return None


@ws("core_group_delete_groups", write=True, groupids=Multiple(Value(INT)))
def delete_groups(ctx, groupids):
    for gid in groupids:
        row = ctx.one("SELECT * FROM groups WHERE id = ?", (gid,))
        if row is None:
            continue  # Moodle silently ignores groups that do not exist
        _manage(ctx, row["courseid"])
        for sql in ("DELETE FROM groups_members WHERE groupid = ?", "DELETE FROM groupings_groups WHERE groupid = ?",
                    "DELETE FROM groups WHERE id = ?"):
            ctx.conn.execute(sql, (gid,))
    return None


@ws("core_group_get_group_members", groupids=Multiple(Value(INT)))
def get_group_members(ctx, groupids):
    out = []
    for gid in groupids:
        row = _group(ctx, gid)
        ctx.validate_course_context(row["courseid"])
        userids = [r[0] for r in ctx.all("SELECT gm.userid FROM groups_members gm JOIN user u ON u.id = gm.userid"
                                         " WHERE gm.groupid = ? AND u.deleted = 0 ORDER BY gm.id DESC", (gid,))]
        out.append({"groupid": gid, "userids": userids})
    return out


@ws("core_group_add_group_members", write=True,
    members=Multiple(Single({"groupid": Value(INT), "userid": Value(INT)})))
def add_group_members(ctx, members):
    for member in members:
        group = _group(ctx, member["groupid"])
        require_user(ctx, member["userid"])
        _manage(ctx, group["courseid"])
        if not ctx.is_enrolled(group["courseid"], member["userid"], active=False):
            raise errors.invalid_parameter("Only enrolled users may be members of groups")
        ctx.conn.execute("INSERT INTO groups_members(groupid, userid, timeadded) VALUES (?,?,?)"
                         " ON CONFLICT(groupid, userid) DO NOTHING", (group["id"], member["userid"], ctx.now))
    return None


@ws("core_group_delete_group_members", write=True,
    members=Multiple(Single({"groupid": Value(INT), "userid": Value(INT)})))
def delete_group_members(ctx, members):
    for member in members:
        group = _group(ctx, member["groupid"])
        require_user(ctx, member["userid"])
        _manage(ctx, group["courseid"])
        ctx.conn.execute("DELETE FROM groups_members WHERE groupid = ? AND userid = ?",
                         (group["id"], member["userid"]))
    return None


@ws("core_group_create_groupings", write=True, groupings=Multiple(Single({
    "courseid": Value(INT), "name": Value(TEXT), "description": Value(RAW), "descriptionformat": Value(INT, DEFAULT, 1),
    "idnumber": v_opt(RAW), "customfields": _CUSTOM})))
def create_groupings(ctx, groupings):
    out = []
    for grouping in groupings:
        if ctx.one("SELECT 1 FROM groupings WHERE courseid = ? AND name = ?", (grouping["courseid"], grouping["name"])):
            raise errors.invalid_parameter("Grouping with the same name already exists in the course")
        _manage(ctx, grouping["courseid"])
        cur = ctx.conn.execute(
            "INSERT INTO groupings(courseid, name, idnumber, description, descriptionformat, timecreated, timemodified)"
            " VALUES (?,?,?,?,?,?,?)", (grouping["courseid"], grouping["name"], grouping.get("idnumber") or "",
                                        grouping["description"], grouping["descriptionformat"], ctx.now, ctx.now))
        out.append(grouping_out(_grouping(ctx, cur.lastrowid)))
    return out


@ws("core_group_update_groupings", write=True, groupings=Multiple(Single({
    "id": Value(INT), "name": Value(TEXT), "description": Value(RAW), "descriptionformat": Value(INT, DEFAULT, 1),
    "idnumber": v_opt(RAW), "customfields": _CUSTOM})))
def update_groupings(ctx, groupings):
    """As Moodle's core_group_external::update_groupings: a blank name, an unknown grouping and a name
    another grouping of the course has are invalid parameters; groups_update_grouping() then trims the
    name and the ID number and refuses an ID number another grouping of the course uses. The
    description is required (and always written), the ID number only when sent. Answers null."""
    for grouping in groupings:
        if not grouping["name"].strip():
            raise errors.invalid_parameter("Invalid grouping name")
        row = ctx.one("SELECT * FROM groupings WHERE id = ?", (grouping["id"],))
        if row is None:
            raise errors.invalid_parameter(f"Grouping {grouping['id']} does not exist in the course")
        if grouping["name"] != row["name"] and ctx.one("SELECT 1 FROM groupings WHERE courseid = ? AND name = ?",
                                                       (row["courseid"], grouping["name"])):
            raise errors.invalid_parameter("A different grouping with the same name already exists in the course")
        _manage(ctx, row["courseid"])
        sets = {"name": grouping["name"].strip(), "description": grouping["description"],
                "descriptionformat": grouping["descriptionformat"], "timemodified": ctx.now}
        if grouping.get("idnumber") is not None:
            idnumber = grouping["idnumber"].strip()
            if idnumber and ctx.one("SELECT 1 FROM groupings WHERE courseid = ? AND idnumber = ? AND id <> ?",
                                    (row["courseid"], idnumber, row["id"])):
                raise errors.moodle_exception("idnumbertaken", "This ID number is already taken")
            sets["idnumber"] = idnumber
        ctx.conn.execute(f"UPDATE groupings SET {', '.join(k + ' = ?' for k in sets)} WHERE id = ?",
                         (*sets.values(), row["id"]))
    return None


@ws("core_group_delete_groupings", write=True, groupingids=Multiple(Value(INT)))
def delete_groupings(ctx, groupingids):
    for gid in groupingids:
        row = ctx.one("SELECT * FROM groupings WHERE id = ?", (gid,))
        if row is None:
            continue
        _manage(ctx, row["courseid"])
        ctx.conn.execute("DELETE FROM groupings_groups WHERE groupingid = ?", (gid,))
        ctx.conn.execute("DELETE FROM groupings WHERE id = ?", (gid,))
    return None


@ws("core_group_get_course_groupings", courseid=Value(INT))
def get_course_groupings(ctx, courseid):
    ctx.validate_course_context(courseid)
    return [grouping_out(r) for r in ctx.all("SELECT * FROM groupings WHERE courseid = ? ORDER BY name, id",
                                             (courseid,))]


@ws("core_group_get_groupings", groupingids=Multiple(Value(INT)), returngroups=Value(BOOL, DEFAULT, False))
def get_groupings(ctx, groupingids, returngroups):
    out = []
    for gid in groupingids:
        row = _grouping(ctx, gid)
        ctx.validate_course_context(row["courseid"])
        entry = grouping_out(row)
        if returngroups:
            entry["groups"] = [group_out(g) for g in ctx.all(
                "SELECT g.* FROM groups g JOIN groupings_groups gg ON gg.groupid = g.id WHERE gg.groupingid = ?"
                " ORDER BY g.name, g.id", (gid,))]
        out.append(entry)
    return out


@ws("core_group_assign_grouping", write=True, assignments=Multiple(_PAIR))
def assign_grouping(ctx, assignments):
    for pair in assignments:
        grouping = _grouping(ctx, pair["groupingid"])
        group = _group(ctx, pair["groupid"])
        _manage(ctx, grouping["courseid"])
        if group["courseid"] != grouping["courseid"]:
            raise errors.invalid_parameter("Group and grouping are not in the same course")
        ctx.conn.execute("INSERT INTO groupings_groups(groupingid, groupid, timeadded) VALUES (?,?,?)"
                         " ON CONFLICT(groupingid, groupid) DO NOTHING", (grouping["id"], group["id"], ctx.now))
    return None


@ws("core_group_unassign_grouping", write=True, unassignments=Multiple(_PAIR))
def unassign_grouping(ctx, unassignments):
    for pair in unassignments:
        grouping = _grouping(ctx, pair["groupingid"])
        _group(ctx, pair["groupid"])
        _manage(ctx, grouping["courseid"])
        ctx.conn.execute("DELETE FROM groupings_groups WHERE groupingid = ? AND groupid = ?",
                         (pair["groupingid"], pair["groupid"]))
    return None
