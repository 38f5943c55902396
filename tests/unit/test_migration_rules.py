"""Migration modes, targets and the evacuation plan: never overcommit a target's memory."""

from __future__ import annotations

from argus_tui.domain.migration import Precondition, mode_for, plan_evacuation, targets_for
from argus_tui.domain.models import Guest, Node, Privileges
from argus_tui.domain.operations import task_stop_denial
from argus_tui.pve.ops_mapping import addresses_from, precondition_from

G = 1024**3
MIGRATE = Privileges({"/vms": {"VM.Migrate": True, "VM.Audit": True}})


def node(name: str, used: int, total: int = 64, online: bool = True) -> Node:
    return Node(name, "online" if online else "offline", mem=used * G, maxmem=total * G)


def guest(vmid: int, mem: int, *, on: str = "a", status: str = "running", **kw: object) -> Guest:
    return Guest(vmid=vmid, type="qemu", node=on, status=status, maxmem=mem * G, **kw)  # type: ignore[arg-type]


def test_modes() -> None:
    assert mode_for(guest(1, 1)) == "online"
    assert mode_for(Guest(vmid=2, type="lxc", node="a", status="running")) == "restart"
    assert mode_for(guest(3, 1, status="stopped")) == "offline"


def test_the_plan_never_overcommits_a_target() -> None:
    nodes = [node("a", 60), node("b", 40), node("c", 56), node("d", 0, online=False)]
    guests = [guest(101, 16), guest(102, 10), guest(103, 8), guest(104, 30), guest(105, 4)]
    plan = plan_evacuation("a", nodes, guests, MIGRATE)
    placed: dict[str, int] = {}
    for move in plan.moves:
        placed[move.to] = placed.get(move.to, 0) + (move.guest.maxmem or 0)
        assert move.mode == "online" and move.to in ("b", "c")
    assert placed.get("b", 0) <= 24 * G and placed.get("c", 0) <= 8 * G
    skipped = {s.guest.vmid: s.reason for s in plan.skipped}
    assert 104 in skipped and "overcommit" in skipped[104]  # 30G fits nowhere
    assert {m.guest.vmid for m in plan.moves} | set(skipped) == {101, 102, 103, 104, 105}


def test_skips_say_why() -> None:
    nodes = [node("a", 10), node("b", 0)]
    guests = [
        guest(1, 1, lock="backup"),
        guest(2, 1, status="stopped"),
        guest(3, 1, template=True, status="stopped"),
        guest(4, 1),
        guest(5, 1),
    ]
    no5 = Privileges({"/vms": {"VM.Migrate": True}, "/vms/5": {"VM.Audit": True}})
    usb = {4: Precondition(local_resources=("usb0",))}
    plan = plan_evacuation("a", nodes, guests, no5, preconditions=usb)
    reasons = {s.guest.vmid: s.reason for s in plan.skipped}
    assert reasons[1] == "locked (backup)"
    assert "stays on a" in reasons[2] and "template" in reasons[3]
    assert "usb0" in reasons[4]
    assert reasons[5] == "needs VM.Migrate on /vms/5"
    assert plan.moves == ()
    assert plan.json()["skipped"][0] == {"vmid": 1, "name": None, "reason": "locked (backup)"}


def test_targets_follow_the_precondition_quirks() -> None:
    data = {
        "running": 1,
        "allowed_nodes": ["b"],
        "not_allowed_nodes": {"b": {}, "c": {"unavailable_storages": ["local-lvm"]}},
        "local_disks": [{"volid": "local-lvm:vm-1-disk-0", "cdrom": 0}],
        "local_resources": [],
    }
    pre = precondition_from(data)
    assert pre.running and pre.local_disks == ("local-lvm:vm-1-disk-0",)
    nodes = [node("a", 1), node("b", 1), node("c", 1), node("d", 1, online=False)]
    targets = {t.node.name: t.reason for t in targets_for(guest(1, 2), nodes, pre)}
    assert targets["b"] is None
    assert "local-lvm" in (targets["c"] or "")
    assert targets["d"] == "node is offline"
    lxc = precondition_from({"running": 0, "allowed-nodes": ["b"], "not-allowed-nodes": {}})
    assert lxc.allowed == {"b"} and lxc.blocker("b") is None


def test_who_may_stop_a_task() -> None:
    none = Privileges({})
    modify = Privileges({"/nodes": {"Sys.Modify": True}})
    token = "ops@pve!tui"
    assert task_stop_denial(token, "a", token, none) is None
    other = task_stop_denial("ops@pve!other", "a", token, none)
    assert other is not None and other.text.endswith("needs Sys.Modify on /nodes/a")
    assert task_stop_denial("ops@pve", "a", token, none) is not None  # the user's own task
    assert task_stop_denial("root@pam", "a", token, modify) is None


def test_addresses_from_agent_and_container_answers() -> None:
    agent = [
        {"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "prefix": 8}]},
        {
            "name": "eth0",
            "hardware-address": "bc:24:11:00:00:01",
            "ip-addresses": [
                {"ip-address": "10.0.0.21", "ip-address-type": "ipv4", "prefix": 24},
                {"ip-address": "fe80::1", "ip-address-type": "ipv6", "prefix": 64},
            ],
        },
        {"name": "docker0"},
        "junk",
    ]
    [addr] = addresses_from(agent)
    assert (addr.interface, addr.address, addr.family) == ("eth0", "10.0.0.21/24", "ipv4")
    ct = addresses_from(
        [{"name": "eth0", "hwaddr": "x", "inet": "10.0.0.5/24", "inet6": "fd00::5/64"}]
    )
    assert [a.address for a in ct] == ["10.0.0.5/24", "fd00::5/64"]
