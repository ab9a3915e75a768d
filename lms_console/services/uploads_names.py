"""What may be sent as a file name, an activity name or a URL, and what a local file must be.

Moodle keeps file names with ``clean_param(PARAM_FILE)``: it *drops* path separators,
control characters and ``& < > " ` | ' :`` silently, so "Week 1/Intro.pdf" would arrive as
"Week 1Intro.pdf". The console cleans names itself first, replacing rather than dropping, and
tells the admin what it changed (a note on the row) instead of letting the site do it quietly.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from lms_console.services.units import human_size  # also taken from here by the content models
from lms_console.services.user_errors import UserError

# files.filename and resource/folder/url names are 255 characters in Moodle's schema.
MAX_NAME_CHARS = 255
# Never useful in a course, added by desktops (and invisible in their file managers).
SYSTEM_FILES = frozenset({".ds_store", "thumbs.db", "desktop.ini", "._.ds_store", ".localized", "icon\r"})
URL_SCHEMES = ("http", "https", "ftp", "ftps", "mailto")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SEPARATORS = re.compile(r"[/\\]")
_PARAM_FILE = re.compile(r"[&<>\"`|':*?]")  # what PARAM_FILE (or Windows) would drop or reject
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CleanName:
    """A name as it will be sent, and why it differs from the original ("" when it does not)."""

    value: str
    note: str = ""


def clean_filename(raw: str) -> CleanName:
    """A file name Moodle stores unchanged: no separators, control characters or PARAM_FILE
    specials, NFC-normalised (macOS hands out decomposed names), at most 255 characters with
    its extension kept."""
    name = unicodedata.normalize("NFC", raw)
    reasons = []
    if _CONTROL.search(name):
        reasons.append("control characters removed")
        name = _CONTROL.sub("", name)
    if _SEPARATORS.search(name):
        reasons.append("path separators replaced")
        name = _SEPARATORS.sub("_", name)
    if _PARAM_FILE.search(name):
        reasons.append("characters Moodle drops (& < > \" ` | ' : * ?) replaced")
        name = _PARAM_FILE.sub("_", name)
    name = name.strip()  # invisible at the ends, and file managers trim them too
    if len(name) > MAX_NAME_CHARS:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: MAX_NAME_CHARS - len(ext)].rstrip() + ext
        reasons.append(f"shortened to {MAX_NAME_CHARS} characters")
    if not name or name in (".", ".."):
        name = "file"
        reasons.append("nothing usable was left of the name")
    shown = name if len(name) <= 60 else name[:40] + "…" + name[-12:]
    note = f"Sent as “{shown}” ({'; '.join(reasons)})." if reasons else ""
    return CleanName(name, note)


def activity_name(raw: str, *, strip_extension: bool = False) -> str:
    """An activity name: one line, no control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", raw)
    if strip_extension:
        stem, ext = os.path.splitext(name)
        name = stem if stem.strip() and len(ext) <= 8 else name
    name = _SPACES.sub(" ", _CONTROL.sub(" ", name)).strip()
    if len(name) > MAX_NAME_CHARS:
        name = name[: MAX_NAME_CHARS - 1].rstrip() + "…"
    return name or "Untitled"


def unique_name(name: str, taken: set[str]) -> str:
    """``name`` or "name (2).ext"... so two cleaned names never collide in one draft folder."""
    if name.lower() not in taken:
        taken.add(name.lower())
        return name
    stem, ext = os.path.splitext(name)
    n = 2
    while f"{stem} ({n}){ext}".lower() in taken:
        n += 1
    result = f"{stem} ({n}){ext}"
    taken.add(result.lower())
    return result


def guess_mimetype(filename: str) -> str:
    return mimetypes.guess_type(filename, strict=False)[0] or "application/octet-stream"


def is_system_file(filename: str) -> bool:
    return filename.lower() in SYSTEM_FILES or filename.startswith("._")


class UrlRefused(UserError, ValueError):
    """A URL that must not become a course activity (with the reason as its message)."""


def check_url(raw: str) -> str:
    """The URL to store, or :class:`UrlRefused` saying why not (``javascript:`` and friends run
    code in every student's browser; the plugin would accept them)."""
    url = _CONTROL.sub("", raw).strip()
    if not url:
        raise UrlRefused("The URL is empty.")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme in ("javascript", "vbscript", "data", "file", "blob"):
        raise UrlRefused(f"“{scheme}:” links are refused: they would run code or point at a file on "
                         "this computer in every student's browser.")
    if scheme not in URL_SCHEMES:
        raise UrlRefused(f"Only web links ({', '.join(s + ':' for s in URL_SCHEMES)}) can become a URL "
                         f"activity, not “{scheme or url[:40]}”.")
    parts = urlsplit(url)
    if scheme != "mailto" and not parts.hostname:
        raise UrlRefused("The URL has no host name.")
    if len(url) > 2048:
        raise UrlRefused("The URL is longer than 2,048 characters.")
    return url


def url_activity_name(url: str, title: str = "") -> str:
    """The name of a dropped link: the page title the browser sent, else host and path."""
    if title.strip() and title.strip() != url:
        return activity_name(title)
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        return activity_name(parts.path)
    text = (parts.hostname or "") + (parts.path.rstrip("/") if parts.path not in ("", "/") else "")
    return activity_name(text or url)


class LocalFileProblem(UserError, ValueError):
    """A local file that cannot be sent, with a plain message."""


def check_local_file(path: str, *, limit: int | None = None) -> int:
    """Size of a regular, readable, non-empty file within ``limit`` bytes (None/<=0: no limit)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise LocalFileProblem("The file no longer exists on this computer.") from None
    except OSError as exc:
        raise LocalFileProblem(f"The file cannot be read: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise LocalFileProblem("This is not a regular file (a device, pipe or socket cannot be uploaded).")
    if st.st_size == 0:
        raise LocalFileProblem("The file is empty (0 bytes): there is nothing to upload.")
    if limit is not None and limit > 0 and st.st_size > limit:
        raise LocalFileProblem(f"The file is {human_size(st.st_size)}; the site accepts at most "
                               f"{human_size(limit)} per file. Nothing was sent.")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise LocalFileProblem(f"The file cannot be read: {exc.strerror or exc}.") from None
    return st.st_size
