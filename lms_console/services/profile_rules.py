"""What a profile's values must be: its name, site URL, backend and service, and the errors for values
that break the rules (:class:`InvalidProfileValue`, a :class:`ProfileError`).

URL rules: ``https://`` always; ``http://`` only to a loopback host (the token
never leaves the machine), or with an explicit ``insecure=True``, which every
place that shows the profile flags
(:attr:`~lms_console.services.profiles.Profile.security_warning`). TLS
certificate checks are never turned off, ``insecure`` or not.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

from lms_console.services.lms.errors import LmsError

BACKENDS = ("moodle",)
MAX_NAME_LENGTH = 64

_NAME_PUNCTUATION = set(" -_.@+()")
_SERVICE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


# ---------------------------------------------------------------------------
# Errors


class ProfileError(LmsError):
    """A profile could not be added, found, changed or read. The message says what and which."""

    default_hint = ""

    def __init__(self, message: str, *, profile: str = "", field: str = "", **kw) -> None:
        super().__init__(message, **kw)
        self.profile = profile
        self.field = field


class InvalidProfileValue(ProfileError):
    """A value given for a profile is not acceptable (name, URL, backend, service)."""


# ---------------------------------------------------------------------------
# Validation


def validate_name(name: str) -> str:
    """Return the name (NFC-normalised) or raise :class:`InvalidProfileValue` saying what is wrong."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidProfileValue("Profile name is empty.", field="name")
    name = unicodedata.normalize("NFC", name)
    shown = repr(name if len(name) <= MAX_NAME_LENGTH else name[:MAX_NAME_LENGTH] + "...")
    if name != name.strip():
        raise InvalidProfileValue(f"Profile name {shown} starts or ends with a space.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidProfileValue(f"Profile name {shown} is longer than {MAX_NAME_LENGTH} characters.",
                                  field="name")
    if not name[0].isalnum():
        raise InvalidProfileValue(f"Profile name {shown} must start with a letter or digit.", field="name")
    bad = sorted({c for c in name if not (c.isalnum() or c in _NAME_PUNCTUATION)})
    if bad:
        listed = " ".join(repr(c) for c in bad)
        raise InvalidProfileValue(
            f"Profile name {shown} contains {listed}; use letters, digits, spaces and - _ . @ + ( ).",
            field="name")
    return name


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: plain HTTP there never leaves the machine."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown_url(raw: str) -> str:
    """The URL for an error message, without anything that may hold a secret (user info, query)."""
    try:
        parts = urlsplit(raw.strip())
    except ValueError:
        return "(unparseable URL)"
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    if not parts.scheme and not parts.netloc:
        return repr(raw.strip().split("?")[0].split("#")[0][:200])
    extra = "?..." if parts.query else ""
    userinfo = "***@" if "@" in parts.netloc else ""
    return repr(f"{parts.scheme}://{userinfo}{host}{port}{parts.path}{extra}"[:200])


def normalise_url(raw: str) -> str:
    """``scheme://host[:port]/path`` with lower-case scheme and host, no default port, no trailing slash.

    Raises :class:`InvalidProfileValue` for anything that is not a plain site URL. Error
    messages never repeat a query string or user info (they may carry a token).
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidProfileValue("URL is empty.", field="url")
    text = raw.strip()
    shown = _shown_url(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidProfileValue(f"URL {shown} is not valid: {exc}.", field="url") from None
    scheme = parts.scheme.lower()
    if not parts.netloc:
        if "://" not in text:
            guess = text.split("?")[0].split("#")[0].rstrip("/")
            raise InvalidProfileValue(
                f"URL {shown} has no scheme; did you mean 'https://{guess}'?", field="url")
        raise InvalidProfileValue(f"URL {shown} has no host name.", field="url")
    if scheme not in ("https", "http"):
        raise InvalidProfileValue(f"URL {shown} must start with https:// (got {scheme}://).", field="url")
    if "@" in parts.netloc:
        raise InvalidProfileValue(
            f"URL {shown} contains a user name or password; give only the site address.", field="url")
    if parts.query or parts.fragment:
        raise InvalidProfileValue(
            f"URL {shown} contains a query or fragment; give only the site address "
            "(e.g. https://moodle.example.edu).", field="url")
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidProfileValue(f"URL {shown} has no host name.", field="url")
    if any(c.isspace() for c in host):
        raise InvalidProfileValue(f"URL {shown} has spaces in its host name.", field="url")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default_port = 443 if scheme == "https" else 80
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    if any(c.isspace() for c in path):
        raise InvalidProfileValue(f"URL {shown} has spaces in its path.", field="url")
    page = next((p for p in _MOODLE_PAGES if path.lower().endswith(p)), None)
    if page is not None or path.lower().endswith(".php"):
        root = f"{scheme}://{netloc}{path[:-len(page)] if page else path.rsplit('/', 1)[0]}"
        raise InvalidProfileValue(
            f"URL {shown} is a page of the site, not its address; give the address its pages start from"
            + (f" ({root})." if page else f" (perhaps {root})."), field="url")
    return f"{scheme}://{netloc}{path}"


# Pages people copy from the browser or from web-service docs instead of the site's root address.
_MOODLE_PAGES = ("/webservice/rest/server.php", "/webservice/restful/server.php", "/webservice/soap/server.php",
                 "/login/index.php", "/login/token.php", "/my/index.php", "/admin/index.php", "/course/view.php",
                 "/index.php")


def check_url_security(url: str, insecure: bool) -> bool:
    """Apply the plain-HTTP rule to a normalised URL; return the ``insecure`` value to record.

    ``insecure`` is recorded only where it matters (``http://`` to a non-loopback host).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        if insecure:
            raise InvalidProfileValue(
                f"insecure only permits plain http:// to a non-local host; {url} is already https "
                "(certificate checks are never turned off).", field="insecure")
        return False
    if is_loopback_host(host):
        return False
    if not insecure:
        raise InvalidProfileValue(
            f"URL {url} uses plain http:// to {host}: the token would cross the network unencrypted. "
            "Use https://, or allow it explicitly with --insecure.", field="url")
    return True


def validate_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise InvalidProfileValue(
            f"Backend {backend!r} is not supported (supported: {', '.join(BACKENDS)}).", field="backend")
    return backend


def validate_service(service: str) -> str:
    if not isinstance(service, str) or not _SERVICE_RE.match(service):
        raise InvalidProfileValue(
            f"Service short name {service!r} is not valid: use 1-100 letters, digits, '_', '.' or '-'.",
            field="service")
    return service


_DEFAULT_PORTS = {"http": 80, "https": 443}


def token_may_follow(old_url: str, new_url: str) -> bool:
    """Whether a token made for the site at ``old_url`` may be sent to ``new_url``: the same host and port
    (another path there is an address being corrected), or the same host moving from http to https at
    their default ports. Another port of the same host can be another site (another Moodle, or anything
    else listening there), so it is another host as far as the token is concerned."""
    def origin(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        try:
            port = parts.port or _DEFAULT_PORTS.get(scheme)
        except ValueError:
            port = None
        return scheme, (parts.hostname or "").lower(), port

    (old_scheme, old_host, old_port), (new_scheme, new_host, new_port) = origin(old_url), origin(new_url)
    if old_host != new_host:
        return False
    return old_port == new_port or (old_scheme, old_port, new_scheme, new_port) == ("http", 80, "https", 443)
