"""Interactive connection helpers for the Profiles dialog: sign in with a password, test a connection.

Both talk to the site once, with short timeouts and few retries (a person is
waiting), and close their transport before returning. Neither ever puts the
token or the password into an error message: the transport scrubs both.
"""

from __future__ import annotations

from lms_console.services.connection import open_client
from lms_console.services.credentials import Secret, check_token
from lms_console.services.doctor import DoctorReport, diagnose
from lms_console.services.lms.http import HttpTransport, RetryPolicy, Timeouts
from lms_console.services.lms.moodle import MoodleClient
from lms_console.services.profile_rules import check_url_security, normalise_url, validate_service
from lms_console.services.profiles import DEFAULT_SERVICE
from lms_console.services.progress import NEVER_CANCELLED, CancelToken

# Someone is looking at a spinner: fail within seconds, not minutes.
INTERACTIVE_TIMEOUTS = Timeouts(connect=10.0, read=30.0)
INTERACTIVE_RETRY = RetryPolicy(attempts=2, base_delay=0.3, max_delay=1.0)


def sign_in(url: str, username: str, password: str, service: str = DEFAULT_SERVICE, *,
            insecure: bool = False, cancel: CancelToken = NEVER_CANCELLED,
            timeouts: Timeouts = INTERACTIVE_TIMEOUTS) -> Secret:
    """Get the token of ``username`` for ``service`` through Moodle's ``login/token.php``.

    The URL obeys the profile rules (https, or http to loopback, or ``insecure``).
    Moodle hands back an existing token, and creates one only where the service and
    the user's permissions allow it (never for a site administrator on a custom
    service): that refusal is a :class:`~lms_console.services.lms.errors.PermissionDenied`
    with code ``cannotcreatetoken``. Sign-in is not idempotent, so it is never retried.
    """
    site = normalise_url(url)
    check_url_security(site, insecure)
    validate_service(service)
    with HttpTransport(site, timeouts=timeouts, retry=RetryPolicy(attempts=1)) as transport:
        transport.add_secret(password)
        token = MoodleClient.sign_in(transport, username.strip(), password, service, cancel=cancel)
    return check_token(token)


def check_connection(profile, token: Secret | str, *, cancel: CancelToken = NEVER_CANCELLED,
                     timeouts: Timeouts = INTERACTIVE_TIMEOUTS) -> DoctorReport:
    """Run the connection doctor for ``profile`` with ``token``; expected failures land in ``report.error``."""
    client = open_client(profile, token, pool_size=2, timeouts=timeouts, retry=INTERACTIVE_RETRY)
    try:
        return diagnose(client, insecure=bool(getattr(profile, "insecure", False)), cancel=cancel)
    finally:
        client.transport.close()
