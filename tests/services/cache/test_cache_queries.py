"""Read-side queries used by the sync planner and the panes."""

from __future__ import annotations

import string
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lms_console.services.cache import queries
from lms_console.services.cache.db import CacheDb
from lms_console.services.cache.writer import CacheWriter
from lms_console.services.lms.base import User

EMAIL_CHARS = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.@"


def test_partition_counts_are_case_insensitive_and_any_length(writer, db, dto) -> None:
    emails = ["Ann@x.org", "anna@y.org", "bob@x.org", "_sys@x.org", "%odd@x.org", "", "a@b", "^hat@x.org"]
    writer.upsert_users([dto.user(i + 2, email=e) for i, e in enumerate(emails)], 1)
    with db.read() as conn:
        got = queries.partition_counts(conn, ["a", "an", "ANN", "b", "_", "%", "z", "a@", "", "@", "^"])
    # '@' is not '^' or '_' ('@' + 1 is 'A', which NOCASE compares as 'a')
    assert got == {"a": 3, "an": 2, "ANN": 2, "b": 1, "_": 1, "%": 1, "z": 0, "a@": 1, "": 8, "@": 0, "^": 1}


@settings(max_examples=25, deadline=None)
@given(emails=st.lists(st.text(EMAIL_CHARS, max_size=6), max_size=40),
       prefixes=st.lists(st.text(EMAIL_CHARS, min_size=1, max_size=3), max_size=10))
def test_partition_counts_match_a_brute_force_count(tmp_path_factory, emails, prefixes) -> None:
    with CacheDb.open(Path(tmp_path_factory.mktemp("parts")) / "c.sqlite") as db:
        with CacheWriter(db) as w:
            w.upsert_users([User(i + 2, f"u{i}", email=e) for i, e in enumerate(emails)], 1)
        with db.read() as conn:
            got = queries.partition_counts(conn, prefixes)
    for p in prefixes:
        assert got[p] == sum(e.lower().startswith(p.lower()) for e in emails), p


def test_search_by_relevance_and_by_name_find_the_same_users(writer, db, dto) -> None:
    writer.upsert_users([dto.user(2, lastname="Zed", email="smith@x.org"), dto.user(3, lastname="Smith"),
                         dto.user(4, lastname="Adams")], 1)
    with db.read() as conn:
        by_name = [u.id for u in queries.search_users(conn, "smith")]
        by_rank = [u.id for u in queries.search_users(conn, "smith", by_relevance=True)]
    assert by_name == [3, 2] and sorted(by_rank) == [2, 3]
