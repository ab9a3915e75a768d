"""Course structure (sections and activities): hide, show, move, delete, add and rename them.

Enrolments (the manual enrolment method) are in kinds_enrol.py.
"""

from __future__ import annotations

from typing import Any

from lms_console.services.changes.kinds import (
    Kind,
    as_int,
    id_problems,
    int_problem,
)
from lms_console.services.changes.model import Change, Problem


# -- course structure (core_courseformat_update_course, core_update_inplace_editable) ----------------

def _course_label(ctx, courseid) -> str:
    """The course as the admin knows it (its short name); its id only when the cache lacks it."""
    course = ctx.course(courseid) if isinstance(courseid, int) else None
    return course["shortname"] if course else f"course {courseid}"


def _section_number(ctx, sectionid) -> str:
    """A section by its number in the course (``section 3``), as Moodle shows it: names repeat
    (every unnamed section is "New section"), so a name alone does not say which one."""
    section = ctx.section(sectionid) if isinstance(sectionid, int) else None
    return f"section {section['section']}" if section else f"the section with id {sectionid}"


def _section_label(ctx, sectionid) -> str:
    """A section by its number and, when the cache has one, its name: ``section 3 “New section”``."""
    section = ctx.section(sectionid) if isinstance(sectionid, int) else None
    name = f" “{section['name']}”" if section and section["name"] else ""
    return _section_number(ctx, sectionid) + name


def _module_label(ctx, cmid, quoted: bool = True) -> str:
    """An activity by its name as the cache knows it (``activity “Quiz 1”``, or the bare name when not
    ``quoted``); by its course-module id only when the cache lacks it."""
    module = ctx.module(cmid) if isinstance(cmid, int) else None
    if not module or not module.get("name"):
        return f"the activity with id {cmid}"
    return f"activity “{module['name']}”" if quoted else str(module["name"])


class _StructureKind(Kind):
    """One state action of ``core_courseformat_update_course``; ``ids`` batch per course and action."""

    entity = "contents"
    function = "core_courseformat_update_course"
    list_key = "ids"
    action = ""
    what = "section"  # section | cm
    required = ("courseid", "id")
    max_items = 100

    def target(self, data):
        return f"{self.what}:{data.get('id')}"

    def title(self, data, ctx):
        if self.what == "section":
            return f"{self.title_verb} {_section_label(ctx, data.get('id'))}"
        return f"{self.title_verb} {_module_label(ctx, data.get('id'), quoted=False)}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["courseid", "id"])
        if problems:
            return problems
        thing = ctx.section(as_int(data, "id")) if self.what == "section" else ctx.module(as_int(data, "id"))
        if thing is None or thing["courseid"] != as_int(data, "courseid"):
            problems.append(Problem(f"no such {'section' if self.what == 'section' else 'activity'} in this course "
                                    "(deleted or moved on the site?)", field="id", value=data["id"]))
        return problems

    def group_params(self, data):
        params: dict[str, Any] = {"action": self.action, "courseid": as_int(data, "courseid")}
        if data.get("targetsectionid") is not None:
            params["targetsectionid"] = int(data["targetsectionid"])
        if data.get("targetcmid") is not None:
            params["targetcmid"] = int(data["targetcmid"])
        return params

    def request_item(self, data):
        return as_int(data, "id")


class _Visibility(_StructureKind):
    idempotent = True
    visible = 0
    column = "visible"

    def before(self, data, ctx):
        thing = ctx.section(as_int(data, "id")) if self.what == "section" else ctx.module(as_int(data, "id"))
        return {"visible": bool(thing["visible"])} if thing else None

    def after(self, data, before):
        return {"visible": bool(self.visible)}

    def is_noop(self, data, before, ctx):
        return before is not None and before["visible"] == bool(self.visible)

    def inverse(self, data, before, result):
        opposite = {"section.hide": "section.show", "section.show": "section.hide",
                    "module.hide": "module.show", "module.show": "module.hide"}[self.name]
        return Change(opposite, {"courseid": data["courseid"], "id": data["id"]})

    def apply_to_cache(self, raw, data, result, now):
        table, key = ("sections", "id") if self.what == "section" else ("modules", "cmid")
        raw.execute(f"UPDATE {table} SET visible = ? WHERE {key} = ?", (self.visible, as_int(data, "id")))


class SectionHide(_Visibility):
    name, action, title_verb, visible = "section.hide", "section_hide", "Hide", 0


class SectionShow(_Visibility):
    name, action, title_verb, visible = "section.show", "section_show", "Show", 1


class ModuleHide(_Visibility):
    name, action, title_verb, visible, what = "module.hide", "cm_hide", "Hide", 0, "cm"


class ModuleShow(_Visibility):
    name, action, title_verb, visible, what = "module.show", "cm_show", "Show", 1, "cm"


class SectionDelete(_StructureKind):
    name, action, title_verb, reversible = "section.delete", "section_delete", "Delete", False

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM sections WHERE id = ?", (as_int(data, "id"),))


class ModuleDelete(_StructureKind):
    name, action, title_verb, reversible, what = "module.delete", "cm_delete", "Delete", False, "cm"

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM modules WHERE cmid = ?", (as_int(data, "id"),))


class SectionMove(_StructureKind):
    name, action, title_verb = "section.move", "section_move_after", "Move"
    required = ("courseid", "id", "targetsectionid")

    def title(self, data, ctx):
        return (f"Move {_section_label(ctx, data.get('id'))} to after "
                f"{_section_number(ctx, data.get('targetsectionid'))}")


class ModuleMove(_StructureKind):
    name, action, title_verb, what = "module.move", "cm_move", "Move", "cm"
    required = ("courseid", "id", "targetsectionid")

    def title(self, data, ctx):
        return f"{super().title(data, ctx)} to the end of {_section_label(ctx, data.get('targetsectionid'))}"

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("UPDATE modules SET sectionid = ? WHERE cmid = ?", (int(data["targetsectionid"]),
                                                                         as_int(data, "id")))


class SectionAdd(Kind):
    name = "section.add"
    function = "core_courseformat_update_course"
    list_key = ""  # one call per new section (params() builds it)
    entity = "contents"
    required = ("courseid",)
    max_items = 1

    def target(self, data):
        return f"course:{data.get('courseid')}/new-section"

    def title(self, data, ctx):
        after = data.get("targetsectionid")
        where = f" after {_section_number(ctx, after)}" if after is not None else ""
        return f"Add a section to {_course_label(ctx, data.get('courseid'))}{where}"

    def params(self, items):
        params: dict[str, Any] = {"action": "section_add", "courseid": as_int(items[0], "courseid"), "ids": []}
        if items[0].get("targetsectionid") is not None:
            params["targetsectionid"] = int(items[0]["targetsectionid"])
        return params

    def group_params(self, data):
        return {"courseid": data.get("courseid"), "n": id(data)}  # never batched: one call per section


class Rename(Kind):
    """Sections and activities are renamed through core_update_inplace_editable, one per call."""

    name = "section.rename"
    function = "core_update_inplace_editable"
    entity = "contents"
    required = ("id", "name")
    idempotent = True
    max_items = 1
    what = "section"

    def target(self, data):
        return f"{self.what}:{data.get('id')}"

    def title(self, data, ctx):
        new = f"“{data.get('name')}”"
        if self.what != "section":
            return f"Rename {_module_label(ctx, data.get('id'))} to {new}"
        section = ctx.section(data.get("id")) if isinstance(data.get("id"), int) else None
        course = f" of {_course_label(ctx, section['courseid'])}" if section else ""
        return f"Rename {_section_label(ctx, data.get('id'))}{course} to {new}"

    def resolve(self, data, ctx):
        if self.what != "section" or int_problem(data, "id"):
            return data
        section = ctx.section(as_int(data, "id"))
        course = ctx.course(section["courseid"]) if section else None
        return {**data, "_format": (course or {}).get("format") or "topics"}

    def before(self, data, ctx):
        thing = ctx.section(as_int(data, "id")) if self.what == "section" else ctx.module(as_int(data, "id"))
        return {"name": thing["name"]} if thing else None

    def after(self, data, before):
        return {"name": data["name"]}

    def is_noop(self, data, before, ctx):
        return before is not None and before["name"] == data["name"]

    def params(self, items):
        d = items[0]
        if self.what == "section":
            return {"component": f"format_{d.get('_format', 'topics')}", "itemtype": "sectionname",
                    "itemid": as_int(d, "id"), "value": d["name"]}
        return {"component": "core_course", "itemtype": "activityname", "itemid": as_int(d, "id"), "value": d["name"]}

    def group_params(self, data):
        return {"n": id(data)}

    def inverse(self, data, before, result):
        return Change(self.name, {**{k: v for k, v in data.items() if k != "name"}, "name": before["name"]}) \
            if before else None

    def apply_to_cache(self, raw, data, result, now):
        table, key = ("sections", "id") if self.what == "section" else ("modules", "cmid")
        raw.execute(f"UPDATE {table} SET name = ? WHERE {key} = ?", (data["name"], as_int(data, "id")))


class ModuleRename(Rename):
    name = "module.rename"
    what = "cm"
