"""A keyring backend for subprocess tests only. Never used by the console itself.

* :class:`FileKeyring`: a JSON file named by ``$LMS_CONSOLE_TEST_KEYRING_FILE``, so
  ``lms-console`` run in a subprocess (``PYTHON_KEYRING_BACKEND=conftest_keyring.FileKeyring``,
  ``PYTHONPATH=tests``) keeps tokens between runs. It stores secrets in plain text, which
  is exactly what the product must never do: it exists so tests can look inside.

It has a negative priority so keyring's auto-detection never picks it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

FILE_ENV = "LMS_CONSOLE_TEST_KEYRING_FILE"


class FileKeyring(KeyringBackend):
    priority = -1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ[FILE_ENV])

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, data: dict[str, str]) -> None:
        self.path.write_text(json.dumps(data), encoding="utf-8")

    def get_password(self, service, username):
        return self._read().get(f"{service}\x00{username}")

    def set_password(self, service, username, password):
        data = self._read()
        data[f"{service}\x00{username}"] = password
        self._write(data)

    def delete_password(self, service, username):
        data = self._read()
        if data.pop(f"{service}\x00{username}", None) is None:
            raise PasswordDeleteError("No such password!")
        self._write(data)
