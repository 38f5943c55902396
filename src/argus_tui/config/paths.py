"""Where config.toml lives: the platform's config directory, as platformdirs names it."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "argus"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def config_path() -> Path:
    return config_dir() / "config.toml"
