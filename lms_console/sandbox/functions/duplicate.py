"""``core_course_duplicate_course``: a backup-and-restore in Moodle, a row copy here."""

from __future__ import annotations

from ..context import CONTEXT_COURSE, CONTEXT_MODULE


def copy_course(ctx, source, fullname: str, shortname: str, categoryid: int, visible: int, *,
                activities: bool = True, users: bool = False) -> int:
    conn, now = ctx.conn, ctx.now
    cols = [c[1] for c in conn.execute("PRAGMA table_info(course)") if c[1] != "id"]
    values = {c: source[c] for c in cols}
    values.update({"fullname": fullname, "shortname": shortname, "idnumber": "", "category": categoryid,
                   "visible": visible, "visibleold": visible, "timecreated": now, "timemodified": now,
                   "cacherev": now})
    values["sortorder"] = conn.execute("SELECT COALESCE(MAX(sortorder), 0) + 1 FROM course WHERE category = ?",
                                       (categoryid,)).fetchone()[0]
    newid = conn.execute(f"INSERT INTO course({', '.join(values)}) VALUES ({','.join('?' * len(values))})",
                         list(values.values())).lastrowid
    cur = conn.execute("INSERT INTO context(contextlevel, instanceid, path, depth) VALUES (?,?,'',2)",
                       (CONTEXT_COURSE, newid))
    coursectx = cur.lastrowid
    conn.execute("UPDATE context SET path = ? WHERE id = ?", (f"/1/{coursectx}", coursectx))
    section_map, cm_map = {}, {}
    for sec in conn.execute("SELECT * FROM course_sections WHERE course = ? ORDER BY section",
                            (source["id"],)).fetchall():
        section_map[sec["id"]] = conn.execute(
            "INSERT INTO course_sections(course, section, name, summary, summaryformat, sequence, visible,"
            " availability, component, itemid, timemodified) VALUES (?,?,?,?,?,'',?,?,?,?,?)",
            (newid, sec["section"], sec["name"], sec["summary"], sec["summaryformat"], sec["visible"],
             sec["availability"], sec["component"], sec["itemid"], now)).lastrowid
    if activities:
        inst_map = {}
        for cm in conn.execute("SELECT * FROM course_modules WHERE course = ? ORDER BY id", (source["id"],)).fetchall():
            key = (cm["modname"], cm["instance"])
            if key not in inst_map:
                inst = conn.execute("SELECT * FROM modinstance WHERE modname = ? AND id = ?", key).fetchone()
                newinst = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM modinstance WHERE modname = ?",
                                       (cm["modname"],)).fetchone()[0]
                conn.execute("INSERT INTO modinstance(modname, id, course, name, intro, introformat, timemodified,"
                             " extra) VALUES (?,?,?,?,?,?,?,?)", (cm["modname"], newinst, newid, inst["name"],
                                                                  inst["intro"], inst["introformat"], now,
                                                                  inst["extra"]))
                inst_map[key] = newinst
            newcm = conn.execute(
                "INSERT INTO course_modules(course, module, modname, instance, section, added, visible,"
                " visibleoncoursepage, visibleold, groupmode, indent, completion, availability)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (newid, cm["module"], cm["modname"], inst_map[key], section_map[cm["section"]], now, cm["visible"],
                 cm["visibleoncoursepage"], cm["visibleold"], cm["groupmode"], cm["indent"], cm["completion"],
                 cm["availability"])).lastrowid
            cm_map[cm["id"]] = newcm
            oldctx = ctx.context_id(CONTEXT_MODULE, cm["id"])
            cur = conn.execute("INSERT INTO context(contextlevel, instanceid, path, depth) VALUES (?,?,'',3)",
                               (CONTEXT_MODULE, newcm))
            conn.execute("UPDATE context SET path = ? WHERE id = ?", (f"/1/{coursectx}/{cur.lastrowid}",
                                                                      cur.lastrowid))
            conn.execute("INSERT INTO files(contenthash, contextid, component, filearea, itemid, filepath, filename,"
                         " userid, filesize, mimetype, source, author, license, sortorder, timecreated, timemodified)"
                         " SELECT contenthash, ?, component, filearea, itemid, filepath, filename, userid, filesize,"
                         " mimetype, source, author, license, sortorder, ?, ? FROM files WHERE contextid = ?",
                         (cur.lastrowid, now, now, oldctx))
        for old, new in section_map.items():
            seq = conn.execute("SELECT sequence FROM course_sections WHERE id = ?", (old,)).fetchone()[0]
            mapped = [str(cm_map[int(x)]) for x in (seq or "").split(",") if x and int(x) in cm_map]
            conn.execute("UPDATE course_sections SET sequence = ? WHERE id = ?", (",".join(mapped), new))
        conn.execute("INSERT INTO course_completion_criteria(course, criteriatype, module, moduleinstance)"
                     " SELECT ?, criteriatype, module, moduleinstance FROM course_completion_criteria WHERE course = ?",
                     (newid, source["id"]))
        for old, new in cm_map.items():
            conn.execute("UPDATE course_completion_criteria SET moduleinstance = ? WHERE course = ?"
                         " AND moduleinstance = ?", (new, newid, old))
    conn.execute("INSERT INTO enrol(enrol, status, courseid, sortorder, roleid, timecreated)"
                 " VALUES ('manual', 0, ?, 0, 5, ?)", (newid, now))
    gradecat = newid
    conn.execute("INSERT INTO grade_items(courseid, itemtype, iteminstance, grademin, grademax, sortorder)"
                 " VALUES (?, 'course', ?, 0, 100, 1)", (newid, gradecat))
    for item in conn.execute("SELECT * FROM grade_items WHERE courseid = ? AND itemtype = 'mod'",
                             (source["id"],)).fetchall():
        if item["cmid"] in cm_map:
            newcm = conn.execute("SELECT instance FROM course_modules WHERE id = ?", (cm_map[item["cmid"]],)).fetchone()
            conn.execute("INSERT INTO grade_items(courseid, categoryid, itemname, itemtype, itemmodule, iteminstance,"
                         " itemnumber, idnumber, grademin, grademax, sortorder, cmid)"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                         (newid, gradecat, item["itemname"], "mod", item["itemmodule"], newcm[0], 0, "",
                          item["grademin"], item["grademax"], item["sortorder"], cm_map[item["cmid"]]))
    if users:
        manual = conn.execute("SELECT id FROM enrol WHERE courseid = ? AND enrol = 'manual'", (newid,)).fetchone()[0]
        oldctx = ctx.context_id(CONTEXT_COURSE, source["id"])
        conn.execute("INSERT OR IGNORE INTO user_enrolments(status, enrolid, userid, timestart, timeend, timecreated,"
                     " timemodified) SELECT ue.status, ?, ue.userid, ue.timestart, ue.timeend, ?, ? FROM"
                     " user_enrolments ue JOIN enrol e ON e.id = ue.enrolid WHERE e.courseid = ?",
                     (manual, now, now, source["id"]))
        conn.execute("INSERT INTO role_assignments(roleid, contextid, userid, timemodified) SELECT roleid, ?, userid, ?"
                     " FROM role_assignments WHERE contextid = ?", (coursectx, now, oldctx))
    conn.execute("UPDATE course_categories SET coursecount = (SELECT COUNT(*) FROM course WHERE category ="
                 " course_categories.id)")
    return newid
