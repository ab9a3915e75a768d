"""Reads of the course-content cache for the content pane, as plain frozen data.

These run on TaskRunner threads (each with its own read connection); the Qt models only get
the finished, immutable results.
"""

from __future__ import annotations

from dataclasses import dataclass

from lms_console.services.uploads_names import human_size


@dataclass(frozen=True, slots=True)
class ContentRef:
    """What a row is: enough for actions, drops and the details panel (plain data)."""

    kind: str  # category | course | section | module | file
    id: int
    name: str
    courseid: int = 0
    sectionid: int = 0
    cmid: int = 0
    modname: str = ""
    visible: bool = True
    stealth: bool = False
    section_number: int = 0
    url: str = ""  # module view URL or cached file URL (never with a token)

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.id)


@dataclass(frozen=True, slots=True)
class CategoryRow:
    id: int
    parent: int
    name: str
    visible: bool


@dataclass(frozen=True, slots=True)
class CourseRow:
    id: int
    categoryid: int
    shortname: str
    fullname: str
    visible: bool


@dataclass(frozen=True, slots=True)
class TreeData:
    categories: tuple[CategoryRow, ...]
    courses: tuple[CourseRow, ...]


@dataclass(frozen=True, slots=True)
class FileData:
    ref: ContentRef
    size: int
    tooltip: str = ""


@dataclass(frozen=True, slots=True)
class ModuleData:
    ref: ContentRef
    status: str = ""
    size: str = ""
    tooltip: str = ""
    files: tuple[FileData, ...] = ()


@dataclass(frozen=True, slots=True)
class SectionData:
    ref: ContentRef
    status: str = ""
    tooltip: str = ""
    modules: tuple[ModuleData, ...] = ()


@dataclass(frozen=True, slots=True)
class CourseContents:
    courseid: int
    sections: tuple[SectionData, ...]


def read_tree(db) -> TreeData:
    with db.read() as conn:
        cats = conn.exec_driver_sql(
            "SELECT id, parent, name, visible FROM categories ORDER BY sortorder, name").all()
        courses = conn.exec_driver_sql(
            "SELECT id, categoryid, shortname, fullname, visible FROM courses WHERE format <> 'site' AND id <> 1 "
            "ORDER BY shortname").all()
    return TreeData(tuple(CategoryRow(r[0], r[1], r[2], bool(r[3])) for r in cats),
                    tuple(CourseRow(r[0], r[1], r[2], r[3], bool(r[4])) for r in courses))


def section_title(name: str, number: int) -> str:
    return name or ("General" if number == 0 else f"Section {number}")


def module_status(visible: bool, on_page: bool, availability: str | None) -> tuple[str, str]:
    """(status text, tooltip) for an activity's visibility."""
    parts, tips = [], []
    if not visible:
        parts.append("Hidden")
        tips.append("Hidden from students.")
    elif not on_page:
        parts.append("Stealth")
        tips.append("Available to students who have the link, but not shown on the course page.")
    if availability:
        parts.append("Restricted")
        tips.append("Access restrictions apply (see the details).")
    return " · ".join(parts), " ".join(tips)


def read_course_contents(db, courseid: int) -> CourseContents:
    with db.read() as conn:
        sections = conn.exec_driver_sql(
            "SELECT id, section, name, visible, component FROM sections WHERE courseid = ? ORDER BY section",
            (courseid,)).all()
        modules = conn.exec_driver_sql(
            "SELECT cmid, sectionid, name, modname, visible, visibleoncoursepage, availability, url "
            "FROM modules WHERE courseid = ? ORDER BY sectionid, position", (courseid,)).all()
        files = conn.exec_driver_sql(
            "SELECT f.id, f.cmid, f.filename, f.filepath, f.filesize, f.fileurl, f.mimetype FROM module_files f "
            "JOIN modules m ON m.cmid = f.cmid WHERE m.courseid = ? AND f.type = 'file' AND m.modname <> 'page' "
            "ORDER BY f.cmid, f.sortorder DESC, f.filepath, f.filename", (courseid,)).all()
    by_module: dict[int, list] = {}
    for f in files:
        by_module.setdefault(f[1], []).append(f)
    numbers = {s[0]: s[1] for s in sections}
    by_section: dict[int, list[ModuleData]] = {}
    for cmid, sectionid, name, modname, visible, on_page, availability, url in modules:
        visible, on_page = bool(visible), bool(on_page)
        status, tip = module_status(visible, on_page, availability)
        ref = ContentRef("module", cmid, name, courseid, sectionid, cmid, modname, visible, visible and not on_page,
                         numbers.get(sectionid, 0), url or "")
        kids = tuple(
            FileData(ContentRef("file", f[0], (f[3].strip("/") + "/" if f[3].strip("/") else "") + f[2], courseid,
                                sectionid, cmid, modname, visible, False, numbers.get(sectionid, 0), f[5] or ""),
                     f[4] or 0, f"{f[6] or 'unknown type'}, {human_size(f[4] or 0)}")
            for f in by_module.get(cmid, []))
        total = sum(f.size for f in kids)
        size = (f"{len(kids)} files · {human_size(total)}" if len(kids) > 1 else human_size(total)) if kids else ""
        by_section.setdefault(sectionid, []).append(
            ModuleData(ref, status, size, "\n".join(t for t in (name, tip) if t), kids))
    out = []
    for sid, number, name, visible, component in sections:
        title = section_title(name, number)
        ref = ContentRef("section", sid, title, courseid, sid, visible=bool(visible), section_number=number)
        status = "" if visible else "Hidden"
        tip = f"Section {number}" + ("" if visible else " — hidden from students") + \
            (" (a subsection)" if component == "mod_subsection" else "")
        out.append(SectionData(ref, status, tip, tuple(by_section.get(sid, ()))))
    return CourseContents(courseid, tuple(out))
