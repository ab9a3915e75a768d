"""Fault injection: latency, 502, 429, dropped connections, malformed/slow bodies, death, determinism, log."""

import time

import pytest
import requests

from .conftest import ws_call, ws_post


def _users(server) -> int:
    with server.store.connection() as conn:
        return conn.execute("SELECT COUNT(*) FROM user").fetchone()[0]


def _create(server, name):
    return ws_post(server, "core_user_create_users", users=[{
        "username": name, "password": "Good#Pass1", "firstname": "F", "lastname": "L", "email": f"{name}@x.org"}])


def test_latency_does_not_block_other_threads(make_sandbox):
    server = make_sandbox()
    server.set_faults(latency_ms=300)
    import concurrent.futures as cf

    start = time.monotonic()
    with cf.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: ws_post(server, "core_webservice_get_site_info").status_code, range(4)))
    elapsed = time.monotonic() - start
    assert codes == [200] * 4 and 0.3 <= elapsed < 1.1


def test_error_rate_and_rate_limit(make_sandbox):
    server = make_sandbox()
    server.set_faults(error_rate=1.0)
    response = ws_post(server, "core_webservice_get_site_info")
    assert response.status_code == 502 and "502 Bad Gateway" in response.text
    server.set_faults(error_rate=0.0, rate_limit_per_second=0.001, rate_limit_burst=2, retry_after_s=7)
    codes = [ws_post(server, "core_webservice_get_site_info") for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 429, 429]
    assert codes[2].headers["Retry-After"] == "7"


def test_drop_before_does_not_apply_drop_after_does(make_sandbox):
    server = make_sandbox()
    before = _users(server)
    server.set_faults(drop_before_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        _create(server, "never.applied")
    assert _users(server) == before
    server.set_faults(drop_before_rate=0.0, drop_after_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        _create(server, "applied.once")
    assert _users(server) == before + 1
    server.clear_faults()
    log = [e for e in server.requests if e["function"] == "core_user_create_users"]
    assert [e["fault"] for e in log] == ["drop_before", "drop_after"]
    assert log[0]["params"]["users"][0]["password"] == "<redacted>"
    dup = _create(server, "applied.once").json()
    assert dup["errorcode"] == "invalidparameter"


def test_malformed_and_slow_bodies(make_sandbox):
    server = make_sandbox()
    server.set_faults(malformed_rate=1.0)
    response = ws_post(server, "core_webservice_get_site_info")
    with pytest.raises(ValueError):
        response.json()
    server.set_faults(malformed_rate=0.0, slow_body_rate=1.0, slow_body_chunk=4096, slow_body_delay_ms=30)
    start = time.monotonic()
    info = ws_post(server, "core_webservice_get_site_info").json()
    assert info["username"] == "admin" and time.monotonic() - start >= 0.03


def test_die_after_requests(make_sandbox):
    server = make_sandbox()
    server.set_faults(die_after_requests=2)
    assert ws_post(server, "core_webservice_get_site_info").status_code == 200
    assert ws_post(server, "core_webservice_get_site_info").status_code == 200
    time.sleep(0.3)
    with pytest.raises(requests.ConnectionError):
        ws_post(server, "core_webservice_get_site_info")


def test_stop_right_after_the_site_died_waits_for_the_listener(make_sandbox):
    """stop() while the "die" thread is still shutting the listener down (it polls every 0.5 s): that
    thread must finish cleanly (it used to find the server gone and raise in its thread)."""
    server = make_sandbox()
    server.set_faults(die_after_requests=1)
    assert ws_post(server, "core_webservice_get_site_info").status_code == 200
    dying = server._dying
    assert dying is not None and dying.is_alive()
    server.stop()
    assert not dying.is_alive()
    with pytest.raises(requests.ConnectionError):
        ws_post(server, "core_webservice_get_site_info")


def test_faults_are_deterministic_with_a_seed(make_sandbox):
    def outcomes(server):
        server.set_faults(seed=42, error_rate=0.3, malformed_rate=0.2)
        out = []
        for _ in range(25):
            r = ws_post(server, "core_webservice_get_site_info")
            out.append(r.status_code if r.status_code != 200 else ("ok" if r.text.endswith("}") else "cut"))
        return out

    first, second = outcomes(make_sandbox()), outcomes(make_sandbox())
    assert first == second and {502, "ok", "cut"} <= set(first)


def test_control_endpoint_requires_the_secret(make_sandbox):
    server = make_sandbox()
    url = server.url + "/_sandbox/control"
    with requests.Session() as s:
        assert s.post(url, json={"action": "ping"}).status_code == 403
        assert s.post(url, json={"action": "ping"}, headers={"X-Sandbox-Secret": "wrong"}).status_code == 403
        ok = s.post(url, json={"action": "set_faults", "faults": {"latency_ms": 1}},
                    headers={"X-Sandbox-Secret": server.control_secret})
        assert ok.json()["faults"]["latency_ms"] == 1
        ws_call(server, "core_webservice_get_site_info")
        log = s.post(url, json={"action": "requests"}, headers={"X-Sandbox-Secret": server.control_secret}).json()
        assert log["requests"][-1]["function"] == "core_webservice_get_site_info"
        assert server.admin_token not in str(log)


def test_jittered_latency_stays_within_bounds(make_sandbox):
    server = make_sandbox()
    server.set_faults(latency_ms=60, jitter_ms=40, seed=3)
    durations = []
    for _ in range(5):
        start = time.monotonic()
        ws_post(server, "core_webservice_get_site_info")
        durations.append(time.monotonic() - start)
    assert all(0.019 <= d < 0.5 for d in durations)
