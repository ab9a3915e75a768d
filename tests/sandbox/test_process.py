"""The sandbox in a subprocess: ready line, control endpoint, stop and kill."""

import subprocess
import sys

import pytest
import requests

from lms_console.sandbox.process import SandboxProcess


def _site_info(proc):
    with requests.Session() as s:
        return s.post(proc.rest_url, data={"wstoken": proc.admin_token, "wsfunction": "core_webservice_get_site_info",
                                           "moodlewsrestformat": "json"}, timeout=30)


def test_subprocess_runner_start_control_stop():
    with SandboxProcess(users=120, courses=3, seed=4) as proc:
        assert proc.url.startswith("http://127.0.0.1:") and proc.alive
        assert _site_info(proc).json()["username"] == "admin"
        assert proc.set_faults(error_rate=1.0)["error_rate"] == 1.0
        assert _site_info(proc).status_code == 502
        proc.set_faults(error_rate=0.0)
        assert [r["function"] for r in proc.requests][-1] == "core_webservice_get_site_info"
        token = proc.token_missing_functions(["core_user_get_users"])
        assert len(token) == 32
    assert not proc.alive


def test_subprocess_kill_makes_the_server_unreachable():
    proc = SandboxProcess(users=100, courses=2).start()
    url = proc.rest_url
    proc.kill()
    with pytest.raises(requests.ConnectionError):
        requests.post(url, data={}, timeout=5)


@pytest.mark.parametrize("args, words", [
    (["--users", "-5"], "--users: -5 is out of range: give a count of at least 1"),
    (["--users", "0"], "--users: 0 is out of range"),
    (["--courses", "-1"], "--courses: -1 is out of range"),
    (["--users", "many"], "--users: 'many' is not a whole number"),
    (["--enrolments-per-user", "-2"], "--enrolments-per-user: -2 is out of range"),
    (["--error-rate", "1.5"], "--error-rate: 1.5 is out of range: a share from 0 to 1"),
    (["--port", "70000"], "--port: 70000 is out of range"),
    (["--max-input-vars", "0"], "--max-input-vars: 0 is out of range"),
])
def test_bad_counts_and_ranges_are_usage_errors(args, words):
    # Through `python -m lms_console.sandbox`, as the QA tester ran it: refused before any site is built.
    out = subprocess.run([sys.executable, "-m", "lms_console.sandbox", *args], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and words in out.stderr and "SANDBOX_READY" not in out.stdout, out.stderr
