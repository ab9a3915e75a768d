"""Enrolments (manual enrolment method): enrol, suspend, reactivate, unenrol, and take one role away."""

from __future__ import annotations

import json
from typing import Any

from lms_console.services.changes.kinds import (
    ItemOutcome,
    Kind,
    as_int,
    id_problems,
    id_text,
    int_problem,
)
from lms_console.services.changes.model import Change, Problem

STUDENT_ROLE = 5


def _course_refused(error, *, bare: bool = False) -> ItemOutcome | None:
    """The site's refusal of an item alone in its call, when it says the course is gone: the item fails
    as the site said, and the cache forgets the course. Moodle's validate_context() of a deleted course
    says "Context does not exist", but only with debugging on; without it the answer is a bare
    "Invalid parameter value detected", which ``bare`` reads as the course gone (right for
    enrol_manual_enrol_users: its parameters are well-formed, so the context is all that can be wrong)."""
    if error.code != "invalidparameter":
        return None
    detail = error.message.partition("(")[2]  # the client appends debuginfo in parentheses
    if "Context does not exist" in detail or (bare and not detail):
        return ItemOutcome(False, code=error.code, message=error.message, gone=True)
    return None


def _who_where(data, ctx) -> tuple[str, str]:
    """The user's username and the course's short name of an enrolment change, for its title."""
    u = ctx.user(as_int(data, "userid")) if int_problem(data, "userid") is None else None
    c = ctx.course(data.get("courseid")) if isinstance(data.get("courseid"), int) else None
    return (u["username"] if u else f"user {data.get('userid')}",
            c["shortname"] if c else f"course {data.get('courseid')}")


def _user_and_course_problems(data, ctx) -> list[Problem]:
    problems = []
    if ctx.course(as_int(data, "courseid")) is None:
        problems.append(Problem("no such course (deleted on the site?)", field="courseid", value=data["courseid"]))
    if ctx.user(as_int(data, "userid")) is None:
        problems.append(Problem("no such user", field="userid", value=data["userid"]))
    return problems


def _role_ids(values) -> list[int]:
    """The role ids in an enrolment's before or after: "roleids" as planned; "_roleids" once named for the
    preview and the journal (see _named_roles), which is what the journal gives back."""
    values = values or {}
    return list(values.get("_roleids", values.get("roleids")) or [])


def _named_roles(values, ctx):
    """``values`` with its role ids as the site names the roles ("roles": Teacher, Student), the ids
    kept, not shown, for the inverse."""
    if not values or "roleids" not in values:
        return values
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "roleids":
            out["roles"] = [ctx.role_name(r) for r in value]
        else:
            out[key] = value
    out["_roleids"] = list(values["roleids"])
    return out


def _forget_course(raw, data) -> str:
    raw.execute("DELETE FROM courses WHERE id = ?", (as_int(data, "courseid"),))  # its rows go with it (cascade)
    return "courses"


def _also_changes(before, after) -> list[tuple[str, str]]:
    """What enrolling with another role also changes on the existing enrolment (its status, its dates), as
    (what it does, what it did): its title says so, and that is why it cannot be undone (see inverse)."""
    before, after = before or {}, after or {}
    out = []
    if "suspended" in after and bool(before.get("suspended")) != after["suspended"]:
        out.append(("suspend the enrolment", "suspended the enrolment") if after["suspended"]
                   else ("reactivate the enrolment", "reactivated the enrolment"))
    dates = [w for k, w in (("timestart", "start"), ("timeend", "end")) if k in after and before.get(k) != after[k]]
    if dates:
        what = f"{' and '.join(dates)} date{'s' if len(dates) > 1 else ''}"
        out.append((f"change its {what}", f"changed its {what}"))
    return out


# The preview's line for enrolment dates the console cannot keep (see _keep_enrolment).
DATES = "start and end dates"


def _keep_enrolment(data: dict, e) -> dict:
    """``data`` with the existing enrolment's dates and status where it does not set them (Moodle's
    enrol_users() would reset them). Dates the local copy does not know (Moodle does not report other
    users' enrolment dates) cannot be kept."""
    if e is None:
        return data
    out = dict(data)
    for key in ("timestart", "timeend"):
        if not out.get(key) and e[key]:
            out[key] = e[key]
    if "suspend" not in out:
        out["suspend"] = 1 if e["suspended"] else 0
    return out


class EnrolAdd(Kind):
    name = "enrol.add"
    function = "enrol_manual_enrol_users"
    list_key = "enrolments"
    entity = "enrolments"
    required = ("userid", "courseid")
    max_items = 100

    def target(self, data):
        return f"course:{data.get('courseid')}/user:{id_text(data.get('userid'))}"

    def title(self, data, ctx):
        """A new enrolment is "Enrol"; over an existing one, the role it adds (or an update of its dates
        or status when it has the role already)."""
        who, where = _who_where(data, ctx)
        roleid = int(data.get("roleid", STUDENT_ROLE))
        role = ctx.role_name(roleid)
        e = None if id_problems(data, ["userid", "courseid"]) else \
            ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid"))
        if e is None:
            return f"Enrol {who} in {where} as {role}"
        if roleid not in (e["roleids"] or []):
            before = self.before(data, ctx)
            also = "".join(f" and {does}" for does, _did in _also_changes(before, self.after(data, before)))
            return f"Add the {role} role to {who} in {where}{also}"
        return f"Update the enrolment of {who} in {where} ({role})"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["userid", "courseid"])
        if problems:
            return problems
        problems = _user_and_course_problems(data, ctx)
        start, end = data.get("timestart") or 0, data.get("timeend") or 0
        if start and end and end <= start:
            problems.append(Problem("must be after the start date", field="timeend", value=end))
        return problems

    def resolve(self, data, ctx):
        """Over an existing enrolment, enrol_manual_enrol_users writes its dates (0 when not sent) and its
        status (active unless ``suspend`` is sent): send what the enrolment has, unless the change sets it."""
        if id_problems(data, ["userid", "courseid"]):
            return data
        return _keep_enrolment(data, ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid")))

    def before(self, data, ctx):
        e = ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid"))
        return None if e is None else {"enrolled": True, "roleids": e["roleids"], "suspended": bool(e["suspended"]),
                                       "timestart": e["timestart"], "timeend": e["timeend"]}

    def after(self, data, before):
        out: dict[str, Any] = {"enrolled": True, "roleids": sorted({*_role_ids(before),
                                                                    int(data.get("roleid", STUDENT_ROLE))})}
        for key in ("timestart", "timeend"):
            if data.get(key):
                out[key] = data[key]
        if "suspend" in data:
            out["suspended"] = bool(data["suspend"])
        return out

    def is_noop(self, data, before, ctx):
        if before is None:
            return False
        after = self.after(data, before)
        return all(before.get(k) == v for k, v in after.items())

    def named(self, values, ctx):
        return _named_roles(values, ctx)

    def request_item(self, data):
        item: dict[str, Any] = {"roleid": int(data.get("roleid", STUDENT_ROLE)), "userid": as_int(data, "userid"),
                                "courseid": as_int(data, "courseid")}
        for key in ("timestart", "timeend"):
            if data.get(key):
                item[key] = int(data[key])
        if "suspend" in data:
            item["suspend"] = 1 if data["suspend"] else 0
        return item

    def verify(self, client, data):
        courses = client.user_courses(as_int(data, "userid")).items
        return any(c.courseid == as_int(data, "courseid") for c in courses)

    def refused(self, data, error):
        return _course_refused(error, bare=True) or super().refused(data, error)

    def forget(self, raw, data, now):
        return _forget_course(raw, data)

    def inverse(self, data, before, result):
        if before is None:
            return Change("enrol.remove", {"userid": data["userid"], "courseid": data["courseid"]})
        roleid = int(data.get("roleid", STUDENT_ROLE))
        if roleid not in _role_ids(before):
            # Enrolled already with another role: take back the role added, and only that (enrolling again
            # with the old role would change nothing). When the enrolment's dates or status changed too,
            # one call cannot put back both: the journal keeps no way back rather than half of one.
            return None if _also_changes(before, self.after(data, before)) else Change(
                "enrol.unassign_role", {"userid": data["userid"], "courseid": data["courseid"], "roleid": roleid})
        restore: dict[str, Any] = {"userid": data["userid"], "courseid": data["courseid"], "roleid": roleid,
                                   "suspend": 1 if before.get("suspended") else 0}
        for key in ("timestart", "timeend"):
            if before.get(key):
                restore[key] = before[key]
        return Change("enrol.add", restore)

    def no_inverse_reason(self, data, before):
        if before and int(data.get("roleid", STUDENT_ROLE)) not in _role_ids(before):
            also = _also_changes(before, self.after(data, before))
            if also:
                return f"it also {' and '.join(did for _does, did in also)}; one call cannot put back both"
        return super().no_inverse_reason(data, before)

    def apply_to_cache(self, raw, data, result, now):
        courseid, userid = as_int(data, "courseid"), as_int(data, "userid")
        roleid = int(data.get("roleid", STUDENT_ROLE))
        row = raw.execute("SELECT roleids FROM enrolments WHERE courseid = ? AND userid = ?",
                          (courseid, userid)).fetchone()
        roles = sorted({*(json.loads(row[0]) if row else []), roleid})
        raw.execute(
            "INSERT INTO enrolments (courseid, userid, suspended, timestart, timeend, method, roleids, synced_at) "
            "VALUES (?, ?, ?, ?, ?, 'manual', ?, ?) ON CONFLICT (courseid, userid) DO UPDATE SET "
            "suspended = excluded.suspended, timestart = coalesce(excluded.timestart, timestart), "
            "timeend = coalesce(excluded.timeend, timeend), roleids = excluded.roleids, synced_at = excluded.synced_at",
            (courseid, userid, int(bool(data.get("suspend"))), data.get("timestart") or None,
             data.get("timeend") or None, json.dumps(roles), now))


class EnrolSuspend(EnrolAdd):
    """Suspend (or reactivate) an existing manual enrolment: enrol again with ``suspend``."""

    name = "enrol.suspend"
    value = 1
    idempotent = True

    def title(self, data, ctx):
        verb = "Suspend the enrolment of" if self.value else "Reactivate the enrolment of"
        who, where = _who_where(data, ctx)
        return f"{verb} {who} in {where}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        if not problems and ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid")) is None:
            problems.append(Problem("is not enrolled in this course", field="userid", value=data["userid"]))
        return problems

    def resolve(self, data, ctx):
        if id_problems(data, ["userid", "courseid"]):
            return data
        e = ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid"))
        role = (e["roleids"] or [STUDENT_ROLE])[0] if e else STUDENT_ROLE
        return _keep_enrolment({**data, "roleid": role, "suspend": self.value}, e)

    def before(self, data, ctx):
        e = ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid"))
        if e is None:
            return None
        out: dict[str, Any] = {"suspended": bool(e["suspended"])}
        if any(e[k] is None and not data.get(k) for k in ("timestart", "timeend")):
            # Moodle's web services report no enrolment dates, and enrol_manual_enrol_users writes 0 for
            # dates not sent: the preview says that the dates go (an undo cannot bring them back).
            out[DATES] = "not reported by Moodle"
        return out

    def after(self, data, before):
        out: dict[str, Any] = {"suspended": bool(self.value)}
        if before and DATES in before:
            out[DATES] = "cleared by Moodle (no start, no end)"
        return out

    def is_noop(self, data, before, ctx):
        return before is not None and before["suspended"] == bool(self.value)

    def inverse(self, data, before, result):
        return Change("enrol.unsuspend" if self.value else "enrol.suspend",
                      {"userid": data["userid"], "courseid": data["courseid"]})

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("UPDATE enrolments SET suspended = ?, synced_at = ? WHERE courseid = ? AND userid = ?",
                    (self.value, now, as_int(data, "courseid"), as_int(data, "userid")))


class EnrolUnsuspend(EnrolSuspend):
    name = "enrol.unsuspend"
    value = 0


class EnrolRemove(EnrolAdd):
    name = "enrol.remove"
    function = "enrol_manual_unenrol_users"
    reversible = False  # re-enrolling does not bring back the course data Moodle removes

    def title(self, data, ctx):
        who, where = _who_where(data, ctx)
        return f"Unenrol {who} from {where}"

    def before(self, data, ctx):
        return super().before(data, ctx) or {"enrolled": False}

    def after(self, data, before):
        return {"enrolled": False}

    def is_noop(self, data, before, ctx):
        return not (before or {}).get("enrolled")

    def request_item(self, data):
        return {"userid": as_int(data, "userid"), "courseid": as_int(data, "courseid")}

    def refused(self, data, error):
        # unenrol_users says "invalidparameter" for a deleted user too: only the named cause counts.
        return _course_refused(error) or Kind.refused(self, data, error)

    def verify(self, client, data):
        courses = client.user_courses(as_int(data, "userid")).items
        return all(c.courseid != as_int(data, "courseid") for c in courses)

    def inverse(self, data, before, result):
        return None

    def no_inverse_reason(self, data, before):
        return "enrolling again does not bring back the course data Moodle removed"

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM enrolments WHERE courseid = ? AND userid = ?",
                    (as_int(data, "courseid"), as_int(data, "userid")))


class EnrolUnassignRole(Kind):
    """Take one role of an enrolled user in a course away (core_role_unassign_roles), leaving the
    enrolment and the other roles: the undo of enrolling with a role in a course where the user
    already had another. (enrol_manual_unenrol_users takes a roleid but ignores it: it always
    unenrols.) Moodle keeps the enrolment even when no role is left."""

    name = "enrol.unassign_role"
    function = "core_role_unassign_roles"
    list_key = "unassignments"
    entity = "enrolments"
    idempotent = True
    required = ("userid", "courseid", "roleid")
    max_items = 100

    def target(self, data):
        return f"course:{data.get('courseid')}/user:{id_text(data.get('userid'))}/role:{data.get('roleid')}"

    def title(self, data, ctx):
        who, where = _who_where(data, ctx)
        return f"Remove the {ctx.role_name(data.get('roleid'))} role of {who} in {where}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["userid", "courseid", "roleid"])
        return problems or _user_and_course_problems(data, ctx)

    def before(self, data, ctx):
        e = ctx.enrolment(as_int(data, "courseid"), as_int(data, "userid"))
        if e is None:
            return {"roleids": []}
        return {"roleids": e["roleids"], "suspended": bool(e["suspended"]), "timestart": e["timestart"],
                "timeend": e["timeend"]}

    def after(self, data, before):
        # The enrolment's status and dates stay (before keeps them for the inverse): only the role goes.
        return {**(before or {}), "roleids": sorted(set(_role_ids(before)) - {as_int(data, "roleid")})}

    def is_noop(self, data, before, ctx):
        return as_int(data, "roleid") not in _role_ids(before)

    def named(self, values, ctx):
        return _named_roles(values, ctx)

    def request_item(self, data):
        return {"roleid": as_int(data, "roleid"), "userid": as_int(data, "userid"), "contextlevel": "course",
                "instanceid": as_int(data, "courseid")}

    def refused(self, data, error):
        return _course_refused(error) or super().refused(data, error)

    def forget(self, raw, data, now):
        return _forget_course(raw, data)

    def inverse(self, data, before, result):
        # Enrolling again with the role gives it back; with the enrolment's status and dates as they were,
        # which enrol_manual_enrol_users would otherwise reset.
        back: dict[str, Any] = {"userid": data["userid"], "courseid": data["courseid"], "roleid": data["roleid"],
                                "suspend": 1 if (before or {}).get("suspended") else 0}
        for key in ("timestart", "timeend"):
            if (before or {}).get(key):
                back[key] = before[key]
        return Change("enrol.add", back)

    def apply_to_cache(self, raw, data, result, now):
        courseid, userid, roleid = as_int(data, "courseid"), as_int(data, "userid"), as_int(data, "roleid")
        row = raw.execute("SELECT roleids FROM enrolments WHERE courseid = ? AND userid = ?",
                          (courseid, userid)).fetchone()
        if row is not None:
            roles = [r for r in json.loads(row[0] or "[]") if r != roleid]
            raw.execute("UPDATE enrolments SET roleids = ?, synced_at = ? WHERE courseid = ? AND userid = ?",
                        (json.dumps(roles), now, courseid, userid))
