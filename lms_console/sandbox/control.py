"""Actions of ``POST /_sandbox/control`` (JSON in, JSON out), shared with the Python API.

A sandbox running in another process (benchmarks, crash tests) is steered
through these: change faults or settings, read or clear the request log, mint
special tokens, simulate user activity.
"""

from __future__ import annotations

import time

from . import activity


def handle_control(app, payload: dict) -> dict:
    action = payload.get("action")
    if action == "ping":
        return {"ok": True}
    if action == "get_faults":
        return {"faults": app.faults.describe()}
    if action == "set_faults":
        app.faults.update(**payload.get("faults", {}))
        return {"faults": app.faults.describe()}
    if action == "set_settings":
        app.settings.update(**payload.get("settings", {}))
        if "enable_sync_service" in payload.get("settings", {}):
            with app.store.connection() as conn, app.store.transaction(conn):
                app.sync_services(conn)
        return {"ok": True}
    if action == "requests":
        entries = list(app.faults.log)
        since = int(payload.get("since", 0))
        if payload.get("clear"):
            app.faults.log.clear()
        return {"requests": entries[since:], "count": len(entries)}
    if action == "clear_requests":
        app.faults.log.clear()
        return {"ok": True}
    if action == "token_missing_functions":
        return {"token": token_missing_functions(app, list(payload.get("names", [])),
                                                 userid=int(payload.get("userid", 2)))}
    if action == "new_token":
        return {"token": new_token(app, userid=int(payload.get("userid", 2)),
                                   validuntil=int(payload.get("validuntil", 0)))}
    if action == "expired_token":
        return {"token": new_token(app, userid=int(payload.get("userid", 2)), validuntil=int(time.time()) - 3600)}
    if action == "simulate_activity":
        return activity.simulate_activity(app.store, fraction=float(payload.get("fraction", 0.05)),
                                          seed=int(payload.get("seed", 0)), now=payload.get("now"))
    raise ValueError(f"unknown action: {action!r}")


def token_missing_functions(app, names: list[str], userid: int = 2) -> str:
    """A token on a new service that has every function except ``names``."""
    functions = [n for n in app.service_function_names() if n not in set(names)]
    with app.store.connection() as conn, app.store.transaction(conn):
        sid = app.new_service(conn, "Partial service", functions)
        return app.new_token(conn, userid, sid, 0, "partial")


def new_token(app, userid: int = 2, validuntil: int = 0, serviceid: int = 1) -> str:
    with app.store.connection() as conn, app.store.transaction(conn):
        return app.new_token(conn, userid, serviceid, validuntil, "extra")
