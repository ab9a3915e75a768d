"""Helpers shared by the function modules: user details, custom fields, warnings, chunked IN lists."""

from __future__ import annotations

import contextlib
import itertools

from .. import errors
from ..context import fullname

MAX_IN = 900  # parameters per IN (...) list; keeps every query well below SQLite's limit


def chunks(values, size: int = MAX_IN):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def rows_in(conn, sql: str, values, extra=()) -> list:
    """Run ``sql`` (containing ``{ids}``) for every chunk of ``values`` and concatenate the rows."""
    out = []
    for part in chunks(values):
        marks = ",".join("?" * len(part))
        out.extend(conn.execute(sql.format(ids=marks), (*part, *extra)).fetchall())
    return out


def warning(item: str, itemid, code, message: str) -> dict:
    out = {"item": item}
    if itemid is not None:
        out["itemid"] = itemid
    out.update({"warningcode": str(code), "message": message})
    return out


@contextlib.contextmanager
def savepoint(conn, name: str = "item"):
    """Per-item sub-transaction: an exception undoes only this item."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    else:
        conn.execute(f"RELEASE {name}")


def custom_fields(conn, userids: list[int], displayvalue: bool = True) -> dict[int, list[dict]]:
    """Custom profile fields per user, as ``user_get_user_details`` lists them (non-empty only)."""
    fields = conn.execute("SELECT id, shortname, name, datatype, defaultdata FROM user_info_field"
                          " ORDER BY sortorder").fetchall()
    if not fields:
        return {}
    if len(userids) > 20000:
        data_rows = conn.execute("SELECT userid, fieldid, data FROM user_info_data").fetchall()
    else:
        data_rows = rows_in(conn, "SELECT userid, fieldid, data FROM user_info_data WHERE userid IN ({ids})",
                            userids)
    data: dict[tuple[int, int], str] = {(r[0], r[1]): r[2] for r in data_rows}
    out: dict[int, list[dict]] = {}
    for uid in userids:
        items = []
        for f in fields:
            value = data.get((uid, f["id"]))
            if value is None and f["datatype"] == "menu":
                value = f["defaultdata"]  # a menu field shows its default when the user has no data
            if not value:
                continue
            entry = {"type": f["datatype"], "value": value}
            if displayvalue:
                entry["displayvalue"] = value
            entry.update({"name": f["name"], "shortname": f["shortname"]})
            items.append(entry)
        out[uid] = items
    return out


def user_details(ctx, users: list, *, course_variant: bool = False) -> list[dict]:
    """``user_get_user_details`` for the admin or for the user themselves; others are skipped."""
    userids = [u["id"] for u in users]
    cfields = custom_fields(ctx.conn, userids, displayvalue=not course_variant)
    small, big = ctx.image_url("f2"), ctx.image_url("f1")
    prefs: dict[int, list] = {}
    if any(u["id"] == ctx.userid for u in users):
        prefs[ctx.userid] = [{"name": r["name"], "value": r["value"]} for r in ctx.all(
            "SELECT name, value FROM user_preferences WHERE userid = ? ORDER BY id", (ctx.userid,))]
    admin = ctx.is_admin
    out = []
    for u in users:
        if not admin and u["id"] != ctx.userid:
            continue
        d = {"id": u["id"], "username": u["username"], "firstname": u["firstname"], "lastname": u["lastname"],
             "fullname": fullname(u), "email": u["email"]}
        if u["address"]:
            d["address"] = u["address"]
        if u["phone1"]:
            d["phone1"] = u["phone1"]
        if u["phone2"]:
            d["phone2"] = u["phone2"]
        d["department"] = u["department"]
        if u["institution"]:
            d["institution"] = u["institution"]
        if u["idnumber"]:
            d["idnumber"] = u["idnumber"]
        d["firstaccess"] = u["firstaccess"] or 0
        d["lastaccess"] = u["lastaccess"] or 0
        if not course_variant:
            d.update({"auth": u["auth"], "suspended": bool(u["suspended"]), "confirmed": bool(u["confirmed"]),
                      "lang": u["lang"], "theme": u["theme"], "timezone": u["timezone"],
                      "mailformat": u["mailformat"], "trackforums": u["trackforums"]})
        if u["description"] is not None:
            d["description"] = u["description"]
            d["descriptionformat"] = u["descriptionformat"]
        if u["city"]:
            d["city"] = u["city"]
        if u["country"]:
            d["country"] = u["country"]
        d["profileimageurlsmall"] = small
        d["profileimageurl"] = big
        if cfields.get(u["id"]):
            d["customfields"] = cfields[u["id"]]
        if not course_variant and u["id"] in prefs:
            d["preferences"] = prefs[u["id"]]
        out.append(d)
    return out


def require_user(ctx, userid: int):
    row = ctx.one("SELECT * FROM user WHERE id = ? AND deleted = 0", (userid,))
    if row is None:
        raise errors.MissingRecord("user", "SELECT * FROM {user} WHERE id = ? AND deleted = ?", [userid, 0])
    return row


def sql_like_escape(value: str) -> str:
    return value  # Moodle passes the value through; '%' and '_' stay wildcards, '\\' escapes


def first(iterable, default=None):
    return next(iter(iterable), default)


def group_by(rows, key):
    out: dict = {}
    for k, grp in itertools.groupby(sorted(rows, key=key), key=key):
        out[k] = list(grp)
    return out
