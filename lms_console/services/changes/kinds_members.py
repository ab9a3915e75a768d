"""Cohorts, course groups and groupings: create, rename, delete, members in and out."""

from __future__ import annotations

from typing import Any

from lms_console.services.changes.kinds import (
    OK,
    FieldsUpdate,
    ItemOutcome,
    Kind,
    as_int,
    id_problems,
    int_problem,
    message_targets,
    warnings_of,
)
from lms_console.services.changes.kinds_membership import MembershipKind
from lms_console.services.changes.model import Change, Problem


# -- cohorts ----------------------------------------------------------------------------------------

class _CohortKind(Kind):
    entity = "cohorts"

    def cohort_label(self, ctx, cohortid) -> str:
        c = ctx.cohort(cohortid) if isinstance(cohortid, int) else None
        return f"cohort {c['name']}" if c else f"cohort {cohortid}"


class CohortCreate(_CohortKind):
    name = "cohort.create"
    function = "core_cohort_create_cohorts"
    list_key = "cohorts"
    required = ("name",)

    def target(self, data):
        return f"cohort:{data.get('idnumber') or data.get('name')}"

    def title(self, data, ctx):
        where = "system" if not data.get("categoryid") else f"category {data['categoryid']}"
        return f"Create cohort {data.get('name')} ({where})"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx)
        if data.get("idnumber") and ctx.cohort_by_idnumber(str(data["idnumber"])) is not None:
            problems.append(Problem("is already used by another cohort", field="idnumber", value=data["idnumber"]))
        if data.get("categoryid") and ctx.category(as_int(data, "categoryid")) is None:
            problems.append(Problem("no such category", field="categoryid", value=data["categoryid"]))
        return problems

    def after(self, data, before):
        return {k: data.get(k) for k in ("name", "idnumber", "description", "visible", "categoryid") if k in data}

    def request_item(self, data):
        cat = ({"type": "id", "value": as_int(data, "categoryid")} if data.get("categoryid")
               else {"type": "system", "value": ""})
        item: dict[str, Any] = {"categorytype": cat, "name": data["name"],
                                "idnumber": data.get("idnumber") or "", "description": data.get("description", ""),
                                "visible": bool(data.get("visible", True))}
        return item

    def outcomes(self, items, response):
        created = list(response or [])
        if len(created) != len(items):
            return [ItemOutcome(False, code="missing", message="the site did not report the cohort as created")
                    for _ in items]
        return [ItemOutcome(True, {"id": int(c["id"])}) for c in created]

    def verify(self, client, data):
        if not data.get("idnumber"):
            return None
        return any(c.idnumber == data["idnumber"] for c in client.cohorts().items)

    def verified_result(self, client, data):
        for c in client.cohorts().items:
            if data.get("idnumber") and c.idnumber == data["idnumber"]:
                return {"id": c.id}
        return None

    def inverse(self, data, before, result):
        return Change("cohort.delete", {"id": result["id"]}) if result else None

    def apply_to_cache(self, raw, data, result, now):
        if result:
            raw.execute("INSERT INTO cohorts (id, name, idnumber, description, visible, categoryid) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                        (result["id"], data["name"], data.get("idnumber") or "", data.get("description", ""),
                         int(bool(data.get("visible", True))), int(data.get("categoryid") or 0)))


class CohortUpdate(FieldsUpdate, _CohortKind):
    name = "cohort.update"
    table = "cohorts"
    function = "core_cohort_update_cohorts"
    list_key = "cohorts"
    required = ("id",)
    idempotent = True
    FIELDS = ("name", "idnumber", "description", "visible")

    def target(self, data):
        return f"cohort:{data.get('id')}"

    def title(self, data, ctx):
        fields = data.get("fields") or {}
        if set(fields) == {"name"}:
            return f"Rename {self.cohort_label(ctx, data.get('id'))} to {fields['name']}"
        return f"Change {self.cohort_label(ctx, data.get('id'))}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["id"])
        if problems:
            return problems
        cohort = ctx.cohort(as_int(data, "id"))
        if cohort is None:
            return [Problem("no such cohort in the local copy (deleted on the site?)", field="id", value=data["id"])]
        if cohort.get("categoryid") is None:
            problems.append(Problem("the cohort's context (system or category) is not known yet", field="id",
                                    value=data["id"], fix="Sync cohorts, then plan again."))
        fields = data.get("fields") or {}
        unknown = set(fields) - set(self.FIELDS)
        if unknown or not fields:
            problems.append(Problem(f"fields must be some of {', '.join(self.FIELDS)}", field="fields",
                                    value=sorted(fields)))
        if fields.get("name") == "":
            problems.append(Problem("a cohort needs a name", field="name", value=""))
        other = ctx.cohort_by_idnumber(str(fields["idnumber"])) if fields.get("idnumber") else None
        if other is not None and other["id"] != cohort["id"]:
            problems.append(Problem("is already used by another cohort", field="idnumber", value=fields["idnumber"]))
        return problems

    def current(self, ctx, id_):
        return ctx.cohort(id_)

    def resolve(self, data, ctx):
        cohort = ctx.cohort(as_int(data, "id")) if int_problem(data, "id") is None else None
        # core_cohort_update_cohorts needs the context (sending the wrong one would move the cohort), and
        # the name and ID number even when they do not change (both are required parameters).
        if not cohort:
            return data
        return {**data, "_categoryid": cohort.get("categoryid"), "_name": cohort.get("name") or "",
                "_idnumber": cohort.get("idnumber") or ""}

    def request_item(self, data):
        fields = dict(data.get("fields") or {})
        cat = data.get("_categoryid", 0)
        item = {"id": as_int(data, "id"),
                "categorytype": {"type": "id", "value": cat} if cat else {"type": "system", "value": ""},
                "name": data.get("_name", ""), "idnumber": data.get("_idnumber", "")}
        item.update(fields)
        return item


class CohortDelete(_CohortKind):
    name = "cohort.delete"
    function = "core_cohort_delete_cohorts"
    list_key = "cohortids"
    required = ("id",)
    reversible = False

    def target(self, data):
        return f"cohort:{data.get('id')}"

    def title(self, data, ctx):
        return f"Delete {self.cohort_label(ctx, data.get('id'))}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or id_problems(data, ["id"])
        if not problems and ctx.cohort(as_int(data, "id")) is None:
            problems.append(Problem("no such cohort in the local copy", field="id", value=data["id"]))
        return problems

    def before(self, data, ctx):
        c = ctx.cohort(as_int(data, "id"))
        return {"name": c["name"], "members": ctx.cohort_size(c["id"])} if c else None

    def request_item(self, data):
        return as_int(data, "id")

    def verify(self, client, data):
        return all(c.id != as_int(data, "id") for c in client.cohorts().items)

    def apply_to_cache(self, raw, data, result, now):
        raw.execute("DELETE FROM cohorts WHERE id = ?", (as_int(data, "id"),))
        # Deleted from here, on purpose: its membership rule goes with it. (A cohort deleted on the site
        # keeps its rule, marked "gone", for the admin to see: schema_rules.)
        raw.execute("DELETE FROM cohort_rules WHERE cohortid = ?", (as_int(data, "id"),))


class CohortAddMember(MembershipKind):
    name = "cohort.add_member"
    function = "core_cohort_add_cohort_members"
    list_key = "members"
    entity = "cohorts"
    container, add_kind, remove_kind = "cohort", "cohort.add_member", "cohort.remove_member"

    def request_item(self, data):
        return {"cohorttype": {"type": "id", "value": as_int(data, "cohortid")},
                "usertype": {"type": "id", "value": as_int(data, "userid")}}

    def outcomes(self, items, response):
        # Warnings carry no item id, only words: "user id=42 not exists", "cohort id=3 not exists",
        # "record already exists: cohort(id=3) user(id=42)".
        out = [OK] * len(items)
        for w in warnings_of(response):
            named = message_targets(str(w.get("message", "")))
            code = str(w.get("warningcode", ""))
            for i, d in enumerate(items):
                hit_user = "user" in named and named["user"] == str(d["userid"])
                hit_cohort = "cohort" in named and named["cohort"] == str(d["cohortid"])
                if (hit_user and ("cohort" not in named or hit_cohort)) or (hit_cohort and "user" not in named):
                    if code == "3":  # already a member: the desired state holds
                        out[i] = ItemOutcome(True, message="was already a member")
                    else:
                        out[i] = ItemOutcome(False, code=f"warning{code}", message=str(w.get("message", "")))
        return out


class CohortRemoveMember(MembershipKind):
    name = "cohort.remove_member"
    function = "core_cohort_delete_cohort_members"
    list_key = "members"
    entity = "cohorts"
    container, add_kind, remove_kind, adds = "cohort", "cohort.add_member", "cohort.remove_member", False

    def request_item(self, data):
        return {"cohortid": as_int(data, "cohortid"), "userid": as_int(data, "userid")}
