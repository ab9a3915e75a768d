"""``lms-console --self-test``: prove that this installation (a source checkout or the frozen
desktop bundle) can do what the console does, without a screen and without touching the user's
files or keychain.

Steps, in order (a failure names its step on stderr and exits 1)::

    start     offscreen Qt, a temporary config/data dir, a throwaway in-memory keyring
    window    the real composition root (ConsoleApp) builds and completes its main window
    sandbox   the local sandbox LMS starts in a subprocess (users=200, courses=4)
    sync      the console opens the demo profile and syncs the sandbox into a fresh cache
    panes     every pane registered in the main window, and every kind of navigation target, opens
    chart     pandas + matplotlib draw a chart to PNG (Agg), and on the Qt canvas when available
    keyring   a token is written, read back and deleted through KeyringTokenStore, in the throwaway
              store; keyring's backends (Secret Service, ...) are importable
    shutdown  the window closes, the sandbox stops, the temporary dir is removed

Panes are discovered at run time from the main window, so panes added later are covered too.
Nothing is written to the user's config or data dirs, and the real OS keychain is never asked:
``keyring.set_keyring`` pins an in-memory backend before anything can look one up.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import TextIO

SELFTEST_USERS = 200
SELFTEST_COURSES = 4
STEPS = ("start", "window", "sandbox", "sync", "panes", "chart", "keyring", "shutdown")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYRING_SERVICE = "lms-console-self-test"
OFFSCREEN_NOISE = frozenset({"This plugin does not support propagateSizeHints()",
                             "This plugin does not support raise()"})


class StepFailed(Exception):
    """A self-test step failed; ``step`` is its name."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


def _throwaway_keyring_class():
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class ThrowawayKeyring(KeyringBackend):
        """Secrets in a dict of this process; gone when the self-test ends.

        Negative priority: keyring's auto-detection never picks it for anyone else.
        """

        priority = -1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self._passwords: dict[tuple[str, str], str] = {}

        def get_password(self, service, username):
            return self._passwords.get((service, username))

        def set_password(self, service, username, password):
            self._passwords[(service, username)] = password

        def delete_password(self, service, username):
            if self._passwords.pop((service, username), None) is None:
                raise PasswordDeleteError("No such password")

    return ThrowawayKeyring


class _SmallSite:
    """A small sandbox site in a subprocess; stands in for ConsoleApp's DemoSite."""

    def __init__(self, folder: str, users: int, courses: int, timeout: float) -> None:
        self.folder, self.users, self.courses, self.timeout = folder, users, courses, timeout
        self.process = None
        self.error: BaseException | None = None

    def start(self, progress=None, cancel=None):
        from lms_console.sandbox import SandboxProcess

        try:
            self.process = SandboxProcess(users=self.users, courses=self.courses,
                                          path=os.path.join(self.folder, "site.sqlite"),
                                          startup_timeout=self.timeout).start()
        except BaseException as exc:
            self.error = exc
            raise
        return self.process.url, self.process.admin_token

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


class SelfTest:
    """Runs the steps; :meth:`run` returns the exit code."""

    def __init__(self, out: TextIO, err: TextIO, *, users: int = SELFTEST_USERS,
                 courses: int = SELFTEST_COURSES, timeout: float = 180.0) -> None:
        self.out, self.err = out, err
        self.users, self.courses, self.timeout = users, courses, timeout
        self.step = "start"
        self.notes: list[str] = []
        self._bugs: list[str] = []
        self._seen: dict[int, BaseException] = {}
        self._problems: list[str] = []
        self._cleanups: list[Callable[[], None]] = []
        self.app = self.console = self.site = None
        self.sync_result = None
        self.overview = None

    # -- driver -------------------------------------------------------------------------
    def run(self) -> int:
        started = time.monotonic()
        failure: StepFailed | None = None
        try:
            for name in STEPS[:-1]:
                self._run_step(name, getattr(self, f"step_{name.replace('-', '_')}"))
        except StepFailed as exc:
            failure = exc
        finally:
            try:
                self._run_step("shutdown", self.step_shutdown)
            except StepFailed as exc:
                failure = failure or exc
        if failure is not None:
            print(f"self-test failed at step '{failure.step}': {failure.message}", file=self.err, flush=True)
            return 1
        print(f"self-test passed: {len(STEPS)} steps in {time.monotonic() - started:.1f} s", file=self.out,
              flush=True)
        return 0

    def _run_step(self, name: str, fn: Callable[[], str | None]) -> None:
        self.step = name
        t0 = time.monotonic()
        try:
            detail = fn()
            self._raise_recorded()
        except StepFailed:
            raise
        except BaseException as exc:  # every failure names its step
            if isinstance(exc, KeyboardInterrupt):
                raise StepFailed(name, "interrupted") from exc
            raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc
        took = time.monotonic() - t0
        print(f"self-test: {name:<8} ok  {took:5.1f} s" + (f"  {detail}" if detail else ""), file=self.out,
              flush=True)

    def _record_bug(self, text: str, exc: BaseException | None = None) -> None:
        if exc is not None:
            # One exception can arrive twice (a job's failure, then the crash dialog's report), and
            # the sandbox's own start error is reported by the sandbox step.
            if id(exc) in self._seen or (self.site is not None and exc is self.site.error):
                return
            self._seen[id(exc)] = exc
        self._bugs.append(text)

    def _raise_recorded(self) -> None:
        if self._bugs:
            bugs, self._bugs = self._bugs, []
            raise StepFailed(self.step, "unexpected error: " + "; ".join(bugs))

    def wait(self, done: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        """Run the event loop until ``done()``; fail on timeout, on a bug, or on a problem shown."""
        from PySide6.QtCore import QEventLoop

        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            self._raise_recorded()
            if done():
                return
            if self._problems:
                raise StepFailed(self.step, f"{what} failed: {self._problems[-1]}")
            if time.monotonic() > deadline:
                raise StepFailed(self.step, f"{what} did not happen within {limit:.0f} s")
            time.sleep(0.005)

    def settle(self, seconds: float = 0.1) -> None:
        """Let queued work (model loads, deferred layouts) run for a moment."""
        from PySide6.QtCore import QEvent, QEventLoop

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
        self.app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        self._raise_recorded()

    # -- steps ------------------------------------------------------------------------------
    def step_start(self) -> str:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        self.tmp = tempfile.mkdtemp(prefix="lms-console-self-test-")
        self._cleanups.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        # Config, caches and the sandbox's data go to the temporary dir, never the user's dirs.
        from lms_console.services.paths import CONFIG_DIR_ENV, DATA_DIR_ENV

        for name, sub in ((CONFIG_DIR_ENV, "config"), (DATA_DIR_ENV, "data")):
            self._set_env(name, os.path.join(self.tmp, sub))
        self._set_env("LMS_CONSOLE_TOKEN", None)
        # The keychain: a throwaway in-memory backend, pinned before anything looks one up.
        import keyring
        import keyring.core

        previous = getattr(keyring.core, "_keyring_backend", None)
        self.keyring = _throwaway_keyring_class()()
        keyring.set_keyring(self.keyring)
        if previous is not None:
            self._cleanups.append(lambda: keyring.set_keyring(previous))

        previous_hook = sys.excepthook

        def hook(exc_type, exc, tb):
            self._record_bug(f"{exc_type.__name__}: {exc}")
            previous_hook(exc_type, exc, tb)

        sys.excepthook = hook
        self._cleanups.append(lambda: setattr(sys, "excepthook", previous_hook))

        from PySide6.QtCore import qInstallMessageHandler
        from PySide6.QtWidgets import QApplication

        previous_handler = None

        def on_qt_message(mode, context, message):
            # The offscreen platform cannot do these window-manager requests: not bugs.
            if message in OFFSCREEN_NOISE:
                return
            if previous_handler is not None:
                previous_handler(mode, context, message)
            else:
                print(message, file=sys.stderr, flush=True)

        previous_handler = qInstallMessageHandler(on_qt_message)
        self._cleanups.append(lambda: qInstallMessageHandler(previous_handler))

        app = QApplication.instance()
        if app is None:
            app = QApplication(sys.argv[:1])
            app.setApplicationName("LMS Console")
            app.setOrganizationName("lms-console")
            app.setDesktopFileName("lms-console")
        self.app = app
        return f"Qt {_qt_version()} on '{app.platformName()}', Python {sys.version.split()[0]}" + (
            ", frozen" if getattr(sys, "frozen", False) else "")

    def _set_env(self, name: str, value: str | None) -> None:
        old = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

        def restore() -> None:
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old

        self._cleanups.append(restore)

    def step_window(self) -> str:
        from lms_console.app import ConsoleApp

        self.site = _SmallSite(os.path.join(self.tmp, "site"), self.users, self.courses, self.timeout)
        os.makedirs(self.site.folder, exist_ok=True)
        console = self.console = ConsoleApp(self.app)
        console.demo = self.site  # the demo flow of --demo, on a small site in the temporary dir
        session = console.session
        session.sync_finished.connect(self._on_sync_finished)
        session.problem_occurred.connect(lambda exc: self._problems.append(f"{type(exc).__name__}: {exc}"))
        console.runner.job_failed.connect(self._on_job_failed)
        console.start()
        window = console.window
        self.wait(lambda: window.completed and hasattr(console, "change_views"), "the main window")
        from lms_console.views import crash_handler

        crash_handler.handler().crash_reported.connect(
            lambda report: self._record_bug(report.summary, report.exception))
        window.overview_model.loaded.connect(self._on_overview)
        if not window.isVisible():
            raise StepFailed("window", "the main window is not shown")
        return f"{type(window).__name__} {window.width()}x{window.height()}"

    def _on_job_failed(self, info, exc) -> None:
        if info.name == "demo-site":
            if self.site is not None and self.site.error is None:
                self.site.error = exc
        elif getattr(info, "is_bug", False):
            self._record_bug(f"job {info.name!r}: {type(exc).__name__}: {exc}", exc)

    def _on_sync_finished(self, result) -> None:
        self.sync_result = result

    def _on_overview(self, data) -> None:
        self.overview = data

    def step_sandbox(self) -> str:
        from lms_console.models.session import Online

        session = self.console.session
        self.wait(lambda: self.site.process is not None or self.site.error is not None, "the sandbox start")
        if self.site.error is not None:
            raise StepFailed("sandbox", f"{type(self.site.error).__name__}: {self.site.error}")
        self.wait(lambda: session.is_open, "opening the demo profile")
        self.wait(lambda: session.state.status == Online.ONLINE, "connecting to the sandbox", timeout=60)
        return f"{self.site.process.url} ({self.users} users, {self.courses} courses)"

    def step_sync(self) -> str:
        self.wait(lambda: self.sync_result is not None, "the sync")
        result = self.sync_result
        if result.status != "ok":
            errors = [f"{e.entity}: {err}" for e in result.entities for err in e.errors[:1]]
            reason = result.error or "; ".join(errors[:3]) or result.status
            raise StepFailed("sync", f"the sync ended '{result.status}': {reason}")
        self.wait(lambda: self.overview is not None and self.overview.counts.get("users", 0) > 0,
                  "the overview of the synced cache", timeout=30)
        counts = self.overview.counts
        if counts.get("courses", 0) < self.courses:
            raise StepFailed("sync", f"the cache holds {counts.get('courses', 0)} courses, "
                                     f"expected at least {self.courses}")
        return (f"{counts.get('users', 0)} users, {counts.get('courses', 0)} courses, "
                f"{counts.get('enrolments', 0)} enrolments, {result.requests} requests")

    def step_panes(self) -> str:
        window = self.console.window
        panes = registered_panes(window)
        if not panes:
            raise StepFailed("panes", "the main window has no panes")
        opened = []
        for key, pane in panes:
            self.step = "panes"
            try:
                self._open_pane(window, key, pane)
            except StepFailed as exc:
                raise StepFailed("panes", f"pane '{key}': {exc.message}") from None
            except Exception as exc:
                raise StepFailed("panes", f"pane '{key}': {type(exc).__name__}: {exc}") from exc
            opened.append(key)
        # Every kind of navigation target (courses, cohorts, ...), whichever pane shows it.
        kinds = []
        for kind in navigation_kinds(window):
            try:
                window.go_to(kind)
                self.settle(0.05)
                self._wait_idle()
            except Exception as exc:
                raise StepFailed("panes", f"navigating to '{kind}': {type(exc).__name__}: {exc}") from exc
            kinds.append(kind)
        return f"{len(opened)} panes ({', '.join(opened)}); targets: {', '.join(kinds) or 'none'}"

    def _open_pane(self, window, key: str, pane) -> None:
        if window.nav_model.find(key).isValid():
            window.go_to(key)  # through the navigation tree: the pane also gets its target
        else:
            window.show_pane(key)
        self.settle(0.05)
        self._wait_idle()
        if window.stack.currentWidget() is not pane:
            current = window.stack.currentWidget()
            raise StepFailed("panes", f"the window shows {type(current).__name__} instead")
        if not pane.isVisible():
            raise StepFailed("panes", "not visible")
        if pane.grab().isNull():
            raise StepFailed("panes", "could not be drawn")

    def _wait_idle(self, timeout: float = 30.0) -> None:
        runner = self.console.runner
        self.wait(lambda: not runner.running(), "background work of the pane", timeout=timeout)

    def step_chart(self) -> str:
        import pandas as pd
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        counts = self.overview.counts if self.overview is not None else {}
        frame = pd.DataFrame({"entity": list(counts), "rows": list(counts.values())}).sort_values("rows")
        fig = Figure(figsize=(5, 3), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        ax.barh(frame["entity"], frame["rows"])
        ax.set_title("Self-test: cached rows")
        buf = io.BytesIO()
        FigureCanvasAgg(fig).print_png(buf)
        png = buf.getvalue()
        if not png.startswith(PNG_SIGNATURE) or len(png) < 1000:
            raise StepFailed("chart", f"the Agg canvas wrote no PNG ({len(png)} bytes)")
        from PySide6.QtGui import QImage

        image = QImage.fromData(png, "PNG")
        if image.isNull() or (image.width(), image.height()) != (500, 300):
            raise StepFailed("chart", f"the PNG does not decode to 500x300 ({image.width()}x{image.height()})")
        detail = f"Agg PNG {len(png):,} bytes"
        try:
            from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        except ImportError as exc:
            self.notes.append(f"no Qt canvas: {exc}")
            return detail + "; Qt canvas not available"
        canvas = FigureCanvasQTAgg(fig)
        try:
            canvas.resize(500, 300)
            canvas.draw()
            if canvas.grab().isNull() or not bytes(canvas.buffer_rgba()):
                raise StepFailed("chart", "the Qt canvas drew nothing")
        finally:
            canvas.deleteLater()
            self.settle(0.02)
        return detail + "; Qt canvas (backend_qtagg) drawn"

    def step_keyring(self) -> str:
        import keyring

        from lms_console.services.credentials import KeyringTokenStore, Secret

        if keyring.get_keyring() is not self.keyring:
            raise StepFailed("keyring", f"the throwaway keyring is not the one in use ({keyring.get_keyring()!r})")
        store = KeyringTokenStore(KEYRING_SERVICE)
        token = secrets.token_hex(16)
        store.set("self-test", token)
        if store.get("self-test") != Secret(token):
            raise StepFailed("keyring", "the token read back differs from the one written")
        store.delete("self-test")
        if store.get("self-test") is not None:
            raise StepFailed("keyring", "the token is still there after delete")
        # The backends keyring would pick on a desktop must be importable (bundled with their
        # dependencies, and discoverable through keyring's entry points).
        backends = keyring_backend_modules()
        if not backends:
            raise StepFailed("keyring", "keyring finds no backends (is keyring's metadata bundled?)")
        import importlib

        loaded = []
        for module in backends:
            importlib.import_module(module)
            loaded.append(module.rsplit(".", 1)[-1])
        if sys.platform.startswith("linux"):
            from keyring.backends import SecretService

            # keyring imports secretstorage (and with it jeepney) inside a try: check it succeeded.
            if getattr(SecretService, "secretstorage", None) is None:
                raise StepFailed("keyring", "the Secret Service backend cannot load secretstorage/jeepney")
        return f"set/get/delete in the throwaway store; backends importable: {', '.join(loaded)}"

    def step_shutdown(self) -> str:
        detail = ""
        errors: list[str] = []
        console = self.console
        if console is not None:
            try:
                console.window.close()
                console.shutdown()
                self.settle(0.05)
            except Exception as exc:  # noqa: BLE001 - still clean up the rest
                errors.append(f"{type(exc).__name__}: {exc}")
            site_alive = self.site is not None and self.site.process is not None
            if site_alive:
                errors.append("the sandbox did not stop")
                self.site.stop()
            console.window.deleteLater()
            with contextlib.suppress(Exception):
                self.settle(0.02)
            self.console = None
            detail = "window closed, sandbox stopped"
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")
        self._cleanups.clear()
        self._bugs.clear()
        if getattr(self, "tmp", None) and os.path.exists(self.tmp):
            errors.append(f"the temporary dir {self.tmp} was not removed")
        if errors:
            raise StepFailed("shutdown", "; ".join(errors))
        return detail + (", temporary files removed" if detail else "temporary files removed")


# -- discovery (also used by the tests) ----------------------------------------------------------
def registered_panes(window) -> list[tuple[str, object]]:
    """The panes registered in the main window (``register_pane``), in registration order."""
    panes = getattr(window, "panes", None)
    if callable(panes):
        panes = panes()
    if panes is None:
        panes = getattr(window, "_panes", None)
    if isinstance(panes, dict):
        return list(panes.items())
    stack = window.stack  # fallback: every widget in the pane stack
    return [(type(stack.widget(i)).__name__, stack.widget(i)) for i in range(stack.count())]


def navigation_kinds(window) -> list[str]:
    """The distinct target kinds in the navigation tree (overview, users, course, ...)."""
    from lms_console.models.nav_model import TargetRole

    model, kinds = window.nav_model, []
    stack = [model.index(r, 0) for r in range(model.rowCount())]
    while stack:
        index = stack.pop(0)
        target = model.data(index, TargetRole)
        kind = getattr(target, "kind", None)
        if kind and kind not in kinds:
            kinds.append(kind)
        stack.extend(model.index(r, 0, index) for r in range(model.rowCount(index)))
    return kinds


def keyring_backend_modules() -> list[str]:
    """Modules of the keyring backends announced through the ``keyring.backends`` entry points."""
    from importlib.metadata import entry_points

    return sorted({ep.value.split(":")[0] for ep in entry_points(group="keyring.backends")})


def _qt_version() -> str:
    from PySide6.QtCore import qVersion

    return qVersion()


def run(args=None, *, out: TextIO | None = None, err: TextIO | None = None, **options) -> int:
    """Entry of ``lms-console --self-test``: 0 when every step passed, 1 otherwise."""
    return SelfTest(out or sys.stdout, err or sys.stderr, **options).run()
