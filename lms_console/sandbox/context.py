"""Per-request state handed to every web-service handler, and access checks.

The sandbox models two kinds of callers: a site administrator (every
capability, every course) and an ordinary user who may only act in courses
where they hold an active enrolment.  The checks raise the exact Moodle errors
observed for a non-admin token (``nopermissions`` with the capability's
name, ``errorcoursecontextnotvalid``, ``requireloginerror``).
"""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass, field

from . import errors

CONTEXT_SYSTEM, CONTEXT_USER, CONTEXT_COURSECAT, CONTEXT_COURSE, CONTEXT_MODULE = 10, 30, 40, 50, 70
SITEID = 1
THEME_REV = "1795872121"

# Human names of the capabilities whose absence the sandbox reports.
CAPABILITY_NAMES = {
    "moodle/user:create": "Create users",
    "moodle/user:update": "Update user profiles",
    "moodle/user:delete": "Delete users",
    "moodle/course:create": "Create courses",
    "moodle/course:update": "Update course settings",
    "moodle/course:delete": "Delete courses",
    "moodle/cohort:view": "View site-wide cohorts",
    "moodle/cohort:manage": "Create, delete and move cohorts",
    "moodle/cohort:assign": "Add and remove cohort members",
}


def fullname(user) -> str:
    return f"{user['firstname']} {user['lastname']}"


@dataclass
class CallContext:
    """What a handler needs: the connection, the caller and the site settings."""

    conn: sqlite3.Connection
    server: object               # the SandboxApp (store, settings, urls)
    user: sqlite3.Row
    token: sqlite3.Row | None
    service: sqlite3.Row | None
    now: int = field(default_factory=lambda: int(time.time()))

    @property
    def store(self):
        return self.server.store

    @property
    def settings(self):
        return self.server.settings

    @property
    def debug(self) -> bool:
        return self.server.settings.debug

    @property
    def userid(self) -> int:
        return int(self.user["id"])

    @property
    def is_admin(self) -> bool:
        return self.userid in self.server.site_admins(self.conn)

    @property
    def site_url(self) -> str:
        return self.server.site_url

    @property
    def rng(self) -> random.Random:
        return self.server.rng

    # -- lookups -------------------------------------------------------------
    def one(self, sql: str, params=()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def course(self, courseid: int, strict_sql: str | None = None) -> sqlite3.Row:
        row = self.one("SELECT * FROM course WHERE id = ?", (courseid,))
        if row is None:
            raise errors.MissingRecord("course", strict_sql or "SELECT * FROM {course} WHERE id = ?", [courseid])
        return row

    def context_id(self, level: int, instanceid: int) -> int | None:
        row = self.one("SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?", (level, instanceid))
        return row[0] if row else None

    def image_url(self, size: str = "f1") -> str:
        return f"{self.site_url}/theme/image.php/boost/core/{THEME_REV}/u/{size}"

    # -- access checks -----------------------------------------------------------
    def require_capability(self, capability: str) -> None:
        if not self.is_admin:
            raise errors.no_permission(CAPABILITY_NAMES.get(capability, capability))

    def is_enrolled(self, courseid: int, userid: int | None = None, active: bool = True) -> bool:
        sql = ("SELECT 1 FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid "
               "WHERE e.courseid = ? AND ue.userid = ?")
        if active:
            sql += " AND ue.status = 0 AND e.status = 0 AND (ue.timestart = 0 OR ue.timestart <= ?) " \
                   "AND (ue.timeend = 0 OR ue.timeend > ?)"
            return self.one(sql, (courseid, userid or self.userid, self.now, self.now)) is not None
        return self.one(sql, (courseid, userid or self.userid)) is not None

    def can_access_course(self, courseid: int) -> bool:
        return courseid == SITEID or self.is_admin or self.is_enrolled(courseid)

    def validate_course_context(self, courseid: int) -> None:
        """``external_api::validate_context`` for a course: non-members are refused."""
        if not self.can_access_course(courseid):
            raise errors.course_context_not_valid(courseid)

    def require_login_course(self, courseid: int) -> None:
        """``require_login($course)`` as plugins call it (no context wrapping)."""
        if not self.can_access_course(courseid):
            raise errors.require_login("Not enrolled")
