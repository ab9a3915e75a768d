"""Moodle's real error bodies (recorded from Moodle 5.2) map to typed errors with code, message and hint."""

from __future__ import annotations

import json

import pytest

from lms_console.services.lms.errors import (
    ApiRejected,
    AuthExpired,
    BadResponse,
    FunctionNotAvailable,
    InvalidParameter,
    PermissionDenied,
)
from lms_console.services.lms.http import HttpResponse, HttpTransport
from lms_console.services.lms.moodle import MoodleClient

TOKEN = "fake-token-for-redaction-checks"


@pytest.fixture
def client():
    with HttpTransport("http://127.0.0.1:9") as t:
        yield MoodleClient(t, TOKEN)


def _resp(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(status, {}, body, 0.01)


@pytest.mark.parametrize(
    "name, function, cls, code",
    [
        ("error_invalid_token", "core_webservice_get_site_info", AuthExpired, "invalidtoken"),
        ("error_invalid_parameter__type", "core_course_get_contents", InvalidParameter, "invalidparameter"),
        ("error_core_user_create_users__duplicate_username", "core_user_create_users", InvalidParameter,
         "invalidparameter"),
        ("error_missing_capability__core_user_create_users", "core_user_create_users", PermissionDenied,
         "nopermissions"),
        ("error_missing_capability__core_enrol_get_enrolled_users", "core_enrol_get_enrolled_users",
         PermissionDenied, "errorcoursecontextnotvalid"),
        ("error_core_course_create_courses__duplicate_shortname", "core_course_create_courses", ApiRejected,
         "shortnametaken"),
        ("error_nonexistent_course", "core_course_get_contents", ApiRejected, "invalidrecordunknown"),
    ],
)
def test_fixture_errors_map_to_typed_errors(client, fixtures_dir, name, function, cls, code):
    body = (fixtures_dir / f"{name}.json").read_bytes()
    with pytest.raises(cls) as info:
        client._decode(_resp(body), function)
    err = info.value
    assert err.code == code
    assert err.function == function
    assert err.message and "<" not in err.message
    assert err.hint
    assert TOKEN not in str(err)


def test_password_policy_message_is_plain_text(client, fixtures_dir):
    body = (fixtures_dir / "error_core_user_create_users__weak_password.json").read_bytes()
    with pytest.raises(ApiRejected) as info:
        client._decode(_resp(body), "core_user_create_users")
    msg = info.value.message
    assert msg.startswith("Passwords must be at least 8 characters long.")
    assert "<div>" not in msg and not msg.startswith("error/")
    assert info.value.code == "error"


def test_debuginfo_is_kept_when_the_site_sends_it(client, fixtures_dir):
    body = (fixtures_dir / "debug_on" / "error_core_user_create_users__duplicate_username.json").read_bytes()
    with pytest.raises(InvalidParameter) as info:
        client._decode(_resp(body), "core_user_create_users")
    assert "Username already exists" in info.value.message


def test_unknown_function_is_reported_as_missing_from_the_service(client, fixtures_dir):
    client.service_functions = frozenset({"core_webservice_get_site_info"})
    body = (fixtures_dir / "error_unknown_function.json").read_bytes()
    with pytest.raises(FunctionNotAvailable) as info:
        client._decode(_resp(body), "core_does_not_exist_function")
    assert "core_does_not_exist_function" in str(info.value)
    assert "External services" in info.value.hint


def test_access_exception_for_function_outside_the_service(client):
    client.service_functions = frozenset({"core_webservice_get_site_info"})
    body = json.dumps({"exception": "core\\exception\\webservice_access_exception", "errorcode": "accessexception",
                       "message": "Access control exception"}).encode()
    with pytest.raises(FunctionNotAvailable):
        client._decode(_resp(body), "core_user_create_users")
    # The same answer for a function the service has means permissions or an expired token.
    client.service_functions = frozenset({"core_user_create_users"})
    with pytest.raises(PermissionDenied) as info:
        client._decode(_resp(body), "core_user_create_users")
    assert "expired" in info.value.hint


def test_null_is_success_and_lists_pass_through(client, fixtures_dir):
    assert client._decode(_resp(b"null"), "core_user_delete_users") is None
    body = (fixtures_dir / "core_cohort_get_cohort_members.json").read_bytes()
    assert isinstance(client._decode(_resp(body), "core_cohort_get_cohort_members"), list)


@pytest.mark.parametrize("status", [200, 414, 502])
def test_html_pages_are_bad_responses_with_the_page_title(client, fixtures_dir, status):
    body = (fixtures_dir / "long_get_3000_values__core_user_get_users_by_field.json").read_bytes()
    with pytest.raises(BadResponse) as info:
        client._decode(_resp(body, status), "core_user_get_users_by_field")
    assert "Request-URI Too Large" in str(info.value)


def test_truncated_json_is_a_bad_response(client, fixtures_dir):
    body = (fixtures_dir / "core_course_get_categories.json").read_bytes()[:500]
    with pytest.raises(BadResponse) as info:
        client._decode(_resp(body), "core_course_get_categories")
    assert "truncated or malformed" in str(info.value)


def test_ajax_error_shape_from_upload_and_token_scripts(client):
    body = json.dumps({"error": "Invalid token - token not found", "errorcode": "invalidtoken",
                       "stacktrace": None, "debuginfo": None, "reproductionlink": None}).encode()
    with pytest.raises(AuthExpired):
        client._decode(_resp(body), "webservice/upload.php")
    body = json.dumps({"error": "Invalid login, please try again", "errorcode": "invalidlogin",
                       "stacktrace": None, "debuginfo": None, "reproductionlink": None}).encode()
    with pytest.raises(AuthExpired) as info:
        client._decode(_resp(body), "login/token.php")
    assert "password" in info.value.hint


def test_rest_disabled_403_without_json(client):
    with pytest.raises(ApiRejected) as info:
        client._decode(_resp(b"", 403), "core_webservice_get_site_info")
    assert info.value.code == "restdisabled"


def test_token_never_in_repr_or_request_budget_error(client):
    assert TOKEN not in repr(client)
    with pytest.raises(ValueError) as info:
        client.call("core_user_get_users_by_field", {"field": "id", "values": list(range(2000))})
    assert TOKEN not in str(info.value)
