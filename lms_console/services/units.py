"""Sizes of files in plain words, the same everywhere in the console ("293 KiB", "64 MiB").

Binary units (1 KiB = 1,024 bytes), labelled as such: Moodle counts its upload limits in them (its
"64MB" is 67,108,864 bytes, so the limit reads "64 MiB" here, not "67.1 MB") and the file picker shows
KiB too, so the sizes the admin compares match those the site and the picker give.
"""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB")


def human_size(n: float) -> str:
    """``1,000 bytes``, ``293 KiB`` (300,000 bytes), ``1.5 MiB``: one decimal at most, none when it is 0."""
    if n < 1024:
        return "1 byte" if n == 1 else f"{int(n):,} bytes"
    value, i = n / 1024, 0
    while round(value, 1) >= 1024 and i < len(_UNITS) - 1:
        value, i = value / 1024, i + 1
    return f"{value:,.1f}".removesuffix(".0") + " " + _UNITS[i]
