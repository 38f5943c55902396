"""Which history Argus records into: `[history] url`, ARGUS_HISTORY_URL (environment over
.env over config.toml), a URL that is not PostgreSQL's or carries a password refused,
and the names a team database goes by (never a password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from argus_tui.cli.context import unreachable_line
from argus_tui.config import Config, resolve_history, team_history
from argus_tui.domain.dburl import parse_database_url
from argus_tui.errors import ConfigError
from argus_tui.secrets import history_account

SECRET = "s3cr3t-pw-91bd"
URL = "postgresql://argus@db.example:5432/argus?sslmode=verify-full"


def config_with(tmp_path: Path, body: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return Config.load(path)


def test_the_url_from_config_toml(tmp_path: Path) -> None:
    config = config_with(tmp_path, f'[history]\nurl = "{URL}"\n')
    assert config.history.url == URL and config.warnings == []
    team = resolve_history({}, tmp_path, config)
    assert team is not None and team.url == URL and team.source == "config.toml"
    assert team.identity == "argus@db.example:5432/argus" and team.name == "db.example:5432/argus"
    assert not team.local


def test_the_environment_wins_over_dotenv_over_config(tmp_path: Path) -> None:
    config = config_with(tmp_path, '[history]\nurl = "postgresql://cfg@a.example/one"\n')
    (tmp_path / ".env").write_text("ARGUS_HISTORY_URL=postgresql://dot@b.example/two\n")
    from_dotenv = resolve_history({}, tmp_path, config)
    assert from_dotenv is not None and from_dotenv.source == ".env"
    assert from_dotenv.identity == "dot@b.example:5432/two"
    env = {"ARGUS_HISTORY_URL": "postgres://env@c.example:6543/three"}
    from_env = resolve_history(env, tmp_path, config)
    assert from_env is not None and from_env.source == "environment"
    assert from_env.name == "c.example:6543/three"
    (tmp_path / ".env").unlink()
    assert resolve_history({}, tmp_path, config_with(tmp_path, "")) is None  # local history


def test_a_password_in_the_url_is_refused_and_never_repeated(tmp_path: Path) -> None:
    for url in (
        f"postgresql://argus:{SECRET}@db.example/argus",
        f"postgresql://argus@db.example/argus?password={SECRET}&sslmode=require",
        "postgresql://argus:@db.example/argus",
    ):
        with pytest.raises(ConfigError) as in_file:
            config_with(tmp_path, f'[history]\nurl = "{url}"\n')
        assert "'url' carries a password" in str(in_file.value)
        with pytest.raises(ConfigError) as in_env:
            resolve_history({"ARGUS_HISTORY_URL": url}, tmp_path, Config())
        assert str(in_env.value).startswith("ARGUS_HISTORY_URL carries a password")
        assert "argus history login" in str(in_env.value)
        for error in (in_file.value, in_env.value):
            assert SECRET not in f"{error} {error!r}"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mysql://argus@db.example/argus", "must start with postgresql:// or postgres://"),
        ("db.example:5432", "must start with postgresql://"),
        ("postgresql://argus@db.example:99999/argus", "port must be a number"),
        ("postgresql://argus@db.example:abc/argus", "port must be a number"),
    ],
)
def test_a_url_that_is_not_postgresql_is_a_clear_error(tmp_path: Path, url: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(tmp_path, f'[history]\nurl = "{url}"\n')
    assert "[history]: 'url' is not a PostgreSQL URL" in str(info.value) and why in str(info.value)
    with pytest.raises(ConfigError, match="must be a postgresql:// URL"):
        config_with(tmp_path, "[history]\nurl = 5\n")


def test_names_follow_libpq_defaults() -> None:
    env = {"PGUSER": "ops", "PGPORT": "6000"}
    assert team_history("postgresql://db.example", "--url", env).identity == (
        "ops@db.example:6000/ops"
    )
    socket = team_history("postgresql:///argus?host=%2Fvar%2Frun%2Fpostgresql", "--url", env)
    assert socket.identity == "ops@/var/run/postgresql:6000/argus" and socket.local
    v6 = team_history("postgresql://argus@[2001:db8::5]:5433/argus", "--url", {})
    assert v6.name == "[2001:db8::5]:5433/argus" and not v6.local
    several = parse_database_url("postgresql://u@h1:5001,h2:5002/db?target_session_attrs=any")
    assert (several.host, several.port, several.dbname) == ("h1", 5001, "db")
    assert parse_database_url("postgresql://u@localhost/db").local
    assert history_account("argus@db.example:5432/argus") == "history:argus@db.example:5432/argus"


def test_the_unreachable_line() -> None:
    assert unreachable_line("db:5432/argus", "connection refused", ("action",)) == (
        "team history db:5432/argus unreachable (connection refused); the action was kept"
        " locally and will be sent when it is back"
    )
    assert "the action and the snapshot were kept" in unreachable_line(
        "db:5432/argus", "", ("action", "snapshot")
    )
