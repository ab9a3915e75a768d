"""Where the console keeps its files: the user config dir (profiles, window settings) and the
user data dir (one cache per profile, the demo site). Both can be overridden by environment
variables (tests, portable installs). Light on purpose: the window reads it before it paints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

APP_NAME = "lms-console"
CONFIG_DIR_ENV = "LMS_CONSOLE_CONFIG_DIR"
DATA_DIR_ENV = "LMS_CONSOLE_DATA_DIR"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where ``profiles.json`` lives: ``$LMS_CONSOLE_CONFIG_DIR`` or the platform's user config dir."""
    env = os.environ if env is None else env
    override = env.get(CONFIG_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the per-profile caches live: ``$LMS_CONSOLE_DATA_DIR`` or the platform's user data dir."""
    env = os.environ if env is None else env
    override = env.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))
