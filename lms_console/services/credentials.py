"""Where web-service tokens live: the OS keychain, or this session's memory.

Tokens never go to a settings file, the cache, a log or an exception message.
They travel as :class:`Secret`, whose ``repr``/``str`` is ``Secret('***')``, so
an accidental print or log line shows nothing; only :meth:`Secret.reveal`
gives the value, at the one place that puts it on the wire.

Stores:

* :class:`KeyringTokenStore`: the OS keychain through the ``keyring`` package
  (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
  Service name ``lms-console``, user name = the profile's name.
* :class:`MemoryTokenStore`: a dict; for tests and session-only tokens.
* :class:`SessionFallbackTokenStore`: the keychain first; when there is none
  (headless machine, SSH session) it raises :class:`KeychainUnavailable`, and
  the caller may keep a token in memory for this session only, with the
  user's consent (``set(..., session_only=True)``).

There is deliberately no plaintext-file fallback: ``keyrings.alt`` is never
used, and a keyring that silently discards secrets (``null``) or has nothing
to chain to counts as "no keychain".

Headless and CI use: :func:`resolve_token` also accepts the token from the
``LMS_CONSOLE_TOKEN`` environment variable (optionally restricted to one
profile with ``LMS_CONSOLE_TOKEN_PROFILE``).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Mapping, Protocol, Union, runtime_checkable

from lms_console.services.lms.errors import LmsError

if TYPE_CHECKING:  # pragma: no cover - typing only; profiles imports this module
    from lms_console.services.profiles import Profile

log = logging.getLogger(__name__)

KEYRING_SERVICE = "lms-console"
TOKEN_ENV = "LMS_CONSOLE_TOKEN"
TOKEN_PROFILE_ENV = "LMS_CONSOLE_TOKEN_PROFILE"

ProfileRef = Union["Profile", str]


# ---------------------------------------------------------------------------
# Secret


class Secret:
    """A token that does not show itself.

    ``str()``, ``repr()`` and f-strings give ``Secret('***')``; equality is
    constant-time; pickling is refused so a token cannot ride along in a
    queued error or a crash report by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The real value: call this only where the token goes on the wire or into the keychain."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac  # here: hmac loads OpenSSL (~4 ms), and the CLI imports this module on every start

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]  # a hash of a token is a fingerprint of it

    def __reduce__(self):
        raise TypeError("Secret values are not pickled; pass the token explicitly where it is needed")


def _as_secret(token: Secret | str) -> Secret:
    return token if isinstance(token, Secret) else Secret(token)


def check_token(token: Secret | str) -> Secret:
    """Strip surrounding whitespace (a pasted newline) and reject empty or broken tokens.

    The message names what is wrong, never the token itself.
    """
    value = _as_secret(token).reveal().strip()
    if not value:
        raise InvalidToken("The token is empty.")
    if any(c.isspace() for c in value):
        raise InvalidToken("The token contains spaces or line breaks; paste only the token itself.")
    if not value.isprintable():
        raise InvalidToken("The token contains control characters; paste only the token itself.")
    return Secret(value)


def _redact(text: str, *secrets: Secret | None) -> str:
    for s in secrets:
        if s:
            text = text.replace(s.reveal(), "***")
    return text


# ---------------------------------------------------------------------------
# Errors


class CredentialError(LmsError):
    """A token could not be stored, read or found. An expected problem, shown as a banner or one CLI line."""

    default_hint = ""


class InvalidToken(CredentialError):
    """The token given is empty or malformed."""

    default_hint = "Copy the token again from Site administration > Server > Web services > Manage tokens."


class KeychainUnavailable(CredentialError):
    """There is no OS keychain to keep tokens in (headless machine, SSH session, no Secret Service)."""

    default_hint = (
        "You can use the token for this session only (it is forgotten when the console exits), "
        f"or supply it at run time through the {TOKEN_ENV} environment variable."
    )

    def __init__(self, message: str | None = None, **kw) -> None:
        super().__init__(message or (
            "No OS keychain is available: no Secret Service (GNOME Keyring, KWallet) is running, "
            "which is usual on a headless machine or over SSH."), **kw)


class KeychainLocked(CredentialError):
    """The keychain exists but stayed locked (the unlock prompt was dismissed)."""

    default_hint = "Unlock your keychain (log in to the desktop session) and try again."


class TokenMissing(CredentialError):
    """No token is known for a profile."""


# ---------------------------------------------------------------------------
# Stores


@runtime_checkable
class TokenStore(Protocol):
    """Keeps one token per connection profile.

    ``profile`` is a :class:`~lms_console.services.profiles.Profile` or its name.
    """

    def get(self, profile: ProfileRef) -> Secret | None: ...

    def set(self, profile: ProfileRef, token: Secret | str) -> None: ...

    def delete(self, profile: ProfileRef) -> None:
        """Forget the token; no error if there was none."""

    def available(self) -> bool:
        """Whether tokens can be kept (False: no keychain here)."""

    def backend_name(self) -> str:
        """Where tokens go, in words for the user ("Secret Service", "memory (this session only)")."""


def profile_key(profile: ProfileRef) -> str:
    name = profile if isinstance(profile, str) else profile.name
    if not name:
        raise ValueError("profile name is empty")
    return name


class MemoryTokenStore:
    """Tokens in a dict: forgotten when the process ends. For tests and session-only tokens."""

    def __init__(self) -> None:
        self._tokens: dict[str, Secret] = {}

    def get(self, profile: ProfileRef) -> Secret | None:
        return self._tokens.get(profile_key(profile))

    def set(self, profile: ProfileRef, token: Secret | str) -> None:
        self._tokens[profile_key(profile)] = check_token(token)

    def delete(self, profile: ProfileRef) -> None:
        self._tokens.pop(profile_key(profile), None)

    def available(self) -> bool:
        return True

    def backend_name(self) -> str:
        return "memory (this session only)"

    def __contains__(self, profile: ProfileRef) -> bool:
        return profile_key(profile) in self._tokens

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._tokens)} token(s))"


_FRIENDLY_BACKENDS = {
    "keyring.backends.SecretService.Keyring": "Secret Service (GNOME Keyring / KWallet)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet 4",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
    "keyring.backends.fail.Keyring": "none (no OS keychain found)",
    "keyring.backends.null.Keyring": "none (keyring disabled)",
}


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


class KeyringTokenStore:
    """Tokens in the OS keychain via ``keyring``.

    ``backend`` pins a keyring backend (tests); by default the one ``keyring``
    detects is used, looked up at each call so ``keyring.set_keyring`` applies.
    """

    def __init__(self, service: str = KEYRING_SERVICE, *, backend=None) -> None:
        self.service = service
        self._backend = backend

    # -- which keyring -----------------------------------------------------

    def _keyring(self):
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    def available(self) -> bool:
        try:
            kr = self._keyring()
        except Exception:  # detection itself failed (broken config, D-Bus trouble)
            log.debug("keyring detection failed", exc_info=True)
            return False
        return _usable(kr)

    def backend_name(self) -> str:
        try:
            kr = self._keyring()
        except Exception:
            return "none (keyring detection failed)"
        return _describe(kr)

    # -- operations --------------------------------------------------------

    def get(self, profile: ProfileRef) -> Secret | None:
        kr = self._usable_keyring()
        value = self._call(lambda: kr.get_password(self.service, profile_key(profile)), "read")
        return Secret(value) if value is not None else None

    def set(self, profile: ProfileRef, token: Secret | str) -> None:
        secret = check_token(token)
        kr = self._usable_keyring()
        self._call(lambda: kr.set_password(self.service, profile_key(profile), secret.reveal()), "store",
                   secret)
        log.info("token for profile %r stored in %s", profile_key(profile), _describe(kr))

    def delete(self, profile: ProfileRef) -> None:
        from keyring.errors import PasswordDeleteError

        kr = self._usable_keyring()
        try:
            self._call(lambda: kr.delete_password(self.service, profile_key(profile)), "delete")
        except CredentialError as exc:
            if isinstance(exc.__cause__, PasswordDeleteError):  # there was none: fine
                return
            raise

    def __repr__(self) -> str:
        return f"KeyringTokenStore(service={self.service!r})"

    # -- helpers -----------------------------------------------------------

    def _usable_keyring(self):
        try:
            kr = self._keyring()
        except Exception as exc:
            raise KeychainUnavailable(
                f"No OS keychain is available: keyring could not start ({type(exc).__name__}).") from exc
        if not _usable(kr):
            raise KeychainUnavailable()
        return kr

    def _call(self, op, verb: str, secret: Secret | None = None):
        from keyring.errors import InitError, KeyringLocked, NoKeyringError

        try:
            return op()
        except NoKeyringError as exc:
            raise KeychainUnavailable() from exc
        except KeyringLocked as exc:
            raise KeychainLocked(f"Could not {verb} the token: the keychain is locked.") from exc
        except InitError as exc:
            # Secret Service went away or has no default collection: same advice as "none".
            raise KeychainUnavailable(
                f"Could not {verb} the token: the keychain could not be opened "
                f"({_redact(str(exc), secret)})") from exc
        except Exception as exc:
            # Anything a backend raises (D-Bus errors, OS errors): one clear line, never the token.
            raise CredentialError(
                f"Could not {verb} the token in {_describe(self._keyring())}: "
                f"{type(exc).__name__}: {_redact(str(exc), secret)}") from exc


def _usable(kr) -> bool:
    """False for keyrings that cannot keep a secret: fail, null, or a chainer with nothing to chain."""
    from keyring.backends import chainer, fail

    if isinstance(kr, fail.Keyring):
        return False
    if _qualname(kr) == "keyring.backends.null.Keyring":
        return False
    if isinstance(kr, chainer.ChainerBackend):
        try:
            return bool(list(kr.backends))
        except Exception:
            return False
    return True


def _describe(kr) -> str:
    from keyring.backends import chainer

    if isinstance(kr, chainer.ChainerBackend):
        try:
            inner = [_describe(b) for b in kr.backends]
        except Exception:
            inner = []
        return f"chain of: {', '.join(inner)}" if inner else "none (no OS keychain found)"
    name = _qualname(kr)
    return _FRIENDLY_BACKENDS.get(name, name)


class SessionFallbackTokenStore:
    """The keychain, plus session-only tokens the user opted into when there is no keychain.

    * ``get``: a session-only token if one was set, else the keychain (which may
      raise :class:`KeychainUnavailable`: show its message and offer "this session only").
    * ``set(profile, token)``: the keychain; ``set(..., session_only=True)``: memory only.
    * ``delete``: both; the session copy is dropped even if the keychain is unavailable.
    """

    def __init__(self, keychain: TokenStore | None = None, session: MemoryTokenStore | None = None) -> None:
        self.keychain: TokenStore = keychain if keychain is not None else KeyringTokenStore()
        self.session = session if session is not None else MemoryTokenStore()

    def get(self, profile: ProfileRef) -> Secret | None:
        token = self.session.get(profile)
        if token is not None:
            return token
        return self.keychain.get(profile)

    def set(self, profile: ProfileRef, token: Secret | str, *, session_only: bool = False) -> None:
        if session_only:
            self.session.set(profile, token)
            return
        self.keychain.set(profile, token)
        self.session.delete(profile)

    def delete(self, profile: ProfileRef) -> None:
        self.session.delete(profile)
        self.keychain.delete(profile)

    def is_session_only(self, profile: ProfileRef) -> bool:
        return profile in self.session

    def available(self) -> bool:
        return self.keychain.available()

    def backend_name(self) -> str:
        return self.keychain.backend_name()

    def __repr__(self) -> str:
        return f"SessionFallbackTokenStore({self.keychain!r}, {self.session!r})"


def has_token(store: TokenStore, profile: ProfileRef) -> bool | None:
    """Whether a token is stored for ``profile``; None when that cannot be known (no keychain, locked)."""
    try:
        return store.get(profile) is not None
    except CredentialError:
        return None


def resolve_token(profile: ProfileRef, store: TokenStore, env: Mapping[str, str] | None = None) -> Secret:
    """The token to use for ``profile``: the store's, else ``$LMS_CONSOLE_TOKEN``, else a clear error.

    The stored token wins so an exported variable never overrides what the user
    paired with a site. ``LMS_CONSOLE_TOKEN_PROFILE=NAME`` restricts the variable to
    one profile, so a token exported for one site is never sent to another.
    """
    env = os.environ if env is None else env
    name = profile_key(profile)
    unavailable: KeychainUnavailable | None = None
    try:
        token = store.get(profile)
    except KeychainUnavailable as exc:
        token, unavailable = None, exc
    if token is not None:
        return token

    raw = env.get(TOKEN_ENV)
    scope = env.get(TOKEN_PROFILE_ENV, "").strip()
    if raw is not None and scope and scope.casefold() != name.casefold():
        raw_note = f" ({TOKEN_ENV} is set but {TOKEN_PROFILE_ENV} limits it to profile {scope!r})"
        env_hint = f"set {TOKEN_PROFILE_ENV}={name} if {TOKEN_ENV} is this site's token"
        raw = None
    else:
        raw_note = ""
        env_hint = f"set {TOKEN_ENV} for this run"
    if raw is not None:
        try:
            return check_token(raw)
        except InvalidToken as exc:
            raise InvalidToken(f"{TOKEN_ENV}: {exc.message}") from None

    if unavailable is not None:
        raise KeychainUnavailable(
            f"No token for profile {name!r}: {unavailable.message}{raw_note}",
            hint=(f"Set {TOKEN_ENV} to the token when running the console on this machine." if not raw_note
                  else f"{env_hint[0].upper()}{env_hint[1:]}."))
    raise TokenMissing(
        f"No token stored for profile {name!r} in {store.backend_name()}{raw_note}.",
        hint=f"Store one with `lms-console profile set-token {name}`, or {env_hint}.")
