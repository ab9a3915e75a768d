"""Simulated user activity, so engagement history can be observed across syncs.

``simulate_activity`` moves a random share of active users forward in time:
their last access (site and one course) becomes "now", and some complete
their next activity, which may complete the course.  It is deterministic for
a given ``seed``.
"""

from __future__ import annotations

import random
import time


def simulate_activity(store, fraction: float = 0.05, seed: int = 0, now: int | None = None) -> dict:
    now = int(now if now is not None else time.time())
    rng = random.Random(seed)
    touched = completed_activities = completed_courses = 0
    with store.connection() as conn, store.transaction(conn):
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM user WHERE deleted = 0 AND suspended = 0 AND confirmed = 1 AND id > 3 ORDER BY id")]
        chosen = rng.sample(ids, min(len(ids), max(1, int(len(ids) * fraction)))) if ids else []
        for uid in sorted(chosen):
            when = now - rng.randint(0, 3600)
            conn.execute("UPDATE user SET lastaccess = MAX(lastaccess, ?), lastlogin = MAX(lastlogin, ?),"
                         " firstaccess = CASE WHEN firstaccess = 0 THEN ? ELSE firstaccess END WHERE id = ?",
                         (when, when, when, uid))
            touched += 1
            courses = [r[0] for r in conn.execute(
                "SELECT e.courseid FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid"
                " WHERE ue.userid = ? AND ue.status = 0 ORDER BY e.courseid", (uid,))]
            if not courses:
                continue
            course = rng.choice(courses)
            conn.execute("INSERT INTO user_lastaccess(userid, courseid, timeaccess) VALUES (?,?,?)"
                         " ON CONFLICT(userid, courseid) DO UPDATE SET timeaccess = excluded.timeaccess",
                         (uid, course, when))
            if rng.random() < 0.5:
                continue
            nxt = conn.execute(
                "SELECT moduleinstance FROM course_completion_criteria WHERE course = ? AND criteriatype = 4"
                " AND moduleinstance NOT IN (SELECT coursemoduleid FROM course_modules_completion"
                " WHERE userid = ? AND completionstate > 0) ORDER BY id LIMIT 1", (course, uid)).fetchone()
            if nxt is None:
                continue
            conn.execute("INSERT INTO course_modules_completion(coursemoduleid, userid, completionstate,"
                         " timemodified) VALUES (?,?,1,?) ON CONFLICT(userid, coursemoduleid) DO UPDATE SET"
                         " completionstate = 1, timemodified = excluded.timemodified", (nxt[0], uid, when))
            completed_activities += 1
            remaining = conn.execute(
                "SELECT COUNT(*) FROM course_completion_criteria WHERE course = ? AND criteriatype = 4"
                " AND moduleinstance NOT IN (SELECT coursemoduleid FROM course_modules_completion"
                " WHERE userid = ? AND completionstate > 0)", (course, uid)).fetchone()[0]
            conn.execute("INSERT INTO course_completions(userid, course, timeenrolled, timestarted) VALUES (?,?,?,?)"
                         " ON CONFLICT(userid, course) DO NOTHING", (uid, course, when, when))
            if remaining == 0:
                conn.execute("UPDATE course_completions SET timecompleted = ? WHERE userid = ? AND course = ?"
                             " AND timecompleted IS NULL", (when, uid, course))
                completed_courses += 1
    return {"users": touched, "activities_completed": completed_activities, "courses_completed": completed_courses,
            "now": now}
