"""``core_course_get_contents``: sections, their modules, and each module's files.

File URLs point at ``webservice/pluginfile.php`` (the client appends its
token).  ``completiondata`` describes the *calling* user, as in Moodle.
"""

from __future__ import annotations

import json
import time

from .. import errors
from ..context import CONTEXT_MODULE, THEME_REV
from ..registry import ws
from ..validation import ALPHANUM, DEFAULT, INT, RAW, Multiple, Single, Value
from .coursecommon import MODPLURAL, PURPOSE, sequence

CONTENT_MODS = {"resource", "folder", "page", "url"}
PRINTINTRO = 'a:1:{s:10:"printintro";i:0;}'


def section_title(section, fmt: str) -> str:
    if section["name"]:
        return section["name"]
    if section["section"] == 0:
        return "General"
    return "New section"


def customdata(cm, extra: dict) -> str:
    modname = cm["modname"]
    if modname == "assign":
        return json.dumps({"duedate": extra.get("duedate", 0)}, separators=(",", ":"))
    if modname == "forum":
        return json.dumps({"trackingtype": extra.get("trackingtype", "1")}, separators=(",", ":"))
    if modname == "url":
        return json.dumps({"display": extra.get("display", 4), "filtericon": True}, separators=(",", ":"))
    if modname == "resource":
        data = {"displayoptions": PRINTINTRO, "display": extra.get("display", 4)}
        if extra.get("hasfile", True):
            data = {"filtericon": True, **data}
        return json.dumps(data, separators=(",", ":"))
    if modname == "subsection":
        return json.dumps({"sectionid": str(extra.get("sectionid", ""))}, separators=(",", ":"))
    return '""'


def availability_info(availability: str | None, now: int) -> str | None:
    if not availability:
        return None
    try:
        tree = json.loads(availability)
    except ValueError:
        return None
    for cond in tree.get("c", []):
        if cond.get("type") == "date" and cond.get("d") == ">=" and cond.get("t", 0) > now \
                and (tree.get("showc") or [True])[0] is True:
            when = time.strftime("%-d %B %Y, %-I:%M %p", time.gmtime(cond["t"]))
            return f"Available from <strong>{when}</strong>"
    return None


def completion_data(cm, state_row, tracked: bool) -> dict:
    state = state_row["completionstate"] if state_row else 0
    automatic = cm["completion"] == 2
    details = [{"rulename": "completionview", "rulevalue": {"status": 1 if state else 0, "description": "View"}}] \
        if automatic else []
    return {"state": state, "timecompleted": state_row["timemodified"] if state_row and state else 0,
            "overrideby": state_row["overrideby"] if state_row else None, "valueused": False,
            "hascompletion": True, "isautomatic": automatic, "istrackeduser": tracked, "uservisible": True,
            "details": details, "isoverallcomplete": bool(state)}


def _file_entry(ctx, f, cmctx: int, modname: str) -> dict:
    return {"type": "file", "filename": f["filename"], "filepath": f["filepath"], "filesize": f["filesize"],
            "fileurl": f"{ctx.site_url}/webservice/pluginfile.php/{cmctx}/mod_{modname}/content/0"
                       f"{f['filepath']}{f['filename']}?forcedownload=1",
            "timecreated": f["timecreated"], "timemodified": f["timemodified"], "sortorder": f["sortorder"],
            "mimetype": f["mimetype"], "isexternalfile": False, "userid": f["userid"], "author": f["author"],
            "license": f["license"]}


def module_contents(ctx, cm, cmctx: int, inst, extra: dict):
    """Return (contents, contentsinfo) for modules that have contents, else (None, None)."""
    modname = cm["modname"]
    if modname == "page":
        t = inst["timemodified"]
        return ([{"type": "file", "filename": "index.html", "filepath": "/", "filesize": 0,
                  "fileurl": f"{ctx.site_url}/webservice/pluginfile.php/{cmctx}/mod_page/content/index.html"
                             "?forcedownload=1", "timecreated": None, "timemodified": t, "sortorder": 1,
                  "userid": None, "author": None, "license": None}],
                {"filescount": 1, "filessize": 0, "lastmodified": t, "mimetypes": [], "repositorytype": ""})
    if modname == "url":
        url = extra.get("externalurl", "")
        if url.lower().startswith("javascript:") or not url:
            return [], {"filescount": 0, "filessize": 0, "lastmodified": 0, "mimetypes": []}
        t = inst["timemodified"]
        return ([{"type": "url", "filename": inst["name"], "filepath": None, "filesize": 0, "fileurl": url,
                  "timecreated": None, "timemodified": t, "sortorder": None, "userid": None, "author": None,
                  "license": None}],
                {"filescount": 1, "filessize": 0, "lastmodified": t, "mimetypes": [], "repositorytype": ""})
    files = ctx.all("SELECT * FROM files WHERE contextid = ? AND component = ? AND filearea = 'content'"
                    " AND filename <> '.' ORDER BY sortorder DESC, filepath, filename", (cmctx, f"mod_{modname}"))
    if not files:
        return [], {"filescount": 0, "filessize": 0, "lastmodified": 0, "mimetypes": []}
    entries = [_file_entry(ctx, f, cmctx, modname) for f in files]
    return entries, {"filescount": len(files), "filessize": sum(f["filesize"] for f in files),
                     "lastmodified": max(f["timemodified"] for f in files),
                     "mimetypes": sorted({f["mimetype"] for f in files if f["mimetype"]}), "repositorytype": ""}


def module_entry(ctx, cm, inst, cmctx: int, *, completion_rows: dict, tracked: bool, with_contents: bool) -> dict:
    modname = cm["modname"]
    extra = json.loads(inst["extra"] or "{}") if inst else {}
    if modname == "resource":
        extra["hasfile"] = bool(ctx.one("SELECT 1 FROM files WHERE contextid = ? AND component = 'mod_resource'",
                                        (cmctx,)))
    if modname == "subsection":
        sub = ctx.one("SELECT id FROM course_sections WHERE component = 'mod_subsection' AND itemid = ? AND course = ?",
                      (cm["instance"], cm["course"]))
        extra["sectionid"] = sub[0] if sub else ""
    entry = {"id": cm["id"]}
    if modname not in ("label", "subsection"):
        entry["url"] = f"{ctx.site_url}/mod/{modname}/view.php?id={cm['id']}"
    entry.update({"name": inst["name"] if inst else "", "instance": cm["instance"], "contextid": cmctx})
    if modname == "label":
        entry["description"] = f'<div class="no-overflow">{inst["intro"] if inst else ""}</div>'
    entry.update({"visible": cm["visible"], "uservisible": True})
    info = availability_info(cm["availability"], ctx.now)
    if info:
        entry["availabilityinfo"] = info
    icon = f"{ctx.site_url}/theme/image.php/boost/{modname}/{THEME_REV}/monologo?filtericon=1"
    if modname == "resource" and extra.get("hasfile"):
        icon = f"{ctx.site_url}/theme/image.php/boost/core/{THEME_REV}/f/pdf?filtericon=1"
    entry.update({"visibleoncoursepage": cm["visibleoncoursepage"], "modicon": icon, "modname": modname,
                  "purpose": PURPOSE.get(modname, "content"), "branded": False,
                  "modplural": MODPLURAL.get(modname, modname.title() + "s"), "availability": cm["availability"],
                  "indent": cm["indent"], "onclick": "", "afterlink": None})
    if modname in ("forum", "resource"):
        entry["activitybadge"] = []
    entry.update({"customdata": customdata(cm, extra), "noviewlink": modname == "label", "candisplay": True,
                  "completion": cm["completion"]})
    if cm["completion"]:
        entry["completiondata"] = completion_data(cm, completion_rows.get(cm["id"]), tracked)
    entry.update({"downloadcontent": 1, "dates": [], "groupmode": cm["groupmode"]})
    if modname == "assign" and extra.get("duedate"):
        entry["dates"] = [{"label": "Due:", "timestamp": extra["duedate"], "dataid": "duedate"}]
    if with_contents and modname in CONTENT_MODS:
        contents, contentsinfo = module_contents(ctx, cm, cmctx, inst, extra)
        entry["contents"] = contents
        entry["contentsinfo"] = contentsinfo
    return entry


@ws("core_course_get_contents", courseid=Value(INT),
    options=Multiple(Single({"name": Value(ALPHANUM), "value": Value(RAW)}), DEFAULT, []))
def get_contents(ctx, courseid, options):
    course = ctx.course(courseid)
    ctx.validate_course_context(courseid)
    opts = {}
    for option in options:
        name = option["name"].lower()
        if name not in ("excludemodules", "excludecontents", "includestealthmodules", "sectionid", "sectionnumber",
                        "cmid", "modname", "modid"):
            raise errors.moodle_exception("errorinvalidparam", f'The param "{option["name"]}" is invalid.')
        opts[name] = option["value"]
    conn = ctx.conn
    sections = ctx.all("SELECT * FROM course_sections WHERE course = ? ORDER BY section", (courseid,))
    cms = {r["id"]: r for r in ctx.all("SELECT * FROM course_modules WHERE course = ? AND deletioninprogress = 0",
                                       (courseid,))}
    insts = {(r["modname"], r["id"]): r for r in ctx.all("SELECT * FROM modinstance WHERE course = ?", (courseid,))}
    ctxs = {r[0]: r[1] for r in conn.execute(
        "SELECT instanceid, id FROM context WHERE contextlevel = ? AND instanceid IN"
        " (SELECT id FROM course_modules WHERE course = ?)", (CONTEXT_MODULE, courseid))}
    completion_rows = {r["coursemoduleid"]: r for r in ctx.all(
        "SELECT * FROM course_modules_completion WHERE userid = ? AND coursemoduleid IN"
        " (SELECT id FROM course_modules WHERE course = ?)", (ctx.userid, courseid))}
    tracked = ctx.is_enrolled(courseid) and not ctx.is_admin
    excl_modules = opts.get("excludemodules") in ("1", "true")
    excl_contents = opts.get("excludecontents") in ("1", "true")
    out = []
    for section in sections:
        if "sectionid" in opts and str(section["id"]) != opts["sectionid"]:
            continue
        if "sectionnumber" in opts and str(section["section"]) != opts["sectionnumber"]:
            continue
        modules = []
        if not excl_modules:
            for cmid in sequence(section):
                cm = cms.get(cmid)
                if cm is None:
                    continue
                if "cmid" in opts and str(cmid) != opts["cmid"]:
                    continue
                if "modname" in opts and cm["modname"] != opts["modname"]:
                    continue
                if "modid" in opts and str(cm["instance"]) != opts["modid"]:
                    continue
                modules.append(module_entry(ctx, cm, insts.get((cm["modname"], cm["instance"])), ctxs.get(cmid),
                                            completion_rows=completion_rows, tracked=tracked,
                                            with_contents=not excl_contents))
        if "cmid" in opts and not modules:
            continue
        out.append({"id": section["id"], "name": section_title(section, course["format"]),
                    "visible": section["visible"], "summary": section["summary"] or "",
                    "summaryformat": section["summaryformat"], "section": section["section"],
                    "hiddenbynumsections": 0, "uservisible": True, "component": section["component"],
                    "itemid": section["itemid"], "modules": modules})
    return out
