"""Errors of the local cache.

A :class:`CacheError` is an *expected* problem (a damaged or foreign file, a cache written by a
newer console): the GUI shows its message and hint inline and offers to rebuild the cache from the
LMS. It deliberately is not an ``LmsError``: nothing is wrong with the site.
"""

from __future__ import annotations


class CacheError(Exception):
    """The cache file cannot be used (or a write to it failed)."""

    default_hint = "Close the console, move the cache file away and synchronise again to rebuild it."

    def __init__(self, message: str, *, path: str = "", hint: str | None = None) -> None:
        self.message = message
        self.path = path
        self.hint = hint if hint is not None else self.default_hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} ({self.path})" if self.path else self.message

    def describe(self) -> str:
        return f"{self}\n{self.hint}" if self.hint else str(self)


class NotACacheFile(CacheError):
    """The file is not an SQLite database, or an SQLite database of another program."""

    default_hint = "Choose another cache location; the console never overwrites a file it did not create."


class NewerSchema(CacheError):
    """The cache was written by a newer version of the console; downgrading is not possible."""

    default_hint = (
        "Update the console, or move this cache file away to let this version build a fresh one "
        "(the newer version's cache cannot be downgraded)."
    )


class CorruptCache(CacheError):
    """SQLite reports damage (``quick_check`` failed or the file cannot be read)."""


class CacheWriteError(CacheError):
    """A write transaction failed and was rolled back; the cache holds the state before the call."""

    default_hint = "Nothing was half-written. Retry the synchronisation; if it keeps failing run the doctor."
