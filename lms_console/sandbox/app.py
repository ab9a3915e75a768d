"""The sandbox's WSGI application: Moodle's REST endpoint plus faults and the request log.

Routes:

* ``/webservice/rest/server.php`` (GET and POST merged like PHP) - web services;
* ``/webservice/upload.php``, ``/login/token.php``, ``/webservice/pluginfile.php/...``
  (see :mod:`endpoints`);
* ``POST /_sandbox/control`` - runtime control for a sandbox in another process.

Every request first passes the fault injector (latency, 502, 429, dropped
connections, truncated or trickled bodies, "die after N requests") and is
recorded in the request log with secrets redacted.
"""

from __future__ import annotations

import json
import random
import threading
import time

from werkzeug.wrappers import Request, Response

from . import endpoints, errors
from .context import CallContext
from .faults import DropConnection, FaultInjector, redact
from .pages import nginx_page, xml_error, xml_response
from .phpparams import parse_pairs, php_array_merge, split_query
from .registry import FUNCTIONS, load_all
from .settings import SandboxSettings
from .store import Store

JSON_TYPE = "application/json"
XML_TYPE = "application/xml; charset=utf-8"
HTML_TYPE = "text/html"
MOBILE_FUNCTIONS = ["core_webservice_get_site_info", "core_enrol_get_users_courses", "core_course_get_contents",
                    "core_completion_update_activity_completion_status_manually"]


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class SandboxApp:
    """WSGI callable serving one sandbox site."""

    def __init__(self, store: Store, settings: SandboxSettings, control_secret: str, seed: int = 0):
        load_all()
        self.store = store
        self.settings = settings
        self.control_secret = control_secret
        self.faults = FaultInjector(settings.faults, settings.request_log_limit)
        self.site_url = "http://127.0.0.1"
        self.rng = random.Random(seed ^ 0x5A5A)
        self.rng_lock = threading.Lock()
        self.on_die = None  # set by the server: stops listening
        self._admins: set[int] | None = None
        self._cache: dict = {}
        self._response_cache: dict = {}
        self._response_cache_size = 0
        self._response_cache_version = -1
        self._cache_lock = threading.Lock()
        with store.connection() as conn, store.transaction(conn):
            self.sync_services(conn)

    def cached(self, key, compute):
        """Memoise ``compute()`` until the next committed write (aggregates over big tables)."""
        version = self.store.version
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        self._cache[key] = (version, value)
        return value

    # -- site configuration -------------------------------------------------------
    def site_admins(self, conn) -> set[int]:
        if self._admins is None:
            value = self.store.get_config(conn, "siteadmins", "2") or "2"
            self._admins = {int(x) for x in value.split(",") if x}
        return self._admins

    def service_function_names(self) -> list[str]:
        """The full service: every implemented core function, plus the plugin when enabled."""
        return [name for name, fn in FUNCTIONS.items() if not fn.plugin or self.settings.enable_sync_service]

    def known_function(self, name: str):
        fn = FUNCTIONS.get(name)
        if fn is None or (fn.plugin and not self.settings.enable_sync_service):
            return None
        return fn

    def sync_services(self, conn) -> None:
        """Make service 1 carry exactly the full function list (it changes with the plugin flag)."""
        names = self.service_function_names()
        conn.execute("DELETE FROM external_services_functions WHERE externalserviceid = 1")
        conn.executemany("INSERT INTO external_services_functions(externalserviceid, functionname) VALUES (1, ?)",
                         [(n,) for n in names])
        conn.execute("DELETE FROM external_services_functions WHERE externalserviceid = 2")
        conn.executemany("INSERT INTO external_services_functions(externalserviceid, functionname) VALUES (2, ?)",
                         [(n,) for n in MOBILE_FUNCTIONS])

    def new_token(self, conn, userid: int, serviceid: int, validuntil: int = 0, name: str = "") -> str:
        with self.rng_lock:
            token = "%032x" % self.rng.getrandbits(128)
        conn.execute("INSERT INTO external_tokens(token, userid, externalserviceid, validuntil, timecreated, name)"
                     " VALUES (?,?,?,?,?,?)", (token, userid, serviceid, validuntil, int(time.time()), name))
        return token

    def new_service(self, conn, name: str, functions: list[str], uploadfiles: int = 1, downloadfiles: int = 1) -> int:
        cur = conn.execute("INSERT INTO external_services(name, shortname, enabled, uploadfiles, downloadfiles,"
                           " timecreated) VALUES (?,?,1,?,?,?)", (name, None, uploadfiles, downloadfiles,
                                                                int(time.time())))
        sid = cur.lastrowid
        conn.executemany("INSERT INTO external_services_functions(externalserviceid, functionname) VALUES (?, ?)",
                         [(sid, f) for f in functions])
        return sid

    def draft_itemid(self, conn) -> int:
        """``file_get_unused_draft_itemid``: a random unused id (seeded, so runs repeat)."""
        while True:
            with self.rng_lock:
                itemid = self.rng.randint(1, 999999999)
            if not conn.execute("SELECT 1 FROM files WHERE component = 'user' AND filearea = 'draft'"
                                " AND itemid = ?", (itemid,)).fetchone():
                return itemid

    # -- WSGI ----------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_form_memory_size = None
        path = request.path
        if path == "/_sandbox/control":
            return endpoints.control(self, request)(environ, start_response)
        uri = environ.get("REQUEST_URI") or environ.get("RAW_URI") or (path + "?" + environ.get("QUERY_STRING", ""))
        if len(uri) > self.settings.max_url_bytes:
            self._log(request, path, None, None, "414")
            return self._page(414)(environ, start_response)
        length = request.content_length or 0
        if length > self.settings.max_request_bytes:
            self._log(request, path, None, None, "413")
            return self._page(413)(environ, start_response)
        plan = self.faults.plan()
        if plan["delay"]:
            time.sleep(plan["delay"])
        action = plan["action"]
        try:
            if action in ("drop_before", "502", "429"):
                self._log_unrouted(request, action)
            if action == "drop_before":
                raise DropConnection("fault: drop before")
            if action in ("502", "429"):
                response = self._page(int(action))
                if action == "429":
                    response.headers["Retry-After"] = str(self.settings.faults.retry_after_s)
                return response(environ, start_response)
            response = self.route(request, action)
            if action == "drop_after":
                response.close()
                raise DropConnection("fault: drop after")
            if action == "malformed" and not response.direct_passthrough:
                body = response.get_data()
                response.set_data(body[: max(len(body) // 2, 1)])
            elif action == "slow" and not response.direct_passthrough:
                response = self._trickle(response)
            return response(environ, start_response)
        finally:
            if plan["die"] and self.on_die is not None:
                self.on_die()

    def _page(self, status: int) -> Response:
        return Response(nginx_page(status), status=status, content_type=HTML_TYPE)

    def _trickle(self, response: Response) -> Response:
        body = response.get_data()
        chunk = max(int(self.settings.faults.slow_body_chunk), 1)
        pause = self.settings.faults.slow_body_delay_ms / 1000.0

        def gen():
            for start in range(0, len(body), chunk):
                if start:
                    time.sleep(pause)
                yield body[start:start + chunk]

        slow = Response(gen(), status=response.status_code, content_type=response.content_type)
        slow.headers["Content-Length"] = str(len(body))
        return slow

    def _log_unrouted(self, request, fault: str) -> None:
        """Log a request the fault injector answers itself (it never reaches its endpoint)."""
        function, params = None, None
        if request.path == "/webservice/rest/server.php":
            params = self.request_params(request)
            function = params.pop("wsfunction", None)
            for key in ("wstoken", "moodlewsrestformat"):
                params.pop(key, None)
        self._log(request, request.path, function if isinstance(function, str) else None, params, fault)

    def _log(self, request, path, function, params, fault) -> None:
        if not self.settings.record_requests:
            return
        self.faults.record({"time": time.time(), "method": request.method, "path": path, "function": function,
                            "params": redact(params) if params is not None else None, "fault": fault,
                            "length": request.content_length or 0})

    def route(self, request: Request, fault: str) -> Response:
        path = request.path
        if path == "/webservice/rest/server.php":
            return self.rest(request, fault)
        if path == "/webservice/upload.php":
            return endpoints.upload(self, request, fault)
        if path == "/login/token.php":
            return endpoints.login_token(self, request, fault)
        if path.startswith("/webservice/pluginfile.php/"):
            return endpoints.pluginfile(self, request, fault)
        self._log(request, path, None, None, fault)
        return self._page(404)

    # -- REST server -----------------------------------------------------------------
    def request_params(self, request: Request) -> dict:
        """``array_merge($_GET, $_POST)`` with PHP's ``max_input_vars`` applied to each source."""
        limit = self.settings.max_input_vars
        get, _ = parse_pairs(split_query(request.environ.get("QUERY_STRING", "")), limit)
        post: dict = {}
        if request.method == "POST":
            if request.mimetype == "multipart/form-data":
                post, _ = parse_pairs(request.form.items(multi=True), limit)
            else:
                body = request.get_data(as_text=True)
                post, _ = parse_pairs(split_query(body), limit)
        return php_array_merge(get, post)

    def rest(self, request: Request, fault: str) -> Response:
        params = self.request_params(request)
        fmt = "json" if params.pop("moodlewsrestformat", None) == "json" else "xml"
        token = params.pop("wstoken", None)
        fname = params.pop("wsfunction", None)
        for key in [k for k in params if isinstance(k, str) and k.startswith("moodlewssetting")]:
            params.pop(key)
        self._log(request, request.path, fname if isinstance(fname, str) else None, params, fault)
        cache_key = self._cache_key(token, fname, params, fmt)
        if cache_key is not None:
            cached = self._response_cache.get(cache_key)
            if cached is not None:
                return Response(cached, status=200, content_type=JSON_TYPE)
        try:
            result = self.call(token if isinstance(token, str) else "", fname if isinstance(fname, str) else "",
                               params)
            body = dumps(result) if fmt == "json" else xml_response(result)
            if cache_key is not None:
                self._cache_store(cache_key, body)
        except errors.MoodleError as exc:
            err = exc.as_dict(self.settings.debug)
            body = dumps(err) if fmt == "json" else xml_error(err)
        return Response(body, status=200, content_type=JSON_TYPE if fmt == "json" else XML_TYPE)

    def _cache_key(self, token, fname, params, fmt):
        """Key of a cacheable read (see ``SandboxSettings.response_cache``); a write clears the cache."""
        if not self.settings.response_cache or not isinstance(fname, str):
            return None
        fn = self.known_function(fname)
        if fn is None:
            return None
        with self._cache_lock:
            if fn.write or self._response_cache_version != self.store.version:
                self._response_cache.clear()
                self._response_cache_size = 0
                self._response_cache_version = self.store.version
        if fn.write:
            return None
        return (token, fname, fmt, repr(sorted(params.items(), key=lambda kv: str(kv[0]))))

    def _cache_store(self, key, body) -> None:
        with self._cache_lock:
            if self._response_cache_size + len(body) <= self.settings.response_cache_bytes:
                self._response_cache[key] = body
                self._response_cache_size += len(body)

    def authenticate(self, conn, token: str):
        """``webservice::authenticate_user`` for a permanent token."""
        row = conn.execute("SELECT * FROM external_tokens WHERE token = ?", (token,)).fetchone()
        if row is None:
            raise errors.invalid_token()
        if row["validuntil"] and row["validuntil"] < time.time():
            # Moodle deletes an expired token when it is used.
            with self.store.transaction(conn):
                conn.execute("DELETE FROM external_tokens WHERE id = ?", (row["id"],))
            raise errors.access_exception("Invalid token - token expired - check validuntil time for the token")
        user = conn.execute("SELECT * FROM user WHERE id = ? AND deleted = 0", (row["userid"],)).fetchone()
        if user is None:
            raise errors.MissingRecord("user", "SELECT * FROM {user} WHERE id = ? AND deleted = ?",
                                       [row["userid"], 0])
        service = conn.execute("SELECT * FROM external_services WHERE id = ? AND enabled = 1",
                               (row["externalserviceid"],)).fetchone()
        if service is None:
            raise errors.access_exception("Web service is not available (it doesn't exist or might be disabled)")
        if not user["confirmed"]:
            raise errors.moodle_exception("usernotconfirmed", f"The user {user['username']} is not confirmed")
        if user["suspended"]:
            raise errors.moodle_exception(
                "wsaccessusersuspended", f"Refused web service access for suspended username: {user['username']}")
        if user["auth"] == "nologin":
            raise errors.moodle_exception(
                "wsaccessusernologin",
                f"Refused web service access for nologin authentication username: {user['username']}")
        return row, user, service

    def call(self, token: str, fname: str, params: dict):
        with self.store.connection() as conn:
            tok, user, service = self.authenticate(conn, token)
            fn = self.known_function(fname)
            if fn is None:
                raise errors.MissingRecord("external_functions", "SELECT * FROM {external_functions} WHERE name = ?",
                                           [fname])
            allowed = conn.execute("SELECT 1 FROM external_services_functions WHERE externalserviceid = ?"
                                   " AND functionname = ?", (service["id"], fname)).fetchone()
            if not allowed:
                raise errors.access_exception(
                    f"Access to the function {fname}() is not allowed. Please check if a service containing the "
                    "function is enabled. In the service settings: if the service is restricted check that the user "
                    "is listed. Still in the service settings check for IP restriction or if the service requires "
                    "a capability.")
            from .validation import validate

            args = validate(fn.params, params)
            ctx = CallContext(conn, self, user, tok, service)
            if fn.transaction:
                with self.store.transaction(conn):
                    return fn.handler(ctx, **args)
            return fn.handler(ctx, **args)
