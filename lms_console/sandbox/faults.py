"""Fault injection and the request log.

:class:`FaultInjector` decides, per request and deterministically (one seeded
generator drawn in arrival order), whether to delay it, answer 502 or 429,
drop the connection before or after running it, cut the JSON body in half or
trickle it out slowly, and stops the server after N requests.  The request
log records every request received (function, parameters with the token
redacted, time, injected fault) so tests can prove nothing was applied twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import asdict

from .settings import FaultSettings

REDACTED = "<redacted>"
SECRET_KEYS = {"wstoken", "token", "password", "privatetoken"}


class DropConnection(ConnectionAbortedError):
    """Raised inside the WSGI app to make the server close the socket without answering."""


def redact(params):
    """Copy ``params`` with tokens and passwords replaced (recursively)."""
    if isinstance(params, dict):
        return {k: (REDACTED if str(k) in SECRET_KEYS else redact(v)) for k, v in params.items()}
    return params


class FaultInjector:
    def __init__(self, faults: FaultSettings, log_limit: int = 200_000):
        self.faults = faults
        self._lock = threading.Lock()
        self._rng = random.Random(faults.seed)
        self._served = 0
        self._tokens = float(faults.rate_limit_burst)
        self._last_refill = time.monotonic()
        self.log: deque = deque(maxlen=log_limit)
        self.dead = False

    def reseed(self) -> None:
        with self._lock:
            self._rng = random.Random(self.faults.seed)
            self._tokens = float(self.faults.rate_limit_burst)

    def update(self, **changes) -> None:
        with self._lock:
            self.faults.update(**changes)
        if "seed" in changes or "rate_limit_burst" in changes:
            self.reseed()

    def describe(self) -> dict:
        return asdict(self.faults)

    def record(self, entry: dict) -> None:
        self.log.append(entry)

    def plan(self) -> dict:
        """Draw this request's fate.  Keys: delay, action ('ok', '502', '429', 'drop_before',
        'drop_after', 'malformed', 'slow'), die (stop the server after answering)."""
        f = self.faults
        with self._lock:
            rng = self._rng
            delay = f.latency_ms / 1000.0
            if f.jitter_ms:
                delay += (rng.random() * 2 - 1) * f.jitter_ms / 1000.0
            delay = max(delay, 0.0)
            if self.dead:
                return {"delay": 0.0, "action": "drop_before", "die": False}
            self._served += 1
            die = f.die_after_requests is not None and self._served >= f.die_after_requests
            if die:
                self.dead = True
            if f.rate_limit_per_second:
                now = time.monotonic()
                self._tokens = min(float(f.rate_limit_burst),
                                   self._tokens + (now - self._last_refill) * f.rate_limit_per_second)
                self._last_refill = now
                if self._tokens < 1.0:
                    return {"delay": delay, "action": "429", "die": die}
                self._tokens -= 1.0
            action = "ok"
            for name, rate in (("drop_before", f.drop_before_rate), ("502", f.error_rate),
                               ("drop_after", f.drop_after_rate), ("malformed", f.malformed_rate),
                               ("slow", f.slow_body_rate)):
                # Always draw, so one rate's value does not shift the others' sequence.
                hit = rng.random() < rate
                if hit and action == "ok":
                    action = name
            return {"delay": delay, "action": action, "die": die}
