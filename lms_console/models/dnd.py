"""Drag and drop of users between panes: one MIME type, one payload format.

A drag of users carries ``application/x-lms-console-userids``: UTF-8 JSON, either

    {"version": 1, "ids": [42, 43, ...], "source": "users"}

when the dragged rows are known, or

    {"version": 1, "filter": {...UserFilter JSON...}, "count": 50000, "source": "users"}

when the admin selected everything a filter matches (a million rows are never listed on the GUI
thread: the drop target reads the ids off it). A plain-text copy of the ids rides along so a
drop into a text editor shows something useful.

Start a drag with :func:`user_ids_mime` (or :func:`user_filter_mime`); read one with
:func:`read_user_drag`. Bad payloads never raise out of a drop handler: :class:`UserDrag`
carries ``problem`` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from PySide6.QtCore import QByteArray, QMimeData

from lms_console.services.users_query import FilterError, UserFilter

USER_IDS_MIME = "application/x-lms-console-userids"
MAX_DRAG_IDS = 1_000_000
_TEXT_IDS = 2_000  # at most this many ids in the text/plain copy


@dataclass(frozen=True, slots=True)
class UserDrag:
    """What a drag of users carries: ids, or a filter whose ids are read later, or a problem."""

    ids: tuple[int, ...] = ()
    spec: UserFilter | None = None
    count: int = 0  # the users the filter matched when the drag started (for the label only)
    source: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and (bool(self.ids) or self.spec is not None)

    @property
    def size(self) -> int:
        return len(self.ids) if self.spec is None else self.count

    def label(self) -> str:
        n = self.size
        return f"{n:,} user{'s' if n != 1 else ''}"


def user_ids_mime(ids: Iterable[int], source: str = "") -> QMimeData:
    """A QMimeData for dragging these users (duplicates dropped, order kept)."""
    clean = list(dict.fromkeys(int(i) for i in ids))
    mime = QMimeData()
    body = {"version": 1, "ids": clean, "source": source}
    mime.setData(USER_IDS_MIME, QByteArray(json.dumps(body, separators=(",", ":")).encode("utf-8")))
    text = "\n".join(str(i) for i in clean[:_TEXT_IDS])
    mime.setText(text + ("\n…" if len(clean) > _TEXT_IDS else ""))
    return mime


def user_filter_mime(spec: UserFilter, count: int, source: str = "") -> QMimeData:
    """A QMimeData for dragging every user ``spec`` matches (``count`` of them when the drag starts)."""
    mime = QMimeData()
    body = {"version": 1, "filter": spec.to_json(), "count": int(count), "source": source}
    mime.setData(USER_IDS_MIME, QByteArray(json.dumps(body, separators=(",", ":")).encode("utf-8")))
    mime.setText(f"{count:,} users")
    return mime


def has_users(mime: QMimeData | None) -> bool:
    return mime is not None and mime.hasFormat(USER_IDS_MIME)


def read_user_drag(mime: QMimeData | None) -> UserDrag:
    """The users a drag carries; a payload that cannot be read gives ``problem`` (never raises)."""
    if not has_users(mime):
        return UserDrag(problem="The drag carries no users.")
    raw = bytes(mime.data(USER_IDS_MIME).data())
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return UserDrag(problem="The dragged users could not be read (the data is damaged).")
    if not isinstance(body, dict):
        return UserDrag(problem="The dragged users could not be read (unexpected data).")
    source = str(body.get("source") or "")
    if "filter" in body:
        try:
            spec = UserFilter.from_json(body["filter"])
        except FilterError as exc:
            return UserDrag(problem=f"The dragged filter cannot be used: {exc}", source=source)
        count = body.get("count")
        return UserDrag(spec=spec, count=count if isinstance(count, int) and count >= 0 else 0, source=source)
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        return UserDrag(problem="The dragged users could not be read (ids must be positive whole numbers).",
                        source=source)
    if not ids:
        return UserDrag(problem="The drag carries no users.", source=source)
    if len(ids) > MAX_DRAG_IDS:
        return UserDrag(problem=f"Too many users in one drag ({len(ids):,}); use a filter instead.", source=source)
    return UserDrag(ids=tuple(dict.fromkeys(ids)), source=source)


__all__ = ["MAX_DRAG_IDS", "USER_IDS_MIME", "UserDrag", "has_users", "read_user_drag", "user_filter_mime",
           "user_ids_mime"]
