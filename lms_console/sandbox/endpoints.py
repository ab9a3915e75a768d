"""The non-REST endpoints: upload.php, login/token.php, pluginfile.php and the control endpoint.

``upload.php`` and ``token.php`` are ``AJAX_SCRIPT`` pages in Moodle: their
errors come back as ``{error, errorcode, stacktrace, debuginfo,
reproductionlink}``.  Uploads are streamed to temporary files on disk by the
form parser and then moved into the file pool, never held in memory.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import tempfile
import time
from urllib.parse import unquote

from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request, Response

from . import errors
from .context import CONTEXT_USER, fullname
from .pages import moodle_error_page
from .seed import check_password
from .seed_courses import mimetype_of

JSON_TYPE = "application/json"


def _json(value, status: int = 200) -> Response:
    return Response(json.dumps(value, separators=(",", ":")), status=status, content_type=JSON_TYPE)


def _clean_filename(name: str) -> str:
    """``clean_param($name, PARAM_FILE)``: no path separators or control characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch not in ':*?"<>|')
    return name.strip() or "file"


# -- upload.php ---------------------------------------------------------------------
def upload(app, request: Request, fault: str) -> Response:
    tmpfiles: list = []

    def stream_factory(total_content_length, content_type, filename, content_length=None):
        handle = tempfile.NamedTemporaryFile(dir=app.store.files_dir, prefix="incoming-", delete=False)
        tmpfiles.append(handle)
        return handle

    try:
        _stream, form, files = parse_form_data(request.environ, stream_factory=stream_factory,
                                               max_form_memory_size=None)
        query = request.args
        token = form.get("token") or query.get("token") or ""
        app._log(request, request.path, "webservice/upload.php",
                 {"token": token, "itemid": form.get("itemid", query.get("itemid")),
                  "filepath": form.get("filepath", query.get("filepath")),
                  "files": [f.filename for f in files.values()]}, fault)
        try:
            return _json(_store_upload(app, form, query, files, token))
        except errors.MoodleError as exc:
            return _json(exc.ajax_dict(app.settings.debug))
    finally:
        for handle in tmpfiles:
            with contextlib.suppress(OSError):
                handle.close()
            with contextlib.suppress(OSError):
                os.unlink(handle.name)


def _store_upload(app, form, query, files, token: str) -> list:
    filepath = form.get("filepath", query.get("filepath", "/")) or "/"
    try:
        itemid = int(form.get("itemid", query.get("itemid", 0)) or 0)
    except ValueError:
        itemid = 0
    if not token:
        raise errors.MoodleError(errors.EXC_MOODLE, "missingparam", "A required parameter (token) was missing")
    if not token.isalnum():
        raise errors.invalid_parameter()
    with app.store.connection() as conn:
        _tok, user, service = app.authenticate(conn, token)
        if not service["uploadfiles"]:
            raise errors.access_exception("Web service file upload must be enabled in external service settings")
        userctx = conn.execute("SELECT id FROM context WHERE contextlevel = ? AND instanceid = ?",
                               (CONTEXT_USER, user["id"])).fetchone()[0]
        is_admin = int(user["id"]) in app.site_admins(conn)
        limit = app.settings.max_upload_file_bytes
        prepared = []
        for field in files.values():
            handle = field.stream
            handle.flush()
            size = os.fstat(handle.fileno()).st_size
            entry = {"avscantime": 0.0001, "filename": _clean_filename(field.filename or "")}
            if size > limit:
                entry["errortype"] = "fileoversized"
                entry["error"] = "This file is bigger than the maximum size"
            prepared.append((entry, handle, size))
        with app.store.transaction(conn):
            if itemid <= 0:
                itemid = app.draft_itemid(conn)
            total = sum(size for entry, _h, size in prepared if "error" not in entry)
            if not is_admin and total > limit:
                raise errors.MoodleError(errors.EXC_FILE, "userquotalimit",
                                         "You have reached your file quota limit.")
            results = []
            for entry, handle, size in prepared:
                if "error" in entry:
                    results.append(entry)
                    continue
                exists = conn.execute(
                    "SELECT 1 FROM files WHERE contextid = ? AND component = 'user' AND filearea = 'draft'"
                    " AND itemid = ? AND filepath = ? AND filename = ?",
                    (userctx, itemid, filepath, entry["filename"])).fetchone()
                if exists:
                    entry.update({"filepath": handle.name, "size": size, "errortype": "filenameexist",
                                  "error": f"File name already exists: {entry['filename']}"})
                    results.append(entry)
                    continue
                handle.seek(0)
                contenthash, _size = app.store.put_stream(handle)
                name = entry["filename"]
                source = 'O:8:"stdClass":1:{s:6:"source";s:%d:"%s";}' % (len(name.encode()), name)
                now = int(time.time())
                conn.execute(
                    "INSERT INTO files(contenthash, contextid, component, filearea, itemid, filepath, filename,"
                    " userid, filesize, mimetype, source, author, license, sortorder, timecreated, timemodified)"
                    " VALUES (?,?,'user','draft',?,?,?,?,?,?,?,?,'unknown',0,?,?)",
                    (contenthash, userctx, itemid, filepath, name, user["id"], size, mimetype_of(name), source,
                     fullname(user), now, now))
                results.append({"component": "user", "contextid": userctx, "userid": str(user["id"]),
                                "filearea": "draft", "filename": name, "filepath": filepath, "itemid": itemid,
                                "license": "unknown", "author": fullname(user), "source": source,
                                "filesize": size})
            return results


# -- login/token.php ----------------------------------------------------------------
def login_token(app, request: Request, fault: str) -> Response:
    values = dict(request.args.items())
    if request.method == "POST":
        values.update(request.form.items())
    app._log(request, request.path, "login/token.php",
             {"username": values.get("username"), "password": values.get("password"),
              "service": values.get("service")}, fault)
    try:
        return _json(_login(app, values))
    except errors.MoodleError as exc:
        return _json(exc.ajax_dict(app.settings.debug))


def _login(app, values: dict) -> dict:
    username = (values.get("username") or "").strip().lower()
    password = values.get("password") or ""
    service_name = values.get("service") or ""
    if not username or "password" not in values or not service_name:
        raise errors.MoodleError(errors.EXC_MOODLE, "missingparam",
                                 "A required parameter ({}) was missing".format(
                                     "username" if not username else "password" if "password" not in values
                                     else "service"))
    with app.store.connection() as conn:
        user = conn.execute("SELECT * FROM user WHERE username = ? AND deleted = 0", (username,)).fetchone()
        if user is None or user["suspended"] or user["auth"] == "nologin" or not check_password(password,
                                                                                                   user["password"]):
            raise errors.MoodleError(errors.EXC_MOODLE, "invalidlogin", "Invalid login, please try again")
        service = conn.execute("SELECT * FROM external_services WHERE shortname = ? AND enabled = 1",
                               (service_name,)).fetchone()
        if service is None:
            raise errors.MoodleError(errors.EXC_MOODLE, "servicenotavailable",
                                     "Web service is not available (it doesn't exist or might be disabled)")
        now = int(time.time())
        with app.store.transaction(conn):
            existing = conn.execute(
                "SELECT token FROM external_tokens WHERE userid = ? AND externalserviceid = ?"
                " AND (validuntil = 0 OR validuntil > ?) ORDER BY timecreated DESC, id DESC",
                (user["id"], service["id"], now)).fetchone()
            if existing:
                return {"token": existing[0], "privatetoken": None}
            # Only the mobile service mints tokens for everyone; custom services never for an admin,
            # and for others only with moodle/webservice:createtoken (which the sandbox grants nobody).
            if service["shortname"] == "moodle_mobile_app":
                token = app.new_token(conn, user["id"], service["id"], now + 84 * 86400, "login")
                return {"token": token, "privatetoken": None}
            raise errors.MoodleError(errors.EXC_MOODLE, "cannotcreatetoken",
                                     f"No permission to create web service token for the service {service_name}.")


# -- webservice/pluginfile.php -------------------------------------------------------
def pluginfile(app, request: Request, fault: str) -> Response:
    values = dict(request.args.items())
    if request.method == "POST":
        values.update(request.form.items())
    relative = unquote(request.path[len("/webservice/pluginfile.php"):])
    app._log(request, request.path, "webservice/pluginfile.php", {"token": values.get("token"), "path": relative},
             fault)
    token = values.get("token") or ""
    with app.store.connection() as conn:
        try:
            if not token.isalnum():
                raise errors.invalid_token()
            _tok, user, service = app.authenticate(conn, token)
        except errors.MoodleError as exc:
            return Response(moodle_error_page(exc.message), status=403, content_type="text/html")
        if not service["downloadfiles"]:
            return Response(moodle_error_page("Access control exception"), status=403, content_type="text/html")
        parts = relative.strip("/").split("/")
        found = _find_file(app, conn, user, parts)
    if found is None:
        return Response(moodle_error_page("Sorry, the requested file could not be found"), status=404,
                        content_type="text/html")
    if isinstance(found, bytes):
        return Response(found, status=200, content_type="text/html; charset=utf-8")
    row = found
    handle = app.store.open_blob(row["contenthash"])

    def stream():
        try:
            while True:
                block = handle.read(1 << 16)
                if not block:
                    break
                yield block
        finally:
            handle.close()

    response = Response(stream(), status=200, content_type=row["mimetype"] or "application/octet-stream",
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(row["filesize"])
    if values.get("forcedownload"):
        response.headers["Content-Disposition"] = f'attachment; filename="{row["filename"]}"'
    return response


def _find_file(app, conn, user, parts: list[str]):
    """Resolve ``contextid/component/filearea/[itemid/]path/name`` to a files row (or page HTML)."""
    if len(parts) < 4:
        return None
    try:
        contextid = int(parts[0])
    except ValueError:
        return None
    component, filearea = parts[1], parts[2]
    rest = parts[3:]
    ctx = conn.execute("SELECT * FROM context WHERE id = ?", (contextid,)).fetchone()
    if ctx is None:
        return None
    is_admin = int(user["id"]) in app.site_admins(conn)
    if ctx["contextlevel"] == 70:
        cm = conn.execute("SELECT * FROM course_modules WHERE id = ?", (ctx["instanceid"],)).fetchone()
        if cm is None:
            return None
        if not is_admin and not _enrolled(conn, cm["course"], user["id"]):
            return None
        if component == "mod_page" and filearea == "content":
            inst = conn.execute("SELECT extra FROM modinstance WHERE modname = 'page' AND id = ?",
                                (cm["instance"],)).fetchone()
            return json.loads(inst["extra"] or "{}").get("content", "").encode() if inst else None
    elif ctx["contextlevel"] == 30 and ctx["instanceid"] != user["id"] and not is_admin:
        return None
    itemid = 0
    if component in ("mod_resource", "mod_folder", "user") and rest and rest[0].isdigit() and len(rest) > 1:
        itemid = int(rest[0])
        rest = rest[1:]
    filename = rest[-1]
    filepath = "/" + "/".join(rest[:-1]) + ("/" if len(rest) > 1 else "")
    return conn.execute(
        "SELECT * FROM files WHERE contextid = ? AND component = ? AND filearea = ? AND itemid = ? AND filepath = ?"
        " AND filename = ?", (contextid, component, filearea, itemid, filepath, filename)).fetchone()


def _enrolled(conn, courseid: int, userid: int) -> bool:
    return conn.execute("SELECT 1 FROM user_enrolments ue JOIN enrol e ON e.id = ue.enrolid"
                        " WHERE e.courseid = ? AND ue.userid = ? AND ue.status = 0", (courseid, userid)).fetchone() \
        is not None


# -- /_sandbox/control ----------------------------------------------------------------
def control(app, request: Request) -> Response:
    """Runtime control for a sandbox running in another process (tests, benchmarks)."""
    secret = request.headers.get("X-Sandbox-Secret") or ""
    if request.method != "POST" or not hmac.compare_digest(secret, app.control_secret):
        return Response("forbidden", status=403)
    try:
        payload = json.loads(request.get_data(as_text=True) or "{}")
    except json.JSONDecodeError:
        return _json({"error": "invalid JSON"}, 400)
    from .control import handle_control

    try:
        return _json(handle_control(app, payload))
    except (KeyError, ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, 400)
