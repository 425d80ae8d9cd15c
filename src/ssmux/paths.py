"""Where ssmux keeps its files.

``SSMUX_HOME`` puts every file in one folder (tests and the demo use it); otherwise the platform's user
config directory holds the human-edited files and the user data directory the caches.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "ssmux"


def home_override() -> Path | None:
    """The folder named by ``SSMUX_HOME``, if set and non-empty."""
    value = os.environ.get("SSMUX_HOME", "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Folder of ``profiles.toml`` and ``settings.toml``."""
    override = home_override()
    if override is not None:
        return override
    import platformdirs  # deferred: keeps `ssmux --help` start-up small

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Folder of caches (the synced inventory) and other machine-local state."""
    override = home_override()
    if override is not None:
        return override
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
