"""The Moodle client against the sandbox over real HTTP: reads, chunking, files, sign-in, faults."""

from __future__ import annotations

import io
import logging

import pytest

from lms_console.services.lms.errors import (
    ApiRejected,
    AuthExpired,
    FunctionNotAvailable,
    InvalidParameter,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Unreachable,
)
from lms_console.services.lms.http import HttpTransport, RetryPolicy, Timeouts
from lms_console.services.lms.moodle import IDS_PER_CALL, MoodleClient

NO_RETRY = RetryPolicy(attempts=1)


def test_site_info_and_typed_reads(site, connect):
    client = connect(site)
    info = client.site_info()
    assert info.is_site_admin and info.userid == 2 and info.upload_allowed
    assert "core_user_get_users" in info.functions and client.service_functions == info.functions
    users = client.users_matching("a")
    assert users.items and all(u.email.lower().startswith("a") for u in users.items)
    courses = client.courses().items
    assert courses and all(c.id != 1 for c in courses)
    sections = client.course_contents(courses[0].id).items
    assert sections and any(m.files for s in sections for m in s.modules)
    assert all("token=" not in f.fileurl for s in sections for m in s.modules for f in m.files)


def test_id_lists_are_chunked_under_max_input_vars(site, connect):
    client = connect(site)
    with site.store.connection() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM user WHERE deleted = 0 ORDER BY id")]
    # More ids than one request may carry: ask for them all plus unknown ids.
    asked = ids + list(range(900_000, 900_000 + IDS_PER_CALL))
    site.clear_requests()
    got = client.users_by_ids(asked).items
    assert {u.id for u in got} == set(ids)
    calls = [r for r in site.requests if r["function"] == "core_user_get_users_by_field"]
    assert len(calls) == -(-len(asked) // IDS_PER_CALL)


def test_warnings_are_returned_not_dropped(make_site, connect):
    server = make_site(users=30, courses=2)
    client = connect(server)
    cohort = client.cohorts().items[0]
    result = client.call("core_cohort_add_cohort_members", {"members": [
        {"cohorttype": {"type": "id", "value": cohort.id}, "usertype": {"type": "username", "value": "nobody.here"}},
    ]}, write=True)
    assert result["warnings"] and result["warnings"][0]["warningcode"] == "2"


def test_function_missing_from_the_service(make_site, connect):
    server = make_site(users=20, courses=1)
    token = server.token_missing_functions(["core_user_create_users"])
    client = connect(server, token)
    client.site_info()
    with pytest.raises(FunctionNotAvailable) as info:
        client.call("core_user_create_users", {"users": [{"username": "x"}]}, write=True)
    assert "core_user_create_users" in str(info.value)


def test_limited_token_errors_match_moodle(site, connect):
    client = connect(site, site.limited_token)
    assert client.site_info().is_site_admin is False
    with pytest.raises(PermissionDenied) as info:
        client.call("core_user_create_users", {"users": [{"username": "lim.try", "password": "Client#12345",
                                                          "firstname": "X", "lastname": "Y",
                                                          "email": "x.y@example.com"}]}, write=True)
    assert info.value.code == "nopermissions"
    # A permission problem that looks like "no users" (as on a real site): only the token's own account.
    assert [u.username for u in client.users_matching("").items] == ["wslimited"]


def test_duplicate_username_is_only_an_invalid_parameter(site, connect):
    with pytest.raises(InvalidParameter):
        connect(site).call("core_user_create_users", {"users": [{
            "username": "admin", "password": "Client#12345", "firstname": "Dup", "lastname": "Admin",
            "email": "dup.admin@example.com"}]}, write=True)


def test_streaming_upload_and_download_roundtrip(make_site, connect, tmp_path):
    server = make_site(users=10, courses=1)
    client = connect(server)
    payload = bytes(range(256)) * 8192  # 2 MiB
    src = tmp_path / "notes.bin"
    src.write_bytes(payload)
    sent = []
    with src.open("rb") as fh:
        files = client.upload([("notes.bin", fh, "application/octet-stream")], progress=sent.append)
    assert len(files) == 1 and files[0].ok and files[0].filesize == len(payload)
    assert sent[-1] == len(payload) and len(sent) > 4  # streamed in chunks
    draft = files[0]
    url = (f"{server.url}/webservice/pluginfile.php/{draft.contextid}/user/draft/{draft.itemid}"
           f"{draft.filepath}{draft.filename}")
    sink = io.BytesIO()
    assert client.download(url, sink) == len(payload)
    assert sink.getvalue() == payload
    # The token travels in bodies only: the sandbox saw no token in any URL.
    assert all(server.admin_token not in r.get("path", "") for r in server.requests)


def test_download_refuses_to_send_the_token_to_another_site(site, connect):
    with pytest.raises(Exception, match="another site"):
        connect(site).download("https://evil.example/webservice/pluginfile.php/1/x.txt", io.BytesIO())


def test_oversized_file_is_reported_per_file(make_site, connect):
    server = make_site(users=10, courses=1)
    server.update_settings(max_upload_file_bytes=1000)
    client = connect(server)
    files = client.upload([("small.txt", io.BytesIO(b"ok"), "text/plain"),
                           ("big.bin", io.BytesIO(b"x" * 5000), "application/octet-stream")])
    by_name = {f.filename: f for f in files}
    assert by_name["small.txt"].ok
    assert by_name["big.bin"].errortype == "fileoversized" and not by_name["big.bin"].ok


def test_sign_in_with_a_password(make_site):
    server = make_site(users=10, courses=1)
    with server.store.connection() as conn:
        someone = conn.execute("SELECT username FROM user WHERE id > 3 AND auth = 'manual' AND suspended = 0 "
                               "AND deleted = 0 ORDER BY id LIMIT 1").fetchone()[0]
    with HttpTransport(server.url, retry=NO_RETRY) as t:
        # Without a token for the service, a custom service never mints one through login/token.php ...
        with pytest.raises(PermissionDenied) as info:
            MoodleClient.sign_in(t, someone, "Sandbox#2024", "lms_console")
        assert info.value.code == "cannotcreatetoken"
        assert "Manage tokens" in info.value.hint
        with pytest.raises(AuthExpired) as info:
            MoodleClient.sign_in(t, "admin", "wrong-password", "lms_console")
        assert "Admin#2024" not in str(info.value)
        # ... but an existing token is handed back.
        token = MoodleClient.sign_in(t, "admin", "Admin#2024", "lms_console")
        assert token == server.admin_token


def test_lost_answer_to_a_write_is_outcome_unknown_and_not_resent(make_site, connect):
    server = make_site(users=20, courses=1)
    client = connect(server)
    server.set_faults(drop_after_rate=1.0)
    server.clear_requests()
    with pytest.raises(OutcomeUnknown):
        client.call("core_user_update_users", {"users": [{"id": 5, "city": "Lisbon"}]}, write=True)
    server.clear_faults()
    calls = [r for r in server.requests if r["function"] == "core_user_update_users"]
    assert len(calls) == 1  # sent once, never retried
    with server.store.connection() as conn:
        assert conn.execute("SELECT city FROM user WHERE id = 5").fetchone()[0] == "Lisbon"  # it did apply


def test_reads_are_retried_after_a_lost_answer(make_site, connect):
    server = make_site(users=20, courses=1)
    client = connect(server)
    server.set_faults(drop_after_rate=0.5, seed=1)
    for _ in range(5):
        assert client.site_info().userid == 2


def test_rate_limit_is_honoured_then_reported(make_site, connect):
    server = make_site(users=10, courses=1)
    server.set_faults(rate_limit_per_second=0.001, rate_limit_burst=1, retry_after_s=0)
    client = connect(server, retry=RetryPolicy(attempts=2, base_delay=0.01))
    client.site_info()  # the burst
    with pytest.raises(RateLimited) as info:
        client.site_info()
    assert info.value.retry_after == 0


def test_read_timeout_is_unreachable(make_site):
    server = make_site(users=10, courses=1)
    server.set_faults(latency_ms=1500)
    with HttpTransport(server.url, timeouts=Timeouts(connect=2, read=0.3), retry=NO_RETRY) as t:
        with pytest.raises(Unreachable) as info:
            MoodleClient(t, server.admin_token).site_info()
    assert "no answer" in str(info.value)


def test_token_never_logged(make_site, connect, caplog):
    server = make_site(users=10, courses=1)
    caplog.set_level(logging.DEBUG)
    client = connect(server)
    client.site_info()
    with pytest.raises(ApiRejected):
        client.call("core_course_get_contents", {"courseid": 999999})
    assert server.admin_token not in caplog.text
    assert "core_webservice_get_site_info" in caplog.text
