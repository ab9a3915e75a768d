"""Fixtures shared by the whole suite.

Every test runs with:
* ``QT_QPA_PLATFORM=offscreen`` (set before anything imports Qt; without a display
  Qt would abort the whole run),
* an in-memory keyring pinned with ``keyring.set_keyring`` (never the machine's keychain),
* ``LMS_CONSOLE_CONFIG_DIR`` / ``LMS_CONSOLE_DATA_DIR`` pointing into the test's tmp dir,
  and no ``LMS_CONSOLE_TOKEN`` from the outer environment.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import keyring  # noqa: E402
import pytest  # noqa: E402
from keyring.backend import KeyringBackend  # noqa: E402
from keyring.errors import PasswordDeleteError  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict (negative priority: keyring's auto-detection never picks it)."""

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("No such password!") from None


@pytest.fixture(autouse=True)
def memory_keyring() -> MemoryKeyring:
    """The keyring every test uses: a fresh dict. Inspect ``.passwords`` to see what was stored."""
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The test's config dir (also in ``$LMS_CONSOLE_CONFIG_DIR``); not created in advance."""
    return tmp_path / "config"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The test's data dir for caches (also in ``$LMS_CONSOLE_DATA_DIR``); not created in advance."""
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, config_dir: Path, data_dir: Path) -> None:
    monkeypatch.setenv("LMS_CONSOLE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("LMS_CONSOLE_DATA_DIR", str(data_dir))
    for name in ("LMS_CONSOLE_TOKEN", "LMS_CONSOLE_TOKEN_PROFILE", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
