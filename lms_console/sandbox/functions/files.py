"""File functions: list a file area (``core_files_get_files``) and the legacy base64 upload."""

from __future__ import annotations

import base64
import binascii

from .. import errors
from ..context import CONTEXT_USER, fullname
from ..registry import ws
from ..seed_courses import mimetype_of
from ..validation import ALPHA, AREA, COMPONENT, DEFAULT, FILE, INT, PATH, RAW, TEXT, Value

LEVELS = {"system": 10, "user": 30, "coursecat": 40, "course": 50, "module": 70, "block": 80}


def _context(ctx, contextid, contextlevel, instanceid) -> int:
    if contextid:
        if ctx.one("SELECT 1 FROM context WHERE id = ?", (contextid,)) is None:
            raise errors.MissingRecord("context", "SELECT * FROM {context} WHERE id = ?", [contextid])
        return contextid
    level = LEVELS.get(contextlevel or "")
    if level is None:
        raise errors.invalid_parameter("Missing parameters, please provide either context level with instance id"
                                       " or contextid")
    if level == 10:
        return 1
    found = ctx.context_id(level, instanceid or 0)
    if found is None:
        raise errors.invalid_parameter("Context does not exist")
    return found


def _file_url(ctx, row) -> str:
    script = "draftfile.php" if row["filearea"] == "draft" else "pluginfile.php"
    itempart = f"/{row['itemid']}" if row["component"] == "user" or row["itemid"] else ""
    return (f"{ctx.site_url}/{script}/{row['contextid']}/{row['component']}/{row['filearea']}{itempart}"
            f"{row['filepath']}{row['filename']}")


def _check_user_area(ctx, contextid: int) -> None:
    row = ctx.one("SELECT contextlevel, instanceid FROM context WHERE id = ?", (contextid,))
    if row and row[0] == CONTEXT_USER and row[1] != ctx.userid and not ctx.is_admin:
        raise errors.MoodleError(errors.EXC_REQUIRE_LOGIN, "nopermissions",
                                 "Sorry, but you do not currently have permissions to do that (view files).")


@ws("core_files_get_files", contextid=Value(INT), component=Value(TEXT), filearea=Value(TEXT), itemid=Value(INT),
    filepath=Value(RAW), filename=Value(RAW), modified=Value(INT, DEFAULT, None, allownull=True),
    contextlevel=Value(ALPHA, DEFAULT, ""), instanceid=Value(INT, DEFAULT, 0))
def get_files(ctx, contextid, component, filearea, itemid, filepath, filename, modified, contextlevel, instanceid):
    contextid = _context(ctx, contextid, contextlevel, instanceid)
    _check_user_area(ctx, contextid)
    sql = ("SELECT * FROM files WHERE contextid = ? AND component = ? AND filearea = ? AND itemid = ?"
           " AND filepath = ?")
    params = [contextid, component, filearea, itemid, filepath or "/"]
    if filename:
        sql += " AND filename = ?"
        params.append(filename)
    if modified:
        sql += " AND timemodified >= ?"
        params.append(modified)
    files = []
    for row in ctx.all(sql + " ORDER BY sortorder, filename", params):
        files.append({"contextid": row["contextid"], "component": row["component"], "filearea": row["filearea"],
                      "itemid": row["itemid"], "filepath": row["filepath"], "filename": row["filename"],
                      "isdir": False, "url": _file_url(ctx, row), "timemodified": row["timemodified"],
                      "timecreated": row["timecreated"], "filesize": row["filesize"], "author": row["author"],
                      "license": row["license"]})
    return {"parents": [], "files": files}


@ws("core_files_upload", write=True, contextid=Value(INT, DEFAULT, None, allownull=True), component=Value(COMPONENT),
    filearea=Value(AREA), itemid=Value(INT), filepath=Value(PATH), filename=Value(FILE), filecontent=Value(TEXT),
    contextlevel=Value(ALPHA, DEFAULT, None, allownull=True), instanceid=Value(INT, DEFAULT, None, allownull=True))
def upload(ctx, contextid, component, filearea, itemid, filepath, filename, filecontent, contextlevel, instanceid):
    if component != "user" or filearea not in ("draft", "private"):
        raise errors.coding_error("File can be uploaded to user private or draft areas only")
    usercontext = ctx.context_id(CONTEXT_USER, ctx.userid)
    contextid = _context(ctx, contextid, contextlevel, instanceid)
    if contextid != usercontext:
        raise errors.moodle_exception("wrongcontextid", "Invalid context id")
    if filearea == "draft" and itemid <= 0:
        itemid = ctx.server.draft_itemid(ctx.conn)
    if filearea == "private":
        itemid = 0
    try:
        data = base64.b64decode(filecontent, validate=False)
    except (binascii.Error, ValueError):
        raise errors.invalid_parameter("Invalid base64 content") from None
    filepath = filepath or "/"
    if ctx.one("SELECT 1 FROM files WHERE contextid = ? AND component = ? AND filearea = ? AND itemid = ?"
               " AND filepath = ? AND filename = ?", (contextid, component, filearea, itemid, filepath, filename)):
        raise errors.moodle_exception("fileexist", f"File exists: {filename}")
    contenthash, size = ctx.store.put_bytes(data)
    ctx.conn.execute("INSERT INTO files(contenthash, contextid, component, filearea, itemid, filepath, filename,"
                     " userid, filesize, mimetype, source, author, license, sortorder, timecreated, timemodified)"
                     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'unknown',0,?,?)",
                     (contenthash, contextid, component, filearea, itemid, filepath, filename, ctx.userid, size,
                      mimetype_of(filename), filename, fullname(ctx.user), ctx.now, ctx.now))
    row = ctx.one("SELECT * FROM files WHERE id = last_insert_rowid()")
    return {"contextid": contextid, "component": component, "filearea": filearea, "itemid": itemid,
            "filepath": filepath, "filename": filename, "url": _file_url(ctx, row)}
