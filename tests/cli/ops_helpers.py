"""Running the real `argus` binary against the snapshot, backup and storage cluster.

The simulator's clock is frozen, so a task runs until the test moves time on: a command
with --wait is run while the clock is advanced in steps (`run_advancing`), and a task
started without --wait stays running (its lock held) for as long as the test needs.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.ops_scenario import TOKENS, secret_of

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]


def env_for(sim: Simulator, tmp_path: Path, who: str = "root") -> dict[str, str]:
    """A clean environment for one of the scenario's tokens (`TOKENS` key)."""
    token_id = TOKENS[who]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "DBUS_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        ARGUS_HOST=f"127.0.0.1:{sim.port}",
        ARGUS_TOKEN_ID=token_id,
        ARGUS_TOKEN_SECRET=secret_of(token_id),
        ARGUS_FINGERPRINT=sim.fingerprint,
    )
    return env


def run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """No terminal on stdin: a confirmation cannot be asked."""
    return subprocess.run(
        [*ARGUS, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_advancing(
    sim: Simulator,
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    step: float = 5.0,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a command that follows a task, moving simulated time on while it waits."""
    proc = subprocess.Popen(
        [*ARGUS, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"argus {' '.join(args)} did not finish")
        sim.advance(step)
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def journal(tmp_path: Path) -> list[dict[str, Any]]:
    """The actions table of the history the commands wrote."""
    path = tmp_path / "data" / "argus" / "history.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM actions ORDER BY id")]


def row_of(row: dict[str, Any]) -> tuple[Any, ...]:
    """The parts of a journal row a test names: vmid, action, target, result."""
    return (row["vmid"], row["action"], row["target"], row["result"])
