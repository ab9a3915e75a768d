"""Transport failures that need no LMS: refused connections and untrusted HTTPS certificates."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from lms_console.services.lms.errors import TlsFailure, Unreachable
from lms_console.services.lms.http import HttpTransport, RetryPolicy
from lms_console.services.lms.moodle import MoodleClient

SECRET = "transport-test-secret-value"


@contextmanager
def _serving(app, **kw):
    """``app`` (a WSGI callable) on 127.0.0.1 in a thread; yields the server."""
    server = make_server("127.0.0.1", 0, app, **kw)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_is_unreachable_and_names_the_host():
    port = _free_port()  # nothing listens there any more
    with HttpTransport(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=2, base_delay=0.01)) as t:
        client = MoodleClient(t, SECRET)
        with pytest.raises(Unreachable) as info:
            client.site_info()
    err = info.value
    assert "127.0.0.1" in str(err) and err.code == "unreachable"
    # In words, not urllib3's "HTTPConnection(host=…): Failed to establish a new connection: [Errno 111] …".
    assert f"the connection was refused: nothing answers on port {port}" in str(err)
    assert "HTTPConnection" not in str(err) and "Errno" not in str(err)
    assert SECRET not in str(err) and SECRET not in err.hint
    assert t.stats.retries == 1  # a read is retried


def test_refused_connection_for_a_write_is_unreachable_not_unknown():
    # The request provably never left: safe to resend later, so it is not OutcomeUnknown.
    port = _free_port()
    with HttpTransport(f"http://127.0.0.1:{port}") as t:
        with pytest.raises(Unreachable) as info:
            MoodleClient(t, SECRET).call("core_user_delete_users", {"userids": [5]}, write=True)
    assert type(info.value) is Unreachable


@pytest.fixture
def self_signed_server(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with _serving(lambda env, sr: Response("{}")(env, sr), ssl_context=ctx) as server:
        yield f"https://127.0.0.1:{server.server_port}"


def test_untrusted_certificate_is_a_tls_failure_never_retried(self_signed_server):
    with HttpTransport(self_signed_server, retry=RetryPolicy(attempts=3, base_delay=0.01)) as t:
        with pytest.raises(TlsFailure) as info:
            MoodleClient(t, SECRET).site_info()
    assert "certificate" in str(info.value).lower()
    assert "never turns verification off" in info.value.hint
    assert t.stats.retries == 0


def test_verification_cannot_be_switched_off():
    with HttpTransport("https://example.invalid", verify=False) as t:
        assert t._session.verify not in (False, None, "")


def test_https_to_a_plain_http_port_says_so_instead_of_blaming_a_certificate():
    with _serving(lambda env, sr: Response("{}")(env, sr)) as server, \
            HttpTransport(f"https://127.0.0.1:{server.server_port}") as t, pytest.raises(Unreachable) as info:
        MoodleClient(t, SECRET).site_info()
    err = info.value
    assert not isinstance(err, TlsFailure) and err.code == "nottls"
    assert "does not speak https" in str(err) and "use http://" in err.hint and "certificate" not in err.hint


def test_a_gateway_error_says_moodle_behind_the_web_server_did_not_answer():
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    with _serving(lambda env, sr: Response(page, status=502, mimetype="text/html")(env, sr)) as server, \
            HttpTransport(f"http://127.0.0.1:{server.server_port}",
                          retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)) as t, \
            pytest.raises(Unreachable) as info:
        MoodleClient(t, SECRET).site_info()
    err = info.value
    assert err.code == "http502" and "HTTP 502 (502 Bad Gateway)" in str(err)
    assert "Moodle behind it did not" in err.hint and "Check the URL" not in err.hint
