"""Typed errors for everything that can go wrong talking to an LMS.

Every error carries what failed (``function``), the LMS's own code (``code``),
the LMS's message with HTML stripped (``message``) and a plain-language
``hint`` saying what to do.  Views show these inline; anything that is not an
:class:`LmsError` is a bug and goes to the crash dialog.

Messages never contain the token: the transport redacts every string it puts
into an error (see :func:`lms_console.services.lms.http.redact`).
"""

from __future__ import annotations


class LmsError(Exception):
    """Base class of every expected LMS problem."""

    default_hint = "Check the connection settings and try again."

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        hint: str | None = None,
        function: str = "",
        status: int | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.hint = hint if hint is not None else self.default_hint
        self.function = function
        self.status = status
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.function}: " if self.function else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{self.message}{code}"

    def describe(self) -> str:
        """Message plus hint, for a banner or a terminal."""
        return f"{self}\n{self.hint}" if self.hint else str(self)

    def __reduce__(self):  # keep keyword-only fields across pickling (process pools, queues)
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls, message, state):
    obj = cls.__new__(cls)
    Exception.__init__(obj, message)
    obj.__dict__.update(state)
    return obj


class AuthExpired(LmsError):
    """The token is unknown, expired, restricted or its user is suspended."""

    default_hint = (
        "The site no longer accepts this token. Create a new token for the console's service "
        "(Site administration > Server > Web services > Manage tokens) and update the profile."
    )


class Unreachable(LmsError):
    """No answer from the site: DNS, refused connection, timeout, dropped link."""

    default_hint = "The site did not answer. Check the URL and your network; the console keeps working from its cache."


class TlsFailure(Unreachable):
    """The site's HTTPS certificate could not be verified."""

    default_hint = (
        "The site's HTTPS certificate could not be verified. Fix the certificate on the server or "
        "install the issuing CA on this computer; the console never turns verification off."
    )


class OutcomeUnknown(Unreachable):
    """A write was sent but no answer came back: it may or may not have been applied.

    Never resend blindly: re-read the items it touched first.
    """

    default_hint = "The request was sent but the answer was lost. The console will check on the site before retrying."


class RateLimited(LmsError):
    """The site asked us to slow down (HTTP 429, or Canvas' 403 'Rate Limit Exceeded')."""

    default_hint = "The site is throttling requests. The console waits and retries; lower the concurrency if it persists."

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class BadResponse(LmsError):
    """The site answered with something that is not the API's JSON (HTML error page, truncated body)."""

    default_hint = (
        "The site answered with a page the console cannot read (often a proxy or PHP error page). "
        "Check the server's error log; the request can be retried."
    )


class ApiRejected(LmsError):
    """The LMS understood the call and refused it (Moodle's ``exception`` answer)."""

    default_hint = "The site refused the request."


class FunctionNotAvailable(ApiRejected):
    """The function is not in the token's external service (or not on the site at all)."""

    default_hint = (
        "Add the function to the console's external service: Site administration > Server > "
        "Web services > External services > (your service) > Functions."
    )


class PermissionDenied(ApiRejected):
    """The token's user lacks a capability or cannot access the context."""

    default_hint = (
        "The token's user lacks a permission. Use a token of a site administrator, or give that user's "
        "role the capability named in the message."
    )


class InvalidParameter(ApiRejected):
    """Moodle's catch-all for wrong, missing or duplicate values (``invalidparameter``)."""

    default_hint = (
        "The site rejected a value. Moodle reports duplicates (username, email) and other problems "
        "only as 'invalid parameter'; check the values against the site's rules."
    )


class Cancelled(LmsError):
    """The user cancelled the job. Silent: never shown as an error."""

    default_hint = ""

    def __init__(self, message: str = "Cancelled", **kw) -> None:
        super().__init__(message, **kw)
