"""Build the LMS client for a connection profile (shared by the CLI and the GUI)."""

from __future__ import annotations

from lms_console.services.lms.http import HttpTransport, RetryPolicy, Timeouts
from lms_console.services.lms.moodle import MoodleClient


def open_client(profile, token, *, pool_size: int = 16, timeouts: Timeouts = Timeouts(),
                retry: RetryPolicy = RetryPolicy()) -> MoodleClient:
    """A client for ``profile`` (url, backend) authenticated with ``token`` (a Secret or str).

    HTTPS certificates are always verified; plain HTTP reaches only loopback or
    profiles explicitly marked insecure (checked by the profile itself).
    """
    if getattr(profile, "backend", "moodle") != "moodle":
        raise ValueError(f"backend {profile.backend!r} is not supported yet")
    transport = HttpTransport(profile.url, timeouts=timeouts, retry=retry, pool_size=pool_size)
    return MoodleClient(transport, token)
