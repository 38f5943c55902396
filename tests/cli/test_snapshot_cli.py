"""`argus snapshot list|create|rollback|delete` through the real binary, against the
simulator of tests/ops_scenario.py (clock frozen; moved on while a command waits).

Every refusal is checked to send nothing (the simulator's task list is unchanged) and to
journal nothing; every action that runs is read back from the journal with sqlite3.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import one_clear_line
from tests.cli.ops_helpers import ARGUS, env_for, journal, row_of, run, run_advancing
from tests.conftest import FROZEN_EPOCH
from tests.ops_scenario import DAY, TOKENS, ops_scenario, secret_of

from argus_tui.domain.models import Entity
from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator

NOW = int(FROZEN_EPOCH)


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(ops_scenario())


def listing(sim: Simulator, tmp_path: Path, vmid: int, who: str = "root") -> list[dict[str, Any]]:
    result = run(["snapshot", "list", str(vmid), "--json"], env_for(sim, tmp_path, who), tmp_path)
    assert result.returncode == 0, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def snap(
    name: str, parent: str | None, ago: int, description: str, vmstate: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "parent": parent,
        "snaptime": NOW - ago,
        "description": description,
        "vmstate": vmstate,
        "current": False,
    }


def current(parent: str | None) -> dict[str, Any]:
    return {
        "name": "current",
        "parent": parent,
        "snaptime": None,
        "description": "",
        "vmstate": False,
        "current": True,
    }


BASE = snap("base", None, 30 * DAY, "fresh install", False)
PRE_UPGRADE = snap("pre-upgrade", "base", DAY, "before 9.1", True)


# -- list -------------------------------------------------------------------------------


def test_list_json_is_the_tree_walk(sim: Simulator, tmp_path: Path) -> None:
    assert listing(sim, tmp_path, 101) == [BASE, PRE_UPGRADE, current("pre-upgrade")]
    assert listing(sim, tmp_path, 103, "auditor") == [
        snap("clean", None, 0, "", False),
        current("clean"),
    ]
    assert listing(sim, tmp_path, 104) == [current(None)]


def test_list_text_is_a_tree(sim: Simulator, tmp_path: Path) -> None:
    result = run(["snapshot", "list", "101"], env_for(sim, tmp_path, "limited"), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    header, base, pre, here = result.stdout.splitlines()
    assert header.split() == ["NAME", "TIME", "RAM", "DESCRIPTION"]
    assert base.startswith("`-> base ") and base.split()[-3:] == ["no", "fresh", "install"]
    assert pre.startswith("    `-> pre-upgrade ") and pre.split()[-3:] == ["yes", "before", "9.1"]
    assert here.startswith("        `-> current ") and here.endswith("You are here! (running)")
    # the time column lines up with the header
    assert base.index("20") == pre.index("20") == header.index("TIME")


def test_list_says_what_blocks_a_new_snapshot(sim: Simulator, tmp_path: Path) -> None:
    result = run(["snapshot", "list", "102"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[1].startswith("`-> current") and lines[2] == "(db01 (102) has no snapshots)"
    assert lines[3].startswith("New snapshot: not possible, disk scsi0 is on nfs-raw (nfs, raw)")
    assert listing(sim, tmp_path, 102) == [current(None)]


def test_list_of_an_invisible_guest(sim: Simulator, tmp_path: Path) -> None:
    result = run(["snapshot", "list", "999"], env_for(sim, tmp_path), tmp_path)
    one_clear_line(result, 1, "no guest 999 visible to token root@pam!argus")


# -- create, rollback, delete -----------------------------------------------------------


def test_create_waits_then_the_list_shows_it(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, "limited")
    args = ["snapshot", "create", "101", "before-fix", "--description", "before the fix"]
    result = run_advancing(sim, [*args, "--wait"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    upid, done = result.stdout.splitlines()
    assert f":qmsnapshot:101:{TOKENS['limited']}:" in upid and upid in sim.state.tasks
    assert done == "Snapshot before-fix of web01 (101) on pve-a: OK"
    made = listing(sim, tmp_path, 101)
    assert [s["name"] for s in made] == ["base", "pre-upgrade", "before-fix", "current"]
    assert made[2]["parent"] == "pre-upgrade" and made[2]["description"] == "before the fix"
    assert made[3]["parent"] == "before-fix"
    [row] = journal(tmp_path)
    assert row_of(row) == (101, "snapshot", "before-fix", "OK")
    assert (row["token_id"], row["upid"], row["guest"], row["node"]) == (
        TOKENS["limited"],
        upid,
        "web01",
        "pve-a",
    )


def test_create_with_ram(sim: Simulator, tmp_path: Path) -> None:
    args = ["snapshot", "create", "101", "with-ram", "--vmstate", "--wait"]
    result = run_advancing(sim, args, env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert next(s for s in listing(sim, tmp_path, 101) if s["name"] == "with-ram")["vmstate"]


def test_create_without_wait_prints_the_upid_and_journals_it_as_sent(
    sim: Simulator, tmp_path: Path
) -> None:
    before = set(sim.state.tasks)
    result = run(["snapshot", "create", "103", "quick"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    [upid] = result.stdout.splitlines()
    assert set(sim.state.tasks) - before == {upid} and ":vzsnapshot:103:" in upid
    [row] = journal(tmp_path)
    assert row_of(row) == (103, "snapshot", "quick", "sent; task not followed")
    # while it runs the guest is locked, and Argus says so before sending another
    again = run(["snapshot", "create", "103", "again"], env_for(sim, tmp_path), tmp_path)
    one_clear_line(again, 1, "cannot snapshot cache01 (103): it is locked (snapshot)")


def test_create_a_stopped_vm_with_ram_warns(sim: Simulator, tmp_path: Path) -> None:
    args = ["snapshot", "create", "104", "cold", "--vmstate", "--wait"]
    result = run_advancing(sim, args, env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0
    assert result.stderr == (
        "argus: warning: batch01 (104) is not running: there is no RAM state to save\n"
    )
    assert listing(sim, tmp_path, 104)[0]["vmstate"] is False


def test_rollback_waits(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, "limited")
    args = ["snapshot", "rollback", "101", "base", "--yes", "--wait"]
    result = run_advancing(sim, args, env, tmp_path)
    assert result.returncode == 0, result.stderr
    upid, done = result.stdout.splitlines()
    assert ":qmrollback:101:" in upid
    assert done == "Rollback of web01 (101) on pve-a to base: OK"
    assert listing(sim, tmp_path, 101)[-1] == current("base")
    assert sim.state.guests[101].status == "stopped"  # base has no RAM: it stays stopped
    [row] = journal(tmp_path)
    assert row_of(row) == (101, "rollback", "base", "OK")


def test_rollback_with_start_and_to_a_snapshot_with_ram(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    args = ["snapshot", "rollback", "101", "base", "--start", "--yes", "--wait"]
    assert run_advancing(sim, args, env, tmp_path).returncode == 0
    assert sim.state.guests[101].status == "running"
    args = ["snapshot", "rollback", "101", "pre-upgrade", "--yes", "--wait"]
    assert run_advancing(sim, args, env, tmp_path).returncode == 0
    assert sim.state.guests[101].status == "running"  # resumed with the saved RAM
    assert [row_of(r)[:3] for r in journal(tmp_path)] == [
        (101, "rollback", "base"),
        (101, "rollback", "pre-upgrade"),
    ]


def test_delete_waits_and_children_move_up(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, "limited")
    args = ["snapshot", "delete", "101", "base", "--yes", "--wait"]
    result = run_advancing(sim, args, env, tmp_path)
    assert result.returncode == 0, result.stderr
    upid, done = result.stdout.splitlines()
    assert ":qmdelsnapshot:101:" in upid
    assert done == "Delete snapshot base of web01 (101) on pve-a: OK"
    assert listing(sim, tmp_path, 101) == [{**PRE_UPGRADE, "parent": None}, current("pre-upgrade")]
    [row] = journal(tmp_path)
    assert row_of(row) == (101, "snapshot-delete", "base", "OK")


@pytest.mark.parametrize("command", ["rollback", "delete"])
def test_without_a_terminal_it_needs_yes(sim: Simulator, tmp_path: Path, command: str) -> None:
    before = set(sim.state.tasks)
    result = run(["snapshot", command, "101", "base"], env_for(sim, tmp_path), tmp_path)
    what = "rollback" if command == "rollback" else "snapshot delete"
    one_clear_line(result, 2, f"{what} needs confirmation", "pass --yes")
    assert set(sim.state.tasks) == before and journal(tmp_path) == []


# -- refusals before anything is sent ---------------------------------------------------


PERMISSION = "see 'argus doctor'"

# (arguments after `snapshot`, token, exit code, texts of the one line on stderr)
REFUSALS: list[tuple[list[str], str, int, list[str]]] = [
    # privileges: exit 4 naming privilege and path
    (["create", "101", "xx"], "auditor", 4,
     ["cannot snapshot web01 (101)", "needs VM.Snapshot on /vms/101", PERMISSION]),
    (["create", "102", "xx"], "limited", 4, ["needs VM.Snapshot on /vms/102"]),
    (["rollback", "102", "xx", "--yes"], "limited", 4,
     ["needs VM.Snapshot or VM.Snapshot.Rollback on /vms/102"]),
    (["delete", "103", "clean", "--yes"], "limited", 4, ["needs VM.Snapshot on /vms/103"]),
    (["rollback", "101", "base", "--start", "--yes"], "limited", 4,
     ["cannot start web01 (101) after the rollback", "needs VM.PowerMgmt on /vms/101"]),
    (["create", "101", "xx"], "nobackup", 4, ["needs VM.Snapshot on /vms/101"]),
    # the guest's state, its storage, and names: exit 1
    (["create", "102", "xx"], "root", 1,
     ["cannot snapshot db01 (102)", "disk scsi0 is on nfs-raw",
      "snapshot feature is not available"]),
    (["create", "101", "base"], "root", 1, ["snapshot name 'base' already used"]),
    (["rollback", "101", "nope", "--yes"], "root", 1,
     ["cannot roll back web01 (101): snapshot 'nope' does not exist"]),
    (["delete", "101", "nope", "--yes"], "root", 1, ["snapshot 'nope' does not exist"]),
    (["create", "9000", "xx"], "root", 1,
     ["cannot snapshot tmpl-debian (9000): it is a template"]),
    (["rollback", "9000", "xx", "--yes"], "root", 1, ["it is a template"]),
    (["create", "105", "xx"], "root", 1,
     ["cannot snapshot locked01 (105): it is locked (backup)"]),
    (["delete", "105", "xx", "--yes"], "root", 1, ["it is locked (backup)"]),
    (["create", "999", "xx"], "root", 1, ["no guest 999 visible"]),
    # bad names and flags: exit 2
    (["create", "101", "x"], "root", 2, ["invalid snapshot name 'x'"]),
    (["create", "101", "1st"], "root", 2, ["invalid snapshot name '1st'"]),
    (["create", "101", "with space"], "root", 2, ["invalid snapshot name 'with space'"]),
    (["create", "101", "a" * 41], "root", 2, ["longer than 40 characters"]),
    (["create", "101", "current"], "root", 2, ["'current' is reserved"]),
    (["create", "101", "PENDING"], "root", 2, ["'PENDING' is reserved"]),
    (["create", "103", "vzdump"], "root", 2, ["'vzdump' is reserved"]),
    (["create", "101", "\x1b[31mred"], "root", 2, ["invalid snapshot name '\\x1b[31mred'"]),
    (["create", "103", "ram", "--vmstate"], "root", 2, ["containers have no RAM state to save"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "who", "code", "texts"), REFUSALS)
def test_refusals_send_nothing(
    sim: Simulator, tmp_path: Path, args: list[str], who: str, code: int, texts: list[str]
) -> None:
    before = set(sim.state.tasks)
    result = run(["snapshot", *args], env_for(sim, tmp_path, who), tmp_path)
    line = one_clear_line(result, code, *texts)
    assert "\x1b" not in line and result.stdout == ""
    assert set(sim.state.tasks) == before and journal(tmp_path) == []


def test_read_only_profile_refuses(sim: Simulator, tmp_path: Path) -> None:
    config = tmp_path / "config" / "argus"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        f'[profiles.ro]\nhost = "127.0.0.1"\nport = {sim.port}\ntoken_id = "{TOKENS["root"]}"\n'
        f'tls = "fingerprint"\nfingerprint = "{sim.fingerprint}"\nread_only = true\n'
    )
    env = env_for(sim, tmp_path)
    for key in ("ARGUS_HOST", "ARGUS_TOKEN_ID", "ARGUS_FINGERPRINT"):
        del env[key]
    env["ARGUS_PROFILE"] = "ro"
    before = set(sim.state.tasks)
    result = run(["snapshot", "create", "101", "xx"], env, tmp_path)
    one_clear_line(result, 4, "cannot snapshot web01 (101): the profile is read-only")
    assert set(sim.state.tasks) == before


# -- task errors: what Proxmox says when the check before sending cannot know ----------


def lab_with_a_thin_pool_without_snapshots() -> dict[str, Any]:
    """An LVM-thin storage configured without snapshots: by its type Argus expects it to
    snapshot, so only the task can say it does not."""
    data = ops_scenario()
    data["storage"].append(
        {"id": "thin-nosnap", "type": "lvmthin", "content": ["images"], "size": "100G",
         "snapshots": False}
    )  # fmt: skip
    data["guest"].append(
        {"vmid": 106, "type": "qemu", "name": "legacy01", "node": "pve-a", "status": "running",
         "disk_storage": "thin-nosnap"}
    )  # fmt: skip
    return data


def test_the_task_error_when_the_check_before_sending_cannot_know(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(lab_with_a_thin_pool_without_snapshots())
    args = ["snapshot", "create", "106", "xx", "--wait"]
    result = run_advancing(sim, args, env_for(sim, tmp_path), tmp_path)
    line = one_clear_line(result, 1)
    assert line == (
        "argus: snapshot xx of legacy01 (106) on pve-a failed: snapshot feature is not available"
    )
    [upid] = result.stdout.splitlines()
    assert ":qmsnapshot:106:" in upid
    [row] = journal(tmp_path)
    assert row_of(row) == (106, "snapshot", "xx", "snapshot feature is not available")


def session_for(sim: Simulator) -> Session:
    token = TOKENS["root"]
    client = PveClient(
        ConnectionSettings(
            "127.0.0.1",
            sim.port,
            token,
            Secret(secret_of(token)),
            TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        )
    )
    return Session(client, profile="test")


@pytest.mark.parametrize(
    ("action", "vmid", "name", "error"),
    [
        ("snapshot", 102, "xx", "snapshot feature is not available"),
        ("snapshot", 101, "base", "snapshot name 'base' already used"),
        ("rollback", 101, "nope", "snapshot 'nope' does not exist"),
        ("snapshot-delete", 101, "nope", "snapshot 'nope' does not exist"),
    ],
)
def test_the_service_alone_gets_the_task_errors(
    sim: Simulator, action: str, vmid: int, name: str, error: str
) -> None:
    """Without the command's checks (the storage, the name) the service sends, and the
    task fails with Proxmox's own words."""
    session = session_for(sim)
    snapshot = session.snapshot()
    guest = next(g for g in snapshot.guests if g.vmid == vmid)
    service = session.snapshots
    start = {
        "snapshot": lambda: service.create(guest, name),
        "rollback": lambda: service.rollback(guest, name),
        "snapshot-delete": lambda: service.delete(guest, name),
    }[action]
    upid = start()
    outcome = service.follow(guest, action, upid, name, sleep=lambda _: sim.advance(5))
    assert (outcome.ok, outcome.status, outcome.target) == (False, error, name)
    session.close()


def test_a_template_refused_by_the_task_itself(sim: Simulator) -> None:
    session = session_for(sim)
    guest = next(g for g in session.snapshot().guests if g.vmid == 9000)
    upid = session.client.snapshot_create(Entity.of_guest(guest), "xx")
    status, _ = session.runner.wait(guest.node, upid, sleep=lambda _: sim.advance(5))
    assert status == "you can't take a snapshot if it's a template"
    session.close()


# -- a lock held by a running backup -----------------------------------------------------


def test_a_running_backup_locks_the_guest(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    started = run(["backup", "101", "--storage", "backup-nfs"], env, tmp_path)
    assert started.returncode == 0, started.stderr
    [upid] = started.stdout.splitlines()
    sim.advance(1)  # the job takes the guest's lock once it begins
    assert sim.state.guests[101].lock == "backup"
    before = set(sim.state.tasks)
    snapshot = run(["snapshot", "create", "101", "xx"], env, tmp_path)
    one_clear_line(snapshot, 1, "cannot snapshot web01 (101): it is locked (backup)")
    power = run(["power", "shutdown", "101"], env, tmp_path)
    one_clear_line(power, 1, "cannot shutdown web01 (101)", "locked (backup)")
    rollback = run(["snapshot", "rollback", "101", "base", "--yes"], env, tmp_path)
    one_clear_line(rollback, 1, "it is locked (backup)")
    assert set(sim.state.tasks) == before
    assert [row_of(r) for r in journal(tmp_path)] == [
        (101, "backup", "backup-nfs", "sent; task not followed")
    ]
    assert journal(tmp_path)[0]["upid"] == upid


# -- the question at a terminal, and the journal's export ---------------------------------


def ask_at_a_terminal(
    args: list[str], env: dict[str, str], cwd: Path, answer: str
) -> subprocess.CompletedProcess[str]:
    """Run with a terminal on stdin, answering the question with `answer`."""
    main, other = os.openpty()
    try:
        proc = subprocess.Popen(
            [*ARGUS, *args], env=env, cwd=cwd, stdin=other, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.write(main, answer.encode() + b"\n")
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        os.close(main)
        os.close(other)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_rollback_asks_naming_guest_and_snapshot(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    before = set(sim.state.tasks)
    no = ask_at_a_terminal(["snapshot", "rollback", "101", "pre-upgrade"], env, tmp_path, "n")
    assert no.returncode == 1 and no.stderr == "argus: cancelled\n"
    assert no.stdout.startswith("Roll back web01 (101) on pve-a to snapshot pre-upgrade of ")
    assert no.stdout.rstrip().endswith(
        "? Its state since then is lost; it is stopped first; it resumes with the saved RAM. [y/N]"
    )
    assert set(sim.state.tasks) == before and journal(tmp_path) == []
    yes = ask_at_a_terminal(["snapshot", "delete", "101", "base"], env, tmp_path, "y")
    assert yes.returncode == 0, yes.stderr
    question, upid = yes.stdout.split("] ", 1)
    assert question == (
        "Delete snapshot base of web01 (101) on pve-a? (pre-upgrade will descend from its"
        " parent instead) [y/N"
    )
    assert ":qmdelsnapshot:101:" in upid


def test_history_export_has_the_target(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    assert run(["snapshot", "create", "101", "nightly-x"], env, tmp_path).returncode == 0
    exported = run(["history", "export", "--format", "json"], env, tmp_path)
    [action] = json.loads(exported.stdout)["actions"]
    assert (action["action"], action["target"], action["vmid"]) == ("snapshot", "nightly-x", 101)
    csv_text = run(["history", "export"], env, tmp_path).stdout
    header, *rows = csv_text.splitlines()
    assert "target" in header.split(",")
    [row] = [dict(zip(header.split(","), r.split(","), strict=True)) for r in rows
             if r.startswith("action,")]  # fmt: skip
    assert (row["action"], row["target"]) == ("snapshot", "nightly-x")
