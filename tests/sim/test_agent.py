"""Guest addresses through the real HTTPS simulator: the guest agent's answers, its errors
in PVE's order, its privileges on PVE 8 and 9, and a container's interfaces."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.sim.sim_api import Api

from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]
SECRET = "tok-secret"


def lab(version: str = "9.1.2", role: str = "PVEAuditor") -> dict[str, Any]:
    return {
        "cluster": {"name": "lab", "seed": 2, "version": version},
        "node": [{"name": "pve1"}, {"name": "pve2"}],
        "role": [{"id": "Looker", "privs": ["VM.Audit"]}],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1", "status": "running", "agent": True,
             "ips": ["10.0.0.21/24", "fd00::21/64"]},
            {"vmid": 101, "type": "qemu", "node": "pve1", "status": "stopped", "agent": True},
            {"vmid": 102, "type": "qemu", "node": "pve1", "status": "running"},
            {"vmid": 200, "type": "lxc", "node": "pve1", "status": "running",
             "ips": ["10.0.0.31/24"]},
            {"vmid": 201, "type": "lxc", "node": "pve1", "status": "stopped"},
        ],
        "user": [{"id": "u@pve"}],
        "token": [
            {"id": "root@pam!argus", "secret": SECRET, "privsep": False},
            {"id": "u@pve!tui", "secret": SECRET, "privsep": False},
        ],
        "acl": [{"path": "/", "subject": "u@pve", "role": role}],
    }  # fmt: skip


@pytest.fixture
def api(make_sim: MakeSim) -> Api:
    return Api(make_sim(lab()))


def test_network_interfaces(api: Api) -> None:
    result = api.get("/nodes/pve1/qemu/100/agent/network-get-interfaces")["result"]
    lo, nic = result
    assert lo["name"] == "lo" and lo["hardware-address"] == "00:00:00:00:00:00"
    assert [a["ip-address"] for a in lo["ip-addresses"]] == ["127.0.0.1", "::1"]
    config_mac = api.get("/nodes/pve1/qemu/100/config")["net0"].split(",")[0].split("=")[1]
    assert nic["hardware-address"] == config_mac.lower()
    addresses = [(a["ip-address"], a["ip-address-type"], a["prefix"]) for a in nic["ip-addresses"]]
    assert addresses[:2] == [("10.0.0.21", "ipv4", 24), ("fd00::21", "ipv6", 64)]
    assert addresses[2][0].startswith("fe80::") and addresses[2][2] == 64
    assert set(nic["statistics"]) >= {"rx-bytes", "tx-bytes", "rx-packets", "tx-dropped"}


def test_other_agent_commands(api: Api) -> None:
    base = "/nodes/pve1/qemu/100/agent"
    assert api.get(f"{base}/get-host-name") == {"result": {"host-name": "vm100"}}
    assert api.get(f"{base}/get-osinfo")["result"]["id"] == "debian"
    info = api.get(f"{base}/info")["result"]
    assert {"enabled": True, "name": "guest-ping", "success-response": True} in info[
        "supported_commands"
    ]
    assert api.post(f"{base}/ping") == {"result": {}}


def test_agent_errors_in_pve_order(make_sim: MakeSim) -> None:
    data = lab()
    data["guest"].append({"vmid": 103, "type": "qemu", "node": "pve1", "status": "stopped"})
    data["guest"].append(
        {"vmid": 104, "type": "qemu", "node": "pve1", "status": "running", "agent": True,
         "fail": {"agent": "QEMU guest agent is not running"}}
    )  # fmt: skip
    api = Api(make_sim(data))

    def error(vmid: int) -> tuple[int, str]:
        resp = api.call("GET", f"/nodes/pve1/qemu/{vmid}/agent/network-get-interfaces")
        return resp.status_code, resp.reason

    assert error(103) == (500, "No QEMU guest agent configured")  # before "not running"
    assert error(102) == (500, "No QEMU guest agent configured")
    assert error(101) == (500, "VM 101 is not running")
    assert error(104) == (500, "QEMU guest agent is not running")
    upid = api.post("/nodes/pve1/qemu/101/status/start")
    api.finish(upid)
    assert error(101) == (500, "QEMU guest agent is not running")  # the OS is still booting
    api.sim.advance(15)
    assert error(101)[0] == 200
    api.finish(api.post("/nodes/pve1/qemu/101/status/suspend"))
    assert error(101) == (500, "QEMU guest agent is not running")  # paused


@pytest.mark.parametrize(
    ("version", "role", "status", "reason"),
    [
        ("9.1.2", "PVEAuditor", 200, "OK"),  # VM.GuestAgent.Audit
        ("9.1.2", "PVEVMUser", 200, "OK"),
        ("9.1.2", "Looker", 403,
         "Permission check failed (/vms/100, VM.GuestAgent.Audit|VM.GuestAgent.Unrestricted)"),
        ("8.2.4", "PVEAuditor", 403, "Permission check failed (/vms/100, VM.Monitor)"),
        ("8.2.4", "PVEVMAdmin", 200, "OK"),
    ],
)  # fmt: skip
def test_agent_privileges_differ_between_pve8_and_9(
    make_sim: MakeSim, version: str, role: str, status: int, reason: str
) -> None:
    api = Api(make_sim(lab(version, role)), "u@pve!tui", SECRET)
    resp = api.call("GET", "/nodes/pve1/qemu/100/agent/network-get-interfaces")
    assert (resp.status_code, resp.reason) == (status, reason)


def test_container_interfaces(api: Api) -> None:
    lo, eth0 = api.get("/nodes/pve1/lxc/200/interfaces")
    assert (lo["name"], lo["inet"], lo["inet6"]) == ("lo", "127.0.0.1/8", "::1/128")
    assert eth0["name"] == "eth0" and eth0["inet"] == "10.0.0.31/24"
    assert eth0["inet6"].startswith("fe80::") and eth0["hwaddr"] == eth0["hardware-address"]
    assert eth0["ip-addresses"][0] == {
        "ip-address-type": "inet",
        "ip-address": "10.0.0.31",
        "prefix": 24,
    }
    assert api.get("/nodes/pve1/lxc/201/interfaces") is None  # stopped: no process to ask
    assert "ip=10.0.0.31/24" in api.get("/nodes/pve1/lxc/200/config")["net0"]


def test_container_interfaces_on_pve8(make_sim: MakeSim) -> None:
    api = Api(make_sim(lab("8.2.4")))
    for entry in api.get("/nodes/pve1/lxc/200/interfaces"):
        assert set(entry) <= {"name", "hwaddr", "inet", "inet6"}
