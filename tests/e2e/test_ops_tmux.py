"""Snapshots and backups in a real terminal: the `argus` binary in tmux against `argus sim`
serving the ops cluster from a scenario file, on the simulator's real clock.

Open the snapshots of web01 (`n`), take one, see it in the tree once its task ends, roll
back to it (confirmed), then back it up with `b`, see the task finish in the status line
and the backup in the storage screen's content (`B`). Skipped without tmux unless CI=1.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit
from tests.e2e.test_power_tmux import ARGUS, Pane, footer, status_line
from tests.ops_scenario import TOKENS, ops_scenario, secret_of

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No real config, no keyring, no ARGUS_* from the developer's shell."""
    (tmp_path / "config").mkdir()
    return {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The code under test, when it is not the installed copy (a checkout on PYTHONPATH).
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }


@pytest.fixture
def sim(env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    """`argus sim --scenario ops.toml --port 0` in its own process group: URL, fingerprint."""
    scenario = tmp_path / "ops.toml"
    scenario.write_text(tomlkit.dumps(ops_scenario()))
    errors = tmp_path / "sim.stderr"
    with errors.open("w") as sink:
        proc = subprocess.Popen(
            [*ARGUS, "sim", "--scenario", str(scenario), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
            env=env,
            start_new_session=True,
        )
    info: dict[str, str] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    for line in proc.stdout:
        match = re.match(r"\s+(URL|Token id|Token secret|Fingerprint):\s+(\S+)", line)
        if match:
            info[match.group(1)] = match.group(2)
        if line.startswith("Press Ctrl+C") or time.monotonic() > deadline:
            break
    try:
        assert {"URL", "Fingerprint"} <= set(info), errors.read_text()
        yield info
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        proc.stdout.close()


@pytest.fixture
def tui(env: dict[str, str], sim: dict[str, str], tmp_path: Path) -> Iterator[Pane]:
    token = TOKENS["operator"]
    pane = Pane(
        [*ARGUS, "--interval", "1"],
        {
            **env,
            "ARGUS_HOST": sim["URL"].removeprefix("https://").rstrip("/"),
            "ARGUS_TOKEN_ID": token,
            "ARGUS_TOKEN_SECRET": secret_of(token),
            "ARGUS_FINGERPRINT": sim["Fingerprint"],
        },
        tmp_path,
    )
    yield pane
    pane.kill()


def snapshot_rows(screen: str) -> list[str]:
    """The snapshot names of the tree, in order, with their tree lines."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if "SNAPSHOT" in line and "TAKEN" in line)
    rows = []
    for line in lines[start + 1 :]:
        match = re.match(r"\s*\S+(?: \S+)*", line[2:])  # up to the gap before TAKEN
        if match is None:
            break
        rows.append(match.group(0))
    return rows


def test_snapshot_rollback_and_backup_from_the_tui(tui: Pane) -> None:
    tui.wait(lambda s: "web01" in s and "ops-lab" in s, "guests", timeout=15)
    tui.keys("/")
    tui.wait(lambda s: "filter: text" in s, "the filter input")
    tui.type("web01")
    tui.wait(lambda s: "db01" not in s, "only web01")
    tui.keys("Enter")
    tui.wait(lambda s: "n Snapshots" in footer(s) and "b Backup" in footer(s), "the keys")

    # The snapshots view: the tree with NOW under the snapshot it derives from.
    tui.keys("n")
    screen = tui.wait(lambda s: "Snapshots of web01" in s and "NOW" in s, "the tree")
    assert snapshot_rows(screen) == ["base", "└─ pre-upgrade", "   └─ NOW"], screen
    tui.wait(lambda s: "n New snapshot" in footer(s) and "R Rollback" in footer(s), "its keys")

    # Take one; it appears in the tree once its task has ended.
    tui.keys("n")
    tui.wait(lambda s: "New snapshot of web01" in s, "the form")
    tui.type("e2e-snap")
    tui.keys("Enter")
    screen = tui.wait(
        lambda s: "Snapshot web01 as e2e-snap: done" in status_line(s),
        "the snapshot task done",
        timeout=30,
    )
    screen = tui.wait(
        lambda s: "e2e-snap" in s and "NOW" in s and "prepare" not in s and "locked" not in s,
        "the new snapshot in the tree, complete",
    )
    assert snapshot_rows(screen) == [
        "base",
        "└─ pre-upgrade",
        "   └─ e2e-snap",
        "      └─ NOW",
    ], screen

    # Roll back to it: the cursor is still on pre-upgrade; one down is e2e-snap.
    tui.keys("Down")
    tui.wait(lambda s: "R Rollback" in footer(s), "Rollback offered on e2e-snap")
    tui.keys("R")
    tui.wait(lambda s: "to snapshot e2e-snap?" in s, "the rollback question")
    tui.keys("y")
    tui.wait(
        lambda s: "Rollback web01 to e2e-snap: done" in status_line(s),
        "the rollback done",
        timeout=30,
    )

    # Back to the guests; back it up now to the first storage offered.
    tui.keys("Escape")
    tui.wait(lambda s: "b Backup" in footer(s) and "Snapshots of" not in s, "the guests")
    tui.keys("b")
    tui.wait(lambda s: "Back up now" in s and "free of" in s, "the backup form")
    tui.keys("Enter")
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = status_line(tui.screen())
        seen.append(line)
        if "Backup web01: done" in line:
            break
        time.sleep(0.2)
    assert "Backup web01: done" in seen[-1], seen[-5:]
    assert any("Backup web01: INFO:" in line for line in seen), seen

    # The backup is in the storage screen's content of web01, newest first.
    tui.wait(lambda s: "B Backups" in footer(s), "the Backups key")
    tui.keys("B")
    screen = tui.wait(lambda s: "backups of web01 (101)" in s and "9 backups" in s, "backups")
    rows = [line for line in screen.splitlines() if "vzdump-qemu-101-" in line]
    assert len(rows) == 9 and " web01 " in rows[0], screen  # the notes: {{guestname}}

    tui.keys("q")
    screen = tui.wait(lambda s: "EXIT=" in s, "exit")
    assert "EXIT=0" in screen, screen
