"""Every action of the Profiles dialog: add, change, remove, store a token, sign in, test, select.

The dialog passes plain form values (strings and booleans) and gets back frozen
data or an :class:`~lms_console.services.lms.errors.LmsError` whose ``field``
(where there is one) names the form field to flag. Network work (sign-in, the
connection test, in :mod:`lms_console.models.profiles_checks`) runs on the
:class:`~lms_console.models.tasks.TaskRunner`; results come back as signals on the GUI thread.

Tokens: text typed into the dialog is wrapped in a :class:`Secret` at once and
only revealed on the wire or into the keychain. A token obtained by signing in
never goes back to the view: it is stored for the profile, or held here
("pending", keyed by the site URL) until the profile it belongs to is saved.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Signal

from lms_console.models.profiles_checks import ConnectionChecks
from lms_console.models.profiles_model import ProfilesModel, token_state
from lms_console.models.tasks import TaskRunner
from lms_console.services.cache.site_binding import (
    Rebinding,
    pending_rebinding_message,
    rebind,
    rebinding_message,
    set_aside_message,
    site_key,
)
from lms_console.services.credentials import (
    InvalidToken,
    KeychainLocked,
    KeychainUnavailable,
    Secret,
    SessionFallbackTokenStore,
    TokenMissing,
    check_token,
)
from lms_console.services.lms.errors import LmsError
from lms_console.services.profile_rules import (
    InvalidProfileValue,
    is_loopback_host,
    normalise_url,
    token_may_follow,
    validate_name,
    validate_service,
)
from lms_console.services.profiles import DEFAULT_SERVICE, Profile, ProfileStore, RemovalReport

log = logging.getLogger(__name__)

# Moving the open profile: how long Save waits for its old copy to be closed and set aside (at once, unless
# the writer thread is still busy with it, e.g. sending a run: then it follows), and how long the writer
# thread then waits for a reader still holding the copy (a query of another thread finishing).
SAVE_WAITS_FOR_SET_ASIDE_S = 2.0
READERS_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class FormCheck:
    """The live check of the profile form: messages per field, and notes about the URL."""

    errors: dict[str, str]  # "name" / "url" / "service" / "token" -> what is wrong (only those that are)
    plain_http_remote: bool = False  # show the "Allow insecure HTTP" choice
    insecure_warning: str = ""  # plain HTTP to a remote host was allowed: say what that means
    url_note: str = ""  # "Will be saved as ..." or, with ``moves_host``, that the token will be forgotten
    moves_host: bool = False


@dataclass(frozen=True, slots=True)
class UrlCheck:
    """What the live URL check found. ``url`` is normalised ("" when unusable)."""

    url: str
    error: str = ""
    plain_http_remote: bool = False  # http:// to a non-loopback host: only with explicit consent

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "") if self.url else ""


class ProfilesController(ConnectionChecks, QObject):
    """The Profiles dialog's actions over a :class:`ProfileStore` and a session-aware token store.

    ``tokens`` (default ``store.tokens``) is a :class:`SessionFallbackTokenStore`; any
    other store is wrapped in one. It is also set as ``store.tokens``, so removing a
    profile, or moving it to another host or port, forgets its session-only token too.

    Signals:
        profiles_changed(): profiles or their token state changed (``model`` is refreshed already).
        profile_saved(object): a profile was added or changed (the new :class:`Profile`).
        profile_closing(str): the profile open in the console (see :meth:`set_open_profile`) is about
            to be removed, or moved to another site: close it now. Emitted before anything is deleted
            or set aside.
        profile_moved(object): the profile open in the console was moved to another site (it was closed
            through ``profile_closing``, its old copy is set aside on the writer thread once closed): the
            changed :class:`Profile`, to be opened again at its new address (see :meth:`finish_set_aside`).
        profile_removed(object): a profile was removed (its :class:`RemovalReport`).
        token_stored(str, bool): a token was stored for profile ``name``; True: for this session only.
        keychain_unavailable(str, str): a token for profile ``name`` could not go into the keychain
            (none, or locked); the message says why. Offer "use for this session only".
        connection_test_started(str): a test of profile ``name`` ("" for an unnamed form) began.
        connection_tested(str, object): the site answered: (name, DoctorReport).
        connection_test_failed(str, object): the test could not run or the site refused: (name, LmsError).
        sign_in_started(): a password sign-in began.
        signed_in(bool): the site handed out a token; True: stored for the profile,
            False: held until the profile is saved (never passed to the view).
        sign_in_failed(object): the sign-in failed (an LmsError; ``code`` "cannotcreatetoken"
            when the site will not create a token for that account).
        profile_selected(object): a profile was chosen to connect with (the :class:`Profile`,
            its ``last_used`` updated).
    """

    profiles_changed = Signal()
    profile_saved = Signal(object)
    profile_closing = Signal(str)
    profile_moved = Signal(object)
    profile_removed = Signal(object)
    token_stored = Signal(str, bool)
    keychain_unavailable = Signal(str, str)
    connection_test_started = Signal(str)
    connection_tested = Signal(str, object)
    connection_test_failed = Signal(str, object)
    sign_in_started = Signal()
    signed_in = Signal(bool)
    sign_in_failed = Signal(object)
    profile_selected = Signal(object)

    def __init__(self, store: ProfileStore, tokens: SessionFallbackTokenStore | None, runner: TaskRunner, *,
                 model: ProfilesModel | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        tokens = tokens if tokens is not None else store.tokens
        if not isinstance(tokens, SessionFallbackTokenStore):
            tokens = SessionFallbackTokenStore(tokens)
        # The store deletes tokens on remove and on a host change: it must see session-only ones too.
        store.tokens = tokens
        self._store = store
        self._tokens: SessionFallbackTokenStore = tokens
        self._runner = runner
        self._model = model if model is not None else ProfilesModel(store, self._tokens, self)
        self._pending: dict[str, Secret] = {}  # site URL -> token from sign-in, not yet stored
        self._test_job: int | None = None
        self._sign_in_job: int | None = None
        self._open_name: str | None = None  # the profile open in the console
        # Moved profiles whose old copy waits to be set aside (or deleted, holding nothing) once closed, and a
        # copy of the new address's site put back (casefolded name -> plan), see update().
        self._unmoved: dict[str, Rebinding] = {}
        self._rebound: dict[str, Rebinding] = {}  # ... and what was done, once it was (for set_aside_note)
        self._aside_lock = threading.Lock()
        self._aside_jobs = itertools.count(1)

    def __repr__(self) -> str:
        return f"ProfilesController({self._store!r}, {len(self._pending)} pending token(s))"

    # -- state ------------------------------------------------------------------------
    @property
    def model(self) -> ProfilesModel:
        return self._model

    def profile(self, name: str) -> Profile:
        """The saved profile (raises ProfileNotFound)."""
        return self._store.get(name)

    def keychain_available(self) -> bool:
        return self._tokens.available()

    def keychain_name(self) -> str:
        """Where tokens go, in words ("Secret Service (GNOME Keyring / KWallet)")."""
        return self._tokens.backend_name()

    def set_open_profile(self, name: str | None) -> None:
        """Tell the controller which profile the console has open (None: none)."""
        self._open_name = name

    def is_open(self, name: str | None) -> bool:
        """Whether saved profile ``name`` is the one open in the console."""
        return bool(name) and self._open_name is not None and self._open_name.casefold() == name.casefold()

    def has_synced_cache(self, name: str) -> bool:
        """Whether saved profile ``name`` has a local cache with at least one successful sync."""
        try:
            path = self._store.get(name).cache_path
        except LmsError:
            return False
        from lms_console.services.cache.queries import ever_synced

        return ever_synced(path)

    def token_state(self, name: str) -> tuple[bool | None, bool]:
        """(has_token, session_only) of a saved profile; has_token None: the keychain cannot be asked."""
        return token_state(self._tokens, name)

    def has_pending_token(self, url: str) -> bool:
        """Whether a token from sign-in waits for the profile of ``url`` to be saved."""
        return self._pending_key(url) in self._pending

    def discard_pending(self) -> None:
        """Forget tokens obtained by sign-in that were never saved (the dialog closed)."""
        self._pending.clear()

    # -- validation (live, for inline messages) --------------------------------------------
    def check_url(self, url: str, insecure: bool = False) -> UrlCheck:
        """Normalise ``url`` and apply the plain-HTTP rule; never raises."""
        try:
            normal = normalise_url(url)
        except LmsError as exc:
            return UrlCheck("", exc.message)
        parts = urlsplit(normal)
        remote_http = parts.scheme == "http" and not is_loopback_host(parts.hostname or "")
        if remote_http and not insecure:
            return UrlCheck(normal, f"Plain http:// to {parts.hostname}: the token would cross the network "
                                    "unencrypted. Use https://, or tick \u201cAllow insecure HTTP\u201d.", True)
        return UrlCheck(normal, "", remote_http)

    def field_errors(self, name: str, url: str, insecure: bool = False, service: str = DEFAULT_SERVICE, *,
                     editing: str | None = None) -> dict[str, str]:
        """Form field -> what is wrong with it ("name", "url", "service"); empty when all is well.

        ``editing``: the saved profile the form shows (its name is not a duplicate of itself).
        """
        errors: dict[str, str] = {}
        try:
            valid = validate_name(name)
            if editing is None or valid.casefold() != editing.casefold():
                self._store.check_new(valid)
        except LmsError as exc:
            errors["name"] = exc.message
        url_check = self.check_url(url, insecure)
        if url_check.error:
            errors["url"] = url_check.error
        try:
            validate_service(service)
        except LmsError as exc:
            errors["service"] = exc.message
        return errors

    def check_form(self, name: str, url: str, insecure: bool, service: str, token_text: str = "", *,
                   editing: str | None = None) -> FormCheck:
        """Everything the form shows next to its fields, from one look at its values."""
        check = self.check_url(url, insecure)
        errors = {k: v for k, v in self.field_errors(name, url, insecure, service, editing=editing).items() if v}
        if token_text.strip() and self.token_error(token_text):
            errors["token"] = self.token_error(token_text)
        warning = (f"Insecure: the token will be sent over plain HTTP to {check.host}. Anyone on the network "
                   "between here and the site can read it and act as you.") if check.plain_http_remote \
            and insecure else ""
        if editing is not None and not check.error and self.host_changes(editing, url):
            return FormCheck(errors, check.plain_http_remote, warning, "Saving moves this profile to another site, "
                             "so its stored token is forgotten: a token is only ever sent to the site it was "
                             "made for.", True)
        note = f"Will be saved as {check.url}" if check.url and check.url != url.strip() else ""
        return FormCheck(errors, check.plain_http_remote, warning, note)

    def token_note(self, name: str | None, url: str) -> tuple[str, str]:
        """(note under the token field, its placeholder) for saved profile ``name`` (None: a new one).

        Without an OS keychain every note says so (the dialog shows it as the only line about the keychain)."""
        info = self._model.row_info(name) if name else None
        where = self.keychain_name()
        pending = self.has_pending_token(url)
        keychain = self.keychain_available()
        if pending:
            when = f"when you {'save' if info else 'add'} this profile"
            note = (f"A token is waiting (hidden): it is stored {when}." if keychain else
                    f"A token is waiting (hidden): it is kept for this session only {when} (this computer has no "
                    "OS keychain).")
        elif info is None and not keychain:
            note = ("No OS keychain on this computer: the token is kept for this session only, never in the "
                    "profiles file.")
        elif info is None:
            note = f"Kept in your OS keychain ({where}), never in the profiles file."
        elif info.session_only:
            note = ("A token is kept for this session only: it is forgotten when the console exits" + (
                "." if keychain else " (this computer has no OS keychain)."))
        elif not keychain:
            note = ("No token for this session yet: this computer has no OS keychain, so tokens are kept for one "
                    "session only. Paste it again, or sign in with a password.")
        elif info.has_token:
            note = f"A token is stored in your OS keychain ({where}). Paste a new one to replace it."
        elif info.has_token is None:
            note = "Cannot tell whether a token is stored: the OS keychain cannot be reached."
        else:
            note = "No token stored yet: paste one, or sign in with a password."
        stored = bool(info and (info.has_token or info.session_only))
        placeholder = ("Stored (hidden): paste a new token to replace it" if stored else
                       "Received by sign-in (hidden)" if pending else "Paste the web service token")
        return note, placeholder

    def initial_profile(self) -> str | None:
        """The profile to show first: the one used last, else the first one."""
        try:
            last = self._store.last_used()
        except LmsError:
            last = None
        names = self._model.names()
        return last.name if last is not None else (names[0] if names else None)

    def token_error(self, token_text: str) -> str:
        """Why ``token_text`` is not a usable token ("" when it looks fine). Never repeats the token."""
        try:
            check_token(token_text)
        except InvalidToken as exc:
            return exc.message
        return ""

    def host_changes(self, name: str, url: str) -> bool:
        """Whether saving ``url`` for saved profile ``name`` moves it to another site, so its token is then
        forgotten (another host or port: :func:`token_may_follow`)."""
        try:
            old = self._store.get(name)
            new_url = normalise_url(url)
        except LmsError:
            return False
        return not token_may_follow(old.url, new_url)

    # -- changing profiles -----------------------------------------------------------------
    def add(self, name: str, url: str, insecure: bool = False, service: str = DEFAULT_SERVICE) -> Profile:
        """Save a new profile (raises InvalidProfileValue / DuplicateProfile with ``field`` set)."""
        self._check_consent(url, insecure)
        profile = self._store.add(name, url, insecure=insecure, service=service)
        self._changed()
        self.profile_saved.emit(profile)
        return profile

    def set_aside_note(self, name: str | None = None) -> str:
        """After :meth:`add` or :meth:`update` (of profile ``name``): the words for a local copy of another site set
        aside, and one of this site put back ("" if none). Of the open profile moved to another site, what was
        really done; or, while its old copy is still in use, that it will be done once it is not."""
        key = (name or "").casefold()
        if key in self._unmoved:
            return pending_rebinding_message(self._unmoved[key])
        if key in self._rebound:
            return rebinding_message(self._rebound[key])
        return set_aside_message(self._store.set_aside, self._store.put_back)

    def moved_copy_note(self, name: str) -> str:
        """Once the open profile ``name`` moved to another site opens again there: the words for what became of
        its local copies (set aside, put back; "" if nothing was moved)."""
        return rebinding_message(self._rebound.get(name.casefold()))

    def update(self, name: str, *, url: str | None = None, insecure: bool | None = None,
               service: str | None = None) -> Profile:
        """Change a saved profile. Moving it to another host forgets its token (it was paired with the old one).

        The open profile moved to another site is closed first and announced as moved afterwards, so the
        console opens it again at the new address (``profile_closing``, then ``profile_moved``)."""
        if url is not None and insecure is not None:
            self._check_consent(url, insecure)
        moving = url is not None and self.is_open(name) and site_key(url) != site_key(self._store.get(name).url)
        self._rebound.pop(name.casefold(), None)  # what an earlier move did is not said of this Save
        if moving:
            self.profile_closing.emit(name)  # nothing keeps reading or writing the old address's copy
        # The open copy is closed on the writer thread (queued just now): it is set aside there, after that.
        profile = self._store.update(name, url=url, insecure=insecure, service=service, set_aside_later=moving)
        if moving and self._store.set_aside_pending is not None:
            self._set_aside_once_closed(profile.name, self._store.set_aside_pending)
        self._changed()
        self.profile_saved.emit(profile)
        if moving:
            self.profile_moved.emit(profile)
        return profile

    def _set_aside_once_closed(self, name: str, plan: Rebinding) -> None:
        """Set the moved profile's old copy aside (or delete it, holding nothing) and put back a copy of the new
        address's site set aside earlier, on the writer thread, after the jobs closing the copy (and any job
        still writing into it): a SQLite file renamed while it is open can lose its last writes. Save
        waits a moment for it; when a run still being sent keeps it longer, it follows, and the profile
        opens again only after it (:meth:`finish_set_aside`)."""
        key = name.casefold()
        self._unmoved[key] = plan
        moved = threading.Event()

        def job(_progress, _cancel) -> None:
            try:
                self._move_aside(key, READERS_WAIT_S)
            except OSError as exc:  # said when the profile is opened again (finish_set_aside raises it)
                log.warning("local copy of %s could not be set aside or put back: %s", name, exc)
            finally:
                moved.set()

        self._runner.run(f"set-aside-{next(self._aside_jobs)}", job, writer=True, quiet=True)
        moved.wait(SAVE_WAITS_FOR_SET_ASIDE_S)

    def _move_aside(self, key: str, wait_s: float, anyway: bool = False) -> bool:
        # The writer thread may be waiting for readers with the lock held: the GUI thread waits no longer than asked.
        if not self._aside_lock.acquire(timeout=-1 if anyway else max(wait_s, 0.0)):
            return False
        try:
            plan = self._unmoved.get(key)
            if plan is None:
                return True
            done = rebind(plan, wait_s=wait_s, anyway=anyway)
            if done is None:
                return False
            self._rebound[key] = done
            del self._unmoved[key]
            return True
        finally:
            self._aside_lock.release()

    def waiting_set_aside(self) -> list[str]:
        """Moved profiles whose old copy still waits to be set aside (casefolded names)."""
        return list(self._unmoved)

    def finish_set_aside(self, name: str, wait_s: float = SAVE_WAITS_FOR_SET_ASIDE_S, *,
                         anyway: bool = False) -> Rebinding | None:
        """Before profile ``name`` is opened (or the console quits): its old copy of another site, if it still
        waits to be set aside (see :meth:`update`), is set aside now (and a copy put back). Returns the plan when
        the copy is still open after ``wait_s`` (the profile must not open yet; ``anyway``: it is set aside all the
        same), else None; OSError when it cannot be renamed."""
        key = name.casefold()
        plan = self._unmoved.get(key)
        return None if plan is None or self._move_aside(key, wait_s, anyway) else plan

    def remove(self, name: str, delete_cache: bool = False) -> RemovalReport:
        """Remove a profile and its token; with ``delete_cache`` its local cache file too.

        The profile open in the console is closed first (``profile_closing``), so nothing syncs
        against a removed profile or writes into a deleted cache.
        """
        if self.is_open(name):
            self._store.get(name)  # ProfileNotFound: nothing to close or remove
            self.profile_closing.emit(name)
        report = self._store.remove(name, delete_cache=delete_cache)
        self._pending.pop(self._pending_key(report.profile.url), None)
        self._changed()
        self.profile_removed.emit(report)
        return report

    def set_token(self, name: str, token_text: str | None = None, session_only: bool = False) -> None:
        """Store a token for saved profile ``name``: ``token_text``, or the one sign-in obtained for its URL.

        Raises InvalidToken for a malformed token and TokenMissing when there is none to store
        (both with ``field`` "token"), and KeychainUnavailable / KeychainLocked when the keychain
        cannot take it; those also emit ``keychain_unavailable`` and keep the token here, so
        ``set_token(name, None, session_only=True)`` can use it without asking again.
        """
        profile = self._store.get(name)
        key = self._pending_key(profile.url)
        if token_text is not None and token_text.strip():
            try:
                token = check_token(token_text)
            except InvalidToken as exc:
                exc.field = "token"  # type: ignore[attr-defined]
                raise
        elif key in self._pending:
            token = self._pending[key]
        else:
            err = TokenMissing(f"No token to store for profile {profile.name!r}: paste one or sign in first.")
            err.field = "token"  # type: ignore[attr-defined]
            raise err
        try:
            self._tokens.set(profile, token, session_only=session_only)
        except (KeychainUnavailable, KeychainLocked) as exc:
            self._pending[key] = token
            self.keychain_unavailable.emit(profile.name, exc.message)
            raise
        self._pending.pop(key, None)
        if session_only:
            log.info("token for profile %r kept for this session only", profile.name)
        self._changed()
        self.token_stored.emit(profile.name, session_only)

    # -- choosing -----------------------------------------------------------------------------
    def select(self, name: str) -> Profile:
        """Mark ``name`` as the profile in use (last used) and announce it."""
        profile = self._store.set_last_used(name)
        self._model.refresh()
        self.profile_selected.emit(profile)
        return profile

    # -- internals --------------------------------------------------------------------------------
    def _changed(self) -> None:
        self._model.refresh()
        self.profiles_changed.emit()

    @staticmethod
    def _pending_key(url: str) -> str:
        try:
            return normalise_url(url)
        except LmsError:
            return url

    def _check_consent(self, url: str, insecure: bool) -> None:
        """The store's rule, with the dialog's words (the store speaks of --insecure)."""
        check = self.check_url(url, insecure)
        if check.error and check.plain_http_remote:
            raise InvalidProfileValue(check.error, field="url")
