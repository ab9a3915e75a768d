"""Seed of the course side: categories, courses, sections, activities, files, groups, enrolments.

Split from :mod:`seed` to keep modules small; it shares that module's id
counters and random generator so the whole seed stays deterministic.
"""

from __future__ import annotations

import json
import random
import sqlite3

from . import seed_data as D

DAY = 86400
# Activity type per section (cycled), with its completion mode (0 none, 1 manual, 2 automatic).
SECTION_ACTIVITIES = ["resource", "assign", "url", "folder", "quiz", "assign", "forum"]
COMPLETION = {"label": 0, "page": 2, "resource": 2, "url": 2, "folder": 0, "assign": 1, "quiz": 1, "forum": 1,
              "subsection": 0}
TOPIC_WORDS = ["Getting started", "Foundations", "Key concepts", "Methods", "Case studies", "Practice",
               "Applications", "Review", "Project work", "Advanced topics", "Revision", "Assessment"]
MIMETYPES = {"pdf": "application/pdf", "txt": "text/plain", "docx":
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
             "csv": "text/csv"}
MODULE_IDS = {"assign": 1, "folder": 2, "forum": 3, "label": 4, "page": 5, "quiz": 6, "resource": 7, "url": 8,
              "subsection": 9}


def mimetype_of(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return MIMETYPES.get(ext, "application/octet-stream")


class CourseBuilder:
    """Builds the course side of the seed and remembers what enrolment needs."""

    def __init__(self, conn: sqlite3.Connection, store, ids, rng: random.Random, now: int):
        self.conn, self.store, self.ids, self.rng, self.now = conn, store, ids, rng, now
        self.category_ids: dict[str, int] = {}
        self.category_contexts: list[tuple[int, str, int]] = []
        self.course_info: list[dict] = []
        self._cat_path: dict[int, str] = {}

    # -- categories ------------------------------------------------------------
    def categories(self) -> None:
        rows, ctx = [], []
        for idnumber, name, parent, desc in D.CATEGORIES:
            cid = self.ids.take("course_categories")
            self.category_ids[idnumber] = cid
            parent_id = self.category_ids[parent] if parent else 0
            path = (self._cat_path[parent_id] if parent_id else "") + f"/{cid}"
            self._cat_path[cid] = path
            depth = path.count("/")
            rows.append((cid, name, idnumber, desc, 1, parent_id, cid * 10000, 1, 1, self.now - 200 * DAY,
                         depth, path, ""))
            ctxid = self.ids.take("context")
            ctx.append((ctxid, 40, cid, f"/1/{ctxid}", 2))
            if parent_id:
                self.category_contexts.append((cid, name, ctxid))
        self.conn.executemany(
            "INSERT INTO course_categories(id, name, idnumber, description, descriptionformat, parent, sortorder,"
            " visible, visibleold, timemodified, depth, path, theme) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        self.conn.executemany("INSERT INTO context(id, contextlevel, instanceid, path, depth) VALUES (?,?,?,?,?)",
                              ctx)

    # -- courses ---------------------------------------------------------------
    def _catalog(self) -> list[tuple[str, str, str]]:
        lists = [(cat, prefix, titles) for cat, (prefix, titles) in D.COURSE_TITLES.items()]
        out = []
        for i in range(max(len(t) for _, _, t in lists)):
            for cat, prefix, titles in lists:
                if i < len(titles):
                    out.append((cat, prefix, titles[i]))
        return out

    def courses(self, count: int) -> None:
        catalog = self._catalog()
        used: set[str] = set()
        per_prefix: dict[str, int] = {}
        tables: dict[str, list] = {k: [] for k in ("course", "context", "sections", "cms", "inst", "files",
                                                   "criteria", "grade_items", "enrol", "groups", "groupings",
                                                   "groupings_groups")}
        for k in range(count):
            cat, prefix, title = catalog[k % len(catalog)]
            cycle = k // len(catalog)
            if cycle:
                title = f"{title} (Group {chr(65 + cycle % 26)}{'' if cycle < 26 else cycle // 26})"
            n = per_prefix.get(prefix, 0)
            per_prefix[prefix] = n + 1
            shortname = f"{prefix}{100 * (n % 4 + 1) + n // 4 + 1}"
            while shortname in used:
                shortname += "B"
            used.add(shortname)
            self._course(tables, cat, title, shortname, k)
        c = self.conn
        c.executemany("INSERT INTO course(id, category, sortorder, fullname, shortname, idnumber, summary, format,"
                      " startdate, enddate, visible, visibleold, groupmode, timecreated, timemodified,"
                      " enablecompletion, cacherev, newsitems) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      tables["course"])
        c.executemany("INSERT INTO context(id, contextlevel, instanceid, path, depth) VALUES (?,?,?,?,?)",
                      tables["context"])
        c.executemany("INSERT INTO course_sections(id, course, section, name, summary, sequence, visible,"
                      " timemodified) VALUES (?,?,?,?,?,?,?,?)", tables["sections"])
        c.executemany("INSERT INTO course_modules(id, course, module, modname, instance, section, added, visible,"
                      " completion) VALUES (?,?,?,?,?,?,?,?,?)", tables["cms"])
        c.executemany("INSERT INTO modinstance(modname, id, course, name, intro, introformat, timemodified, extra)"
                      " VALUES (?,?,?,?,?,?,?,?)", tables["inst"])
        c.executemany("INSERT INTO files(contenthash, contextid, component, filearea, itemid, filepath, filename,"
                      " userid, filesize, mimetype, source, author, license, sortorder, timecreated, timemodified)"
                      " VALUES (?,?,?,?,0,'/',?,2,?,?,?,'Admin User','unknown',?,?,?)", tables["files"])
        c.executemany("INSERT INTO course_completion_criteria(course, criteriatype, module, moduleinstance)"
                      " VALUES (?,4,?,?)", tables["criteria"])
        c.executemany("INSERT INTO grade_items(id, courseid, categoryid, itemname, itemtype, itemmodule, iteminstance,"
                      " itemnumber, idnumber, grademin, grademax, sortorder, cmid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      tables["grade_items"])
        c.executemany("INSERT INTO enrol(id, enrol, status, courseid, sortorder, roleid, customint1, timecreated)"
                      " VALUES (?,?,?,?,?,?,?,?)", tables["enrol"])
        c.executemany("INSERT INTO groups(id, courseid, idnumber, name, description, descriptionformat, visibility,"
                      " participation, timecreated, timemodified) VALUES (?,?,?,?,?,1,0,1,?,?)", tables["groups"])
        c.executemany("INSERT INTO groupings(id, courseid, name, idnumber, description, timecreated, timemodified)"
                      " VALUES (?,?,?,?,?,?,?)", tables["groupings"])
        c.executemany("INSERT INTO groupings_groups(groupingid, groupid, timeadded) VALUES (?,?,?)",
                      tables["groupings_groups"])

    def _course(self, t: dict, cat: str, title: str, shortname: str, k: int) -> None:
        rng, now, ids = self.rng, self.now, self.ids
        cid = ids.take("course")
        catid = self.category_ids[cat]
        ctxid = ids.take("context")
        t["context"].append((ctxid, 50, cid, f"/1/{ctxid}", 2))
        staff_course = cat.startswith("STAFF")
        start = (now - rng.randint(30, 240) * DAY) // DAY * DAY
        end = 0 if staff_course else start + rng.randint(90, 200) * DAY
        completion = 1 if rng.random() < 0.85 else 0
        visible = 0 if rng.random() < 0.05 else 1
        fmt = "weeks" if rng.random() < 0.25 else "topics"
        has_groups = rng.random() < 0.7
        created = start - rng.randint(10, 60) * DAY
        t["course"].append((cid, catid, catid * 10000 + k + 1, title, shortname, f"{shortname}-{2026 - (k % 3)}",
                            f"<p>{title}: course page of the sandbox site.</p>", fmt, start, end, visible, visible,
                            1 if has_groups else 0, created, created, completion, now, 0 if staff_course else 5))
        numsections = rng.randint(4, 10)
        info = {"id": cid, "ctx": ctxid, "start": start, "end": end, "completion": completion, "criteria": [],
                "graded": [], "groups": [], "staff": staff_course, "shortname": shortname}
        # Sections and activities.
        gradecat = ids.take("grade_categories")
        item_rows = []
        for number in range(numsections + 1):
            sid = ids.take("course_sections")
            cms: list[tuple[str, str]] = []
            if number == 0:
                cms.append(("forum", "Announcements"))
            else:
                if number % 2 == 1:
                    cms.append(("label", f"Welcome to section {number} of {shortname}."))
                cms.append(("page", f"Reading {number}: key concepts"))
                kind = SECTION_ACTIVITIES[(number - 1) % len(SECTION_ACTIVITIES)]
                names = {"resource": f"Lecture {number:02d} slides", "assign": f"Assignment {number}",
                         "url": f"Further reading {number}", "folder": f"Worksheets {number}",
                         "quiz": f"Quiz {number}", "forum": "Course discussion"}
                cms.append((kind, names[kind]))
                if number == numsections and kind != "quiz":
                    cms.append(("quiz", "Final quiz"))
            sequence = []
            for modname, name in cms:
                cmid = ids.take("course_modules")
                inst = ids.take("inst_" + modname)
                mctx = ids.take("context")
                t["context"].append((mctx, 70, cmid, f"/1/{ctxid}/{mctx}", 3))
                comp = COMPLETION[modname] if completion and number else 0
                t["cms"].append((cmid, cid, MODULE_IDS[modname], modname, inst, sid, created, 1, comp))
                t["inst"].append((modname, inst, cid, name, self._intro(modname, name), 1, created,
                                  json.dumps(self._extra(modname, name, start, number, cid))))
                sequence.append(str(cmid))
                if comp:
                    t["criteria"].append((cid, modname, cmid))
                    info["criteria"].append(cmid)
                if modname in ("resource", "folder"):
                    self._files(t, modname, mctx, number, created)
                if modname in ("assign", "quiz"):
                    gid = ids.take("grade_items")
                    grademax = 100.0 if modname == "assign" else 10.0
                    item_rows.append((gid, cid, gradecat, name, "mod", modname, inst, 0, "", 0.0, grademax,
                                      len(item_rows) + 2, cmid))
                    info["graded"].append((gid, grademax))
            name = None
            if number and rng.random() < 0.6:
                name = f"Topic {number}: {TOPIC_WORDS[(number - 1) % len(TOPIC_WORDS)]}"
            summary = "" if number == 0 or rng.random() < 0.5 else f"<p>Material for section {number}.</p>"
            t["sections"].append((sid, cid, number, name, summary, ",".join(sequence), 1, created))
        total = sum(g for _, g in info["graded"])
        course_item = ids.take("grade_items")
        t["grade_items"].append((course_item, cid, None, None, "course", None, gradecat, None, None, 0.0,
                                 total or 100.0, 1, None))
        t["grade_items"].extend(item_rows)
        # Enrolment methods.
        info["manual"] = ids.take("enrol")
        t["enrol"].append((info["manual"], "manual", 0, cid, 0, 5, None, created))
        if rng.random() < 0.3:
            t["enrol"].append((ids.take("enrol"), "self", 0, cid, 1, 5, None, created))
        if staff_course:
            t["enrol"].append((ids.take("enrol"), "cohort", 0, cid, 2, 5, 1, created))
        # Groups and groupings.
        if has_groups:
            count = rng.randint(3, 6)
            for g in range(count):
                gid = ids.take("groups")
                letter = chr(65 + g)
                t["groups"].append((gid, cid, f"{shortname}-G{g + 1}", f"{shortname} Group {letter}",
                                    f"Tutorial group {letter}", created, created))
                info["groups"].append(gid)
            if rng.random() < 0.3:
                t["groups"].append((ids.take("groups"), cid, "", f"{shortname} Staff (empty)", "", created, created))
            if rng.random() < 0.5:
                half = len(info["groups"]) // 2
                for name, members in (("Tutorials", info["groups"][:half]), ("Labs", info["groups"][half:])):
                    gpid = ids.take("groupings")
                    t["groupings"].append((gpid, cid, name, f"{shortname}-{name.upper()}", f"{name} of {shortname}",
                                           created, created))
                    t["groupings_groups"].extend((gpid, gid, created) for gid in members)
        self.course_info.append(info)

    @staticmethod
    def _intro(modname: str, name: str) -> str:
        if modname == "label":
            return f"<p>{name}</p>"
        return f"<p>{name}.</p>" if modname in ("assign", "quiz", "forum") else ""

    def _extra(self, modname: str, name: str, start: int, number: int, courseid: int) -> dict:
        if modname == "assign":
            return {"duedate": start + number * 7 * DAY + 17 * 3600}
        if modname == "url":
            return {"externalurl": f"https://en.wikipedia.org/wiki/Special:Random?course={courseid}&s={number}",
                    "display": 5}
        if modname == "page":
            return {"content": f"<h3>{name}</h3><p>Read this page before the next session.</p>"}
        if modname == "resource":
            return {"display": 5}
        if modname == "forum":
            return {"trackingtype": "1"}
        return {}

    def _files(self, t: dict, modname: str, ctxid: int, number: int, created: int) -> None:
        if modname == "resource":
            ext = ["pdf", "pptx", "docx"][number % 3]
            names = [f"lecture{number:02d}.{ext}"]
        else:
            names = [f"worksheet{number:02d}_{part}.txt" for part in "abc"[: 2 + number % 2]]
        for filename in names:
            data = self._content(filename, number)
            contenthash, size = self.store.put_bytes(data)
            source = 'O:8:"stdClass":1:{s:6:"source";s:%d:"%s";}' % (len(filename.encode()), filename)
            t["files"].append((contenthash, ctxid, f"mod_{modname}", "content", filename, size,
                               mimetype_of(filename), source, 1 if modname == "resource" else 0, created, created))

    @staticmethod
    def _content(filename: str, number: int) -> bytes:
        if filename.endswith(".pdf"):
            return (b"%PDF-1.4\n% sandbox lecture " + str(number).encode() + b"\n" + b"0" * (200 + number * 37)
                    + b"\n%%EOF\n")
        return (f"Sandbox file {filename}\n" + "Practice question.\n" * (3 + number)).encode()

    # -- enrolments ------------------------------------------------------------
    def enrol(self, staff, students, per_user: float) -> int:
        from .seed_enrol import enrol_all

        return enrol_all(self, staff, students, per_user)
