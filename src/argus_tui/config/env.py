"""The ARGUS_* settings from the process environment and a `.env` file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from argus_tui.errors import ConfigError

ENV_KEYS = (
    "ARGUS_HOST",
    "ARGUS_TOKEN_ID",
    "ARGUS_TOKEN_SECRET",
    "ARGUS_FINGERPRINT",
    "ARGUS_CA_FILE",
    "ARGUS_VERIFY_TLS",
    "ARGUS_PROFILE",
    "ARGUS_HISTORY_URL",
    "ARGUS_LLM_BASE_URL",
    "ARGUS_LLM_MODEL",
    "ARGUS_LLM_API_KEY",
    "ARGUS_LLM_TIMEOUT",
    "OPENAI_API_KEY",
)


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines of a .env file (quotes, comments and `export` allowed)."""
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        stripped = stripped.removeprefix("export ").strip()
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{path}, line {number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def layered_env(environ: Mapping[str, str], cwd: Path) -> dict[str, str]:
    """ARGUS_* values: the process environment over the working directory's .env."""
    merged = {k: v for k, v in read_dotenv(cwd / ".env").items() if k in ENV_KEYS}
    merged.update({k: v for k, v in environ.items() if k in ENV_KEYS})
    return {k: v for k, v in merged.items() if v != ""}
