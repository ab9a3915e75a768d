"""Course groups and groupings: create, rename, delete, members, grouping assignments."""

from __future__ import annotations

from lms_console.services.changes.kinds import FieldsUpdate, ItemOutcome, Kind, as_int, id_problems, int_problem
from lms_console.services.changes.kinds_membership import MembershipKind
from lms_console.services.changes.model import Change, Problem


class _GroupKind(Kind):
    entity = "groups"

    def group_label(self, ctx, groupid) -> str:
        g = ctx.group(groupid) if isinstance(groupid, int) else None
        return f"group {g['name']}" if g else f"group {groupid}"

    def grouping_label(self, ctx, groupingid) -> str:
        g = cached_grouping(ctx, groupingid)
        return f"grouping {g['name']}" if g else f"grouping {groupingid}"

    def course_label(self, ctx, courseid) -> str:
        c = ctx.course(courseid) if isinstance(courseid, int) else None
        return f"course {c['shortname']}" if c and c.get("shortname") else f"course {courseid}"


def cached_grouping(ctx, groupingid) -> dict | None:
    """The grouping's cached row (the plan context has no reader of its own for groupings)."""
    if not isinstance(groupingid, int) or groupingid < 0:
        return None
    result = ctx.conn.exec_driver_sql("SELECT * FROM groupings WHERE id = ?", (groupingid,))
    row = result.first()
    return dict(zip(result.keys(), row)) if row else None


def grouping_by(ctx, courseid: int, column: str, value: str) -> dict | None:
    """A grouping of the course whose ``column`` (name: any case, as Moodle's database compares it;
    idnumber) is ``value``."""
    result = ctx.conn.exec_driver_sql(f"SELECT * FROM groupings WHERE courseid = ? AND {column} = ?",
                                      (courseid, value))
    row = result.first()
    return dict(zip(result.keys(), row)) if row else None


class GroupCreate(_GroupKind):
    name = "group.create"
    function = "core_group_create_groups"
    list_key = "groups"
    required = ("courseid", "name")

    def target(self, data):
        return f"course:{data.get('courseid')}/group:{data.get('name')}"

    def title(self, data, ctx):
        return f"Create group {data.get('name')} in {self.course_label(ctx, data.get('courseid'))}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["courseid"])
        if problems:
            return problems
        if ctx.course(as_int(data, "courseid")) is None:
            problems.append(Problem("no such course", field="courseid", value=data["courseid"]))
        elif ctx.group_by_name(as_int(data, "courseid"), str(data["name"])) is not None:
            problems.append(Problem("a group of this name already exists in the course", field="name",
                                    value=data["name"]))
        return problems

    def after(self, data, before):
        return {"name": data["name"], "idnumber": data.get("idnumber", "")}

    def request_item(self, data):
        # Moodle requires a description, even an empty one.
        return {"courseid": as_int(data, "courseid"), "name": data["name"], "description": data.get("description", ""),
                "idnumber": data.get("idnumber", "")}

    def outcomes(self, items, response):
        created = list(response or [])
        if len(created) != len(items):
            return [ItemOutcome(False, code="missing", message="the site did not report the group as created")] * len(items)
        return [ItemOutcome(True, {"id": int(g["id"])}) for g in created]

    def verify(self, client, data):
        return any(g.name == data["name"] for g in client.course_groups(as_int(data, "courseid")).items)

    def verified_result(self, client, data):
        for g in client.course_groups(as_int(data, "courseid")).items:
            if g.name == data["name"]:
                return {"id": g.id}
        return None

    def inverse(self, data, before, result):
        return Change("group.delete", {"id": result["id"]}) if result else None

    def apply_to_cache(self, raw, data, result, now):
        if result:
            raw.execute('INSERT INTO "groups" (id, courseid, name, idnumber, description) VALUES (?, ?, ?, ?, ?) '
                        "ON CONFLICT (id) DO NOTHING", (result["id"], as_int(data, "courseid"), data["name"],
                                                         data.get("idnumber", ""), data.get("description", "")))


class GroupUpdate(FieldsUpdate, _GroupKind):
    name = "group.update"
    table = "groups"
    function = "core_group_update_groups"
    list_key = "groups"
    required = ("id",)
    idempotent = True
    FIELDS = ("name", "idnumber", "description")

    def target(self, data):
        return f"group:{data.get('id')}"

    def title(self, data, ctx):
        fields = data.get("fields") or {}
        label = self.group_label(ctx, data.get("id"))
        return f"Rename {label} to {fields['name']}" if set(fields) == {"name"} else f"Change {label}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["id"])
        if problems:
            return problems
        group = ctx.group(as_int(data, "id"))
        fields = data.get("fields") or {}
        if group is None:
            return [Problem("no such group (deleted on the site?)", field="id", value=data["id"])]
        if not fields or set(fields) - set(self.FIELDS):
            problems.append(Problem(f"fields must be some of {', '.join(self.FIELDS)}", field="fields"))
        if fields.get("name"):
            other = ctx.group_by_name(group["courseid"], str(fields["name"]))
            if other is not None and other["id"] != group["id"]:
                problems.append(Problem("a group of this name already exists in the course", field="name",
                                        value=fields["name"]))
        return problems

    def current(self, ctx, id_):
        return ctx.group(id_)

    def resolve(self, data, ctx):
        group = ctx.group(as_int(data, "id")) if int_problem(data, "id") is None else None
        return {**data, "_name": group["name"]} if group else data

    def request_item(self, data):
        fields = dict(data.get("fields") or {})
        return {"id": as_int(data, "id"), "name": fields.get("name", data.get("_name", "")),
                **{k: v for k, v in fields.items() if k != "name"}}


class GroupDelete(_GroupKind):
    name = "group.delete"
    function = "core_group_delete_groups"
    list_key = "groupids"
    required = ("id",)
    reversible = False

    def target(self, data):
        return f"group:{data.get('id')}"

    def title(self, data, ctx):
        return f"Delete {self.group_label(ctx, data.get('id'))}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["id"])
        if not problems and ctx.group(as_int(data, "id")) is None:
            problems.append(Problem("no such group", field="id", value=data["id"]))
        return problems

    def resolve(self, data, ctx):
        group = ctx.group(as_int(data, "id")) if int_problem(data, "id") is None else None
        return {**data, "_courseid": group["courseid"]} if group else data

    def request_item(self, data):
        return as_int(data, "id")

    def verify(self, client, data):
        if "_courseid" not in data:
            return None
        return all(g.id != as_int(data, "id") for g in client.course_groups(int(data["_courseid"])).items)

    def apply_to_cache(self, raw, data, result, now):
        raw.execute('DELETE FROM "groups" WHERE id = ?', (as_int(data, "id"),))


class GroupAddMember(MembershipKind):
    name = "group.add_member"
    function = "core_group_add_group_members"
    list_key = "members"
    entity = "groups"
    container, add_kind, remove_kind = "group", "group.add_member", "group.remove_member"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        if problems:
            return problems
        group, userid = ctx.group(as_int(data, "groupid")), as_int(data, "userid")
        if ctx.enrolment(group["courseid"], userid) is None and not ctx.planned_enrolment(group["courseid"], userid):
            user = ctx.user(userid)  # named as the admin knows them, not by the id the change carries
            problems.append(Problem(
                "is not enrolled in the group's course; Moodle only accepts enrolled users in groups",
                field="user" if user else "userid", value=user["username"] if user else userid,
                fix="Enrol the user first (it can be part of this plan).",
                prerequisite=Change("enrol.add", {"userid": userid, "courseid": group["courseid"], "roleid": 5})))
        return problems

    def resolve(self, data, ctx):
        group = ctx.group(as_int(data, "groupid")) if int_problem(data, "groupid") is None else None
        return {**data, "_courseid": group["courseid"]} if group else data

    def request_item(self, data):
        return {"groupid": as_int(data, "groupid"), "userid": as_int(data, "userid")}


class GroupRemoveMember(GroupAddMember):
    name = "group.remove_member"
    function = "core_group_delete_group_members"
    adds = False

    def validate(self, data, ctx):
        return MembershipKind.validate(self, data, ctx)


class GroupingCreate(GroupCreate):
    name = "grouping.create"
    function = "core_group_create_groupings"
    list_key = "groupings"

    def target(self, data):
        return f"course:{data.get('courseid')}/grouping:{data.get('name')}"

    def title(self, data, ctx):
        return f"Create grouping {data.get('name')} in {self.course_label(ctx, data.get('courseid'))}"

    def validate(self, data, ctx):
        problems = Kind.validate(self, data, ctx) or id_problems(data, ["courseid"])
        if not problems and ctx.course(as_int(data, "courseid")) is None:
            problems.append(Problem("no such course", field="courseid", value=data["courseid"]))
        return problems

    def verify(self, client, data):
        return any(g.name == data["name"] for g in client.course_groupings(as_int(data, "courseid")).items)

    def verified_result(self, client, data):
        for g in client.course_groupings(as_int(data, "courseid")).items:
            if g.name == data["name"]:
                return {"id": g.id}
        return None

    def inverse(self, data, before, result):
        return Change("grouping.delete", {"id": result["id"]}) if result else None

    def apply_to_cache(self, raw, data, result, now):
        if result:
            raw.execute("INSERT INTO groupings (id, courseid, name, idnumber, description) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (id) DO NOTHING", (result["id"], as_int(data, "courseid"), data["name"],
                                                         data.get("idnumber", ""), data.get("description", "")))


class GroupingUpdate(FieldsUpdate, _GroupKind):
    """Rename a grouping or change its ID number or description (``{"id": n, "fields": {...}}``);
    undone by the same kind with the old values."""

    name = "grouping.update"
    table = "groupings"
    function = "core_group_update_groupings"
    list_key = "groupings"
    required = ("id",)
    idempotent = True
    FIELDS = ("name", "idnumber", "description")

    def target(self, data):
        return f"grouping:{data.get('id')}"

    def title(self, data, ctx):
        fields = data.get("fields") or {}
        label = self.grouping_label(ctx, data.get("id"))
        return f"Rename {label} to {fields['name']}" if set(fields) == {"name"} else f"Change {label}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["id"])
        if problems:
            return problems
        grouping = cached_grouping(ctx, as_int(data, "id"))
        fields = data.get("fields") or {}
        if grouping is None:
            return [Problem("no such grouping (deleted on the site?)", field="id", value=data["id"])]
        if not fields or set(fields) - set(self.FIELDS):
            problems.append(Problem(f"fields must be some of {', '.join(self.FIELDS)}", field="fields",
                                    value=sorted(fields)))
        if "name" in fields and not str(fields["name"] or "").strip():
            problems.append(Problem("a grouping needs a name", field="name", value=fields["name"]))
        elif fields.get("name"):
            other = grouping_by(ctx, grouping["courseid"], "name", str(fields["name"]))
            if other is not None and other["id"] != grouping["id"]:
                problems.append(Problem("a grouping of this name already exists in the course", field="name",
                                        value=fields["name"]))
        if str(fields.get("idnumber") or "").strip():
            other = grouping_by(ctx, grouping["courseid"], "idnumber", str(fields["idnumber"]).strip())
            if other is not None and other["id"] != grouping["id"]:
                problems.append(Problem(f"is already the ID number of grouping {other['name']} in the course",
                                        field="idnumber", value=fields["idnumber"]))
        return problems

    def current(self, ctx, id_):
        return cached_grouping(ctx, id_)

    def resolve(self, data, ctx):
        # core_group_update_groupings requires the name and the description even when they do not change.
        grouping = cached_grouping(ctx, as_int(data, "id")) if int_problem(data, "id") is None else None
        if not grouping:
            return data
        return {**data, "_courseid": grouping["courseid"], "_name": grouping["name"],
                "_description": grouping.get("description") or ""}

    def request_item(self, data):
        fields = dict(data.get("fields") or {})
        item = {"id": as_int(data, "id"), "name": fields.get("name", data.get("_name", "")),
                "description": fields.get("description", data.get("_description", ""))}
        if "idnumber" in fields:
            item["idnumber"] = fields["idnumber"] or ""
        return item

    def verify(self, client, data):
        if "_courseid" not in data:
            return None
        fields = {k: v for k, v in (data.get("fields") or {}).items() if k in ("name", "idnumber")}
        if not fields:
            return None  # the description comes back formatted (HTML): it does not tell
        for g in client.course_groupings(int(data["_courseid"])).items:
            if g.id == as_int(data, "id"):
                return all(getattr(g, k) == (v or "") for k, v in fields.items())
        return False


class GroupingDelete(GroupDelete):
    name = "grouping.delete"
    function = "core_group_delete_groupings"
    list_key = "groupingids"

    def target(self, data):
        return f"grouping:{data.get('id')}"

    def title(self, data, ctx):
        return f"Delete {self.grouping_label(ctx, data.get('id'))}"

    def validate(self, data, ctx):
        return Kind.validate(self, data, ctx) or id_problems(data, ["id"])

    def resolve(self, data, ctx):
        return data

    def verify(self, client, data):
        return None

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM groupings WHERE id = ?", (as_int(data, "id"),))


class GroupingAssign(_GroupKind):
    name = "grouping.assign"
    function = "core_group_assign_grouping"
    list_key = "assignments"
    required = ("groupingid", "groupid")
    idempotent = True

    def target(self, data):
        return f"grouping:{data.get('groupingid')}/group:{data.get('groupid')}"

    def title(self, data, ctx):
        return (f"Put {self.group_label(ctx, data.get('groupid'))} into "
                f"{self.grouping_label(ctx, data.get('groupingid'))}")

    def validate(self, data, ctx):
        return super().validate(data, ctx) or id_problems(data, ["groupingid", "groupid"])

    def request_item(self, data):
        return {"groupingid": as_int(data, "groupingid"), "groupid": as_int(data, "groupid")}

    def inverse(self, data, before, result):
        return Change("grouping.unassign", {"groupingid": data["groupingid"], "groupid": data["groupid"]})

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("INSERT INTO grouping_groups (groupingid, groupid) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (as_int(data, "groupingid"), as_int(data, "groupid")))


class GroupingUnassign(GroupingAssign):
    name = "grouping.unassign"
    function = "core_group_unassign_grouping"
    list_key = "unassignments"

    def title(self, data, ctx):
        return (f"Take {self.group_label(ctx, data.get('groupid'))} out of "
                f"{self.grouping_label(ctx, data.get('groupingid'))}")

    def inverse(self, data, before, result):
        return Change("grouping.assign", {"groupingid": data["groupingid"], "groupid": data["groupid"]})

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM grouping_groups WHERE groupingid = ? AND groupid = ?",
                    (as_int(data, "groupingid"), as_int(data, "groupid")))
