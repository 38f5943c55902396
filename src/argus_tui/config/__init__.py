"""Argus's settings: config.toml, the environment and `.env`, resolved by precedence.

Precedence, highest first: command-line flags, `ARGUS_*` environment, a `.env` file in
the working directory, the profile in config.toml. Nothing here imports an HTTP client:
listing profiles stays fast.
"""

from argus_tui.config.env import ENV_KEYS, layered_env, read_dotenv
from argus_tui.config.file import Config
from argus_tui.config.history import TeamHistory, resolve_history, team_history
from argus_tui.config.llm import LlmFlags, llm_profile_name, resolve_llm
from argus_tui.config.model import (
    COLOURS,
    DEFAULT_PORT,
    DEFAULT_PROFILE,
    HistorySettings,
    Profile,
    UiSettings,
    validate_profile_name,
)
from argus_tui.config.paths import config_dir, config_path
from argus_tui.config.resolve import Flags, Resolved, parse_fingerprint, parse_host, resolve

__all__ = [
    "COLOURS",
    "DEFAULT_PORT",
    "DEFAULT_PROFILE",
    "ENV_KEYS",
    "Config",
    "Flags",
    "HistorySettings",
    "LlmFlags",
    "Profile",
    "Resolved",
    "TeamHistory",
    "UiSettings",
    "config_dir",
    "config_path",
    "layered_env",
    "llm_profile_name",
    "parse_fingerprint",
    "parse_host",
    "read_dotenv",
    "resolve",
    "resolve_history",
    "resolve_llm",
    "team_history",
    "validate_profile_name",
]
