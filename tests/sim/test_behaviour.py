"""The simulator behaves as PVE does: tasks, power actions, offline nodes, faults, clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from proxmoxer import ResourceException
from tests.conftest import ca_file_for, client_for

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.scenario import FaultRule, Faults
from argus_tui.sim.server import Simulator


def raw(sim: Simulator, path: str, method: str = "GET", **params: Any) -> requests.Response:
    """One request with the demo token, no client library in between."""
    return requests.request(
        method,
        f"{sim.api_url}{path}",
        params=params if method == "GET" else None,
        data=params if method != "GET" else None,
        headers={"Authorization": f"PVEAPIToken={sim.token_id}={sim.token_secret}"},
        verify=ca_file_for(sim),
        timeout=5,
    )


def finish(sim: Simulator, pve: Any, node: str, upid: str, step: float = 5.0) -> dict[str, Any]:
    """Advance the simulated clock until the task has stopped; return its status."""
    for _ in range(20):
        status: dict[str, Any] = pve.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        sim.advance(step)
    raise AssertionError(f"task {upid} never finished")


def guest_status(pve: Any, vmid: int) -> str:
    entry = next(r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == vmid)
    return str(entry["status"])


# -- power actions and tasks ------------------------------------------------------------


def test_start_runs_a_task_that_changes_the_guest(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-b").qemu(110).status.start.post()
    parsed = UPID.parse(upid)
    assert (parsed.node, parsed.type, parsed.id, parsed.user) == (
        "pve-b",
        "qmstart",
        "110",
        "argus@pve!demo",
    )
    running = pve.nodes("pve-b").tasks(upid).status.get()
    assert running["status"] == "running" and "exitstatus" not in running
    assert guest_status(pve, 110) == "stopped"
    status = finish(sim, pve, "pve-b", upid)
    assert status["exitstatus"] == "OK"
    assert status["user"] == "argus@pve" and status["tokenid"] == "demo"
    assert guest_status(pve, 110) == "running"
    log = [line["t"] for line in pve.nodes("pve-b").tasks(upid).log.get()]
    assert log[-1] == "TASK OK"


@pytest.mark.parametrize(
    ("node", "kind", "vmid", "action", "error"),
    [
        ("pve-c", "qemu", 105, "start", "start failed: QEMU exited with code 1"),  # scripted
        ("pve-b", "qemu", 104, "shutdown", "VM is locked (backup)"),
        ("pve-a", "qemu", 9000, "start", "you can't start a vm if it's a template"),
        ("pve-a", "qemu", 101, "start", "VM 101 already running"),
        ("pve-a", "lxc", 207, "stop", "CT 207 not running"),
    ],
)
def test_failing_tasks_end_with_pve_error(
    sim: Simulator, pve: Any, node: str, kind: str, vmid: int, action: str, error: str
) -> None:
    before = guest_status(pve, vmid)
    upid = getattr(pve.nodes(node), kind)(vmid).status(action).post()
    status = finish(sim, pve, node, upid)
    assert status["exitstatus"] == error
    log = [line["t"] for line in pve.nodes(node).tasks(upid).log.get()]
    assert log[-1] == f"TASK ERROR: {error}"
    assert guest_status(pve, vmid) == before
    failed = pve.nodes(node).tasks.get(errors=1, limit=5)
    assert failed[0]["upid"] == upid and failed[0]["status"] == error


def test_refusals_before_a_task(pve: Any) -> None:
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-b").qemu(110).status.reboot.post()
    assert err.value.status_code == 500 and err.value.content == "VM 110 not running"
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-a").qemu(999).status.start.post()
    assert (
        err.value.content == "Configuration file 'nodes/pve-a/qemu-server/999.conf' does not exist"
    )
    with pytest.raises(ResourceException) as err:  # right vmid, wrong node
        pve.nodes("pve-a").lxc(201).status.start.post()
    assert err.value.content == "Configuration file 'nodes/pve-a/lxc/201.conf' does not exist"
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-c").qemu(109).status.shutdown.post()
    assert err.value.content == "VM is paused - cannot shutdown"


def test_suspend_and_resume(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-c").qemu(109).status.resume.post()
    assert UPID.parse(upid).type == "qmresume"
    finish(sim, pve, "pve-c", upid)
    assert guest_status(pve, 109) == "running"
    current = pve.nodes("pve-c").qemu(109).status.current.get()
    assert (current["status"], current["qmpstatus"]) == ("running", "running")
    upid = pve.nodes("pve-c").qemu(109).status.suspend.post()
    assert UPID.parse(upid).type == "qmpause"
    finish(sim, pve, "pve-c", upid)
    current = pve.nodes("pve-c").qemu(109).status.current.get()
    assert (current["status"], current["qmpstatus"]) == ("running", "paused")


def test_ha_managed_guest_goes_through_the_ha_manager(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").qemu(100).status.shutdown.post()
    assert UPID.parse(upid).type == "hastop"
    assert finish(sim, pve, "pve-a", upid, step=1)["exitstatus"] == "OK"
    sim.advance(30)
    tasks = pve.nodes("pve-a").tasks.get(vmid=100, limit=5)
    lrm = next(t for t in tasks if t["type"] == "qmshutdown")
    assert lrm["user"] == "root@pam" and lrm["status"] == "OK"
    entry = next(r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == 100)
    assert (entry["status"], entry["hastate"]) == ("stopped", "stopped")
    assert pve.nodes("pve-a").qemu(100).status.current.get()["ha"]["managed"] == 1


def test_running_task_log_grows_and_can_be_stopped(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").qemu(106).status.shutdown.post()
    assert pve.nodes("pve-a").tasks.get(source="active")[0]["upid"] == upid
    assert upid not in [t["upid"] for t in pve.nodes("pve-a").tasks.get()]  # archive only
    sim.advance(1)
    first = pve.nodes("pve-a").tasks(upid).log.get()
    assert first and first[-1]["t"].startswith("requesting shutdown")
    pve.nodes("pve-a").tasks(upid).delete()
    status = pve.nodes("pve-a").tasks(upid).status.get()
    assert status["exitstatus"] == "received interrupt"  # fork_worker's own signal handler
    assert guest_status(pve, 106) == "running"


def test_task_log_paging_reports_total(sim: Simulator) -> None:
    tasks = raw(sim, "/nodes/pve-b/tasks", typefilter="aptupdate").json()
    upid = tasks["data"][0]["upid"]
    page = raw(sim, f"/nodes/pve-b/tasks/{upid}/log", start=1, limit=2).json()
    assert page["total"] == 4
    assert [line["n"] for line in page["data"]] == [2, 3]
    everything = raw(sim, f"/nodes/pve-b/tasks/{upid}/log", limit=0).json()
    assert len(everything["data"]) == 4 and everything["data"][-1]["t"] == "TASK OK"


def test_node_task_filters(sim: Simulator) -> None:
    listing = raw(sim, "/nodes/pve-a/tasks", limit=1).json()
    assert len(listing["data"]) == 1 and listing["total"] >= 3
    errors = raw(sim, "/nodes/pve-c/tasks", statusfilter="error").json()["data"]
    assert [t["type"] for t in errors] == ["qmstart"]
    by_vmid = raw(sim, "/nodes/pve-a/tasks", vmid=207).json()["data"]
    assert {t["type"] for t in by_vmid} == {"vzstart", "vzstop"}
    assert raw(sim, "/nodes/pve-a/tasks", userfilter="ARGUS").json()["data"] == []


# -- metrics and clock ------------------------------------------------------------------


def test_metrics_are_deterministic_per_seed(make_sim: Callable[..., Simulator]) -> None:
    a, b = make_sim(), make_sim()
    data = demo_data()
    data["cluster"]["seed"] = 99
    c = make_sim(data)

    def cpu(sim: Simulator) -> list[float]:
        return [r.get("cpu", 0.0) for r in client_for(sim).cluster.resources.get(type="vm")]

    assert cpu(a) == cpu(b)
    assert cpu(a) != cpu(c)
    a.advance(600)
    assert cpu(a) != cpu(b)


@pytest.mark.parametrize(
    ("timeframe", "rows", "step"),
    [("hour", 60, 60), ("day", 1440, 60), ("week", 336, 1800), ("year", 1440, 21600)],
)
def test_rrddata_resolutions(pve: Any, timeframe: str, rows: int, step: int) -> None:
    data = pve.nodes("pve-a").rrddata.get(timeframe=timeframe)
    assert len(data) == rows
    assert data[1]["time"] - data[0]["time"] == step
    assert {"cpu", "memused", "netin", "pressurecpusome"} <= set(data[-1])
    avg = pve.nodes("pve-a").qemu(102).rrddata.get(timeframe=timeframe)
    peak = pve.nodes("pve-a").qemu(102).rrddata.get(timeframe=timeframe, cf="MAX")
    assert all(p["cpu"] >= a["cpu"] for a, p in zip(avg, peak, strict=True) if "cpu" in a)


def test_stopped_guest_rrd_has_only_capacity_fields(pve: Any) -> None:
    rows = pve.nodes("pve-a").qemu(9000).rrddata.get(timeframe="hour")
    assert set(rows[-1]) == {"time", "maxcpu", "maxmem", "maxdisk", "disk"}


# -- offline node -------------------------------------------------------------------------


def test_offline_node_looks_as_pve_shows_it(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["node"][2]["status"] = "offline"
    sim = make_sim(data)
    pve = client_for(sim)
    node = next(r for r in pve.cluster.resources.get(type="node") if r["node"] == "pve-c")
    assert node == {"id": "node/pve-c", "type": "node", "node": "pve-c", "status": "offline"}
    guest = next(r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == 105)
    assert guest["status"] == "unknown" and "name" not in guest and "cpu" not in guest
    assert guest["tags"] == "batch" and guest["node"] == "pve-c"
    status = {e["name"]: e["online"] for e in pve.cluster.status.get() if e["type"] == "node"}
    assert status == {"pve-a": 1, "pve-b": 1, "pve-c": 0}
    response = raw(sim, "/nodes/pve-c/status")
    assert (response.status_code, response.reason, response.content) == (
        595,
        "No route to host",
        b"",
    )
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-c").qemu(105).status.start.post()
    assert err.value.status_code == 595
    assert pve.nodes("pve-c").rrddata.get(timeframe="hour")  # served locally, old data


# -- faults ---------------------------------------------------------------------------------


def test_fault_injection(sim: Simulator) -> None:
    sim.set_faults(Faults(rules=[FaultRule(path="/cluster/resources", html_error=True)]))
    response = raw(sim, "/cluster/resources")
    assert response.status_code == 502 and response.headers["Content-Type"] == "text/html"
    assert raw(sim, "/version").status_code == 200  # other paths unaffected

    sim.set_faults(Faults(rules=[FaultRule(error_rate=1.0, error_status=500)]))
    response = raw(sim, "/version")
    assert response.status_code == 500 and "fault injection" in response.json()["message"]

    for rule in (FaultRule(malformed_json=True), FaultRule(truncated_json=True)):
        sim.set_faults(Faults(rules=[rule]))
        response = raw(sim, "/cluster/resources")
        assert response.status_code == 200
        with pytest.raises(ValueError):
            response.json()

    sim.set_faults(Faults(rules=[FaultRule(path="/nodes", hang=True)]))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{sim.api_url}/nodes",
            headers={"Authorization": f"PVEAPIToken={sim.token_id}={sim.token_secret}"},
            verify=ca_file_for(sim),
            timeout=0.5,
        )
    sim.set_faults(Faults())
    assert raw(sim, "/nodes").status_code == 200


def test_scenario_faults_table(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["faults"] = {"rule": [{"path": "/version", "error_rate": 1.0, "error_status": 503}]}
    sim = make_sim(data)
    assert raw(sim, "/version").status_code == 503
    assert raw(sim, "/nodes").status_code == 200


def test_auth_failures(sim: Simulator) -> None:
    bad = requests.get(
        f"{sim.api_url}/version",
        headers={"Authorization": f"PVEAPIToken={sim.token_id}=wrong"},
        verify=ca_file_for(sim),
        timeout=5,
    )
    assert (bad.status_code, bad.reason, bad.content) == (401, "Authentication failed!", b"")
    none = requests.get(f"{sim.api_url}/version", verify=ca_file_for(sim), timeout=5)
    assert (none.status_code, none.reason) == (401, "No ticket")
    spaced = requests.get(
        f"{sim.api_url}/version",
        headers={"Authorization": f"PVEAPIToken {sim.token_id}={sim.token_secret}"},
        verify=ca_file_for(sim),
        timeout=5,
    )
    assert spaced.status_code == 200


# -- requests PVE answers in its own way ------------------------------------------------------


def test_localhost_is_the_node_that_answers(sim: Simulator) -> None:
    response = raw(sim, "/nodes/localhost/status")
    assert response.status_code == 200
    assert response.json()["data"]["uptime"] > 0


def test_pve8_has_no_decade_of_rrddata(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["cluster"]["version"] = "8.2.4"
    sim = make_sim(data)
    response = raw(sim, "/nodes/pve-a/rrddata", timeframe="decade")
    assert response.status_code == 400
    assert "timeframe" in response.json()["errors"]
    assert raw(sim, "/nodes/pve-a/rrddata", timeframe="year").status_code == 200
