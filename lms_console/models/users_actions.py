"""What the users pane asks for, turned into change-engine plans and cache writes.

Bulk actions on a selection or on everything the filter matches, user edits and new users
become :class:`Change` lists handed to ``ChangeEngine.plan`` (which opens the preview); saved
filters are written on the cache-writer thread. The pure helpers (:func:`bulk_changes`,
:func:`edit_changes`, :func:`create_problems`) are what the tests pin down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from lms_console.models.groups_model import read_course_groups
from lms_console.models.users_detail_model import cancel_on_destroy, run_job
from lms_console.services import saved_filters as SF
from lms_console.services import users_query as Q
from lms_console.services.changes.kinds_users import USER_FIELDS, field_problems, password_problems
from lms_console.services.changes.model import Change
from lms_console.services.lms.base import User
from lms_console.services.users_query import UserFilter

# action -> (verb for titles, Change kind)
BULK_ACTIONS: dict[str, tuple[str, str]] = {
    "suspend": ("Suspend", "user.suspend"),
    "unsuspend": ("Unsuspend", "user.unsuspend"),
    "delete": ("Delete", "user.delete"),
    "force_password_change": ("Force a password change for", "user.force_password_change"),
    "add_to_cohort": ("Add", "cohort.add_member"),
    "add_to_group": ("Add", "group.add_member"),
    "enrol": ("Enrol", "enrol.add"),
}
# More than this many users at once: the pane asks twice (a million Change objects is heavy too).
LARGE_BULK = 10_000


def bulk_changes(action: str, ids: Sequence[int], params: Mapping[str, Any] | None = None) -> list[Change]:
    """One Change per user for ``action`` (params: cohortid; groupid; courseid, roleid, timestart, timeend).

    A group takes enrolled users only (core_group_add_group_members refuses the others): each user is
    a change of its own, so the planner names those not enrolled in the group's course."""
    params = dict(params or {})
    kind = BULK_ACTIONS[action][1]
    if action in ("add_to_cohort", "add_to_group"):
        key = "cohortid" if action == "add_to_cohort" else "groupid"
        container = int(params[key])
        return [Change(kind, {key: container, "userid": int(u)}) for u in ids]
    if action == "enrol":
        base = {"courseid": int(params["courseid"]), "roleid": int(params.get("roleid") or 5)}
        for key in ("timestart", "timeend"):
            if params.get(key):
                base[key] = int(params[key])
        return [Change(kind, {**base, "userid": int(u)}) for u in ids]
    return [Change(kind, {"id": int(u)}) for u in ids]


def bulk_title(action: str, n: int, params: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None
               ) -> str:
    """"Suspend 3 users", "Add 120 users to cohort Sales", "Add 4 users to group A in C101",
    "Enrol 5 users in C101 as Student"."""
    params, names = dict(params or {}), dict(names or {})
    who = f"{n:,} user{'s' if n != 1 else ''}"
    verb = BULK_ACTIONS[action][0]
    if action == "add_to_cohort":
        return f"Add {who} to cohort {names.get('cohort') or params.get('cohortid')}"
    if action == "add_to_group":
        course = f" in {names['course']}" if names.get("course") else ""
        return f"Add {who} to group {names.get('group') or params.get('groupid')}{course}"
    if action == "enrol":
        role = f" as {names['role']}" if names.get("role") else ""
        return f"Enrol {who} in {names.get('course') or params.get('courseid')}{role}"
    return f"{verb} {who}"


def edit_changes(user: User, fields: Mapping[str, str], custom: Mapping[str, str] | None = None,
                 suspended: bool | None = None, current_custom: Mapping[str, str] | None = None) -> list[Change]:
    """The changes that turn ``user`` into what the properties dialog shows (nothing when equal)."""
    changed = {k: v for k, v in fields.items() if k in USER_FIELDS and str(getattr(user, k, "") or "") != v}
    before = dict(current_custom or {c.shortname: c.value for c in user.customfields})
    custom_changed = {k: v for k, v in (custom or {}).items() if str(before.get(k) or "") != v}
    out = []
    if changed or custom_changed:
        payload: dict[str, Any] = dict(changed)
        if custom_changed:
            payload["customfields"] = custom_changed
        out.append(Change("user.update", {"id": user.id, "fields": payload}))
    if suspended is not None and bool(suspended) != bool(user.suspended):
        out.append(Change("user.suspend" if suspended else "user.unsuspend", {"id": user.id}))
    return out


REQUIRED = ("username", "firstname", "lastname", "email")
_LABELS = {"username": "Username", "firstname": "First name", "lastname": "Last name", "email": "Email address"}


def _short(problem) -> str:
    """A field problem of the change engine, short enough for one line under the field."""
    msg = problem.message
    if "may only contain" in msg:
        return "Use lower-case letters, digits and _ - . @ only."
    if "valid email" in msg:
        return "Not a valid email address."
    if "two-letter country" in msg:
        return "Use a two-letter country code such as DE or US."
    if "not a country code" in msg:
        return "Not a country code (ISO 3166, e.g. DE, FR, US)."
    if "longer than" in msg:
        limit = "".join(ch for ch in msg if ch.isdigit())
        return f"Too long: Moodle allows {limit} characters."
    return msg[:1].upper() + msg[1:] + "."


_PASSWORD_WORDS = {"at least 8 characters": "8+ characters", "a lower-case letter": "lower case",
                   "an upper-case letter": "upper case", "a special character such as *, - or #": "a symbol (* - #)"}


def create_problems(data: Mapping[str, Any], taken: tuple[Q.Holder | None, Q.Holder | None] = (None, None)
                    ) -> dict[str, str]:
    """field -> what is wrong with it, for the create-user form (empty: the form can be sent).

    The same checks the change engine's user.create kind makes, plus "taken" from the cache.
    """
    out: dict[str, str] = {}
    for key in REQUIRED:
        if not str(data.get(key) or "").strip():
            out[key] = "Required."
    fields = {k: str(data[k]).strip() for k in USER_FIELDS if str(data.get(k) or "").strip()}
    if "username" in fields:
        fields["username"] = fields["username"].lower()  # stored in lower case; typing "Anna" is fine
    for p in field_problems(fields):
        out.setdefault(p.field, _short(p))
    # Every site has the guest account, whether the local copy lists it yet or not.
    guest = fields.get("username") == Q.GUEST_USERNAME or (taken[0] is not None and taken[0][1] == Q.GUEST_USERNAME)
    if "username" not in out and (guest or taken[0] is not None):
        out["username"] = ("This is the username of the site's guest account." if guest
                           else f"Another account already has this username (id {taken[0][0]}).")
    if taken[1] is not None and "email" not in out:
        out["email"] = f"Already used by the account “{taken[1][1]}” (id {taken[1][0]})."
    if (data.get("auth") or "manual") == "manual" and not data.get("createpassword"):
        password = str(data.get("password") or "")
        if not password:
            out["password"] = "Required for manual accounts (or let Moodle create one)."
        else:
            missing = password_problems(password)
            if missing:
                out["password"] = "Needs " + ", ".join(_PASSWORD_WORDS.get(m, m) for m in missing) + "."
    return out


def edit_problems(changed: Mapping[str, Any]) -> dict[str, str]:
    """field -> what is wrong with it, for the fields the properties dialog changed (empty: it can be
    previewed). The words are the create form's; the dialog shows each under its field."""
    out = {k: "Required: an account cannot be without it." for k in REQUIRED
           if k in changed and not str(changed[k] or "").strip()}
    for p in field_problems({k: v for k, v in changed.items() if k not in out}):
        out.setdefault(p.field, _short(p))
    return out


def create_change(data: Mapping[str, Any]) -> Change:
    """The user.create change for the form's values (empty fields left out)."""
    payload = {k: str(v).strip() for k, v in data.items() if k in USER_FIELDS and str(v or "").strip()}
    if "username" in payload:
        payload["username"] = payload["username"].lower()
    if data.get("createpassword"):
        payload["createpassword"] = 1
    elif data.get("password"):
        payload["password"] = str(data["password"])
    custom = {k: v for k, v in dict(data.get("customfields") or {}).items() if str(v).strip()}
    if custom:
        payload["customfields"] = custom
    return Change("user.create", payload)


class UsersActions(QObject):
    """The users pane's intents: plan bulk actions, edits and new users; keep saved filters.

    Signals:
        filter_saved(int, str): a filter was saved (its id and name); the tree lists it.
        filters_changed(): saved filters were added, renamed or deleted.
        saved_filter_loaded(object): a SavedFilter read for the pane (or None: it is gone).
        taken_checked(object): (username, email, ((id, username) of the account with the username, the same for the email))
            for the create dialog.
        problem(object): an expected problem in plain words (str) or an expected error.
        collecting(bool): reading the users a bulk action applies to (can take a second on 1M).
        groups_loaded(int, object): a course's groups [(id, name), ...] for the bulk "Add to group".
    """

    filter_saved = Signal(int, str)
    filters_changed = Signal()
    saved_filter_loaded = Signal(object)
    taken_checked = Signal(object)
    problem = Signal(object)
    collecting = Signal(bool)
    groups_loaded = Signal(int, object)

    def __init__(self, session, engine, model, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.engine = engine
        self.model = model
        self.runner = session.runner
        self._taken_args = ("", "", None)
        self._taken_timer = QTimer(self, singleShot=True, interval=150)
        self._taken_timer.timeout.connect(self._check_taken)
        self._name = f"users-actions-{id(self):x}"
        cancel_on_destroy(self, self.runner, *(f"{self._name}-{n}" for n in (
            "taken", "saved-filter", "save-filter", "delete-filter", "rename-filter", "groups")))

    # -- change-engine plans ---------------------------------------------------------------------
    def plan(self, changes: Sequence[Change], title: str) -> int | None:
        if not changes:
            self.problem.emit("Nothing to change.")
            return None
        return self.engine.plan(list(changes), title=title)

    def plan_bulk(self, action: str, *, ranges: Sequence[tuple[int, int]] | None = None,
                  params: Mapping | None = None, names: Mapping[str, str] | None = None) -> int | None:
        """``action`` for the users at the view's row ``ranges`` ((first, last), inclusive) or, with
        ``ranges=None``, for everything the filter matches."""
        params = dict(params or {})
        # The ids of the profile open now: those read for a profile closed since are never planned on the next one.
        mine = self.session.for_this_profile
        if ranges is not None:
            return self.model.resolve_ranges(list(ranges),
                                             mine(lambda ids: self._plan_ids(action, ids, params, names)))
        self.collecting.emit(True)

        def make(ids):
            return ids, bulk_changes(action, ids, params)

        plan = mine(lambda result: self.plan(result[1], bulk_title(action, len(result[0]), params, names)))

        def done(result):
            self.collecting.emit(False)
            plan(result)

        job = self.model.collect_ids(done, make=make)
        if job is None:
            self.collecting.emit(False)
        return job

    def _plan_ids(self, action: str, ids: list[int], params: dict, names) -> None:
        ids = list(dict.fromkeys(ids))
        self.plan(bulk_changes(action, ids, params), bulk_title(action, len(ids), params, names))

    def load_groups(self, courseid: int) -> int | None:
        """Read the course's groups from the cache; emits ``groups_loaded(courseid, [(id, name), ...])``."""
        db = self.session.db
        if db is None:
            self.groups_loaded.emit(courseid, [])
            return None

        def loaded(groups) -> None:  # of the profile open now: another's group ids are not this site's
            self.groups_loaded.emit(courseid, groups)

        return run_job(self.runner, f"{self._name}-groups",
                       lambda p, c: [(g[0], g[1]) for g in read_course_groups(db, courseid).groups],
                       label="Read the course's groups", quiet=True, on_done=self.session.for_this_profile(loaded))

    def plan_edit(self, user: User, fields: Mapping[str, str], custom: Mapping[str, str] | None = None,
                  suspended: bool | None = None) -> int | None:
        changes = edit_changes(user, fields, custom, suspended)
        return self.plan(changes, f"Edit {user.username}")

    def plan_create(self, data: Mapping[str, Any]) -> int | None:
        change = create_change(data)
        return self.plan([change], f"Create user {change.data.get('username', '')}")

    # -- live checks for the create dialog -------------------------------------------------------
    def check_taken(self, username: str, email: str, exclude: int | None = None) -> None:
        """Look ``username`` and ``email`` up in the cache (debounced); emits ``taken_checked``."""
        self._taken_args = (username, email, exclude)
        self._taken_timer.start()

    def _check_taken(self) -> None:
        db = self.session.db
        username, email, exclude = self._taken_args
        if db is None:
            self.taken_checked.emit((username, email, (None, None)))
            return

        def job(p, c):
            with db.read() as conn:
                return username, email, Q.taken(conn, username, email, exclude=exclude)

        run_job(self.runner, f"{self._name}-taken", job, label="Check username and email", quiet=True,
                on_done=self.session.for_this_profile(self.taken_checked.emit))

    # -- saved filters ---------------------------------------------------------------------------
    def save_filter(self, name: str, spec: UserFilter) -> int | None:
        try:
            name = SF.check_filter_name(name)
        except Q.FilterError as exc:
            self.problem.emit(str(exc))
            return None
        if self.session.db is None:
            self.problem.emit("Open a connection profile first: saved filters live in its local copy.")
            return None
        return self._write_filter("save-filter", lambda w: SF.save_filter(w, name, spec), f"Save filter {name}",
                                  lambda fid: self._saved(fid, name))

    def _saved(self, filter_id: int, name: str) -> None:
        self.filter_saved.emit(filter_id, name)
        self.filters_changed.emit()

    def delete_filter(self, filter_id: int) -> int | None:
        if self.session.db is None:
            return None
        return self._write_filter("delete-filter", lambda w: SF.delete_saved_filter(w, filter_id),
                                  "Delete a saved filter", lambda _r: self.filters_changed.emit())

    def rename_filter(self, filter_id: int, name: str) -> int | None:
        try:
            name = SF.check_filter_name(name)
        except Q.FilterError as exc:
            self.problem.emit(str(exc))
            return None
        if self.session.db is None:
            return None
        return self._write_filter("rename-filter", lambda w: SF.rename_saved_filter(w, filter_id, name),
                                  "Rename a saved filter", lambda _r: self.filters_changed.emit())

    def _write_filter(self, job: str, fn, label: str, on_done) -> int:
        """Run the saved-filter write ``fn(writer)``; what it hands back (or its problem) is dropped once its
        profile is closed: a filter of one profile is not listed, nor its problem said, on the next."""
        mine = self.session.for_this_profile
        return self.session.run_writer(f"{self._name}-{job}", fn, label=label, on_done=mine(on_done),
                                       on_error=mine(self.problem.emit))

    def load_saved_filter(self, filter_id: int, on_done: Callable[[object], None] | None = None) -> int | None:
        db = self.session.db
        if db is None:
            return None

        def job(p, c):
            with db.read() as conn:
                return SF.get_saved_filter(conn, filter_id)

        return run_job(self.runner, f"{self._name}-saved-filter", job, label="Read a saved filter", quiet=True,
                       on_done=self.session.for_this_profile(on_done or self.saved_filter_loaded.emit))

