"""Shared HTTP transport for every LMS client: timeouts, retries, back-off, redaction.

Endpoint verbs (which function, which parameters) live in the clients
(``moodle.py``); this module only moves bytes and turns every transport
failure into a typed :mod:`~lms_console.services.lms.errors` error.

Rules it enforces:

* every request has a connect and a read timeout;
* only idempotent requests (reads) are retried, on connection errors, 5xx and
  429, with exponential back-off and full jitter, honouring ``Retry-After``;
* a write whose answer was lost raises :class:`OutcomeUnknown` (never resent here);
* a 429 pauses *all* threads sharing the transport until the site's deadline;
* secrets registered with :meth:`HttpTransport.add_secret` are scrubbed from
  every message this module produces; parameters are never logged;
* redirects are never followed (every request carries the token or a password):
  a 3xx answer raises :class:`Redirected`, never retried.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import IO
from urllib.parse import quote_plus, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
)

from lms_console import __version__
from lms_console.services.lms.errors import (
    BadResponse,
    Cancelled,
    NotTls,
    OutcomeUnknown,
    RateLimited,
    Redirected,
    TlsFailure,
    Unreachable,
)
from lms_console.services.progress import NEVER_CANCELLED, CancelToken

log = logging.getLogger(__name__)

Fields = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    # Moodle's unpaged lists (users, courses, grades) can take minutes on big sites.
    read: float = 180.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # total tries of an idempotent request
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential back-off for retry number ``attempt`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, cap)


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


@dataclass(slots=True)
class TransportStats:
    """Counters for diagnostics and benchmarks (not thread-exact, close enough)."""

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    seconds: float = 0.0
    by_function: dict[str, int] = field(default_factory=dict)


_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")


def strip_html(text: str) -> str:
    """Plain text of an HTML fragment (Moodle puts ``<div>``s into some messages)."""
    import html

    return _WS_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", text))).strip()


def html_title(body: bytes) -> str:
    """The <title> (or first heading / first text) of an HTML error page, for messages."""
    text = body[:4096].decode("utf-8", "replace")
    m = re.search(r"<title>(.*?)</title>", text, re.I | re.S) or re.search(r"<h1>(.*?)</h1>", text, re.I | re.S)
    return strip_html(m.group(1) if m else text)[:200]


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def flatten_params(params: Mapping[str, object] | None, prefix: str = "") -> list[tuple[str, str]]:
    """PHP bracket encoding of nested parameters, as Moodle's REST server expects.

    ``{"users": [{"username": "a", "suspended": True}]}`` becomes
    ``[("users[0][username]", "a"), ("users[0][suspended]", "1")]``.  Booleans are
    sent as 1/0 (Moodle's PARAM_BOOL rejects "true"); ``None`` values are left out
    so optional parameters keep the server's default.
    """
    out: list[tuple[str, str]] = []
    if not params:
        return out

    def walk(key: str, value: object) -> None:
        t = type(value)
        if t is str:  # the common leaves first: exact type checks are far cheaper than ABC checks
            out.append((key, value))
            return
        if t is int:
            out.append((key, str(value)))
            return
        if value is None:
            return
        if t is dict or isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{key}[{k}]", v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(f"{key}[{i}]", v)
        elif isinstance(value, bool):
            out.append((key, "1" if value else "0"))
        elif isinstance(value, (int, float, str)):
            out.append((key, str(value)))
        else:
            raise TypeError(f"cannot send {type(value).__name__} as parameter {key}")

    for k, v in params.items():
        walk(f"{prefix}[{k}]" if prefix else str(k), v)
    return out


def count_fields(value: object) -> int:
    """How many form fields :func:`flatten_params` makes of ``value`` (without building them)."""
    t = type(value)
    if t is str or t is int or t is bool or t is float:
        return 1
    if value is None:
        return 0
    if t is dict or isinstance(value, Mapping):
        return sum(count_fields(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(count_fields(v) for v in value)
    return 1


_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
_ALWAYS_SAFE = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # what quote_plus leaves as it is


@lru_cache(maxsize=8192)
def _quote_key(key: str) -> str:
    return quote_plus(key)  # field names repeat from chunk to chunk (users[0][email], ...)


def encode_form(fields: Fields) -> bytes:
    """``application/x-www-form-urlencoded`` bytes of ``fields``, exactly as ``urlencode`` makes them.

    A chunk of a bulk call is up to 1,000 fields, mostly ids and plain words: those are
    taken as they are instead of going through ``quote_plus`` one character class at a time
    (the encoding was a third of the client's time for a 5,000-item apply)."""
    safe = _ALWAYS_SAFE.match
    return "&".join(f"{_quote_key(str(k))}={_quote_value(v, safe)}" for k, v in fields).encode("ascii")


def _quote_value(value: object, safe) -> str:
    text = value if type(value) is str else str(value)
    return text if safe(text) else quote_plus(text)


class HttpTransport:
    """One ``requests.Session`` per site, shared by all threads of a profile."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str = True,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        pool_size: int = 16,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.retry = retry
        self.stats = TransportStats()
        self._rng = rng or random.Random()
        self._secrets: list[str] = []
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0
        self._session = session or requests.Session()
        # requests re-reads proxy and CA-bundle environment variables on every call (a few
        # ms each); read them once for this site instead.
        self._session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
        env_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._session.trust_env = False
        # HTTPS verification is always on; ``verify`` may only name a CA bundle.
        self._session.verify = verify if verify not in (False, True) else (env_bundle or True)
        self._session.headers["User-Agent"] = f"lms-console/{__version__}"
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    # -- secrets ---------------------------------------------------------------
    @property
    def rng(self) -> random.Random:
        return self._rng

    def add_secret(self, secret: str) -> None:
        """Register a string (token, password) to scrub from every message."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "HttpTransport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- requests --------------------------------------------------------------
    def post_form(
        self,
        path: str,
        fields: Fields,
        *,
        idempotent: bool,
        cancel: CancelToken = NEVER_CANCELLED,
        label: str = "",
    ) -> HttpResponse:
        """POST an urlencoded form (the token goes in the body, never in the URL)."""
        return self._send("POST", path, idempotent=idempotent, cancel=cancel, label=label, data=encode_form(fields),
                          headers=_FORM_HEADERS)

    def post_multipart(
        self,
        path: str,
        fields: Fields,
        files: Sequence[tuple[str, str, IO[bytes], str]],
        *,
        cancel: CancelToken = NEVER_CANCELLED,
        label: str = "",
        progress: Callable[[int], None] | None = None,
    ) -> HttpResponse:
        """Streaming multipart upload: ``files`` are (field, filename, binary stream, mime).

        The body is generated chunk by chunk (a file is never read whole into
        memory); ``progress(bytes_sent)`` is called as it goes and ``cancel`` is
        checked between chunks. Uploads are not idempotent: never retried here.
        """
        body = _MultipartStream(fields, files, cancel=cancel, progress=progress)
        headers = {"Content-Type": body.content_type}
        return self._send("POST", path, idempotent=False, cancel=cancel, label=label, data=body, headers=headers)

    def download(
        self,
        path_or_url: str,
        fields: Fields,
        sink: IO[bytes],
        *,
        cancel: CancelToken = NEVER_CANCELLED,
        progress: Callable[[int, int], None] | None = None,
        label: str = "",
    ) -> int:
        """POST ``fields`` and stream the answer into ``sink``; returns bytes written."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        self._check_same_site(url)
        resp = self._request("POST", url, cancel=cancel, label=label, data=list(fields), stream=True)
        try:
            if resp.status_code != 200:
                body = resp.raw.read(4096, decode_content=True)
                raise BadResponse(
                    f"download failed: HTTP {resp.status_code} {html_title(body)}",
                    status=resp.status_code, function=label)
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            for chunk in resp.iter_content(256 * 1024):
                cancel.raise_if_cancelled()
                sink.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
            return done
        except requests.RequestException as exc:
            raise self._transport_error(exc, idempotent=True, label=label) from None
        finally:
            resp.close()

    # -- internals -------------------------------------------------------------
    def _check_same_site(self, url: str) -> None:
        # Never send the token to another host than the profile's site.
        a, b = urlsplit(url), urlsplit(self.base_url)
        if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
            raise BadResponse(f"refusing to send credentials to another site: {a.scheme}://{a.hostname}")

    def _send(self, method: str, path: str, *, idempotent: bool, cancel: CancelToken, label: str,
              **kw) -> HttpResponse:
        url = self.base_url + path
        attempts = self.retry.attempts if idempotent else 1
        last_exc: Exception | None = None
        for attempt in range(1, attempts + 1):
            cancel.raise_if_cancelled()
            self._wait_if_paused(cancel)
            try:
                t0 = time.monotonic()
                resp = self._request(method, url, cancel=cancel, label=label, **kw)
                body = resp.content
                elapsed = time.monotonic() - t0
            except requests.RequestException as exc:
                err = self._transport_error(exc, idempotent=idempotent, label=label)
                # A TLS failure (certificate, or a port that does not speak TLS) is the same on every try.
                if isinstance(err, (TlsFailure, NotTls, OutcomeUnknown)) or attempt == attempts:
                    raise err from None
                last_exc = err
            else:
                self._count(label, len(body), elapsed)
                if resp.status_code == 429 or (resp.status_code == 403 and b"Rate Limit Exceeded" in body[:2048]):
                    wait = _retry_after(resp.headers.get("Retry-After"))
                    self._pause(wait if wait is not None else self.retry.delay(attempt + 1, self._rng))
                    last_exc = RateLimited(f"the site is rate-limiting requests (HTTP {resp.status_code})",
                                           retry_after=wait, status=resp.status_code, function=label, code="ratelimited")
                    if attempt == attempts:
                        raise last_exc
                elif resp.status_code in self.retry.retry_statuses and resp.status_code >= 500:
                    err = _server_error(resp.status_code, body, label, sent=not idempotent)
                    if not idempotent or attempt == attempts:
                        raise err
                    last_exc = err
                else:
                    return HttpResponse(resp.status_code, resp.headers, body, elapsed)
            self.stats.retries += 1
            delay = self.retry.delay(attempt, self._rng)
            log.debug("retrying %s in %.2fs after %s", label or path, delay, type(last_exc).__name__)
            if cancel.wait(delay):
                raise Cancelled()
        assert last_exc is not None
        raise last_exc

    def _request(self, method: str, url: str, *, cancel: CancelToken, label: str, **kw) -> requests.Response:
        try:
            # Every request carries the token (or a password): a redirect is never followed, or the
            # credentials would go to whatever host, or plain-http address, the Location names.
            resp = self._session.request(method, url, timeout=(self.timeouts.connect, self.timeouts.read),
                                         allow_redirects=False, **kw)
        except _StreamCancelled:
            raise Cancelled() from None
        if 300 <= resp.status_code < 400 and resp.status_code != 304:
            location = resp.headers.get("Location")
            resp.close()
            raise self._redirect_error(resp.status_code, url, location, label)
        return resp

    def _redirect_error(self, status: int, url: str, location: str | None, label: str) -> Redirected:
        target = urljoin(url, location.strip()) if location else None
        return Redirected.answer(status, target, base_url=self.base_url, path=urlsplit(url).path, function=label,
                                 redact=self.redact)

    def _count(self, label: str, nbytes: int, elapsed: float) -> None:
        st = self.stats
        st.requests += 1
        st.bytes_received += nbytes
        st.seconds += elapsed
        st.by_function[label] = st.by_function.get(label, 0) + 1
        log.debug("%s: %d bytes in %.3fs", label, nbytes, elapsed)

    def _pause(self, seconds: float) -> None:
        with self._pause_lock:
            self._paused_until = max(self._paused_until, time.monotonic() + min(seconds, 300.0))

    def _wait_if_paused(self, cancel: CancelToken) -> None:
        remaining = self._paused_until - time.monotonic()
        if remaining > 0 and cancel.wait(remaining):
            raise Cancelled()

    def _transport_error(self, exc: requests.RequestException, *, idempotent: bool, label: str) -> Exception:
        parts = urlsplit(self.base_url)
        host = parts.hostname or self.base_url
        detail = self.redact(_root_cause(exc))
        if isinstance(exc, requests.exceptions.SSLError):
            if _NOT_TLS.search(detail):  # an https:// URL pointed at a plain-http port: no certificate involved
                return NotTls.at(host, parts.port or 443, detail, loopback=is_loopback_url(self.base_url),
                                 function=label)
            return TlsFailure(f"TLS/certificate check failed for {host}: {detail}", function=label, code="tls")
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _not_sent(exc):
            return Unreachable(f"cannot connect to {host}: {_plain_reason(exc, parts, detail)}", function=label,
                               code="unreachable")
        if isinstance(exc, requests.exceptions.ReadTimeout):
            msg = f"no answer from {host} within {self.timeouts.read:.0f} s"
        else:
            msg = f"connection to {host} lost: {detail}"
        if not idempotent:
            return OutcomeUnknown(msg + " (the request was sent; its outcome is unknown)", function=label,
                                  code="outcomeunknown")
        return Unreachable(msg, function=label, code="unreachable")


def _not_sent(exc: BaseException) -> bool:
    """True when the request provably never reached the server (safe to resend a write)."""
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, (NewConnectionError, NameResolutionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        nxt = getattr(e, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = e.args[0] if e.args and isinstance(e.args[0], BaseException) else e.__cause__ or e.__context__
        e = nxt
    return False


# What OpenSSL says when the other end answers in plain HTTP (or something else that is not TLS).
_NOT_TLS = re.compile(r"WRONG_VERSION_NUMBER|wrong version number|record layer failure|http request|"
                      r"packet length too long", re.IGNORECASE)


def _plain_reason(exc: BaseException, parts, detail: str) -> str:
    """Why a connection could not be made, in words ("the connection was refused: nothing answers on
    port 9") instead of urllib3's "HTTPConnection(host=…): Failed to establish a new connection: …"."""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    seen, e = set(), exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, NameResolutionError):
            return f"the host name {parts.hostname} could not be found (check its spelling, or the network's DNS)"
        if isinstance(e, ConnectTimeoutError) or isinstance(e, requests.exceptions.ConnectTimeout):
            return f"no answer on port {port} (a firewall, or the site is down)"
        if isinstance(e, ConnectionRefusedError) or "Errno 111" in str(e) or "Connection refused" in str(e):
            return f"the connection was refused: nothing answers on port {port}"
        nxt = getattr(e, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = e.args[0] if e.args and isinstance(e.args[0], BaseException) else e.__cause__ or e.__context__
        e = nxt
    return detail


def _root_cause(exc: BaseException) -> str:
    e: BaseException = exc
    for _ in range(6):
        nxt = getattr(e, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = e.args[0] if e.args and isinstance(e.args[0], BaseException) else None
        if nxt is None:
            break
        e = nxt
    text = str(e) or type(e).__name__
    # urllib3 messages repeat the pool and the object address; keep the readable part.
    text = re.sub(r"<urllib3[^>]*>:?\s*", "", text)
    return text[:300]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _server_error(status: int, body: bytes, label: str, *, sent: bool) -> Exception:
    text = f"the site answered HTTP {status} ({html_title(body)})"
    if sent:
        return OutcomeUnknown(text + "; the request may or may not have been applied",
                              status=status, function=label, code=f"http{status}")
    if status in (502, 503, 504):
        return Unreachable(text, status=status, function=label, code=f"http{status}",
                           hint="The site's web server answered, but Moodle behind it did not (down, restarting or "
                                "overloaded). Try again in a few minutes; the console keeps working from its cache.")
    return BadResponse(text, status=status, function=label, code=f"http{status}")


class _StreamCancelled(Exception):
    """Raised inside the body generator when the upload is cancelled."""


class _MultipartStream:
    """A multipart/form-data body produced lazily, with a known length.

    requests streams any iterable body with a Content-Length header, so large
    files go out in 256 KiB chunks straight from disk.
    """

    CHUNK = 256 * 1024

    def __init__(self, fields: Fields, files: Sequence[tuple[str, str, IO[bytes], str]], *,
                 cancel: CancelToken, progress: Callable[[int], None] | None) -> None:
        self.boundary = f"lmsconsole{random.getrandbits(64):016x}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._cancel = cancel
        self._progress = progress
        self._parts: list[bytes | tuple[IO[bytes], int]] = []
        b = self.boundary.encode()
        for name, value in fields:
            self._parts.append(b"--" + b + b"\r\n" + _disposition(name) + b"\r\n\r\n" + value.encode() + b"\r\n")
        for fieldname, filename, stream, mime in files:
            size = _stream_size(stream)
            head = (b"--" + b + b"\r\n" + _disposition(fieldname, filename) + b"\r\n"
                    + f"Content-Type: {mime or 'application/octet-stream'}\r\n\r\n".encode())
            self._parts.extend([head, (stream, size), b"\r\n"])
        self._parts.append(b"--" + b + b"--\r\n")
        self.length = sum(p if isinstance(p, int) else (p[1] if isinstance(p, tuple) else len(p))
                          for p in self._parts)

    def __len__(self) -> int:  # lets requests send Content-Length instead of chunked encoding
        return self.length

    def __iter__(self) -> Iterable[bytes]:
        sent = 0
        for part in self._parts:
            if isinstance(part, tuple):
                stream, size = part
                remaining = size
                while remaining > 0:
                    if self._cancel.cancelled:
                        raise _StreamCancelled()
                    chunk = stream.read(min(self.CHUNK, remaining))
                    if not chunk:
                        raise OSError("file shrank while it was being uploaded")
                    remaining -= len(chunk)
                    sent += len(chunk)
                    if self._progress:
                        self._progress(sent)
                    yield chunk
            else:
                yield part


def _disposition(name: str, filename: str | None = None) -> bytes:
    def q(s: str) -> str:
        return s.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")

    text = f'Content-Disposition: form-data; name="{q(name)}"'
    if filename is not None:
        text += f'; filename="{q(filename)}"'
    return text.encode("utf-8")


def _stream_size(stream: IO[bytes]) -> int:
    pos = stream.tell()
    stream.seek(0, 2)
    end = stream.tell()
    stream.seek(pos)
    return end - pos
