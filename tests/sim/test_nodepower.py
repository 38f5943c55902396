"""Node reboot and shutdown through the real HTTPS simulator: stopall, offline, back with a
new boot time, onboot guests started by startall, HA's freeze and recovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.sim.sim_api import Api

from argus_tui.domain.upid import UPID
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]


def lab() -> dict[str, Any]:
    return {
        "cluster": {"name": "lab", "seed": 5},
        "node": [
            {"name": "pve1"},
            {"name": "pve2", "memory": "128G"},
            {"name": "pve3", "memory": "16G"},
        ],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1", "status": "running", "onboot": True},
            {"vmid": 101, "type": "qemu", "node": "pve1", "status": "running"},
            {"vmid": 102, "type": "qemu", "node": "pve1", "status": "running", "ha": True},
            {"vmid": 200, "type": "lxc", "node": "pve1", "status": "running", "onboot": True},
            {"vmid": 201, "type": "lxc", "node": "pve1", "status": "stopped", "onboot": True},
            {"vmid": 300, "type": "qemu", "node": "pve2", "status": "running"},
        ],
        "user": [{"id": "adm@pve"}],
        "token": [
            {"id": "root@pam!argus", "secret": "root-secret", "privsep": False},
            {"id": "adm@pve!tui", "secret": "adm-secret", "privsep": False},
        ],
        "acl": [{"path": "/", "subject": "adm@pve", "role": "PVEAdmin"}],
    }


def node_status(api: Api, name: str) -> str:
    return str(next(n["status"] for n in api.get("/nodes") if n["node"] == name))


def cluster_task(api: Api, type_: str) -> dict[str, Any]:
    found: dict[str, Any] = next(t for t in api.get("/cluster/tasks") if t["type"] == type_)
    return found


def test_reboot(make_sim: MakeSim) -> None:
    sim = make_sim(lab())
    api = Api(sim)  # root@pam's token: PVEAdmin lacks Sys.PowerMgmt
    denied = Api(sim, "adm@pve!tui", "adm-secret")
    refused = denied.call("POST", "/nodes/pve1/status", command="reboot")
    assert (refused.status_code, refused.reason) == (
        403,
        "Permission check failed (/nodes/pve1, Sys.PowerMgmt)",
    )
    uptime = api.get("/nodes/pve1/status")["uptime"]
    assert uptime > 3600
    assert api.post("/nodes/pve1/status", command="reboot") is None
    assert not [t for t in api.tasks("pve1") if t["type"] == "stopall"]  # no task, `sleep 2`
    sim.advance(2.5)
    stopall = cluster_task(api, "stopall")
    assert (stopall["user"], stopall["id"], stopall["node"]) == ("root@pam", "", "pve1")
    assert api.log(stopall["upid"])[:4] == [
        "Stopping CT 200 (timeout = 180 seconds)",
        "Stopping VM 102 (timeout = 180 seconds)",
        "Stopping VM 101 (timeout = 180 seconds)",
        "Stopping VM 100 (timeout = 180 seconds)",
    ]
    shutdowns = [t for t in api.tasks("pve1") if t["type"] in ("qmshutdown", "vzshutdown")]
    assert {t["user"] for t in shutdowns} == {"root@pam"} and len(shutdowns) == 4
    assert api.guest(102)["hastate"] == "freeze"
    elapsed, went, back = 2.5, None, None
    while back is None and elapsed < 120:
        sim.advance(0.5)
        elapsed += 0.5
        up = node_status(api, "pve1") == "online"
        if went is None and not up:
            went = elapsed
            down = api.call("GET", "/nodes/pve1/status")
            assert (down.status_code, down.content) == (595, b"")
            assert api.guest(100)["status"] == "stopped"
        elif went is not None and up:
            back = elapsed
    assert went is not None and back is not None
    assert back - went >= 10 and back < 60
    assert api.get("/nodes/pve1/status")["uptime"] < 60
    sim.advance(30)
    startall = cluster_task(api, "startall")
    assert api.log(startall["upid"]) == [
        "Starting VM 100",
        "Starting CT 200",
        "Starting CT 201",
        "TASK OK",
    ]
    status = {g["vmid"]: g["status"] for g in api.get("/cluster/resources", type="vm")}
    assert status == {100: "running", 101: "stopped", 102: "running", 200: "running",
                      201: "running", 300: "running"}  # fmt: skip
    assert api.guest(102)["hastate"] == "started" and api.guest(102)["node"] == "pve1"


def test_shutdown_keeps_the_node_off_and_ha_recovers_elsewhere(make_sim: MakeSim) -> None:
    sim = make_sim(lab())
    api = Api(sim)
    api.post("/nodes/pve1/status", command="shutdown")
    for _ in range(120):
        sim.advance(1)
    assert node_status(api, "pve1") == "offline"
    ha = api.guest(102)
    # recovered on the node with the most free memory
    assert (ha["node"], ha["status"], ha["hastate"]) == ("pve2", "running", "started")
    start = next(t for t in api.tasks("pve2") if t["type"] == "qmstart")
    assert (start["id"], start["user"]) == ("102", "root@pam")
    assert api.guest(100)["node"] == "pve1"
    assert not [t for t in api.get("/cluster/tasks") if t["type"] == "startall"]
    assert UPID.parse(cluster_task(api, "stopall")["upid"]).node == "pve1"
