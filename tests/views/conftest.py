"""Fixtures for the view tests: sandbox sites, a real TaskRunner, a ConsoleApp, a synced console, and clean-up
of global GUI state.

Themes, icon colours and crash hooks are process-wide; every test here gets them
back as they were so test order never matters.
"""

from __future__ import annotations

import sys
import threading

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from lms_console.app import ConsoleApp
from lms_console.models.changes_model import ChangeEngine
from lms_console.models.profiles_controller import ProfilesController
from lms_console.models.session import ConnectionSession
from lms_console.models.tasks import TaskRunner
from lms_console.sandbox.server import SandboxServer
from lms_console.services.credentials import KeyringTokenStore, SessionFallbackTokenStore
from lms_console.services.profiles import ProfileStore
from lms_console.views import crash_handler, icons, theme
from lms_console.views.changes_wiring import install_change_views
from lms_console.views.dialogs.profiles_dialog import ProfilesDialog
from lms_console.views.main_window import MainWindow

# The offscreen platform plugin cannot do these and says so at WARNING level whenever
# a top-level window with a layout is shown; under xcb they are silent. Only these
# exact messages are ignored, and only in this folder.
OFFSCREEN_NOISE = r"^This plugin does not support (propagateSizeHints|raise)\(\)$"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/views/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(scope="module")
def sandbox_site():
    """``sandbox_site(users=..., courses=..., seed=...)`` -> a started SandboxServer (a real LMS over HTTP on
    127.0.0.1). Module-scoped: the sites a test file starts serve all its tests and stop after its last one."""
    sites: list[SandboxServer] = []

    def start(**size) -> SandboxServer:
        sites.append(SandboxServer(**size).start())
        return sites[-1]

    yield start
    for site in sites:
        site.stop()


@pytest.fixture(scope="module")
def server(sandbox_site):
    """The test file's sandbox site. A file that needs another size defines its own ``server``."""
    return sandbox_site(users=20, courses=2, seed=7)


@pytest.fixture(scope="module")
def other_server(sandbox_site):
    """Another site (its own tokens): where a profile's address is moved to, another profile's site."""
    return sandbox_site(users=10, courses=1, seed=8)


@pytest.fixture(scope="module")
def template(server, synced_template, tmp_path_factory):
    """A cache file with every entity the console syncs by default, synced from ``server`` once per test file:
    a profile opened on a copy of it (``go_online(..., cache_from=template)``) syncs nothing."""
    return synced_template(server, tmp_path_factory.mktemp("template") / "cache.sqlite")


@pytest.fixture
def runner(qapp):
    r = TaskRunner(http_workers=4)
    yield r
    r.shutdown(wait=True)


# -- the Profiles dialog (test_profiles_dialog*.py) -----------------------------------------------------------------
@pytest.fixture
def store(config_dir, data_dir):
    """A ProfileStore in the test's dirs, its tokens in the in-memory keyring (per session without one)."""
    return ProfileStore(config_dir, data_dir, tokens=SessionFallbackTokenStore(KeyringTokenStore()))


@pytest.fixture
def controller(store, runner):
    ctl = ProfilesController(store, store.tokens, runner)
    yield ctl
    ctl.deleteLater()


@pytest.fixture
def open_dialog(qtbot, controller):
    """``open_dialog(name=None)`` -> an opened ProfilesDialog, showing profile ``name`` when given (closed and
    deleted afterwards, its unsaved edits dropped without the question)."""
    dialogs: list[ProfilesDialog] = []

    def make(name: str | None = None) -> ProfilesDialog:
        dialog = ProfilesDialog(controller)
        dialogs.append(dialog)
        dialog.open()
        qtbot.waitExposed(dialog)
        if name is not None:
            dialog.show_profile(name)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.discard()
        dialog.deleteLater()


@pytest.fixture(autouse=True)
def _restore_gui_state(qapp: QApplication):
    palette, sheet = qapp.palette(), qapp.styleSheet()
    current, dark = theme.current_theme(), icons.icon_theme_is_dark()
    hooks = (sys.excepthook, threading.excepthook)
    yield
    crash_handler.uninstall()
    crash_handler.clear_secrets()
    assert (sys.excepthook, threading.excepthook) == hooks, "crash hooks were not restored"
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    theme._state["current"] = current
    icons.set_icon_theme(dark)


@pytest.fixture
def console(qapp, qtbot):
    """A ConsoleApp, not started yet (``console.start()`` shows the window and opens the last profile).
    Afterwards its Profiles dialogs are closed, then the app and its window. A file whose ``console`` is
    something else defines its own."""
    app = ConsoleApp(qapp)
    qtbot.addWidget(app.window)
    yield app
    for dialog in app.window.findChildren(ProfilesDialog):
        dialog.close()
    app.shutdown()
    app.window.close()


@pytest.fixture
def change_console(qtbot, runner, tmp_path, go_online):
    """``change_console(server, entities, setup=None, *, cache_from=None)`` -> (session, engine, window, views,
    extra): a session synced from ``server`` (a running sandbox), the main window and its change views.
    ``setup(window, session, engine)`` installs more views before the sync (its result is ``extra``);
    ``cache_from``: a synced cache file the session starts from (see ``go_online``).

    Afterwards the server's faults are cleared, every open top-level window is closed, then the main window
    and the session."""
    opened = []

    def make(server, entities, setup=None, *, cache_from=None):
        session = ConnectionSession(runner)
        engine = ChangeEngine(session)
        window = MainWindow(session, QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat))
        views = install_change_views(window, engine)
        extra = setup(window, session, engine) if setup is not None else None
        opened.append((server, window, session))
        go_online(session, server, entities, cache_from=cache_from)
        return session, engine, window, views, extra

    yield make
    for server, window, session in opened:
        server.clear_faults()
        for w in QApplication.topLevelWidgets():
            if w.isVisible() and w is not window:
                w.close()
        window.close()
        session.close()


@pytest.fixture
def menus(monkeypatch) -> list:
    """Context menus as they would pop up: (menu, global position). The offscreen platform cannot grab
    the keyboard for a real popup."""
    opened: list = []
    monkeypatch.setattr(QMenu, "popup", lambda menu, pos, _action=None: opened.append((menu, pos)))
    return opened


@pytest.fixture
def press_menu_key():
    """``press_menu_key(view)``: the Menu key on ``view`` as Qt delivers it, a Keyboard context menu
    event at the current row's centre in the view's own coordinates (header included)."""

    def press(view) -> None:
        pos = view.inputMethodQuery(Qt.InputMethodQuery.ImCursorRectangle).center()
        QApplication.sendEvent(view, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, pos, view.mapToGlobal(pos)))

    return press
