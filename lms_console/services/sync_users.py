"""The accounts the email partitions of the user pass cannot list, found by id instead.

Moodle's ``core_user_get_users`` answers a criterion only with the accounts whose searched field it returns
non-empty (``user/externallib.php``, ``get_users``: "Return the user only if all the searched fields are
returned", ``if (empty($userdetails[$criteria['key']]))`` drops the account). ``email = ''`` is not refused
(no error, no warning): its ``LIKE ''`` matches the accounts without an email, which that check then drops,
so the answer is always empty and NO criterion lists them (LDAP, CAS, OAuth 2 or plugin-made accounts often
have none). ``core_user_get_users_by_field`` with ``field=id`` does return them (its own check is on ``id``).

So once every partition is complete, the ids they did not return are asked for by id: every gap between 1
and the highest id seen or cached, then batches past it for as long as a batch still finds accounts.  This
also finds addresses no prefix covers (one starting with a letter of another script).  Moodle never reuses
an id, so the gaps are the site's deleted accounts plus the accounts found this way: on a site of 50,000
accounts with 10,000 deleted, 20 requests of 500 ids, plus one past the end.  Deleted ids in a request do
not fail it: the recorded Moodle 5.2 answer to ids 1-2,000 (``long_post_2000_values__core_user_get_users_by_
field``, after account 627 was deleted) holds the 626 live accounts and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lms_console.services.cache import queries

# The partition key of the id probe: never an email prefix ('(' is not a character of FIRST_CHARS).
BY_ID = "(by id)"
# Ids per request: 500 values stay well under PHP's max_input_vars (1,000 by default).
PROBE_BATCH = 500


def gap_batches(seen: Iterable[int], cached: Iterable[int] = (), batch: int = PROBE_BATCH) \
        -> tuple[list[list[int]], int]:
    """The ids from 1 to the highest of ``seen`` and ``cached`` that are not in ``seen``, in batches, and
    the first id past them (where the probe of the ids no account has reached yet starts)."""
    seen_set = set(seen)
    top = max(max(seen_set, default=0), max(cached, default=0))
    missing = [i for i in range(1, top + 1) if i not in seen_set]
    return [missing[i:i + batch] for i in range(0, len(missing), batch)], top + 1


def tail_batch(start: int, batch: int = PROBE_BATCH) -> list[int]:
    """``batch`` ids from ``start`` on: ids past every account known so far."""
    return list(range(start, start + batch))


@dataclass(slots=True)
class IdProbe:
    probed: set[int] = field(default_factory=set)  # ids asked for (not asked again before the sweep)
    found: int = 0


class UnlistedUsers:
    """The end of :class:`~lms_console.services.sync.SyncEngine`'s user pass: the id probe, then the sweep.

    A mixin of the engine (it uses its backend, cache, task queue and entity records); it starts as the
    users entity's finisher once every email partition is complete.
    """

    def _probe_unlisted(self) -> None:
        """After every email partition: ask by id for the ids they did not return (module docstring), in parallel;
        then :meth:`_finish_users`. Not when no partition returned anyone (a token that may not list users)."""
        ent = self._ents["users"]
        with self.db.read() as conn:
            seen = queries.seen_ids(conn, "users", ent.run_id)
            unseen = queries.unseen_ids(conn, "users", ent.run_id)
        if not seen:
            self._finish_users()
            return
        batches, past = gap_batches(seen, unseen)
        self._probe = IdProbe()
        for ids in batches:
            self._submit_probe(ids, tail=False)
        self._submit_probe(tail_batch(past), tail=True)
        ent.finisher = self._finish_probe

    def _submit_probe(self, ids: list[int], tail: bool) -> None:
        self._probe.probed.update(ids)
        b, c = self.backend, self._cancel
        self._submit("users", lambda: b.users_by_ids(ids, cancel=c),
                     lambda f: self._apply_probe(ids, tail, f), (BY_ID, ids[0]))

    def _apply_probe(self, ids: list[int], tail: bool, fetched) -> None:
        ent = self._ents["users"]
        self.writer.upsert_users(fetched.items, ent.run_id)
        ent.rows += len(fetched.items)
        self._probe.found += len(fetched.items)
        if tail and fetched.items:
            # Accounts past the highest known id: the next ids may hold more (submitted before this
            # task's pending count drops, so the pass cannot finish early).
            self._submit_probe(tail_batch(ids[-1] + 1, len(ids)), tail=True)

    def _finish_probe(self) -> None:
        if self._probe is not None:
            self.writer.mark_partition_done("users", BY_ID, self._ents["users"].run_id, count=self._probe.found)
        self._finish_users()

    def _finish_users(self) -> None:
        """Users not seen in any partition (nor by the id probe) are checked by id before they are removed."""
        ent = self._ents["users"]
        with self.db.read() as conn:
            unseen = queries.unseen_ids(conn, "users", ent.run_id)
            cached = len(queries.user_ids(conn))
            site = queries.get_site_info(conn)
        probed = self._probe.probed if self._probe is not None else set()
        ask = [uid for uid in unseen if uid not in probed]
        if ask:
            found = self.backend.users_by_ids(ask, cancel=self._cancel)
            self._requests += 1
            if found.items:
                self.writer.upsert_users(found.items, ent.run_id)
                ent.rows += len(found.items)
                unseen = sorted(set(unseen) - {u.id for u in found.items})
        # Without the right to see users Moodle returns an empty list instead of an error:
        # never mistake that for "everybody was deleted".
        seen = cached - len(unseen)
        doubtful = seen == 0 or (site is not None and not site.is_site_admin and len(unseen) > cached // 10)
        if unseen and doubtful:
            ent.errors.append(
                f"the site returned {seen} of the {cached} cached users; the token may lack the permission to "
                f"list users (Moodle then answers with an empty list), so no user was removed from the cache")
            return
        self.writer.sweep("users", ent.run_id)
