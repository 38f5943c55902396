"""The command line's composition root: what it reads once, what it builds, what it loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.helpers import sim_env

from argus_tui.cli.context import CliContext
from argus_tui.config import Flags
from argus_tui.errors import OperationFailed
from argus_tui.services.snapshot import collect
from argus_tui.sim.server import Simulator

HEAVY = ("requests", "proxmoxer", "textual", "openai", "sqlite_utils")


def loaded_after(code: str, env: dict[str, str], cwd: Path) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def test_reading_the_config_and_listing_profiles_load_no_http_client(
    sim: Simulator, tmp_path: Path
) -> None:
    env = sim_env(sim, tmp_path)
    assert loaded_after("import argus_tui.config", env, tmp_path) == []
    listing = "from argus_tui.cli import main\nassert main(['profiles', '--json']) == 0"
    assert loaded_after(listing, env, tmp_path) == []
    # ...while a command that talks to the server does load it (the probe can fail).
    status = "from argus_tui.cli import main\nassert main(['status', '--json']) == 0"
    assert "requests" in loaded_after(status, env, tmp_path)


@pytest.fixture
def ctx_env(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The simulator's connection, and config.toml under tmp_path."""
    env = sim_env(sim, tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    return env


def config_toml(env: dict[str, str]) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "argus" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_config_is_read_once_and_its_warnings_said_once(
    ctx_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_toml(ctx_env)
    path.write_text("[ui]\nintervall = 3\n")
    ctx = CliContext(Flags(), environ=ctx_env, cwd=tmp_path)
    config = ctx.config
    path.write_text("[ui]\ninterval = 9\n")  # a later edit is not seen by this run
    assert ctx.config is config and ctx.config.ui.interval == 5.0
    session = ctx.session()
    assert session.history is not None and session.profile is None
    session.history.close()
    assert capsys.readouterr().err.count("unknown setting 'intervall'") == 1


def test_held_warnings_are_left_to_the_caller(
    ctx_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_toml(ctx_env).write_text("[ui]\nintervall = 3\n")
    ctx = CliContext(Flags(), environ=ctx_env, cwd=tmp_path)
    ctx.hold_config_warnings()
    assert len(ctx.config.warnings) == 1
    assert capsys.readouterr().err == ""


def test_history_off_means_no_store_for_sessions_but_one_for_the_history_commands(
    ctx_env: dict[str, str], tmp_path: Path
) -> None:
    config_toml(ctx_env).write_text("[history]\nenabled = false\n")
    ctx = CliContext(Flags(), environ=ctx_env, cwd=tmp_path)
    assert ctx.history() is None and ctx.session().history is None
    store = ctx.history_store()
    store.close()


def test_a_profile_opened_later_reads_the_file_again_and_says_nothing(
    sim: Simulator, ctx_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_toml(ctx_env)
    ctx = CliContext(Flags(), environ=ctx_env, cwd=tmp_path)
    assert ctx.config.profiles == {}
    path.write_text(
        f'[profiles.lab]\nhost = "127.0.0.1"\nport = {sim.port}\ntoken_id = "{sim.token_id}"\n'
        "read_only = true\ntypo = 1\n"
    )
    environ = {k: v for k, v in ctx_env.items() if k not in ("ARGUS_HOST", "ARGUS_TOKEN_ID")}
    other = CliContext(Flags(), environ=environ, cwd=tmp_path).for_profile("lab")
    session = other.session(record=False)
    assert (session.profile, session.read_only, session.history) == ("lab", True, None)
    assert capsys.readouterr().err == ""


def test_find_guest_names_the_token_when_the_guest_is_not_visible(
    sim: Simulator, ctx_env: dict[str, str], tmp_path: Path
) -> None:
    ctx = CliContext(Flags(), environ=ctx_env, cwd=tmp_path)
    snapshot = collect(ctx.client())
    assert ctx.find_guest(snapshot, 102).vmid == 102
    with pytest.raises(OperationFailed, match=f"no guest 4242 visible to token {sim.token_id}"):
        ctx.find_guest(snapshot, 4242)
