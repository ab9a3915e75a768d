"""The ``local_sync_service`` plugin (MoodleSync/sync-plugin 2024061800) as it behaves on Moodle 5.x.

It reproduces the plugin's observable bugs on purpose, because the console
must guard against them (fixtures ``sync_service/``):

* every parameter is free text (PARAM_TEXT); ``visible`` must be the words
  ``true``/``false`` and is pasted into availability JSON when ``time`` is set;
* the directory function answers the folder's *instance* id, not its cmid;
* a draft item id that does not exist still "succeeds" (empty resource/folder);
* a section number beyond the last section creates that section (a gap);
* ``add_files_to_directory`` does not check that ``contextid`` belongs to the course;
* ``javascript:`` URLs are accepted;
* a non-admin token gets ``requireloginerror``;
* ``local_course_add_new_section`` always fails (missing capability), and
  ``local_course_move_module_to_specific_position`` with ``beforemod`` or an
  unknown section fails with a PHP TypeError.
"""

from __future__ import annotations



from .. import errors
from ..context import fullname
from ..registry import ws
from ..validation import DEFAULT, TEXT, Value
from .coursecommon import add_module, add_section, get_section, sequence, set_sequence

LIB = "/var/www/moodle/public/course/lib.php"
CREATE = {"courseid": Value(TEXT), "sectionnum": Value(TEXT)}
OPTIONAL = {"time": Value(TEXT, DEFAULT, None, allownull=True), "visible": Value(TEXT),
            "beforemod": Value(TEXT, DEFAULT, None, allownull=True)}


def _course(ctx, courseid: str):
    row = ctx.one("SELECT id, category FROM course WHERE id = ?", (courseid,))
    if row is None:
        raise errors.MissingRecord("course", "SELECT id,category FROM {course} WHERE id = ?", [courseid])
    ctx.require_login_course(row["id"])
    return row


def _section_id(ctx, courseid: int, sectionnum: str) -> int:
    """The plugin stores the section NUMBER where an id belongs, then lets Moodle create missing sections."""
    if not sectionnum.lstrip("-").isdigit():
        raise errors.dml_write_error(
            f'ERROR:  invalid input syntax for type bigint: "{sectionnum}" CONTEXT:  unnamed portal parameter $3 = '
            "'...' INSERT INTO mdl_course_modules (course,module,section,added) VALUES($1,$2,$3,$4) RETURNING id")
    number = int(sectionnum)
    row = ctx.one("SELECT id FROM course_sections WHERE course = ? AND section = ?", (courseid, number))
    if row is not None:
        return row[0]
    return add_section(ctx.conn, courseid, number, None, ctx.now)


def _placement(ctx, courseid: int, params: dict) -> dict:
    out = {"visible": 1, "availability": None}
    if params["time"] is not None:
        # The plugin builds this JSON by string concatenation: "visible" lands in it verbatim.
        out["availability"] = ('{"op":"&","c":[{"type":"date","d":">=","t":' + params["time"] + '}],"showc":['
                               + params["visible"] + "]}")
    elif params["visible"] == "false":
        out["visible"] = 0
    before = params["beforemod"]
    out["before"] = int(before) if before is not None and before.isdigit() else None
    return out


def _attach_draft(ctx, itemid: str, contextid: int, component: str, sortorder: int) -> None:
    """Copy the caller's draft files into the module's content area (a missing draft copies nothing)."""
    userctx = ctx.context_id(30, ctx.userid)
    for f in ctx.all("SELECT * FROM files WHERE contextid = ? AND component = 'user' AND filearea = 'draft'"
                     " AND itemid = ? ORDER BY id", (userctx, itemid)):
        ctx.conn.execute(
            "INSERT OR IGNORE INTO files(contenthash, contextid, component, filearea, itemid, filepath, filename,"
            " userid, filesize, mimetype, source, author, license, sortorder, timecreated, timemodified)"
            " VALUES (?,?,?,'content',0,?,?,?,?,?,?,?,?,?,?,?)",
            (f["contenthash"], contextid, component, f["filepath"], f["filename"], f["userid"], f["filesize"],
             f["mimetype"], f["source"], f["author"] or fullname(ctx.user), f["license"], sortorder, ctx.now,
             ctx.now))


@ws("local_course_add_new_course_module_resource", write=True, plugin=True, **CREATE, itemid=Value(TEXT),
    displayname=Value(TEXT), **OPTIONAL)
def add_resource(ctx, courseid, sectionnum, itemid, displayname, time, visible, beforemod):
    course = _course(ctx, courseid)
    params = {"time": time, "visible": visible, "beforemod": beforemod}
    place = _placement(ctx, course["id"], params)
    sectionid = _section_id(ctx, course["id"], sectionnum)
    cmid, _inst, ctxid = add_module(ctx, course["id"], sectionid, "resource", displayname, visible=place["visible"],
                                    availability=place["availability"], before=place["before"],
                                    extra={"display": 5})
    _attach_draft(ctx, itemid, ctxid, "mod_resource", 1)
    if not ctx.one("SELECT 1 FROM files WHERE contextid = ?", (ctxid,)):
        ctx.conn.execute("UPDATE modinstance SET extra = '{\"display\": 4}' WHERE modname = 'resource' AND id = ?",
                         (_inst,))
    return {"message": "Successful", "id": str(cmid)}


@ws("local_course_add_new_course_module_url", write=True, plugin=True, **CREATE, urlname=Value(TEXT),
    url=Value(TEXT), **OPTIONAL)
def add_url(ctx, courseid, sectionnum, urlname, url, time, visible, beforemod):
    course = _course(ctx, courseid)
    place = _placement(ctx, course["id"], {"time": time, "visible": visible, "beforemod": beforemod})
    sectionid = _section_id(ctx, course["id"], sectionnum)
    cmid, _inst, _ctx = add_module(ctx, course["id"], sectionid, "url", urlname, visible=place["visible"],
                                   availability=place["availability"], before=place["before"],
                                   extra={"externalurl": url, "display": 4})
    return {"message": "Successful", "id": str(cmid)}


@ws("local_course_add_new_course_module_directory", write=True, plugin=True, **CREATE, itemid=Value(TEXT),
    displayname=Value(TEXT), **OPTIONAL)
def add_directory(ctx, courseid, sectionnum, itemid, displayname, time, visible, beforemod):
    course = _course(ctx, courseid)
    place = _placement(ctx, course["id"], {"time": time, "visible": visible, "beforemod": beforemod})
    sectionid = _section_id(ctx, course["id"], sectionnum)
    _cmid, instance, ctxid = add_module(ctx, course["id"], sectionid, "folder", displayname, visible=place["visible"],
                                        availability=place["availability"], before=place["before"])
    _attach_draft(ctx, itemid, ctxid, "mod_folder", 0)
    # Plugin bug kept on purpose: the folder's instance id comes back, not its cmid.
    return {"message": "Successful", "id": str(instance)}


@ws("local_course_add_files_to_directory", write=True, plugin=True, courseid=Value(TEXT), itemid=Value(TEXT),
    contextid=Value(TEXT))
def add_files_to_directory(ctx, courseid, itemid, contextid):
    _course(ctx, courseid)
    context = ctx.one("SELECT * FROM context WHERE id = ?", (contextid,))
    if context is None:
        raise errors.MissingRecord("context", "SELECT * FROM {context} WHERE id = ?", [contextid])
    userctx = ctx.context_id(30, ctx.userid)
    if not ctx.one("SELECT 1 FROM files WHERE contextid = ? AND component = 'user' AND filearea = 'draft'"
                   " AND itemid = ?", (userctx, itemid)):
        raise errors.coding_error("Nothing to merge or area does not belong to current user")
    # Not checked against courseid, and any module context is accepted (plugin bug kept on purpose).
    _attach_draft(ctx, itemid, context["id"], "mod_folder", 0)
    return {"message": "Successful"}


@ws("local_course_add_new_section", write=True, plugin=True, courseid=Value(TEXT), sectionname=Value(TEXT),
    sectionnum=Value(TEXT))
def add_new_section(ctx, courseid, sectionname, sectionnum):
    _course(ctx, courseid)
    # As published, the plugin requires a capability that no longer exists on 5.x.
    raise errors.MoodleError(errors.EXC_CAPABILITY, "nopermissions", "Sorry, but you do not currently have "
                             "permissions to do that (block/section_links:addinstance ???).")


@ws("local_course_move_module_to_specific_position", write=True, plugin=True, cmid=Value(TEXT),
    sectionid=Value(TEXT), beforemod=Value(TEXT, DEFAULT, None, allownull=True))
def move_module(ctx, cmid, sectionid, beforemod):
    cm = ctx.one("SELECT * FROM course_modules WHERE id = ?", (cmid,))
    if cm is None:
        raise errors.MissingRecord("course_modules", "SELECT id,course FROM {course_modules} WHERE id = ?", [cmid],
                                   errorcode="invalidcoursemodule", message="Invalid course module ID")
    ctx.require_login_course(cm["course"])
    if beforemod is not None:
        raise errors.php_type_error("core_courseformat\\local\\cmactions::move_before(): Argument #2 ($beforecmid) "
                                    f"must be of type int, null given, called in {LIB} on line 1172")
    section = ctx.one("SELECT * FROM course_sections WHERE id = ? AND course = ?", (sectionid, cm["course"]))
    if section is None:
        raise errors.php_type_error("core_courseformat\\local\\cmactions::move_end_section(): Argument #2 "
                                    f"($targetsectionid) must be of type int, null given, called in {LIB} on line 1175")
    old = get_section(ctx, cm["section"])
    set_sequence(ctx.conn, old["id"], [c for c in sequence(old) if c != cm["id"]])
    section = get_section(ctx, section["id"])
    set_sequence(ctx.conn, section["id"], [c for c in sequence(section) if c != cm["id"]] + [cm["id"]])
    ctx.conn.execute("UPDATE course_modules SET section = ? WHERE id = ?", (section["id"], cm["id"]))
    return {"message": "Successful"}


