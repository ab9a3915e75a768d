"""Cohort functions (site-wide and category groups of users).

``add_cohort_members`` reports unknown cohorts/users and existing members as
warnings (codes 1, 2, 3) instead of failing; everything else that goes wrong
fails the whole call, which runs in one transaction.
"""

from __future__ import annotations

from .. import errors
from ..context import CONTEXT_COURSECAT, CAPABILITY_NAMES
from ..registry import ws
from ..validation import (ALPHA, ALPHANUM, ALPHANUMEXT, BOOL, DEFAULT, INT, OPTIONAL, RAW, THEME, Multiple, Single,
                          Value, v_opt)

_TYPE = Single({"type": Value(ALPHANUMEXT), "value": Value(RAW)})
_CUSTOM = Multiple(Single({"shortname": Value(ALPHANUMEXT), "value": Value(RAW)}), OPTIONAL)


def _cohort_out(row, customfields: bool = True) -> dict:
    out = {"id": row["id"], "name": row["name"], "idnumber": row["idnumber"] or "",
           "description": row["description"] or "", "descriptionformat": row["descriptionformat"],
           "visible": bool(row["visible"]), "theme": row["theme"] or ""}
    if customfields:
        out["customfields"] = []
    return out


def _get_cohort(ctx, cohortid: int):
    row = ctx.one("SELECT * FROM cohort WHERE id = ?", (cohortid,))
    if row is None:
        raise errors.MissingRecord("cohort", "SELECT * FROM {cohort} WHERE id = ?", [cohortid])
    return row


@ws("core_cohort_get_cohorts", cohortids=Multiple(Value(INT), DEFAULT, []))
def get_cohorts(ctx, cohortids):
    if not cohortids:
        rows = ctx.all("SELECT * FROM cohort ORDER BY id")
    else:
        rows = [_get_cohort(ctx, cid) for cid in cohortids]
    if rows:
        ctx.require_capability("moodle/cohort:view")
    return [_cohort_out(r) for r in rows]


@ws("core_cohort_search_cohorts", query=Value(RAW),
    context=Single({"contextid": Value(INT, DEFAULT, 0), "contextlevel": Value(ALPHANUM, DEFAULT, ""),
                    "instanceid": Value(INT, DEFAULT, 0)}),
    includes=Value(ALPHA, DEFAULT, "parents"), limitfrom=Value(INT, DEFAULT, 0), limitnum=Value(INT, DEFAULT, 25))
def search_cohorts(ctx, query, context, includes, limitfrom, limitnum):
    contextid = _context_from_params(ctx, context)
    if includes not in ("parents", "self", "all"):
        raise errors.invalid_parameter("Invalid parameter includes")
    ctx.require_capability("moodle/cohort:view")
    where, params = [], []
    if includes == "self":
        where.append("contextid = ?")
        params.append(contextid)
    elif includes == "parents":
        path = ctx.one("SELECT path FROM context WHERE id = ?", (contextid,))[0]
        parents = [int(x) for x in path.strip("/").split("/") if x]
        where.append(f"contextid IN ({','.join('?' * len(parents))})")
        params.extend(parents)
    if query:
        where.append("(py_lower(name) LIKE ? OR py_lower(idnumber) LIKE ? OR py_lower(description) LIKE ?)")
        like = f"%{query.lower()}%"
        params.extend([like, like, like])
    sql = "SELECT * FROM cohort" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY name, id"
    rows = ctx.all(sql + " LIMIT ? OFFSET ?", (*params, limitnum if limitnum > 0 else -1, max(limitfrom, 0)))
    return {"cohorts": [_cohort_out(r) for r in rows]}


def _context_from_params(ctx, context: dict) -> int:
    if context["contextid"]:
        row = ctx.one("SELECT id FROM context WHERE id = ?", (context["contextid"],))
        if row is None:
            raise errors.invalid_parameter("Context does not exist")
        return row[0]
    level = context["contextlevel"]
    if level:
        levels = {"system": 10, "10": 10, "user": 30, "30": 30, "coursecat": 40, "40": 40, "course": 50, "50": 50,
                  "module": 70, "70": 70}
        if level not in levels:
            raise errors.invalid_parameter(f"Invalid context level = {level}")
        lvl = levels[level]
        if lvl == 10:
            return 1
        row = ctx.one("SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?", (lvl, context["instanceid"]))
        if row is None:
            raise errors.invalid_parameter("Context does not exist")
        return row[0]
    raise errors.invalid_parameter("Missing parameters, please provide either context level with instance id or "
                                   "contextid")


def _category_context(ctx, categorytype: dict) -> int:
    kind, value = categorytype["type"], categorytype["value"]
    if kind == "system":
        return 1
    if kind in ("id", "idnumber"):
        row = ctx.one(f"SELECT id FROM course_categories WHERE {kind} = ?", (value,))
        if row is None:
            raise errors.invalid_parameter(f"category not exists: category {kind} = {value}")
        return ctx.context_id(CONTEXT_COURSECAT, row[0])
    raise errors.invalid_parameter("category type must be id, idnumber or system:" + kind)


_COHORT_FIELDS = {"categorytype": _TYPE, "name": Value(RAW), "idnumber": Value(RAW), "description": v_opt(RAW),
                  "descriptionformat": Value(INT, DEFAULT, 1), "visible": v_opt(BOOL), "theme": v_opt(THEME),
                  "customfields": _CUSTOM}


@ws("core_cohort_create_cohorts", write=True, cohorts=Multiple(Single(dict(_COHORT_FIELDS))))
def create_cohorts(ctx, cohorts):
    out = []
    for cohort in cohorts:
        contextid = _category_context(ctx, cohort["categorytype"])
        ctx.require_capability("moodle/cohort:manage")
        if cohort["idnumber"] and ctx.one("SELECT 1 FROM cohort WHERE idnumber = ?", (cohort["idnumber"],)):
            raise errors.invalid_parameter(f"record already exists: idnumber={cohort['idnumber']}")
        visible = 1 if cohort.get("visible") is None else int(cohort["visible"])
        cur = ctx.conn.execute(
            "INSERT INTO cohort(contextid, name, idnumber, description, descriptionformat, visible, theme, timecreated,"
            " timemodified) VALUES (?,?,?,?,?,?,?,?,?)",
            (contextid, cohort["name"], cohort["idnumber"], cohort.get("description") or "",
             cohort["descriptionformat"], visible, cohort.get("theme") or "", ctx.now, ctx.now))
        out.append(_cohort_out(_get_cohort(ctx, cur.lastrowid), customfields=False))
    return out


@ws("core_cohort_update_cohorts", write=True,
    cohorts=Multiple(Single({"id": Value(INT), **_COHORT_FIELDS})))
def update_cohorts(ctx, cohorts):
    for cohort in cohorts:
        current = _get_cohort(ctx, cohort["id"])
        contextid = _category_context(ctx, cohort["categorytype"])
        ctx.require_capability("moodle/cohort:manage")
        # An ID number kept as it is stays, even where older sites have it twice; a new one must be free.
        if cohort["idnumber"] and cohort["idnumber"] != current["idnumber"] and ctx.one(
                "SELECT 1 FROM cohort WHERE idnumber = ? AND id <> ?", (cohort["idnumber"], cohort["id"])):
            raise errors.invalid_parameter(f"record already exists: idnumber={cohort['idnumber']}")
        sets = {"contextid": contextid, "name": cohort["name"], "idnumber": cohort["idnumber"],
                "descriptionformat": cohort["descriptionformat"], "timemodified": ctx.now}
        if cohort.get("description") is not None:
            sets["description"] = cohort["description"]
        if cohort.get("visible") is not None:
            sets["visible"] = int(cohort["visible"])
        if cohort.get("theme") is not None:
            sets["theme"] = cohort["theme"]
        ctx.conn.execute(f"UPDATE cohort SET {', '.join(k + ' = ?' for k in sets)} WHERE id = ?",
                         (*sets.values(), cohort["id"]))
    return None


@ws("core_cohort_delete_cohorts", write=True, cohortids=Multiple(Value(INT)))
def delete_cohorts(ctx, cohortids):
    for cid in cohortids:
        _get_cohort(ctx, cid)
        ctx.require_capability("moodle/cohort:manage")
        ctx.conn.execute("DELETE FROM cohort_members WHERE cohortid = ?", (cid,))
        ctx.conn.execute("DELETE FROM cohort WHERE id = ?", (cid,))
    return None


@ws("core_cohort_add_cohort_members", write=True,
    members=Multiple(Single({"cohorttype": _TYPE, "usertype": _TYPE})))
def add_cohort_members(ctx, members):
    warnings = []
    for member in members:
        ctype, utype = member["cohorttype"], member["usertype"]
        if ctype["type"] not in ("id", "idnumber"):
            warnings.append({"warningcode": "1", "message": f"invalid parameter: cohortype={ctype['type']}"})
            continue
        if utype["type"] not in ("id", "username"):
            warnings.append({"warningcode": "1", "message": f"invalid parameter: usertype={utype['type']}"})
            continue
        cohort = ctx.one(f"SELECT id FROM cohort WHERE {ctype['type']} = ?", (ctype["value"],))
        if cohort is None:
            warnings.append({"warningcode": "2", "message": f"cohort {ctype['type']}={ctype['value']} not exists"})
            continue
        user = ctx.one(f"SELECT id FROM user WHERE {utype['type']} = ? AND deleted = 0", (utype["value"],))
        if user is None:
            warnings.append({"warningcode": "2", "message": f"user {utype['type']}={utype['value']} not exists"})
            continue
        if ctx.one("SELECT 1 FROM cohort_members WHERE cohortid = ? AND userid = ?", (cohort[0], user[0])):
            warnings.append({"warningcode": "3", "message": f"record already exists: cohort({ctype['type']}="
                                                            f"{ctype['value']} {utype['type']}={utype['value']})"})
            continue
        if not ctx.is_admin:
            # Moodle wraps any exception of this loop into moodle_exception('Error', 'cohort').
            raise errors.MoodleError(errors.EXC_MOODLE, "Error", "cohort/Error",
                                     "Sorry, but you do not currently have permissions to do that "
                                     f"({CAPABILITY_NAMES['moodle/cohort:assign']}).")
        ctx.conn.execute("INSERT INTO cohort_members(cohortid, userid, timeadded) VALUES (?,?,?)",
                         (cohort[0], user[0], ctx.now))
    return {"warnings": warnings}


@ws("core_cohort_delete_cohort_members", write=True,
    members=Multiple(Single({"cohortid": Value(INT), "userid": Value(INT)})))
def delete_cohort_members(ctx, members):
    for member in members:
        _get_cohort(ctx, member["cohortid"])
        if ctx.one("SELECT 1 FROM user WHERE id = ? AND deleted = 0", (member["userid"],)) is None:
            raise errors.invalid_parameter(f"Invalid user id {member['userid']}")
        ctx.require_capability("moodle/cohort:assign")
        ctx.conn.execute("DELETE FROM cohort_members WHERE cohortid = ? AND userid = ?",
                         (member["cohortid"], member["userid"]))
    return None


@ws("core_cohort_get_cohort_members", cohortids=Multiple(Value(INT)))
def get_cohort_members(ctx, cohortids):
    out = []
    for cid in cohortids:
        _get_cohort(ctx, cid)
        ctx.require_capability("moodle/cohort:view")
        userids = [r[0] for r in ctx.all("SELECT cm.userid FROM cohort_members cm JOIN user u ON u.id = cm.userid"
                                         " WHERE cm.cohortid = ? AND u.deleted = 0 ORDER BY cm.id", (cid,))]
        out.append({"cohortid": cid, "userids": userids})
    return out
