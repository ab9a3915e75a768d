"""Fixtures for talking to a real sandbox LMS over HTTP on 127.0.0.1.

* ``make_sandbox(**kwargs)`` starts a fresh seeded :class:`SandboxServer` (stopped after the test);
* ``sandbox_lms`` is one shared, module-scoped server for tests that only read;
* ``ws_call(server, function, token=None, **params)`` posts a web-service call and returns the JSON.
"""

from __future__ import annotations

import pytest
import requests

from lms_console.sandbox.phpparams import flatten
from lms_console.sandbox.server import SandboxServer


def ws_post(server, function: str, token: str | None = None, **params) -> requests.Response:
    data = [("wstoken", token or server.admin_token), ("wsfunction", function), ("moodlewsrestformat", "json")]
    data += flatten(params)
    with requests.Session() as session:
        return session.post(server.rest_url, data=data, timeout=30)


def ws_call(server, function: str, token: str | None = None, **params):
    return ws_post(server, function, token, **params).json()


@pytest.fixture
def make_sandbox():
    servers = []

    def make(**kwargs) -> SandboxServer:
        kwargs.setdefault("users", 150)
        kwargs.setdefault("courses", 5)
        server = SandboxServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def sandbox_lms():
    server = SandboxServer(users=200, courses=6, seed=7).start()
    yield server
    server.stop()
