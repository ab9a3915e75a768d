"""The details panel's models: facts about the selected row, its files, and file downloads.

``ContentDetailsModel.show(ref)`` reads the cache off the GUI thread (a named job: a quick
succession of selections keeps only the last), then fills two table models: ``fields``
(Field, Value) and ``files`` (Name, Size, Type, Last modified, Folder). ``download()`` streams a
file to disk on an HTTP thread; the token travels in the request body only (MoodleClient).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from lms_console.models.content_read import ContentRef
from lms_console.models.row_table import RowTableModel
from lms_console.models.session import ConnectionSession
from lms_console.services.progress import ProgressEvent
from lms_console.services.uploads_names import human_size

MODULE_TYPES = {"assign": "Assignment", "folder": "Folder", "forum": "Forum", "label": "Text and media area",
                "page": "Page", "quiz": "Quiz", "resource": "File", "url": "URL", "subsection": "Subsection"}
COMPLETION = {0: "Not tracked", 1: "Manual: students mark it as done", 2: "Automatic: when the conditions are met"}
FileUrlRole = Qt.ItemDataRole.UserRole + 20


@dataclass(frozen=True, slots=True)
class FileRow:
    id: int
    name: str
    filepath: str
    size: int
    mimetype: str
    timemodified: int | None
    fileurl: str


@dataclass(frozen=True, slots=True)
class DownloadResult:
    path: str
    size: int
    error: str = ""


@dataclass(frozen=True, slots=True)
class ContentDetails:
    ref: ContentRef
    title: str
    kind_label: str
    fields: tuple[tuple[str, str], ...]
    files: tuple[FileRow, ...] = ()
    browser_url: str = ""  # opens in the browser's own session: never a token in it


def when(ts: int | None) -> str:
    return time.strftime("%d %b %Y, %H:%M", time.localtime(ts)) if ts else "—"


def browser_file_url(fileurl: str) -> str:
    """The address a signed-in browser can open (web-service file URLs need a token; these do not)."""
    url = fileurl.replace("/webservice/pluginfile.php/", "/pluginfile.php/", 1)
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.lower().startswith(("token=", "wstoken="))]
    return base + ("?" + "&".join(kept) if kept else "")


def describe_availability(raw: str | None) -> str:
    """Moodle's availability JSON in words ("" when there is none)."""
    if not raw:
        return ""
    try:
        tree = json.loads(raw)
    except ValueError:
        return "Restricted (conditions the console cannot read)"
    return _conditions(tree) or "Restricted"


def _conditions(tree: dict) -> str:
    parts = []
    for cond in tree.get("c") or []:
        if "c" in cond:
            parts.append(f"({_conditions(cond)})")
            continue
        kind = cond.get("type")
        if kind == "date":
            t = int(cond.get("t") or 0)
            parts.append(f"{'from' if cond.get('d') == '>=' else 'until'} {when(t)}")
        elif kind == "completion":
            parts.append(f"activity {cond.get('cm')} {'completed' if cond.get('e', 1) == 1 else 'not completed'}")
        elif kind == "grade":
            bounds = [f"≥ {cond['min']}%" if "min" in cond else "", f"< {cond['max']}%" if "max" in cond else ""]
            parts.append(f"grade item {cond.get('id')} {' and '.join(b for b in bounds if b) or 'graded'}")
        elif kind in ("group", "grouping"):
            parts.append(f"member of {kind} {cond.get('id', '(any)')}")
        elif kind == "profile":
            parts.append(f"profile field {cond.get('sf') or cond.get('cf')} {cond.get('op', '')} "
                         f"{cond.get('v', '')}".strip())
        else:
            parts.append(f"{kind} condition")
    joiner = " or " if tree.get("op") in ("|", "!&") else " and "
    text = joiner.join(parts)
    return ("not " + text) if tree.get("op", "").startswith("!") and text else text


def read_details(db, ref: ContentRef, siteurl: str) -> ContentDetails:
    site = siteurl.rstrip("/")
    with db.read() as conn:
        one = lambda sql, *p: conn.exec_driver_sql(sql, p).first()  # noqa: E731
        if ref.kind == "category":
            c = one("SELECT name, idnumber, visible, description FROM categories WHERE id = ?", ref.id)
            n = one("SELECT count(*) FROM courses WHERE categoryid = ?", ref.id)[0]
            subs = one("SELECT count(*) FROM categories WHERE parent = ?", ref.id)[0]
            fields = (("Type", "Course category"), ("Visibility", "Visible" if c and c[2] else "Hidden"),
                      ("Courses", f"{n:,}"), ("Subcategories", f"{subs:,}"), ("ID number", (c[1] if c else "") or "—"))
            return ContentDetails(ref, ref.name, "Category", fields,
                                  browser_url=f"{site}/course/index.php?categoryid={ref.id}")
        if ref.kind == "course":
            c = one("SELECT c.shortname, c.fullname, k.name, c.format, c.visible, c.startdate, c.enddate, "
                    "c.enablecompletion, c.idnumber FROM courses c LEFT JOIN categories k ON k.id = c.categoryid "
                    "WHERE c.id = ?", ref.id)
            counts = one("SELECT (SELECT count(*) FROM sections WHERE courseid = ?), "
                         "(SELECT count(*) FROM modules WHERE courseid = ?)", ref.id, ref.id)
            fields = (("Type", "Course"), ("Short name", c[0]), ("Full name", c[1]), ("Category", c[2] or "—"),
                      ("Format", (c[3] or "topics").capitalize()), ("Visibility", "Visible" if c[4] else "Hidden"),
                      ("Starts", when(c[5])), ("Ends", when(c[6])),
                      ("Completion tracking", "Enabled" if c[7] else "Disabled"),
                      ("Contents", f"{counts[0]:,} sections, {counts[1]:,} activities (as last synced)"),
                      ("ID number", c[8] or "—"))
            return ContentDetails(ref, c[1], "Course", fields, browser_url=f"{site}/course/view.php?id={ref.id}")
        if ref.kind == "section":
            s = one("SELECT section, name, visible, summary FROM sections WHERE id = ?", ref.id)
            n = one("SELECT count(*) FROM modules WHERE sectionid = ?", ref.id)[0]
            fields = (("Type", f"Section {s[0] if s else ref.section_number}"),
                      ("Visibility", "Visible" if s and s[2] else "Hidden from students"),
                      ("Activities", f"{n:,}"), ("Summary", _plain(s[3]) if s and s[3] else "—"))
            return ContentDetails(ref, ref.name, "Section", fields, browser_url=f"{site}/course/section.php?id={ref.id}")
        cmid = ref.cmid or ref.id
        m = one("SELECT name, modname, visible, visibleoncoursepage, availability, completion, url FROM modules "
                "WHERE cmid = ?", cmid)
        rows = conn.exec_driver_sql(
            "SELECT id, filename, filepath, filesize, mimetype, timemodified, fileurl, type FROM module_files "
            "WHERE cmid = ? ORDER BY sortorder DESC, filepath, filename", (cmid,)).all()
    if m is None:
        return ContentDetails(ref, ref.name, "Activity", (("Type", "Not in the local copy any more"),))
    files = tuple(FileRow(r[0], r[1], r[2] or "/", r[3] or 0, r[4] or "", r[5], r[6] or "") for r in rows
                  if r[7] == "file" and m[1] != "page")
    link = next((r[6] for r in rows if r[7] == "url"), "")
    visibility = "Hidden from students" if not m[2] else (
        "Stealth: available to anyone with the link, not shown on the course page" if not m[3] else "Visible")
    fields = [("Type", MODULE_TYPES.get(m[1], m[1].capitalize())), ("Visibility", visibility),
              ("Availability", describe_availability(m[4]) or "No restrictions"),
              ("Completion tracking", COMPLETION.get(int(m[5] or 0), str(m[5])))]
    if link:
        fields.append(("Link", link))
    if files:
        fields.append(("Files", f"{len(files)} ({human_size(sum(f.size for f in files))})"))
    browser = m[6] or f"{site}/course/view.php?id={ref.courseid}#module-{cmid}"
    if ref.kind == "file":
        f = next((x for x in files if x.id == ref.id), None)
        if f is not None:
            fields = [("Type", "File"), ("In activity", m[0]), ("Size", human_size(f.size)),
                      ("MIME type", f.mimetype or "unknown"), ("Last modified", when(f.timemodified)),
                      ("Folder", f.filepath)]
            return ContentDetails(ref, f.name, "File", tuple(fields), (f,), browser_file_url(f.fileurl))
    return ContentDetails(ref, m[0], MODULE_TYPES.get(m[1], "Activity"), tuple(fields), files, browser)


def _plain(html: str) -> str:
    import re

    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", text).strip()[:300] or "—"


class FieldsModel(RowTableModel):
    """(Field, Value) rows of the selected item. Signals: none beyond QAbstractItemModel's."""

    COLUMNS = ("Field", "Value")

    def set_rows(self, rows) -> None:
        self.replace_rows(rows)

    def cell(self, row: tuple[str, str], col: int, role: int):
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return row[col]
        return None


FILE_COLUMNS = ("Name", "Size", "Type", "Last modified", "Folder")


class FilesModel(RowTableModel):
    """The selected activity's files. ``FileUrlRole`` gives a row's file URL (no token in it)."""

    COLUMNS = FILE_COLUMNS

    def set_rows(self, rows) -> None:
        self.replace_rows(rows)

    def file_at(self, row: int) -> FileRow | None:
        return self.row_at(row)

    def cell(self, f: FileRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return (f.name, human_size(f.size), f.mimetype or "unknown", when(f.timemodified), f.filepath)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{f.filepath}{f.name}\n{f.size:,} bytes, {f.mimetype or 'unknown type'}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == FileUrlRole:
            return f.fileurl
        return None


class ContentDetailsModel(QObject):
    """Details of the selected content row, and file downloads.

    Signals:
        loaded(object): ContentDetails of the row asked for last.
        download_finished(str, int): a file was saved (path, bytes).
        download_failed(object): a download failed (an LmsError, or a message about the local disk).
    """

    loaded = Signal(object)
    download_finished = Signal(str, int)
    download_failed = Signal(object)

    def __init__(self, session: ConnectionSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.fields = FieldsModel(self)
        self.files = FilesModel(self)
        self.current: ContentDetails | None = None

    def show(self, ref: ContentRef | None) -> None:
        db = self.session.db
        if ref is None or db is None:
            self.current = None
            self.fields.set_rows(())
            self.files.set_rows(())
            return
        site = self.session.site.siteurl if self.session.site else (self.session.profile.url if self.session.profile
                                                                     else "")
        self.session.runner.run("content-details", lambda p, c: read_details(db, ref, site),
                                label="Read details", on_done=self._loaded)

    def _loaded(self, details: ContentDetails) -> None:
        self.current = details
        self.fields.set_rows(details.fields)
        self.files.set_rows(details.files)
        self.loaded.emit(details)

    def download(self, file: FileRow, path: str) -> int | None:
        """Save ``file`` to ``path`` (written to ``path.part`` first, renamed when complete)."""
        client = self.session._client
        if client is None:
            return None
        target = Path(path)

        def job(progress, cancel):
            part = target.with_name(target.name + ".part")

            def report(done: int, total: int) -> None:
                progress(ProgressEvent("download", done, total or file.size,
                                       f"{human_size(done)} of {human_size(total or file.size)}"))

            try:
                with open(part, "wb") as sink:
                    written = client.download(file.fileurl, sink, cancel=cancel, progress=report)
                os.replace(part, target)
            except OSError as exc:  # the disk, not the site: an expected problem, not a bug
                part.unlink(missing_ok=True)
                return DownloadResult(str(target), 0, f"Could not save {target.name}: {exc.strerror or exc}.")
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            return DownloadResult(str(target), written)

        return self.session.runner.run(f"download-{file.id}", job, label=f"Download {file.name}",
                                       on_done=self._downloaded, on_error=self.download_failed.emit)

    def _downloaded(self, result: DownloadResult) -> None:
        if result.error:
            self.download_failed.emit(result.error)
        else:
            self.download_finished.emit(result.path, result.size)
