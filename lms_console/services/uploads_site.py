"""The site side of an upload: ``local_sync_service`` calls, each behind a guard for a bug of the
plugin as published (MoodleSync/sync-plugin 2024061800 on Moodle 5.x), and core Moodle for what
the plugin gets wrong.

Guards (tests/fixtures/moodle-5.2/sync_service/README.md):

* a ``sectionnum`` beyond the last section "succeeds" and creates that section, leaving a gap:
  the number is taken from a fresh read of the course, by section id, just before the call;
* a draft item id that does not exist "succeeds" with an empty activity: nothing is created
  unless the upload answer stored at least one non-empty file in that draft item;
* the directory function answers the folder's *instance* id: the real cmid and context are
  found in ``core_course_get_contents`` afterwards;
* ``add_files_to_directory`` does not check ``contextid`` against the course: it is only called
  with the context of a Folder of that very course, as read from the site;
* ``visible`` must be the words ``true``/``false`` (other values break availability);
* ``javascript:`` URLs are accepted: refused before (uploads_names.check_url);
* the plugin's move fails on 5.x: activities are moved with ``core_courseformat_update_course``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lms_console.services.lms.base import Section
from lms_console.services.lms.errors import ApiRejected, LmsError, PermissionDenied
from lms_console.services.progress import NEVER_CANCELLED, CancelToken
from lms_console.services.uploads import (
    F_ADD_FILES,
    F_DIRECTORY,
    F_FORMAT,
    F_RESOURCE,
    F_URL,
    UploadError,
)


@dataclass(frozen=True, slots=True)
class SiteModule:
    cmid: int
    sectionid: int
    modname: str
    name: str
    instance: int
    contextid: int
    files: tuple[tuple[str, str], ...] = ()  # (filepath, filename)


@dataclass(frozen=True, slots=True)
class CourseOnSite:
    """A course's sections and activities as the site has them right now."""

    courseid: int
    sections: tuple[Section, ...]

    def section(self, sectionid: int) -> Section | None:
        return next((s for s in self.sections if s.id == sectionid), None)

    def section_number(self, sectionid: int) -> int:
        """The current number of a section, refusing one the site no longer has."""
        section = self.section(sectionid)
        if section is None:
            raise UploadError("The section was deleted on the site meanwhile: nothing was created. Drop the "
                              "files onto another section (Retry sends them to the same one).", code="nosection")
        last = max(s.section for s in self.sections)
        if not 0 <= section.section <= last:  # the plugin would create the missing numbers
            raise UploadError(f"Section number {section.section} is outside the course (0–{last}).",
                              code="nosection")
        return section.section

    @property
    def cmids(self) -> set[int]:
        return {m.id for s in self.sections for m in s.modules}

    def module(self, cmid: int) -> SiteModule | None:
        for s in self.sections:
            for m in s.modules:
                if m.id == cmid:
                    return _module(s.id, m)
        return None

    def sequence(self, sectionid: int) -> list[int]:
        section = self.section(sectionid)
        return [m.id for m in section.modules] if section else []

    def new_modules(self, sectionid: int, snapshot: Sequence[int], modname: str, name: str) -> list[SiteModule]:
        """Activities in the section that were not there before, of this type and name, newest last."""
        before = set(snapshot)
        section = self.section(sectionid)
        found = [_module(sectionid, m) for m in (section.modules if section else ())
                 if m.id not in before and m.modname == modname and m.name == name]
        return sorted(found, key=lambda m: m.cmid)


def _module(sectionid: int, m) -> SiteModule:
    return SiteModule(m.id, sectionid, m.modname, m.name, m.instance, m.contextid,
                      tuple((f.filepath, f.filename) for f in m.files if f.type == "file"))


def read_course(client, courseid: int, cancel: CancelToken = NEVER_CANCELLED) -> CourseOnSite:
    try:
        fetched = client.course_contents(courseid, cancel=cancel)
    except PermissionDenied:
        raise
    except ApiRejected as exc:
        if exc.code in ("invalidrecord", "invalidrecordunknown", "dmlreadexception", "invalidcourseid"):
            raise UploadError("The course no longer exists on the site: nothing was created.",
                              code=exc.code) from None
        raise
    if not fetched.items:
        raise UploadError("The site lists no sections in this course: nothing was created.", code="nosection")
    return CourseOnSite(courseid, fetched.items)


def _words(visible: bool) -> str:
    return "true" if visible else "false"  # the plugin compares with the words, not 1/0


def _cmid_of(answer, function: str) -> int:
    value = answer.get("id") if isinstance(answer, dict) else None
    if not str(value or "").isdigit() or int(value) <= 0:
        raise UploadError(f"{function} answered without an activity id ({str(answer)[:120]}).", code="badresponse")
    return int(value)


def require_draft(itemid: int | None, stored_files: int) -> int:
    """The draft item to attach, only when the upload answer stored something in it."""
    if not itemid or itemid <= 0 or stored_files <= 0:
        raise UploadError("No file reached the site's draft area, so nothing was created (the plugin would "
                          "create an empty activity from a missing one).", code="emptydraft")
    return itemid


def create_resource(client, course: CourseOnSite, sectionid: int, itemid: int, name: str, visible: bool,
                    cancel: CancelToken = NEVER_CANCELLED) -> int:
    answer = client.call(F_RESOURCE, {"courseid": course.courseid, "sectionnum": course.section_number(sectionid),
                                      "itemid": itemid, "displayname": name, "visible": _words(visible)},
                         write=True, cancel=cancel)
    return _cmid_of(answer, F_RESOURCE)


def create_url(client, course: CourseOnSite, sectionid: int, url: str, name: str, visible: bool,
               cancel: CancelToken = NEVER_CANCELLED) -> int:
    answer = client.call(F_URL, {"courseid": course.courseid, "sectionnum": course.section_number(sectionid),
                                 "urlname": name, "url": url, "visible": _words(visible)}, write=True, cancel=cancel)
    return _cmid_of(answer, F_URL)


def create_folder(client, course: CourseOnSite, sectionid: int, itemid: int, name: str, visible: bool,
                  cancel: CancelToken = NEVER_CANCELLED) -> int:
    """Create a Folder; returns the plugin's answer, which is the folder's INSTANCE id (see find_folder)."""
    answer = client.call(F_DIRECTORY, {"courseid": course.courseid, "sectionnum": course.section_number(sectionid),
                                       "itemid": itemid, "displayname": name, "visible": _words(visible)},
                         write=True, cancel=cancel)
    return _cmid_of(answer, F_DIRECTORY)


def find_folder(course: CourseOnSite, sectionid: int, instance: int | None, name: str,
                snapshot: Sequence[int]) -> SiteModule | None:
    """The Folder just created: by its instance id (what the plugin returned), else the newest new one
    of that name in the section."""
    section = course.section(sectionid)
    for m in section.modules if section else ():
        if m.modname == "folder" and instance is not None and m.instance == instance and m.id not in set(snapshot):
            return _module(sectionid, m)
    found = course.new_modules(sectionid, snapshot, "folder", name)
    return found[-1] if found else None


def add_files_to_folder(client, course: CourseOnSite, cmid: int, contextid: int, itemid: int,
                        cancel: CancelToken = NEVER_CANCELLED) -> None:
    """Merge a draft item into a Folder, only when ``contextid`` is that Folder's, in this course."""
    folder = course.module(cmid)
    if folder is None or folder.modname != "folder":
        raise UploadError("The Folder was deleted on the site meanwhile: the files were not added.",
                          code="nofolder")
    if folder.contextid != contextid:
        raise UploadError("The Folder's context on the site is not the one the console knows: the files were "
                          "not added (the plugin would write them wherever the context points).", code="badcontext")
    client.call(F_ADD_FILES, {"courseid": course.courseid, "itemid": itemid, "contextid": contextid},
                write=True, cancel=cancel)


def place_after(client, course: CourseOnSite, cmid: int, anchors: Sequence[int],
                cancel: CancelToken = NEVER_CANCELLED) -> str:
    """Move a new activity right after the last of ``anchors`` that still exists (the activity it was
    dropped on, then what this drop already placed after it). Returns a note ("" when all went well);
    a failed move leaves the activity at the end of its section, which is not an error."""
    anchor = next((a for a in reversed(anchors) if course.module(a) is not None), None)
    if anchor is None:
        return "The activity it was dropped on no longer exists: placed at the end of the section."
    target = course.module(anchor)
    sequence = [c for c in course.sequence(target.sectionid) if c != cmid]
    position = sequence.index(anchor)
    following = sequence[position + 1] if position + 1 < len(sequence) else None
    current = course.module(cmid)
    if current is not None and current.sectionid == target.sectionid:
        now = course.sequence(target.sectionid)
        if now.index(cmid) == now.index(anchor) + 1:
            return ""
    params: dict[str, object] = {"action": "cm_move", "courseid": course.courseid, "ids": [cmid]}
    if following is not None:
        params["targetcmid"] = following
    else:
        params["targetsectionid"] = target.sectionid
    try:
        client.call(F_FORMAT, params, write=True, cancel=cancel)
    except LmsError as exc:
        if exc.code == "cancelled":
            raise
        return f"Created at the end of the section: moving it after “{target.name}” failed ({exc})."
    return ""
