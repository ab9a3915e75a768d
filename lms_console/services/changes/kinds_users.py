"""User account changes: create, update fields, suspend, unsuspend, delete, force password change."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lms_console.services.changes.kinds import (
    ItemOutcome,
    Kind,
    as_int,
    by_item_warning,
    id_text,
    int_problem,
)
from lms_console.services.cache.queries import GUEST_USERNAME
from lms_console.services.changes.model import Change, Problem
from lms_console.services.lms.errors import FunctionNotAvailable

# Fields core_user_create_users / update_users accept and the cache mirrors.
USER_FIELDS = ("username", "firstname", "lastname", "email", "idnumber", "department", "institution", "city",
               "country", "auth", "lang", "timezone", "phone1", "phone2", "address", "description")
_USERNAME_RE = re.compile(r"^[a-z0-9_.@-]+$")  # Moodle's PARAM_USERNAME (extended usernames off)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ISO 3166-1 alpha-2, as Moodle's country list.
COUNTRIES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO
JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR
MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV
TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())
MAX_LENGTHS = {"username": 100, "firstname": 100, "lastname": 100, "email": 100, "idnumber": 255,
               "department": 255, "institution": 255, "city": 120, "country": 2, "phone1": 20, "phone2": 20,
               "address": 255}


def password_problems(password: str) -> list[str]:
    """Moodle's default password policy (8+ characters, a digit, a lower and an upper case
    letter, a special character); the site may be stricter, and says so when it refuses."""
    problems = []
    if len(password) < 8:
        problems.append("at least 8 characters")
    if not re.search(r"\d", password):
        problems.append("a digit")
    if not re.search(r"[a-z]", password):
        problems.append("a lower-case letter")
    if not re.search(r"[A-Z]", password):
        problems.append("an upper-case letter")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("a special character such as *, - or #")
    return problems


def field_problems(fields: Mapping[str, Any]) -> list[Problem]:
    out = []
    for key, value in fields.items():
        if key == "country":
            continue  # the two-letter-code check below says it (once)
        if key in MAX_LENGTHS and value is not None and len(str(value)) > MAX_LENGTHS[key]:
            out.append(Problem(f"is longer than Moodle allows ({MAX_LENGTHS[key]} characters)", field=key,
                               value=value))
    username = str(fields.get("username") or "")
    if "username" in fields and not _USERNAME_RE.match(username):
        fix = ("Write it in lower case: Moodle stores usernames in lower case." if _USERNAME_RE.match(username.lower())
               else "Leave out spaces and other characters.")
        out.append(Problem("may only contain lower-case letters, digits and the characters _ - . @",
                           field="username", value=fields["username"], fix=fix))
    if fields.get("email") and not _EMAIL_RE.match(str(fields["email"])):
        out.append(Problem("is not a valid email address", field="email", value=fields["email"]))
    country = str(fields.get("country") or "")
    if country and not re.match(r"^[A-Z]{2}$", country):
        out.append(Problem("must be a two-letter country code such as DE or US", field="country", value=country))
    elif country and country not in COUNTRIES:
        out.append(Problem("is not a country code (ISO 3166, e.g. DE, FR, US)", field="country", value=country))
    return out


# update_users' warnings for an account the site no longer has: deleted there, or its row gone.
_GONE_CODES = frozenset({"usernotupdateddeleted", "invaliduserid"})


def _user_outcomes(items, response) -> list[ItemOutcome]:
    """update_users' per-user warnings; one that says the account is gone marks the outcome so."""
    return [replace(o, gone=True) if not o.ok and o.code in _GONE_CODES else o
            for o in by_item_warning(items, response, "id", "user")]


def _forget_user(raw, userid: int) -> None:
    """The account is gone on the site: so are its row and, as Moodle's delete_user() removes them,
    its enrolments and cohort and group memberships."""
    for table in ("users", "enrolments", "cohort_members", "group_members"):
        raw.execute(f"DELETE FROM {table} WHERE {'id' if table == 'users' else 'userid'} = ?", (userid,))


def _store_custom_fields(raw, userid: int, values: Mapping[str, Any]) -> None:
    """The profile fields a change set, into ``users.customfields`` (``[shortname, value, displayvalue,
    name, type]``; triggers keep user_custom_fields in step), so the next plan or import sees them. A
    field new to this account takes its name and type from another account that has it."""
    row = raw.execute("SELECT customfields FROM users WHERE id = ?", (userid,)).fetchone()
    if row is None:
        return
    entries = json.loads(row[0] or "[]")
    by_name = {e[0]: e for e in entries}
    for shortname, value in values.items():
        text = "" if value is None else str(value)
        if shortname in by_name:
            by_name[shortname][1:3] = [text, text]
            continue
        meta = raw.execute(
            "SELECT json_extract(j.value, '$[3]'), json_extract(j.value, '$[4]') FROM users u, "
            "json_each(u.customfields) j WHERE u.id = (SELECT userid FROM user_custom_fields WHERE shortname = ? "
            "LIMIT 1) AND json_extract(j.value, '$[0]') = ?", (shortname, shortname)).fetchone()
        entries.append([shortname, text, text, (meta and meta[0]) or shortname, (meta and meta[1]) or "text"])
    raw.execute("UPDATE users SET customfields = ? WHERE id = ?", (json.dumps(entries, ensure_ascii=False), userid))


def _label(u: Mapping[str, Any] | None, userid: Any) -> str:
    if not u:
        return f"user {userid}"
    name = f"{u.get('firstname', '')} {u.get('lastname', '')}".strip()
    return f"{u['username']} ({name})" if name else str(u["username"])


class _UserKind(Kind):
    entity = "users"
    required = ("id",)

    def target(self, data):
        return f"user:{id_text(data.get('id'))}"

    def title(self, data, ctx):
        uid = as_int(data, "id") if int_problem(data, "id") is None else data.get("id")
        return f"{self.title_verb} {_label(ctx.user(uid), uid)}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        bad = int_problem(data, "id")
        if bad:
            return [bad]
        user = ctx.user(as_int(data, "id"))
        if user is None:
            problems.append(Problem("no such user in the local copy (deleted on the site, or not synced yet)",
                                    field="id", value=data.get("id"), fix="Sync, then plan again."))
        elif user.get("username") == GUEST_USERNAME:
            # Moodle refuses to update the guest account, and its delete_user() quietly keeps it while the
            # web service reports success.
            problems.append(Problem("is the site's guest account: Moodle never changes or deletes it",
                                    field="id", value=data.get("id"), fix="Leave it out of the selection."))
        return problems

    def forget(self, raw, data, now):
        _forget_user(raw, as_int(data, "id"))
        return "users"

    def verify_fields(self, client, userid: int, expected: Mapping[str, Any]) -> bool | None:
        found = client.users_by_ids([userid]).items
        if not found:
            return None
        user = found[0]
        return all(str(getattr(user, k, "")) == str(v) for k, v in expected.items() if hasattr(user, k))


class UserUpdate(_UserKind):
    name = "user.update"
    title_verb = "Update"
    function = "core_user_update_users"
    list_key = "users"
    atomic = False  # update_users reports each user's problem as a warning
    idempotent = True

    def fields(self, data) -> dict[str, Any]:
        return {k: v for k, v in (data.get("fields") or {}).items() if k in USER_FIELDS or k == "customfields"}

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        fields = self.fields(data)
        unknown = sorted(set(data.get("fields") or {}) - set(fields))
        if unknown:
            problems.append(Problem(f"unknown user field(s): {', '.join(unknown)}", field="fields", value=unknown))
        if not fields:
            problems.append(Problem("nothing to change", field="fields"))
        problems += field_problems(fields)
        if "username" in fields and not problems:
            other = ctx.user_id_by_username(fields["username"])
            if other not in (None, as_int(data, "id")):
                problems.append(Problem("is already taken by another account", field="username",
                                        value=fields["username"]))
        if fields.get("email") and not problems:
            others = [u for u in ctx.user_ids_by_email(fields["email"]) if u != as_int(data, "id")]
            if others:
                problems.append(Problem(f"is already used by user {others[0]}", field="email", value=fields["email"],
                                        fix="Moodle refuses shared addresses unless the site allows them."))
        return problems

    def before(self, data, ctx):
        u = ctx.user(as_int(data, "id")) or {}
        fields = self.fields(data)
        out = {k: u.get(k) for k in fields if k != "customfields"}
        for shortname in (fields.get("customfields") or {}):
            out[f"profile_field_{shortname}"] = (u.get("customfields") or {}).get(shortname)
        return out

    def after(self, data, before):
        fields = self.fields(data)
        out = {k: v for k, v in fields.items() if k != "customfields"}
        for shortname, value in (fields.get("customfields") or {}).items():
            out[f"profile_field_{shortname}"] = value
        return out

    def is_noop(self, data, before, ctx):
        return before == self.after(data, before)

    def request_item(self, data):
        fields = self.fields(data)
        item: dict[str, Any] = {"id": as_int(data, "id"), **{k: v for k, v in fields.items() if k != "customfields"}}
        if fields.get("customfields"):
            item["customfields"] = [{"type": k, "value": v} for k, v in fields["customfields"].items()]
        return item

    def outcomes(self, items, response):
        return _user_outcomes(items, response)

    def verify(self, client, data):
        return self.verify_fields(client, as_int(data, "id"),
                                  {k: v for k, v in self.fields(data).items() if k != "customfields"})

    def fresh_before(self, client, data):
        found = client.users_by_ids([as_int(data, "id")]).items
        if not found:
            return None
        user = found[0]
        custom = {c.shortname: c.value for c in user.customfields}
        out = {}
        for k in self.fields(data):
            if k == "customfields":
                out.update({f"profile_field_{n}": custom.get(n) for n in self.fields(data)["customfields"]})
            else:
                out[k] = getattr(user, k, None)
        return out

    def inverse(self, data, before, result):
        if not before:
            return None
        fields = {k: v for k, v in before.items() if not k.startswith("profile_field_")}
        custom = {k[len("profile_field_"):]: v or "" for k, v in before.items() if k.startswith("profile_field_")}
        if custom:
            fields["customfields"] = custom
        return Change("user.update", {"id": data["id"], "fields": fields})

    def apply_to_cache(self, raw, data, result, now):
        fields = {k: v for k, v in self.fields(data).items() if k != "customfields"}
        if fields:
            sets = ", ".join(f'"{k}" = ?' for k in fields)
            raw.execute(f"UPDATE users SET {sets}, synced_at = ? WHERE id = ?",
                        (*fields.values(), now, as_int(data, "id")))
        if self.fields(data).get("customfields"):
            _store_custom_fields(raw, as_int(data, "id"), self.fields(data)["customfields"])


class UserSuspend(_UserKind):
    name = "user.suspend"
    title_verb = "Suspend"
    function = "core_user_update_users"
    list_key = "users"
    atomic = False
    idempotent = True
    value = 1

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        if not problems and ctx.site is not None and as_int(data, "id") == ctx.site.userid and self.value:
            problems.append(Problem("is the account the console signs in with; suspending it locks the console out",
                                    field="id", value=data["id"]))
        return problems

    def before(self, data, ctx):
        u = ctx.user(as_int(data, "id"))
        return {"suspended": bool(u["suspended"])} if u else None

    def after(self, data, before):
        return {"suspended": bool(self.value)}

    def is_noop(self, data, before, ctx):
        return before is not None and before["suspended"] == bool(self.value)

    def request_item(self, data):
        return {"id": as_int(data, "id"), "suspended": self.value}

    def outcomes(self, items, response):
        return _user_outcomes(items, response)

    def verify(self, client, data):
        found = client.users_by_ids([as_int(data, "id")]).items
        return None if not found else found[0].suspended == bool(self.value)

    def fresh_before(self, client, data):
        found = client.users_by_ids([as_int(data, "id")]).items
        return {"suspended": found[0].suspended} if found else None

    def inverse(self, data, before, result):
        return Change("user.unsuspend" if self.value else "user.suspend", {"id": data["id"]})

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("UPDATE users SET suspended = ?, synced_at = ? WHERE id = ?", (self.value, now, as_int(data, "id")))


class UserUnsuspend(UserSuspend):
    name = "user.unsuspend"
    title_verb = "Unsuspend"
    value = 0


class UserForcePasswordChange(_UserKind):
    """Set the ``auth_forcepasswordchange`` preference. Whether it was set before cannot be known:
    the cache keeps no preferences and Moodle shows an admin other users' preferences only through
    a function the console does not use. So nothing is a no-op, and the change cannot be undone:
    clearing the flag afterwards would also clear it for users who had it before."""

    name = "user.force_password_change"
    title_verb = "Force a password change for"
    function = "core_user_update_users"
    list_key = "users"
    atomic = False
    idempotent = True
    reversible = False  # the flag's earlier value is unknown (see above)
    value = "1"

    def request_item(self, data):
        return {"id": as_int(data, "id"), "preferences": [{"type": "auth_forcepasswordchange", "value": self.value}]}

    def after(self, data, before):
        return {"auth_forcepasswordchange": int(self.value)}

    def outcomes(self, items, response):
        return _user_outcomes(items, response)

    def inverse(self, data, before, result):
        return None


class UserClearPasswordChange(UserForcePasswordChange):
    """Clear the flag; not undoable either: forcing it again would force users who never had it."""

    name = "user.clear_password_change"
    title_verb = "Cancel the forced password change of"
    value = "0"


class UserDelete(_UserKind):
    name = "user.delete"
    title_verb = "Delete"
    function = "core_user_delete_users"
    list_key = "userids"
    reversible = False

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        if problems:
            return problems
        userid = as_int(data, "id")
        if ctx.site is not None and userid == ctx.site.userid:
            problems.append(Problem("is the account the console signs in with; Moodle refuses to delete it",
                                    field="id", value=userid, fix="Use another administrator's token."))
        elif userid == 2:
            problems.append(Problem("is the site's main administrator (created at installation); Moodle refuses "
                                    "to delete site administrators", field="id", value=userid,
                                    fix="Suspend the account instead, or remove the admin role first."))
        return problems

    def before(self, data, ctx):
        u = ctx.user(as_int(data, "id"))
        return {k: u.get(k) for k in ("username", "firstname", "lastname", "email", "suspended")} if u else None

    def request_item(self, data):
        return as_int(data, "id")

    def refused(self, data, error):
        # delete_users looks the account up with MUST_EXIST among the undeleted ones: "Can't find data
        # record" for an account alone in its call means it is gone already, which is what was asked.
        # (FunctionNotAvailable shares the code when the function itself is missing: a failure.)
        if error.code in ("invalidrecordunknown", "invalidrecord") and not isinstance(error, FunctionNotAvailable):
            return ItemOutcome(True, message="already deleted on the site")
        return super().refused(data, error)

    def verify(self, client, data):
        return not client.users_by_ids([as_int(data, "id")]).items

    def apply_to_cache(self, raw, data, result, now):
        _forget_user(raw, as_int(data, "id"))


class UserCreate(Kind):
    name = "user.create"
    title_verb = "Create"
    function = "core_user_create_users"
    list_key = "users"
    entity = "users"
    required = ("username", "firstname", "lastname", "email")
    max_items = 50

    def target(self, data):
        return f"username:{data.get('username')}"

    def title(self, data, ctx):
        return f"Create {data.get('username')} ({data.get('firstname', '')} {data.get('lastname', '')})".strip()

    def fields(self, data) -> dict[str, Any]:
        return {k: data[k] for k in USER_FIELDS if data.get(k) not in (None, "")}

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        fields = self.fields(data)
        problems += field_problems(fields)
        unknown = sorted(set(data) - set(USER_FIELDS) - {"password", "createpassword", "customfields"})
        if unknown:
            problems.append(Problem(f"unknown user field(s): {', '.join(unknown)}", field="fields", value=unknown))
        username = str(data.get("username") or "")
        if username and ctx.user_id_by_username(username) is not None:
            problems.append(Problem("is already taken (Moodle would only say 'invalid parameter')",
                                    field="username", value=username))
        if data.get("email") and ctx.user_ids_by_email(data["email"]):
            problems.append(Problem("is already used by another account", field="email", value=data["email"],
                                    fix="Moodle refuses shared addresses unless the site allows them."))
        auth = data.get("auth") or "manual"
        if auth == "manual":
            if data.get("password"):
                missing = password_problems(str(data["password"]))
                if missing:
                    problems.append(Problem("does not meet the password policy: needs " + ", ".join(missing),
                                            field="password", value="***"))
            elif not data.get("createpassword"):
                problems.append(Problem("a manual account needs a password (or let Moodle create and email one)",
                                        field="password", value=None))
        return problems

    def after(self, data, before):
        return self.fields(data)

    def request_item(self, data):
        item = dict(self.fields(data))
        item.setdefault("auth", "manual")
        if data.get("password"):
            item["password"] = str(data["password"])
        elif data.get("createpassword"):
            item["createpassword"] = 1
        if data.get("customfields"):
            item["customfields"] = [{"type": k, "value": v} for k, v in dict(data["customfields"]).items()]
        return item

    def outcomes(self, items, response):
        created = {str(u.get("username", "")).lower(): u.get("id") for u in response or [] if isinstance(u, dict)}
        return [ItemOutcome(True, {"id": int(created[str(d["username"]).lower()])})
                if str(d["username"]).lower() in created
                else ItemOutcome(False, code="missing", message="the site did not report this account as created")
                for d in items]

    def verify(self, client, data):
        found = client.users_by_field("username", [str(data["username"]).lower()]).items
        return bool(found)

    def verified_result(self, client, data) -> Mapping[str, Any] | None:
        found = client.users_by_field("username", [str(data["username"]).lower()]).items
        return {"id": found[0].id} if found else None

    def inverse(self, data, before, result):
        return Change("user.delete", {"id": result["id"]}) if result and result.get("id") else None

    def apply_to_cache(self, raw, data, result, now):
        if not result:
            return
        fields = self.fields(data)
        cols = ["id", *fields, "synced_at"]
        quoted = ", ".join(f'"{c}"' for c in cols)
        raw.execute(f"INSERT INTO users ({quoted}) VALUES ({', '.join('?' * len(cols))}) "
                    "ON CONFLICT (id) DO NOTHING", (result["id"], *fields.values(), now))
        if data.get("customfields"):
            _store_custom_fields(raw, int(result["id"]), dict(data["customfields"]))

    def read_back(self, client, results):
        """The new accounts as the site stored them: with what Moodle fills in itself (lang and
        calendar type from the site's defaults, timezone "99" = the server's, confirmed, auth)."""
        ids = [int(r["id"]) for r in results if r and r.get("id")]
        return client.users_by_ids(ids).items if ids else None

    def store_read_back(self, writer, raw, fetched):
        # Stamped as seen by the latest sync run, as a user refresh does (access.write_fresh): the sweep
        # of a sync running meanwhile must not take the new accounts for deleted ones.
        run = raw.execute("SELECT coalesce(max(id), 0) FROM sync_runs").fetchone()[0]
        writer.upsert_users(list(fetched), run)
