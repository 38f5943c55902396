"""The real `argus` keeps its data folder private: a fresh one under a permissive umask,
and a loose one left by an older Argus, tightened with one line per change (stderr for a
command, a notification in the TUI), said once."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import sim_env
from tests.store.helpers import T0, guest, snapshot
from textual.app import App
from textual.pilot import Pilot
from textual.widgets._toast import Toast

from argus_tui.cli import main
from argus_tui.sim.server import Simulator
from argus_tui.store.sqlite import SqliteHistory
from argus_tui.ui.app import ArgusApp

ARGUS = [sys.executable, "-m", "argus_tui"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def status(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, "status"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60,
        umask=0o002,
    )  # fmt: skip


def loose_data_folder(data: Path) -> None:
    """What an Argus that did not care left under umask 022."""
    data.mkdir(parents=True)
    history = SqliteHistory(data / "history.db", auto_prune=False)
    history.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    history.close()
    (data / "console.json").write_text("{}")
    for path, loose in (
        (data, 0o755),
        (data / "history.db", 0o644),
        (data / "console.json", 0o644),
    ):
        path.chmod(loose)


def test_a_fresh_data_folder_is_private_under_a_permissive_umask(
    sim: Simulator, tmp_path: Path
) -> None:
    env = sim_env(sim, tmp_path)
    result = status(env, tmp_path)
    assert result.returncode == 0, result.stderr
    data = Path(env["XDG_DATA_HOME"]) / "argus"
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {"history.db": 0o600}
    assert "private" not in result.stderr


def test_a_loose_data_folder_is_tightened_and_said_once_on_stderr(
    sim: Simulator, tmp_path: Path
) -> None:
    env = sim_env(sim, tmp_path)
    data = Path(env["XDG_DATA_HOME"]) / "argus"
    loose_data_folder(data)
    first = status(env, tmp_path)
    assert first.returncode == 0, first.stderr
    said = [line for line in first.stderr.splitlines() if "private" in line]
    assert said[0] == f"argus: made {data} private to its owner: mode 0755 -> 0700"
    assert sorted(said[1:]) == [
        f"argus: made {data / 'console.json'} private to its owner: mode 0644 -> 0600",
        f"argus: made {data / 'history.db'} private to its owner: mode 0644 -> 0600",
    ]
    assert mode(data) == 0o700
    assert {p.name: mode(p) for p in data.iterdir()} == {
        "history.db": 0o600,
        "console.json": 0o600,
    }
    second = status(env, tmp_path)
    assert second.returncode == 0 and "private" not in second.stderr


def test_the_tui_says_it_in_a_notification(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = sim_env(sim, tmp_path)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "HOME"):
        monkeypatch.setenv(key, env[key])
    for key, value in env.items():
        if key.startswith("ARGUS_"):
            monkeypatch.setenv(key, value)
    data = Path(env["XDG_DATA_HOME"]) / "argus"
    loose_data_folder(data)
    shown: list[str] = []

    async def look(pilot: Pilot[Any]) -> None:
        for _ in range(200):
            if len(pilot.app.screen.query(Toast)) >= 3:
                break
            await pilot.pause(0.02)
        shown.extend(toast.render().plain for toast in pilot.app.screen.query(Toast))
        pilot.app.exit()

    def headless(self: ArgusApp, **_: object) -> object:
        return App.run(self, headless=True, size=(160, 45), auto_pilot=look)

    monkeypatch.setattr(ArgusApp, "run", headless)
    assert main([]) == 0
    texts = " ".join(" ".join(text.split()) for text in shown)
    for path, change in ((data, "0755 -> 0700"), (data / "history.db", "0644 -> 0600")):
        assert f"made {path} private to its owner: mode {change}" in texts, shown
    assert mode(data) == 0o700 and mode(data / "console.json") == 0o600
