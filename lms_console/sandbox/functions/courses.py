"""Course and category functions: listing, search, create, update, delete, duplicate."""

from __future__ import annotations

from .. import errors
from ..context import CONTEXT_COURSE, CONTEXT_COURSECAT, SITEID, fullname
from ..registry import ws
from ..validation import (ALPHA, ALPHANUMEXT, BOOL, DEFAULT, INT, OPTIONAL, PLUGIN, RAW, TEXT, Multiple, Single,
                          Value, v_opt)
from .common import savepoint, warning
from .coursecommon import FORMAT_OPTIONS, add_section, course_image, delete_course_rows, numsections
from .duplicate import copy_course

FILTERS = ["displayh5p", "activitynames", "mathjaxloader", "emoticon", "urltolink", "mediaplugin"]


# -- categories ---------------------------------------------------------------------------
def _category_out(row) -> dict:
    return {"id": row["id"], "name": row["name"], "idnumber": row["idnumber"], "description": row["description"] or "",
            "descriptionformat": row["descriptionformat"], "parent": row["parent"], "sortorder": row["sortorder"],
            "coursecount": row["coursecount"], "visible": row["visible"], "visibleold": row["visibleold"],
            "timemodified": row["timemodified"], "depth": row["depth"], "path": row["path"], "theme": row["theme"] or ""}


@ws("core_course_get_categories",
    criteria=Multiple(Single({"key": Value(ALPHA), "value": Value(RAW)}), DEFAULT, []),
    addsubcategories=Value(BOOL, DEFAULT, True))
def get_categories(ctx, criteria, addsubcategories):
    where, params = [], []
    for crit in criteria:
        key, value = crit["key"], crit["value"]
        if key == "ids":
            ids = [int(x) for x in value.split(",") if x.strip().lstrip("-").isdigit()]
            where.append(f"id IN ({','.join('?' * len(ids)) or 'NULL'})")
            params.extend(ids)
        elif key in ("id", "parent", "visible"):
            where.append(f"{key} = ?")
            params.append(int(value) if value.lstrip("-").isdigit() else -1)
        elif key in ("name", "idnumber", "theme"):
            where.append(f"{key} = ?")
            params.append(value)
        else:
            raise errors.invalid_parameter(f"The key '{key}' is not supported")
    rows = ctx.all("SELECT * FROM course_categories" + (" WHERE " + " AND ".join(where) if where else "")
                   + " ORDER BY sortorder", params)
    if addsubcategories and where:
        seen = {r["id"] for r in rows}
        for row in list(rows):
            for sub in ctx.all("SELECT * FROM course_categories WHERE path LIKE ? ORDER BY sortorder",
                               (row["path"] + "/%",)):
                if sub["id"] not in seen:
                    seen.add(sub["id"])
                    rows.append(sub)
    if not ctx.is_admin:
        rows = [r for r in rows if r["visible"]]
    return [_category_out(r) for r in rows]


# -- courses ------------------------------------------------------------------------------
def format_options(row) -> list[dict]:
    if row["format"] == "site":
        return [{"name": "numsections", "value": 1}]
    return [{"name": n, "value": (row["hiddensections"] if n == "hiddensections" else
                                 row["coursedisplay"] if n == "coursedisplay" else v)}
            for n, v in FORMAT_OPTIONS.get(row["format"], FORMAT_OPTIONS["topics"])]


@ws("core_course_get_courses", options=Single({"ids": Multiple(Value(INT), OPTIONAL)}, DEFAULT, []))
def get_courses(ctx, options):
    ids = options.get("ids")
    if ids:
        from .common import rows_in

        rows = sorted(rows_in(ctx.conn, "SELECT * FROM course WHERE id IN ({ids})", ids), key=lambda r: r["id"])
    else:
        rows = ctx.all("SELECT * FROM course ORDER BY id")
    out = []
    for row in rows:
        if row["id"] != SITEID:
            ctx.validate_course_context(row["id"])
        entry = {"id": row["id"], "shortname": row["shortname"], "categoryid": row["category"],
                 "categorysortorder": row["sortorder"], "fullname": row["fullname"], "displayname": row["fullname"],
                 "idnumber": row["idnumber"], "summary": row["summary"] or "", "summaryformat": row["summaryformat"],
                 "format": row["format"], "showgrades": row["showgrades"], "newsitems": row["newsitems"],
                 "startdate": row["startdate"], "enddate": row["enddate"],
                 "numsections": 1 if row["id"] == SITEID else numsections(ctx.conn, row["id"]),
                 "maxbytes": row["maxbytes"], "showreports": row["showreports"], "visible": row["visible"]}
        if row["id"] != SITEID:
            entry["hiddensections"] = row["hiddensections"]
        entry.update({"groupmode": row["groupmode"], "groupmodeforce": row["groupmodeforce"],
                      "defaultgroupingid": row["defaultgroupingid"], "timecreated": row["timecreated"],
                      "timemodified": row["timemodified"], "enablecompletion": row["enablecompletion"],
                      "completionnotify": row["completionnotify"], "lang": row["lang"], "forcetheme": row["theme"],
                      "courseformatoptions": format_options(row), "showactivitydates": True,
                      "showcompletionconditions": None if row["id"] == SITEID else True})
        out.append(entry)
    return out


def course_summary(ctx, row) -> dict:
    """``core_course_external::get_course_public_information`` (the search/by_field shape)."""
    coursectx = ctx.context_id(CONTEXT_COURSE, row["id"])
    cat = ctx.one("SELECT name FROM course_categories WHERE id = ?", (row["category"],))
    contacts = [] if row["id"] == SITEID else [{"id": r["id"], "fullname": fullname(r)} for r in ctx.all(
        "SELECT u.id, u.firstname, u.lastname FROM role_assignments ra JOIN user u ON u.id = ra.userid"
        " WHERE ra.contextid = ? AND ra.roleid = 3 AND u.deleted = 0 ORDER BY u.lastname, u.firstname",
        (coursectx,))]
    methods = [] if row["id"] == SITEID else [r[0] for r in ctx.all(
        "SELECT DISTINCT enrol FROM enrol WHERE courseid = ? AND status = 0 ORDER BY sortorder", (row["id"],))]
    return {"id": row["id"], "fullname": row["fullname"], "displayname": row["fullname"],
            "shortname": row["shortname"], "courseimage": course_image(ctx, coursectx), "categoryid": row["category"],
            "categoryname": cat[0] if cat else "", "sortorder": row["sortorder"], "summary": row["summary"] or "",
            "summaryformat": row["summaryformat"], "summaryfiles": [], "overviewfiles": [],
            "showactivitydates": True, "showcompletionconditions": None if row["id"] == SITEID else True,
            "contacts": contacts, "enrollmentmethods": methods}


@ws("core_course_get_courses_by_field", field=Value(ALPHA, DEFAULT, ""), value=Value(RAW, DEFAULT, ""))
def get_courses_by_field(ctx, field, value):
    if field == "":
        rows = ctx.all("SELECT * FROM course ORDER BY id")
    elif field in ("id", "category"):
        if not value.lstrip("-").isdigit():
            raise errors.invalid_parameter("Invalid value, must be an integer")
        rows = ctx.all(f"SELECT * FROM course WHERE {field} = ? ORDER BY id", (int(value),))
    elif field == "ids":
        ids = [int(x) for x in value.split(",") if x.strip().isdigit()]
        rows = ctx.all(f"SELECT * FROM course WHERE id IN ({','.join('?' * len(ids)) or 'NULL'}) ORDER BY id", ids)
    elif field in ("shortname", "idnumber"):
        rows = ctx.all(f"SELECT * FROM course WHERE {field} = ? ORDER BY id", (value,))
    elif field == "sectionid":
        rows = ctx.all("SELECT c.* FROM course c JOIN course_sections s ON s.course = c.id WHERE s.id = ?",
                       (int(value) if value.isdigit() else -1,))
    else:
        raise errors.invalid_parameter("Invalid field name")
    out = []
    for row in rows:
        if not ctx.can_access_course(row["id"]):
            continue
        entry = course_summary(ctx, row)
        if ctx.is_admin:
            entry.update({"idnumber": row["idnumber"], "format": row["format"], "showgrades": row["showgrades"],
                          "newsitems": row["newsitems"], "startdate": row["startdate"], "enddate": row["enddate"],
                          "maxbytes": row["maxbytes"], "showreports": row["showreports"], "visible": row["visible"],
                          "groupmode": row["groupmode"], "groupmodeforce": row["groupmodeforce"],
                          "defaultgroupingid": row["defaultgroupingid"], "enablecompletion": row["enablecompletion"],
                          "completionnotify": row["completionnotify"], "lang": row["lang"], "theme": row["theme"],
                          "marker": row["marker"], "legacyfiles": row["legacyfiles"],
                          "calendartype": row["calendartype"], "timecreated": row["timecreated"],
                          "timemodified": row["timemodified"], "requested": row["requested"],
                          "cacherev": row["cacherev"],
                          "filters": [{"filter": f, "localstate": 0, "inheritedstate": 1} for f in FILTERS]})
            if row["id"] != SITEID:
                entry["courseformatoptions"] = format_options(row) + [{"name": "indentation", "value": "1"}]
        out.append(entry)
    return {"courses": out, "warnings": []}


@ws("core_course_search_courses", criterianame=Value(ALPHA), criteriavalue=Value(RAW),
    page=Value(INT, DEFAULT, 0), perpage=Value(INT, DEFAULT, 0),
    requiredcapabilities=Multiple(Value(RAW), DEFAULT, []), limittoenrolled=Value(BOOL, DEFAULT, False),
    onlywithcompletion=Value(BOOL, DEFAULT, False))
def search_courses(ctx, criterianame, criteriavalue, page, perpage, requiredcapabilities, limittoenrolled,
                   onlywithcompletion):
    if criterianame not in ("search", "modulelist", "blocklist", "tagid"):
        raise errors.invalid_parameter("Invalid value for criterianame parameter")
    where, params = ["c.id <> 1"], []
    if criterianame == "search":
        for word in criteriavalue.split():
            where.append("(py_lower(c.fullname) LIKE ? OR py_lower(c.shortname) LIKE ? OR py_lower(c.idnumber) LIKE ?"
                         " OR py_lower(c.summary) LIKE ?)")
            params.extend([f"%{word.lower()}%"] * 4)
    elif criterianame == "modulelist":
        where.append("EXISTS (SELECT 1 FROM course_modules cm WHERE cm.course = c.id AND cm.modname = ?)")
        params.append(criteriavalue)
    else:
        where.append("0")
    if not ctx.is_admin:
        where.append("c.visible = 1")
    if onlywithcompletion:
        where.append("c.enablecompletion = 1")
    rows = ctx.all(f"SELECT c.* FROM course c WHERE {' AND '.join(where)} ORDER BY c.sortorder", params)
    if limittoenrolled:
        rows = [r for r in rows if ctx.is_enrolled(r["id"])]
    total = len(rows)
    if perpage > 0:
        rows = rows[page * perpage:(page + 1) * perpage]
    return {"total": total, "courses": [course_summary(ctx, r) for r in rows], "warnings": []}


# -- writes -------------------------------------------------------------------------------
def _course_fields(create: bool) -> dict:
    fields = {
        "fullname": Value(RAW) if create else v_opt(RAW), "shortname": Value(RAW) if create else v_opt(RAW),
        "categoryid": Value(INT) if create else v_opt(INT), "idnumber": v_opt(RAW), "summary": v_opt(RAW),
        "summaryformat": Value(INT, DEFAULT, 1) if create else v_opt(INT),
        "format": Value(PLUGIN, DEFAULT, "topics") if create else v_opt(PLUGIN),
        "showgrades": v_opt(INT), "newsitems": v_opt(INT), "startdate": v_opt(INT), "enddate": v_opt(INT),
        "numsections": v_opt(INT), "maxbytes": v_opt(INT), "showreports": v_opt(INT), "visible": v_opt(INT),
        "hiddensections": v_opt(INT), "groupmode": v_opt(INT), "groupmodeforce": v_opt(INT),
        "defaultgroupingid": v_opt(INT), "enablecompletion": v_opt(INT), "completionnotify": v_opt(INT),
        "lang": v_opt(TEXT), "forcetheme": v_opt(PLUGIN),
        "courseformatoptions": Multiple(Single({"name": Value(ALPHANUMEXT), "value": Value(RAW)}), OPTIONAL),
        "customfields": Multiple(Single({"shortname": Value(ALPHANUMEXT), "value": Value(RAW)}), OPTIONAL),
    }
    return fields if create else {"id": Value(INT), **fields}


COURSE_COLUMNS = {"fullname", "shortname", "idnumber", "summary", "summaryformat", "format", "showgrades",
                  "newsitems", "startdate", "enddate", "maxbytes", "showreports", "visible", "hiddensections",
                  "groupmode", "groupmodeforce", "defaultgroupingid", "enablecompletion", "completionnotify", "lang"}


def _check_unique(ctx, course: dict, courseid: int | None = None) -> None:
    if course.get("shortname") is not None and ctx.one("SELECT 1 FROM course WHERE shortname = ? AND id <> ?",
                                                       (course["shortname"], courseid or 0)):
        raise errors.moodle_exception("shortnametaken",
                                      f"Short name is already used for another course ({course['shortname']})")
    if course.get("idnumber") and ctx.one("SELECT 1 FROM course WHERE idnumber = ? AND id <> ?",
                                          (course["idnumber"], courseid or 0)):
        raise errors.moodle_exception("courseidnumbertaken",
                                      f"ID number is already used for another course ({course['idnumber']})")


def _category_check(ctx, categoryid: int) -> None:
    if ctx.context_id(CONTEXT_COURSECAT, categoryid) is None:
        raise errors.invalid_parameter("Context does not exist")


@ws("core_course_create_courses", write=True, courses=Multiple(Single(_course_fields(True))))
def create_courses(ctx, courses):
    out = []
    for course in courses:
        _category_check(ctx, course["categoryid"])
        ctx.require_capability("moodle/course:create")
        _check_unique(ctx, course)
        values = {k: v for k, v in course.items() if k in COURSE_COLUMNS and v is not None}
        if course.get("forcetheme"):
            values["theme"] = course["forcetheme"]
        for option in course.get("courseformatoptions") or []:
            if option["name"] in ("hiddensections", "coursedisplay") and option["value"].isdigit():
                values[option["name"]] = int(option["value"])
            if option["name"] == "numsections" and option["value"].isdigit():
                course["numsections"] = int(option["value"])
        values.setdefault("startdate", ctx.now // 86400 * 86400 + 86400)
        sortorder = ctx.one("SELECT COALESCE(MAX(sortorder), 0) + 1 FROM course WHERE category = ?",
                            (course["categoryid"],))[0]
        values.update({"category": course["categoryid"], "sortorder": max(sortorder, course["categoryid"] * 10000 + 1),
                       "timecreated": ctx.now, "timemodified": ctx.now, "cacherev": ctx.now})
        cur = ctx.conn.execute(f"INSERT INTO course({', '.join(values)}) VALUES ({','.join('?' * len(values))})",
                               list(values.values()))
        cid = cur.lastrowid
        setup_new_course(ctx, cid, course.get("numsections"))
        out.append({"id": cid, "shortname": course["shortname"]})
    return out


def setup_new_course(ctx, cid: int, sections: int | None) -> None:
    conn = ctx.conn
    cur = conn.execute("INSERT INTO context(contextlevel, instanceid, path, depth) VALUES (?,?,?,2)",
                       (CONTEXT_COURSE, cid, ""))
    conn.execute("UPDATE context SET path = ? WHERE id = ?", (f"/1/{cur.lastrowid}", cur.lastrowid))
    for number in range((4 if sections is None else max(sections, 0)) + 1):
        add_section(conn, cid, number, None, ctx.now)
    conn.execute("INSERT INTO enrol(enrol, status, courseid, sortorder, roleid, timecreated) VALUES"
                 " ('manual', 0, ?, 0, 5, ?)", (cid, ctx.now))
    conn.execute("INSERT INTO grade_items(courseid, itemtype, iteminstance, grademin, grademax, sortorder)"
                 " VALUES (?, 'course', ?, 0, 100, 1)", (cid, cid))
    conn.execute("UPDATE course_categories SET coursecount = (SELECT COUNT(*) FROM course WHERE category ="
                 " course_categories.id)")


@ws("core_course_update_courses", write=True, courses=Multiple(Single(_course_fields(False))))
def update_courses(ctx, courses):
    warnings = []
    for course in courses:
        try:
            with savepoint(ctx.conn):
                existing = ctx.course(course["id"])
                ctx.require_capability("moodle/course:update")
                if course.get("categoryid") is not None:
                    _category_check(ctx, course["categoryid"])
                _check_unique(ctx, course, existing["id"])
                values = {k: v for k, v in course.items() if k in COURSE_COLUMNS and v is not None}
                if course.get("categoryid") is not None:
                    values["category"] = course["categoryid"]
                if course.get("forcetheme") is not None:
                    values["theme"] = course["forcetheme"]
                values["timemodified"] = ctx.now
                ctx.conn.execute(f"UPDATE course SET {', '.join(k + ' = ?' for k in values)} WHERE id = ?",
                                 (*values.values(), existing["id"]))
        except errors.MoodleError as exc:
            warnings.append(warning("course", course["id"], exc.errorcode, exc.message))
    return {"warnings": warnings}


@ws("core_course_delete_courses", write=True, courseids=Multiple(Value(INT)))
def delete_courses(ctx, courseids):
    warnings = []
    for cid in courseids:
        row = ctx.one("SELECT id FROM course WHERE id = ?", (cid,))
        if row is None:
            warnings.append(warning("course", cid, "unknowncourseidnumber", "Unknown course ID " + str(cid)))
            continue
        if cid == SITEID or not ctx.is_admin:
            warnings.append(warning("course", cid, "cannotdeletecourse",
                                    f"You don't have the permission to delete the course with id={cid}"))
            continue
        delete_course_rows(ctx.conn, cid)
    ctx.conn.execute("UPDATE course_categories SET coursecount = (SELECT COUNT(*) FROM course WHERE category ="
                     " course_categories.id)")
    return {"warnings": warnings}


@ws("core_course_duplicate_course", write=True, courseid=Value(INT), fullname=Value(RAW), shortname=Value(RAW),
    categoryid=Value(INT), visible=Value(INT, DEFAULT, 1),
    options=Multiple(Single({"name": Value(ALPHA), "value": Value(RAW)}), DEFAULT, []))
def duplicate_course(ctx, courseid, fullname, shortname, categoryid, visible, options):
    source = ctx.course(courseid)
    _category_check(ctx, categoryid)
    ctx.require_capability("moodle/course:create")
    _check_unique(ctx, {"shortname": shortname})
    flags = {o["name"]: o["value"] for o in options}
    newid = copy_course(ctx, source, fullname, shortname, categoryid, visible,
                        activities=flags.get("activities", "1") != "0", users=flags.get("users", "0") == "1")
    return {"id": newid, "shortname": shortname}
