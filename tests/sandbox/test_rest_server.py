"""REST transport, tokens and services, the limited (non-admin) token, debug mode."""

import requests

from .conftest import ws_call, ws_post


def test_get_and_post_are_merged_and_format_defaults_to_xml(sandbox_lms):
    url = sandbox_lms.rest_url
    with requests.Session() as s:
        r = s.get(url, params={"wstoken": sandbox_lms.admin_token, "wsfunction": "core_user_get_users_by_field",
                               "moodlewsrestformat": "json", "field": "username", "values[0]": "admin"})
        assert r.json()[0]["username"] == "admin"
        r = s.post(url, params={"wstoken": sandbox_lms.admin_token, "wsfunction": "core_user_get_users_by_field"},
                   data={"field": "username", "values[0]": "admin"})
        assert r.text.startswith("<?xml") and "<KEY name=\"username\"><VALUE>admin</VALUE>" in r.text


def test_invalid_token_and_unknown_function(sandbox_lms):
    body = ws_call(sandbox_lms, "core_webservice_get_site_info", token="0123456789abcdef0123456789abcdef")
    assert body == {"exception": "core\\exception\\moodle_exception", "errorcode": "invalidtoken",
                    "message": "Invalid token - token not found"}
    body = ws_call(sandbox_lms, "core_does_not_exist_function")
    assert body["errorcode"] == "invalidrecordunknown" and "debuginfo" not in body


def test_expired_token_is_refused_then_deleted(make_sandbox):
    server = make_sandbox()
    first = ws_call(server, "core_webservice_get_site_info", token=server.expired_token)
    assert first == {"exception": "webservice_access_exception", "errorcode": "accessexception",
                     "message": "Access control exception"}
    assert ws_call(server, "core_webservice_get_site_info", token=server.expired_token)["errorcode"] == "invalidtoken"
    server.update_settings(debug=True)
    fresh = server.new_expired_token()
    assert "token expired" in ws_call(server, "core_webservice_get_site_info", token=fresh)["debuginfo"]


def test_function_missing_from_service(make_sandbox):
    server = make_sandbox()
    token = server.token_missing_functions(["core_user_delete_users", "core_group_create_groups"])
    info = ws_call(server, "core_webservice_get_site_info", token=token)
    names = {f["name"] for f in info["functions"]}
    assert "core_user_get_users" in names and "core_user_delete_users" not in names
    body = ws_call(server, "core_user_delete_users", token=token, userids=[10])
    assert body["errorcode"] == "accessexception" and body["exception"] == "webservice_access_exception"
    server.update_settings(debug=True)
    body = ws_call(server, "core_group_create_groups", token=token, groups=[])
    assert body["debuginfo"].startswith("Access to the function core_group_create_groups() is not allowed")


def test_site_info_lists_service_functions_and_plugin_flag(make_sandbox):
    server = make_sandbox()
    info = ws_call(server, "core_webservice_get_site_info")
    versions = {f["name"]: f["version"] for f in info["functions"]}
    assert versions["local_course_add_files_to_directory"] == "2024061800"
    assert versions["core_course_get_contents"] == "2026020500"
    assert info["uploadfiles"] == 1 and info["downloadfiles"] == 1 and info["usermaxuploadfilesize"] == -1
    server.update_settings(enable_sync_service=False)
    info = ws_call(server, "core_webservice_get_site_info")
    assert not [f for f in info["functions"] if f["name"].startswith("local_")]
    assert ws_call(server, "local_course_add_new_section", courseid="2", sectionname="x",
                   sectionnum="1")["errorcode"] == "invalidrecordunknown"


def test_limited_token_behaves_like_a_non_admin(sandbox_lms):
    limited = sandbox_lms.limited_token
    info = ws_call(sandbox_lms, "core_webservice_get_site_info", token=limited)
    assert info["userissiteadmin"] is False and "sitesecret" not in info and info["userquota"] > 0
    body = ws_call(sandbox_lms, "core_user_create_users", token=limited,
                   users=[{"username": "nope", "password": "Aa#45678", "firstname": "N", "lastname": "P",
                           "email": "n@example.com"}])
    assert body["message"] == ("Sorry, but you do not currently have permissions to do that (Create users).")
    # Other users are silently left out (a permission problem that looks like "no users"); only self is visible.
    found = ws_call(sandbox_lms, "core_user_get_users", token=limited, criteria=[{"key": "lastname", "value": "%"}])
    assert [u["id"] for u in found["users"]] == [3] and found["warnings"] == []
    assert ws_call(sandbox_lms, "core_user_get_users_by_field", token=limited, field="username",
                   values=["admin"]) == []
    courses = ws_call(sandbox_lms, "core_course_get_courses", token=limited)
    assert courses["errorcode"] == "errorcoursecontextnotvalid" and "(course id:2)" in courses["message"]
    assert ws_call(sandbox_lms, "core_cohort_get_cohorts", token=limited,
                   cohortids=[1])["message"].endswith("(View site-wide cohorts).")
    assert ws_call(sandbox_lms, "core_course_create_courses", token=limited,
                   courses=[{"fullname": "X", "shortname": "X1", "categoryid": 2}])["errorcode"] == "nopermissions"
    assert ws_call(sandbox_lms, "local_course_add_new_course_module_url", token=limited, courseid="2",
                   sectionnum="1", urlname="x", url="https://e.org", visible="true")["errorcode"] == "requireloginerror"


def test_debug_mode_adds_debuginfo(make_sandbox):
    server = make_sandbox()
    assert "debuginfo" not in ws_call(server, "core_course_get_contents", courseid="abc")
    server.update_settings(debug=True)
    body = ws_call(server, "core_course_get_contents", courseid="abc")
    assert body["debuginfo"].startswith('courseid => Invalid parameter value detected')
    body = ws_call(server, "core_course_get_contents", courseid=999999)
    assert body["errorcode"] == "invalidrecord" and body["message"].endswith("table course.")


def test_max_input_vars_truncates_silently(make_sandbox):
    server = make_sandbox()
    server.update_settings(max_input_vars=50)
    values = [str(1_000_000 + i) for i in range(60)] + ["2"]
    assert ws_call(server, "core_user_get_users_by_field", field="id", values=values) == []
    assert ws_call(server, "core_user_get_users_by_field", field="id", values=values[-40:])[0]["id"] == 2


def test_long_url_and_large_body_get_web_server_pages(make_sandbox):
    server = make_sandbox()
    server.update_settings(max_url_bytes=2000, max_request_bytes=10_000)
    with requests.Session() as s:
        r = s.get(server.rest_url, params={"wstoken": server.admin_token, "x": "y" * 3000})
        assert r.status_code == 414 and "414 Request-URI Too Large" in r.text
        r = s.post(server.rest_url, data={"wstoken": server.admin_token, "x": "y" * 20_000})
        assert r.status_code == 413 and "nginx" in r.text
    assert ws_post(server, "core_webservice_get_site_info").status_code == 200
