"""Seed of enrolments and everything hanging off them.

For each enrolment the seed writes the user enrolment, the role assignment,
the course last-access time, the course completion (with a completion time
spread over months, so completion over time can be charted), activity
completions, group membership and grades.  Rows are buffered and written with
``executemany`` in chunks to bound memory at 1,000,000 enrolments.
"""

from __future__ import annotations

DAY = 86400
CHUNK = 150_000

_SQL = {
    "ue": "INSERT INTO user_enrolments(status, enrolid, userid, timestart, timeend, timecreated, timemodified)"
          " VALUES (?,?,?,?,?,?,?)",
    "ra": "INSERT INTO role_assignments(roleid, contextid, userid, timemodified) VALUES (?,?,?,?)",
    "la": "INSERT INTO user_lastaccess(userid, courseid, timeaccess) VALUES (?,?,?)",
    "cc": "INSERT INTO course_completions(userid, course, timeenrolled, timestarted, timecompleted)"
          " VALUES (?,?,?,?,?)",
    "cmc": "INSERT INTO course_modules_completion(coursemoduleid, userid, completionstate, overrideby,"
           " timemodified) VALUES (?,?,?,NULL,?)",
    "gm": "INSERT INTO groups_members(groupid, userid, timeadded) VALUES (?,?,?)",
    "gg": "INSERT INTO grade_grades(itemid, userid, finalgrade, timemodified) VALUES (?,?,?,?)",
}


def enrol_all(builder, staff, students, per_user: float) -> int:
    conn, rng = builder.conn, builder.rng
    courses = builder.course_info
    if not courses:
        return 0
    buf: dict[str, list] = {k: [] for k in _SQL}
    rand, randint = rng.random, rng.randint
    total = 0

    def flush():
        for key, rows in buf.items():
            if rows:
                conn.executemany(_SQL[key], rows)
                rows.clear()

    # Teachers first: one or two editing teachers (role 3) and sometimes a non-editing teacher (4).
    staff_pool = [u for u in staff if not u[3]] or staff
    teacher_of: set[tuple[int, int]] = set()
    for info in courses:
        if not staff_pool:
            break
        picks = rng.sample(staff_pool, min(len(staff_pool), randint(1, 2) + (1 if rand() < 0.3 else 0)))
        for index, (uid, first_acc, last_acc, _susp) in enumerate(picks):
            role = 3 if index < 2 else 4
            created = info["start"] - randint(5, 30) * DAY
            buf["ue"].append((0, info["manual"], uid, 0, 0, created, created))
            buf["ra"].append((role, info["ctx"], uid, created))
            if last_acc:
                buf["la"].append((uid, info["id"], max(last_acc - randint(0, 20) * DAY, first_acc)))
            teacher_of.add((uid, info["id"]))
            total += 1

    learners = sorted(list(students) + [u for u in staff if rand() < 0.3])
    ncourses = len(courses)
    # Not every user is a learner: scale so that enrolments ~= users * per_user.
    per_user = per_user * (len(students) + len(staff)) / max(len(learners), 1)
    spread = max(per_user * 0.35, 0.5)
    # Plain tuples instead of dicts: this loop runs once per enrolment.
    plan = [(i["id"], i["ctx"], i["start"], i["end"], i["completion"] and bool(i["criteria"]), i["manual"],
             i["groups"], len(i["groups"]), i["criteria"], len(i["criteria"]), i["graded"]) for i in courses]
    ue, ra, la, cc, cmc, gm, gg = (buf[k].append for k in ("ue", "ra", "la", "cc", "cmc", "gm", "gg"))
    cmc_extend, gg_extend = buf["cmc"].extend, buf["gg"].extend
    sample, gauss = rng.sample, rng.gauss
    course_range = range(ncourses)
    for uid, first_acc, last_acc, _susp in learners:
        k = int(round(gauss(per_user, spread)))
        if k <= 0:
            continue
        for index in sample(course_range, k if k < ncourses else ncourses):
            cid, ctx, start, end, with_completion, manual, groups, ngroups, crit, ncrit, graded = plan[index]
            if (uid, cid) in teacher_of:
                continue
            total += 1
            created = start - int(rand() * 20) * DAY + int(rand() * DAY)
            status = 1 if rand() < 0.03 else 0
            if end and rand() < 0.08:
                ue((status, manual, uid, start, end, created, created))
            else:
                ue((status, manual, uid, 0, 0, created, created))
            ra((5, ctx, uid, created))
            lo = start if start > first_acc else first_acc
            accessed = last_acc > lo and rand() < 0.88
            progress = rand() if accessed else 0.0
            if accessed:
                la((uid, cid, lo + int((last_acc - lo) * (0.5 + rand() / 2))))
            if ngroups and rand() < 0.8:
                gm((groups[int(rand() * ngroups)], uid, created))
            if with_completion:
                if accessed and progress > 0.62:
                    done = ncrit
                    tcompleted = lo + int((last_acc - lo) * (0.3 + 0.7 * rand()))
                    upto = tcompleted
                else:
                    done = int(ncrit * progress * 1.3)
                    if done >= ncrit:
                        done = ncrit - 1
                    tcompleted = None
                    upto = last_acc
                tstarted = lo if accessed else 0
                cc((uid, cid, created, tstarted, tcompleted))
                if done > 0:
                    step = (upto - tstarted) // (done + 1) or 1
                    cmc_extend([(cmid, uid, 1, tstarted + step * (n + 1)) for n, cmid in enumerate(crit[:done])])
            if accessed and graded:
                skill = 0.45 + 0.4 * progress
                threshold = 0.25 + 0.7 * progress
                gg_extend([(itemid, uid, round(grademax * min(1.0, max(0.0, skill + (rand() - 0.5) * 0.5)), 2),
                            lo + int(rand() * 60 * DAY))
                           for itemid, grademax in graded if rand() < threshold])
        if len(buf["ue"]) >= CHUNK:
            flush()
    flush()
    return total
