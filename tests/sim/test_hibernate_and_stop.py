"""Hibernation (suspend to disk) and stopping a task, through the real HTTPS simulator.

The simulator authenticates API tokens only, so the cases where the caller is a plain
user (the owner of a token's task, or of its own) go through its request handler with
that user's id, as pveproxy hands it on after a ticket login.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.sim.sim_api import Api

from argus_tui.domain.upid import UPID
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimError

MakeSim = Callable[..., Simulator]
SECRET = "tok-secret"


def lab() -> dict[str, Any]:
    return {
        "cluster": {"name": "lab", "seed": 4},
        "node": [{"name": "pve1"}, {"name": "pve2"}],
        "role": [
            {"id": "PowerOnly", "privs": ["VM.Audit", "VM.PowerMgmt"]},
            {"id": "PowerDisk", "privs": ["VM.Audit", "VM.PowerMgmt", "VM.Config.Disk"]},
            {"id": "Modify", "privs": ["Sys.Modify", "Sys.Audit"]},
        ],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1", "status": "running", "memory": "8G"},
            {"vmid": 101, "type": "qemu", "node": "pve1", "status": "running", "ha": True},
            {"vmid": 102, "type": "qemu", "node": "pve1", "status": "running",
             "local_resources": ["hostpci0"]},
        ],
        "user": [{"id": "ops@pve"}, {"id": "mod@pve"}, {"id": "pw@pve"}, {"id": "pd@pve"}],
        "token": [
            {"id": "root@pam!argus", "secret": SECRET, "privsep": False},
            {"id": "ops@pve!ta", "secret": SECRET, "privsep": False},
            {"id": "ops@pve!tb", "secret": SECRET, "privsep": False},
            {"id": "mod@pve!tui", "secret": SECRET, "privsep": False},
            {"id": "pw@pve!tui", "secret": SECRET, "privsep": False},
            {"id": "pd@pve!tui", "secret": SECRET, "privsep": False},
        ],
        "acl": [
            {"path": "/nodes/pve1", "subject": "mod@pve", "role": "Modify"},
            {"path": "/vms", "subject": "pw@pve", "role": "PowerOnly"},
            {"path": "/vms", "subject": "pd@pve", "role": "PowerDisk"},
        ],
        "task": [
            {"node": "pve1", "type": "aptupdate", "user": "ops@pve!ta", "ago": 10,
             "duration": 600},
            {"node": "pve1", "type": "aptupdate", "user": "ops@pve", "ago": 10, "duration": 600},
            {"node": "pve1", "type": "aptupdate", "user": "ops@pve!ta", "ago": 100,
             "duration": 5},
        ],
    }  # fmt: skip


# -- hibernate --------------------------------------------------------------------------


def test_hibernate_then_resume_or_start(make_sim: MakeSim) -> None:
    api = Api(make_sim(lab()))
    vm = "/nodes/pve1/qemu/100"
    upid = api.post(f"{vm}/status/suspend", todisk=1)
    assert UPID.parse(upid).type == "qmsuspend"
    assert api.guest(100).get("lock") == "suspending"
    assert api.finish(upid)["exitstatus"] == "OK"
    assert api.log(upid) == ["State saved, quitting", "TASK OK"]
    current = api.get(f"{vm}/status/current")
    assert (current["status"], current["lock"]) == ("stopped", "suspended")
    config = api.get(f"{vm}/config")
    assert config["vmstate"].startswith("ceph-vm:vm-100-state-suspend-")
    assert {"runningmachine", "runningcpu"} <= set(config)
    content = api.get("/nodes/pve1/storage/ceph-vm/content", vmid=100)
    assert config["vmstate"] in {item["volid"] for item in content}
    upid = api.post(f"{vm}/status/resume")
    assert UPID.parse(upid).type == "qmresume"
    api.finish(upid)
    after = api.get(f"{vm}/status/current")
    assert after["status"] == "running" and "lock" not in after
    assert "vmstate" not in api.get(f"{vm}/config")
    api.finish(api.post(f"{vm}/status/suspend", todisk=1))
    api.finish(api.post(f"{vm}/status/start"))
    assert api.get(f"{vm}/status/current")["status"] == "running"


@pytest.mark.parametrize(
    ("token", "vmid", "status", "reason"),
    [
        ("root@pam!argus", 101, 500, "Cannot suspend HA managed VM to disk"),
        ("pw@pve!tui", 100, 403, "Permission check failed (/vms/100, VM.Config.Disk)"),
        ("pd@pve!tui", 100, 403,
         "Permission check failed (/storage/ceph-vm, Datastore.AllocateSpace)"),
        ("root@pam!argus", 102, 500,
         "cannot suspend VM to disk due to passed-through PCI device(s), which lack the"
         " possibility to save/restore their internal state"),
    ],
)  # fmt: skip
def test_hibernate_refusals(
    make_sim: MakeSim, token: str, vmid: int, status: int, reason: str
) -> None:
    api = Api(make_sim(lab()), token, SECRET)
    resp = api.call("POST", f"/nodes/pve1/qemu/{vmid}/status/suspend", todisk=1)
    assert (resp.status_code, resp.reason) == (status, reason)


# -- stopping a task --------------------------------------------------------------------


def _upids(api: Api) -> tuple[str, str, str]:
    tasks = api.tasks("pve1", userfilter="ops")
    token_task = next(t["upid"] for t in tasks if t.get("tokenid") == "ta" and "status" in t
                      and t["status"] == "RUNNING")  # fmt: skip
    user_task = next(t["upid"] for t in tasks if "tokenid" not in t)
    done = next(t["upid"] for t in tasks if t.get("status") == "OK")
    return token_task, user_task, done


def _stop_as_user(sim: Simulator, user: str, upid: str) -> Any:
    return sim.api.handle(user, "DELETE", f"/nodes/pve1/tasks/{upid}", {}).data


@pytest.mark.parametrize(
    ("who", "which", "allowed"),
    [
        ("ops@pve!ta", "token", True),  # the token that started it
        ("ops@pve", "token", True),  # its user
        ("ops@pve!tb", "token", False),  # another token of the same user
        ("mod@pve!tui", "token", True),  # Sys.Modify on the node
        ("ops@pve", "user", True),
        ("ops@pve!ta", "user", False),  # a user's task is not its tokens'
    ],
)
def test_stop_task_owner_rule(make_sim: MakeSim, who: str, which: str, allowed: bool) -> None:
    sim = make_sim(lab())
    api = Api(sim, "root@pam!argus", SECRET)
    token_task, user_task, _ = _upids(api)
    upid = token_task if which == "token" else user_task
    if "!" in who:
        resp = Api(sim, who, SECRET).call("DELETE", f"/nodes/pve1/tasks/{upid}")
        outcome = (resp.status_code, resp.reason)
    else:
        try:
            assert _stop_as_user(sim, who, upid) is None
            outcome = (200, "OK")
        except SimError as exc:
            outcome = (exc.status, exc.reason)
    if allowed:
        assert outcome == (200, "OK")
        assert api.status(upid)["exitstatus"] == "received interrupt"
    else:
        assert outcome == (403, "Permission check failed (/nodes/pve1, Sys.Modify)")
        assert api.status(upid)["status"] == "running"


def test_stop_task_unknown_and_finished(make_sim: MakeSim) -> None:
    sim = make_sim(lab())
    api = Api(sim, "ops@pve!ta", SECRET)
    token_task, _, done = _upids(Api(sim, "root@pam!argus", SECRET))
    assert api.data("DELETE", f"/nodes/pve1/tasks/{done}") is None  # already ended: null
    elsewhere = api.call("DELETE", f"/nodes/pve2/tasks/{token_task}")
    assert elsewhere.status_code == 400
    assert elsewhere.json()["errors"] == {"upid": "no such task"}
    unknown = token_task.replace(":aptupdate:", ":qmstart:")
    assert api.call("DELETE", f"/nodes/pve1/tasks/{unknown}").json()["errors"] == {
        "upid": "no such task"
    }
    garbled = api.call("DELETE", "/nodes/pve1/tasks/UPID:nonsense")
    assert garbled.json()["errors"] == {"upid": "unable to parse worker upid"}
