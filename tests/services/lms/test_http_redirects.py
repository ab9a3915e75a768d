"""Redirects are never followed with the token, and errors that cannot change are not retried.

Two real HTTP servers on 127.0.0.1: a "site" that answers every request with a redirect, and
an "elsewhere" server that records whatever reaches it (it must stay empty).
"""

from __future__ import annotations

import io
import socket
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lms_console.services.lms.errors import NotTls, Redirected, TlsFailure, Unreachable
from lms_console.services.lms.http import HttpTransport, RetryPolicy
from lms_console.services.lms.moodle import MoodleClient

SECRET = "redirect-test-secret-value"
PASSWORD = "redirect-test-password"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.02)


@contextmanager
def _serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class _Recorder:
    """A WSGI app that keeps every request's path and body, and answers ``answer(request)``."""

    def __init__(self, answer):
        self.answer = answer
        self.seen: list[tuple[str, bytes]] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.seen.append((request.path, request.get_data()))
        return self.answer(request)(environ, start_response)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def elsewhere():
    rec = _Recorder(lambda r: Response('{"token": "stolen", "sitename": "evil"}', mimetype="application/json"))
    with _serving(rec) as url:
        yield rec, url


def _redirecting(status: int, location: str | None):
    headers = {"Location": location} if location is not None else {}
    return _Recorder(lambda r: Response("moved", status=status, headers=headers))


def _assert_clean(err, *secrets):
    for text in (str(err), err.message, err.hint or "", err.describe()):
        for s in secrets:
            assert s not in text


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_web_service_call_never_follows_a_redirect(elsewhere, status):
    evil, evil_url = elsewhere
    site = _redirecting(status, f"{evil_url}/evil/server.php")
    with _serving(site) as url, HttpTransport(url, retry=FAST) as t, pytest.raises(Redirected) as info:
        MoodleClient(t, SECRET).site_info()
    err = info.value
    assert evil.seen == []  # the token never reached the other server
    assert len(site.seen) == 1 and t.stats.retries == 0  # the same answer every time: not retried
    assert f"redirect to {evil_url}/evil/server.php (HTTP {status})" in str(err)
    assert "not the site's web service address" in str(err) and err.code == "redirect"
    _assert_clean(err, SECRET)


def test_credentials_in_the_location_are_redacted():
    other_key = "another-credential-in-the-url"
    location = (f"https://user:pw-in-url@other.example/webservice/rest/server.php?wstoken={SECRET}"
                f"&key={other_key}&token=plain&moodlewsrestformat=json")
    site = _redirecting(301, location)
    with _serving(site) as url, HttpTransport(url, retry=FAST) as t, pytest.raises(Redirected) as info:
        MoodleClient(t, SECRET).call("core_user_get_users", {"criteria": []})
    err = info.value
    assert "https://***@other.example/webservice/rest/server.php?wstoken=***&key=***&token=***" in str(err)
    assert "moodlewsrestformat=json" in str(err)
    _assert_clean(err, SECRET, other_key, "pw-in-url", "=plain")
    # The redirect kept the endpoint's path: the hint names the site root it points at.
    assert "If https://***@other.example is this same site, change the profile's URL to it" in err.hint


def test_a_relative_redirect_names_the_address_to_use_instead():
    site = _redirecting(302, "/moodle/webservice/rest/server.php")
    with _serving(site) as url, HttpTransport(url, retry=FAST) as t, pytest.raises(Redirected) as info:
        MoodleClient(t, SECRET).site_info()
    assert f"redirect to {url}/moodle/webservice/rest/server.php (HTTP 302)" in str(info.value)
    assert f"If {url}/moodle is this same site" in info.value.hint


def test_a_redirect_without_location_is_still_an_error():
    site = _redirecting(302, None)
    with _serving(site) as url, HttpTransport(url, retry=FAST) as t, \
            pytest.raises(Redirected, match="without saying where"):
        MoodleClient(t, SECRET).site_info()
    assert len(site.seen) == 1


def test_a_redirect_to_a_closed_port_blames_the_redirect_not_the_site():
    closed = _free_port()
    site = _redirecting(303, f"http://127.0.0.1:{closed}/webservice/rest/server.php")
    with _serving(site) as url, HttpTransport(url, retry=FAST) as t, pytest.raises(Redirected) as info:
        MoodleClient(t, SECRET).call("core_user_suspend_user", {"userid": 5}, write=True)
    err = info.value
    assert "nothing answers" not in str(err) and not isinstance(err, Unreachable)
    assert f"redirect to http://127.0.0.1:{closed}/webservice/rest/server.php (HTTP 303)" in str(err)
    assert len(site.seen) == 1


def test_uploads_downloads_and_sign_in_never_follow_a_redirect(elsewhere):
    evil, evil_url = elsewhere
    site = _redirecting(307, f"{evil_url}/evil")
    with _serving(site) as url, HttpTransport(url, retry=FAST) as t:
        client = MoodleClient(t, SECRET)
        with pytest.raises(Redirected) as up:
            client.upload([("a.txt", io.BytesIO(b"hello"), "text/plain")])
        sink = io.BytesIO()
        with pytest.raises(Redirected) as down:
            client.download(f"{url}/webservice/pluginfile.php/12/mod_resource/content/0/a.txt?token={SECRET}", sink)
        with pytest.raises(Redirected) as login:
            MoodleClient.sign_in(t, "admin", PASSWORD, "moodle_mobile_app")
    assert evil.seen == [] and sink.getvalue() == b""
    assert [path for path, _ in site.seen] == ["/webservice/upload.php",
                                               "/webservice/pluginfile.php/12/mod_resource/content/0/a.txt",
                                               "/login/token.php"]
    for info in (up, down, login):
        assert f"redirect to {evil_url}/evil (HTTP 307)" in str(info.value)
        _assert_clean(info.value, SECRET, PASSWORD)


def test_https_to_a_plain_http_port_is_not_retried():
    site = _Recorder(lambda r: Response("{}"))
    with _serving(site) as url:
        https = url.replace("http://", "https://")
        with HttpTransport(https, retry=FAST) as t, pytest.raises(NotTls) as info:
            MoodleClient(t, SECRET).site_info()
    err = info.value
    assert t.stats.retries == 0  # the handshake fails the same way every time
    assert not isinstance(err, TlsFailure) and err.code == "nottls" and "does not speak https" in str(err)
    assert "local test site: use http://" in err.hint
    _assert_clean(err, SECRET)


def test_https_to_a_plain_http_port_of_a_remote_site_suggests_checking_the_port():
    err = NotTls.at("lms.example.org", 8080, "wrong version number", loopback=False)
    assert "Check the port in the URL: port 8080" in err.hint and "http://" in err.hint
