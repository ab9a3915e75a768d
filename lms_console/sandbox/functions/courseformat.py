"""Course structure editing: ``core_courseformat_update_course`` (state actions),
``core_courseformat_new_module`` (subsections only), ``core_update_inplace_editable``
(section and activity names) and ``core_course_delete_modules``.

State actions answer a JSON-encoded string: a list of ``{name, action, fields}``
updates, as the course editor's reactive state expects.
"""

from __future__ import annotations

import json

from .. import errors
from ..registry import ws
from ..validation import ALPHANUMEXT, COMPONENT, DEFAULT, INT, NOTAGS, PLUGIN, RAW, Multiple, Value
from .contents import section_title
from .coursecommon import add_module, add_section, delete_module, get_cm, get_section, sequence, set_sequence

MODNAMES = {"assign": "Assignment", "folder": "Folder", "forum": "Forum", "label": "Text and media area",
            "page": "Page", "quiz": "Quiz", "resource": "File", "url": "URL", "subsection": "Subsection"}


def course_state(ctx, courseid: int, removed: list[tuple[str, int]] = ()) -> str:
    """Full course state as ``put`` updates (plus ``remove`` for deleted items)."""
    course = ctx.course(courseid)
    sections = ctx.all("SELECT * FROM course_sections WHERE course = ? ORDER BY section", (courseid,))
    cms = {r["id"]: r for r in ctx.all("SELECT * FROM course_modules WHERE course = ?", (courseid,))}
    names = {(r["modname"], r["id"]): r["name"] for r in ctx.all("SELECT modname, id, name FROM modinstance"
                                                                  " WHERE course = ?", (courseid,))}
    delegated = {(s["itemid"]): s for s in sections if s["component"] == "mod_subsection"}
    parent_of = {}
    for s in sections:
        for cmid in sequence(s):
            cm = cms.get(cmid)
            if cm is not None and cm["modname"] == "subsection" and cm["instance"] in delegated:
                parent_of[delegated[cm["instance"]]["id"]] = s
    updates = [{"name": "course", "action": "put", "fields": {
        "id": str(courseid), "numsections": len([s for s in sections if s["component"] is None]) - 1,
        "sectionlist": [str(s["id"]) for s in sections], "editmode": False, "highlighted": "Highlighted",
        "baseurl": f"{ctx.site_url}/course/view.php?id={courseid}", "statekey": f"{course['cacherev']}_{ctx.now}",
        "maxbytes": -1, "maxbytestext": "Unlimited"}}]
    for s in sections:
        parent = parent_of.get(s["id"])
        updates.append({"name": "section", "action": "put", "fields": {
            "id": str(s["id"]), "section": s["section"], "number": s["section"],
            "title": section_title(s, course["format"]), "hassummary": bool(s["summary"]), "rawtitle": s["name"],
            "cmlist": [str(c) for c in sequence(s) if c in cms], "visible": bool(s["visible"]), "current": False,
            "indexcollapsed": False, "contentcollapsed": False, "hasrestrictions": bool(s["availability"]),
            "bulkeditable": s["section"] != 0, "component": s["component"], "itemid": s["itemid"],
            "parentsectionid": str(parent["id"]) if parent else None,
            "sectionurl": f"{ctx.site_url}/course/section.php?id={parent['id'] if parent else s['id']}"
                          + (f"#section-{s['section']}" if parent else "")}})
    for s in sections:
        for cmid in sequence(s):
            cm = cms.get(cmid)
            if cm is None:
                continue
            fields = {"id": str(cmid), "anchor": f"module-{cmid}", "name": names.get((cm["modname"], cm["instance"]),
                                                                                         ""),
                      "visible": bool(cm["visible"]), "stealth": bool(cm["visible"] and not cm["visibleoncoursepage"]),
                      "sectionid": str(s["id"]), "sectionnumber": s["section"], "uservisible": True,
                      "hascmrestrictions": bool(cm["availability"]), "modname": MODNAMES.get(cm["modname"], ""),
                      "indent": cm["indent"], "groupmode": cm["groupmode"], "module": cm["modname"],
                      "plugin": f"mod_{cm['modname']}", "hasdelegatedsection": cm["modname"] == "subsection"}
            if cm["modname"] == "subsection" and cm["instance"] in delegated:
                fields["delegatesectionid"] = str(delegated[cm["instance"]]["id"])
            fields["accessvisible"] = True
            if cm["modname"] not in ("label", "subsection"):
                fields["url"] = f"{ctx.site_url}/mod/{cm['modname']}/view.php?id={cmid}"
            fields.update({"istrackeduser": False, "allowstealth": False})
            updates.append({"name": "cm", "action": "put", "fields": fields})
    for kind, itemid in removed:
        updates.append({"name": kind, "action": "remove", "fields": {"id": str(itemid)}})
    return json.dumps(updates, separators=(",", ":"))


def _renumber(conn, courseid: int) -> None:
    """Keep section numbers contiguous (delegated sections stay after the normal ones)."""
    rows = conn.execute("SELECT id FROM course_sections WHERE course = ? ORDER BY component IS NOT NULL, section",
                        (courseid,)).fetchall()
    conn.execute("UPDATE course_sections SET section = -section - 1000 WHERE course = ?", (courseid,))
    for number, row in enumerate(rows):
        conn.execute("UPDATE course_sections SET section = ? WHERE id = ?", (number, row[0]))


def _course_sections(ctx, courseid: int, ids: list[int]):
    out = []
    for sid in ids:
        section = get_section(ctx, sid)
        if section["course"] != courseid:
            raise errors.moodle_exception("invalidsectionid", f"Invalid section id {sid}")
        out.append(section)
    return out


def _course_cms(ctx, courseid: int, ids: list[int]):
    out = []
    for cmid in ids:
        cm = get_cm(ctx, cmid)
        if cm["course"] != courseid:
            raise errors.moodle_exception("invalidcoursemodule", "Invalid course module ID")
        out.append(cm)
    return out


@ws("core_courseformat_update_course", write=True, action=Value(ALPHANUMEXT), courseid=Value(INT),
    ids=Multiple(Value(INT), DEFAULT, []), targetsectionid=Value(INT, DEFAULT, None, allownull=True),
    targetcmid=Value(INT, DEFAULT, None, allownull=True))
def update_course(ctx, action, courseid, ids, targetsectionid, targetcmid):
    ctx.course(courseid)
    ctx.validate_course_context(courseid)
    ctx.require_capability("moodle/course:update")
    conn = ctx.conn
    removed: list[tuple[str, int]] = []
    if action == "section_add":
        count = conn.execute("SELECT COUNT(*) FROM course_sections WHERE course = ? AND component IS NULL",
                             (courseid,)).fetchone()[0]
        if targetsectionid:
            target = _course_sections(ctx, courseid, [targetsectionid])[0]
            conn.execute("UPDATE course_sections SET section = section + 1 WHERE course = ? AND section > ?",
                         (courseid, target["section"]))
            add_section(conn, courseid, target["section"] + 1, None, ctx.now)
        else:
            conn.execute("UPDATE course_sections SET section = section + 1 WHERE course = ? AND section >= ?",
                         (courseid, count))
            add_section(conn, courseid, count, None, ctx.now)
        _renumber(conn, courseid)
    elif action == "section_delete":
        for section in _course_sections(ctx, courseid, ids):
            if section["section"] == 0:
                raise errors.moodle_exception("sectionzerocannotbedeleted", "Section 0 cannot be deleted")
            for cmid in sequence(section):
                cm = ctx.one("SELECT * FROM course_modules WHERE id = ?", (cmid,))
                if cm is not None:
                    delete_module(conn, cm)
                    removed.append(("cm", cmid))
            conn.execute("DELETE FROM course_sections WHERE id = ?", (section["id"],))
            removed.append(("section", section["id"]))
        _renumber(conn, courseid)
    elif action in ("section_hide", "section_show"):
        visible = 1 if action == "section_show" else 0
        for section in _course_sections(ctx, courseid, ids):
            conn.execute("UPDATE course_sections SET visible = ? WHERE id = ?", (visible, section["id"]))
            for cmid in sequence(section):
                conn.execute("UPDATE course_modules SET visible = CASE WHEN ? = 0 THEN 0 ELSE visibleold END"
                             " WHERE id = ?", (visible, cmid))
    elif action == "section_move_after":
        moving = _course_sections(ctx, courseid, ids)
        target = _course_sections(ctx, courseid, [targetsectionid])[0] if targetsectionid else None
        order = [r["id"] for r in ctx.all("SELECT id FROM course_sections WHERE course = ? AND component IS NULL"
                                          " ORDER BY section", (courseid,))]
        moving_ids = [s["id"] for s in moving if s["section"] != 0]
        order = [sid for sid in order if sid not in moving_ids]
        pos = order.index(target["id"]) + 1 if target and target["id"] in order else 1
        order[pos:pos] = moving_ids
        conn.execute("UPDATE course_sections SET section = -section - 1000 WHERE course = ? AND component IS NULL",
                     (courseid,))
        for number, sid in enumerate(order):
            conn.execute("UPDATE course_sections SET section = ? WHERE id = ?", (number, sid))
        _renumber(conn, courseid)
    elif action == "cm_move":
        cms = _course_cms(ctx, courseid, ids)
        if targetcmid:
            target_cm = _course_cms(ctx, courseid, [targetcmid])[0]
            target_section = get_section(ctx, target_cm["section"])
        elif targetsectionid:
            target_cm, target_section = None, _course_sections(ctx, courseid, [targetsectionid])[0]
        else:
            raise errors.moodle_exception("Action cm_move requires targetsectionid or targetcmid")
        for cm in cms:
            old = get_section(ctx, cm["section"])
            set_sequence(conn, old["id"], [c for c in sequence(old) if c != cm["id"]])
            target_section = get_section(ctx, target_section["id"])
            seq = [c for c in sequence(target_section) if c != cm["id"]]
            if target_cm is not None and target_cm["id"] in seq:
                seq.insert(seq.index(target_cm["id"]), cm["id"])
            else:
                seq.append(cm["id"])
            set_sequence(conn, target_section["id"], seq)
            conn.execute("UPDATE course_modules SET section = ? WHERE id = ?", (target_section["id"], cm["id"]))
    elif action in ("cm_hide", "cm_show", "cm_stealth"):
        for cm in _course_cms(ctx, courseid, ids):
            visible, oncourse = {"cm_hide": (0, 1), "cm_show": (1, 1), "cm_stealth": (1, 0)}[action]
            conn.execute("UPDATE course_modules SET visible = ?, visibleold = ?, visibleoncoursepage = ? WHERE id = ?",
                         (visible, visible, oncourse, cm["id"]))
    elif action == "cm_delete":
        for cm in _course_cms(ctx, courseid, ids):
            delete_module(conn, cm)
            removed.append(("cm", cm["id"]))
    else:
        raise errors.moodle_exception(f"Invalid course state action {action} in core_courseformat\\stateactions")
    conn.execute("UPDATE course SET cacherev = ? WHERE id = ?", (ctx.now, courseid))
    return course_state(ctx, courseid, removed)


@ws("core_courseformat_new_module", write=True, courseid=Value(INT), modname=Value(PLUGIN),
    targetsectionid=Value(INT), targetcmid=Value(INT, DEFAULT, None, allownull=True))
def new_module(ctx, courseid, modname, targetsectionid, targetcmid):
    ctx.course(courseid)
    ctx.validate_course_context(courseid)
    ctx.require_capability("moodle/course:update")
    if modname != "subsection":
        raise errors.moodle_exception(f"Module {modname} does not support quick creation")
    section = _course_sections(ctx, courseid, [targetsectionid])[0]
    conn = ctx.conn
    cmid, instance, _ctxid = add_module(ctx, courseid, section["id"], "subsection", "New subsection",
                                        before=targetcmid)
    number = conn.execute("SELECT COALESCE(MAX(section), 0) + 1 FROM course_sections WHERE course = ?",
                          (courseid,)).fetchone()[0]
    add_section(conn, courseid, number, "New subsection", ctx.now, component="mod_subsection", itemid=instance)
    conn.execute("UPDATE course_modules SET groupmode = 1 WHERE id = ?", (cmid,))
    return course_state(ctx, courseid)


@ws("core_update_inplace_editable", write=True, component=Value(COMPONENT), itemtype=Value(NOTAGS),
    itemid=Value(INT), value=Value(RAW))
def update_inplace_editable(ctx, component, itemtype, itemid, value):
    conn = ctx.conn
    if itemtype == "sectionname" and component.startswith("format_"):
        section = get_section(ctx, itemid)
        ctx.validate_course_context(section["course"])
        ctx.require_capability("moodle/course:update")
        conn.execute("UPDATE course_sections SET name = ?, timemodified = ? WHERE id = ?",
                     (value if value.strip() else None, ctx.now, itemid))
        section = get_section(ctx, itemid)
        display = section_title(section, "topics")
        label = f"New name for section {display}"
    elif itemtype == "activityname" and component == "core_course":
        cm = get_cm(ctx, itemid)
        ctx.validate_course_context(cm["course"])
        ctx.require_capability("moodle/course:update")
        if not value.strip():
            raise errors.invalid_parameter("Activity name cannot be empty")
        conn.execute("UPDATE modinstance SET name = ?, timemodified = ? WHERE modname = ? AND id = ?",
                     (value, ctx.now, cm["modname"], cm["instance"]))
        display = value
        label = f"New name for activity {value}"
    else:
        raise errors.moodle_exception("inplaceeditableerror", "The value is not valid", f"{component}/{itemtype}")
    conn.execute("UPDATE course SET cacherev = ? WHERE id = (SELECT course FROM course_sections WHERE id = ?)"
                 if itemtype == "sectionname" else
                 "UPDATE course SET cacherev = ? WHERE id = (SELECT course FROM course_modules WHERE id = ?)",
                 (ctx.now, itemid))
    return {"displayvalue": display, "component": component, "itemtype": itemtype, "value": value,
            "itemid": str(itemid), "edithint": "Edit name", "editlabel": label,
            "editicon": {"key": "t/editstring", "component": "core", "title": "Edit name"}, "type": "text",
            "options": "", "linkeverything": 0}


@ws("core_course_delete_modules", write=True, cmids=Multiple(Value(INT)))
def delete_modules(ctx, cmids):
    for cmid in cmids:
        cm = ctx.one("SELECT * FROM course_modules WHERE id = ?", (cmid,))
        if cm is None:
            raise errors.MissingRecord("course_modules", "SELECT id,course FROM {course_modules} WHERE id = ?",
                                       [cmid], errorcode="invalidcoursemodule", message="Invalid course module ID")
        ctx.validate_course_context(cm["course"])
        ctx.require_capability("moodle/course:manageactivities")
        delete_module(ctx.conn, cm)
    return None
