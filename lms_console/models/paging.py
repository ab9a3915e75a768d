"""PageCache: the rows of a long query, kept a page at a time, for the lazy table models.

A view asks for the cells it paints; the model answers from the pages it has read and asks for
the others (``want``), which it reads off the GUI thread in one job per turn of the event loop
(``take_wanted``) and stores when they come (``store``). At most ``max_pages`` pages stay in memory:
the least recently stored go first, except page 0 ("Home" must be instant).

Plain Python (no Qt): the models own the timers, the jobs and the generations of their queries.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any


class PageCache:
    def __init__(self, size: int, max_pages: int) -> None:
        if size < 1 or max_pages < 2:
            raise ValueError("a page holds at least 1 row, and at least 2 pages are kept (page 0 and one more)")
        self.size = size
        self.max_pages = max_pages
        self.pages: OrderedDict[int, list] = OrderedDict()  # page number -> its rows
        self.wanted: set[int] = set()  # asked for since the last take_wanted()
        self.pending: set[int] = set()  # being read

    def reset(self, first: list | None = None) -> None:
        """Forget every page and request; ``first``: page 0 of a new query."""
        self.pages.clear()
        self.forget_requests()
        if first is not None:
            self.pages[0] = first

    def forget_requests(self) -> None:
        """Drop what was asked for or is being read (the query changed: those answers are void)."""
        self.wanted.clear()
        self.pending.clear()

    def get(self, row: int) -> Any:
        """The record of ``row`` if its page is here, else None."""
        page = self.pages.get(row // self.size)
        if page is None:
            return None
        offset = row % self.size
        return page[offset] if offset < len(page) else None

    def want(self, row: int) -> bool:
        """Ask for the page of ``row``; True when that is a new request."""
        page = row // self.size
        if page in self.pending or page in self.pages or page in self.wanted:
            return False
        self.wanted.add(page)
        return True

    def take_wanted(self, most: int | None = None) -> list[int]:
        """The pages asked for (the first ``most`` of them, in order), now pending; the rest are
        dropped: a fast scroll asks again for what it still shows."""
        pages = sorted(self.wanted)[:most]
        self.wanted.clear()
        self.pending.update(pages)
        return pages

    def store(self, page: int, rows: list) -> tuple[int, int]:
        """Keep ``rows`` as ``page`` (the least recently stored pages beyond ``max_pages`` go, page 0
        stays); returns the first row and the number of rows stored."""
        self.pending.discard(page)
        self.pages[page] = rows
        self.pages.move_to_end(page)
        while len(self.pages) > self.max_pages:
            oldest = next(k for k in self.pages if k != 0)
            del self.pages[oldest]
        return page * self.size, len(rows)

    def loaded(self) -> Iterator[tuple[int, Any]]:
        """(row, record) of every row in memory, by page as stored."""
        for page, rows in self.pages.items():
            first = page * self.size
            for i, rec in enumerate(rows):
                yield first + i, rec


__all__ = ["PageCache"]
