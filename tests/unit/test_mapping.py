"""PVE JSON -> domain: every real body from PVE 5 to 9 maps without error or invention."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tests.conftest import SHARED_PVE

from argus_tui.domain.models import Guest, Privileges
from argus_tui.domain.permissions import allowed_actions, valid_actions
from argus_tui.pve.mapping import (
    as_bool,
    cluster_from,
    guest_from,
    privileges_from,
    resources_from,
    split_tags,
    task_from,
)

RESPONSES = SHARED_PVE / "responses"


def real(name: str) -> Any:
    path = RESPONSES / name
    if not path.exists():
        pytest.skip(f"reference response {name} not available")
    return json.loads(path.read_text())["data"]


def real_files(prefix: str) -> list[Path]:
    if not RESPONSES.exists():
        return []
    return sorted(RESPONSES.glob(f"{prefix}*.json"))


def test_tolerant_scalars() -> None:
    assert [as_bool(v) for v in (1, 0, "", "1", True, None, "0")] == [
        True,
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert split_tags("a;b") == ("a", "b")
    assert split_tags("one, two, three") == ("one", "two", "three")
    assert split_tags("") == () and split_tags(None) == ()


@pytest.mark.parametrize("path", real_files("cluster-resources"), ids=lambda p: p.name)
def test_cluster_resources_map(path: Path) -> None:
    items = json.loads(path.read_text())["data"]
    found = resources_from(items)
    nodes, guests, problems = found.nodes, found.guests, found.problems
    assert problems == []
    assert len(guests) == sum(1 for i in items if i["type"] in ("qemu", "lxc"))
    assert len(nodes) == sum(1 for i in items if i["type"] == "node")
    for item, guest in zip((i for i in items if i["type"] in ("qemu", "lxc")), guests, strict=True):
        assert guest.vmid == int(item["vmid"])
        assert guest.name == (item.get("name") or None)
        assert guest.template == bool(int(item.get("template") or 0))
        assert guest.cpu == item.get("cpu")  # never invented
        if "tags" not in item:
            assert guest.tags == ()


def test_template_and_tags_variants() -> None:
    items = real("cluster-resources.go-proxmox-pve7x.json")
    guests = resources_from(items).guests
    assert any(g.template for g in guests)
    assert any(g.tags for g in guests)


@pytest.mark.parametrize(
    "name",
    ["nodes-qemu-list.baonq-pyproxmox.json", "nodes-qemu-list.community-proxmox-vm-info.json"],
)
def test_node_qemu_lists(name: str) -> None:
    for item in real(name):
        guest = guest_from({**item, "type": "qemu"}, node="pve")
        assert guest.vmid == int(item["vmid"])
        assert guest.template == as_bool(item.get("template"))


def test_lxc_list_with_string_vmid() -> None:
    items = real("nodes-lxc-list.community-proxmox-vm-info.json")
    assert any(isinstance(i["vmid"], str) for i in items)
    guests = [guest_from(i, node="n") for i in items]
    assert all(isinstance(g.vmid, int) for g in guests)
    assert any(g.name is None for g in guests) or all(g.name for g in guests)


@pytest.mark.parametrize(
    "name",
    [
        "qemu-status-current-running.go-proxmox-pve7x.json",
        "qemu-status-current-paused.community-proxmox-inventory.json",
        "qemu-status-current-prelaunch.community-proxmox-inventory.json",
        "qemu-status-current-stopped.baonq-pyproxmox.json",
    ],
)
def test_qemu_status_current(name: str) -> None:
    data = real(name)
    guest = guest_from({**data, "type": "qemu", "vmid": data.get("vmid", 100)}, node="n")
    if data.get("qmpstatus") == "paused" and data["status"] == "running":
        assert guest.status == "paused"
    else:
        assert guest.status == data["status"]


def test_offline_node_and_guest_without_stats() -> None:
    found = resources_from(
        [
            {"id": "node/pve-c", "type": "node", "node": "pve-c", "status": "offline"},
            {
                "id": "qemu/105",
                "type": "qemu",
                "vmid": 105,
                "node": "pve-c",
                "status": "unknown",
                "tags": "batch",
            },
        ]
    )
    nodes, guests, problems = found.nodes, found.guests, found.problems
    assert problems == []
    assert nodes[0].cpu is None and nodes[0].maxmem is None and not nodes[0].online
    assert guests[0].name is None and guests[0].label == "VM 105" and guests[0].mem is None


def test_malformed_entries_are_skipped_and_reported() -> None:
    found = resources_from(
        [
            {"type": "qemu", "vmid": "abc", "node": "n"},
            "not an object",
            {"type": "lxc", "vmid": 200},  # no node
            {"type": "storage", "id": "storage/n/local"},
            {"type": "qemu", "vmid": 101, "node": "n", "status": "running", "extra": [1]},
        ]
    )
    nodes, guests, problems = found.nodes, found.guests, found.problems
    assert [g.vmid for g in guests] == [101]
    assert len(problems) == 3 and nodes == []


@pytest.mark.parametrize(
    "name",
    [
        "nodes-tasks.community-proxmox-tasks-info.json",
        "nodes-tasks-with-total.baonq-pyproxmox.json",
        "nodes-tasks-vzdump.home-assistant-core.json",
    ],
)
def test_task_lists(name: str) -> None:
    for item in real(name):
        task = task_from(item)
        assert task.upid == item["upid"]
        if item.get("status") not in (None, "OK", "RUNNING") and not str(
            item.get("status")
        ).startswith("WARNINGS"):
            assert task.failed, item


def test_task_status_variants() -> None:
    ok = task_from(real("task-status-stopped-ok.proxmoxer-tests.json"))
    assert not ok.running and not ok.failed
    killed = task_from(real("task-status-stopped-interrupted.proxmoxer-tests.json"))
    assert killed.failed and killed.status == "interrupted by signal"
    running = task_from(
        {"upid": "UPID:n:00000001:00000002:68D7279C:qmstart:100:a@pve!t:", "status": "running"}
    )
    assert running.running and running.user == "a@pve!t"


def test_cluster_status_shapes() -> None:
    clustered = cluster_from(real("cluster-status.go-proxmox-pve7x.json"), {"version": "7.4-16"})
    assert clustered.name and clustered.quorate is True and not clustered.standalone
    standalone = cluster_from(real("cluster-status-standalone.baonq-pyproxmox.json"), None)
    assert standalone.standalone and standalone.name is None and standalone.version is None
    unknown = cluster_from(None, {"version": "9.1.2"})
    assert unknown.quorate is None and unknown.version == "9.1.2"


def test_permissions_root_example() -> None:
    privileges = privileges_from(real("access-permissions-root.go-proxmox-pve7x.json"))
    assert "VM.PowerMgmt" in privileges.on_guest(100)


def test_allowed_actions_follow_state_and_privilege() -> None:
    power = Privileges({"/vms": {"VM.PowerMgmt": True, "VM.Audit": True}})
    audit = Privileges({"/vms": {"VM.Audit": True}})
    no_propagate = Privileges({"/vms": {"VM.PowerMgmt": False, "VM.Audit": False}})
    running_vm = Guest(vmid=100, type="qemu", node="n", status="running")
    running_ct = Guest(vmid=200, type="lxc", node="n", status="running")
    assert allowed_actions(running_vm, power) == (
        "shutdown",
        "stop",
        "reboot",
        "reset",
        "suspend",
        "hibernate",
    )
    ha_vm = Guest(vmid=101, type="qemu", node="n", status="running", hastate="started")
    assert "hibernate" not in valid_actions(ha_vm)  # PVE refuses to suspend HA VMs to disk
    assert "hibernate" not in valid_actions(running_ct)
    assert "reset" not in valid_actions(running_ct)
    assert allowed_actions(running_vm, audit) == ()
    assert allowed_actions(running_vm, no_propagate) == ()
    assert valid_actions(Guest(vmid=1, type="qemu", node="n", status="stopped")) == ("start",)
    assert valid_actions(Guest(vmid=1, type="qemu", node="n", status="paused")) == (
        "stop",
        "resume",
    )
    assert (
        valid_actions(Guest(vmid=1, type="qemu", node="n", status="stopped", template=True)) == ()
    )
    assert valid_actions(Guest(vmid=1, type="qemu", node="n", status="unknown")) == ()
    exact = Privileges({"/vms": {"VM.PowerMgmt": True}, "/vms/100": {"VM.Audit": False}})
    assert allowed_actions(running_vm, exact) == ()  # a deeper ACL replaced the grant


def test_locked_guests_take_no_power_action_except_a_hibernated_vm_start() -> None:
    from argus_tui.domain.models import Guest
    from argus_tui.domain.permissions import valid_actions

    running = Guest(vmid=104, type="qemu", node="pve-b", status="running", name="erp")
    assert valid_actions(running) == (
        "shutdown",
        "stop",
        "reboot",
        "reset",
        "suspend",
        "hibernate",
    )
    assert valid_actions(msgspec.structs.replace(running, lock="backup")) == ()
    hibernated = msgspec.structs.replace(running, status="stopped", lock="suspended")
    assert valid_actions(hibernated) == ("start",)
    ct = msgspec.structs.replace(running, type="lxc", lock="mounted", status="stopped")
    assert valid_actions(ct) == ()


def test_refresh_backoff_doubles_up_to_half_a_minute() -> None:
    from argus_tui.services.session import Backoff

    backoff = Backoff(interval=5.0)
    delays = []
    for _ in range(6):
        backoff.failure()
        delays.append(backoff.next_delay())
    assert delays == [10.0, 20.0, 30.0, 30.0, 30.0, 30.0]
    backoff.success()
    assert backoff.next_delay() == 5.0
