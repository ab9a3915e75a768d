"""Course helpers shared by several function modules: course records, sections and modules."""

from __future__ import annotations

import json

from .. import errors
from ..context import CONTEXT_COURSE, CONTEXT_MODULE
from ..seed_courses import MODULE_IDS

FORMAT_OPTIONS = {"topics": [("hiddensections", 1), ("coursedisplay", 0)],
                  "weeks": [("hiddensections", 1), ("coursedisplay", 0), ("automaticenddate", 1)]}
MODPLURAL = {"assign": "Assignments", "folder": "Folders", "forum": "Forums", "label": "Text and media areas",
             "page": "Pages", "quiz": "Quizzes", "resource": "Files", "url": "URLs", "subsection": "Subsections"}
PURPOSE = {"assign": "assessment", "quiz": "assessment", "forum": "collaboration"}


def numsections(conn, courseid: int) -> int:
    row = conn.execute("SELECT MAX(section) FROM course_sections WHERE course = ? AND component IS NULL",
                       (courseid,)).fetchone()
    return int(row[0] or 0)


def course_image(ctx, coursectx: int) -> str:
    return f"{ctx.site_url}/pluginfile.php/{coursectx}/course/generated/course.svg"


def get_cm(ctx, cmid: int, sql: str = "SELECT * FROM {course_modules} WHERE id = ?", **kw):
    row = ctx.one("SELECT * FROM course_modules WHERE id = ?", (cmid,))
    if row is None:
        raise errors.MissingRecord("course_modules", sql, [cmid], **kw)
    return row


def get_section(ctx, sectionid: int):
    row = ctx.one("SELECT * FROM course_sections WHERE id = ?", (sectionid,))
    if row is None:
        raise errors.MissingRecord("course_sections", "SELECT * FROM {course_sections} WHERE id = ?", [sectionid])
    return row


def sequence(section) -> list[int]:
    return [int(x) for x in (section["sequence"] or "").split(",") if x]


def set_sequence(conn, sectionid: int, cmids: list[int]) -> None:
    conn.execute("UPDATE course_sections SET sequence = ? WHERE id = ?", (",".join(map(str, cmids)), sectionid))


def next_instance(conn, modname: str) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM modinstance WHERE modname = ?",
                            (modname,)).fetchone()[0])


def add_section(conn, courseid: int, number: int, name=None, now: int = 0, component=None, itemid=None,
                visible: int = 1) -> int:
    cur = conn.execute("INSERT INTO course_sections(course, section, name, summary, sequence, visible, component,"
                       " itemid, timemodified) VALUES (?,?,?,'','',?,?,?,?)",
                       (courseid, number, name, visible, component, itemid, now))
    return cur.lastrowid


def add_module(ctx, courseid: int, sectionid: int, modname: str, name: str, *, visible: int = 1,
               completion: int = 0, extra: dict | None = None, intro: str = "", availability=None,
               before: int | None = None, instance: int | None = None) -> tuple[int, int, int]:
    """Create an activity (instance + course module + context) in a section; returns (cmid, instance, ctxid)."""
    conn = ctx.conn
    if instance is None:
        instance = next_instance(conn, modname)
        conn.execute("INSERT INTO modinstance(modname, id, course, name, intro, introformat, timemodified, extra)"
                     " VALUES (?,?,?,?,?,1,?,?)", (modname, instance, courseid, name, intro, ctx.now,
                                                   json.dumps(extra or {})))
    cur = conn.execute("INSERT INTO course_modules(course, module, modname, instance, section, added, visible,"
                       " visibleold, completion, availability) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (courseid, MODULE_IDS[modname], modname, instance, sectionid, ctx.now, visible, visible,
                        completion, availability))
    cmid = cur.lastrowid
    coursectx = ctx.context_id(CONTEXT_COURSE, courseid)
    cur = conn.execute("INSERT INTO context(contextlevel, instanceid, path, depth) VALUES (?,?,?,3)",
                       (CONTEXT_MODULE, cmid, ""))
    ctxid = cur.lastrowid
    conn.execute("UPDATE context SET path = ? WHERE id = ?", (f"/1/{coursectx}/{ctxid}", ctxid))
    section = conn.execute("SELECT * FROM course_sections WHERE id = ?", (sectionid,)).fetchone()
    seq = sequence(section)
    if before is not None and before in seq:
        seq.insert(seq.index(before), cmid)
    else:
        seq.append(cmid)
    set_sequence(conn, sectionid, seq)
    return cmid, instance, ctxid


def delete_module(conn, cm) -> None:
    """Remove an activity and everything attached to it."""
    cmid = cm["id"]
    section = conn.execute("SELECT * FROM course_sections WHERE id = ?", (cm["section"],)).fetchone()
    if section is not None:
        set_sequence(conn, section["id"], [x for x in sequence(section) if x != cmid])
    ctx = conn.execute("SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?",
                       (CONTEXT_MODULE, cmid)).fetchone()
    if ctx:
        conn.execute("DELETE FROM files WHERE contextid = ?", (ctx[0],))
        conn.execute("DELETE FROM context WHERE id = ?", (ctx[0],))
    conn.execute("DELETE FROM course_modules_completion WHERE coursemoduleid = ?", (cmid,))
    conn.execute("DELETE FROM course_completion_criteria WHERE moduleinstance = ?", (cmid,))
    items = [r[0] for r in conn.execute("SELECT id FROM grade_items WHERE cmid = ?", (cmid,))]
    for item in items:
        conn.execute("DELETE FROM grade_grades WHERE itemid = ?", (item,))
        conn.execute("DELETE FROM grade_items WHERE id = ?", (item,))
    if cm["modname"] == "subsection":
        sub = conn.execute("SELECT * FROM course_sections WHERE component = 'mod_subsection' AND itemid = ?"
                           " AND course = ?", (cm["instance"], cm["course"])).fetchone()
        if sub is not None:
            for child in sequence(sub):
                row = conn.execute("SELECT * FROM course_modules WHERE id = ?", (child,)).fetchone()
                if row is not None:
                    delete_module(conn, row)
            conn.execute("DELETE FROM course_sections WHERE id = ?", (sub["id"],))
    conn.execute("DELETE FROM modinstance WHERE modname = ? AND id = ?", (cm["modname"], cm["instance"]))
    conn.execute("DELETE FROM course_modules WHERE id = ?", (cmid,))


def delete_course_rows(conn, courseid: int) -> None:
    for cm in conn.execute("SELECT * FROM course_modules WHERE course = ?", (courseid,)).fetchall():
        delete_module(conn, cm)
    coursectx = conn.execute("SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?",
                             (CONTEXT_COURSE, courseid)).fetchone()
    enrolids = [r[0] for r in conn.execute("SELECT id FROM enrol WHERE courseid = ?", (courseid,))]
    for eid in enrolids:
        conn.execute("DELETE FROM user_enrolments WHERE enrolid = ?", (eid,))
    conn.execute("DELETE FROM enrol WHERE courseid = ?", (courseid,))
    if coursectx:
        conn.execute("DELETE FROM role_assignments WHERE contextid = ?", (coursectx[0],))
        conn.execute("DELETE FROM context WHERE id = ?", (coursectx[0],))
    groupids = [r[0] for r in conn.execute("SELECT id FROM groups WHERE courseid = ?", (courseid,))]
    for gid in groupids:
        conn.execute("DELETE FROM groups_members WHERE groupid = ?", (gid,))
        conn.execute("DELETE FROM groupings_groups WHERE groupid = ?", (gid,))
    for table, col in (("groups", "courseid"), ("groupings", "courseid"), ("course_sections", "course"),
                       ("course_completions", "course"), ("course_completion_criteria", "course"),
                       ("user_lastaccess", "courseid"), ("modinstance", "course")):
        conn.execute(f"DELETE FROM {table} WHERE {col} = ?", (courseid,))
    for item in [r[0] for r in conn.execute("SELECT id FROM grade_items WHERE courseid = ?", (courseid,))]:
        conn.execute("DELETE FROM grade_grades WHERE itemid = ?", (item,))
    conn.execute("DELETE FROM grade_items WHERE courseid = ?", (courseid,))
    conn.execute("DELETE FROM course WHERE id = ?", (courseid,))
