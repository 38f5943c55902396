"""Migration through the real HTTPS simulator: preconditions, modes, local disks and devices,
the guest moving at the end, the lock meanwhile, a stopped migration, HA, migrateall."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from tests.sim.sim_api import Api, text_of

from argus_tui.domain.upid import UPID
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]


def lab(version: str = "9.1.2", **extra: Any) -> dict[str, Any]:
    """Three nodes without [[storage]]: disks on the shared ceph-vm unless local_disks."""
    data: dict[str, Any] = {
        "cluster": {"name": "lab", "seed": 3, "version": version},
        "node": [{"name": "pve1", "memory": "64G"}, {"name": "pve2"}, {"name": "pve3"}],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1", "status": "running", "memory": "8G"},
            {
                "vmid": 101,
                "type": "qemu",
                "node": "pve1",
                "status": "running",
                "memory": "4G",
                "disk": "32G",
                "local_disks": True,
            },
            {"vmid": 102, "type": "qemu", "node": "pve1", "status": "running", "ha": True},
            {"vmid": 103, "type": "qemu", "node": "pve1", "status": "stopped", "local_disks": True},
            {
                "vmid": 104,
                "type": "qemu",
                "node": "pve1",
                "status": "running",
                "local_resources": ["usb0", "serial1"],
            },
            {"vmid": 200, "type": "lxc", "node": "pve1", "status": "running"},
            {"vmid": 201, "type": "lxc", "node": "pve1", "status": "running", "ha": True},
            {"vmid": 202, "type": "lxc", "node": "pve1", "status": "stopped", "local_disks": True},
        ],
    }
    data.update(extra)
    return data


def api_of(make_sim: MakeSim, data: dict[str, Any] | None = None) -> Api:
    return Api(make_sim(data if data is not None else lab()))


# -- preconditions ----------------------------------------------------------------------


def test_qemu_precondition_lists_every_other_node(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    shared = api.get("/nodes/pve1/qemu/100/migrate")
    assert shared["running"] == 1 and shared["has-dbus-vmstate"] == 1
    assert shared["allowed_nodes"] == ["pve2", "pve3"]
    assert shared["not_allowed_nodes"] == {"pve2": {}, "pve3": {}}  # empty = allowed
    assert (shared["local_disks"], shared["local_resources"]) == ([], [])
    assert (shared["mapped-resources"], shared["mapped-resource-info"]) == ([], {})
    local = api.get("/nodes/pve1/qemu/101/migrate", target="pve2")
    (disk,) = local["local_disks"]
    assert disk["volid"] == "local-lvm:vm-101-disk-0"
    assert (disk["size"], disk["drivename"], disk["is_attached"], disk["shared"]) == (
        32 * 1024**3,
        "scsi0",
        1,
        0,
    )
    assert api.get("/nodes/pve1/qemu/104/migrate")["local_resources"] == ["usb0", "serial1"]
    assert "dependent-ha-resources" in api.get("/nodes/pve1/qemu/102/migrate")


def test_precondition_names_storages_a_node_lacks(make_sim: MakeSim) -> None:
    data = lab()
    data["storage"] = [
        {"id": "local-zfs", "type": "zfspool", "content": ["images"], "nodes": ["pve1", "pve2"]},
        {"id": "local", "type": "dir", "content": ["iso", "backup", "rootdir"]},
    ]
    data["guest"] = [{"vmid": 100, "type": "qemu", "node": "pve1", "status": "stopped"}]
    answer = api_of(make_sim, data).get("/nodes/pve1/qemu/100/migrate")
    assert answer["allowed_nodes"] == ["pve2"]
    assert answer["not_allowed_nodes"] == {
        "pve2": {},
        "pve3": {"unavailable_storages": ["local-zfs"]},
    }


def test_pve8_precondition_lists_nodes_only_for_a_stopped_vm(make_sim: MakeSim) -> None:
    api = api_of(make_sim, lab("8.2.4"))
    running = api.get("/nodes/pve1/qemu/100/migrate")
    assert "allowed_nodes" not in running and "has-dbus-vmstate" not in running
    assert api.get("/nodes/pve1/qemu/103/migrate")["not_allowed_nodes"] == {
        "pve2": {},
        "pve3": {},
    }
    unknown = api.call("GET", "/nodes/pve1/lxc/200/migrate")
    assert (unknown.status_code, unknown.reason) == (
        501,
        "Method 'GET /nodes/pve1/lxc/200/migrate' not implemented",
    )


def test_lxc_precondition_has_dashed_keys(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    assert api.get("/nodes/pve1/lxc/200/migrate") == {
        "running": 1,
        "allowed-nodes": ["pve2", "pve3"],
        "not-allowed-nodes": {},
    }
    assert api.get("/nodes/pve1/lxc/201/migrate")["dependent-ha-resources"] == []


# -- refusals of the API ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "reason", "errors"),
    [
        ("qemu/100", {"target": "pve1", "online": 1}, 400, "Parameter verification failed.",
         {"target": "target is local node."}),
        ("qemu/100", {"target": "pve9", "online": 1}, 500, "no such cluster node 'pve9'", None),
        ("qemu/100", {"target": "pve2"}, 500, "can't migrate running VM without --online", None),
        ("lxc/200", {"target": "pve2"}, 500,
         "can't migrate running container without --online or --restart", None),
    ],
)  # fmt: skip
def test_refused_before_any_task(
    make_sim: MakeSim,
    path: str,
    params: dict[str, Any],
    status: int,
    reason: str,
    errors: dict[str, str] | None,
) -> None:
    api = api_of(make_sim)
    resp = api.call("POST", f"/nodes/pve1/{path}/migrate", **params)
    assert (resp.status_code, resp.reason) == (status, reason)
    assert resp.json().get("errors") == errors
    assert not [t for t in api.tasks("pve1") if t["type"] in ("qmigrate", "vzmigrate")]


def test_root_only_options(make_sim: MakeSim) -> None:
    data = lab()
    data["user"] = [{"id": "ops@pve"}]
    data["token"] = [{"id": "ops@pve!tui", "secret": "s", "privsep": False}]
    data["acl"] = [{"path": "/", "subject": "ops@pve", "role": "PVEVMAdmin"}]
    resp = Api(make_sim(data), "ops@pve!tui", "s").call(
        "POST", "/nodes/pve1/qemu/104/migrate", target="pve2", online=1, force=1
    )
    assert resp.status_code == 400
    assert resp.json()["errors"] == {"force": "Only root may use this option."}


# -- tasks ------------------------------------------------------------------------------


def test_live_migration_moves_the_vm_at_its_end(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/qemu/100/migrate", target="pve2", online=1)
    parsed = UPID.parse(upid)
    assert (parsed.node, parsed.type, parsed.id) == ("pve1", "qmigrate", "100")
    api.sim.advance(4.9)  # an 8 GiB VM takes at least 5 s
    during = api.guest(100)
    assert (during["node"], during.get("lock"), during["status"]) == ("pve1", "migrate", "running")
    assert api.status(upid)["status"] == "running"
    shown = text_of(api.log(upid))
    assert "starting migration of VM 100 to node 'pve2' (10.0.0.12)" in shown
    assert any(line.startswith("migration active, transferred ") for line in shown)
    status = api.finish(upid)
    assert status["exitstatus"] == "OK"
    after = api.guest(100)
    assert (after["node"], after.get("lock"), after["status"]) == ("pve2", None, "running")
    assert after["uptime"] < 5  # a new QEMU process on the target
    log = api.log(upid)
    assert log[-1] == "TASK OK"
    assert text_of(log)[-2].startswith("migration finished successfully (duration 00:00:")
    assert api.get("/nodes/pve2/qemu/100/status/current")["status"] == "running"
    gone = api.call("GET", "/nodes/pve1/qemu/100/status/current")
    assert gone.reason == "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"


def test_a_migration_takes_wall_time_by_default(make_sim: MakeSim) -> None:
    api = Api(make_sim(lab(), frozen=False))
    upid = api.post("/nodes/pve1/qemu/100/migrate", target="pve2", online=1)
    time.sleep(1.0)
    assert api.status(upid)["status"] == "running"


def test_local_disks_of_a_running_vm_need_with_local_disks(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/qemu/101/migrate", target="pve2", online=1)
    assert api.finish(upid)["exitstatus"] == "migration aborted"
    shown = text_of(api.log(upid))
    reason = "Problem found while scanning volumes - can't migrate VM - check log"
    assert shown[-6:] == [
        "found local disk 'local-lvm:vm-101-disk-0' (attached)",
        "can't migrate local disk 'local-lvm:vm-101-disk-0': can't live migrate attached local"
        " disks without with-local-disks option",
        f"ERROR: {reason}",
        "aborting phase 1 - cleanup resources",
        f"ERROR: migration aborted (duration 00:00:00): {reason}",
        "TASK ERROR: migration aborted",
    ]
    assert (api.guest(101)["node"], api.guest(101).get("lock")) == ("pve1", None)
    upid = api.post(
        "/nodes/pve1/qemu/101/migrate", target="pve2", online=1, **{"with-local-disks": 1}
    )
    assert api.finish(upid)["exitstatus"] == "OK"
    shown = text_of(api.log(upid))
    assert "drive-scsi0: transferred 32.0 GiB of 32.0 GiB (100.00%) in" in " ".join(shown)
    assert "stopping NBD storage migration server on target." in shown
    assert api.guest(101)["node"] == "pve2"
    assert api.get("/nodes/pve2/qemu/101/config")["scsi0"].startswith("local-lvm:vm-101-disk-0")


def test_a_stopped_vm_copies_its_local_disks(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/qemu/103/migrate", target="pve3", online=1)  # warns, offline
    assert api.finish(upid)["exitstatus"] == "OK"
    shown = text_of(api.log(upid))
    assert "copying local disk images" in shown
    assert "new volume ID is 'local-lvm:vm-103-disk-0'" in shown
    assert not [line for line in shown if "online" in line]
    assert api.guest(103)["node"] == "pve3"


def test_local_devices_make_the_task_fail(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/qemu/104/migrate", target="pve2", online=1)
    assert api.finish(upid)["exitstatus"] == "migration aborted"
    assert text_of(api.log(upid))[-2] == (
        "ERROR: migration aborted (duration 00:00:00): can't migrate VM which uses local"
        " devices: usb0, serial1"
    )


def test_a_target_that_is_down_fails_after_ssh_gives_up(make_sim: MakeSim) -> None:
    data = lab()
    data["node"][2]["status"] = "offline"
    api = api_of(make_sim, data)
    assert api.get("/nodes/pve1/qemu/100/migrate")["allowed_nodes"] == ["pve2", "pve3"]
    upid = api.post("/nodes/pve1/qemu/100/migrate", target="pve3", online=1)
    assert api.finish(upid)["exitstatus"] == "migration aborted"
    assert text_of(api.log(upid))[-2].endswith(
        "): Can't connect to destination address using public key"
    )


def test_a_stopped_migration_leaves_the_vm_on_its_source(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/qemu/100/migrate", target="pve2", online=1)
    api.sim.advance(4)
    assert api.guest(100).get("lock") == "migrate"
    assert api.data("DELETE", f"/nodes/pve1/tasks/{upid}") is None
    status = api.status(upid)
    assert status["exitstatus"] == "migration problems"
    shown = text_of(api.log(upid))
    assert shown[-5:] == [
        "ERROR: online migrate failure - interrupted by signal",
        "aborting phase 2 - cleanup resources",
        "migrate_cancel",
        "ERROR: migration finished with problems (duration 00:00:04)",
        "TASK ERROR: migration problems",
    ]
    entry = api.guest(100)
    assert (entry["node"], entry.get("lock"), entry["status"]) == ("pve1", None, "running")
    api.sim.advance(60)
    assert api.guest(100)["node"] == "pve1"


def test_a_stopped_container_migration_starts_it_again_on_its_source(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/lxc/202/migrate", target="pve2")
    api.sim.advance(0.6)
    api.data("DELETE", f"/nodes/pve1/tasks/{upid}")
    assert api.status(upid)["exitstatus"] == "migration aborted"
    assert text_of(api.log(upid))[-2].endswith("): interrupted by signal")
    assert (api.guest(202)["node"], api.guest(202).get("lock")) == ("pve1", None)


def test_container_restart_migration(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/lxc/200/migrate", target="pve3", restart=1, timeout=60)
    assert UPID.parse(upid).type == "vzmigrate"
    api.sim.advance(7)
    assert api.guest(200)["status"] == "stopped"  # shut down for the move
    assert api.finish(upid)["exitstatus"] == "OK"
    shown = text_of(api.log(upid))
    assert shown[0] == "shutdown CT 200"
    assert "volume 'ceph-vm:vm-200-disk-0' is on shared storage 'ceph-vm'" in shown
    assert "start container on target node" in shown
    entry = api.guest(200)
    assert (entry["node"], entry["status"], entry.get("lock")) == ("pve3", "running", None)


def test_container_live_migration_fails_in_the_task(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/lxc/200/migrate", target="pve3", online=1)
    assert api.finish(upid)["exitstatus"] == "migration aborted"
    assert text_of(api.log(upid))[-2].endswith("): lxc live migration is currently not implemented")
    assert api.guest(200)["node"] == "pve1"


def test_local_snapshots_on_lvm_thin_cannot_move(make_sim: MakeSim) -> None:
    api = Api(make_sim())  # the demo: 201 has a snapshot on local-lvm
    upid = api.post("/nodes/pve-b/lxc/201/migrate", target="pve-c", restart=1)
    assert api.finish(upid)["exitstatus"] == "migration aborted"
    shown = text_of(api.log(upid))
    assert (
        "can't migrate local volume 'local-lvm:vm-201-disk-0': non-migratable snapshot exists"
        in shown
    )
    assert "start container on source node" in shown
    assert api.guest(201)["status"] == "running" and api.guest(201)["node"] == "pve-b"
    pre = api.get("/nodes/pve-a/qemu/102/migrate")
    disk = next(d for d in pre["local_disks"] if d["volid"] == "local-lvm:vm-102-disk-0")
    assert set(disk["referenced_in_snapshot"]) == {"pre-pg17", "pg17-rc", "pg17"}


# -- HA ---------------------------------------------------------------------------------


def test_ha_vm_goes_through_hamigrate_then_root_migrates_it(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/qemu/102/migrate", target="pve3", online=1)
    assert UPID.parse(upid).type == "hamigrate"
    assert api.finish(upid)["exitstatus"] == "OK"
    assert api.log(upid) == ["Requesting HA migration for VM 102 to node pve3", "TASK OK"]
    assert api.guest(102)["hastate"] == "migrate"
    api.sim.advance(3)
    follow = next(t for t in api.tasks("pve1") if t["type"] == "qmigrate")
    assert (follow["user"], follow.get("tokenid"), follow["id"]) == ("root@pam", None, "102")
    api.finish(follow["upid"])
    entry = api.guest(102)
    assert (entry["node"], entry["hastate"], entry["status"]) == ("pve3", "started", "running")


def test_ha_container_is_relocated(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    upid = api.post("/nodes/pve1/lxc/201/migrate", target="pve2", restart=1)
    assert api.log(api.finish(upid)["upid"])[0] == "Requesting HA migration for CT 201 to node pve2"
    for _ in range(40):
        api.sim.advance(1)
    entry = api.guest(201)
    assert (entry["node"], entry["hastate"], entry["status"]) == ("pve2", "started", "running")
    types = [(t["node"], t["type"], t["user"]) for t in api.tasks("pve1") + api.tasks("pve2")]
    for wanted in [("pve1", "vzshutdown", "root@pam"), ("pve1", "vzmigrate", "root@pam"),
                   ("pve2", "vzstart", "root@pam")]:  # fmt: skip
        assert wanted in types


# -- migrateall -------------------------------------------------------------------------


def test_migrateall_skips_what_the_precondition_refuses(make_sim: MakeSim) -> None:
    api = api_of(make_sim)
    missing = api.call("POST", "/nodes/pve1/migrateall", target="pve2")
    assert missing.reason == (
        "either 'max-workers' parameter or max_workers in datacenter.cfg must be set!"
    )
    upid = api.post("/nodes/pve1/migrateall", target="pve2", **{"max-workers": 2})
    parsed = UPID.parse(upid)
    assert (parsed.type, parsed.id) == ("migrateall", "")
    assert api.finish(upid)["exitstatus"] == "OK"
    log = api.log(upid)
    assert log[:4] == [
        "Check VM 100: precondition check passed",
        "Migrating VM 100",
        "Check VM 101: skip VM 101 - precondition check failed:",
        "  Has local disks: local-lvm:vm-101-disk-0",
    ]
    assert "Check VM 104: skip VM 104 - precondition check failed:" in log
    assert "  Has local resources: usb0, serial1" in log
    assert "Migrating CT 200" in log and "Migrating CT 202" in log
    assert log[-2] == "All jobs finished, used 6 workers in total."
    for _ in range(60):
        api.sim.advance(1)
    nodes = {g["vmid"]: g["node"] for g in api.get("/cluster/resources", type="vm")}
    assert nodes == {100: "pve2", 101: "pve1", 102: "pve2", 103: "pve2", 104: "pve1",
                     200: "pve2", 201: "pve2", 202: "pve2"}  # fmt: skip


def test_migrateall_permissions(make_sim: MakeSim) -> None:
    data = lab()
    data["user"] = [{"id": "ops@pve"}]
    data["token"] = [{"id": "ops@pve!tui", "secret": "s", "privsep": False}]
    data["acl"] = [{"path": "/vms/100", "subject": "ops@pve", "role": "PVEVMAdmin"}]
    api = Api(make_sim(data), "ops@pve!tui", "s")
    everything = api.call("POST", "/nodes/pve1/migrateall", target="pve2", maxworkers=1)
    assert (everything.status_code, everything.reason) == (
        403,
        "Permission check failed (/, VM.Migrate)",
    )
    two = api.call("POST", "/nodes/pve1/migrateall", target="pve2", maxworkers=1, vms="100,200")
    assert two.reason == "Permission check failed (/vms/200, VM.Migrate)"
    upid = api.post("/nodes/pve1/migrateall", target="pve2", maxworkers=1, vms="100")
    assert api.finish(upid)["exitstatus"] == "OK"
