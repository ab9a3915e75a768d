"""What adding a user to, or removing one from, a cohort or a course group have in common.

A subclass names its container (``cohort`` or ``group``) and its add/remove kinds; the
request format and the answer's meaning stay in the subclass (Moodle's two APIs differ).
"""

from __future__ import annotations

from lms_console.services.changes.kinds import Kind, as_int, id_text, int_problem
from lms_console.services.changes.model import Change, Problem


class MembershipKind(Kind):
    container = ""  # "cohort" | "group"
    add_kind = ""
    remove_kind = ""
    adds = True
    max_items = 200  # a member is a few fields: big chunks, few calls

    @property
    def key(self) -> str:
        return f"{self.container}id"

    @property
    def required(self):  # type: ignore[override]
        return (self.key, "userid")

    # -- the container's lookups on the plan context, the client and the cache ---------
    def _find(self, ctx, cid):
        return getattr(ctx, self.container)(cid)

    def _has(self, ctx, cid, uid) -> bool:
        return getattr(ctx, f"{self.container}_has")(cid, uid)

    def _members_on_site(self, client, cid) -> set[int] | None:
        rows = getattr(client, f"{self.container}_members")([cid]).items
        return set(rows[0].userids) if rows else None

    @property
    def _table(self) -> str:
        return f"{self.container}_members"

    # -- Kind --------------------------------------------------------------------------
    def target(self, data):
        return f"{self.container}:{id_text(data.get(self.key))}/user:{id_text(data.get('userid'))}"

    def title(self, data, ctx):
        u = ctx.user(as_int(data, "userid")) if int_problem(data, "userid") is None else None
        who = u["username"] if u else f"user {data.get('userid')}"
        c = self._find(ctx, as_int(data, self.key)) if int_problem(data, self.key) is None else None
        where = f"{self.container} {c['name']}" if c else f"{self.container} {data.get(self.key)}"
        return f"Add {who} to {where}" if self.adds else f"Remove {who} from {where}"

    def validate(self, data, ctx):
        problems = super().validate(data, ctx) or [
            p for p in (int_problem(data, self.key), int_problem(data, "userid")) if p is not None]
        if problems or not self.adds:
            return problems
        if self._find(ctx, as_int(data, self.key)) is None:
            problems.append(Problem(f"no such {self.container} (deleted on the site?)", field=self.key,
                                    value=data[self.key]))
        if ctx.user(as_int(data, "userid")) is None:
            problems.append(Problem("no such user (deleted, or not visible to the token)", field="userid",
                                    value=data["userid"]))
        return problems

    def before(self, data, ctx):
        return {"member": self._has(ctx, as_int(data, self.key), as_int(data, "userid"))}

    def after(self, data, before):
        return {"member": self.adds}

    def is_noop(self, data, before, ctx):
        return before is not None and before["member"] == self.adds

    def verify(self, client, data):
        members = self._members_on_site(client, as_int(data, self.key))
        if members is None:
            return not self.adds  # the container is gone: nobody is in it
        return (as_int(data, "userid") in members) == self.adds

    def fresh_before(self, client, data):
        members = self._members_on_site(client, as_int(data, self.key))
        return {"member": members is not None and as_int(data, "userid") in members}

    def inverse(self, data, before, result):
        return Change(self.remove_kind if self.adds else self.add_kind,
                      {self.key: data[self.key], "userid": data["userid"]})

    def apply_to_cache(self, raw, data, result, now):
        self.apply_many_to_cache(raw, [(data, result)], now)

    def apply_many_to_cache(self, raw, done, now):
        rows = [(as_int(d, self.key), as_int(d, "userid")) for d, _r in done]
        if self.adds:
            raw.executemany(f"INSERT INTO {self._table} ({self.key}, userid) VALUES (?, ?) ON CONFLICT DO NOTHING",
                            rows)
        else:
            raw.executemany(f"DELETE FROM {self._table} WHERE {self.key} = ? AND userid = ?", rows)
