"""Settings precedence (flags > environment > .env > profile) and config.toml handling."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from argus_tui.config import Config, Flags, Profile, parse_host, read_dotenv, resolve
from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError

FP = ":".join(["AB"] * 32)
FP2 = ":".join(["CD"] * 32)


def config_with(tmp_path: Path, *profiles: Profile, default: str | None = None) -> Config:
    config = Config(path=tmp_path / "cfg" / "config.toml", default=default)
    for profile in profiles:
        config.profiles[profile.name] = profile
    return config


def keyring_with(**secrets: str):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def lookup(profile: str) -> Secret | None:
        calls.append(profile)
        value = secrets.get(profile)
        return Secret(value) if value else None

    lookup.calls = calls  # type: ignore[attr-defined]
    return lookup


PROD = Profile(
    "prod", "pve.example.com", 8006, "argus@pve!tui", "fingerprint", FP, None, True, "red"
)


def test_profile_alone(tmp_path: Path) -> None:
    resolved = resolve(
        Flags(), {}, tmp_path, config_with(tmp_path, PROD), keyring_with(prod="from-keyring")
    )
    s = resolved.settings
    assert (s.host, s.port, s.token_id, s.tls.mode, s.tls.fingerprint) == (
        "pve.example.com",
        8006,
        "argus@pve!tui",
        "fingerprint",
        FP,
    )
    assert s.secret.reveal() == "from-keyring" and resolved.secret_source == "keyring"
    assert resolved.read_only and resolved.colour == "red" and resolved.profile == "prod"


def test_precedence_flags_env_dotenv_profile(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# comment\nexport ARGUS_HOST=dotenv-host:9000\nARGUS_TOKEN_ID='dot@pve!env'\n"
        'ARGUS_TOKEN_SECRET="dotenv-secret"\nUNRELATED=1\n'
    )
    config = config_with(tmp_path, PROD)
    lookup = keyring_with(prod="from-keyring")
    # .env beats the profile
    r = resolve(Flags(profile="prod"), {}, tmp_path, config, lookup)
    assert (r.settings.host, r.settings.port, r.settings.token_id) == (
        "dotenv-host",
        9000,
        "dot@pve!env",
    )
    assert r.settings.secret.reveal() == "dotenv-secret" and r.secret_source == ".env"
    assert lookup.calls == []  # the keyring is not touched when the secret is given
    # the environment beats .env
    env = {"ARGUS_HOST": "env-host", "ARGUS_TOKEN_SECRET": "env-secret", "ARGUS_FINGERPRINT": FP2}
    r = resolve(Flags(profile="prod"), env, tmp_path, config, lookup)
    assert (r.settings.host, r.settings.port) == ("env-host", 8006)
    assert r.settings.secret.reveal() == "env-secret" and r.secret_source == "environment"
    assert r.settings.tls.fingerprint == FP2
    # flags beat the environment
    r = resolve(
        Flags(profile="prod", host="flag-host:1234", insecure=True), env, tmp_path, config, lookup
    )
    assert (r.settings.host, r.settings.port, r.settings.tls.mode) == (
        "flag-host",
        1234,
        "insecure",
    )


def test_environment_only(tmp_path: Path) -> None:
    env = {
        "ARGUS_HOST": "[::1]:8443",
        "ARGUS_TOKEN_ID": "a@pve!t1",
        "ARGUS_TOKEN_SECRET": "s",
        "ARGUS_VERIFY_TLS": "0",
    }
    r = resolve(Flags(), env, tmp_path, config_with(tmp_path), keyring_with())
    assert (r.settings.host, r.settings.port, r.settings.tls.mode) == ("::1", 8443, "insecure")
    assert r.profile is None
    assert r.settings.base_url == "https://[::1]:8443/api2/json"


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (Flags(), {}, "not configured: no profile and no ARGUS_HOST"),
        (Flags(profile="nope"), {}, "no profile named 'nope'"),
        (Flags(profile="bad name!"), {}, "profile name 'bad name!' is not valid"),
        (Flags(host="h"), {}, "no API token id"),
        (Flags(host="h", token_id="a@pve!tt"), {}, "no token secret"),
        (
            Flags(host="h", token_id="a@pve!tt", fingerprint="zz"),
            {"ARGUS_TOKEN_SECRET": "s"},
            "is not a SHA-256 certificate fingerprint",
        ),
        (Flags(host="h:99999", token_id="a@pve!tt"), {}, "port must be a number"),
        (
            Flags(host="h", token_id="a@pve!tt", ca_file="/nope.pem"),
            {"ARGUS_TOKEN_SECRET": "s"},
            "CA file /nope.pem does not exist",
        ),
    ],
)
def test_configuration_errors(
    tmp_path: Path, flags: Flags, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        resolve(flags, env, tmp_path, config_with(tmp_path), keyring_with())
    assert message in str(err.value)


def test_missing_keyring_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no token secret stored for profile 'prod'"):
        resolve(Flags(), {}, tmp_path, config_with(tmp_path, PROD), keyring_with())


def test_several_profiles_need_a_choice(tmp_path: Path) -> None:
    other = Profile("lab", "lab.example.com", token_id="a@pve!lab")
    config = config_with(tmp_path, PROD, other)
    with pytest.raises(ConfigError, match="several profiles and no default"):
        resolve(Flags(), {}, tmp_path, config, keyring_with(prod="x", lab="y"))
    config.default = "lab"
    assert resolve(Flags(), {}, tmp_path, config, keyring_with(lab="y")).profile == "lab"


def test_save_and_load_round_trip_without_secrets(tmp_path: Path) -> None:
    config = config_with(tmp_path, PROD, default="prod")
    config.profiles['we"ird.name'] = Profile('we"ird.name', "h", token_id="a@pve!x")
    config.save()
    text = config.path.read_text()
    assert "secret" not in text.replace("Secrets are kept", "")
    assert stat.S_IMODE(config.path.stat().st_mode) == 0o600
    loaded = Config.load(config.path)
    assert loaded.profiles == config.profiles and loaded.default == "prod"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[profiles.x\n", "is not valid TOML"),
        ("[profiles.x]\nport = 1\n", "missing 'host'"),
        ("[profiles.x]\nhost = 'h'\ntls = 'maybe'\n", "'tls' must be"),
        ("[profiles.x]\nhost = 'h'\ntls = 'fingerprint'\n", "needs a 'fingerprint'"),
        ("[profiles.x]\nhost = 'h'\nfingerprint = 'nope'\n", "not a SHA-256 fingerprint"),
        ("[profiles.x]\nhost = 'h'\nport = 'http'\n", "'port' must be a number"),
    ],
)
def test_broken_config_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as err:
        Config.load(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_dotenv_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ARGUS_HOST=h\nthis is not a setting\n")
    with pytest.raises(ConfigError, match=r"\.env, line 2: expected KEY=value"):
        read_dotenv(tmp_path / ".env")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pve", ("pve", 8006)),
        ("pve:8443", ("pve", 8443)),
        ("https://pve.example.com:8006/", ("pve.example.com", 8006)),
        ("[fe80::1]", ("fe80::1", 8006)),
        ("10.0.0.1", ("10.0.0.1", 8006)),
    ],
)
def test_parse_host(text: str, expected: tuple[str, int]) -> None:
    assert parse_host(text) == expected


def test_ui_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[ui]\ninterval = 10\nconfirm = ["stop", "reset", "shutdown"]\n\n'
        '[ui.keymap]\n"power.stop" = "ctrl+k"\n'
    )
    config = Config.load(path)
    assert config.ui.interval == 10.0
    assert config.ui.confirm == {"stop", "reset", "shutdown"}
    assert config.ui.keymap == {"power.stop": "ctrl+k"}
    config.save()  # keeps the [ui] table when profiles change
    assert Config.load(path).ui == config.ui


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[ui]\ninterval = 0\n", "'interval' must be a number of seconds"),
        ("[ui]\nconfirm = ['explode']\n", "'confirm' must list power actions"),
        ("[ui.keymap]\n'power.stop' = 3\n", "map binding ids to keys"),
    ],
)
def test_bad_ui_settings(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        Config.load(path)


def test_history_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[history]\nraw = "12h"\nmid = "14d"\nlong = 7776000\nsample_interval = "2m"\n')
    config = Config.load(path)
    history = config.history
    assert (history.raw, history.mid, history.long) == (12 * 3600.0, 14 * 86400.0, 7776000.0)
    assert history.sample_interval == 120.0 and history.enabled
    assert history.journal == 365 * 86400.0  # the default where unset
    config.save()  # keeps the [history] table when profiles change
    assert Config.load(path).history == history


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[history]\nraw = "soon"\n', "'raw' must be a duration"),
        ('[history]\nraw = "40d"\n', "raw <= mid <= long"),
        ("[history]\nenabled = 'no'\n", "'enabled' must be true or false"),
    ],
)
def test_bad_history_settings(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        Config.load(path)


def test_unknown_settings_are_warned_about_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[uii]\ninterval = 3\n\n[ui]\nintervall = 3\n")
    config = Config.load(path)
    assert config.ui.interval == 5.0
    assert any("unknown setting 'uii'" in w for w in config.warnings)
    assert any("[ui]: unknown setting 'intervall'" in w for w in config.warnings)


# -- one policy for unknown settings; the file round-trips --------------------------------

HAND_WRITTEN = """\
# my notes about prod
default = "prod"

[profiles.prod]
host = "pve.example.com"   # the VIP, not a node
token_id = "argus@pve!tui"
colour = "red"
llm_modle = "gpt-4o-mini"   # typo

[ui]
interval = 10
intervall = 3

[history]
raw = "48h"
sample_intervall = "30s"
"""


@pytest.mark.parametrize(
    ("content", "where", "key", "known"),
    [
        ("colour = 'red'\n", "", "colour", "default, profiles, ui, history"),
        ("[profiles.p]\nhost = 'h'\nllm_modle = 'x'\n", " [profiles.p]", "llm_modle", "llm_model"),
        ("[ui]\nintervall = 3\n", " [ui]", "intervall", "interval, confirm, keymap"),
        ("[history]\nkeep = 3\n", " [history]", "keep", "sample_interval"),
    ],
)
def test_an_unknown_setting_is_named_with_the_known_ones_and_never_fatal(
    tmp_path: Path, content: str, where: str, key: str, known: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    config = Config.load(path)
    assert len(config.warnings) == 1, config.warnings
    warning = config.warnings[0]
    assert warning.startswith(f"{path}{where}: unknown setting {key!r}"), warning
    assert known in warning.partition("known: ")[2], warning


def test_save_keeps_comments_order_and_unknown_settings(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    config = Config.load(path)
    assert [w.partition(": unknown setting ")[2].split()[0] for w in config.warnings] == [
        "'llm_modle'",
        "'intervall'",
        "'sample_intervall'",
    ]
    assert config.history.raw == 48 * 3600.0 and config.history.sample_interval == 60.0
    config.save()  # nothing changed: the file is left exactly as written
    assert path.read_text() == HAND_WRITTEN
    config.profiles["lab"] = Profile("lab", "lab.example.com", token_id="a@pve!lab")
    config.save()
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN.split("[ui]")[0])  # prod, its comments and typo intact
    for line in ("intervall = 3", 'sample_intervall = "30s"', "# my notes about prod"):
        assert line in text
    reloaded = Config.load(path)
    assert reloaded.profiles == config.profiles and reloaded.default == "prod"
    assert reloaded.warnings == config.warnings


def test_changing_a_profile_touches_only_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    config = Config.load(path)
    prod = config.profiles["prod"]
    config.profiles["prod"] = Profile(
        "prod", prod.host, token_id="argus@pve!new", tls="fingerprint", fingerprint=FP
    )
    config.save()
    text = path.read_text()
    assert 'host = "pve.example.com"   # the VIP, not a node' in text
    assert 'token_id = "argus@pve!new"' in text and f'fingerprint = "{FP}"' in text
    assert "colour" not in text  # a value the profile no longer has goes
    assert 'llm_modle = "gpt-4o-mini"   # typo' in text
    assert Config.load(path).profiles["prod"] == config.profiles["prod"]


def test_removing_a_profile_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN.replace("[ui]", '[profiles.lab]\nhost = "lab"\n\n[ui]'))
    config = Config.load(path)
    del config.profiles["lab"]
    config.default = None
    config.save()
    text = path.read_text()
    assert "lab" not in text and "default =" not in text
    assert text.startswith("# my notes about prod\n")
    assert "llm_modle" in text and "intervall = 3" in text
