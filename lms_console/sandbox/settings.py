"""Settings of one sandbox server: site limits, debug mode and injected faults.

Everything here can be changed while the server runs (Python API
``SandboxServer.set_faults`` / ``update_settings`` or ``POST /_sandbox/control``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class FaultSettings:
    """Faults injected in front of every request (deterministic with ``seed``).

    Probabilities are per request and drawn from one seeded generator in the
    order requests arrive, so a single-threaded client sees the same faults on
    every run.
    """

    latency_ms: float = 0.0          # sleep before answering (other threads keep running)
    jitter_ms: float = 0.0           # +- uniform jitter added to latency_ms
    error_rate: float = 0.0          # HTTP 502 nginx page instead of the answer
    drop_before_rate: float = 0.0    # close the socket before doing anything
    drop_after_rate: float = 0.0     # run the request (commit!) then close without answering
    malformed_rate: float = 0.0      # answer with the JSON body cut in half
    slow_body_rate: float = 0.0      # trickle the body out slowly
    slow_body_chunk: int = 512       # bytes per trickled chunk
    slow_body_delay_ms: float = 20.0  # pause between trickled chunks
    die_after_requests: int | None = None  # stop listening once this many requests were served
    rate_limit_per_second: float | None = None  # token bucket; excess gets HTTP 429
    rate_limit_burst: int = 10
    retry_after_s: int = 1
    seed: int = 0

    def update(self, **changes) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in changes.items():
            if key not in names:
                raise KeyError(f"unknown fault setting: {key}")
            setattr(self, key, value)


@dataclass
class SandboxSettings:
    """Site-level behaviour of the sandbox."""

    debug: bool = False                     # Moodle "developer debugging": adds debuginfo
    max_input_vars: int = 1000              # PHP max_input_vars (fields beyond are dropped)
    max_url_bytes: int = 65536              # longer request lines get nginx's 414 page
    max_request_bytes: int = 128 * 1024 * 1024  # nginx client_max_body_size -> 413 page
    max_upload_file_bytes: int = 100 * 1024 * 1024  # Moodle maxbytes -> per-file fileoversized
    user_quota_bytes: int = 104857600       # non-admin private files quota shown in site info
    sitename: str = "Sandbox LMS"
    enable_sync_service: bool = True        # local_sync_service functions in the service
    record_requests: bool = True
    # Keep the JSON answers of read functions (per token and parameters) until any write
    # function runs. Benchmarks use it so the sandbox behaves like a remote site whose own
    # computing is small next to the network latency (a real Moodle runs many PHP workers;
    # this is one Python process sharing two cores with the client).
    response_cache: bool = False
    response_cache_bytes: int = 4 * 1024 ** 3
    request_log_limit: int = 200_000
    control_secret: str | None = None       # protects POST /_sandbox/control (None = random)
    faults: FaultSettings = field(default_factory=FaultSettings)

    def update(self, **changes) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in changes.items():
            if key not in names or key == "faults":
                raise KeyError(f"unknown setting: {key}")
            setattr(self, key, value)
