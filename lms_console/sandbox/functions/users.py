"""User functions: get_users, get_users_by_field, create_users, update_users, delete_users.

Create and delete run in one transaction (one bad user fails the batch);
update catches each user's error into a warning, as Moodle does.
"""

from __future__ import annotations

import re

from .. import errors
from ..context import CONTEXT_USER
from ..registry import ws
from ..seed import hash_password
from ..validation import (ALPHA, ALPHANUMEXT, BOOL, DEFAULT, INT, LANG, NOTAGS, OPTIONAL, PLUGIN, RAW, RAW_TRIMMED,
                          TEXT, THEME, TIMEZONE, USERNAME, Multiple, Single, Value, v_opt)
from .common import savepoint, user_details, warning

AUTH_PLUGINS = {"manual", "nologin", "email", "ldap", "oauth2", "lti", "db", "cas", "shibboleth", "none"}
INTERNAL_AUTH = {"manual", "email", "none"}
LANGS = {"en"}
THEMES = {"boost", "classic"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHP_TRIM = " \t\n\r\0\x0b"  # what PHP's trim() (PARAM_RAW_TRIMMED) removes
_PHP_EMPTY = (None, "", 0, "0", False)  # PHP's empty() is true for these ("0" too)
USER_COLUMNS = {"username", "auth", "firstname", "lastname", "email", "maildisplay", "city", "country", "timezone",
                "description", "firstnamephonetic", "lastnamephonetic", "middlename", "alternatename", "idnumber",
                "institution", "department", "phone1", "phone2", "address", "lang", "calendartype", "theme",
                "mailformat", "suspended"}

_CUSTOM = Multiple(Single({"type": Value(ALPHANUMEXT), "value": Value(RAW)}), OPTIONAL)
_PREFS = Multiple(Single({"type": Value(RAW), "value": Value(RAW)}), OPTIONAL)


def _user_fields(create: bool) -> dict:
    fields = {
        "username": Value(USERNAME) if create else v_opt(USERNAME),
        "auth": Value(PLUGIN, DEFAULT, "manual") if create else v_opt(PLUGIN),
        "password": v_opt(RAW),
        "firstname": Value(NOTAGS) if create else v_opt(NOTAGS),
        "lastname": Value(NOTAGS) if create else v_opt(NOTAGS),
        "email": Value(RAW_TRIMMED) if create else v_opt(RAW_TRIMMED),
        "maildisplay": v_opt(INT), "city": v_opt(TEXT), "country": v_opt(ALPHA), "timezone": v_opt(TIMEZONE),
        "description": v_opt(RAW), "firstnamephonetic": v_opt(NOTAGS), "lastnamephonetic": v_opt(NOTAGS),
        "middlename": v_opt(NOTAGS), "alternatename": v_opt(NOTAGS), "interests": v_opt(TEXT),
        "idnumber": Value(RAW, DEFAULT, "") if create else v_opt(RAW),
        "institution": v_opt(TEXT), "department": v_opt(TEXT), "phone1": v_opt(NOTAGS), "phone2": v_opt(NOTAGS),
        "address": v_opt(TEXT),
        "lang": Value(LANG, DEFAULT, "en") if create else v_opt(LANG),
        "calendartype": Value(PLUGIN, DEFAULT, "gregorian") if create else v_opt(PLUGIN),
        "theme": v_opt(THEME), "mailformat": v_opt(INT), "customfields": _CUSTOM, "preferences": _PREFS,
    }
    if create:
        return {"createpassword": v_opt(BOOL), **fields}
    return {"id": Value(INT), **fields, "suspended": v_opt(INT), "userpicture": v_opt(INT)}


def password_policy_errors(password: str) -> str:
    """Moodle's default policy as ``check_password_policy`` reports it: one ``<div>`` per rule broken."""
    problems = []
    if len(password) < 8:
        problems.append("Passwords must be at least 8 characters long.")
    if len(re.findall(r"[0-9]", password)) < 1:
        problems.append("Passwords must have at least 1 digit(s).")
    if len(re.findall(r"[a-z]", password)) < 1:
        problems.append("Passwords must have at least 1 lower case letter(s).")
    if len(re.findall(r"[A-Z]", password)) < 1:
        problems.append("Passwords must have at least 1 upper case letter(s).")
    if len(re.findall(r"[^a-zA-Z0-9]", password)) < 1:
        problems.append("The password must have at least 1 special character(s) such as *, -, or #.")
    return "".join(f"<div>{p}</div>" for p in problems)


def _check_password(password: str) -> None:
    problems = password_policy_errors(password)
    if problems:
        raise errors.moodle_exception(problems)


# -- reads ------------------------------------------------------------------------------
@ws("core_user_get_users",
    criteria=Multiple(Single({"key": Value(ALPHA), "value": Value(RAW)})))
def get_users(ctx, criteria):
    where, params, used, warnings, searched = ["deleted = 0"], [], set(), [], []
    for crit in criteria:
        key, value = crit["key"], crit["value"]
        if key in used:
            raise errors.moodle_exception("keyalreadyset", debuginfo=f"The key {key} can only be sent once")
        used.add(key)
        if key == "id":
            where.append("id = ?")
            params.append(_php_int(value))
        elif key in ("idnumber", "auth"):
            where.append(f"{key} = ?")
            params.append(value)
        elif key == "username":
            where.append("username = ?")
            params.append(re.sub(r"[^-.@_a-z0-9]", "", value.lower()))
        elif key in ("email", "firstname", "lastname"):
            # sql_like(..., casesensitive=false): % and _ are wildcards, backslash escapes them. The email is
            # cleaned as PARAM_RAW_TRIMMED. An empty value is not refused: email='' matches the accounts
            # without an email, which the check below then drops (an empty answer, no error, no warning).
            where.append(f"py_lower({key}) LIKE py_lower(?) ESCAPE '\\'")
            params.append(value.strip(PHP_TRIM) if key == "email" else re.sub(r"<[^>]*>", "", value))
        else:
            warnings.append({"item": key, "warningcode": "invalidfieldparameter",
                             "message": f"The search key '{key}' is not supported, look at the web service"
                                        " documentation"})
            continue
        searched.append(key)
    rows = ctx.all(f"SELECT * FROM user WHERE {' AND '.join(where)} ORDER BY id", params)
    # "Return the user only if all the searched fields are returned": PHP's empty() on each searched field.
    users = [d for d in user_details(ctx, rows) if all(d.get(k) not in _PHP_EMPTY for k in searched)]
    return {"users": users, "warnings": warnings}


def _php_int(value: str) -> int:
    """``clean_param($v, PARAM_INT)``: PHP's (int) cast of a string."""
    match = re.match(r"\s*[+-]?\d+", value)
    return int(match.group(0)) if match else 0


@ws("core_user_get_users_by_field", field=Value(ALPHA), values=Multiple(Value(RAW)))
def get_users_by_field(ctx, field, values):
    if field not in ("id", "idnumber", "username", "email"):
        raise errors.coding_error("invalid field parameter",
                                  f"The search field '{field}' is not supported, look at the web service documentation")
    cleaned = []
    for value in values:
        if field == "id":
            clean = _php_int(value)
            ok = str(clean) == value.strip() or value == str(clean)
        elif field == "username":
            clean = re.sub(r"[^-.@_a-z0-9]", "", value.strip().lower())
            ok = clean == value
        elif field == "email":
            clean = value.strip()
            ok = clean == value
        else:
            clean, ok = value, True
        if not ok:
            raise errors.invalid_parameter(
                f"The field '{field}' value is invalid: {value}(cleaned value: {clean})")
        cleaned.append(clean)
    if not cleaned:
        return []
    from .common import rows_in

    rows = rows_in(ctx.conn, f"SELECT * FROM user WHERE {field} IN ({{ids}}) AND deleted = 0", sorted(set(cleaned),
                   key=str))
    rows.sort(key=lambda r: r["id"])
    return [d for d in user_details(ctx, rows) if d.get(field)]


# -- writes ----------------------------------------------------------------------------
@ws("core_user_create_users", write=True, users=Multiple(Single(_user_fields(create=True))))
def create_users(ctx, users):
    ctx.require_capability("moodle/user:create")
    created = []
    for user in users:
        for name in ("username", "firstname", "lastname"):
            if user[name].strip() == "":
                raise errors.invalid_parameter(f"The field {name} cannot be blank")
        if ctx.one("SELECT 1 FROM user WHERE username = ?", (user["username"],)):
            raise errors.invalid_parameter(f"Username already exists: {user['username']}")
        if user["auth"] not in AUTH_PLUGINS:
            raise errors.invalid_parameter(f"Invalid authentication type: {user['auth']}")
        if user["lang"] not in LANGS:
            raise errors.invalid_parameter(f"Invalid language code: {user['lang']}")
        if user.get("theme") and user["theme"] not in THEMES:
            raise errors.invalid_parameter(f"Invalid theme: {user['theme']}")
        internal = user["auth"] in INTERNAL_AUTH
        if internal and not user.get("password") and not user.get("createpassword"):
            raise errors.invalid_parameter("Invalid password: you must provide a password, or set createpassword.")
        if not EMAIL_RE.match(user["email"]):
            raise errors.invalid_parameter(f"Email address is invalid: {user['email']}")
        if ctx.one("SELECT 1 FROM user WHERE py_lower(email) = py_lower(?) AND deleted = 0", (user["email"],)):
            raise errors.invalid_parameter(f"Email address already exists: {user['email']}")
        password = ""
        if internal and not user.get("createpassword"):
            _check_password(user["password"])
            password = hash_password(user["password"])
        values = {k: v for k, v in user.items() if k in USER_COLUMNS and v is not None}
        values.update({"password": password, "confirmed": 1, "timecreated": ctx.now, "timemodified": ctx.now})
        cols = ", ".join(values)
        cur = ctx.conn.execute(f"INSERT INTO user({cols}) VALUES ({','.join('?' * len(values))})",
                               list(values.values()))
        uid = cur.lastrowid
        ctx.conn.execute("INSERT INTO context(contextlevel, instanceid, path, depth) VALUES (?, ?, '', 2)",
                         (CONTEXT_USER, uid))
        ctx.conn.execute("UPDATE context SET path = '/1/' || id WHERE contextlevel = ? AND instanceid = ?",
                         (CONTEXT_USER, uid))
        _save_custom(ctx, uid, user.get("customfields"))
        _save_prefs(ctx, uid, user.get("preferences"))
        if user.get("createpassword"):
            _save_prefs(ctx, uid, [{"type": "auth_forcepasswordchange", "value": "1"}])
        created.append({"id": uid, "username": user["username"]})
    return created


def _save_custom(ctx, uid: int, customfields) -> None:
    for field in customfields or []:
        row = ctx.one("SELECT id FROM user_info_field WHERE shortname = ?", (field["type"],))
        if row is None:
            continue  # profile_save_data only looks at fields that exist
        ctx.conn.execute("INSERT INTO user_info_data(userid, fieldid, data) VALUES (?,?,?)"
                         " ON CONFLICT(userid, fieldid) DO UPDATE SET data = excluded.data",
                         (uid, row[0], field["value"]))


def _save_prefs(ctx, uid: int, preferences) -> None:
    for pref in preferences or []:
        ctx.conn.execute("INSERT INTO user_preferences(userid, name, value) VALUES (?,?,?)"
                         " ON CONFLICT(userid, name) DO UPDATE SET value = excluded.value",
                         (uid, pref["type"], pref["value"]))


@ws("core_user_update_users", write=True, users=Multiple(Single(_user_fields(create=False))))
def update_users(ctx, users):
    ctx.require_capability("moodle/user:update")
    warnings = []
    for user in users:
        try:
            with savepoint(ctx.conn):
                _update_one(ctx, user)
        except errors.MoodleError as exc:
            warnings.append(warning("user", user["id"], exc.errorcode, exc.message))
    return {"warnings": warnings}


def _update_one(ctx, user: dict) -> None:
    existing = ctx.one("SELECT * FROM user WHERE id = ?", (user["id"],))
    if existing is None:
        raise errors.moodle_exception("invaliduserid", "Invalid user id", "Invalid user ID")
    admins = ctx.server.site_admins(ctx.conn)
    if existing["id"] != ctx.userid and existing["id"] in admins and not ctx.is_admin:
        raise errors.moodle_exception("usernotupdatedadmin", "Cannot update admin accounts")
    if existing["deleted"]:
        raise errors.moodle_exception("usernotupdateddeleted", "User is a deleted user")
    if existing["id"] == 1:
        raise errors.moodle_exception("usernotupdatedguest", "Cannot update guest account")
    email = user.get("email")
    if email is not None and email != existing["email"]:
        if not EMAIL_RE.match(email):
            raise errors.moodle_exception("useremailinvalid", "Invalid email address")
        if ctx.one("SELECT 1 FROM user WHERE py_lower(email) = py_lower(?) AND id <> ? AND deleted = 0",
                   (email, existing["id"])):
            raise errors.moodle_exception("useremailduplicate", "Duplicate email address")
    username = user.get("username")
    if username is not None and username != existing["username"]:
        if ctx.one("SELECT 1 FROM user WHERE username = ? AND id <> ?", (username, existing["id"])):
            raise errors.moodle_exception("usernameexists", "Username already exists")
    values = {k: v for k, v in user.items() if k in USER_COLUMNS and v is not None}
    if user.get("password"):
        _check_password(user["password"])
        values["password"] = hash_password(user["password"])
    if values:
        values["timemodified"] = ctx.now
        sets = ", ".join(f"{k} = ?" for k in values)
        ctx.conn.execute(f"UPDATE user SET {sets} WHERE id = ?", (*values.values(), existing["id"]))
    _save_custom(ctx, existing["id"], user.get("customfields"))
    _save_prefs(ctx, existing["id"], user.get("preferences"))


@ws("core_user_delete_users", write=True, userids=Multiple(Value(INT)))
def delete_users(ctx, userids):
    ctx.require_capability("moodle/user:delete")
    admins = ctx.server.site_admins(ctx.conn)
    for uid in userids:
        user = ctx.one("SELECT * FROM user WHERE id = ? AND deleted = 0", (uid,))
        if user is None:
            raise errors.MissingRecord("user", "SELECT * FROM {user} WHERE id = ? AND deleted = ?", [uid, 0])
        if uid in admins:
            raise errors.moodle_exception("useradminodelete", "Administrator accounts cannot be deleted")
        if uid == ctx.userid:
            raise errors.moodle_exception("usernotdeletederror", "User not deleted - unknown error")
        if user["username"] == "guest" or uid == 1:
            continue  # delete_user() refuses the guest account with a debugging note only: no error here
        delete_user_rows(ctx.conn, user, ctx.now)
    return None


def delete_user_rows(conn, user, now: int) -> None:
    """``user_delete_user``: keep the row, flag it deleted and remove memberships and data."""
    uid = user["id"]
    for sql in ("DELETE FROM user_enrolments WHERE userid = ?", "DELETE FROM role_assignments WHERE userid = ?",
                "DELETE FROM groups_members WHERE userid = ?", "DELETE FROM cohort_members WHERE userid = ?",
                "DELETE FROM external_tokens WHERE userid = ?", "DELETE FROM user_preferences WHERE userid = ?",
                "DELETE FROM user_info_data WHERE userid = ?", "DELETE FROM user_lastaccess WHERE userid = ?",
                "DELETE FROM grade_grades WHERE userid = ?"):
        conn.execute(sql, (uid,))
    deleted_name = f"{user['email']}.{now}"
    conn.execute("UPDATE user SET deleted = 1, username = ?, email = ?, idnumber = '', timemodified = ? WHERE id = ?",
                 (deleted_name, hashlib_md5(deleted_name), now, uid))


def hashlib_md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode()).hexdigest()
