"""Snapshots through the real HTTPS simulator: take, roll back, delete, and their failures.

Tasks run on the simulated clock: a test reads the state while a task runs (lock,
`snapstate`), then moves the clock on and reads it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from proxmoxer import ResourceException
from tests.conftest import ca_file_for, client_for

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]
VM = ("pve-a", "qemu", 102)  # running, three snapshots with a branch (demo.toml)
CT = ("pve-b", "lxc", 201)  # running, one snapshot


def guest_api(pve: Any, where: tuple[str, str, int]) -> Any:
    node, gtype, vmid = where
    return getattr(pve.nodes(node), gtype)(vmid)


def snaps(pve: Any, where: tuple[str, str, int]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in guest_api(pve, where).snapshot.get()}


def status(pve: Any, upid: str) -> dict[str, Any]:
    answer: dict[str, Any] = pve.nodes(UPID.parse(upid).node).tasks(upid).status.get()
    return answer


def finish(sim: Simulator, pve: Any, upid: str) -> dict[str, Any]:
    for _ in range(30):
        if status(pve, upid)["status"] == "stopped":
            return status(pve, upid)
        sim.advance(2)
    raise AssertionError(f"{upid} did not finish")


def log(pve: Any, upid: str) -> list[str]:
    node = UPID.parse(upid).node
    return [line["t"] for line in pve.nodes(node).tasks(upid).log.get(limit=0)]


def lock_of(pve: Any, vmid: int) -> str | None:
    entry = next(r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == vmid)
    return entry.get("lock")


def raw(sim: Simulator, method: str, path: str, **params: Any) -> requests.Response:
    return requests.request(
        method,
        f"{sim.api_url}{path}",
        params=params if method in ("GET", "DELETE") else None,
        data=params if method in ("POST", "PUT") else None,
        headers={"Authorization": f"PVEAPIToken={sim.token_id}={sim.token_secret}"},
        verify=ca_file_for(sim),
        timeout=5,
    )


# -- the lifecycle ---------------------------------------------------------------------


def test_create_locks_the_guest_and_prepares_the_entry(sim: Simulator, pve: Any) -> None:
    guest = guest_api(pve, VM)
    digest = snaps(pve, VM)["current"]["digest"]
    upid = guest.snapshot.post(snapname="nightly", description="before patching")
    parsed = UPID.parse(upid)
    assert (parsed.type, parsed.id, parsed.user) == ("qmsnapshot", "102", sim.token_id)
    during = snaps(pve, VM)
    assert during["nightly"]["snapstate"] == "prepare"
    assert during["nightly"]["parent"] == "pg17" and during["current"]["parent"] == "pg17"
    assert lock_of(pve, 102) == "snapshot"
    assert guest.config.get()["lock"] == "snapshot"
    assert status(pve, upid)["status"] == "running"
    assert finish(sim, pve, upid)["exitstatus"] == "OK"
    after = snaps(pve, VM)
    assert "snapstate" not in after["nightly"]
    assert after["nightly"]["description"] == "before patching"
    assert after["current"]["parent"] == "nightly"
    assert after["current"]["digest"] != digest
    assert lock_of(pve, 102) is None
    assert log(pve, upid)[-3:] == [
        "snapshotting 'drive-scsi0' (local-lvm:vm-102-disk-0)",
        '  Logical volume "snap_vm-102-disk-0_nightly" created.',
        "TASK OK",
    ]


def test_a_snapshot_takes_seconds_of_simulated_time(sim: Simulator, pve: Any) -> None:
    upid = guest_api(pve, CT).snapshot.post(snapname="quick")
    assert UPID.parse(upid).type == "vzsnapshot"
    sim.advance(1.5)
    assert status(pve, upid)["status"] == "running"  # at least 2 s ...
    sim.advance(4)
    assert status(pve, upid)["status"] == "stopped"  # ... and at most 5 s


def test_vmstate_only_when_the_vm_runs(sim: Simulator, pve: Any) -> None:
    running = guest_api(pve, VM).snapshot.post(snapname="with-ram", vmstate=1)
    stopped = pve.nodes("pve-b").qemu(110).snapshot.post(snapname="with-ram", vmstate=1)
    finish(sim, pve, running)
    finish(sim, pve, stopped)
    assert snaps(pve, VM)["with-ram"]["vmstate"] == 1
    assert snaps(pve, ("pve-b", "qemu", 110))["with-ram"]["vmstate"] == 0
    assert log(pve, running)[0] == "saving VM state and RAM using storage 'local-lvm'"


def test_rollback_stops_the_guest_and_start_brings_it_back(sim: Simulator, pve: Any) -> None:
    guest = guest_api(pve, CT)
    upid = guest.snapshot("before-nginx-1-27").rollback.post()
    assert UPID.parse(upid).type == "vzrollback"
    assert lock_of(pve, 201) == "rollback"
    sim.advance(1)
    assert guest.status.current.get()["status"] == "stopped"
    finish(sim, pve, upid)
    assert guest.status.current.get()["status"] == "stopped"  # no start=1, no RAM
    assert snaps(pve, CT)["current"]["parent"] == "before-nginx-1-27"
    upid = guest.snapshot("before-nginx-1-27").rollback.post(start=1)
    finish(sim, pve, upid)
    assert guest.status.current.get()["status"] == "running"
    assert lock_of(pve, 201) is None


def test_rollback_to_a_snapshot_with_ram_restarts_the_vm(sim: Simulator, pve: Any) -> None:
    guest = guest_api(pve, VM)
    upid = guest.snapshot("pre-pg17").rollback.post()
    sim.advance(1)
    assert guest.status.current.get()["status"] == "stopped"
    finish(sim, pve, upid)
    assert guest.status.current.get()["status"] == "stopped"
    finish(sim, pve, guest.snapshot("pg17").rollback.post())  # pg17 holds the RAM
    assert guest.status.current.get()["status"] == "running"
    assert snaps(pve, VM)["current"]["parent"] == "pg17"


def test_delete_marks_the_entry_then_reparents_its_children(sim: Simulator, pve: Any) -> None:
    guest = guest_api(pve, VM)
    upid = guest.snapshot("pre-pg17").delete()
    assert UPID.parse(upid).type == "qmdelsnapshot"
    assert snaps(pve, VM)["pre-pg17"]["snapstate"] == "delete"
    assert lock_of(pve, 102) == "snapshot-delete"
    finish(sim, pve, upid)
    after = snaps(pve, VM)
    assert "pre-pg17" not in after
    assert "parent" not in after["pg17"] and "parent" not in after["pg17-rc"]  # now roots
    finish(sim, pve, guest.snapshot("pg17").delete(force=1))
    assert "parent" not in snaps(pve, VM)["current"]  # the current state moves up too
    assert lock_of(pve, 102) is None


def test_a_stopped_task_undoes_its_work(sim: Simulator, pve: Any) -> None:
    upid = guest_api(pve, VM).snapshot.post(snapname="killed")
    pve.nodes("pve-a").tasks(upid).delete()
    assert status(pve, upid)["exitstatus"] == "received interrupt"
    assert "killed" not in snaps(pve, VM) and lock_of(pve, 102) is None


def test_the_list_is_unordered_with_current_last(pve: Any) -> None:
    names = [s["name"] for s in guest_api(pve, VM).snapshot.get()]
    assert names[-1] == "current" and sorted(names[:-1]) == ["pg17", "pg17-rc", "pre-pg17"]
    by_time = sorted(names[:-1], key=lambda n: snaps(pve, VM)[n]["snaptime"])
    assert names[:-1] != by_time  # PVE's hash order, not creation time


def test_snapshot_config_and_its_description(sim: Simulator, pve: Any) -> None:
    one = guest_api(pve, VM).snapshot("pg17")
    assert one.get() == [{"cmd": "rollback"}, {"cmd": "config"}]
    config = one.config.get()
    assert config["description"] == "PostgreSQL 17.2 in production"
    assert config["parent"] == "pre-pg17" and config["vmstate"].startswith("local-lvm:")
    assert "digest" not in config and config["scsi0"].startswith("local-lvm:vm-102-disk-0")
    assert guest_api(pve, VM).config.get(snapshot="pg17") == config
    before = snaps(pve, VM)["current"]["digest"]
    assert one.config.put(description="renamed") is None
    assert snaps(pve, VM)["pg17"]["description"] == "renamed"
    assert snaps(pve, VM)["current"]["digest"] != before


# -- failures --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "gtype", "vmid", "name", "error"),
    [
        ("pve-a", "qemu", 102, "pg17", "snapshot name 'pg17' already used"),
        ("pve-b", "qemu", 113, "first", "snapshot feature is not available"),  # on san-lvm
        ("pve-b", "qemu", 104, "first", "VM is locked (backup)"),
        ("pve-a", "qemu", 9000, "first", "you can't take a snapshot if it's a template"),
    ],
)
def test_create_fails_in_the_task(
    sim: Simulator, pve: Any, node: str, gtype: str, vmid: int, name: str, error: str
) -> None:
    upid = getattr(pve.nodes(node), gtype)(vmid).snapshot.post(snapname=name)
    assert finish(sim, pve, upid)["exitstatus"] == error
    assert log(pve, upid) == [f"TASK ERROR: {error}"]


def test_a_locked_container_says_ct(sim: Simulator, pve: Any) -> None:
    guest = guest_api(pve, CT)
    guest.snapshot.post(snapname="first")
    second = guest.snapshot.post(snapname="second")
    assert finish(sim, pve, second)["exitstatus"] == "CT is locked (snapshot)"
    start = guest.status.reboot.post()
    assert finish(sim, pve, start)["exitstatus"] == "CT is locked (snapshot)"


@pytest.mark.parametrize("action", ["rollback", "delete"])
def test_unknown_snapshots_fail_in_the_task(sim: Simulator, pve: Any, action: str) -> None:
    one = guest_api(pve, VM).snapshot("nope")
    upid = one.rollback.post() if action == "rollback" else one.delete()
    assert finish(sim, pve, upid)["exitstatus"] == "snapshot 'nope' does not exist"
    with pytest.raises(ResourceException) as err:
        one.config.get()
    assert (err.value.status_code, err.value.content) == (500, "snapshot 'nope' does not exist")


def test_rollback_to_a_snapshot_being_taken_fails(sim: Simulator, pve: Any) -> None:
    guest = guest_api(pve, CT)
    guest.snapshot.post(snapname="taking")
    upid = guest.snapshot("taking").rollback.post()
    error = "unable to rollback to incomplete snapshot (snapstate = prepare)"
    assert finish(sim, pve, upid)["exitstatus"] == error


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("1abc", "invalid format - invalid configuration ID '1abc'\n"),
        ("a", "invalid format - invalid configuration ID 'a'\n"),
        ("with space", "invalid format - invalid configuration ID 'with space'\n"),
        ("a" * 41, "value may only be 40 characters long"),
    ],
)
def test_bad_names_are_refused_by_the_validator(sim: Simulator, name: str, error: str) -> None:
    answer = raw(sim, "POST", "/nodes/pve-a/qemu/102/snapshot", snapname=name)
    assert (answer.status_code, answer.reason) == (400, "Parameter verification failed.")
    assert answer.json()["errors"] == {"snapname": error}


@pytest.mark.parametrize(
    ("gtype", "vmid", "node", "name", "shown"),
    [
        ("qemu", 102, "pve-a", "current", "current"),
        ("qemu", 102, "pve-a", "PENDING", "pending"),
        ("lxc", 201, "pve-b", "current", "current"),
        ("lxc", 201, "pve-b", "vzdump", "vzdump"),
    ],
)
def test_reserved_names_are_refused_before_any_task(
    sim: Simulator, gtype: str, vmid: int, node: str, name: str, shown: str
) -> None:
    before = len(sim.state.tasks)
    answer = raw(sim, "POST", f"/nodes/{node}/{gtype}/{vmid}/snapshot", snapname=name)
    reason = f"unable to use snapshot name '{shown}' (reserved name)"
    assert (answer.status_code, answer.reason) == (500, reason)
    assert len(sim.state.tasks) == before


def test_lxc_takes_no_vmstate(sim: Simulator) -> None:
    answer = raw(sim, "POST", "/nodes/pve-b/lxc/201/snapshot", snapname="x1", vmstate=1)
    assert answer.status_code == 400 and "vmstate" in answer.json()["errors"]


def test_zfs_rolls_back_only_to_the_newest(make_sim: MakeSim) -> None:
    data = demo_data()
    data["storage"].append({"id": "tank", "type": "zfspool", "content": ["images", "rootdir"]})
    vm = next(g for g in data["guest"] if g["vmid"] == 106)
    vm["disk_storage"] = "tank"
    sim = make_sim(data)
    pve = client_for(sim)
    upid = pve.nodes("pve-a").qemu(106).snapshot("pre-k8s-1-31").rollback.post()
    error = "can't rollback, 'pre-k8s-1-31' is not most recent snapshot on 'vm-106-disk-0'"
    assert finish(sim, pve, upid)["exitstatus"] == error
    assert (
        finish(sim, pve, pve.nodes("pve-a").qemu(106).snapshot("k8s-1-31").rollback.post())[
            "exitstatus"
        ]
        == "OK"
    )


# -- privileges ------------------------------------------------------------------------


def _with_roles(make_sim: MakeSim) -> Simulator:
    data = demo_data()
    data["role"] = [
        {"id": "RollbackOnly", "privs": ["VM.Snapshot.Rollback"]},
        {"id": "AuditOnly", "privs": ["VM.Audit"]},
    ]
    for name, role in (("rb", "RollbackOnly"), ("aud", "AuditOnly"), ("snap", "PVEVMAdmin")):
        data["user"].append({"id": f"{name}@pve"})
        data["token"].append({"id": f"{name}@pve!tt", "secret": f"{name}-s", "privsep": False})
        data["acl"].append({"path": "/vms", "subject": f"{name}@pve", "role": role})
    return make_sim(data)


@pytest.mark.parametrize(
    ("who", "method", "suffix", "allowed"),
    [
        ("aud", "GET", "snapshot", True),
        ("aud", "GET", "snapshot/pg17/config", True),
        ("aud", "POST", "snapshot", False),
        ("aud", "POST", "snapshot/pg17/rollback", False),
        ("rb", "POST", "snapshot/pg17/rollback", True),
        ("rb", "GET", "snapshot/pg17/config", True),
        ("rb", "POST", "snapshot", False),
        ("rb", "DELETE", "snapshot/pg17", False),
        ("rb", "PUT", "snapshot/pg17/config", False),
        ("snap", "POST", "snapshot", True),
        ("snap", "DELETE", "snapshot/pg17", True),
    ],
)
def test_snapshot_privileges(
    make_sim: MakeSim, who: str, method: str, suffix: str, allowed: bool
) -> None:
    sim = _with_roles(make_sim)
    params = {"snapname": "new-one"} if suffix == "snapshot" and method == "POST" else {}
    answer = requests.request(
        method,
        f"{sim.api_url}/nodes/pve-a/qemu/102/{suffix}",
        params=params if method in ("GET", "DELETE") else None,
        data=params if method in ("POST", "PUT") else None,
        headers={"Authorization": f"PVEAPIToken={who}@pve!tt={who}-s"},
        verify=ca_file_for(sim),
        timeout=5,
    )
    assert (answer.status_code == 200) == allowed, (answer.status_code, answer.reason)
    if not allowed:
        assert answer.status_code == 403 and answer.reason.startswith(
            "Permission check failed (/vms/102, VM.Snapshot"
        )
