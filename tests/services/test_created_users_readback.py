"""Accounts created by a run are read back from the site in one call per batch, so the local copy
holds what Moodle filled in itself (language, timezone, confirmed, auth, profile field defaults) right
after apply, not only at the next sync; a read-back the site does not answer leaves the creates done."""

from __future__ import annotations

import json
import logging

import pytest
from suite_helpers import apply, q, site_q

from lms_console.sandbox.faults import FaultInjector
from lms_console.sandbox.settings import FaultSettings
from lms_console.services import changes as C
from lms_console.services.changes.model import Status

SITE_COLUMNS = "lang, timezone, auth, confirmed, suspended"


@pytest.fixture
def synced(synced_site):
    """(server, client, db, writer) of a fresh sandbox mirrored into the test's cache."""
    return synced_site(users=40, courses=2, seed=31)


def _create(name: str, **extra) -> C.Change:
    return C.Change("user.create", {"username": name, "firstname": "Read", "lastname": "Back",
                                    "email": f"{name}@example.org", "password": "Fresh#2024x", **extra})


def _readbacks(server) -> list[dict]:
    return [r for r in server.requests if r["function"] == "core_user_get_users_by_field"]


def test_created_accounts_carry_the_sites_defaults_right_after_apply(synced):
    server, client, db, writer = synced
    server.clear_requests()
    plan = C.plan_changes(db, [_create("rb.one"), _create("rb.two", city="Graz"),
                               _create("rb.three", lang="en", customfields={"jobtitle": "Tutor"})])
    summary = apply(client, writer, plan)
    assert summary.status == "done", [(r.status, r.message) for r in summary.results]
    ids = [r.result["id"] for r in summary.results]

    for uid in ids:  # no sync in between: the cache row is what the site stored
        on_site = site_q(server, f"SELECT {SITE_COLUMNS} FROM user WHERE id = ?", uid)[0]
        cached = q(db, f"SELECT {SITE_COLUMNS} FROM users WHERE id = ?", uid)[0]
        assert tuple(cached) == tuple(on_site) == ("en", "99", "manual", 1, 0)
    assert q(db, "SELECT city FROM users WHERE id = ?", ids[1])[0][0] == "Graz"
    # The profile fields as the site shows them: the menu field's default, the given text field by its name.
    fields = {r[0]: tuple(r[1:]) for r in q(db, "SELECT shortname, value, displayvalue FROM user_custom_fields "
                                                "WHERE userid = ?", ids[2])}
    assert fields == {"jobtitle": ("Tutor", "Tutor"), "contracttype": ("Not specified", "Not specified")}
    stored = json.loads(q(db, "SELECT customfields FROM users WHERE id = ?", ids[2])[0][0])
    assert [(e[0], e[3], e[4]) for e in stored] == [("jobtitle", "Job title", "text"),
                                                    ("contracttype", "Contract type", "menu")]
    # One read for the batch of three, by id.
    reads = _readbacks(server)
    assert len(reads) == 1
    assert reads[0]["params"]["field"] == "id"
    assert sorted(int(v) for v in reads[0]["params"]["values"].values()) == sorted(ids)


def test_a_read_back_the_site_does_not_answer_leaves_the_creates_done(synced, caplog):
    server, client, db, writer = synced
    caplog.set_level(logging.INFO)
    plan = C.plan_changes(db, [_create("rb.lost")])
    # The create is the last request the site answers: the read-back right after finds it gone.
    server.set_faults(die_after_requests=len(server.requests) + 1)
    summary = apply(client, writer, plan)

    assert summary.status == "done" and summary.results[0].status == Status.DONE
    uid = summary.results[0].result["id"]
    assert site_q(server, "SELECT username FROM user WHERE id = ?", uid)[0][0] == "rb.lost"
    # The cache keeps what the create's answer and the change said (the rest comes with the next sync).
    assert tuple(q(db, "SELECT username, email, lang FROM users WHERE id = ?", uid)[0]) == \
        ("rb.lost", "rb.lost@example.org", "")
    # The read-back was tried once, got no answer (the site never served it), and is reported at info level.
    functions = [r["function"] for r in server.requests]
    create = functions.index("core_user_create_users")
    assert all(r["fault"] == "drop_before" for r in server.requests[create + 1:])
    notes = [r.getMessage() for r in caplog.records if "reading back" in r.getMessage()]
    assert len(notes) == 1 and "user.create" in notes[0] and "core_user_get_users_by_field" in notes[0]
    assert all(r.levelno == logging.INFO for r in caplog.records if "reading back" in r.getMessage())
    assert server.admin_token not in caplog.text


def _seed_losing_only_the_first_answer(rate: float = 0.5, calm: int = 6) -> int:
    """A fault seed whose first request has its answer dropped (after the site ran it) and whose next
    ``calm`` requests go through: the sandbox draws faults from one seeded generator, request by request."""
    for seed in range(2000):
        faults = FaultInjector(FaultSettings(drop_after_rate=rate, seed=seed))
        if [faults.plan()["action"] for _ in range(calm + 1)] == ["drop_after"] + ["ok"] * calm:
            return seed
    raise AssertionError("no such seed")


def test_an_account_confirmed_after_a_lost_answer_is_read_back_too(synced):
    server, client, db, writer = synced
    plan = C.plan_changes(db, [_create("rb.unsure")])
    server.set_faults(drop_after_rate=0.5, seed=_seed_losing_only_the_first_answer())
    server.clear_requests()
    summary = apply(client, writer, plan)
    server.clear_faults()

    assert summary.status == "done" and "confirmed on the site" in summary.results[0].message
    assert [r["fault"] for r in server.requests][:1] == ["drop_after"]
    uid = summary.results[0].result["id"]
    assert tuple(q(db, f"SELECT {SITE_COLUMNS} FROM users WHERE id = ?", uid)[0]) == ("en", "99", "manual", 1, 0)
