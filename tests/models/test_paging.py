"""PageCache: what the lazy table models keep of a long query, and what they ask for."""

from __future__ import annotations

import pytest

from lms_console.models.paging import PageCache


def test_rows_come_from_their_page_and_missing_ones_are_asked_for_once():
    c = PageCache(size=10, max_pages=3)
    c.reset(list(range(10)))
    assert c.get(0) == 0 and c.get(9) == 9
    assert c.get(10) is None and c.get(25) is None
    assert c.want(10) and not c.want(15)  # page 1, asked once
    assert c.want(25) and not c.want(3)  # page 2; page 0 is here
    assert c.take_wanted(most=1) == [1]  # the rest are dropped: the view asks again for what it shows
    assert c.wanted == set() and c.pending == {1}
    assert not c.want(12)  # being read
    first, n = c.store(1, list(range(10, 17)))  # a short last page
    assert (first, n) == (10, 7) and c.pending == set()
    assert c.get(16) == 16 and c.get(17) is None
    assert [row for row, _rec in c.loaded()] == list(range(17))


def test_at_most_max_pages_stay_and_page_0_is_never_the_one_to_go():
    c = PageCache(size=2, max_pages=3)
    c.reset(["a", "b"])
    for page in range(1, 6):
        c.store(page, [page * 2, page * 2 + 1])
    assert list(c.pages) == [0, 4, 5]
    c.store(4, ["again", "x"])  # stored again: the most recent now
    c.store(6, [12, 13])
    assert list(c.pages) == [0, 4, 6] and c.get(8) == "again"


def test_a_new_query_forgets_pages_and_requests():
    c = PageCache(size=5, max_pages=4)
    c.reset([1, 2, 3])
    c.want(7)
    c.take_wanted()
    c.want(12)
    c.reset()
    assert not c.pages and not c.wanted and not c.pending and c.get(0) is None
    c.reset([9])
    c.want(5)
    c.forget_requests()
    assert c.get(0) == 9 and not c.wanted and not c.pending


@pytest.mark.parametrize("size, max_pages", [(0, 5), (10, 1)])
def test_nonsense_sizes_are_refused(size, max_pages):
    with pytest.raises(ValueError):
        PageCache(size, max_pages)
