"""Typed errors for everything that can go wrong talking to an LMS.

Every error carries what failed (``function``), the LMS's own code (``code``),
the LMS's message with HTML stripped (``message``) and a plain-language
``hint`` saying what to do.  Views show these inline; anything that is not an
:class:`LmsError` is a bug and goes to the crash dialog.

Messages never contain the token: the transport redacts every string it puts
into an error (see :func:`lms_console.services.lms.http.redact`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query keys whose values are credentials (Moodle's token/wstoken, a key= of pluginfile or a login link).
_SECRET_QUERY_KEYS = frozenset({"token", "wstoken", "key", "privatetoken", "password", "sesskey"})


def redact_url(url: str) -> str:
    """``url`` fit for a message: credential query values and any user:password@ replaced by ***."""
    try:
        parts = urlsplit(url)
        netloc = ("***@" if "@" in parts.netloc else "") + parts.netloc.rsplit("@", 1)[-1]
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "(an address that cannot be read)"


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


class NotTls(Unreachable):
    """An ``https://`` address reached a port that does not speak TLS (plain HTTP, or another
    protocol): the handshake fails the same way every time, so it is never retried."""

    title = "No HTTPS on this port"
    default_hint = "Check the URL: use http:// for a site without HTTPS on this port, otherwise its https port."

    @classmethod
    def at(cls, host: str, port: int, detail: str, *, loopback: bool, function: str = "") -> NotTls:
        hint = (f"This looks like a local test site: use http:// instead of https:// (the server on port {port} "
                "answers in plain HTTP)." if loopback else
                f"Check the port in the URL: port {port} does not answer in HTTPS. Use the site's https port "
                "(usually 443, i.e. no port at all), or http:// if the site has no HTTPS there.")
        return cls(f"{host}:{port} does not speak https ({detail})", function=function, code="nottls", hint=hint)


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


class Redirected(BadResponse):
    """The site answered a request that carries the token with a redirect (HTTP 3xx).

    Never followed: the token would go to whatever the ``Location`` names (another host, or
    plain http). Never retried either: the same address gets the same answer.
    """

    title = "The site redirects elsewhere"
    default_hint = (
        "The console never follows a redirect with the token. If the address it redirects to is "
        "this same site (for example http:// moved to https://), change the profile's URL to it; "
        "if you do not recognise it, do not."
    )

    @classmethod
    def answer(cls, status: int, target: str | None, *, base_url: str, path: str, function: str = "",
               redact: Callable[[str], str] = str) -> Redirected:
        """The error for a ``status`` redirect to the absolute URL ``target`` (None: no Location) of a
        request to ``path`` on ``base_url``; credentials in the URLs are never shown."""
        if not target:
            return cls(f"the site answered with a redirect (HTTP {status}) without saying where to",
                       status=status, function=function, code="redirect")
        msg = (f"the site answered with a redirect to {redact(redact_url(target))[:300]} (HTTP {status}): the "
               f"address in the profile ({redact(redact_url(base_url))}) is not the site's web service address; "
               "use the address it redirects to if you trust it")
        # The redirect kept the endpoint's path (".../webservice/rest/server.php"): name the site root to use.
        t = urlsplit(target)
        root = urlunsplit((t.scheme, t.netloc, t.path[: -len(path)], "", "")) if path and t.path.endswith(path) else ""
        hint = (f"The console never follows a redirect with the token. If {redact(redact_url(root))} is this same "
                "site, change the profile's URL to it; if you do not recognise it, do not.") if root else None
        return cls(msg, status=status, function=function, code="redirect", hint=hint)


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
