"""``SandboxServer``: the sandbox LMS on 127.0.0.1 in a background thread of this process.

Usage::

    with SandboxServer(users=500, courses=10) as lms:
        requests.post(lms.url + "/webservice/rest/server.php", data={
            "wstoken": lms.admin_token, "wsfunction": "core_webservice_get_site_info",
            "moodlewsrestformat": "json"})

The server is werkzeug's threaded server, so injected latency sleeps in the
request's own thread and never blocks the others.  It binds 127.0.0.1 only.
"""

from __future__ import annotations

import secrets
import threading
import time

from werkzeug.serving import WSGIRequestHandler, make_server

from . import activity, control
from .app import SandboxApp
from .seed import seed as seed_site
from .settings import SandboxSettings
from .store import Store

HOST = "127.0.0.1"


class _Handler(WSGIRequestHandler):
    """Quiet request handler that closes the socket when the app drops a connection."""

    def log_request(self, *args, **kwargs) -> None:  # noqa: D401 - silence per-request logging
        pass

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        if type == "error" and "fault:" not in message:
            super().log(type, message, *args)

    def connection_dropped(self, error, environ=None) -> None:
        # Do not wait for another request on this socket: close it with nothing sent.
        self.close_connection = True


class SandboxServer:
    """A seeded sandbox site served over real HTTP on 127.0.0.1."""

    def __init__(self, path=None, users: int = 2000, courses: int = 40, seed: int = 1, port: int = 0,
                 settings: SandboxSettings | None = None, enrolments_per_user: float = 5.0, now: int | None = None):
        self.path = path
        self.users, self.courses, self.seed = users, courses, seed
        self.enrolments_per_user = enrolments_per_user
        self.now = now
        self.port = port
        self.settings = settings or SandboxSettings()
        self.control_secret = self.settings.control_secret or secrets.token_hex(16)
        self.store: Store | None = None
        self.app: SandboxApp | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self.admin_token = self.limited_token = self.expired_token = ""
        self._stopped = threading.Event()
        self._dying: threading.Thread | None = None  # the thread that stops the listener on "die"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "SandboxServer":
        self.store = Store(self.path)
        with self.store.connection() as conn:
            seeded = conn.execute("SELECT COUNT(*) FROM user").fetchone()[0] > 0
            complete = self.store.get_config(conn, "seed_complete") == "1"
        if seeded and not complete:
            # An earlier seed of this file was interrupted: start again from an empty file.
            self.store.close()
            self.store = Store.recreate(self.path)
            seeded = False
        if not seeded:
            seed_site(self.store, users=self.users, courses=self.courses, seed=self.seed, now=self.now,
                      enrolments_per_user=self.enrolments_per_user, sitename=self.settings.sitename)
        self._read_tokens()
        self.app = SandboxApp(self.store, self.settings, self.control_secret, seed=self.seed)
        self.app.on_die = self._die
        self._server = make_server(HOST, self.port, self.app, threaded=True, request_handler=_Handler)
        self.port = self._server.port
        self.app.site_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-lms", daemon=True)
        self._thread.start()
        return self

    def _read_tokens(self) -> None:
        with self.store.connection() as conn:
            rows = {r["name"]: r["token"] for r in conn.execute("SELECT name, token FROM external_tokens"
                                                                 " WHERE name IN ('admin', 'limited', 'expired')")}
        self.admin_token = rows.get("admin", "")
        self.limited_token = rows.get("limited", "")
        self.expired_token = rows.get("expired", "")

    def _die(self) -> None:
        """"Die after N requests": stop listening (new connections are refused)."""
        self._dying = threading.Thread(target=self._shutdown_listener, args=(self._server,), daemon=True)
        self._dying.start()

    def _shutdown_listener(self, server) -> None:
        # The server is passed in: stop() may clear self._server while this waits in shutdown().
        if server is not None and not self._stopped.is_set():
            self._stopped.set()
            server.shutdown()
            server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            if not self._stopped.is_set():
                self._stopped.set()
                self._server.shutdown()
                self._server.server_close()
            elif self._dying is not None:
                # The listener died on purpose; wait until it has really closed.
                self._dying.join(timeout=10)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- API for tests and tools ---------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def rest_url(self) -> str:
        return self.url + "/webservice/rest/server.php"

    def token_missing_functions(self, names) -> str:
        """A fresh admin token whose service lacks the functions ``names``."""
        return control.token_missing_functions(self.app, list(names))

    def new_expired_token(self) -> str:
        return control.new_token(self.app, 2, int(time.time()) - 3600)

    def new_token(self, userid: int = 2, validuntil: int = 0) -> str:
        return control.new_token(self.app, userid, validuntil)

    def set_faults(self, **faults) -> None:
        self.app.faults.update(**faults)

    def clear_faults(self) -> None:
        from .settings import FaultSettings

        defaults = FaultSettings()
        self.app.faults.update(**{k: getattr(defaults, k) for k in defaults.__dataclass_fields__})

    def update_settings(self, **settings) -> None:
        control.handle_control(self.app, {"action": "set_settings", "settings": settings})

    @property
    def requests(self) -> list[dict]:
        """Every request received so far (token redacted), oldest first."""
        return list(self.app.faults.log)

    def clear_requests(self) -> None:
        self.app.faults.log.clear()

    def simulate_activity(self, fraction: float = 0.05, seed: int = 0, now: int | None = None) -> dict:
        return activity.simulate_activity(self.store, fraction=fraction, seed=seed, now=now)
