"""upload.php, webservice/pluginfile.php, login/token.php and core_files_*."""

import base64

import requests

from .conftest import ws_call


def _upload(server, files, token=None, **data):
    with requests.Session() as s:
        return s.post(server.url + "/webservice/upload.php", data={"token": token or server.admin_token, **data},
                      files=files, timeout=30)


def test_upload_multi_file_with_one_oversized(make_sandbox):
    server = make_sandbox()
    server.update_settings(max_upload_file_bytes=1000)
    answer = _upload(server, [("file_1", ("small.txt", b"hello")), ("file_2", ("big.bin", b"x" * 5000)),
                              ("file_3", ("notes.txt", b"notes"))], itemid="0").json()
    assert answer[0]["filename"] == "small.txt" and answer[0]["userid"] == "2" and answer[0]["filesize"] == 5
    assert answer[0]["source"] == 'O:8:"stdClass":1:{s:6:"source";s:9:"small.txt";}'
    assert answer[1]["errortype"] == "fileoversized" and "filesize" not in answer[1]
    assert answer[2]["itemid"] == answer[0]["itemid"]
    itemid = answer[0]["itemid"]
    again = _upload(server, [("file_1", ("small.txt", b"again"))], itemid=str(itemid)).json()
    assert again[0]["errortype"] == "filenameexist"
    listed = ws_call(server, "core_files_get_files", contextid=5, component="user", filearea="draft", itemid=itemid,
                     filepath="/", filename="")
    assert sorted(f["filename"] for f in listed["files"]) == ["notes.txt", "small.txt"]


def test_upload_errors_use_the_ajax_shape(make_sandbox):
    server = make_sandbox()
    body = _upload(server, [("file_1", ("a.txt", b"a"))], token="0123456789abcdef0123456789abcdef").json()
    assert body == {"error": "Invalid token - token not found", "errorcode": "invalidtoken", "stacktrace": None,
                    "debuginfo": None, "reproductionlink": None}
    server.update_settings(max_request_bytes=2000)
    response = _upload(server, [("file_1", ("a.bin", b"a" * 5000))])
    assert response.status_code == 413 and "<html>" in response.text


def test_base64_upload_and_pluginfile_download(make_sandbox):
    server = make_sandbox()
    content = b"base64 upload"
    body = ws_call(server, "core_files_upload", contextid=5, component="user", filearea="draft", itemid=0,
                   filepath="/", filename="b.txt", filecontent=base64.b64encode(content).decode())
    assert body["filename"] == "b.txt" and "/draftfile.php/5/user/draft/" in body["url"]
    contents = ws_call(server, "core_course_get_contents", courseid=2)
    files = [c for s in contents for m in s["modules"] for c in m.get("contents", []) if c["type"] == "file"
             and c["filesize"] > 0]
    url = files[0]["fileurl"]
    with requests.Session() as s:
        got = s.get(url, params={"token": server.admin_token})
        assert got.status_code == 200 and len(got.content) == files[0]["filesize"]
        assert got.headers["Content-Type"].startswith(files[0]["mimetype"])
        posted = s.post(url.split("?")[0], data={"token": server.admin_token})
        assert posted.content == got.content
        assert s.get(url, params={"token": "0123456789abcdef0123456789abcdef"}).status_code == 403
        assert s.get(url.replace(files[0]["filename"], "missing.pdf"),
                     params={"token": server.admin_token}).status_code == 404
        assert s.get(url, params={"token": server.limited_token}).status_code == 404


def test_login_token(make_sandbox):
    server = make_sandbox()
    created = ws_call(server, "core_user_create_users", users=[{
        "username": "learner.x", "password": "Learn#123", "firstname": "L", "lastname": "X",
        "email": "lx@example.org"}])
    assert created[0]["username"] == "learner.x"
    with requests.Session() as s:
        def login(**data):
            return s.post(server.url + "/login/token.php", data=data, timeout=30).json()

        assert login(username="admin", password="Admin#2024", service="lms_console") == {
            "token": server.admin_token, "privatetoken": None}
        refused = login(username="learner.x", password="Learn#123", service="lms_console")
        assert refused["errorcode"] == "cannotcreatetoken" and refused["stacktrace"] is None
        mobile = login(username="learner.x", password="Learn#123", service="moodle_mobile_app")
        assert len(mobile["token"]) == 32 and mobile["privatetoken"] is None
        assert login(username="learner.x", password="wrong", service="moodle_mobile_app")["errorcode"] == \
            "invalidlogin"
    info = ws_call(server, "core_webservice_get_site_info", token=mobile["token"])
    assert info["username"] == "learner.x"


def test_service_flags_gate_upload_and_download(make_sandbox):
    server = make_sandbox()
    with server.store.connection() as conn, server.store.transaction(conn):
        conn.execute("UPDATE external_services SET uploadfiles = 0, downloadfiles = 0 WHERE id = 1")
    info = ws_call(server, "core_webservice_get_site_info")
    assert info["uploadfiles"] == 0 and info["downloadfiles"] == 0
    body = _upload(server, [("file_1", ("a.txt", b"a"))]).json()
    assert body["errorcode"] == "accessexception" and body["error"] == "Access control exception"
    with server.store.connection() as conn:
        ctx = conn.execute("SELECT contextid, filename FROM files WHERE component = 'mod_resource'").fetchone()
    url = f"{server.url}/webservice/pluginfile.php/{ctx[0]}/mod_resource/content/0/{ctx[1]}"
    with requests.Session() as s:
        assert s.get(url, params={"token": server.admin_token}).status_code == 403
