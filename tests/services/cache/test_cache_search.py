"""Full-text user search (FTS5), its consistency under updates/deletes, and access history."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lms_console.services.cache import queries
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import Enrolment, User

PEOPLE = [
    User(2, "jgarcia", "José", "García", "jose.garcia@uni.example.org", idnumber="S100", department="Mathematics"),
    User(3, "lkowalski", "Łukasz", "Kowalski", "l.kowalski@mail.example.com", idnumber="S101", department="Physics"),
    User(4, "zmuller", "Zoë", "Müller", "zoe@example.org", department="Art & Design"),
    User(5, "obrien", "Siobhán", "O'Brien", "siobhan.obrien@uni.example.org", idnumber="T-77"),
    User(6, "jgarcia2", "Juan", "Garcia", "juan@example.org"),
]


@pytest.fixture(scope="module")
def search_db(tmp_path_factory) -> Iterator[CacheDb]:
    with CacheDb.open(Path(tmp_path_factory.mktemp("search")) / "c.sqlite") as db:
        with CacheWriter(db) as w:
            w.upsert_users(PEOPLE, 1)
        yield db


def find(db: CacheDb, text: str) -> list[int]:
    with db.read() as conn:
        return sorted(u.id for u in queries.search_users(conn, text, limit=100))


@pytest.mark.parametrize("text, ids", [
    ("jose", [2]),
    ("JOSÉ", [2]),
    ("garc", [2, 6]),  # prefix, accents folded both ways
    ("García", [2, 6]),
    ("łukasz", [3]),  # Ł is a letter of its own, not L with a diacritic (Unicode has no decomposition)
    ("muller", [4]),
    ("zoe", [4]),
    ("o'brien", [5]),
    ("siobhan", [5]),
    ("math", [2]),  # department
    ("S10", [2, 3]),  # idnumber prefix
    ("kowalski@mail", [3]),  # email pieces
    ("uni.example", [2, 5]),
    ("jo ga", [2]),  # every word must match
    ("nobody", []),
])
def test_search_matches_prefixes_accents_and_all_words(search_db, text, ids) -> None:
    assert find(search_db, text) == ids


@pytest.mark.parametrize("text", ['"', '""', "*", "-", ":", "a:b", '"unbalanced', "(", ")", "NEAR(a b)", "AND",
                                  "OR", "NOT", "^", "-jose", "jose*", "username:jose", "\x00", "   ", "'"])
def test_hostile_input_never_raises(search_db, text) -> None:
    with search_db.read() as conn:
        queries.search_users(conn, text)
        queries.count_search_users(conn, text)


def test_empty_query_lists_everyone_by_name(search_db) -> None:
    with search_db.read() as conn:
        users = queries.search_users(conn, "", limit=3, offset=1)
        assert queries.count_search_users(conn, " ") == len(PEOPLE)
    assert [u.lastname for u in users] == ["García", "Kowalski", "Müller"]  # after "Garcia"


def test_search_pages_with_limit_and_offset(search_db) -> None:
    with search_db.read() as conn:
        first = queries.search_users(conn, "example", limit=2, offset=0)
        rest = queries.search_users(conn, "example", limit=10, offset=2)
    assert len(first) == 2 and len(rest) == 3
    assert not {u.id for u in first} & {u.id for u in rest}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_safe_query(search_db, text) -> None:
    with search_db.read() as conn:
        queries.search_users(conn, text, limit=5)
        queries.count_search_users(conn, text)


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12))
def test_a_users_own_name_finds_them(tmp_path_factory, text) -> None:
    # Whatever the last name, searching for it finds that user (when the tokenizer saw any word in it).
    with CacheDb.open(Path(tmp_path_factory.mktemp("own")) / "c.sqlite") as db:
        with CacheWriter(db) as w:
            w.upsert_users([User(2, "u", lastname=text), User(3, "v", lastname="Other")], 1)
        with db.read() as conn:
            conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, users_fts, 'instance')")
            tokens = conn.exec_driver_sql("SELECT count(*) FROM temp.terms WHERE doc = 2 AND col = 'lastname'").scalar()
        if tokens:
            assert 2 in find(db, text)


def test_index_follows_updates_and_deletes(db, writer, dto) -> None:
    writer.upsert_users([dto.user(2, lastname="Smith"), dto.user(3, lastname="Jones")], 1)
    writer.upsert_users([dto.user(2, lastname="Smyth")], 2)
    assert find(db, "smith") == [] and find(db, "smyth") == [2]
    writer.delete_users([3])
    assert find(db, "jones") == []
    writer.upsert_users([dto.user(4, lastname="Jones")], 3)
    writer.sweep("users", 3)
    assert find(db, "jones") == [4] and find(db, "smyth") == []
    assert db.integrity_check() == []


def test_unchanged_resync_does_not_touch_the_index(db, writer, dto, sql) -> None:
    users = [dto.user(i, lastname=f"Name{i}") for i in range(2, 200)]
    writer.upsert_users(users, 1)
    before = sql.scalar("SELECT count(*) FROM users_fts_data")
    for run in range(2, 6):
        writer.upsert_users([dataclasses.replace(u, lastaccess=run) for u in users], run)  # not a searched column
    assert sql.scalar("SELECT count(*) FROM users_fts_data") == before
    assert db.integrity_check() == []


def test_site_access_history_is_appended_only_on_change(db, writer, dto, clock) -> None:
    writer.upsert_users([dto.user(2, lastaccess=100), dto.user(3, lastaccess=0)], 1)
    writer.upsert_users([dto.user(2, lastaccess=100), dto.user(3, lastaccess=0)], 2)
    clock.now += 3600
    writer.upsert_users([dto.user(2, lastaccess=200)], 3)
    writer.upsert_users([dto.user(2, lastaccess=100)], 4)  # a restored site going back: no duplicate
    with db.read() as conn:
        assert queries.access_history(conn, 2) == [(100, clock.now - 3600), (200, clock.now)]
        assert queries.access_history(conn, 3) == []


def test_course_access_history_from_enrolments(db, writer, dto) -> None:
    writer.upsert_courses([dto.course(10)], 1)
    writer.upsert_enrolments([Enrolment(10, 2, lastcourseaccess=50)], 1)
    writer.upsert_enrolments([Enrolment(10, 2, lastcourseaccess=50)], 2)
    writer.upsert_enrolments([Enrolment(10, 2, lastcourseaccess=None)], 3)  # not reported: kept, no entry
    writer.upsert_enrolments([Enrolment(10, 2, lastcourseaccess=80)], 4)
    with db.read() as conn:
        assert [a for a, _ in queries.access_history(conn, 2, 10)] == [50, 80]
        assert queries.access_history(conn, 2, 0) == []
