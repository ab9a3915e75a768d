"""Courses: create, update (hide/show, rename, move to another category), delete, duplicate; and
the journal-only kinds of the upload queue.

Moodle's behaviour per function (LMS_APIS.md A.1, O):

* ``core_course_create_courses`` runs the whole batch in one transaction (``atomic``); a taken
  short name fails the call with ``shortnametaken`` (the applier splits the batch to find it);
* ``core_course_update_courses`` and ``core_course_delete_courses`` handle each course on its
  own and report failures as ``warnings[]`` (item ``course``, ``itemid``);
* ``core_course_duplicate_course`` is a backup and restore on the site: one course per call,
  often longer than a read timeout, so a lost answer is checked on the site (by short name)
  before anything is sent again.

Upload kinds (``upload.*``) are written by the upload queue (services/uploads_store.py) as done
items with their inverse; they never go through plan/apply (planning one is an error).
"""

from __future__ import annotations

import re
from typing import Any

from lms_console.services.changes.kinds import (
    OK,
    ItemOutcome,
    Kind,
    as_int,
    by_item_warning,
    int_problem,
    warnings_of,
)
from lms_console.services.changes.model import Change, Problem

SITE_COURSE = 1
UPDATABLE = ("fullname", "shortname", "categoryid", "visible", "idnumber", "startdate", "enddate", "summary")
CREATE_FIELDS = ("fullname", "shortname", "categoryid", "idnumber", "summary", "format", "startdate", "enddate",
                 "numsections", "visible", "enablecompletion")
_FORMAT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_SECTIONS = 52  # Moodle's default "maximum number of sections"


def _row(ctx, sql: str, params: tuple) -> dict | None:
    result = ctx.conn.exec_driver_sql(sql, params)
    row = result.first()
    return dict(zip(result.keys(), row)) if row else None


def _course_by_shortname(ctx, shortname: str) -> dict | None:
    return _row(ctx, "SELECT * FROM courses WHERE shortname = ? COLLATE BINARY", (shortname,))


def _category_name(ctx, categoryid) -> str:
    cat = ctx.category(categoryid) if isinstance(categoryid, int) else None
    return cat["name"] if cat else f"category {categoryid}"


def _course_label(ctx, courseid) -> str:
    course = ctx.course(courseid) if isinstance(courseid, int) else None
    return course["shortname"] if course else f"course {courseid}"


def _text_problems(data, limits: dict[str, int], required: tuple[str, ...]) -> list[Problem]:
    problems = []
    for key, limit in limits.items():
        value = data.get(key)
        if value is None:
            if key in required:
                problems.append(Problem(f"{key} is required", field=key))
            continue
        if not isinstance(value, str) or (key in required and not value.strip()):
            problems.append(Problem("must be a non-empty text" if key in required else "must be text", field=key,
                                    value=value))
        elif len(value) > limit:
            problems.append(Problem(f"is longer than {limit} characters", field=key, value=value[:40] + "…"))
    return problems


def _dates_problem(data, before: dict | None = None) -> Problem | None:
    start = data.get("startdate", (before or {}).get("startdate")) or 0
    end = data.get("enddate", (before or {}).get("enddate")) or 0
    if start and end and int(end) <= int(start):
        return Problem("must be after the start date", field="enddate", value=end)
    return None


def _course_exists_on_site(client, field: str, value) -> dict | None:
    data = client.call("core_course_get_courses_by_field", {"field": field, "value": str(value)})
    courses = data.get("courses", []) if isinstance(data, dict) else []
    return courses[0] if courses else None


class _NewCourse(Kind):
    """A kind that makes a course named by ``shortname`` (create, duplicate): checked on the site by that
    name after a lost answer, undone by deleting the course made."""

    def verify(self, client, data):
        return _course_exists_on_site(client, "shortname", data["shortname"]) is not None

    def verified_result(self, client, data):
        found = _course_exists_on_site(client, "shortname", data["shortname"])
        return {"id": int(found["id"]), "shortname": data["shortname"]} if found else None

    def inverse(self, data, before, result):
        return Change("course.delete", {"id": int(result["id"])}) if result and result.get("id") else None


class CourseCreate(_NewCourse):
    name = "course.create"
    function = "core_course_create_courses"
    list_key = "courses"
    entity = "courses"
    atomic = True
    required = ("fullname", "shortname", "categoryid")
    max_items = 20

    def target(self, data):
        return f"course:new/{data.get('shortname')}"

    def title(self, data, ctx):
        return f"Create course {data.get('shortname')} ({data.get('fullname')}) in {_category_name(ctx, data.get('categoryid'))}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        reported = {p.field for p in problems}
        problems += [p for p in _text_problems(data, {"fullname": 254, "shortname": 255, "idnumber": 100},
                                               ("fullname", "shortname")) if p.field not in reported]
        if data.get("categoryid") is not None:
            p = int_problem(data, "categoryid")
            if p is None and ctx.category(as_int(data, "categoryid")) is None:
                p = Problem("no such category (deleted on the site?)", field="categoryid", value=data["categoryid"])
            if p is not None:
                problems.append(p)
        if isinstance(data.get("shortname"), str) and data["shortname"].strip():
            taken = _course_by_shortname(ctx, data["shortname"])
            if taken is not None:
                problems.append(Problem(f"is already used by course {taken['id']} ({taken['fullname']})",
                                        field="shortname", value=data["shortname"], fix="Choose another short name."))
        if data.get("idnumber"):
            other = _row(ctx, "SELECT id, shortname FROM courses WHERE idnumber = ?", (data["idnumber"],))
            if other:
                problems.append(Problem(f"is already used by course {other['shortname']}", field="idnumber",
                                        value=data["idnumber"]))
        if data.get("format") is not None and not _FORMAT_RE.match(str(data["format"])):
            problems.append(Problem("is not a course format name", field="format", value=data["format"]))
        if data.get("numsections") is not None and not (
                isinstance(data["numsections"], int) and 0 <= data["numsections"] <= MAX_SECTIONS):
            problems.append(Problem(f"must be a number from 0 to {MAX_SECTIONS}", field="numsections",
                                    value=data["numsections"]))
        dates = _dates_problem(data)
        if dates:
            problems.append(dates)
        return problems

    def after(self, data, before):
        return {k: data[k] for k in CREATE_FIELDS if data.get(k) not in (None, "")}

    def request_item(self, data):
        item: dict[str, Any] = {"fullname": data["fullname"], "shortname": data["shortname"],
                                "categoryid": as_int(data, "categoryid")}
        for key in ("idnumber", "summary", "format"):
            if data.get(key):
                item[key] = str(data[key])
        for key in ("startdate", "enddate", "numsections"):
            if data.get(key) is not None and data.get(key) != "":
                item[key] = int(data[key])
        for key in ("visible", "enablecompletion"):
            if data.get(key) is not None:
                item[key] = 1 if data[key] else 0
        return item

    def outcomes(self, items, response):
        by_name = {str(r.get("shortname")): r for r in response or [] if isinstance(r, dict)}
        out = []
        for i, d in enumerate(items):
            r = by_name.get(str(d["shortname"])) or (response[i] if isinstance(response, list) and i < len(response)
                                                      else None)
            out.append(ItemOutcome(True, {"id": int(r["id"]), "shortname": str(r.get("shortname", ""))}) if r
                       else ItemOutcome(False, code="noanswer", message="the site did not list this course"))
        return out

    def apply_to_cache(self, raw, data, result, now):
        if not result or not result.get("id"):
            return
        raw.execute(
            "INSERT INTO courses (id, shortname, fullname, categoryid, idnumber, visible, startdate, enddate, format, "
            "enablecompletion, summary, timecreated, timemodified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (id) DO NOTHING",
            (int(result["id"]), data["shortname"], data["fullname"], as_int(data, "categoryid"),
             data.get("idnumber") or "", int(bool(data.get("visible", 1))), int(data.get("startdate") or 0),
             int(data.get("enddate") or 0), data.get("format") or "topics", int(bool(data.get("enablecompletion"))),
             data.get("summary") or "", now, now))


class CourseUpdate(Kind):
    """Change fields of a course: hide/show (``visible``), rename, move to another category."""

    name = "course.update"
    function = "core_course_update_courses"
    list_key = "courses"
    entity = "courses"
    atomic = False  # per course, failures come back as warnings
    idempotent = True
    required = ("id",)
    max_items = 50

    def target(self, data):
        return f"course:{data.get('id')}"

    def _fields(self, data) -> dict[str, Any]:
        return {k: (bool(v) if k == "visible" else v) for k, v in data.items() if k in UPDATABLE}

    def title(self, data, ctx):
        label = _course_label(ctx, data.get("id"))
        fields = self._fields(data)
        if set(fields) == {"visible"}:
            return f"{'Show' if fields['visible'] else 'Hide'} course {label}"
        if set(fields) == {"categoryid"}:
            return f"Move course {label} to {_category_name(ctx, fields['categoryid'])}"
        if set(fields) <= {"fullname", "shortname"}:
            return f"Rename course {label} to {fields.get('shortname', label)} ({fields.get('fullname', '…')})"
        return f"Change {', '.join(sorted(fields))} of course {label}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or ([p] if (p := int_problem(data, "id")) else [])
        if problems:
            return problems
        course = ctx.course(as_int(data, "id"))
        if course is None:
            return [Problem("no such course (deleted on the site?)", field="id", value=data["id"])]
        if course["id"] == SITE_COURSE:
            return [Problem("is the site's front page, not a course", field="id", value=data["id"])]
        fields = self._fields(data)
        if not fields:
            return [Problem(f"nothing to change: give one of {', '.join(UPDATABLE)}")]
        problems += _text_problems(fields, {k: n for k, n in (("fullname", 254), ("shortname", 255),
                                                                ("idnumber", 100)) if k in fields},
                                   tuple(k for k in ("fullname", "shortname") if k in fields))
        if "categoryid" in fields:
            if int_problem(fields, "categoryid") or ctx.category(as_int(fields, "categoryid")) is None:
                problems.append(Problem("no such category", field="categoryid", value=fields["categoryid"]))
        if isinstance(fields.get("shortname"), str):
            taken = _course_by_shortname(ctx, fields["shortname"])
            if taken is not None and taken["id"] != course["id"]:
                problems.append(Problem(f"is already used by course {taken['id']}", field="shortname",
                                        value=fields["shortname"]))
        dates = _dates_problem(fields, course)
        if dates:
            problems.append(dates)
        return problems

    def before(self, data, ctx):
        course = ctx.course(as_int(data, "id"))
        if course is None:
            return None
        return {k: (bool(course[k]) if k == "visible" else course[k]) for k in self._fields(data)}

    def after(self, data, before):
        return self._fields(data)

    def is_noop(self, data, before, ctx):
        return before is not None and all(before.get(k) == v for k, v in self._fields(data).items())

    def request_item(self, data):
        item: dict[str, Any] = {"id": as_int(data, "id")}
        for key, value in self._fields(data).items():
            item[key] = (1 if value else 0) if key == "visible" else \
                int(value) if key in ("categoryid", "startdate", "enddate") else value
        return item

    def outcomes(self, items, response):
        return by_item_warning(items, response, "id", "course")

    def fresh_before(self, client, data):
        found = _course_exists_on_site(client, "id", as_int(data, "id"))
        if found is None:
            return None
        return {k: (bool(found.get(k)) if k == "visible" else found.get(k)) for k in self._fields(data)}

    def verify(self, client, data):
        now = self.fresh_before(client, data)
        return None if now is None else all(now.get(k) == v for k, v in self._fields(data).items())

    def inverse(self, data, before, result):
        return Change(self.name, {"id": data["id"], **dict(before)}) if before else None

    def apply_to_cache(self, raw, data, result, now):
        fields = self._fields(data)
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [int(v) if k == "visible" else v for k, v in fields.items()]
        raw.execute(f"UPDATE courses SET {sets}, timemodified = ? WHERE id = ?", (*values, now, as_int(data, "id")))


class CourseDelete(Kind):
    name = "course.delete"
    function = "core_course_delete_courses"
    list_key = "courseids"
    entity = "courses"
    atomic = False
    reversible = False  # Moodle deletes the course's content, enrolments and grades for good
    idempotent = True
    required = ("id",)
    max_items = 20  # deleting runs synchronously on the site, course after course

    def target(self, data):
        return f"course:{data.get('id')}"

    def title(self, data, ctx):
        course = ctx.course(data.get("id")) if isinstance(data.get("id"), int) else None
        return f"Delete course {course['shortname']} ({course['fullname']})" if course else \
            f"Delete course {data.get('id')}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or ([p] if (p := int_problem(data, "id")) else [])
        if problems:
            return problems
        if as_int(data, "id") == SITE_COURSE:
            return [Problem("is the site's front page: it cannot be deleted", field="id", value=data["id"])]
        if ctx.course(as_int(data, "id")) is None:
            return [Problem("no such course (already deleted?)", field="id", value=data["id"])]
        return []

    def before(self, data, ctx):
        cid = as_int(data, "id")
        course = ctx.course(cid)
        count = lambda sql: int(ctx.conn.exec_driver_sql(sql, (cid,)).scalar() or 0)  # noqa: E731
        return {"course": f"{course['shortname']} ({course['fullname']})",
                "enrolments": count("SELECT count(*) FROM enrolments WHERE courseid = ?"),
                "activities": count("SELECT count(*) FROM modules WHERE courseid = ?")}

    def after(self, data, before):
        return {"course": "(deleted)", "enrolments": 0, "activities": 0}

    def request_item(self, data):
        return as_int(data, "id")

    def outcomes(self, items, response):
        failed = {int(w["itemid"]): w for w in warnings_of(response)
                  if str(w.get("item", "course")) in ("course", "") and w.get("itemid") is not None}
        out = []
        for d in items:
            w = failed.get(as_int(d, "id"))
            if w is None or w.get("warningcode") == "unknowncourseidnumber":
                out.append(OK if w is None else ItemOutcome(True, message="already deleted on the site"))
            else:
                out.append(ItemOutcome(False, code=str(w.get("warningcode") or "warning"),
                                       message=str(w.get("message", ""))))
        return out

    def verify(self, client, data):
        return _course_exists_on_site(client, "id", as_int(data, "id")) is None

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM courses WHERE id = ?", (as_int(data, "id"),))


class CourseDuplicate(_NewCourse):
    """A copy of a template course (``core_course_duplicate_course``): a backup and restore on the
    site that can outlast a read timeout; a lost answer is resolved by looking for the short name."""

    name = "course.duplicate"
    function = "core_course_duplicate_course"
    entity = "courses"
    required = ("courseid", "fullname", "shortname", "categoryid")
    max_items = 1

    def target(self, data):
        return f"course:new/{data.get('shortname')}"

    def title(self, data, ctx):
        return (f"Duplicate {_course_label(ctx, data.get('courseid'))} as {data.get('shortname')} "
                f"({data.get('fullname')}) in {_category_name(ctx, data.get('categoryid'))}")

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        problems += _text_problems(data, {"fullname": 254, "shortname": 255}, ("fullname", "shortname"))
        problems += [p for p in (int_problem(data, "courseid"), int_problem(data, "categoryid")) if p]
        if problems:
            return problems
        if ctx.course(as_int(data, "courseid")) is None:
            problems.append(Problem("no such template course", field="courseid", value=data["courseid"]))
        if ctx.category(as_int(data, "categoryid")) is None:
            problems.append(Problem("no such category", field="categoryid", value=data["categoryid"]))
        taken = _course_by_shortname(ctx, data["shortname"])
        if taken is not None:
            problems.append(Problem(f"is already used by course {taken['id']} ({taken['fullname']})",
                                    field="shortname", value=data["shortname"], fix="Choose another short name."))
        return problems

    def after(self, data, before):
        return {"copy of": data["courseid"], "shortname": data["shortname"], "fullname": data["fullname"],
                "with users": bool(data.get("users"))}

    def group_params(self, data):
        return {"n": id(data)}  # never batched: one course per call

    def params(self, items):
        d = items[0]
        options = [{"name": "activities", "value": "1" if d.get("activities", True) else "0"},
                   {"name": "users", "value": "1" if d.get("users") else "0"}]
        return {"courseid": as_int(d, "courseid"), "fullname": d["fullname"], "shortname": d["shortname"],
                "categoryid": as_int(d, "categoryid"), "visible": 1 if d.get("visible", True) else 0,
                "options": options}

    def request_item(self, data):
        return self.params([data])

    def outcomes(self, items, response):
        if isinstance(response, dict) and str(response.get("id", "")).isdigit():
            return [ItemOutcome(True, {"id": int(response["id"]), "shortname": str(response.get("shortname", ""))})]
        return [ItemOutcome(False, code="noanswer", message=f"unexpected answer: {str(response)[:100]}")]

    def apply_to_cache(self, raw, data, result, now):
        if not result or not result.get("id"):
            return
        raw.execute(
            "INSERT INTO courses (id, shortname, fullname, categoryid, idnumber, visible, startdate, enddate, format, "
            "enablecompletion, summary, timecreated, timemodified) SELECT ?, ?, ?, ?, '', ?, startdate, enddate, "
            "format, enablecompletion, summary, ?, ? FROM courses WHERE id = ? ON CONFLICT (id) DO NOTHING",
            (int(result["id"]), data["shortname"], data["fullname"], as_int(data, "categoryid"),
             1 if data.get("visible", True) else 0, now, now, as_int(data, "courseid")))


# -- the upload queue's journal entries ------------------------------------------------------------------

class _Uploaded(Kind):
    """Written as done by the upload queue; planning one is refused (it carries no file)."""

    entity = "contents"
    reversible = True

    def target(self, data):
        return f"course:{data.get('courseid')}/upload"

    def title(self, data, ctx):
        return f"{self.title_verb} “{data.get('name') or data.get('file')}”"

    def validate(self, data, ctx):
        return [Problem("is made by the upload queue, not by a plan: drop the files onto a section to upload "
                        "them again")]


class UploadedResource(_Uploaded):
    name, function, title_verb = "upload.resource", "local_course_add_new_course_module_resource", "Upload file"


class UploadedFolder(_Uploaded):
    name, function, title_verb = "upload.folder", "local_course_add_new_course_module_directory", "Upload folder"


class UploadedFolderFiles(_Uploaded):
    name, function, title_verb = "upload.folder_files", "local_course_add_files_to_directory", "Add to folder"


class UploadedUrl(_Uploaded):
    name, function, title_verb = "upload.url", "local_course_add_new_course_module_url", "Add link"
