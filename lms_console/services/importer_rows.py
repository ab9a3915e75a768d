"""The dry run: every data row classified against one read snapshot of the cache.

Per chunk of rows: the cell checks (``importer_checks``, column by column), duplicates inside
the file, then ONE statement asks the cache which accounts exist and whether they already
agree with their row in every respect (the common case of a re-import: nothing to do). Only
the remaining rows get Python attention: new accounts (whose data become ``user.create``
changes) and accounts with something to change (compared field by field, in plain words).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time
from functools import partial
from itertools import repeat
from typing import Any

from lms_console.services.cache.queries import GUEST_USERNAME
from lms_console.services.changes.kinds_users import password_problems
from lms_console.services.changes.model import Change
from lms_console.services.gc_pacing import cyclic_gc_paused
from lms_console.services.importer_checks import GUEST_EMAIL, PASSWORD_OK, Checked, Columns, check_chunk, where
from lms_console.services.importer_lookup import CacheLookup
from lms_console.services.importer_mapping import PROFILE_PREFIX, check_mapping
from lms_console.services.importer_model import DryRun, ImportOptions, RowClass, RowIssue, RowResults
from lms_console.services.importer_read import ImportFileError, Table
from lms_console.services.lms.errors import Cancelled
from lms_console.services.progress import CancelToken, ProgressEvent

CHUNK_ROWS = 5000
SECRET = "(hidden)"
_EMPTY = "empty row (skipped)"
_NEEDS_NEW = "a new account needs a first name, last name and email"
_SKIPPED, _ERROR, _CONFLICT, _CREATE = RowClass.SKIPPED, RowClass.ERROR, RowClass.CONFLICT, RowClass.CREATE

MOST_ROWS_NAMED = 3  # a value on 100 rows names a few of them, not 99 (one reason cell, not a page)
_DUPLICATE_STARTS = ("appears more than once in the file (also on ", "is also used on row")


def _duplicate_reason(target: str, others: list[int]) -> str:
    """Why a row with a repeated username (email) fails, naming at most a few of the other rows."""
    if len(others) == 1:
        where_else = f"row {others[0]}"
    elif len(others) <= MOST_ROWS_NAMED:
        where_else = "rows " + ", ".join(map(str, others[:-1])) + f" and {others[-1]}"
    else:
        where_else = (f"rows {', '.join(map(str, others[:MOST_ROWS_NAMED]))} "
                      f"and {len(others) - MOST_ROWS_NAMED:,} more")
    if target == "username":
        return f"appears more than once in the file (also on {where_else})"
    return f"is also used on {where_else} (each account needs its own address)"


def _class_of(issue: RowIssue) -> RowClass:
    """The class of a row with ``issue`` alone: an error or a conflict, as the issue says."""
    return _CONFLICT if issue.kind == "conflict" else _ERROR


def _when(stamp: int) -> str:
    """A date as the file gave it: 2025-09-01, with the time when it has one (local time, as parse_date reads it)."""
    moment = datetime.fromtimestamp(stamp)
    return moment.strftime("%Y-%m-%d" if moment.time() == time(0) else "%Y-%m-%d %H:%M")


class _Known:
    """What the cache knows of one chunk's existing accounts: memberships, enrolment roles and
    dates (in the cohorts and courses the chunk names)."""

    def __init__(self, cache: CacheLookup, c: Checked, ids: list[int]) -> None:
        self.c = c
        cohorts = set().union(*map(set, c.cohorts)) - {None} if c.cohorts else set()
        courses = set().union(*(set(x[0]) for x in c.courses)) - {None} if c.courses else set()
        self.pairs = cache.cohort_pairs(ids, sorted(cohorts)) if ids and cohorts else set()
        self.roles = cache.enrolled_roles(ids, sorted(courses)) if ids and courses else set()
        with_dates = c.courses and any(any(x[2]) or any(x[3]) for x in c.courses)
        self.dates = cache.enrolment_dates(ids, sorted(courses)) if ids and courses and with_dates else {}
        self._roles_of: dict[tuple[int, int], set[int]] | None = None

    def roles_of(self) -> dict[tuple[int, int], set[int]]:
        if self._roles_of is None:
            self._roles_of = {}
            for cid, uid, rid in self.roles:
                self._roles_of.setdefault((cid, uid), set()).add(rid)
        return self._roles_of

    def same(self, k: int, uid: int) -> bool:
        """Whether the row's memberships and enrolments are already so."""
        c = self.c
        for col in c.cohorts:
            if col[k] is not None and (col[k], uid) not in self.pairs:
                return False
        for cids, rids, starts, ends in c.courses:
            cid = cids[k]
            if cid is not None:
                if (cid, uid, rids[k]) not in self.roles:
                    return False
                if starts[k] is not None or ends[k] is not None:
                    when = self.dates.get((cid, uid), (None, None))
                    if starts[k] not in (None, when[0]) or ends[k] not in (None, when[1]):
                        return False
        return True


class DryRunner:
    """Classifies the rows of ``table`` mapped by ``targets`` against the cache (``conn``)."""

    def __init__(self, table: Table, targets: Sequence[str], conn, options: ImportOptions) -> None:
        self.table = table
        self.targets = tuple(targets)
        self.options = options
        report = check_mapping(table.headers, self.targets, create_passwords=options.create_passwords,
                               ignored=options.ignored)
        if not report.ok:
            raise ImportFileError("The columns cannot be imported as mapped: " + " ".join(report.errors))
        self.cols = Columns(table.headers, self.targets)
        self.cache = CacheLookup(conn)
        self.rows = RowResults()
        self.pending: dict[int, tuple] = {}  # row index -> (create, update, suspend, cohortids, enrolments)
        self.first_username: dict[str, int] = {}
        self.first_email: dict[str, int] = {}
        self.repeats: dict[tuple[str, int], list[int]] = {}  # (target, first occurrence) -> the rows repeating it
        self.warnings = list(report.warnings)
        if self.cols.profile:
            known = self.cache.profile_fields()
            self.warnings += [f"No account in the local copy has the profile field “{s}”: check its short name "
                              "(sync first if the field is new)." for _i, s in self.cols.profile if s not in known]
        b = ["id", "username", "email", "idnumber", "suspended"]
        self.select = [*b, *(f'"{t}"' for t in self.cols.order)]
        self.base = len(b)

    # -- driving ------------------------------------------------------------------------------------
    def run(self, progress: Callable[[ProgressEvent], None] | None = None,
            cancel: CancelToken | None = None) -> DryRun:
        # Several container objects per row live until the run returns and form no cycles: the cyclic
        # collector would scan them again and again (a third of the run time on 50,000 rows).
        with cyclic_gc_paused():
            for chunk in self.table.chunks(CHUNK_ROWS, progress, cancel):
                self._chunk(*chunk)
                if cancel is not None and cancel.cancelled:
                    raise Cancelled()
            changes = tuple(self.changes())
        return DryRun(self.table.source, self.table.headers, self.targets, self.options, self.rows, changes,
                      tuple(self.warnings), self.rows.counts())

    # -- one chunk -------------------------------------------------------------------------------------
    def _chunk(self, rownos: list[int], columns: list[list[str]], ragged: dict[int, list[str]]) -> None:
        cols, cache, opts = self.cols, self.cache, self.options
        c = check_chunk(cols, cache, rownos, columns, ragged)
        m, names, base = len(rownos), c.names, len(self.rows)
        self._duplicates(c, names, "username", base, self.first_username)
        emails = c.values.get("email")
        if emails is not None and not opts.allow_shared_email:
            self._duplicates(c, list(map(str.lower, emails)), "email", base, self.first_email)

        # Which accounts exist, and what the cache knows of them (a few set-based statements).
        live = [names[k] for k in where(names) if k not in c.empty] if c.empty else list(filter(None, names))
        accounts = cache.accounts(live, cols.order, [s for s, _v in c.customs]) if live else {}
        known = _Known(cache, c, [a[0] for a in accounts.values()])
        klass: list[RowClass | None] = [None] * m
        userids: list[int | None] = [None] * m
        details: dict[int, Any] = {}
        new, changed = [], []
        keys, susp, pw, same = c.keys, c.suspended, c.passwords, known.same
        for k in range(m):
            acc = accounts.get(names[k])
            if acc is not None:
                userids[k] = acc[0]
            if k in c.empty:
                klass[k] = _SKIPPED
                details[k] = ((), (RowIssue(rownos[k], "", "", _EMPTY, "skipped"),), ())
            elif acc is None:
                # With its cell problems, if any: the new-account checks add theirs (or, when this import
                # only updates, the row is skipped whatever its cells say).
                new.append(k)
            elif opts.mode == "create_only" and k not in c.broken:  # skipped whatever its cells say
                klass[k] = _SKIPPED
                details[k] = ((), (RowIssue(rownos[k], cols.name("username"), names[k], "already has an account; "
                                            "this import only creates new accounts", "skipped"),), c.notes.get(k, ()))
            elif k in c.issues:
                klass[k] = _ERROR
                details[k] = ((), tuple(c.issues[k]), c.notes.get(k, ()))
            elif (acc[1] == keys[k] and (susp is None or susp[k] is None or susp[k] == bool(acc[2]))
                  and not (pw and pw[k]) and same(k, acc[0])):
                klass[k] = RowClass.UNCHANGED  # the cache already agrees with every value of the row
                if k in c.notes:
                    details[k] = ((), (), c.notes[k])
            else:
                changed.append(k)
        if changed:
            self._changed_accounts(c, changed, accounts, known, klass, details, base)
        if new:
            self._new_accounts(c, new, klass, details, base)
        rows = self.rows
        rows.rownos += rownos
        rows.classes += klass
        rows.usernames += names
        rows.userids += userids
        rows.details.update({base + k: d for k, d in details.items()})

    def _duplicates(self, c: Checked, keys: list[str], target: str, base: int, first_of: dict[str, int]) -> None:
        """Every occurrence of a username (email) that is in the file more than once fails: which one
        is right is the admin's call. A later occurrence names the first, the first names a few of the
        others. A value that is already an error in its cell (an invalid address) is no duplicate too."""
        names = c.names
        header = self.cols.name(target)
        live = where(keys)
        skip = c.empty | {k for k, issues in c.issues.items() if any(i.field == header for i in issues)} \
            if c.issues else c.empty
        if skip:
            live = [k for k in live if k not in skip]
        live_keys = [keys[k] for k in live]
        if len(set(live_keys)) == len(live_keys) and first_of.keys().isdisjoint(live_keys):
            first_of.update(zip(live_keys, [base + k for k in live]))  # the common case: no duplicates
            return
        shown = c.values.get(target, keys)
        rows = self.rows
        repeats: dict[int, list[int]] = {}  # a first occurrence (index in the run) -> its repeats in this chunk
        for k in live:
            key = keys[k]
            first = first_of.get(key)
            if first is None:
                first_of[key] = base + k
                continue
            earlier = first >= base  # in this chunk
            if target == "email" and (names[first - base] if earlier else rows.usernames[first]) == names[k]:
                continue  # the same account twice: said once, for the username
            other = c.rownos[first - base] if earlier else rows.rownos[first]
            c.add(k, header, shown[k], _duplicate_reason(target, [other]))
            repeats.setdefault(first, []).append(k)
        for first, ks in repeats.items():
            others = self.repeats.setdefault((target, first), [])
            others += [c.rownos[k] for k in ks]
            if first >= base:
                c.add(first - base, header, shown[first - base], _duplicate_reason(target, others))
            else:
                self._renamed(first, header, shown[ks[0]], _duplicate_reason(target, others))

    def _renamed(self, index: int, header: str, value: str, reason: str) -> None:
        """The row at ``index`` (of an earlier chunk) fails with ``reason`` for its ``header`` cell, in place of
        what was said before of that value's repeats."""
        rows = self.rows
        old = rows[index]
        kept = []
        for issue in old.issues:
            if issue.field == header and issue.reason.startswith(_DUPLICATE_STARTS):
                value = issue.value  # the row's own spelling of the value
            else:
                kept.append(issue)
        self.pending.pop(index, None)
        rows.set(index, _ERROR, ((), (*kept, RowIssue(old.row, header, value, reason)), old.notes))

    def _email_conflicts(self, c: Checked, ks: list[int], userids: dict[int, int | None]) -> dict[int, RowIssue]:
        """Rows whose email another account already uses (unless the site allows shared addresses): a
        conflict, or an error when that account is the site's guest account (hidden: neither named nor shown)."""
        emails = c.values.get("email")
        if emails is None or self.options.allow_shared_email:
            return {}
        wanted = [emails[k] for k in ks if emails[k]]
        by_email = self.cache.users_by_email(wanted) if wanted else {}
        out = {}
        header = self.cols.name("email")
        for k in ks:
            for uid, uname in by_email.get(emails[k].lower(), ()):
                if uid == userids.get(k):
                    continue
                out[k] = RowIssue(c.rownos[k], header, emails[k], GUEST_EMAIL, "error") if uname == GUEST_USERNAME \
                    else RowIssue(c.rownos[k], header, emails[k], f"is already used by the account “{uname}” (id "
                                  f"{uid}); Moodle refuses shared addresses", "conflict")
                break
        return out

    # -- new accounts -------------------------------------------------------------------------------
    def _new_accounts(self, c: Checked, ks: list[int], klass: list, details: dict, base: int) -> None:
        cols, opts, rownos, names = self.cols, self.options, c.rownos, c.names
        if opts.mode == "update_only":
            for k in ks:
                if k in c.broken:  # garbled by the file, or the guest account: said whatever the mode
                    klass[k] = _ERROR
                    details[k] = ((), tuple(c.issues[k]), c.notes.get(k, ()))
                    continue
                klass[k] = _SKIPPED
                details[k] = ((), (RowIssue(rownos[k], cols.name("username"), names[k], "has no account in the local "
                                            "copy; this import only updates existing accounts", "skipped"),),
                              c.notes.get(k, ()))
            return
        problems: dict[int, list[RowIssue]] = {k: list(c.issues[k]) for k in ks if k in c.issues}
        for t in ("firstname", "lastname", "email"):
            vals = c.values.get(t)
            for k in (ks if vals is None else [k for k in ks if not vals[k]]):
                problems.setdefault(k, []).append(RowIssue(rownos[k], cols.name(t), "", _NEEDS_NEW))
        auths = c.values.get("auth")
        manual = ks if auths is None else [k for k in ks if auths[k] in ("", "manual")]
        passwords = c.passwords
        if passwords is None:
            weak = []
            bare = manual if not opts.create_passwords else []
        else:
            ok = list(map(PASSWORD_OK.match, [passwords[k] for k in manual]))
            weak = [k for k, good in zip(manual, ok) if good is None and passwords[k]]
            bare = [] if opts.create_passwords else [k for k in manual if not passwords[k]]
        for k in weak:
            problems.setdefault(k, []).append(RowIssue(rownos[k], cols.name("password"), SECRET,
                                                       "does not meet the password policy: needs "
                                                       + ", ".join(password_problems(passwords[k]))))
        for k in bare:
            problems.setdefault(k, []).append(RowIssue(rownos[k], cols.name("password"), "", "a new account with "
                                                       "manual sign-in needs a password (or let Moodle create and "
                                                       "email one)"))
        good = [k for k in ks if k not in problems]
        conflicts = self._email_conflicts(c, good, {})
        manual_set = set(manual)
        order, frows, customs = cols.order, c.frows, c.customs
        for k in ks:
            if k in problems:
                klass[k] = _ERROR
                details[k] = ((), tuple(problems[k]), c.notes.get(k, ()))
                continue
            if k in conflicts:
                klass[k] = _class_of(conflicts[k])
                details[k] = ((), (conflicts[k],), c.notes.get(k, ()))
                continue
            frow = frows[k]
            create: dict[str, Any] = dict(zip(order, frow)) if "" not in frow else \
                {t: v for t, v in zip(order, frow) if v}
            create["username"] = names[k]
            note = c.notes[k] if k in c.notes else ()
            if k in manual_set:
                if passwords is not None and passwords[k]:
                    create["password"] = passwords[k]
                else:
                    create["createpassword"] = 1
            elif passwords is not None and passwords[k]:
                note += (f"password not used: the account signs in with {create.get('auth')}",)
            if customs:
                custom = {s: vals[k] for s, vals in customs if vals[k]}
                if custom:
                    create["customfields"] = custom
            suspend = True if c.suspended is not None and c.suspended[k] else None
            cohorts = [ids[k] for ids in c.cohorts if ids[k] is not None]
            if len(cohorts) > 1:
                cohorts = list(dict.fromkeys(cohorts))
            enrols = [(x[0][k], x[1][k], x[2][k], x[3][k]) for x in c.courses if x[0][k] is not None]
            klass[k] = _CREATE
            pending = (create, None, suspend, cohorts, enrols)
            details[k] = partial(self._create_details, frow, pending, note)
            self.pending[base + k] = pending

    def _create_details(self, frow, pending, note):
        create, _u, suspend, cohorts, enrols = pending
        diff = [d for d in zip(self.cols.order, repeat(""), frow) if d[2]]
        if "password" in create:
            diff.append(("password", "", SECRET))
        elif "createpassword" in create:
            diff.append(("password", "", "created by Moodle and emailed"))
        diff += [(PROFILE_PREFIX + s, "", v) for s, v in (create.get("customfields") or {}).items()]
        if suspend:
            diff.append(("suspended", "", "yes"))
        diff += [("cohort", "", self.cache.cohort_names.get(x, str(x))) for x in cohorts]
        diff += [("course", "", self._enrol_text(e)) for e in enrols]
        return tuple(diff), (), note

    def _enrol_text(self, e: tuple) -> str:
        text = f"{self.cache.course_names.get(e[0], e[0])} as {self.cache.role_names.get(e[1], e[1])}"
        if e[2]:
            text += f" from {_when(e[2])}"
        if e[3]:
            text += f" until {_when(e[3])}"
        return text

    # -- accounts with something to change ---------------------------------------------------------------
    def _changed_accounts(self, c: Checked, ks: list[int], accounts: dict, known: _Known, klass: list,
                          details: dict, base: int) -> None:
        cols, cache = self.cols, self.cache
        ids = [accounts[c.names[k]][0] for k in ks]
        users = cache.users_by_id(ids, self.select)
        emails = c.values.get("email")
        moved = {}
        for k, uid in zip(ks, ids):
            user = users[uid]
            if emails is not None and emails[k] and emails[k].lower() != (user[2] or "").lower():
                moved[k] = uid
        conflicts = self._email_conflicts(c, list(moved), moved)
        b = self.base
        enrolled, dates = known.roles_of, known.dates
        custom = cache.custom_fields(ids, [s for s, _v in c.customs]) if c.customs else {}
        for k, uid in zip(ks, ids):
            rowno, user = c.rownos[k], users[uid]
            note = c.notes.get(k, ())
            if k in moved and user[2] and not self._same_person(c, k, user):
                klass[k] = _CONFLICT
                details[k] = ((), (RowIssue(rowno, cols.name("username"), c.names[k],
                                            self._taken_reason(user), "conflict"),), note)
                continue
            if k in conflicts:  # the new email is another account's
                klass[k] = _class_of(conflicts[k])
                details[k] = ((), (conflicts[k],), note)
                continue
            if c.passwords is not None and c.passwords[k]:
                note += ("password not changed for an existing account",)
            diff: list[tuple[str, str, str]] = []
            update: dict[str, Any] = {}
            for t, v, before in zip(cols.order, c.frows[k], user[b:]):
                if not v or v == before:
                    continue  # a blank cell leaves the field as it is
                before = "" if before is None else str(before)
                if v == before or (t == "email" and v.lower() == before.lower()):
                    continue
                update[t] = v
                diff.append((t, before, v))
            changed = {}
            for s, vals in c.customs:
                v, had = vals[k], custom.get((uid, s), "")
                if v and had != v:
                    changed[s] = v
                    diff.append((PROFILE_PREFIX + s, had, v))
            if changed:
                update["customfields"] = changed
            suspend = c.suspended[k] if c.suspended is not None else None
            if suspend is not None and bool(user[4]) != suspend:
                diff.append(("suspended", "yes" if user[4] else "no", "yes" if suspend else "no"))
            else:
                suspend = None
            cohorts = []
            for col in c.cohorts:
                cid = col[k]
                if cid is not None and (cid, uid) not in known.pairs and cid not in cohorts:
                    cohorts.append(cid)
                    diff.append(("cohort", "", cache.cohort_names.get(cid, str(cid))))
            enrols = []
            for cids, rids, starts, ends in c.courses:
                if cids[k] is None:
                    continue
                e = (cids[k], rids[k], starts[k], ends[k])
                have = enrolled().get((e[0], uid))
                when = dates.get((e[0], uid), (None, None))
                if have and e[1] in have and e[2] in (None, when[0]) and e[3] in (None, when[1]):
                    continue
                enrols.append(e)
                before = "enrolled as " + ", ".join(str(cache.role_names.get(r, r)) for r in sorted(have)) if have else ""
                diff.append(("course", before, self._enrol_text(e)))
            if not diff:
                klass[k] = RowClass.UNCHANGED
                if note:
                    details[k] = ((), (), note)
                continue
            klass[k] = RowClass.UPDATE
            details[k] = (tuple(diff), (), note)
            self.pending[base + k] = (None, update or None, suspend, cohorts, enrols)

    def _same_person(self, c: Checked, k: int, user: tuple) -> bool:
        """Whether a row with a new email is the account it names: its ID number, or else its first and
        last name, agree with the account's (a username alone could be someone else's, reused)."""
        idnumbers = c.values.get("idnumber")
        if idnumbers and idnumbers[k] and user[3]:
            return idnumbers[k] == user[3]
        first, last = c.values.get("firstname"), c.values.get("lastname")
        if not (first and last and first[k] and last[k]):
            return False
        b, order = self.base, self.cols.order
        had = user[b + order.index("firstname")], user[b + order.index("lastname")]
        return first[k].casefold() == (had[0] or "").casefold() and last[k].casefold() == (had[1] or "").casefold()

    def _taken_reason(self, user: tuple) -> str:
        confirm = ("the account's ID number" if user[3] else
                   "the account's first and last name as the local copy has them (it has no ID number)")
        return (f"is taken by an account with a different email ({user[2]}); nothing is changed for this row. If it is "
                f"the same person, add {confirm} to the row, or correct the email")

    # -- the changes ----------------------------------------------------------------------------------------
    def changes(self) -> list[Change]:
        """Creates first (later items refer to them), then updates, suspensions, memberships, enrolments:
        items of one kind side by side batch into few calls."""
        creates: list[Change] = []
        updates: list[Change] = []
        suspends: list[Change] = []
        members: list[Change] = []
        enrols: list[Change] = []
        pending = sorted(self.pending.items())
        userids = self.rows.userids
        who: dict[int, Any] = {}
        for index, (create, *_rest) in pending:
            if create is not None:
                creates.append(Change("user.create", create))
                who[index] = {"ref": len(creates), "field": "id"}
            else:
                who[index] = userids[index]
        for index, (_c, update, suspend, cohorts, courses) in pending:
            user = who[index]
            if update:
                updates.append(Change("user.update", {"id": user, "fields": update}))
            if suspend is not None:
                suspends.append(Change("user.suspend" if suspend else "user.unsuspend", {"id": user}))
            for cid in cohorts:
                members.append(Change("cohort.add_member", {"cohortid": cid, "userid": user}))
            for cid, rid, start, end in courses:
                data = {"courseid": cid, "userid": user, "roleid": rid}
                if start:
                    data["timestart"] = start
                if end:
                    data["timeend"] = end
                enrols.append(Change("enrol.add", data))
        return [*creates, *updates, *suspends, *members, *enrols]


__all__ = ["CHUNK_ROWS", "DryRunner", "SECRET"]
