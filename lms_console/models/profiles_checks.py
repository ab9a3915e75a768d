"""The Profiles dialog's network checks: the connection test and the password sign-in.

:class:`ConnectionChecks` is a mixin of :class:`~lms_console.models.profiles_controller.ProfilesController`:
it uses the controller's profile store, token store, task runner and sign-in tokens held until their
profile is saved (``_pending``), its URL check and its signals (declared on the controller). The work
runs on the :class:`~lms_console.models.tasks.TaskRunner`; results come back as those signals on the GUI
thread.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lms_console.services.credentials import (
    CredentialError,
    InvalidToken,
    KeychainUnavailable,
    Secret,
    TokenMissing,
    check_token,
)
from lms_console.services.lms.errors import LmsError, Unreachable
from lms_console.services.profile_rules import (
    InvalidProfileValue,
    token_may_follow,
    validate_name,
    validate_service,
)
from lms_console.services.profiles import DEFAULT_SERVICE, Profile
from lms_console.services.signin import check_connection, sign_in

TEST_JOB = "profiles.test_connection"
SIGN_IN_JOB = "profiles.sign_in"
PLACEHOLDER_NAME = "New profile"  # a test of an unnamed form still needs a valid Profile


CANNOT_CREATE_TOKEN = (
    "The site accepted the password but will not create a token for this account. Moodle never "
    "creates tokens through sign-in for site administrators (and for other users only if their role "
    "may create tokens). Paste a token instead: Site administration > Server > Web services > "
    "Manage tokens, for the service named under Advanced.")
WRONG_LOGIN = "Wrong user name or password. (Moodle locks an account after repeated failures.)"
NO_ANSWER_WITHOUT_CACHE = "The site did not answer. Check the URL and your network."


def explain_sign_in_failure(err: LmsError) -> str:
    """What a failed sign-in means, in plain words."""
    known = {"cannotcreatetoken": CANNOT_CREATE_TOKEN, "invalidlogin": WRONG_LOGIN}
    return known.get(err.code) or " ".join(t for t in (err.message.rstrip(".") + ".", err.hint) if t)


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """The form's values for a profile that may not be saved yet."""

    name: str
    url: str
    insecure: bool = False
    service: str = DEFAULT_SERVICE


class ConnectionChecks:
    """Testing a profile's connection and signing in with a password, for
    :class:`~lms_console.models.profiles_controller.ProfilesController`."""

    # -- network ------------------------------------------------------------------------------
    def test_connection(self, target: str | ConnectionSettings, token_text: str | None = None) -> int | None:
        """Run the connection doctor off the GUI thread; returns the job id (None: failed at once).

        ``target`` is a saved profile's name (tested with its stored token unless
        ``token_text`` is given), or the form's :class:`ConnectionSettings` (tested with
        ``token_text``, else a token from sign-in, else the stored token of the saved
        profile of that name, but only while it still points at the same host).
        Invalid settings raise InvalidProfileValue, a missing or malformed token raises
        TokenMissing / InvalidToken (``field`` "token"); everything else arrives as
        ``connection_tested`` / ``connection_test_failed``.
        """
        if isinstance(target, str):
            profile = self._store.get(target)
            label = profile.name
        else:
            label = target.name
            profile = self._unsaved_profile(target)
        try:
            token = self._token_for_test(profile, target, token_text)
        except (InvalidToken, TokenMissing) as exc:
            exc.field = "token"  # type: ignore[attr-defined]  # the form shows it next to the token
            raise
        except LmsError as exc:
            self.connection_test_failed.emit(label, exc)
            return None
        self.cancel_test()

        def work(_progress, cancel):
            return check_connection(profile, token, cancel=cancel)

        def done(report) -> None:
            self._test_job = None
            if report.error is not None:
                self.connection_test_failed.emit(label, self._without_cache_promise(label, report.error))
            else:
                self.connection_tested.emit(label, report)

        def failed(exc: BaseException) -> None:
            self._test_job = None
            self.connection_test_failed.emit(label, self._without_cache_promise(label, self._as_lms_error(exc)))

        self.connection_test_started.emit(label)
        self._test_job = self._runner.run(TEST_JOB, work, label=f"Test connection to {profile.host}",
                                          on_done=done, on_error=failed)
        return self._test_job

    def cancel_test(self) -> None:
        if self._test_job is not None:
            self._runner.cancel(self._test_job)
            self._test_job = None

    def sign_in(self, url: str, username: str, password: str, service: str = DEFAULT_SERVICE, *,
                insecure: bool = False, profile: str | None = None) -> int:
        """Ask the site for the token of ``username`` (login/token.php) off the GUI thread.

        With ``profile`` (a saved profile at this URL) the token is stored for it at
        once; otherwise it is held until a profile for this URL is saved. Bad settings
        raise InvalidProfileValue with ``field`` set; the rest arrives as
        ``signed_in`` / ``sign_in_failed``.
        """
        check = self.check_url(url, insecure)
        if check.error:
            raise InvalidProfileValue(check.error, field="url")
        validate_service(service)
        if not username.strip():
            raise InvalidProfileValue("Enter the user name to sign in with.", field="username")
        if not password:
            raise InvalidProfileValue("Enter the password.", field="password")
        secret = Secret(password)
        site, key = check.url, self._pending_key(check.url)
        target = self._store.get(profile) if profile else None
        if target is not None and self._pending_key(target.url) != key:
            target = None  # the form now points elsewhere: hold the token until that is saved
        self.cancel_sign_in()

        def work(_progress, cancel):
            return sign_in(site, username, secret.reveal(), service, insecure=insecure, cancel=cancel)

        def done(token: Secret) -> None:
            self._sign_in_job = None
            self._pending[key] = token
            stored = False
            if target is not None:
                try:
                    self.set_token(target.name, None)
                    stored = True
                except CredentialError:
                    pass  # keychain_unavailable was emitted; the token stays pending
            self.signed_in.emit(stored)

        def failed(exc: BaseException) -> None:
            self._sign_in_job = None
            self.sign_in_failed.emit(self._as_lms_error(exc))

        self.sign_in_started.emit()
        self._sign_in_job = self._runner.run(SIGN_IN_JOB, work, label=f"Sign in to {check.host}",
                                             on_done=done, on_error=failed)
        return self._sign_in_job

    def cancel_sign_in(self) -> None:
        if self._sign_in_job is not None:
            self._runner.cancel(self._sign_in_job)
            self._sign_in_job = None

    # -- internals --------------------------------------------------------------------------------
    def _unsaved_profile(self, settings: ConnectionSettings) -> Profile:
        self._check_consent(settings.url, settings.insecure)
        try:
            name = validate_name(settings.name)
        except LmsError:
            name = PLACEHOLDER_NAME
        return self._store.build(name, settings.url, insecure=settings.insecure, service=settings.service)

    def _token_for_test(self, profile: Profile, target: str | ConnectionSettings,
                        token_text: str | None) -> Secret:
        if token_text is not None and token_text.strip():
            return check_token(token_text)
        pending = self._pending.get(self._pending_key(profile.url))
        if pending is not None:
            return pending
        saved_name = target if isinstance(target, str) else target.name
        try:
            saved = self._store.get(saved_name) if saved_name.strip() else None
        except LmsError:
            saved = None
        if saved is not None and token_may_follow(saved.url, profile.url):
            token = self._stored_token(saved)
            if token is not None:
                return token
        raise TokenMissing("There is no token to test with: paste a token or sign in with a password first.",
                           hint="")

    def _stored_token(self, saved: Profile) -> Secret | None:
        """The token stored for ``saved``; None also when there is no keychain at all: the dialog already says so
        under the token field (``keychain_available``), and the test would only repeat it. A keychain that is there
        but fails (locked, gone away) raises: that is news, reported as the test's failure."""
        try:
            return self._tokens.get(saved)
        except KeychainUnavailable:
            if self.keychain_available():
                raise
            return None

    def _without_cache_promise(self, name: str, err: LmsError) -> LmsError:
        """``err``, without "the console keeps working from its cache" when profile ``name`` has no synced cache."""
        if type(err) is not Unreachable or err.hint != Unreachable.default_hint or self.has_synced_cache(name):
            return err
        plain = copy.copy(err)
        plain.hint = NO_ANSWER_WITHOUT_CACHE
        return plain

    @staticmethod
    def _as_lms_error(exc: BaseException) -> LmsError:
        if isinstance(exc, LmsError):
            return exc
        # A bug: the TaskRunner's job_failed already routes it to the crash dialog.
        return LmsError(f"The console hit an internal error ({type(exc).__name__}); a crash report was made.",
                        hint="")
