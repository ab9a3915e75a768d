"""The course-content upload queue: files, folders and links dropped onto a course section.

On Moodle a dropped file becomes a File resource, a folder a Folder activity and a link a URL
activity, through the public plugin ``local_sync_service`` after ``webservice/upload.php``.
The plugin has observed bugs (tests/fixtures/moodle-5.2/sync_service/README.md); the queue
guards against each of them (see :mod:`uploads_site`).

Shape of the work, per queued entry (one file, one folder or one link):

1. :func:`plan_drop` (any thread) turns what was dropped into rows: names cleaned, sizes and
   readability checked against the site's limit, the site's functions checked; what cannot go
   is ``refused`` with a message on its row, the rest ``queued``. Rows are stored in the cache
   (:mod:`uploads_store`), so nothing dropped is ever lost.
2. :func:`uploads_run.send_entry` (an HTTP thread): checks the section still exists on the
   site, then streams each file to the draft area (never read whole), with progress per file.
3. :func:`uploads_run.finish_entry` (the cache-writer thread): creates the activity, finds its
   real cmid, moves it after the activity it was dropped on, refreshes the course's contents
   in the cache and journals it; each state is committed before the next network step, so a
   crash is resolved on the next start by looking on the site, never by sending twice.

Why a queue of its own rather than change kinds: an upload is bytes from a local file, minutes
long, resumable only by sending again, with per-file progress and a draft area that lives
between two calls. The change engine plans small JSON changes and previews them before
anything is sent; here the queue *is* the preview (every row checked before a byte goes), and
each finished upload is written to the same journal (``origin = upload``) with its inverse
(delete the new activity), so it shows, exports and undoes like any other change.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from lms_console.services.lms.base import PLUGIN_OF_FUNCTION, SiteInfo
from lms_console.services.uploads_names import (
    LocalFileProblem,
    UrlRefused,
    activity_name,
    check_local_file,
    check_url,
    clean_filename,
    guess_mimetype,
    human_size,
    is_system_file,
    unique_name,
    url_activity_name,
)

MAX_FOLDER_FILES = 2000

F_RESOURCE = "local_course_add_new_course_module_resource"
F_DIRECTORY = "local_course_add_new_course_module_directory"
F_ADD_FILES = "local_course_add_files_to_directory"
F_URL = "local_course_add_new_course_module_url"
F_CONTENTS = "core_course_get_contents"
F_FORMAT = "core_courseformat_update_course"


class Kind(str, Enum):
    FILE = "file"  # -> a File resource
    FOLDER = "folder"  # -> a Folder activity; its files are CHILD rows
    CHILD = "child"  # one file of a folder
    URL = "url"  # -> a URL activity


class State(str, Enum):
    QUEUED = "queued"  # waiting (also: interrupted, will be sent again)
    UPLOADING = "uploading"  # bytes on their way (never persisted as final)
    UPLOADED = "uploaded"  # in the draft area, the activity not created yet
    CREATING = "creating"  # the create call went out; its answer not recorded yet
    DONE = "done"
    FAILED = "failed"  # the site or the link refused it: Retry
    REFUSED = "refused"  # never sent: bad input (empty, too big, unreadable, plugin missing)
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (State.DONE, State.FAILED, State.REFUSED, State.CANCELLED)

    @property
    def retryable(self) -> bool:
        return self in (State.FAILED, State.REFUSED, State.CANCELLED)


@dataclass(frozen=True, slots=True)
class UploadItem:
    """One row of the queue (a copy: the store and the models hand out new ones on change)."""

    id: int
    kind: Kind
    courseid: int
    sectionid: int
    name: str  # the activity's name; a child's file name
    state: State = State.QUEUED
    batch: str = ""
    parent: int | None = None
    after_cmid: int | None = None
    destination: str = ""
    source: str = ""  # local path, or the URL
    relpath: str = "/"
    filename: str = ""
    size: int = 0
    mimetype: str = ""
    visible: bool = True
    draft_itemid: int | None = None
    cmid: int | None = None
    contextid: int | None = None
    snapshot: tuple[int, ...] | None = None
    code: str = ""
    message: str = ""
    note: str = ""
    attempts: int = 0
    cleared: bool = False
    created_at: int = 0
    updated_at: int = 0

    @property
    def is_entry(self) -> bool:
        return self.kind != Kind.CHILD

    @property
    def sends_bytes(self) -> bool:
        return self.kind in (Kind.FILE, Kind.CHILD)

    def label(self) -> str:
        if self.kind == Kind.CHILD:
            return (self.relpath.strip("/") + "/" if self.relpath.strip("/") else "") + self.filename
        return self.name


@dataclass(frozen=True, slots=True)
class DropTarget:
    """Where a drop goes: a section (and, dropped on an activity, after that activity)."""

    courseid: int
    sectionid: int
    after_cmid: int | None = None
    destination: str = ""  # "CS101 › Topic 1", shown on the rows


@dataclass(frozen=True, slots=True)
class Dropped:
    """One thing dropped: a local path, or a link (with the title the browser sent, if any)."""

    path: str = ""
    url: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True)
class DropPlan:
    """Rows to store for one drop: (entry, its children) pairs, ids still 0."""

    entries: tuple[tuple[UploadItem, tuple[UploadItem, ...]], ...]
    refusal: str = ""  # the whole drop cannot go (the site lacks the plugin): why, and what to do

    @property
    def queued(self) -> int:
        return sum(1 for e, _c in self.entries if e.state == State.QUEUED)

    @property
    def refused(self) -> int:
        return sum(1 for e, _c in self.entries if e.state == State.REFUSED)


class UploadError(Exception):
    """An entry cannot go on (plain message for its row, the LMS's code when there is one)."""

    def __init__(self, message: str, *, code: str = "", refused: bool = False) -> None:
        super().__init__(message)
        self.message, self.code, self.refused = message, code, refused


# -- what the site must offer ---------------------------------------------------------------------

def functions_for(kind: Kind, *, placed: bool = False) -> tuple[str, ...]:
    needed = {Kind.FILE: (F_RESOURCE,), Kind.FOLDER: (F_DIRECTORY,), Kind.URL: (F_URL,),
              Kind.CHILD: (F_ADD_FILES,)}[kind]
    return needed + (F_CONTENTS,) + ((F_FORMAT,) if placed else ())


def site_refusal(kind: Kind, site: SiteInfo | None) -> str:
    """Why the site cannot take this kind of upload ("" when it can, or when not known yet)."""
    if site is None:
        return ""
    if kind != Kind.URL and not site.upload_allowed:
        return ("The site's web service does not allow file uploads. An administrator must tick "
                "“Can upload files” in Site administration › Server › Web services › External services "
                "› (the console's service) › Edit. Nothing was sent.")
    missing = [f for f in functions_for(kind) if f not in site.functions]
    if not missing:
        return ""
    plugin = [f for f in missing if f in PLUGIN_OF_FUNCTION]
    what = {Kind.FILE: "put a file into a course section", Kind.FOLDER: "create a Folder activity",
            Kind.URL: "create a URL activity", Kind.CHILD: "add files to a Folder"}[kind]
    if plugin:
        return (f"The site cannot {what} over web services: {', '.join(plugin)} "
                f"{'is' if len(plugin) == 1 else 'are'} missing. Moodle itself has no function for this; the site "
                "needs the plugin local_sync_service (MoodleSync/sync-plugin, version 2024061800 or later) "
                "installed, and its functions added to the console's external service (Site administration › "
                "Server › Web services › External services › Functions). Nothing was sent.")
    return (f"The console's web service lacks {', '.join(missing)}: add it in Site administration › Server › "
            "Web services › External services › Functions. Nothing was sent.")


def size_limit(site: SiteInfo | None) -> int | None:
    """The site's per-file limit in bytes, None when there is none (-1) or it is not known (0)."""
    if site is None or site.max_upload_bytes <= 0:
        return None
    return site.max_upload_bytes


# -- planning a drop ----------------------------------------------------------------------------------

def plan_drop(dropped: Sequence[Dropped], target: DropTarget, site: SiteInfo | None, *, visible: bool = True,
              batch: str | None = None, now: float | None = None) -> DropPlan:
    """Rows for what was dropped; every problem is a message on its own row, never a silent skip."""
    batch = batch or uuid.uuid4().hex[:12]
    stamp = int(now or time.time())
    base = dict(batch=batch, courseid=target.courseid, sectionid=target.sectionid, after_cmid=target.after_cmid,
                destination=target.destination, visible=visible, created_at=stamp, updated_at=stamp)
    limit = size_limit(site)
    entries: list[tuple[UploadItem, tuple[UploadItem, ...]]] = []
    refusals: set[str] = set()
    for thing in dropped:
        if thing.url:
            entry = _plan_url(thing, base)
            kids: tuple[UploadItem, ...] = ()
        elif os.path.isdir(thing.path):
            entry, kids = _plan_folder(thing.path, base, limit)
        else:
            entry, kids = _plan_file(thing.path, base, limit), ()
        refusal = site_refusal(entry.kind, site) if entry.state == State.QUEUED else ""
        if refusal:
            refusals.add(refusal)
            entry = replace(entry, state=State.REFUSED, code="pluginmissing", message=refusal)
            kids = tuple(replace(k, state=State.REFUSED, code="pluginmissing", message=refusal)
                         if k.state == State.QUEUED else k for k in kids)
        entries.append((entry, kids))
    return DropPlan(tuple(entries), "\n\n".join(sorted(refusals)))


def _plan_url(thing: Dropped, base: dict) -> UploadItem:
    try:
        url = check_url(thing.url)
    except UrlRefused as exc:
        return UploadItem(0, Kind.URL, name=activity_name(thing.title or thing.url), source=thing.url[:2048],
                          state=State.REFUSED, code="badurl", message=str(exc), **base)
    return UploadItem(0, Kind.URL, name=url_activity_name(url, thing.title), source=url, **base)


def _plan_file(path: str, base: dict, limit: int | None) -> UploadItem:
    clean = clean_filename(os.path.basename(path.rstrip("/\\")) or path)
    item = UploadItem(0, Kind.FILE, name=activity_name(clean.value, strip_extension=True), source=path,
                      filename=clean.value, mimetype=guess_mimetype(clean.value), note=clean.note, **base)
    try:
        return replace(item, size=check_local_file(path, limit=limit))
    except LocalFileProblem as exc:
        size = _size_or_zero(path)
        return replace(item, size=size, state=State.REFUSED, code="localfile", message=str(exc))


def _plan_folder(path: str, base: dict, limit: int | None) -> tuple[UploadItem, tuple[UploadItem, ...]]:
    folder_name = os.path.basename(os.path.normpath(path)) or path
    entry = UploadItem(0, Kind.FOLDER, name=activity_name(folder_name), source=path, **base)
    kids: list[UploadItem] = []
    skipped: list[str] = []
    taken: dict[str, set[str]] = {}
    too_many = False
    for root, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        rel = os.path.relpath(root, path)
        relpath = "/" if rel in (".", "") else "/" + "/".join(
            clean_filename(part).value for part in rel.split(os.sep)) + "/"
        for name in sorted(files):
            if is_system_file(name):
                skipped.append(name)
                continue
            if len(kids) >= MAX_FOLDER_FILES:
                too_many = True
                break
            clean = clean_filename(name)
            filename = unique_name(clean.value, taken.setdefault(relpath, set()))
            note = clean.note if filename == clean.value else f"Sent as “{filename}” (another file has that name)."
            full = os.path.join(root, name)
            kid = UploadItem(0, Kind.CHILD, name=filename, source=full, relpath=relpath, filename=filename,
                             mimetype=guess_mimetype(filename), note=note, **base)
            try:
                kid = replace(kid, size=check_local_file(full, limit=limit))
            except LocalFileProblem as exc:
                kid = replace(kid, size=_size_or_zero(full), state=State.REFUSED, code="localfile",
                              message=str(exc))
            kids.append(kid)
        if too_many:
            break
    notes = []
    if skipped:
        notes.append(f"Left out {len(skipped)} system file(s) ({', '.join(sorted(set(skipped))[:3])}).")
    entry = replace(entry, size=sum(k.size for k in kids if k.state == State.QUEUED), note=" ".join(notes))
    if too_many:
        return replace(entry, state=State.REFUSED, code="toomanyfiles",
                       message=f"The folder holds more than {MAX_FOLDER_FILES:,} files: upload its sub-folders "
                               "one by one, or a zip file. Nothing was sent."), ()
    if not kids:
        return replace(entry, state=State.REFUSED, code="emptyfolder",
                       message="The folder holds no files (empty folders cannot be uploaded)."), ()
    if all(k.state == State.REFUSED for k in kids):
        return replace(entry, state=State.REFUSED, code="localfile",
                       message="None of the folder's files can be uploaded (see each file)."), tuple(kids)
    return entry, tuple(kids)


def _size_or_zero(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# -- live progress (shared between the sending thread and the GUI) -------------------------------------

@dataclass(slots=True)
class _Live:
    sent: int = 0
    total: int = 0
    started: float = 0.0
    samples: deque = field(default_factory=lambda: deque(maxlen=64))


class LiveProgress:
    """Bytes sent per row, with speed over the last few seconds. Thread-safe; the sending
    thread writes, the GUI reads on a timer (no signal per chunk)."""

    WINDOW_S = 3.0

    def __init__(self, clock=time.monotonic) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, _Live] = {}
        self._clock = clock
        self.version = 0

    def start(self, item_id: int, total: int) -> None:
        with self._lock:
            now = self._clock()
            self._rows[item_id] = _Live(0, total, now, deque([(now, 0)], maxlen=64))
            self.version += 1

    def update(self, item_id: int, sent: int) -> None:
        with self._lock:
            live = self._rows.get(item_id)
            if live is None:
                return
            live.sent = sent
            now = self._clock()
            if not live.samples or now - live.samples[-1][0] >= 0.05:
                live.samples.append((now, sent))
            self.version += 1

    def forget(self, item_id: int) -> None:
        with self._lock:
            self._rows.pop(item_id, None)
            self.version += 1

    def snapshot(self) -> dict[int, tuple[int, int, float]]:
        """item id -> (sent, total, bytes per second over the last few seconds)."""
        now = self._clock()
        with self._lock:
            out = {}
            for item_id, live in self._rows.items():
                recent = [s for s in live.samples if now - s[0] <= self.WINDOW_S] or list(live.samples)[-1:]
                first = recent[0]
                span = max(now - first[0], 1e-3)
                out[item_id] = (live.sent, live.total, max(live.sent - first[1], 0) / span)
            return out


def describe_total(items: Sequence[UploadItem], live: dict[int, tuple[int, int, float]]) -> tuple[int, int, float]:
    """(bytes sent, bytes to send, current speed) over the rows that send bytes and are still wanted."""
    sent = total = 0
    speed = 0.0
    for item in items:
        if not item.sends_bytes or item.state in (State.REFUSED, State.CANCELLED, State.FAILED):
            continue
        total += item.size
        if item.state in (State.UPLOADED, State.CREATING, State.DONE):
            sent += item.size
        elif item.id in live:
            sent += min(live[item.id][0], item.size)
            speed += live[item.id][2]
    return sent, total, speed


__all__ = ["DropPlan", "DropTarget", "Dropped", "Kind", "LiveProgress", "State", "UploadError", "UploadItem",
           "describe_total", "functions_for", "human_size", "plan_drop", "site_refusal", "size_limit"]
