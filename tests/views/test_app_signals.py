"""``lms-console --demo`` ended by SIGTERM (a logout, ``kill``, a service manager) shuts down as File > Quit
does: the demo site's subprocess goes with it. A real console process with a real sandbox child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")  # ~5 s each


def _listening_sandbox(console: "psutil.Process", timeout: float):
    """The console's sandbox child once it listens on its port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in console.children(recursive=True):
            try:
                if "lms_console.sandbox" in " ".join(child.cmdline()) and any(
                        c.status == psutil.CONN_LISTEN for c in child.net_connections(kind="inet")):
                    return child
            except psutil.Error:
                pass
        time.sleep(0.2)
    return None


@pytest.mark.parametrize("signum", [signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)],
                         ids=["SIGTERM", "SIGHUP"])
def test_a_signal_ends_the_demo_console_and_its_sandbox(tmp_path, signum):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LMS_CONSOLE_DATA_DIR=str(tmp_path / "data"),
               LMS_CONSOLE_CONFIG_DIR=str(tmp_path / "config"),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    env.pop("LMS_CONSOLE_TOKEN", None)
    # Output to a file, not a pipe: a sandbox left running would hold a pipe open (reading it would hang).
    log = tmp_path / "console.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lms_console", "--demo"], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)
    sandbox = None
    try:
        sandbox = _listening_sandbox(psutil.Process(proc.pid), timeout=120)
        assert sandbox is not None, "the demo site never started"
        time.sleep(1.0)  # the console opens the demo profile and starts syncing it
        started = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=15)
        assert code == 0, log.read_text()[-3000:]
        sandbox.wait(timeout=15 - min(14.0, time.monotonic() - started))  # psutil.TimeoutExpired: still running
        assert not sandbox.is_running()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(15)
        if sandbox is not None and sandbox.is_running():
            sandbox.kill()
