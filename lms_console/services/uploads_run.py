"""Running one queued upload: :func:`send_entry` streams its bytes (an HTTP thread, no cache
writes), :func:`finish_entry` creates the activity and records everything (the writer thread).

:class:`UploadQueue` runs both steps one entry after another in the calling thread, for the
CLI, the tests and the benchmark; the GUI runs the same two steps as TaskRunner jobs
(``models/uploads_model.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lms_console.services import uploads_site as site_ops
from lms_console.services import uploads_store as store
from lms_console.services.lms.base import PLUGIN_OF_FUNCTION, SiteInfo
from lms_console.services.lms.errors import (
    ApiRejected,
    AuthExpired,
    Cancelled,
    FunctionNotAvailable,
    LmsError,
    OutcomeUnknown,
    Unreachable,
)
from lms_console.services.progress import NEVER_CANCELLED, CancelToken
from lms_console.services.uploads import (
    F_ADD_FILES,
    F_DIRECTORY,
    F_RESOURCE,
    F_URL,
    Dropped,
    DropPlan,
    DropTarget,
    Kind,
    LiveProgress,
    State,
    UploadError,
    UploadItem,
    human_size,
    plan_drop,
    site_refusal,
    size_limit,
)
from lms_console.services.uploads_names import LocalFileProblem, check_local_file

UPLOAD_TRIES = 2  # a dropped link while sending to the draft area: sent once more (drafts are harmless)
RETRY_PAUSE_S = 1.0


@dataclass(frozen=True, slots=True)
class FileSent:
    item_id: int
    ok: bool
    itemid: int = 0
    filesize: int = 0
    code: str = ""
    message: str = ""
    refused: bool = False


@dataclass(frozen=True, slots=True)
class SendResult:
    """What sending one entry did. ``wait`` set: the site did not answer or refused the token;
    nothing changed and the queue should wait. ``error`` set: the entry cannot go on."""

    entry_id: int
    files: tuple[FileSent, ...] = ()
    error: UploadError | None = None
    wait: LmsError | None = None


class RequestCap:
    """The web server's cap on a request's size, as its 413 answers teach it.

    Moodle reports its own per-file limit (checked before sending), but not the web server's
    (nginx ``client_max_body_size``, PHP ``post_max_size``): a file over that cap is sent whole,
    then refused. After the first refusal, a later file at least as big fails at once instead of
    being sent whole too (ten 2 GB videos would each take minutes). Smaller files are still tried.
    ``forget()`` when the admin retries: the server's limit may have been raised meanwhile."""

    def __init__(self) -> None:
        self.refused: int | None = None  # the smallest file size answered with 413

    def learn(self, size: int) -> None:
        self.refused = size if self.refused is None else min(self.refused, size)

    def too_big(self, size: int) -> bool:
        return self.refused is not None and size >= self.refused

    def forget(self) -> None:
        self.refused = None


class SiteWaiting(Exception):
    """Raised by :meth:`UploadQueue.run` when the site stops answering: the rest waits."""

    def __init__(self, error: LmsError) -> None:
        super().__init__(str(error))
        self.error = error


# -- step 1: bytes (any HTTP thread) ---------------------------------------------------------------------

def to_send(entry: UploadItem, children: Sequence[UploadItem]) -> list[UploadItem]:
    """The rows of an entry whose bytes go now: the file itself, or the folder's children still waiting."""
    if entry.kind == Kind.FILE:
        return [entry] if entry.state in (State.QUEUED, State.UPLOADING) else []
    if entry.kind == Kind.FOLDER:
        return [c for c in children if c.state in (State.QUEUED, State.UPLOADING)]
    return []


def send_entry(client, entry: UploadItem, children: Sequence[UploadItem], *, site: SiteInfo | None = None,
               live: LiveProgress | None = None, cancel: CancelToken = NEVER_CANCELLED,
               on_checked: Callable[[], None] | None = None, cap: RequestCap | None = None) -> SendResult:
    """Check the target on the site, then stream the entry's files into a draft area.

    ``cap``: what earlier entries learnt of the web server's request cap (kept by the caller)."""
    try:
        refusal = site_refusal(entry.kind if entry.cmid is None else Kind.CHILD, site)
        if refusal:
            raise UploadError(refusal, code="pluginmissing", refused=True)
        course = site_ops.read_course(client, entry.courseid, cancel)
        course.section_number(entry.sectionid)
        if entry.kind == Kind.FOLDER and entry.cmid is not None and course.module(entry.cmid) is None:
            raise UploadError("The Folder was deleted on the site meanwhile: the files were not added.",
                              code="nofolder")
    except UploadError as exc:
        return SendResult(entry.id, error=exc)
    except (Unreachable, AuthExpired) as exc:
        return SendResult(entry.id, wait=exc)
    except ApiRejected as exc:
        return SendResult(entry.id, error=rejected(exc))
    if on_checked is not None:
        on_checked()
    results: list[FileSent] = []
    # A folder's files share one draft item; files retried after the folder exists get a new one.
    shared = entry.draft_itemid if entry.kind == Kind.FOLDER and entry.cmid is None else None
    limit = size_limit(site)
    for item in to_send(entry, children):
        cancel.raise_if_cancelled()
        try:
            sent = _send_file(client, item, shared or 0, limit, live, cancel, cap or RequestCap())
        except (Unreachable, AuthExpired) as exc:
            if isinstance(exc, OutcomeUnknown):
                results.append(FileSent(item.id, False, code="linkdropped", message=_dropped_message(exc)))
                continue
            return SendResult(entry.id, tuple(results), wait=exc)
        results.append(sent)
        if sent.ok and entry.kind == Kind.FOLDER:
            shared = sent.itemid
    return SendResult(entry.id, tuple(results))


def rejected(exc: ApiRejected) -> UploadError:
    """An entry's error from the site's refusal, in words that say what to do."""
    if exc.function in PLUGIN_OF_FUNCTION and (isinstance(exc, FunctionNotAvailable) or exc.code in (
            "invalidrecordunknown", "accessexception")):
        return UploadError(f"The site no longer offers {exc.function}: the plugin local_sync_service was removed, or "
                           "its functions were taken out of the console's web service. Nothing was created; once "
                           "the site has it again, Retry.", code="pluginmissing")
    hint = exc.hint if exc.hint and exc.hint != ApiRejected.default_hint else ""
    return UploadError(f"{exc.message} [{exc.code}] {hint}".strip() if exc.code else f"{exc.message} {hint}".strip(),
                       code=exc.code)


def _dropped_message(exc: LmsError) -> str:
    return ("The connection to the site dropped while this file was being sent, twice; nothing was added to the "
            f"course. Retry sends it again. ({exc.message})")


def _send_file(client, item: UploadItem, itemid: int, limit: int | None, live: LiveProgress | None,
               cancel: CancelToken, cap: RequestCap) -> FileSent:
    try:
        size = check_local_file(item.source, limit=limit)
    except LocalFileProblem as exc:
        return FileSent(item.id, False, code="localfile", message=str(exc), refused=True)
    if cap.too_big(size):
        return FileSent(item.id, False, code="http413", message=(
            f"Not sent: the web server refused a file of {human_size(cap.refused or 0)} a moment ago as larger than "
            f"it accepts, and this one is {human_size(size)}. Upload smaller files, or raise the server's upload "
            "limits (PHP post_max_size, nginx client_max_body_size), then Retry."))
    filepath = item.relpath if item.kind == Kind.CHILD else "/"
    for attempt in range(1, UPLOAD_TRIES + 1):
        if live is not None:
            live.start(item.id, size)
        try:
            with open(item.source, "rb") as stream:
                answer = client.upload([(item.filename, stream, item.mimetype)], itemid=itemid, filepath=filepath,
                                       cancel=cancel,
                                       progress=(lambda n, i=item.id: live.update(i, n)) if live else None)
        except OSError as exc:
            return FileSent(item.id, False, code="localfile", message=f"Reading the file failed: {exc.strerror or exc}.")
        except OutcomeUnknown:
            if attempt == UPLOAD_TRIES or cancel.wait(RETRY_PAUSE_S):
                raise
            continue
        except Cancelled:
            raise
        except ApiRejected as exc:
            if exc.code == "http413":
                cap.learn(size)
            err = rejected(exc)
            return FileSent(item.id, False, code=exc.code or "rejected", message=err.message)
        entry = answer[0] if answer else None
        if entry is None:
            return FileSent(item.id, False, code="badresponse", message="webservice/upload.php answered with no file.")
        if entry.errortype == "filenameexist" and attempt > 1 and itemid:
            # The earlier try reached the site after all (its answer was lost): the file is there.
            return FileSent(item.id, True, itemid, size)
        if not entry.ok:
            why = {"fileoversized": "The site refused this file: it is larger than the site's maximum upload size."}
            return FileSent(item.id, False, code=entry.errortype,
                            message=why.get(entry.errortype, f"The site refused this file: {entry.error}."))
        if entry.filesize <= 0:
            return FileSent(item.id, False, code="emptydraft", message="The site stored the file empty (0 bytes).")
        return FileSent(item.id, True, entry.itemid, entry.filesize)
    raise AssertionError("unreachable")


# -- step 2: the activity (writer thread) ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Finished:
    entry: UploadItem
    children: tuple[UploadItem, ...]
    changed: bool = False  # the course's contents changed (and were refreshed in the cache)
    wait: LmsError | None = None


def record_send(writer, entry: UploadItem, children: Sequence[UploadItem], sent: SendResult
                ) -> tuple[UploadItem, list[UploadItem]]:
    """Store what sending did (uploaded / failed / refused per file; the entry's error)."""
    by_id = {f.item_id: f for f in sent.files}
    rows = [entry, *children]
    out = []
    for row in rows:
        f = by_id.get(row.id)
        if f is not None:
            if f.ok:
                row = replace(row, state=State.UPLOADED, draft_itemid=f.itemid, code="", message="",
                              attempts=row.attempts + 1)
            else:
                row = replace(row, state=State.REFUSED if f.refused else State.FAILED, code=f.code,
                              message=f.message, attempts=row.attempts + 1)
        out.append(row)
    entry, kids = out[0], out[1:]
    if sent.error is not None:
        state = State.REFUSED if sent.error.refused else State.FAILED
        if entry.kind == Kind.FOLDER and entry.cmid is not None:
            entry = replace(entry, state=State.DONE)  # the Folder exists; only the files waiting failed
        else:
            entry = replace(entry, state=state, code=sent.error.code, message=sent.error.message)
        kids = [replace(k, state=state, code=sent.error.code, message=sent.error.message)
                if k.state in (State.QUEUED, State.UPLOADING, State.UPLOADED) else k for k in kids]
    elif entry.kind == Kind.FOLDER and entry.cmid is None:
        stored = [k for k in kids if k.state == State.UPLOADED]
        if stored:
            entry = replace(entry, state=State.UPLOADED, draft_itemid=stored[0].draft_itemid, code="", message="")
        elif not any(k.state in (State.QUEUED, State.UPLOADING) for k in kids):
            entry = replace(entry, state=State.FAILED, code="nofiles",
                            message="None of the folder's files reached the site: nothing was created.")
    saved = store.save(writer, [entry, *kids])
    return saved[0], saved[1:]


def finish_entry(client, writer, entry: UploadItem, children: Sequence[UploadItem], *, profile: str = "",
                 lms_user: str = "", cancel: CancelToken = NEVER_CANCELLED) -> Finished:
    """Create the activity for an uploaded entry (or resolve an interrupted create) and record it."""
    kids = list(children)
    try:
        if entry.kind == Kind.FOLDER and entry.cmid is not None:
            return _add_to_folder(client, writer, entry, kids, profile, lms_user, cancel)
        if entry.state not in (State.UPLOADED, State.CREATING) and not (
                entry.kind == Kind.URL and entry.state == State.QUEUED):
            return Finished(entry, tuple(kids))
        course = site_ops.read_course(client, entry.courseid, cancel)
        course.section_number(entry.sectionid)
        module = None
        if entry.state == State.CREATING:
            module = _created(course, entry)
            if module is None and entry.kind != Kind.URL:
                # Not on the site: its draft may be old; send the bytes again rather than trust it.
                entry = store.save(writer, [replace(entry, state=State.QUEUED, snapshot=None, draft_itemid=None,
                                                    message="The last attempt did not reach the site: sending "
                                                            "it again.")])[0]
                kids = store.save(writer, [replace(k, state=State.QUEUED, draft_itemid=None)
                                           if k.state in (State.UPLOADED, State.CREATING) else k for k in kids])
                return Finished(entry, tuple(kids))
        if module is None:
            module, course = _create(client, writer, entry, kids, course, cancel)
            entry = replace(entry, cmid=module.cmid, contextid=module.contextid)
        return _complete(client, writer, entry, kids, module, profile, lms_user, cancel)
    except UploadError as exc:
        entry, kids = _fail(writer, entry, kids, exc.message, exc.code)
        return Finished(entry, tuple(kids))
    except (Unreachable, AuthExpired) as exc:
        return Finished(entry, tuple(kids), wait=exc)
    except ApiRejected as exc:
        err = rejected(exc)
        entry, kids = _fail(writer, entry, kids, err.message, err.code)
        return Finished(entry, tuple(kids))


_FUNCTION = {Kind.FILE: F_RESOURCE, Kind.FOLDER: F_DIRECTORY, Kind.URL: F_URL}
_MODNAME = {Kind.FILE: "resource", Kind.FOLDER: "folder", Kind.URL: "url"}


def _created(course, entry: UploadItem):
    found = course.new_modules(entry.sectionid, entry.snapshot or (), _MODNAME[entry.kind], entry.name)
    return found[-1] if found else None


def _create(client, writer, entry, kids, course, cancel):
    stored = [k for k in ([entry] if entry.kind == Kind.FILE else kids) if k.state == State.UPLOADED]
    itemid = None if entry.kind == Kind.URL else site_ops.require_draft(entry.draft_itemid, len(stored))
    entry = store.save(writer, [replace(entry, state=State.CREATING, snapshot=tuple(sorted(course.cmids)))])[0]
    for attempt in (1, 2):
        try:
            if entry.kind == Kind.FILE:
                cmid = site_ops.create_resource(client, course, entry.sectionid, itemid, entry.name, entry.visible,
                                                cancel)
            elif entry.kind == Kind.URL:
                cmid = site_ops.create_url(client, course, entry.sectionid, entry.source, entry.name, entry.visible,
                                           cancel)
            else:
                instance = site_ops.create_folder(client, course, entry.sectionid, itemid, entry.name,
                                                  entry.visible, cancel)
                after = site_ops.read_course(client, entry.courseid, cancel)
                folder = site_ops.find_folder(after, entry.sectionid, instance, entry.name, entry.snapshot or ())
                if folder is None:
                    raise UploadError("The site said the Folder was created, but it is not in the section.",
                                      code="nofolder")
                return folder, after
        except OutcomeUnknown:
            # Sent, answer lost: look on the site before anything is sent again.
            after = site_ops.read_course(client, entry.courseid, cancel)
            module = _created(after, entry)
            if module is not None:
                return module, after
            if attempt == 2:
                raise
            continue
        after = site_ops.read_course(client, entry.courseid, cancel)
        module = after.module(cmid)
        if module is None:
            raise UploadError(f"The site answered activity {cmid}, but it is not in the course.", code="badresponse")
        return module, after
    raise AssertionError("unreachable")


def _complete(client, writer, entry, kids, module, profile, lms_user, cancel) -> Finished:
    notes = [entry.note] if entry.note else []
    if entry.after_cmid:
        course = site_ops.read_course(client, entry.courseid, cancel)
        with writer.batch() as raw:
            chain = store.batch_cmids(raw, entry.batch, entry.after_cmid)
        note = site_ops.place_after(client, course, module.cmid, [entry.after_cmid, *chain], cancel)
        if note:
            notes.append(note)
    fresh = client.course_contents(entry.courseid, cancel=cancel).items
    files = [k for k in kids if k.state == State.UPLOADED] if entry.kind == Kind.FOLDER else []
    failed = [k for k in kids if k.state in (State.FAILED, State.REFUSED)]
    if failed:
        notes.append(f"{len(failed)} file(s) of the folder did not go: see them below; Retry adds them.")
    kind = {Kind.FILE: "upload.resource", Kind.FOLDER: "upload.folder", Kind.URL: "upload.url"}[entry.kind]
    what = {Kind.FILE: "File resource", Kind.FOLDER: "Folder", Kind.URL: "URL activity"}[entry.kind]
    data = {"courseid": entry.courseid, "sectionid": entry.sectionid, "name": entry.name,
            "visible": entry.visible, "source": entry.source if entry.kind == Kind.URL else entry.filename or entry.name}
    after = {"name": entry.name, "section": entry.destination, "visible": entry.visible}
    if entry.kind == Kind.FILE:
        after.update(file=entry.filename, bytes=entry.size)
    elif entry.kind == Kind.FOLDER:
        after.update(files=len(files), bytes=sum(k.size for k in files))
    else:
        after.update(url=entry.source)
    with writer.batch():
        writer.replace_course_contents(entry.courseid, fresh, 0)
        store.journal_done(writer, entry, kind=kind, function=_FUNCTION[entry.kind], cmid=module.cmid,
                           title=f"Upload {what} “{entry.name}” to {entry.destination or f'course {entry.courseid}'}",
                           data=data, after=after, profile=profile, lms_user=lms_user)
        done = replace(entry, state=State.DONE, cmid=module.cmid, contextid=module.contextid, code="", message="",
                       note=" ".join(notes))
        kids = [replace(k, state=State.DONE, cmid=module.cmid, message="") if k.state == State.UPLOADED else k
                for k in kids]
        saved = store.save(writer, [done, *kids])
    return Finished(saved[0], tuple(saved[1:]), changed=True)


def _add_to_folder(client, writer, entry, kids, profile, lms_user, cancel) -> Finished:
    """Files of a Folder that already exists (retried after the folder was created)."""
    waiting = [k for k in kids if k.state in (State.UPLOADED, State.CREATING)]
    if not waiting:
        return Finished(entry, tuple(kids))
    course = site_ops.read_course(client, entry.courseid, cancel)
    draft = site_ops.require_draft(waiting[0].draft_itemid, len(waiting))
    kids = _save_states(writer, kids, {k.id for k in waiting}, State.CREATING)
    try:
        site_ops.add_files_to_folder(client, course, entry.cmid, entry.contextid, draft, cancel)
    except OutcomeUnknown:
        course = site_ops.read_course(client, entry.courseid, cancel)
        folder = course.module(entry.cmid)
        names = set(folder.files) if folder else set()
        if not all((k.relpath, k.filename) in names for k in waiting):
            raise
    fresh = client.course_contents(entry.courseid, cancel=cancel).items
    with writer.batch():
        writer.replace_course_contents(entry.courseid, fresh, 0)
        for k in waiting:
            store.journal_done(writer, entry, kind="upload.folder_files", function=F_ADD_FILES, cmid=entry.cmid,
                               title=f"Add “{k.label()}” to Folder “{entry.name}” in {entry.destination}",
                               data={"courseid": entry.courseid, "cmid": entry.cmid, "file": k.label()},
                               after={"file": k.label(), "bytes": k.size}, profile=profile, lms_user=lms_user)
        kids = _save_states(writer, kids, {k.id for k in waiting}, State.DONE)
        entry = store.save(writer, [replace(entry, state=State.DONE, message="")])[0]
    return Finished(entry, tuple(kids), changed=True)


def _save_states(writer, kids, ids, state) -> list[UploadItem]:
    changed = [replace(k, state=state, message="") for k in kids if k.id in ids]
    saved = {k.id: k for k in store.save(writer, changed)}
    return [saved.get(k.id, k) for k in kids]


def _fail(writer, entry, kids, message: str, code: str):
    if entry.kind == Kind.FOLDER and entry.cmid is not None:
        # The folder exists: only the files waiting to be added failed.
        kids = [replace(k, state=State.FAILED, code=code, message=message)
                if k.state in (State.UPLOADED, State.CREATING, State.QUEUED) else k for k in kids]
        entry = replace(entry, state=State.DONE)
    else:
        entry = replace(entry, state=State.FAILED, code=code, message=message)
        kids = [replace(k, state=State.FAILED, code=code, message=message)
                if k.state in (State.UPLOADED, State.CREATING, State.QUEUED) else k for k in kids]
    saved = store.save(writer, [entry, *kids])
    return saved[0], saved[1:]


# -- the whole queue in one thread ----------------------------------------------------------------------

def retry_rows(entry: UploadItem, children: Sequence[UploadItem], item_id: int) -> list[UploadItem]:
    """Rows to put back in the queue when the admin presses Retry on ``item_id`` (an entry or a child)."""
    fresh = dict(state=State.QUEUED, code="", message="", draft_itemid=None, snapshot=None)
    if item_id != entry.id:
        kid = next(k for k in children if k.id == item_id)
        if not kid.state.retryable:
            return []
        rows = [replace(kid, **fresh)]
        if entry.state.final and entry.cmid is None:
            rows.append(replace(entry, **fresh))  # the folder itself was never made
        elif entry.cmid is not None:
            rows.append(replace(entry, state=State.QUEUED, code="", message=""))
        return rows
    if not entry.state.retryable and not (entry.kind == Kind.FOLDER and any(k.state.retryable for k in children)):
        return []
    rows = [replace(entry, **fresh, cmid=entry.cmid if entry.state == State.DONE else None,
                    contextid=entry.contextid if entry.state == State.DONE else None)]
    rows += [replace(k, **fresh) for k in children if k.state.retryable]
    return rows


def cancel_rows(entry: UploadItem, children: Sequence[UploadItem], item_id: int) -> list[UploadItem]:
    """Rows to mark cancelled when the admin cancels ``item_id`` (an entry: it and its waiting files;
    a folder's file: that file, and the folder too when nothing of it is left to send)."""
    waiting = (State.QUEUED, State.UPLOADING, State.UPLOADED)
    cancelled = {"state": State.CANCELLED, "code": "cancelled",
                 "message": "Nothing of it was created; Retry sends it again."}
    if item_id == entry.id:
        if entry.state not in waiting:
            return []
        return [replace(entry, **cancelled)] + [replace(k, **cancelled) for k in children if k.state in waiting]
    kid = next((k for k in children if k.id == item_id), None)
    if kid is None or kid.state not in waiting:
        return []
    rows = [replace(kid, **cancelled)]
    left = [k for k in children if k.id != item_id and k.state in waiting]
    if not left and entry.state in waiting:
        if entry.cmid is not None:
            rows.append(replace(entry, state=State.DONE))
        elif not any(k.state in (State.DONE, State.UPLOADED) for k in children):
            rows.append(replace(entry, **cancelled))
    return rows


class UploadQueue:
    """Sends queued uploads one after another in the calling thread (CLI, tests, benchmark).

    ``events(name, item)`` is called on "checked" (the target exists; bytes go next), "done",
    "failed" and "refused".
    """

    def __init__(self, client, db, writer, *, site: SiteInfo | None = None, profile: str = "",
                 lms_user: str = "", events: Callable[[str, UploadItem], None] | None = None) -> None:
        self.client, self.db, self.writer = client, db, writer
        self.site, self.profile, self.lms_user = site, profile, lms_user
        self.events = events or (lambda _name, _item: None)
        self.live = LiveProgress()
        self.cap = RequestCap()

    def add(self, dropped: Sequence[Dropped], target: DropTarget, *, visible: bool = True) -> DropPlan:
        plan = plan_drop(dropped, target, self.site, visible=visible)
        store.add_plan(self.writer, plan)
        return plan

    def items(self) -> list[UploadItem]:
        with self.db.read() as conn:
            return store.load(conn)

    def resume(self) -> list[UploadItem]:
        return store.resume(self.writer)

    def retry(self, item_id: int) -> None:
        entry_id = next(i.parent or i.id for i in self.items() if i.id == item_id)
        with self.db.read() as conn:
            entry, kids = store.load_entry(conn, entry_id)
        store.save(self.writer, retry_rows(entry, kids, item_id))
        self.cap.forget()

    def pending(self) -> list[int]:
        """Entries with work left, oldest first."""
        items = self.items()
        kids_waiting = {i.parent for i in items if i.kind == Kind.CHILD and i.state in (State.QUEUED, State.UPLOADED)}
        return [i.id for i in items if i.is_entry and (i.state in (State.QUEUED, State.UPLOADED, State.CREATING)
                                                       or (i.id in kids_waiting and i.cmid is not None))]

    def run(self, cancel: CancelToken = NEVER_CANCELLED) -> list[UploadItem]:
        """Process every pending entry; raises :class:`SiteWaiting` when the site stops answering."""
        for entry_id in self.pending():
            cancel.raise_if_cancelled()
            self.run_entry(entry_id, cancel)
        return self.items()

    def run_entry(self, entry_id: int, cancel: CancelToken = NEVER_CANCELLED) -> UploadItem:
        with self.db.read() as conn:
            entry, kids = store.load_entry(conn, entry_id)
        if entry.state != State.CREATING and to_send(entry, kids):
            sent = send_entry(self.client, entry, kids, site=self.site, live=self.live, cancel=cancel,
                              on_checked=lambda: self.events("checked", entry), cap=self.cap)
            if sent.wait is not None:
                raise SiteWaiting(sent.wait)
            entry, kids = record_send(self.writer, entry, kids, sent)
        finished = finish_entry(self.client, self.writer, entry, kids, profile=self.profile,
                                lms_user=self.lms_user, cancel=cancel)
        if finished.wait is not None:
            raise SiteWaiting(finished.wait)
        for row in (finished.entry, *finished.children):
            if row.state in (State.DONE, State.FAILED, State.REFUSED):
                self.events(row.state.value, row)
        return finished.entry


__all__ = ["FileSent", "Finished", "RequestCap", "SendResult", "SiteWaiting", "UploadQueue", "cancel_rows", "finish_entry",
           "record_send", "retry_rows", "send_entry", "to_send"]

