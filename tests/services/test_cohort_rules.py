"""Rule-based cohorts against a real sandbox and cache: rules checked and stored, the membership
diff (joins, leaves, kept, unseen, suspended), applied through the change engine, drift recorded
after each check, and the bad cases (no conditions, own cohort, unreadable rule, deleted cohort)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from suite_helpers import q

from lms_console.services import changes as C
from lms_console.services import cohort_rules as R
from lms_console.services.cache.db import head_revision
from lms_console.services.cache.schema import FTS_SHADOW_TABLES, metadata
from lms_console.services.users_query import Condition, UserFilter


@pytest.fixture
def synced(make_site, connect, cache, run_sync):
    server = make_site(users=160, courses=3, seed=29)
    client = connect(server)
    assert run_sync(client, entities=("site", "users", "categories", "courses", "cohorts")).status == "ok"
    db, writer = cache
    return server, client, db, writer


def cohort_id(db, name):
    return q(db, "SELECT id FROM cohorts WHERE name = ?", name)[0][0]


def department(db):
    return q(db, "SELECT department FROM users WHERE department <> '' GROUP BY department ORDER BY count(*) DESC")[0][0]


def dept_rule(dept: str) -> UserFilter:
    return UserFilter(conditions=(Condition("profile", "is", dept, "department"),))


def test_migration_0005_creates_the_rules_table_matching_its_metadata(cache):
    db, _writer = cache
    assert db.revision == head_revision() == "0005"

    def include(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and (name in FTS_SHADOW_TABLES or name == "alembic_version"))

    with db.read() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True,
                                                     "compare_server_default": False})
        diffs = compare_metadata(ctx, metadata)
    assert not [d for d in diffs if "cohort_rules" in repr(d)]
    assert "cohort_rules" in metadata.tables


def test_a_rule_needs_conditions_and_cannot_use_its_own_cohort_or_a_search_text():
    with pytest.raises(R.RuleError, match="at least one condition"):
        R.check_rule(5, UserFilter())
    with pytest.raises(R.RuleError, match="own cohort"):
        R.check_rule(5, UserFilter(conditions=(Condition("cohort", "in", 5),)))
    with pytest.raises(R.RuleError, match="search text"):
        R.check_rule(5, UserFilter("anna", (Condition("suspended", "is", False),)))
    spec = R.check_rule(5, UserFilter(conditions=(Condition("cohort", "in", 6),)))
    assert spec.conditions == (Condition("cohort", "in", 6),)


def test_save_list_replace_and_delete_rules(synced):
    _server, _client, db, writer = synced
    cid = cohort_id(db, "Empty cohort")
    rid = R.save_rule(writer, cid, dept_rule("Sales"))
    again = R.save_rule(writer, cid, dept_rule("Finance"), remove_others=False)
    assert again == rid  # one rule per cohort: replaced
    with db.read() as conn:
        rules = R.list_rules(conn)
        assert [(r.cohortid, r.cohort_name, r.remove_others) for r in rules] == [(cid, "Empty cohort", False)]
        assert R.rule_for_cohort(conn, cid).spec == dept_rule("Finance")
    with pytest.raises(R.RuleError, match="not in the local copy"):
        R.save_rule(writer, 99_999, dept_rule("Sales"))
    assert R.delete_rule(writer, rid) is True
    with db.read() as conn:
        assert R.list_rules(conn) == []


def test_diff_names_who_joins_and_leaves_and_applying_it_brings_the_cohort_in_step(synced):
    server, client, db, writer = synced
    dept = department(db)
    cid = cohort_id(db, "Empty cohort")
    matching = {r[0] for r in q(db, "SELECT id FROM users WHERE department = ?", dept)}
    outsider = q(db, "SELECT id FROM users WHERE department <> ? AND id > 3 AND suspended = 0 LIMIT 1", dept)[0][0]
    # The cohort holds one matching user and one who does not match.
    one = sorted(matching)[0]
    setup = C.plan_changes(db, [C.Change("cohort.add_member", {"cohortid": cid, "userid": u}) for u in (one, outsider)])
    run = C.record(writer, setup, profile="t", lms_user="admin")
    assert C.apply_run(client, writer, run).status == "done"
    R.save_rule(writer, cid, dept_rule(dept))
    with db.read() as conn:
        diff = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert diff.ok and diff.drifted
    assert set(diff.joins) == matching - {one}
    assert diff.leaves == (outsider,)
    assert diff.matched == len(matching) and diff.members == 2
    assert diff.sentence == f"Users whose department is “{dept}”"
    suspended = {r[0] for r in q(db, "SELECT id FROM users WHERE department = ? AND suspended = 1", dept)}
    assert diff.suspended_joins == len(suspended - {one})
    assert {u.id for u in diff.join_sample} == set(diff.joins)
    assert all(u.suspended == (u.id in suspended) for u in diff.join_sample)
    plan = C.plan_changes(db, diff.changes(), title=diff.title)
    assert plan.counts["apply"] == len(diff.joins) + 1
    run = C.record(writer, plan, profile="t", lms_user="admin")
    assert C.apply_run(client, writer, run).status == "done"
    with server.store.connection() as conn:
        on_site = {r[0] for r in conn.execute("SELECT userid FROM cohort_members WHERE cohortid = ?", (cid,))}
    assert on_site == matching
    with db.read() as conn:
        after = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert not after.drifted and "In step" in after.summary()


def test_a_rule_that_only_adds_keeps_others_and_members_the_token_cannot_see_are_never_removed(synced):
    _server, _client, db, writer = synced
    dept = department(db)
    cid = cohort_id(db, "Empty cohort")
    outsider = q(db, "SELECT id FROM users WHERE department <> ? AND id > 3 LIMIT 1", dept)[0][0]
    with writer.batch() as raw:  # as the sync would leave them: one outsider, one member not visible to the token
        raw.executemany("INSERT INTO cohort_members (cohortid, userid) VALUES (?, ?)", [(cid, outsider), (cid, 777_777)])
    R.save_rule(writer, cid, dept_rule(dept), remove_others=False)
    with db.read() as conn:
        keep = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert keep.leaves == () and keep.kept == 1 and keep.unseen == 1
    assert "1 member does not match the rule and stays (removing is off)" in keep.summary()
    R.save_rule(writer, cid, dept_rule(dept), remove_others=True)
    with db.read() as conn:
        strict = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert strict.leaves == (outsider,) and strict.unseen == 1
    assert all(ch.data["userid"] != 777_777 for ch in strict.changes())


def test_checks_record_drift_and_when_the_cohort_is_back_in_step(synced):
    _server, _client, db, writer = synced
    dept = department(db)
    empty, staff = cohort_id(db, "Empty cohort"), cohort_id(db, "All Staff")
    R.save_rule(writer, empty, dept_rule(dept))
    R.save_rule(writer, staff, UserFilter(conditions=(Condition("cohort", "in", staff + 1000),)))
    with db.read() as conn:
        diffs = R.check_all(conn)
    R.record_checks(writer, diffs)
    with db.read() as conn:
        rules = {r.cohortid: r for r in R.list_rules(conn)}
    assert rules[empty].drifted and rules[empty].joins > 0 and rules[empty].in_step_since is None
    assert rules[staff].checked_at is not None
    # The site now matches the rule (as if someone fixed it there and the sync brought it in).
    with writer.batch() as raw:
        raw.execute("INSERT INTO cohort_members (cohortid, userid) SELECT ?, id FROM users WHERE department = ?",
                    (empty, dept))
    with db.read() as conn:
        diffs = R.check_all(conn)
    R.record_checks(writer, diffs)
    with db.read() as conn:
        rule = R.rule_for_cohort(conn, empty)
    assert not rule.drifted and rule.in_step_since is not None


def test_unreadable_rules_and_rules_of_deleted_cohorts_are_named_not_crashed(synced):
    _server, _client, db, writer = synced
    cid = cohort_id(db, "Empty cohort")
    R.save_rule(writer, cid, dept_rule("Sales"))
    with writer.batch() as raw:
        raw.execute("INSERT INTO cohort_rules (cohortid, spec) VALUES (?, ?)", (424_242, "{not json"))
        raw.execute("DELETE FROM cohorts WHERE id = ?", (cid,))  # deleted on the site, swept by a sync
    with db.read() as conn:
        rules = R.list_rules(conn)
        diffs = {d.rule.cohortid: d for d in R.check_all(conn)}
    assert {r.cohortid for r in rules} == {cid, 424_242}
    assert "cannot be read" in diffs[424_242].problem
    assert "no longer on the site" in diffs[cid].problem
    assert diffs[cid].changes() == [C.Change("cohort.add_member", {"cohortid": cid, "userid": u}) for u in ()]
    R.record_checks(writer, list(diffs.values()))
    with db.read() as conn:
        assert all(r.joins is None for r in R.list_rules(conn))


def dept_cohort(db):
    """(cohort id, its department, member ids): the largest department cohort of the sandbox."""
    dept = department(db)
    cid = cohort_id(db, f"{dept} Department")
    return cid, dept, [r[0] for r in q(db, "SELECT userid FROM cohort_members WHERE cohortid = ? ORDER BY userid", cid)]


def test_an_add_only_rule_with_members_who_no_longer_match_is_not_called_in_step(synced):
    """QA: "In step: the cohort has exactly the 119 users the rule matches … 1 members do not match"."""
    _server, _client, db, writer = synced
    cid, dept, members = dept_cohort(db)
    other = q(db, "SELECT department FROM users WHERE department NOT IN ('', ?) LIMIT 1", dept)[0][0]
    R.save_rule(writer, cid, dept_rule(dept), remove_others=False)
    with db.read() as conn:
        in_step = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert not in_step.drifted and in_step.kept == 0
    assert in_step.summary() == f"In step: the cohort has exactly the {len(members):,} users the rule matches."
    with writer.batch() as raw:  # one member moved to another department (as a sync would bring it)
        raw.execute("UPDATE users SET department = ? WHERE id = ?", (other, members[0]))
    with db.read() as conn:
        one = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert one.joins == () and one.leaves == () and one.kept == 1
    assert one.summary() == "Nothing to add. 1 member does not match the rule and stays (removing is off)."
    assert "In step" not in one.summary() and "exactly" not in one.summary()
    with writer.batch() as raw:
        raw.execute("UPDATE users SET department = ? WHERE id = ?", (other, members[1]))
    with db.read() as conn:
        two = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert two.summary() == "Nothing to add. 2 members do not match the rule and stay (removing is off)."
    outsider = q(db, "SELECT id FROM users WHERE department = ? AND id > 3 LIMIT 1", other)[0][0]
    with writer.batch() as raw:  # a drifted add-only rule says the same about who stays
        raw.execute("UPDATE users SET department = ? WHERE id = ?", (dept, outsider))
    with db.read() as conn:
        drifted = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert drifted.summary() == "1 to add, 0 to remove; 2 members do not match the rule and stay (removing is off)."
    assert drifted.warning() == ""


def test_a_rule_that_matches_no_one_warns_before_it_empties_the_cohort(synced):
    """QA: "Department is Marketng" (typo) with removing on: 0 to add, 120 to remove, and no warning."""
    _server, _client, db, writer = synced
    cid, dept, members = dept_cohort(db)
    assert len(members) > 2
    R.save_rule(writer, cid, dept_rule(dept[:-2] + dept[-1]))  # a letter missing
    with db.read() as conn:
        typo = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert typo.matched == 0 and len(typo.leaves) == len(members) and typo.removes_everyone
    assert typo.needs_confirmation
    assert typo.warning() == (f"The rule matches no one: applying it removes all {len(members):,} members. Check "
                              "the values (a typo?) before you preview the changes.")
    R.save_rule(writer, cid, dept_rule(dept[:-2] + dept[-1]), remove_others=False)  # removes nobody: no gate
    with db.read() as conn:
        add_only = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert not add_only.needs_confirmation and "matches no one" in add_only.warning()


def test_a_rule_that_removes_more_than_half_the_members_warns_without_asking(synced):
    _server, _client, db, writer = synced
    dept = department(db)
    cid = cohort_id(db, "Empty cohort")
    one = q(db, "SELECT id FROM users WHERE department = ? LIMIT 1", dept)[0][0]
    outsiders = [r[0] for r in q(db, "SELECT id FROM users WHERE department <> ? AND id > 3 LIMIT 3", dept)]
    with writer.batch() as raw:
        raw.executemany("INSERT INTO cohort_members (cohortid, userid) VALUES (?, ?)",
                        [(cid, u) for u in (one, outsiders[0])])
    R.save_rule(writer, cid, dept_rule(dept))
    with db.read() as conn:
        half = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert len(half.leaves) == 1 and half.members == 2 and half.warning() == ""  # half is not more than half
    with writer.batch() as raw:
        raw.executemany("INSERT INTO cohort_members (cohortid, userid) VALUES (?, ?)",
                        [(cid, u) for u in outsiders[1:]])
    with db.read() as conn:
        most = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert not most.needs_confirmation
    assert most.warning().startswith("Applying the rule removes 3 of the cohort's 4 members (75 %).")


def test_a_rule_never_adds_nor_removes_the_guest_account(synced):
    """QA: a rule "department is not Sales" put the site's guest account into the cohort. Moodle's own
    user list and bulk actions leave the guest out; a rule neither adds it nor removes it (someone may
    have put it in the cohort on the site), and its counts say what applying it changes."""
    _server, _client, db, writer = synced
    guest = q(db, "SELECT id FROM users WHERE username = 'guest'")[0][0]
    dept = department(db)
    cid = cohort_id(db, "Empty cohort")
    others = {r[0] for r in q(db, "SELECT id FROM users WHERE department <> ? AND username <> 'guest'", dept)}
    R.save_rule(writer, cid, UserFilter(conditions=(Condition("profile", "is_not", dept, "department"),)))
    with db.read() as conn:
        diff = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert set(diff.joins) == others and guest not in diff.joins
    assert diff.matched == len(others) and guest not in {u.id for u in diff.join_sample}
    plan = C.plan_changes(db, diff.changes(), title=diff.title)
    assert plan.counts["apply"] == len(diff.joins)
    with writer.batch() as raw:  # the guest account put in the cohort on the site (as a sync brings it)
        raw.execute("INSERT INTO cohort_members (cohortid, userid) VALUES (?, ?)", (cid, guest))
    R.save_rule(writer, cid, dept_rule(dept))  # the guest matches neither rule: removing is on
    with db.read() as conn:
        strict = R.diff_rule(conn, R.rule_for_cohort(conn, cid))
    assert strict.leaves == () and strict.leave_sample == ()
    assert all(ch.data["userid"] != guest for ch in strict.changes())
