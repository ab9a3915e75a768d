"""One user as the cache knows them, and "why can't X get in?".

:func:`user_detail` gathers what the properties dialog shows (account, custom fields, cohorts,
groups, enrolments with progress and last access). :func:`check_access` turns it into plain-words
reasons a user can or cannot sign in (and enter a course), each with the one-click fix the change
engine can apply where there is one. The access check first asks the site about the user
(:func:`fetch_fresh`) and overlays the answer on the cache (:func:`overlay`), so it is right even
when the last sync is hours old; :func:`write_fresh` then stores the answer (writer thread).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

from lms_console.services.cache.queries import get_user
from lms_console.services.changes.model import Change
from lms_console.services.lms.base import CourseProgress, User
from lms_console.services.progress import CancelToken
from lms_console.services.users_query import role_name

STUDENT_ROLE = 5
EXTEND_DAYS = 30
# Roles that see hidden courses (Moodle's defaults).
_STAFF_ROLES = {"manager", "coursecreator", "editingteacher", "teacher"}
_EXTERNAL_AUTH = {"ldap", "cas", "oauth2", "shibboleth", "saml2", "db", "mnet", "lti", "webservice"}


@dataclass(frozen=True, slots=True)
class CustomValue:
    shortname: str
    name: str
    value: str
    type: str = ""


@dataclass(frozen=True, slots=True)
class CourseInfo:
    id: int
    shortname: str
    fullname: str
    visible: bool = True
    startdate: int = 0
    enddate: int = 0


@dataclass(frozen=True, slots=True)
class EnrolmentInfo:
    course: CourseInfo
    roles: tuple[str, ...] = ()
    roleids: tuple[int, ...] = ()
    role_shortnames: tuple[str, ...] = ()
    suspended: bool = False  # not active per the last sync (suspended, not started, ended, method off)
    timestart: int | None = None
    timeend: int | None = None
    lastaccess: int | None = None
    progress: float | None = None
    completed: bool = False
    timecompleted: int | None = None
    method: str = ""
    active_on_site: bool | None = None  # what the site said just now (None: not asked)


@dataclass(frozen=True, slots=True)
class UserDetail:
    user: User
    custom: tuple[CustomValue, ...] = ()
    cohorts: tuple[tuple[int, str, str], ...] = ()  # id, name, idnumber
    groups: tuple[tuple[int, str, int, str], ...] = ()  # courseid, course shortname, groupid, group name
    enrolments: tuple[EnrolmentInfo, ...] = ()
    synced_at: int = 0

    @property
    def label(self) -> str:
        u = self.user
        return f"{u.fullname} ({u.username})" if u.fullname else u.username


def _course(row) -> CourseInfo:
    return CourseInfo(row[0], row[1] or f"course {row[0]}", row[2] or "", bool(row[3] if row[3] is not None else 1),
                      row[4] or 0, row[5] or 0)


def find_user(conn, text: str) -> tuple[int, str] | None:
    """The one user ``text`` names: an id, a username, an email address, or a search that matches
    exactly one user. None when nobody or several match."""
    from lms_console.services.cache.queries import search_users

    t = " ".join(text.split())
    if not t:
        return None
    sql = "SELECT id, username, firstname, lastname FROM users WHERE "
    row = None
    if t.isdigit():
        row = conn.exec_driver_sql(sql + "id = ?", (int(t),)).first()
    for column in ("username", "email"):
        if row is None:
            rows = conn.exec_driver_sql(sql + f"{column} = ? LIMIT 2", (t,)).all()
            row = rows[0] if len(rows) == 1 else None
    if row is None:
        found = search_users(conn, t, limit=2)
        if len(found) == 1:
            u = found[0]
            return u.id, f"{u.fullname} ({u.username})" if u.fullname else u.username
        return None
    name = f"{row[2]} {row[3]}".strip()
    return row[0], f"{name} ({row[1]})" if name else row[1]


def course_info(conn, courseid: int) -> CourseInfo | None:
    row = conn.exec_driver_sql("SELECT id, shortname, fullname, visible, startdate, enddate FROM courses "
                               "WHERE id = ?", (courseid,)).first()
    return _course(row) if row else None


def user_detail(conn, userid: int) -> UserDetail | None:
    """Everything the cache holds about one user, or None when the user is not in it."""
    user = get_user(conn, userid)
    if user is None:
        return None
    ex = conn.exec_driver_sql
    synced = ex("SELECT synced_at FROM users WHERE id = ?", (userid,)).scalar() or 0
    custom = tuple(CustomValue(f.shortname, f.name or f.shortname, f.displayvalue or f.value or "", f.type)
                   for f in user.customfields)
    cohorts = tuple((r[0], r[1], r[2] or "") for r in ex(
        "SELECT c.id, c.name, c.idnumber FROM cohort_members m JOIN cohorts c ON c.id = m.cohortid "
        "WHERE m.userid = ? ORDER BY c.name", (userid,)))
    groups = tuple((r[0], r[1] or f"course {r[0]}", r[2], r[3]) for r in ex(
        'SELECT g.courseid, c.shortname, g.id, g.name FROM group_members m JOIN "groups" g ON g.id = m.groupid '
        "LEFT JOIN courses c ON c.id = g.courseid WHERE m.userid = ? ORDER BY c.shortname, g.name", (userid,)))
    roles = {r[0]: (r[1], role_name(r[1], r[2])) for r in ex("SELECT id, shortname, name FROM roles")}
    enrolments: dict[int, EnrolmentInfo] = {}
    for r in ex("SELECT e.courseid, c.shortname, c.fullname, c.visible, c.startdate, c.enddate, e.roleids, "
                "e.suspended, e.timestart, e.timeend, e.lastcourseaccess, p.progress, p.completed, "
                "p.timecompleted, e.method, p.lastaccess FROM enrolments e LEFT JOIN courses c ON c.id = e.courseid "
                "LEFT JOIN course_progress p ON p.userid = e.userid AND p.courseid = e.courseid "
                "WHERE e.userid = ?", (userid,)):
        try:
            ids = tuple(int(i) for i in json.loads(r[6] or "[]"))
        except (ValueError, TypeError):
            ids = ()
        enrolments[r[0]] = EnrolmentInfo(
            _course(r), tuple(roles.get(i, (str(i), f"role {i}"))[1] for i in ids), ids,
            tuple(roles.get(i, ("", ""))[0] for i in ids), bool(r[7]), r[8], r[9],
            r[10] if r[10] is not None else r[15], r[11], bool(r[12]), r[13], r[14] or "")
    # Progress the site reported for courses whose enrolment list was not synced.
    for r in ex("SELECT p.courseid, c.shortname, c.fullname, c.visible, c.startdate, c.enddate, p.progress, "
                "p.completed, p.timecompleted, p.lastaccess FROM course_progress p LEFT JOIN courses c "
                "ON c.id = p.courseid WHERE p.userid = ?", (userid,)):
        if r[0] not in enrolments:
            enrolments[r[0]] = EnrolmentInfo(_course(r), lastaccess=r[9], progress=r[6], completed=bool(r[7]),
                                             timecompleted=r[8])
    ordered = tuple(sorted(enrolments.values(), key=lambda e: e.course.shortname.lower()))
    return UserDetail(user, custom, cohorts, groups, ordered, synced)


# -- fresh data from the site --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Fresh:
    """What the site said about one user just now."""

    userid: int
    user: User | None  # None: the site no longer has the account
    courses: tuple[CourseProgress, ...]  # the ACTIVE enrolments (core_enrol_get_users_courses)
    fetched_at: int


def fetch_fresh(client, userid: int, cancel: CancelToken | None = None) -> Fresh:
    """Ask the site (two calls); raises LmsError when it does not answer."""
    kw = {"cancel": cancel} if cancel is not None else {}
    found = client.users_by_ids([userid], **kw).items
    courses = client.user_courses(userid, **kw).items if found else ()
    return Fresh(userid, found[0] if found else None, tuple(courses), int(time.time()))


def overlay(detail: UserDetail, fresh: Fresh) -> UserDetail:
    """The cached detail corrected by what the site just said."""
    active = {c.courseid: c for c in fresh.courses}
    out = []
    for e in detail.enrolments:
        p = active.get(e.course.id)
        if p is None:
            out.append(replace(e, active_on_site=False))
        else:
            out.append(replace(e, active_on_site=True, progress=p.progress, completed=p.completed,
                               lastaccess=p.lastaccess if p.lastaccess is not None else e.lastaccess))
    known = {e.course.id for e in detail.enrolments}
    for p in fresh.courses:
        if p.courseid not in known:
            out.append(EnrolmentInfo(CourseInfo(p.courseid, f"course {p.courseid}", ""), progress=p.progress,
                                     completed=p.completed, lastaccess=p.lastaccess, active_on_site=True))
    return replace(detail, user=fresh.user or detail.user, enrolments=tuple(out), synced_at=fresh.fetched_at)


def write_fresh(writer, fresh: Fresh) -> None:
    """Store what :func:`fetch_fresh` got (cache-writer thread), stamped with the run that last
    saw the rows so no sweep mistakes them for gone."""
    with writer.batch() as raw:
        run = raw.execute("SELECT coalesce((SELECT seen_run FROM users WHERE id = ?), "
                          "(SELECT max(id) FROM sync_runs), 0)", (fresh.userid,)).fetchone()[0]
        if fresh.user is None:
            return  # deleted on the site: the next sync removes it with everything it owns
        writer.upsert_users([fresh.user], run)
        ids = json.dumps([c.courseid for c in fresh.courses])
        raw.execute("UPDATE enrolments SET suspended = CASE WHEN courseid IN (SELECT value FROM json_each(?)) "
                    "THEN 0 ELSE 1 END, synced_at = ? WHERE userid = ?", (ids, fresh.fetched_at, fresh.userid))
        raw.execute("INSERT OR IGNORE INTO enrolments (courseid, userid, suspended, seen_run, synced_at) "
                    "SELECT c.id, ?, 0, ?, ? FROM courses c WHERE c.id IN (SELECT value FROM json_each(?))",
                    (fresh.userid, run, fresh.fetched_at, ids))
        if fresh.courses:
            writer.upsert_course_progress(list(fresh.courses), run)


# -- the access check ---------------------------------------------------------------------------------

BLOCKS, WARNING, INFO, OK = "blocks", "warning", "info", "ok"


@dataclass(frozen=True, slots=True)
class Reason:
    """One finding, in plain words; ``fixes`` go to the change engine when the admin clicks ``fix_label``."""

    code: str
    severity: str  # blocks | warning | info | ok
    title: str
    detail: str = ""
    fixes: tuple[Change, ...] = ()
    fix_label: str = ""


@dataclass(frozen=True, slots=True)
class AccessReport:
    userid: int
    label: str
    reasons: tuple[Reason, ...]
    course: CourseInfo | None = None
    checked_at: int = 0
    refreshed: bool = False  # the site was asked first
    refresh_problem: str = ""  # why it could not be (the report is then from the cache)

    @property
    def can_sign_in(self) -> bool:
        return not any(r.severity == BLOCKS and r.code.startswith("account") for r in self.reasons)

    @property
    def can_enter_course(self) -> bool | None:
        if self.course is None:
            return None
        return not any(r.severity == BLOCKS for r in self.reasons)

    @property
    def verdict(self) -> str:
        if not self.can_sign_in:
            return f"{self.label} cannot sign in."
        if self.course is not None and not self.can_enter_course:
            return f"{self.label} can sign in but cannot get into {self.course.shortname}."
        where = f" and getting into {self.course.shortname}" if self.course is not None else ""
        return f"Nothing the console can see stops {self.label} from signing in{where}."


def _date(stamp: int | None) -> str:
    if not stamp:
        return "never"
    t = time.localtime(stamp)
    return f"{t.tm_mday} {time.strftime('%b %Y, %H:%M', t)}"


def _account(d: UserDetail, now: int) -> list[Reason]:
    u = d.user
    out: list[Reason] = []
    if u.suspended:
        out.append(Reason("account.suspended", BLOCKS, "The account is suspended.",
                          "Moodle refuses every sign-in of a suspended account.",
                          (Change("user.unsuspend", {"id": u.id}),), "Unsuspend the account"))
    if u.auth == "nologin":
        out.append(Reason("account.nologin", BLOCKS, "The account's authentication method is “No login”.",
                          "Accounts set to nologin cannot sign in at all. Switching to manual accounts lets them in "
                          "with a Moodle password (they may need to reset it).",
                          (Change("user.update", {"id": u.id, "fields": {"auth": "manual"}}),),
                          "Switch to manual accounts"))
    if not u.confirmed:
        out.append(Reason("account.unconfirmed", BLOCKS, "The account was never confirmed.",
                          "Self-registered accounts can sign in only after following the link in the confirmation "
                          "email. Resend it, or confirm the account on the site (Site administration > Users > "
                          "Browse list of users > Confirm)."))
    if u.auth in _EXTERNAL_AUTH:
        out.append(Reason("account.external", INFO, f"Signs in through {u.auth}.",
                          f"The password is checked by {u.auth}, not by Moodle. If the {u.auth} authentication "
                          "plugin is disabled on the site, or the account is locked there, sign-in fails."))
    if not u.lastaccess and not u.firstaccess:
        out.append(Reason("account.never", WARNING, "Has never signed in.",
                          f"Check that they know their username ({u.username}) and have a working password"
                          + (" (manual accounts can use “Forgotten your password?”)." if u.auth == "manual" else ".")))
    if not any(r.severity == BLOCKS for r in out):
        seen = f" Last signed in {_date(u.lastaccess)}." if u.lastaccess else ""
        out.append(Reason("account.ok", OK, "The account can sign in.",
                          "Not suspended, confirmed, and its authentication method allows sign-in." + seen
                          + " If they still cannot get in, the account may be locked after failed attempts "
                            "(unlock it in their profile on the site) or the password is wrong."))
    return out


def _course_reasons(d: UserDetail, course: CourseInfo | None, courseid: int, now: int) -> list[Reason]:
    uid = d.user.id
    if course is None:
        return [Reason("course.unknown", BLOCKS, f"Course {courseid} is not in the local copy.",
                       "It was deleted on the site, or courses were not synced yet. Sync, then check again.")]
    name = course.shortname
    out: list[Reason] = []
    e = next((x for x in d.enrolments if x.course.id == course.id), None)
    if e is None or (e.active_on_site is False and not e.roleids and not e.method):
        unsure = e is not None  # the site lists progress but no active enrolment
        return [Reason("course.not_enrolled", BLOCKS,
                       f"Not enrolled in {name}" + (", or the enrolment is not active." if unsure else "."),
                       "Only enrolled users (and guests, where guest access is on) get into a course.",
                       (Change("enrol.add", {"userid": uid, "courseid": course.id, "roleid": STUDENT_ROLE}),),
                       "Enrol as student")] + _course_state(course, (), now)
    role = (e.roleids or (STUDENT_ROLE,))[0]
    ended = bool(e.timeend) and e.timeend <= now
    future = bool(e.timestart) and e.timestart > now
    inactive = e.active_on_site is False or (e.active_on_site is None and e.suspended)
    if e.active_on_site is True:
        pass
    elif ended:
        new_end = now + EXTEND_DAYS * 86_400
        data = {"userid": uid, "courseid": course.id, "roleid": role, "timeend": new_end}
        if e.timestart:
            data["timestart"] = e.timestart
        out.append(Reason("course.ended", BLOCKS, f"The enrolment in {name} ended on {_date(e.timeend)}.",
                          f"Extending it sets the end to {_date(new_end)}.", (Change("enrol.add", data),),
                          f"Extend the enrolment by {EXTEND_DAYS} days"))
    elif future:
        data = {"userid": uid, "courseid": course.id, "roleid": role, "timestart": now}
        if e.timeend:
            data["timeend"] = e.timeend
        out.append(Reason("course.not_started", BLOCKS, f"The enrolment in {name} starts only on "
                                                        f"{_date(e.timestart)}.",
                          "Until then Moodle does not let them in.", (Change("enrol.add", data),),
                          "Let them in from now"))
    elif inactive and e.timestart is None and e.timeend is None:
        # Moodle's web services call an enrolment "not active" alike when it is suspended, has not started
        # or has ended, and report no dates: say what is known, and what the fix does to the dates.
        out.append(Reason("course.suspended", BLOCKS, f"The enrolment in {name} is not active.",
                          "It is suspended, or its start or end date keeps them out (Moodle's web services do not "
                          "say which, nor report the dates), or its enrolment method is disabled. Reactivating it "
                          "also clears its start and end dates on the site: it is then open from now, without end.",
                          (Change("enrol.unsuspend", {"userid": uid, "courseid": course.id}),),
                          "Reactivate the enrolment"))
    elif inactive:
        out.append(Reason("course.suspended", BLOCKS, f"The enrolment in {name} is suspended.",
                          "A suspended enrolment (or a disabled enrolment method) keeps them out of the course.",
                          (Change("enrol.unsuspend", {"userid": uid, "courseid": course.id}),),
                          "Reactivate the enrolment"))
    if e.roleids == () and e.method:
        out.append(Reason("course.no_role", WARNING, f"Enrolled in {name} without a role.",
                          "They get in but see almost nothing.",
                          (Change("enrol.add", {"userid": uid, "courseid": course.id, "roleid": STUDENT_ROLE}),),
                          "Give them the student role"))
    out += _course_state(course, e.role_shortnames, now)
    if not any(r.severity == BLOCKS for r in out):
        roles = f" as {', '.join(e.roles)}" if e.roles else ""
        seen = f"Last in the course {_date(e.lastaccess)}." if e.lastaccess else "Has never opened the course."
        out.append(Reason("course.ok", OK, f"Enrolled in {name}{roles}; the enrolment is active.", seen))
    return out


def _course_state(course: CourseInfo, role_shortnames, now: int) -> list[Reason]:
    out = []
    if not course.visible:
        staff = bool(_STAFF_ROLES & set(role_shortnames))
        out.append(Reason("course.hidden", WARNING if staff else BLOCKS, f"{course.shortname} is hidden.",
                          "Teachers and managers still see it; students do not until it is shown again "
                          "(Course settings > Course visibility)."))
    if course.startdate and course.startdate > now:
        out.append(Reason("course.future", INFO, f"{course.shortname} starts on {_date(course.startdate)}.",
                          "Moodle still lets enrolled users in; activities may be restricted until then."))
    if course.enddate and course.enddate < now:
        out.append(Reason("course.past", INFO, f"{course.shortname} ended on {_date(course.enddate)}.",
                          "Users keep access; it shows under “Past” on their dashboard."))
    return out


def check_access(detail: UserDetail, *, course: CourseInfo | None = None, courseid: int | None = None,
                 now: int | None = None, refreshed: bool = False, refresh_problem: str = "",
                 gone: bool = False) -> AccessReport:
    """Reasons ``detail.user`` can or cannot sign in (and enter ``course``), in plain words."""
    now = int(time.time() if now is None else now)
    if gone:
        reasons = [Reason("account.deleted", BLOCKS, "The account no longer exists on the site.",
                          "It was deleted there; the next sync removes it from the local copy.")]
    else:
        reasons = _account(detail, now)
        if course is not None or courseid is not None:
            reasons += _course_reasons(detail, course, course.id if course else int(courseid or 0), now)
    order = {BLOCKS: 0, WARNING: 1, INFO: 2, OK: 3}
    reasons.sort(key=lambda r: order[r.severity])
    return AccessReport(detail.user.id, detail.label, tuple(reasons), course, now, refreshed, refresh_problem)


def access_report(conn, userid: int, courseid: int | None = None, *, fresh: Fresh | None = None,
                  refresh_problem: str = "", now: int | None = None) -> AccessReport | None:
    """Load from the cache, overlay ``fresh`` (if any) and check. None: the user is not in the cache."""
    detail = user_detail(conn, userid)
    if detail is None:
        if fresh is None or fresh.user is None:
            return None
        detail = UserDetail(fresh.user)
    if fresh is not None:
        detail = overlay(detail, fresh)
    course = course_info(conn, courseid) if courseid else None
    if course is not None:  # enrolments added by the overlay only know the id
        detail = replace(detail, enrolments=tuple(replace(e, course=course) if e.course.id == course.id else e
                                                  for e in detail.enrolments))
    return check_access(detail, course=course, courseid=courseid, now=now, refreshed=fresh is not None,
                        refresh_problem=refresh_problem, gone=fresh is not None and fresh.user is None)


def fixes_of(report: AccessReport) -> list[tuple[str, tuple[Change, ...]]]:
    return [(r.fix_label, r.fixes) for r in report.reasons if r.fixes]

