"""Moodle JSON -> DTOs.

Moodle is loose with types (``visible`` is 1 or true, ``idnumber`` may be null,
``userid`` a string), so every field goes through a small coercion helper and
missing optional keys take the DTO's default.
"""

from __future__ import annotations

import json
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lms_console.services.lms.base import (
    ActivityCompletion,
    Category,
    Cohort,
    Course,
    CourseGrades,
    CourseProgress,
    CustomField,
    Enrolment,
    Grade,
    GradeItem,
    Group,
    Grouping,
    LmsWarning,
    Module,
    ModuleFile,
    Role,
    Section,
    SiteInfo,
    User,
)

J = Mapping[str, Any]


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def _i(v: Any, default: int = 0) -> int:
    if v is None or v == "":
        return default
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _oi(v: Any) -> int | None:
    return None if v is None or v == "" else _i(v)


def _b(v: Any, default: bool = False) -> bool:
    if v is None:
        return default
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _of(v: Any) -> float | None:
    if v is None or v == "" or v == "-":
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def warnings(data: Any) -> tuple[LmsWarning, ...]:
    if not isinstance(data, dict):
        return ()
    return tuple(
        LmsWarning(item=_s(w.get("item")), itemid=_oi(w.get("itemid")), warningcode=_s(w.get("warningcode")),
                   message=_s(w.get("message")))
        for w in data.get("warnings") or [])


def site_info(d: J) -> SiteInfo:
    return SiteInfo(
        siteid=_i(d.get("siteid"), 1),
        sitename=_s(d.get("sitename")),
        siteurl=_s(d.get("siteurl")),
        release=_s(d.get("release")),
        version=_s(d.get("version")),
        userid=_i(d.get("userid")),
        username=_s(d.get("username")),
        fullname=_s(d.get("fullname")),
        is_site_admin=_b(d.get("userissiteadmin")),
        functions=frozenset(_s(f.get("name")) for f in d.get("functions") or []),
        upload_allowed=_b(d.get("uploadfiles")),
        download_allowed=_b(d.get("downloadfiles")),
        max_upload_bytes=_i(d.get("usermaxuploadfilesize"), -1),
        user_quota=_i(d.get("userquota")),
        lang=_s(d.get("lang")),
        theme=_s(d.get("theme")),
    )


def user(d: J) -> User:
    return User(
        id=_i(d.get("id")),
        username=_s(d.get("username")),
        firstname=_s(d.get("firstname")),
        lastname=_s(d.get("lastname")),
        email=_s(d.get("email")),
        idnumber=_s(d.get("idnumber")),
        department=_s(d.get("department")),
        institution=_s(d.get("institution")),
        city=_s(d.get("city")),
        country=_s(d.get("country")),
        auth=_s(d.get("auth")) or "manual",
        suspended=_b(d.get("suspended")),
        confirmed=_b(d.get("confirmed"), True),
        firstaccess=_i(d.get("firstaccess")),
        lastaccess=_i(d.get("lastaccess")),
        lang=_s(d.get("lang")),
        timezone=_s(d.get("timezone")),
        phone1=_s(d.get("phone1")),
        phone2=_s(d.get("phone2")),
        address=_s(d.get("address")),
        description=_s(d.get("description")),
        customfields=tuple(
            CustomField(shortname=_s(c.get("shortname")), value=_s(c.get("value")), name=_s(c.get("name")),
                        type=_s(c.get("type")),
                        displayvalue=None if c.get("displayvalue") is None else _s(c.get("displayvalue")))
            for c in d.get("customfields") or []),
    )


def category(d: J) -> Category:
    return Category(id=_i(d.get("id")), name=_s(d.get("name")), parent=_i(d.get("parent")),
                    idnumber=_s(d.get("idnumber")), path=_s(d.get("path")), depth=_i(d.get("depth"), 1),
                    sortorder=_i(d.get("sortorder")), visible=_b(d.get("visible"), True),
                    coursecount=_i(d.get("coursecount")), description=_s(d.get("description")))


def course(d: J) -> Course:
    return Course(id=_i(d.get("id")), shortname=_s(d.get("shortname")), fullname=_s(d.get("fullname")),
                  categoryid=_i(d.get("categoryid", d.get("category"))), idnumber=_s(d.get("idnumber")),
                  visible=_b(d.get("visible"), True), startdate=_i(d.get("startdate")), enddate=_i(d.get("enddate")),
                  format=_s(d.get("format")) or "topics", enablecompletion=_b(d.get("enablecompletion")),
                  timecreated=_i(d.get("timecreated")), timemodified=_i(d.get("timemodified")),
                  summary=_s(d.get("summary")))


def strip_token_from_url(url: str) -> str:
    """Drop any ``token``/``wstoken`` query parameter (never store or show one)."""
    if "token=" not in url:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("token", "wstoken")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _file(d: J) -> ModuleFile:
    return ModuleFile(filename=_s(d.get("filename")), filepath=_s(d.get("filepath")) or "/",
                      filesize=_i(d.get("filesize")), fileurl=strip_token_from_url(_s(d.get("fileurl"))),
                      mimetype=_s(d.get("mimetype")), type=_s(d.get("type")) or "file",
                      timecreated=_oi(d.get("timecreated")), timemodified=_oi(d.get("timemodified")),
                      sortorder=_i(d.get("sortorder")), author=_s(d.get("author")), license=_s(d.get("license")))


def module(courseid: int, sectionid: int, position: int, d: J) -> Module:
    availability = d.get("availability")
    return Module(
        id=_i(d.get("id")), courseid=courseid, sectionid=sectionid, name=_s(d.get("name")),
        modname=_s(d.get("modname")), instance=_i(d.get("instance")), contextid=_i(d.get("contextid")),
        visible=_b(d.get("visible"), True), visibleoncoursepage=_b(d.get("visibleoncoursepage"), True),
        uservisible=_b(d.get("uservisible"), True), url=_s(d.get("url")),
        availability=None if availability is None else _s(availability), completion=_i(d.get("completion")),
        indent=_i(d.get("indent")), position=position, customdata=_s(d.get("customdata")),
        files=tuple(_file(f) for f in d.get("contents") or []))


def section(courseid: int, d: J) -> Section:
    sid = _i(d.get("id"))
    return Section(id=sid, courseid=courseid, section=_i(d.get("section")), name=_s(d.get("name")),
                   visible=_b(d.get("visible"), True), summary=_s(d.get("summary")),
                   uservisible=_b(d.get("uservisible"), True),
                   component=None if d.get("component") is None else _s(d.get("component")),
                   itemid=_oi(d.get("itemid")),
                   modules=tuple(module(courseid, sid, i, m) for i, m in enumerate(d.get("modules") or [])))


def cohort(d: J) -> Cohort:
    return Cohort(id=_i(d.get("id")), name=_s(d.get("name")), idnumber=_s(d.get("idnumber")),
                  description=_s(d.get("description")), visible=_b(d.get("visible"), True),
                  contextid=_oi(d.get("contextid")), theme=_s(d.get("theme")))


def group(d: J) -> Group:
    return Group(id=_i(d.get("id")), courseid=_i(d.get("courseid")), name=_s(d.get("name")),
                 idnumber=_s(d.get("idnumber")), description=_s(d.get("description")),
                 visibility=_i(d.get("visibility")), participation=_b(d.get("participation"), True))


def grouping(d: J) -> Grouping:
    return Grouping(id=_i(d.get("id")), courseid=_i(d.get("courseid")), name=_s(d.get("name")),
                    idnumber=_s(d.get("idnumber")), description=_s(d.get("description")),
                    groupids=tuple(_i(g.get("id")) for g in d.get("groups") or []))


_ROLES: dict[tuple, Role] = {}


def _role(r: J) -> Role:
    # A course of thousands repeats the same few roles: share one immutable Role each.
    key = (r.get("roleid"), r.get("shortname"), r.get("name"), r.get("sortorder"))
    role = _ROLES.get(key)
    if role is None:
        role = _ROLES.setdefault(key, Role(id=_i(key[0]), shortname=_s(key[1]), name=_s(key[2]),
                                           sortorder=_i(key[3])))
    return role


def enrolment(courseid: int, d: J, suspended: bool) -> Enrolment:
    last = d.get("lastcourseaccess")
    return Enrolment(courseid=courseid, userid=int(d["id"]), roles=tuple(_role(r) for r in d.get("roles") or ()),
                     suspended=suspended, lastcourseaccess=None if last is None or last == "" else int(last))


def course_progress(userid: int, d: J) -> CourseProgress:
    tracked = d.get("enablecompletion")
    progress = _of(d.get("progress"))
    return CourseProgress(userid=userid, courseid=_i(d.get("id")),
                          progress=progress if tracked is None or _b(tracked) else None,
                          completed=_b(d.get("completed")), lastaccess=_oi(d.get("lastaccess")))


def activity_completion(courseid: int, userid: int, d: J) -> ActivityCompletion:
    return ActivityCompletion(userid=userid, courseid=courseid, cmid=_i(d.get("cmid")), state=_i(d.get("state")),
                              timecompleted=_i(d.get("timecompleted")), tracking=_i(d.get("tracking")),
                              overrideby=_oi(d.get("overrideby")))


def course_grades(courseid: int, data: J) -> CourseGrades:
    items: dict[int, GradeItem] = {}
    grades: list[Grade] = []
    append = grades.append
    for ug in data.get("usergrades") or ():
        uid = _i(ug.get("userid"))
        for gi in ug.get("gradeitems") or ():
            iid = gi.get("id")
            item = items.get(iid)
            if item is None:
                item = items[iid] = GradeItem(
                    id=_i(iid), courseid=courseid, itemname=_s(gi.get("itemname")), itemtype=_s(gi.get("itemtype")),
                    itemmodule=None if gi.get("itemmodule") is None else _s(gi.get("itemmodule")),
                    cmid=_oi(gi.get("cmid")), grademin=_of(gi.get("grademin")) or 0.0,
                    grademax=_of(gi.get("grademax")) or 0.0)
            raw = gi.get("graderaw")
            graded = gi.get("gradedategraded")
            if raw is None and graded is None:
                continue  # not graded yet: no row, so "users without grades" stay visible as missing
            raw = _of(raw)
            span = item.grademax - item.grademin
            # Moodle's percentageformatted is (raw - min) / (max - min); computing it avoids
            # parsing a localised string.
            pct = round((raw - item.grademin) * 100.0 / span, 2) if raw is not None and span > 0 else None
            append(Grade(item.id, courseid, uid, raw, pct, None if graded is None else _i(graded)))
    return CourseGrades(courseid=courseid, items=tuple(items.values()), grades=tuple(grades))


def draft_file(d: J, cls: type) -> Any:
    return cls(filename=_s(d.get("filename")), itemid=_i(d.get("itemid")), filesize=_i(d.get("filesize")),
               contextid=_i(d.get("contextid")), filepath=_s(d.get("filepath")) or "/",
               errortype=_s(d.get("errortype")), error=_s(d.get("error")))


def json_field(value: str) -> Any:
    """Decode Moodle's JSON-in-a-string fields (``customdata``), tolerating junk."""
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None
