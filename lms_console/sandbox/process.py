"""``SandboxProcess``: a sandbox LMS in a subprocess (for benchmarks and crash tests).

The child runs ``python -m lms_console.sandbox`` (in a frozen desktop bundle,
where ``sys.executable`` is the console itself: ``lms-console sandbox --ready-line``)
and prints one ``SANDBOX_READY {json}`` line; this class waits for it, exposes the URL and
tokens, steers faults through ``POST /_sandbox/control`` and stops (or kills)
the process.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import requests

from .cli import READY_PREFIX


def sandbox_command(args) -> list[str]:
    """The command line that serves a sandbox and prints the ready line, from source or frozen."""
    if getattr(sys, "frozen", False):  # PyInstaller: sys.executable is the lms-console bundle
        return [sys.executable, "sandbox", "--ready-line", *args]
    return [sys.executable, "-m", "lms_console.sandbox", *args]


class SandboxProcess:
    def __init__(self, users: int = 2000, courses: int = 40, seed: int = 1, port: int = 0, path=None,
                 latency_ms: float = 0.0, extra_args=(), startup_timeout: float = 120.0):
        self.args = ["--users", str(users), "--courses", str(courses), "--seed", str(seed), "--port", str(port),
                     "--latency-ms", str(latency_ms), *map(str, extra_args)]
        if path is not None:
            self.args += ["--path", str(path)]
        self.startup_timeout = startup_timeout
        self.control_secret = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "SandboxProcess":
        env = dict(os.environ, LMS_SANDBOX_CONTROL_SECRET=self.control_secret, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(sandbox_command(self.args),
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env)
        line_box: list[str] = []

        def read_ready():
            for line in self.proc.stdout:
                if line.startswith(READY_PREFIX):
                    line_box.append(line)
                    return

        reader = threading.Thread(target=read_ready, daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        if not line_box:
            self.kill()
            raise RuntimeError("sandbox subprocess did not become ready")
        self.info = json.loads(line_box[0][len(READY_PREFIX):])
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        """Ask the child to exit (SIGTERM), then kill it if it does not."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self._finish()

    def kill(self) -> int | None:
        """SIGKILL: the server dies mid-flight (crash tests)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)
        return self._finish()

    def _finish(self) -> int | None:
        code = self.proc.returncode
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        return code

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> "SandboxProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- API ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.info["url"]

    @property
    def rest_url(self) -> str:
        return self.url + "/webservice/rest/server.php"

    @property
    def admin_token(self) -> str:
        return self.info["admin_token"]

    @property
    def limited_token(self) -> str:
        return self.info["limited_token"]

    @property
    def expired_token(self) -> str:
        return self.info["expired_token"]

    def control(self, action: str, **payload) -> dict:
        with requests.Session() as session:
            response = session.post(self.url + "/_sandbox/control", json={"action": action, **payload},
                                    headers={"X-Sandbox-Secret": self.control_secret}, timeout=30)
            response.raise_for_status()
            return response.json()

    def set_faults(self, **faults) -> dict:
        return self.control("set_faults", faults=faults)["faults"]

    @property
    def requests(self) -> list[dict]:
        return self.control("requests")["requests"]

    def clear_requests(self) -> None:
        self.control("clear_requests")

    def token_missing_functions(self, names) -> str:
        return self.control("token_missing_functions", names=list(names))["token"]

    def wait_until_down(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                return True
            time.sleep(0.05)
        return False
