"""Connection profiles: which site, how to reach it, where its cache lives. Never the token.

Profiles are kept in ``profiles.json`` in the user config directory
(``platformdirs.user_config_dir("lms-console")``, or ``$LMS_CONSOLE_CONFIG_DIR``);
each profile's cache is one SQLite file in the user data directory
(``platformdirs.user_data_dir("lms-console")``, or ``$LMS_CONSOLE_DATA_DIR``).

The file is versioned (``{"version": 1, ...}``), written atomically (temp file
+ ``os.replace``) with mode 0600, and re-read on every call, so the GUI and a
CLI run at the same time see each other's changes; writers take a lock file.

Which values a profile may hold (name, URL, backend, service) and the URL rules
(``https://`` always; plain ``http://`` only to a loopback host or with an explicit
``insecure=True``) live in :mod:`lms_console.services.profile_rules`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit


from lms_console.services.cache.site_binding import PutBack, Rebinding, plan_rebinding, rebind
from lms_console.services.credentials import KEYRING_SERVICE, CredentialError, KeyringTokenStore, TokenStore
from lms_console.services.lms.errors import LmsError
from lms_console.services.paths import APP_NAME, CONFIG_DIR_ENV, DATA_DIR_ENV, config_dir, data_dir  # noqa: F401
from lms_console.services.profile_rules import (
    InvalidProfileValue,  # noqa: F401  (re-exported: callers of the store catch it from here)
    ProfileError,
    check_url_security,
    normalise_url,
    token_may_follow,
    validate_backend,
    validate_name,
    validate_service,
)

log = logging.getLogger(__name__)

PROFILES_FILE = "profiles.json"
FILE_VERSION = 1
DEFAULT_SERVICE = "lms_console"


_default_config_dir, _default_data_dir = config_dir, data_dir  # the store's arguments shadow these names


# ---------------------------------------------------------------------------
# Errors


class ProfileNotFound(ProfileError):
    pass


class DuplicateProfile(ProfileError):
    pass


# ---------------------------------------------------------------------------
# Cache file


def cache_filename(name: str) -> str:
    """A filesystem-safe, collision-free file name for a profile's cache: ``<slug>-<hash8>.sqlite``.

    Both parts come from the case-folded name, matching the case-insensitive uniqueness of names.
    """
    folded = unicodedata.normalize("NFC", name).casefold()
    ascii_name = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:40].rstrip("-") or "profile"
    digest = hashlib.sha256(folded.encode()).hexdigest()[:8]
    return f"{slug}-{digest}.sqlite"


# ---------------------------------------------------------------------------
# Profile


@dataclass(frozen=True, slots=True)
class Profile:
    """One connection profile. Times are Unix seconds; ``last_used`` 0 = never."""

    name: str
    url: str
    backend: str = "moodle"
    insecure: bool = False
    service: str = DEFAULT_SERVICE
    created: int = 0
    last_used: int = 0
    cache_path: Path = field(default=Path(), compare=False)

    def __post_init__(self) -> None:
        # Normalise here too, so a Profile built anywhere (tests, a hand-edited file) keeps the rules.
        object.__setattr__(self, "name", validate_name(self.name))
        url = normalise_url(self.url)
        object.__setattr__(self, "url", url)
        object.__setattr__(self, "insecure", check_url_security(url, bool(self.insecure)))
        validate_backend(self.backend)
        validate_service(self.service)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def verify_tls(self) -> bool:
        """Always True: the console never turns certificate checks off (``insecure`` is about http:// only)."""
        return True

    @property
    def security_warning(self) -> str | None:
        """One line to show wherever the profile appears, or None when the token travels encrypted."""
        if self.insecure:
            return f"Insecure: token sent over plain HTTP to {self.host}"
        return None

    def to_json(self) -> dict:
        return {"name": self.name, "url": self.url, "backend": self.backend, "insecure": self.insecure,
                "service": self.service, "created": self.created, "last_used": self.last_used}


@dataclass(frozen=True, slots=True)
class RemovalReport:
    """What :meth:`ProfileStore.remove` did. ``token_removed`` None: the keychain could not be reached."""

    profile: Profile
    token_removed: bool | None
    cache_removed: bool
    notes: tuple[str, ...] = ()


# ---------------------------------------------------------------------------
# Store


class ProfileStore:
    """Add, change, remove and list profiles in ``<config_dir>/profiles.json``.

    Names are unique regardless of case (``Prod`` and ``prod`` would share a cache
    file on some file systems and confuse anyone reading a list); lookups are
    case-insensitive too. Removing a profile deletes its token from ``tokens``.
    """

    def __init__(self, config_dir: Path | str | None = None, data_dir: Path | str | None = None, *,
                 tokens: TokenStore | None = None, clock: Callable[[], float] = time.time) -> None:
        self.config_dir = Path(config_dir) if config_dir is not None else _default_config_dir()
        self.data_dir = Path(data_dir) if data_dir is not None else _default_data_dir()
        self.tokens: TokenStore = tokens if tokens is not None else KeyringTokenStore()
        self._clock = clock
        # After add() or update(): (new path, that site's address) when the profile's cache file held another
        # site's copy and was set aside for it (see services/cache/site_binding.py), else None.
        self.set_aside: tuple[Path, str] | None = None
        # After add() or update(): the copy of the profile's site set aside earlier and put back in place (an
        # address corrected back), else None.
        self.put_back: PutBack | None = None
        # After update(..., set_aside_later=True): the copy to set aside (or to delete, holding nothing) and the
        # one to put back, left for the caller to move once nothing has the copy in place open any more
        # (site_binding.rebind); set_aside and put_back already say what it does.
        self.set_aside_pending: Rebinding | None = None

    @property
    def path(self) -> Path:
        return self.config_dir / PROFILES_FILE

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.path)!r})"

    # -- reading -------------------------------------------------------------

    def list(self) -> list[Profile]:
        """All profiles, sorted by name (case-insensitive)."""
        return sorted(self._load()["profiles"], key=lambda p: p.name.casefold())

    def get(self, name: str) -> Profile:
        doc = self._load()
        found = _find(doc["profiles"], name)
        if found is None:
            raise _not_found(doc, name)
        return found

    def exists(self, name: str) -> bool:
        return _find(self._load()["profiles"], name) is not None

    def last_used(self) -> Profile | None:
        """The profile used most recently, or None."""
        doc = self._load()
        if doc["last_used"]:
            found = _find(doc["profiles"], doc["last_used"])
            if found is not None:
                return found
        used = [p for p in doc["profiles"] if p.last_used]
        return max(used, key=lambda p: p.last_used) if used else None

    def cache_path_for(self, name: str) -> Path:
        return self.data_dir / cache_filename(name)

    # -- changing ------------------------------------------------------------

    def build(self, name: str, url: str, *, backend: str = "moodle", insecure: bool = False,
              service: str = DEFAULT_SERVICE) -> Profile:
        """Validate the values and return the profile :meth:`add` would save (nothing is written)."""
        name = validate_name(name)
        return Profile(name=name, url=url, backend=backend, insecure=insecure, service=service,
                       created=int(self._clock()), last_used=0, cache_path=self.cache_path_for(name))

    def check_new(self, name: str) -> None:
        """Raise :class:`DuplicateProfile` if ``name`` (in any case) is taken."""
        existing = _find(self._load()["profiles"], name)
        if existing is not None:
            raise DuplicateProfile(f"A profile named {existing.name!r} already exists.", profile=name,
                                   field="name")

    def add(self, name: str, url: str, *, backend: str = "moodle", insecure: bool = False,
            service: str = DEFAULT_SERVICE) -> Profile:
        profile = self.build(name, url, backend=backend, insecure=insecure, service=service)
        with self._locked() as doc:
            existing = _find(doc["profiles"], profile.name)
            if existing is not None:
                raise DuplicateProfile(f"A profile named {existing.name!r} already exists.",
                                       profile=profile.name, field="name")
            doc["profiles"].append(profile)
            self._rebind(plan_rebinding(profile.cache_path, profile.url, clock=self._clock), later=False)
        log.info("profile %r added (%s)", profile.name, profile.url)
        return profile

    def update(self, name: str, *, url: str | None = None, insecure: bool | None = None,
               backend: str | None = None, service: str | None = None,
               keep_token_on_host_change: bool = False, same_site: bool = False,
               set_aside_later: bool = False) -> Profile:
        """Change a profile's settings (not its name).

        Moving a profile to another host or port (see :func:`token_may_follow`)
        deletes its stored token unless ``keep_token_on_host_change``: a token is only ever sent to
        the site it was paired with, so the caller must ask the user first. A local copy of
        another site than the new address is set aside (``set_aside``), unless the
        caller knows it is the same site at a new address (``same_site``: the demo); a
        copy of the new address's site set aside earlier is put back (``put_back``: an
        address corrected back), see site_binding.plan_rebinding.
        ``set_aside_later``: the copy is still open (the console's open profile, closed
        on its writer thread): it is only planned (``set_aside_pending``), and the
        caller moves it once it is closed.
        """
        with self._locked() as doc:
            old = _find(doc["profiles"], name)
            if old is None:
                raise _not_found(doc, name)
            new_url = normalise_url(url) if url is not None else old.url
            new_insecure = old.insecure if insecure is None else insecure
            if url is not None and insecure is None and urlsplit(new_url).scheme == "https":
                new_insecure = False  # moving to https drops the old http consent
            new = replace(old, url=new_url, insecure=new_insecure,
                          backend=old.backend if backend is None else backend,
                          service=old.service if service is None else service)
            doc["profiles"][doc["profiles"].index(old)] = new
            plan = None if same_site or url is None else plan_rebinding(new.cache_path, new.url, clock=self._clock)
            self._rebind(plan, later=set_aside_later)
        if not token_may_follow(old.url, new.url) and not keep_token_on_host_change:
            with contextlib.suppress(CredentialError):
                self.tokens.delete(new)
            log.info("profile %r moved from %s to %s: stored token deleted", new.name, old.url, new.url)
        return new

    def _rebind(self, plan: Rebinding | None, *, later: bool) -> None:
        """Carry out ``plan`` now (after waiting a moment for what still has the copy open: a copy of another
        site is set aside all the same), or leave it to the caller (``later``); say what it does."""
        self.set_aside_pending = plan if later else None
        done = plan if plan is None or later else rebind(plan, wait_s=2.0, anyway=True)
        self.set_aside = None if done is None or done.aside is None else (done.aside.target, done.aside.other)
        self.put_back = None if done is None else done.back

    def set_last_used(self, name: str) -> Profile:
        with self._locked() as doc:
            old = _find(doc["profiles"], name)
            if old is None:
                raise _not_found(doc, name)
            new = replace(old, last_used=int(self._clock()))
            doc["profiles"][doc["profiles"].index(old)] = new
            doc["last_used"] = new.name
        return new

    def remove(self, name: str, *, delete_cache: bool = False) -> RemovalReport:
        """Remove the profile and its token; with ``delete_cache`` also its cache file."""
        with self._locked() as doc:
            old = _find(doc["profiles"], name)
            if old is None:
                raise _not_found(doc, name)
            doc["profiles"].remove(old)
            if doc["last_used"] and doc["last_used"].casefold() == old.name.casefold():
                doc["last_used"] = ""
        notes: list[str] = []
        try:
            self.tokens.delete(old)
            token_removed: bool | None = True
        except CredentialError as exc:
            token_removed = None
            notes.append(
                f"Its token, if one was stored, could not be deleted: {exc.message} If it was stored from "
                f"another session (e.g. the desktop), delete it there: keyring del {KEYRING_SERVICE} '{old.name}'")
        cache_removed = False
        if delete_cache:
            for suffix in ("", "-wal", "-shm", "-journal"):
                p = old.cache_path.with_name(old.cache_path.name + suffix)
                try:
                    p.unlink()
                    cache_removed = cache_removed or suffix == ""
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    notes.append(f"Could not delete {p}: {exc.strerror or exc}")
        log.info("profile %r removed", old.name)
        return RemovalReport(old, token_removed, cache_removed, tuple(notes))

    # -- file ----------------------------------------------------------------

    def _load(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"profiles": [], "last_used": ""}
        except OSError as exc:
            raise ProfileError(f"Cannot read {self.path}: {exc.strerror or exc}.") from None
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ProfileError(f"{self.path} is not valid JSON ({exc}); fix or move it away.") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("profiles"), list):
            raise ProfileError(f"{self.path} is not a profiles file (no 'profiles' list).")
        version = raw.get("version")
        if version != FILE_VERSION:
            if isinstance(version, int) and version > FILE_VERSION:
                raise ProfileError(f"{self.path} was written by a newer lms-console (file version {version}, "
                                   f"this one reads {FILE_VERSION}); update the console.")
            raise ProfileError(f"{self.path} has an unknown file version {version!r}.")
        profiles = []
        for i, item in enumerate(raw["profiles"]):
            try:
                name = validate_name(item["name"])
                profiles.append(Profile(
                    name=name, url=item["url"], backend=item.get("backend", "moodle"),
                    insecure=bool(item.get("insecure", False)),
                    service=item.get("service", DEFAULT_SERVICE), created=int(item.get("created", 0)),
                    last_used=int(item.get("last_used", 0)), cache_path=self.cache_path_for(name)))
            except (KeyError, TypeError, ValueError, LmsError) as exc:
                what = exc.message if isinstance(exc, LmsError) else f"{type(exc).__name__}: {exc}"
                raise ProfileError(f"{self.path}: profile #{i + 1} is broken: {what}") from None
        last = raw.get("last_used") or ""
        return {"profiles": profiles, "last_used": last if isinstance(last, str) else ""}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        """Read-modify-write under a lock file; the body edits the document, which is then saved."""
        self.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _file_lock(self.config_dir / (PROFILES_FILE + ".lock")):
            doc = self._load()
            yield doc
            self._save(doc)

    def _save(self, doc: dict) -> None:
        payload = {"version": FILE_VERSION, "last_used": doc["last_used"],
                   "profiles": [p.to_json() for p in doc["profiles"]]}
        data = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.config_dir, prefix=".profiles.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                if hasattr(os, "fchmod"):
                    os.fchmod(fh.fileno(), 0o600)
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.config_dir)


def _not_found(doc: dict, name: str) -> ProfileNotFound:
    known = ", ".join(sorted((p.name for p in doc["profiles"]), key=str.casefold)) or "none"
    return ProfileNotFound(f"No profile named {name!r} (known profiles: {known}).", profile=name)


def _find(profiles: list[Profile], name: str) -> Profile | None:
    if not isinstance(name, str):
        return None
    key = unicodedata.normalize("NFC", name).casefold()
    for p in profiles:
        if p.name.casefold() == key:
            return p
    return None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: single writer assumed (the GUI); os.replace keeps the file whole
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
