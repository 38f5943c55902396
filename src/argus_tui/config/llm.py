"""The assistant's model settings by the usual precedence, and which profile they use."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from argus_tui.config.env import layered_env
from argus_tui.config.file import Config
from argus_tui.config.model import DEFAULT_PROFILE, parse_llm_timeout, validate_profile_name
from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError, SecretStoreError
from argus_tui.llm.settings import DEFAULT_TIMEOUT, LlmSettings


@dataclass(frozen=True, slots=True)
class LlmFlags:
    """Assistant flags from the command line; None = not given."""

    base_url: str | None = None
    model: str | None = None


def llm_profile_name(
    profile: str | None, environ: Mapping[str, str], cwd: Path, config: Config
) -> str:
    """The profile whose LLM settings and keyring entry apply: named, ARGUS_PROFILE, the
    default one, else "default" (also where `argus llm-key` stores a key without profiles)."""
    name = profile or layered_env(environ, cwd).get("ARGUS_PROFILE") or config.default_name()
    return validate_profile_name(name or DEFAULT_PROFILE)


def resolve_llm(
    flags: LlmFlags,
    environ: Mapping[str, str],
    cwd: Path,
    config: Config,
    key_lookup: Callable[[str], Secret | None],
    profile: str | None = None,
) -> LlmSettings | None:
    """The assistant's settings by the usual precedence, or None while it is off.

    Base URL and model: flags, then ARGUS_LLM_* in the environment, then .env, then the
    profile's llm_base_url / llm_model. The key: ARGUS_LLM_API_KEY, then OPENAI_API_KEY
    (environment over .env), then the keyring entry of the profile. No key is fine (local
    servers); a keyring that cannot be read is noted in `key_problem`, not fatal.
    """
    env = layered_env(environ, cwd)
    name = llm_profile_name(profile, environ, cwd, config)
    prof = config.profiles.get(name)
    base_url = (
        flags.base_url or env.get("ARGUS_LLM_BASE_URL") or (prof.llm_base_url if prof else "")
    ).strip()
    model = (flags.model or env.get("ARGUS_LLM_MODEL") or (prof.llm_model if prof else "")).strip()
    if not base_url or not model:
        return None
    if not re.match(r"^https?://[^\s/]+", base_url):
        raise ConfigError(
            f"the assistant's base URL {base_url!r} is not an http:// or https:// URL",
            hint="e.g. ARGUS_LLM_BASE_URL=http://127.0.0.1:11434/v1",
        )
    timeout = DEFAULT_TIMEOUT
    if env.get("ARGUS_LLM_TIMEOUT"):
        timeout = parse_llm_timeout(env["ARGUS_LLM_TIMEOUT"], "ARGUS_LLM_TIMEOUT")
    elif prof is not None and prof.llm_timeout is not None:
        timeout = prof.llm_timeout
    key: Secret | None = None
    source = problem = ""
    for var in ("ARGUS_LLM_API_KEY", "OPENAI_API_KEY"):
        if env.get(var):
            key = Secret(env[var])
            source = "environment" if environ.get(var) else ".env"
            break
    if key is None:
        try:
            key = key_lookup(name)
        except SecretStoreError as exc:
            problem = exc.message
        source = "keyring" if key else ""
    return LlmSettings(
        base_url=base_url.rstrip("/"),
        model=model,
        api_key=key or None,
        timeout=timeout,
        key_source=source,
        key_problem=problem,
    )
