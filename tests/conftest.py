"""Fixtures shared by the whole suite.

Every test runs with:
* ``QT_QPA_PLATFORM=offscreen`` (set before anything imports Qt; without a display
  Qt would abort the whole run),
* an in-memory keyring pinned with ``keyring.set_keyring`` (never the machine's keychain),
* ``LMS_CONSOLE_CONFIG_DIR`` / ``LMS_CONSOLE_DATA_DIR`` pointing into the test's tmp dir,
  and no ``LMS_CONSOLE_TOKEN`` from the outer environment.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import keyring  # noqa: E402
import pytest  # noqa: E402
from keyring.backend import KeyringBackend  # noqa: E402
from keyring.errors import PasswordDeleteError  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent


# The slowest files first (--dist loadfile hands out whole files in collection order): the bundle build (CI:
# minutes of pip, disk and PyInstaller) then starts on its own worker at once and overlaps the rest of the
# suite, and no long file is left for one worker alone at the end. Measured: 30-50 s each, the build ~200 s.
FIRST_FILES = ("test_packaging.py", "test_cli_apply.py", "test_sync.py", "test_cli_sync.py", "test_changes.py",
               "test_app_profiles.py")


def pytest_collection_modifyitems(config, items):
    first = {name: n for n, name in enumerate(FIRST_FILES)}
    items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: the rest keep their order


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict (negative priority: keyring's auto-detection never picks it)."""

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("No such password!") from None


@pytest.fixture(autouse=True)
def memory_keyring() -> MemoryKeyring:
    """The keyring every test uses: a fresh dict. Inspect ``.passwords`` to see what was stored."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The test's config dir (also in ``$LMS_CONSOLE_CONFIG_DIR``); not created in advance."""
    return tmp_path / "config"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The test's data dir for caches (also in ``$LMS_CONSOLE_DATA_DIR``); not created in advance."""
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, config_dir: Path, data_dir: Path) -> None:
    monkeypatch.setenv("LMS_CONSOLE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("LMS_CONSOLE_DATA_DIR", str(data_dir))
    for name in ("LMS_CONSOLE_TOKEN", "LMS_CONSOLE_TOKEN_PROFILE", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_leaked_threads_or_windows(request):
    """Fail a test that leaves a (non-daemon) thread running or a top-level widget open.

    Module- and session-scoped fixtures (shared sandbox servers) run daemon threads, so
    only non-daemon threads started during the test count.
    """
    import threading
    import time

    before = {t.ident for t in threading.enumerate()}
    windows_before = _top_level_pointers()
    yield
    deadline = time.monotonic() + 5.0
    leaked = []
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate()
                  if t.ident not in before and t.is_alive() and not t.daemon]
        if not leaked:
            break
        time.sleep(0.02)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"
    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            import gc

            open_windows = _visible_top_levels(app)
            names = [type(w).__name__ for w in open_windows]
            for w in open_windows:
                w.close()
            _delete_new_hidden_windows(app, windows_before)
            # Only now, with the test's windows deleted by Qt, collect the test's reference cycles.
            gc.collect()
            assert not open_windows, f"test left top-level widgets open: {names}"


def _top_level_pointers() -> set[int]:
    if "PySide6.QtWidgets" not in sys.modules:
        return set()
    import gc

    import shiboken6
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return set()
    gc.disable()
    try:
        return {shiboken6.getCppPointer(w)[0] for w in app.topLevelWidgets()}
    finally:
        gc.enable()


def _delete_new_hidden_windows(app, before: set[int]) -> None:
    """Delete the parentless windows this test created and left hidden (closed dialogs, menus,
    panes built without qtbot). Kept alive, every later test paid for them: an application style
    sheet change re-polishes every widget, and the suite had grown to 15,000 widgets by its end."""
    import gc

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent

    gc.disable()
    try:
        for w in app.topLevelWidgets():
            if w.parentWidget() is None and shiboken6.getCppPointer(w)[0] not in before:
                w.deleteLater()
    finally:
        gc.enable()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _visible_top_levels(app) -> list:
    """The visible top-level widgets, after the closed ones (WA_DeleteOnClose, deleteLater()) are really gone.

    Qt deletes them here, not Python's cycle collector: a window whose wrapper is only held by
    a reference cycle (a signal lambda, a test frame kept by a traceback) must never be freed by
    gc.collect() while its C++ object is alive. With PySide6 6.11 the collector may tp_clear the
    wrappers PySide makes for QWidgetItems (QLayout.addLayout on a layout already set on a widget)
    before the window's: that hands the item back to Python, which deletes it while the nested
    layout still lists it, and the window's destructor then deletes it again (a segfault in
    ~QBoxLayout inside gc.collect()). Qt deleting the window first invalidates all those wrappers.
    The walk runs with the collector off: a collection during it could delete a window under it.
    """
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.disable()
    try:
        return [w for w in app.topLevelWidgets() if w.isVisible()]
    finally:
        gc.enable()


@pytest.fixture
def go_online(qtbot):
    """``go_online(session, server, entities=(), *, cache_from=None) -> Profile``: add a profile for the
    sandbox ``server``, open it in ``session`` (a ConnectionSession) and wait until it is online; then
    sync ``entities`` and wait for the sync to finish. ``cache_from``: a synced cache file to start from
    (copied, so a module can sync once and each test gets its own copy)."""
    import shutil

    from lms_console.models.session import Online
    from lms_console.services.credentials import Secret
    from lms_console.services.profiles import ProfileStore

    def go(session, server, entities=(), *, cache_from=None):
        profile = ProfileStore().add("site", server.url)
        if cache_from is not None:
            profile.cache_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(cache_from, profile.cache_path)
        session.open(profile, Secret(server.admin_token))
        qtbot.waitUntil(lambda: session.state.status == Online.ONLINE, timeout=10000)
        if entities:
            with qtbot.waitSignal(session.sync_finished, timeout=60000):
                session.sync(tuple(entities))
        return profile

    return go


def synced_cache_file(server, path, entities=None) -> Path:
    """Sync the sandbox ``server`` into a new cache file at ``path`` (outside Qt: for module-scoped
    templates that ``go_online(..., cache_from=path)`` copies)."""
    from concurrent.futures import ThreadPoolExecutor

    from lms_console.services.cache.db import CacheDb
    from lms_console.services.cache.writer import CacheWriter
    from lms_console.services.lms.http import HttpTransport
    from lms_console.services.lms.moodle import MoodleClient
    from lms_console.services.sync import DEFAULT_ENTITIES, SyncEngine, SyncOptions

    transport = HttpTransport(server.url)
    try:
        with CacheDb.open(path) as db, CacheWriter(db) as writer, ThreadPoolExecutor(4) as pool:
            result = SyncEngine(MoodleClient(transport, server.admin_token), db, writer, pool,
                                SyncOptions(entities=entities or DEFAULT_ENTITIES, concurrency=4)).run()
    finally:
        transport.close()
    assert result.status == "ok", result
    return path


@pytest.fixture(scope="module")
def synced_template():
    """``synced_template(server, path, entities=None)``: :func:`synced_cache_file` as a fixture."""
    return synced_cache_file
