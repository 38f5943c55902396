"""The assistant's settings: flags > environment > .env > profile; the key from the
environment or the keyring; off until a base URL and a model are set."""

from __future__ import annotations

from pathlib import Path

import pytest

from argus_tui.config import Config, LlmFlags, Profile, llm_profile_name, resolve_llm
from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError, SecretStoreError

URL = "http://127.0.0.1:11434/v1"


def _config(tmp_path: Path, **fields: object) -> Config:
    config = Config(path=tmp_path / "config.toml")
    config.profiles["lab"] = Profile("lab", "pve.lab", **fields)  # type: ignore[arg-type]
    return config


def _keyring(**keys: str):  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def lookup(profile: str) -> Secret | None:
        asked.append(profile)
        return Secret(keys[profile]) if profile in keys else None

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


def test_off_until_base_url_and_model_are_set(tmp_path: Path) -> None:
    keyring = _keyring(lab="k")
    config = _config(tmp_path)
    assert resolve_llm(LlmFlags(), {}, tmp_path, config, keyring) is None
    env = {"ARGUS_LLM_BASE_URL": URL}
    assert resolve_llm(LlmFlags(), env, tmp_path, config, keyring) is None
    assert keyring.asked == []  # no keyring access while off


def test_profile_settings_and_keyring_key(tmp_path: Path) -> None:
    config = _config(tmp_path, llm_base_url=URL + "/", llm_model="llama3.1", llm_timeout=30.0)
    keyring = _keyring(lab="sk-from-keyring")
    settings = resolve_llm(LlmFlags(), {}, tmp_path, config, keyring, "lab")
    assert settings is not None
    assert (settings.base_url, settings.model, settings.timeout) == (URL, "llama3.1", 30.0)
    assert settings.api_key == Secret("sk-from-keyring") and settings.key_source == "keyring"
    assert keyring.asked == ["lab"]
    assert "sk-from-keyring" not in repr(settings)


def test_precedence_flags_env_dotenv_profile(tmp_path: Path) -> None:
    config = _config(tmp_path, llm_base_url="http://profile/v1", llm_model="profile-model")
    (tmp_path / ".env").write_text(
        "ARGUS_LLM_BASE_URL=http://dotenv/v1\nARGUS_LLM_MODEL=dotenv-model\n"
        "ARGUS_LLM_API_KEY=dotenv-key\nARGUS_LLM_TIMEOUT=7\n"
    )
    keyring = _keyring(lab="keyring-key")
    settings = resolve_llm(LlmFlags(), {}, tmp_path, config, keyring, "lab")
    assert settings is not None
    assert (settings.base_url, settings.model) == ("http://dotenv/v1", "dotenv-model")
    assert settings.api_key == Secret("dotenv-key") and settings.key_source == ".env"
    assert settings.timeout == 7.0 and keyring.asked == []
    env = {"ARGUS_LLM_MODEL": "env-model", "OPENAI_API_KEY": "openai-key"}
    settings = resolve_llm(LlmFlags(), env, tmp_path, config, keyring, "lab")
    assert settings is not None and settings.model == "env-model"
    # ARGUS_LLM_API_KEY (here from .env) comes before OPENAI_API_KEY
    assert settings.api_key == Secret("dotenv-key")
    flags = LlmFlags(base_url="http://flag/v1", model="flag-model")
    settings = resolve_llm(flags, env, tmp_path, config, keyring, "lab")
    assert settings is not None
    assert (settings.base_url, settings.model) == ("http://flag/v1", "flag-model")


def test_openai_api_key_is_the_fallback(tmp_path: Path) -> None:
    env = {"ARGUS_LLM_BASE_URL": URL, "ARGUS_LLM_MODEL": "m", "OPENAI_API_KEY": "sk-openai"}
    settings = resolve_llm(LlmFlags(), env, tmp_path, Config(path=tmp_path / "c"), _keyring())
    assert settings is not None
    assert settings.api_key == Secret("sk-openai") and settings.key_source == "environment"


def test_no_key_is_fine_and_an_unusable_keyring_is_only_noted(tmp_path: Path) -> None:
    env = {"ARGUS_LLM_BASE_URL": URL, "ARGUS_LLM_MODEL": "m"}

    def broken(profile: str) -> Secret | None:
        raise SecretStoreError("no OS keyring is available in this session")

    settings = resolve_llm(LlmFlags(), env, tmp_path, Config(path=tmp_path / "c"), broken)
    assert settings is not None and settings.api_key is None and settings.key_source == ""
    assert settings.key_problem == "no OS keyring is available in this session"
    assert settings.describe() == f"m at {URL} (no key)"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"ARGUS_LLM_BASE_URL": "localhost:11434", "ARGUS_LLM_MODEL": "m"}, "not an http"),
        ({"ARGUS_LLM_BASE_URL": URL, "ARGUS_LLM_MODEL": "m", "ARGUS_LLM_TIMEOUT": "0"}, "seconds"),
        ({"ARGUS_LLM_BASE_URL": URL, "ARGUS_LLM_MODEL": "m", "ARGUS_LLM_TIMEOUT": "x"}, "seconds"),
    ],
)
def test_bad_values_are_configuration_errors(
    tmp_path: Path, env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        resolve_llm(LlmFlags(), env, tmp_path, Config(path=tmp_path / "c"), _keyring())


def test_the_keyring_entry_follows_the_profile(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert llm_profile_name(None, {}, tmp_path, config) == "lab"  # the only profile
    assert llm_profile_name(None, {}, tmp_path, Config(path=tmp_path / "c")) == "default"
    assert llm_profile_name("x", {"ARGUS_PROFILE": "y"}, tmp_path, config) == "x"
    assert llm_profile_name(None, {"ARGUS_PROFILE": "y"}, tmp_path, config) == "y"


def test_profile_llm_keys_round_trip_through_config_toml(tmp_path: Path) -> None:
    config = _config(tmp_path, llm_base_url=URL, llm_model="llama3.1", llm_timeout=45.0)
    config.save()
    text = (tmp_path / "config.toml").read_text()
    assert f'llm_base_url = "{URL}"' in text and "llm_timeout = 45.0" in text
    again = Config.load(tmp_path / "config.toml").profiles["lab"]
    assert (again.llm_base_url, again.llm_model, again.llm_timeout) == (URL, "llama3.1", 45.0)
    (tmp_path / "bad.toml").write_text('[profiles.x]\nhost = "h"\nllm_timeout = "soon"\n')
    with pytest.raises(ConfigError, match="llm_timeout"):
        Config.load(tmp_path / "bad.toml")
