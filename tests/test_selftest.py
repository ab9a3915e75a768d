"""``lms-console --self-test`` from source: offscreen, against a real sandbox subprocess, in < 30 s."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import keyring
import pytest

from lms_console import selftest

# The offscreen platform says so about window-manager requests; not bugs (see tests/views/conftest.py).
pytestmark = pytest.mark.qt_log_ignore(r"^This plugin does not support (propagateSizeHints|raise)\(\)$")


@pytest.fixture
def gui_state(qapp):
    """The self-test applies a theme and installs crash hooks: give the global GUI state back."""
    from lms_console.views import crash_handler, icons, theme

    palette, sheet = qapp.palette(), qapp.styleSheet()
    current, dark = theme.current_theme(), icons.icon_theme_is_dark()
    hooks = (sys.excepthook, threading.excepthook)
    yield qapp
    crash_handler.uninstall()
    crash_handler.clear_secrets()
    assert (sys.excepthook, threading.excepthook) == hooks, "the self-test left its hooks installed"
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    theme._state["current"] = current
    icons.set_icon_theme(dark)


def _leftover_temp_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("lms-console-self-test-*")}


def _run(**options) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    code = selftest.run(None, out=out, err=err, **options)
    return code, out.getvalue(), err.getvalue(), time.monotonic() - t0


def test_self_test_passes_offscreen_and_leaves_nothing_behind(gui_state, memory_keyring, config_dir, data_dir,
                                                               monkeypatch):
    from PySide6.QtWidgets import QLabel

    from lms_console.views.main_window import MainWindow

    # A pane registered by code the self-test does not know about is opened too.
    complete = MainWindow.complete

    def complete_with_an_extra_pane(window):
        complete(window)
        if "extra" not in window._panes:
            window.register_pane("extra", QLabel("an extra pane"))

    monkeypatch.setattr(MainWindow, "complete", complete_with_an_extra_pane)
    env_before = {k: os.environ.get(k) for k in ("LMS_CONSOLE_CONFIG_DIR", "LMS_CONSOLE_DATA_DIR")}
    temp_before = _leftover_temp_dirs()

    code, out, err, seconds = _run()

    assert code == 0, f"stdout:\n{out}\nstderr:\n{err}"
    assert err == ""
    for step in selftest.STEPS:
        assert f"self-test: {step:<8} ok" in out
    assert "self-test passed: 8 steps" in out
    panes_line = next(line for line in out.splitlines() if line.startswith("self-test: panes"))
    for key in ("overview", "journal", "extra"):
        assert key in panes_line
    assert "backend_qtagg" in out
    assert seconds < 30, f"the self-test took {seconds:.1f} s"
    # The throwaway keyring was only borrowed: the pinned one is back, and nothing was stored in it.
    assert keyring.get_keyring() is memory_keyring
    assert memory_keyring.passwords == {}
    # Nothing went to the (test's) user dirs, the environment is as it was, the temp dir is gone.
    assert not config_dir.exists() and not data_dir.exists()
    assert {k: os.environ.get(k) for k in env_before} == env_before
    assert _leftover_temp_dirs() <= temp_before


def test_a_failing_step_is_named_on_stderr(gui_state, monkeypatch):
    from lms_console.sandbox import SandboxProcess

    def refuse(self):
        raise RuntimeError("no free port")

    monkeypatch.setattr(SandboxProcess, "start", refuse)

    code, out, err, _seconds = _run(timeout=30)

    assert code == 1
    assert err.strip() == "self-test failed at step 'sandbox': RuntimeError: no free port"
    assert "self-test: window   ok" in out
    assert "self-test: shutdown ok" in out  # cleaned up after the failure


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_pane_fails_the_panes_step_naming_the_pane(gui_state, monkeypatch):
    from PySide6.QtWidgets import QWidget

    from lms_console.views.main_window import MainWindow

    class BrokenPane(QWidget):
        def showEvent(self, event):  # noqa: N802 - Qt override
            raise ValueError("cannot show")

    complete = MainWindow.complete

    def complete_with_a_broken_pane(window):
        complete(window)
        window.register_pane("broken", BrokenPane())

    monkeypatch.setattr(MainWindow, "complete", complete_with_a_broken_pane)

    code, out, err, _seconds = _run(timeout=60)

    assert code == 1
    assert err.startswith("self-test failed at step 'panes': pane 'broken': ")
    assert "ValueError" in err and "cannot show" in err
    assert "self-test: sync     ok" in out


def test_registered_panes_fall_back_to_the_pane_stack(qtbot):
    from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

    class Window(QWidget):
        def __init__(self):
            super().__init__()
            self.stack = QStackedWidget(self)
            self.stack.addWidget(QLabel("one"))

    window = Window()
    qtbot.addWidget(window)
    assert [key for key, _pane in selftest.registered_panes(window)] == ["QLabel"]
