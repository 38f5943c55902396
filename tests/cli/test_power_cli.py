"""`argus power` and `allowed_actions` in `argus status --json`, through the real binary.

The journal goes to $XDG_DATA_HOME/argus/history.db, read back here with sqlite3.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import one_clear_line
from tests.ui.test_power import acl_scenario, secret_of

from argus_tui.domain.permissions import ACTION_ORDER
from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]
EVERY_GUEST = frozenset(
    {100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 9000}
    | set(range(200, 210))
)
# Which guests each token may power (VM.PowerMgmt), and which it cannot even see.
# The tokens and ACLs are those of the TUI tests (tests/ui/test_power.py).
PERMITTED: dict[str, tuple[str, frozenset[int], frozenset[int]]] = {
    "auditor": ("aud@pve!tui", frozenset(), frozenset()),
    "vmuser_on_vms": ("vmu@pve!tui", EVERY_GUEST, frozenset()),
    "one_guest": ("one@pve!tui", frozenset({102}), frozenset()),
    "pool": ("pool@pve!tui", frozenset({102, 103, 104, 105}), frozenset()),
    "privsep_user_lacks": ("sep@pve!tui", frozenset(), frozenset()),
    "noaccess_on_one": ("noac@pve!tui", EVERY_GUEST - {103}, frozenset({103})),
}


def run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """No terminal on stdin: confirmation cannot be asked."""
    return subprocess.run(
        [*ARGUS, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def env_for(sim: Simulator, tmp_path: Path, token_id: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "DBUS_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        ARGUS_HOST=f"127.0.0.1:{sim.port}",
        ARGUS_TOKEN_ID=token_id or sim.token_id,
        ARGUS_TOKEN_SECRET=secret_of(token_id) if token_id else sim.token_secret,
        ARGUS_FINGERPRINT=sim.fingerprint,
    )
    return env


def read_only_env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    """A profile with read_only = true (the demo token is an Administrator)."""
    config = tmp_path / "config" / "argus"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        "[profiles.ro]\n"
        'host = "127.0.0.1"\n'
        f"port = {sim.port}\n"
        f'token_id = "{sim.token_id}"\n'
        'tls = "fingerprint"\n'
        f'fingerprint = "{sim.fingerprint}"\n'
        "read_only = true\n"
    )
    env = env_for(sim, tmp_path)
    for key in ("ARGUS_HOST", "ARGUS_TOKEN_ID", "ARGUS_FINGERPRINT"):
        del env[key]
    env["ARGUS_PROFILE"] = "ro"
    return env


def journal(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "data" / "argus" / "history.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM actions ORDER BY id")]


def allowed(result: subprocess.CompletedProcess[str]) -> dict[int, list[str]]:
    """The power actions of each guest's `allowed_actions` (the snapshot and backup
    operations that follow them are tested in test_operations_status.py)."""
    assert result.returncode == 0, result.stderr
    return {
        g["vmid"]: [a for a in g["allowed_actions"] if a in ACTION_ORDER]
        for g in json.loads(result.stdout)["guests"]
    }


# -- allowed_actions by ACL -----------------------------------------------------------------


def test_allowed_actions_for_each_acl(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim(acl_scenario())
    valid = allowed(run(["status", "--json"], env_for(sim, tmp_path), tmp_path))
    # The Administrator sees what the state allows: the yardstick for the others.
    assert set(valid) == EVERY_GUEST
    assert valid[101] == ["shutdown", "stop", "reboot", "reset", "suspend", "hibernate"]
    assert valid[105] == ["start"] and valid[109] == ["stop", "resume"]
    assert valid[200] == ["shutdown", "stop", "reboot", "suspend"] and valid[9000] == []
    for case, (token_id, permitted, invisible) in PERMITTED.items():
        got = allowed(run(["status", "--json"], env_for(sim, tmp_path, token_id), tmp_path))
        assert set(got) == EVERY_GUEST - invisible, case
        expected = {v: valid[v] if v in permitted else [] for v in EVERY_GUEST - invisible}
        assert got == expected, case


def test_read_only_profile_allows_nothing(sim: Simulator, tmp_path: Path) -> None:
    env = read_only_env(sim, tmp_path)
    got = allowed(run(["status", "--json"], env, tmp_path))
    assert set(got) == EVERY_GUEST and all(actions == [] for actions in got.values())
    text = run(["status"], env, tmp_path)
    assert text.returncode == 0 and "dc-ad-01" in text.stdout
    assert "shutdown" not in text.stdout and "start" not in text.stdout


# -- argus power ----------------------------------------------------------------------------


def test_stop_with_yes_and_wait(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim(frozen=False)
    started = time.time()
    result = run(["power", "stop", "101", "--yes", "--wait"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    upid, done = result.stdout.splitlines()
    assert upid.startswith("UPID:pve-a:") and f":qmstop:101:{sim.token_id}:" in upid
    assert done == "Stop dc-ad-01 (101) on pve-a: OK"
    assert upid in sim.state.tasks and sim.state.guests[101].status == "stopped"
    [row] = journal(tmp_path)
    assert started - 1 <= row["ts"] <= time.time() + 1
    journalled = ("profile", "token_id", "vmid", "guest", "node", "action", "upid", "result")
    assert {k: row[k] for k in journalled} == {
        "profile": "default",
        "token_id": sim.token_id,
        "vmid": 101,
        "guest": "dc-ad-01",
        "node": "pve-a",
        "action": "stop",
        "upid": upid,
        "result": "OK",
    }
    assert 0 < row["duration"] < 30


def test_stop_without_yes_and_no_terminal(sim: Simulator, tmp_path: Path) -> None:
    before = set(sim.state.tasks)
    result = run(["power", "stop", "101"], env_for(sim, tmp_path), tmp_path)
    one_clear_line(result, 2, "stop needs confirmation", "--yes")
    assert result.stdout == ""
    assert set(sim.state.tasks) == before and journal(tmp_path) == []


def test_failed_start_reports_the_pve_error(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(frozen=False)
    result = run(["power", "start", "105", "--wait"], env_for(sim, tmp_path), tmp_path)
    line = one_clear_line(result, 1)
    assert line == (
        "argus: start ledger-batch (105) on pve-c failed: start failed: QEMU exited with code 1"
    )
    [upid] = result.stdout.splitlines()
    assert ":qmstart:105:" in upid
    [row] = journal(tmp_path)
    assert (row["vmid"], row["action"], row["upid"], row["result"]) == (
        105,
        "start",
        upid,
        "start failed: QEMU exited with code 1",
    )


def test_start_without_wait_prints_the_upid(sim: Simulator, tmp_path: Path) -> None:
    before = set(sim.state.tasks)
    result = run(["power", "start", "207"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    [upid] = result.stdout.splitlines()
    assert set(sim.state.tasks) - before == {upid} and ":vzstart:207:" in upid
    export = run(["history", "export", "--format", "json"], env_for(sim, tmp_path), tmp_path)
    assert [a["upid"] for a in json.loads(export.stdout)["actions"]] == [upid]
    [row] = journal(tmp_path)  # journaled even though the task is not followed
    assert (row["vmid"], row["action"], row["upid"], row["result"]) == (
        207,
        "start",
        upid,
        "sent; task not followed",
    )


def test_an_unusable_history_warns_but_the_action_runs(sim: Simulator, tmp_path: Path) -> None:
    data = tmp_path / "data" / "argus"
    (data / "history.db").mkdir(parents=True, mode=0o700)  # not a database file at all
    data.chmod(0o700)  # private, as Argus keeps it: nothing to tighten
    before = set(sim.state.tasks)
    result = run(["power", "start", "207"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0
    [upid] = result.stdout.splitlines()
    assert set(sim.state.tasks) - before == {upid}
    assert "not journaled" in result.stderr and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("argus: warning: the action was not journaled: history database")
    assert "cannot be opened" in line


@pytest.mark.parametrize(
    ("args", "token", "code", "texts"),
    [
        (["start", "101"], None, 1, ["cannot start dc-ad-01 (101): not valid while running"]),
        (["resume", "110"], None, 1, ["not valid while stopped"]),
        (["reset", "200"], None, 1, ["containers cannot reset"]),
        (["start", "9000"], None, 1, ["not valid while a template"]),
        (["start", "999"], None, 1, ["no guest 999 visible to token"]),
        (
            ["stop", "101", "--yes"],
            "one@pve!tui",
            4,
            ["cannot stop dc-ad-01 (101)", "VM.PowerMgmt", "/vms/101"],
        ),
        (["shutdown", "102", "--yes"], "sep@pve!tui", 4, ["VM.PowerMgmt on /vms/102"]),
        (["start", "105"], "aud@pve!tui", 4, ["VM.PowerMgmt on /vms/105"]),
        (["stop", "103", "--yes"], "noac@pve!tui", 1, ["no guest 103 visible"]),
    ],
)
def test_refusals(
    make_sim: Callable[..., Simulator],
    tmp_path: Path,
    args: list[str],
    token: str | None,
    code: int,
    texts: list[str],
) -> None:
    sim = make_sim(acl_scenario())
    before = set(sim.state.tasks)
    result = run(["power", *args], env_for(sim, tmp_path, token), tmp_path)
    one_clear_line(result, code, *texts)
    assert result.stdout == ""
    assert set(sim.state.tasks) == before and journal(tmp_path) == []


def test_read_only_profile_refuses(sim: Simulator, tmp_path: Path) -> None:
    before = set(sim.state.tasks)
    result = run(["power", "start", "110"], read_only_env(sim, tmp_path), tmp_path)
    one_clear_line(result, 4, "cannot start ci-runner-03 (110)", "read-only")
    assert set(sim.state.tasks) == before


def test_grants_through_a_pool_and_on_one_guest_work(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    """The server-side re-check passes for grants below /vms, not only on /vms itself."""
    sim = make_sim(acl_scenario())
    before = set(sim.state.tasks)
    for token, vmid, kind in (("pool@pve!tui", 103, "qmstop"), ("one@pve!tui", 102, "qmstop")):
        result = run(["power", "stop", str(vmid), "--yes"], env_for(sim, tmp_path, token), tmp_path)
        assert result.returncode == 0, result.stderr
        [upid] = result.stdout.splitlines()
        assert f":{kind}:{vmid}:{token}:" in upid
    assert len(set(sim.state.tasks) - before) == 2
