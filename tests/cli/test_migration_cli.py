"""`argus migrate`, `evacuate`, `node`, `power hibernate`, `task-stop` and `status --ips`
through the real binary, against the simulator running tests/mig_scenario.py."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.ops_helpers import ARGUS, journal, run, run_advancing
from tests.mig_scenario import GIB, TOKENS, mig_scenario, secret_of

from argus_tui.sim.server import Simulator


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(mig_scenario())


def env_for(sim: Simulator, tmp_path: Path, who: str = "root") -> dict[str, str]:
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


def argus(sim: Simulator, tmp_path: Path, who: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = env_for(sim, tmp_path, who)
    if "--wait" in args:
        return run_advancing(sim, list(args), env, tmp_path, step=2.0)
    return run(list(args), env, tmp_path)


def status(sim: Simulator, tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = argus(sim, tmp_path, "root", "status", "--json", "--no-history", *extra)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def node_of(sim: Simulator, tmp_path: Path, vmid: int) -> str:
    guests = status(sim, tmp_path)["guests"]
    return str(next(g["node"] for g in guests if g["vmid"] == vmid))


def tasks(sim: Simulator, tmp_path: Path) -> list[dict[str, Any]]:
    result = argus(sim, tmp_path, "root", "tasks", "--json")
    assert result.returncode == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


# -- migrate --------------------------------------------------------------------------------


def test_migrate_a_running_vm_online_and_wait(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "operator", "migrate", "201", "pve-b", "--online", "--wait")
    assert result.returncode == 0, result.stderr
    assert ":qmigrate:201:ops@pve!tui:" in result.stdout.splitlines()[0]
    assert "Migrate web01 (201) on pve-a to pve-b: OK" in result.stdout
    assert node_of(sim, tmp_path, 201) == "pve-b"
    assert [(r["vmid"], r["action"]) for r in journal(tmp_path)] == [(201, "migrate")]


def test_a_running_vm_without_online_is_refused_before_sending(
    sim: Simulator, tmp_path: Path
) -> None:
    result = argus(sim, tmp_path, "operator", "migrate", "201", "pve-b")
    assert result.returncode == 2
    assert "pass --online" in result.stderr
    assert not any(t["type"] == "qmigrate" for t in tasks(sim, tmp_path))


def test_a_running_container_without_restart_is_refused(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "operator", "migrate", "203", "pve-b")
    assert result.returncode == 2
    assert "pass --restart" in result.stderr and "cannot move live" in result.stderr
    assert not any(t["type"] == "vzmigrate" for t in tasks(sim, tmp_path))
    assert node_of(sim, tmp_path, 203) == "pve-a"


def test_a_running_container_with_restart(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "operator", "migrate", "203", "pve-b", "--restart", "--wait")
    assert result.returncode == 0, result.stderr
    assert ":vzmigrate:203:" in result.stdout
    assert node_of(sim, tmp_path, 203) == "pve-b"


def test_migrate_needs_vm_migrate_first(sim: Simulator, tmp_path: Path) -> None:
    # The privilege comes before the mode: without --online the refusal is still exit 4.
    for extra in ((), ("--online",)):
        result = argus(sim, tmp_path, "nomig", "migrate", "201", "pve-b", *extra)
        assert result.returncode == 4, result.stderr
        assert "VM.Migrate" in result.stderr and "/vms/201" in result.stderr


def test_a_guest_with_local_resources_is_not_allowed(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "migrate", "204", "pve-b", "--online")
    assert result.returncode == 1
    assert "usb0" in result.stderr
    assert not any(t["type"] == "qmigrate" for t in tasks(sim, tmp_path))


def test_a_target_without_room_is_not_allowed(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "migrate", "206", "pve-c", "--online")
    assert result.returncode == 1
    assert "free, the guest needs 40.0G" in result.stderr


def test_a_stopped_vm_with_local_disks_moves_offline(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "migrate", "205", "pve-b", "--wait")
    assert result.returncode == 0, result.stderr
    assert node_of(sim, tmp_path, 205) == "pve-b"


def test_an_ha_guest_is_followed_to_its_target(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "migrate", "202", "pve-b", "--online", "--wait")
    assert result.returncode == 0, result.stderr
    assert ":hamigrate:202:" in result.stdout.splitlines()[0]
    assert "HA-managed" in result.stdout
    assert "moved by the HA manager's task" in result.stdout and ":qmigrate:202:root@pam:" in (
        result.stdout
    )
    assert node_of(sim, tmp_path, 202) == "pve-b"


# -- evacuate -------------------------------------------------------------------------------


def test_evacuation_plan_never_overcommits(sim: Simulator, tmp_path: Path) -> None:
    before = status(sim, tmp_path)
    free = {n["name"]: n["maxmem"] - n["mem"] for n in before["nodes"]}
    maxmem = {g["vmid"]: g["maxmem"] for g in before["guests"]}
    for extra in ((), ("--to", "pve-c")):
        result = argus(sim, tmp_path, "root", "evacuate", "pve-a", "--dry-run", "--json", *extra)
        assert result.returncode == 0, result.stderr
        plan = json.loads(result.stdout)
        assert set(plan) == {"node", "moves", "skipped"} and plan["node"] == "pve-a"
        assert all(set(m) == {"vmid", "name", "to", "mode"} for m in plan["moves"])
        assert all(set(s) == {"vmid", "name", "reason"} for s in plan["skipped"])
        placed: dict[str, int] = {}
        for move in plan["moves"]:
            placed[move["to"]] = placed.get(move["to"], 0) + maxmem[move["vmid"]]
        assert all(placed[node] <= free[node] for node in placed), (placed, free)
        skipped = {s["vmid"]: s["reason"] for s in plan["skipped"]}
        assert "usb0" in skipped[204] and "overcommit" in skipped[206]
        assert "stays on pve-a" in skipped[205] and "template" in skipped[9001]
        if extra:
            assert {m["to"] for m in plan["moves"]} == {"pve-c"}
            # db01 needs 8G; pve-c has less free than that.
            assert free["pve-c"] < 8 * GIB and "overcommit" in skipped[202]
    modes = {m["vmid"]: m["mode"] for m in plan["moves"]}
    assert modes[201] == "online"
    # Nothing was sent.
    assert not any(t["type"] in ("qmigrate", "vzmigrate") for t in tasks(sim, tmp_path))


def test_evacuation_text_plan_names_modes(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "evacuate", "pve-a", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "move ct01 (203) to pve-b: restart" in result.stdout
    assert "through HA" in result.stdout and "skip usb01 (204)" in result.stdout


def test_evacuate_needs_yes_without_a_terminal(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "evacuate", "pve-a")
    assert result.returncode == 2 and "--yes" in result.stderr


def test_evacuate_runs_the_plan(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "evacuate", "pve-a", "--to", "pve-b", "--yes", "--wait")
    assert result.returncode == 0, result.stderr
    guests = {g["vmid"]: g["node"] for g in status(sim, tmp_path)["guests"]}
    assert guests[201] == guests[202] == guests[203] == guests[207] == "pve-b"
    assert guests[204] == guests[206] == "pve-a"
    assert result.stdout.count(": OK") == 4


def test_evacuate_without_vm_migrate_is_refused(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "nomig", "evacuate", "pve-a", "--yes")
    assert result.returncode == 4
    assert "VM.Migrate" in result.stderr and "/vms/" in result.stderr


# -- node power -----------------------------------------------------------------------------


def test_node_reboot(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "operator", "node", "reboot", "pve-b")
    assert result.returncode == 2 and "--yes" in result.stderr
    result = argus(sim, tmp_path, "operator", "node", "reboot", "pve-b", "--yes")
    assert result.returncode == 0, result.stderr
    assert "Reboot of pve-b requested" in result.stdout
    assert any(r["action"] == "node-reboot" for r in journal(tmp_path))


def test_node_shutdown_needs_sys_powermgmt(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "nomig", "node", "shutdown", "pve-c", "--yes")
    assert result.returncode == 4
    assert "Sys.PowerMgmt" in result.stderr and "/nodes/pve-c" in result.stderr
    nodes = {n["name"]: n["status"] for n in status(sim, tmp_path)["nodes"]}
    assert nodes["pve-c"] == "online"


def test_node_reboot_confirmation_at_a_terminal(sim: Simulator, tmp_path: Path) -> None:
    """The name must be typed; a wrong one cancels. A pseudo-terminal stands in for one."""
    pty = pytest.importorskip("pty")
    import select

    env = env_for(sim, tmp_path, "operator")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*ARGUS, "node", "reboot", "pve-c"],
        env=env,
        cwd=tmp_path,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    os.write(master, b"pve-x\n")
    stdout, stderr = proc.communicate(timeout=60)
    select.select([], [], [], 0)
    os.close(master)
    assert proc.returncode == 1, stderr
    assert "1 guest is still running on pve-c" in stdout
    assert "did not match" in stderr


# -- hibernate ------------------------------------------------------------------------------


def test_hibernate_and_start_again(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "operator", "power", "hibernate", "201", "--yes", "--wait")
    assert result.returncode == 0, result.stderr
    assert ":qmsuspend:201:" in result.stdout
    guest = next(g for g in status(sim, tmp_path)["guests"] if g["vmid"] == 201)
    assert guest["status"] == "stopped" and guest["lock"] == "suspended"
    result = argus(sim, tmp_path, "operator", "power", "start", "201", "--wait")
    assert result.returncode == 0, result.stderr


def test_hibernate_refuses_an_ha_vm(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "power", "hibernate", "202", "--yes")
    assert result.returncode == 1 and "HA" in result.stderr


# -- task-stop ------------------------------------------------------------------------------


def _running_migration(sim: Simulator, tmp_path: Path) -> str:
    result = argus(sim, tmp_path, "operator", "migrate", "201", "pve-b", "--online")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[0]


def test_task_stop_as_owner(sim: Simulator, tmp_path: Path) -> None:
    upid = _running_migration(sim, tmp_path)
    result = argus(sim, tmp_path, "operator", "task-stop", upid)
    assert result.returncode == 0, result.stderr
    assert "Stop of task qmigrate 201 on pve-a requested" in result.stdout
    assert node_of(sim, tmp_path, 201) == "pve-a"  # an interrupted migration stays
    again = argus(sim, tmp_path, "operator", "task-stop", upid)
    assert again.returncode == 1 and "already finished" in again.stderr
    assert [r["action"] for r in journal(tmp_path)] == ["migrate", "task-stop"]


def test_task_stop_by_another_token_of_the_same_user(sim: Simulator, tmp_path: Path) -> None:
    upid = _running_migration(sim, tmp_path)
    result = argus(sim, tmp_path, "other", "task-stop", upid)
    assert result.returncode == 4
    assert "Sys.Modify" in result.stderr and "/nodes/pve-a" in result.stderr
    running = [t for t in tasks(sim, tmp_path) if t["upid"] == upid]
    assert running and running[0]["status"] in (None, "running")


def test_task_stop_with_sys_modify(sim: Simulator, tmp_path: Path) -> None:
    upid = _running_migration(sim, tmp_path)
    result = argus(sim, tmp_path, "admin", "task-stop", upid)
    assert result.returncode == 0, result.stderr


def test_task_stop_of_a_bad_upid(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "root", "task-stop", "not-a-upid")
    assert result.returncode == 2 and "argus tasks --json" in result.stderr


# -- status --ips, doctor -------------------------------------------------------------------


def test_status_ips(sim: Simulator, tmp_path: Path) -> None:
    plain = status(sim, tmp_path)
    assert all("ips" not in g for g in plain["guests"])
    guests = {g["vmid"]: g for g in status(sim, tmp_path, "--ips")["guests"]}
    assert guests[202]["ips"] == ["10.0.0.21/24"]  # the agent's
    assert guests[203]["ips"] == ["10.0.0.31/24"]  # the container's interfaces
    assert guests[201]["ips"] == [] and guests[205]["ips"] == []  # no agent; stopped


def test_doctor_reports_maintenance_rights(sim: Simulator, tmp_path: Path) -> None:
    result = argus(sim, tmp_path, "nomig", "doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    found = {(f["feature"], f["path"]): f for f in report["features"]}
    migrate = found[("migrate", "/vms")]
    assert not migrate["ok"] and migrate["privilege"] == "VM.Migrate"
    token = TOKENS["nomig"]
    assert migrate["grant"] == f"pveum acl modify /vms --tokens '{token}' --roles ArgusOperator"
    for node in ("pve-a", "pve-b", "pve-c"):
        power = found[("node_power", f"/nodes/{node}")]
        assert not power["ok"] and power["privilege"] == "Sys.PowerMgmt"
    stop = next(f for f in report["features"] if f["feature"] == "task_stop")
    assert not stop["ok"] and stop["privilege"] == "Sys.Modify"
    agent = found[("guest_agent", "/vms")]
    assert agent["privilege"] == "VM.GuestAgent.Audit" and not agent["ok"]
    assert any("VM.Migrate" in line for line in report["recommended_roles"])
    admin = json.loads(argus(sim, tmp_path, "admin", "doctor", "--json").stdout)
    wanted = {"migrate", "node_power", "task_stop", "guest_agent"}
    assert all(f["ok"] for f in admin["features"] if f["feature"] in wanted)
