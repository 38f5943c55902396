"""The guest keys of migration and addresses: agent, ips, local_resources, local_disks,
onboot, fail.agent; their defaults, the config they write, every mistake named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.sim.sim_api import Api

from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.scenario import ScenarioError, scenario_from_dict
from argus_tui.sim.server import Simulator


def base() -> dict[str, Any]:
    return {
        "cluster": {"name": "lab", "seed": 1},
        "node": [{"name": "pve1"}, {"name": "pve2"}],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1"},
            {"vmid": 200, "type": "lxc", "node": "pve2"},
        ],
    }


def test_defaults_and_values() -> None:
    data = base()
    data["guest"][0].update(
        agent=True,
        ips=["10.0.0.21/24", "fd00::21/64"],
        local_resources=["usb0", "hostpci1"],
        onboot=True,
        fail={"agent": "QEMU guest agent is not running"},
    )
    qemu, lxc = scenario_from_dict(data).guests
    assert (qemu.agent, qemu.ips, qemu.local_resources, qemu.onboot) == (
        True,
        ["10.0.0.21/24", "fd00::21/64"],
        ["usb0", "hostpci1"],
        True,
    )
    assert (lxc.agent, lxc.ips, lxc.local_resources, lxc.onboot) == (False, [], [], False)


def test_local_disks_with_storage_tables() -> None:
    data = base()
    data["storage"] = [
        {"id": "san", "type": "lvm", "content": ["images", "rootdir"], "shared": True},
        {"id": "thin", "type": "lvmthin", "content": ["images", "rootdir"]},
    ]
    data["guest"][0]["local_disks"] = True
    data["guest"][1]["local_disks"] = False
    qemu, lxc = scenario_from_dict(data).guests
    assert (qemu.disk_storage, lxc.disk_storage) == ("thin", "san")
    del data["guest"][0]["local_disks"]
    assert scenario_from_dict(data).guests[0].disk_storage == "san"  # the first one


@pytest.mark.parametrize(
    ("guest", "message"),
    [
        ({"vmid": 300, "type": "lxc", "node": "pve1", "agent": True}, "agent is for qemu"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "agent": "yes"}, "'agent' must be bool"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "ips": ["10.0.0.300/24"]},
         "ips: '10.0.0.300/24' is not an address"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "ips": ["10.0.0.3"]}, "needs a prefix"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "ips": "10.0.0.3/24"},
         "'ips' must be list"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "local_resources": ["gpu0"]},
         "'gpu0' is not a local device"),
        ({"vmid": 300, "type": "lxc", "node": "pve1", "local_resources": ["usb0"]},
         "local_resources is for qemu"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "local_disks": "yes"},
         "'local_disks' must be bool"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "local_disks": True,
          "disk_storage": "ceph-vm"}, "local_disks = true but disk_storage 'ceph-vm' is shared"),
        ({"vmid": 300, "type": "qemu", "node": "pve1", "onboot": 1}, "'onboot' must be bool"),
        ({"vmid": 300, "type": "lxc", "node": "pve1", "fail": {"agent": "x"}},
         "fail.agent is not a lxc power action"),
    ],
)  # fmt: skip
def test_mistakes_are_named(guest: dict[str, Any], message: str) -> None:
    data = base()
    data["guest"].append(guest)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert "[[guest]] #3" in str(err.value) and message in str(err.value)


def test_the_demo_has_agents_addresses_a_usb_device_and_onboot_guests() -> None:
    guests = {g.vmid: g for g in demo_scenario().guests}
    vms = [g for g in guests.values() if g.type == "qemu" and not g.template]
    assert sum(g.agent for g in vms) >= len(vms) - 2
    assert all(g.ips for g in guests.values() if g.type == "lxc")
    assert guests[109].local_resources == ["usb0"]
    assert sum(g.onboot for g in guests.values()) >= 5
    assert "agent" in guests[108].fail


def test_the_config_shows_them(make_sim: Callable[..., Simulator]) -> None:
    data = base()
    data["guest"][0].update(agent=True, onboot=True, local_resources=["usb0", "serial0"])
    api = Api(make_sim(data))
    config = api.get("/nodes/pve1/qemu/100/config")
    assert (config["agent"], config["onboot"]) == ("1", 1)
    assert (config["usb0"], config["serial0"]) == ("host=0529:0001", "/dev/ttyS0")
    assert api.get("/nodes/pve1/qemu/100/status/current")["agent"] == 1
    lxc = api.get("/nodes/pve2/lxc/200/config")
    assert "onboot" not in lxc and lxc["rootfs"].startswith("ceph-vm:vm-200-disk-0")


# -- consoles: `serial` and `[cluster] console_tokens` ----------------------------------


def test_serial_gives_the_vm_a_serial_socket(make_sim: Callable[..., Simulator]) -> None:
    data = base()
    data["guest"][0]["serial"] = True
    data["guest"].append(
        {
            "vmid": 101,
            "type": "qemu",
            "node": "pve1",
            "serial": True,
            "local_resources": ["serial0"],
        }
    )
    data["guest"].append({"vmid": 102, "type": "qemu", "node": "pve1"})
    sc = scenario_from_dict(data)
    assert [g.serial for g in sc.guests] == ["serial0", "", "serial1", ""]
    assert sc.console_tokens is True
    api = Api(make_sim(data))
    assert api.get("/nodes/pve1/qemu/100/config")["serial0"] == "socket"
    both = api.get("/nodes/pve1/qemu/101/config")
    assert (both["serial0"], both["serial1"]) == ("/dev/ttyS0", "socket")
    assert not any(k.startswith("serial") for k in api.get("/nodes/pve1/qemu/102/config"))


def test_console_keys_in_the_demo() -> None:
    vms = [g for g in demo_scenario().guests if g.type == "qemu"]
    running = [g for g in vms if g.status == "running"]
    assert sum(bool(g.serial) for g in running) >= 3
    assert any(not g.serial for g in running)  # a VM whose console has no serial port


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"guest": 1, "serial": True},
            "[[guest]] #2: serial is for qemu guests (containers have a console)",
        ),
        ({"guest": 0, "serial": "yes"}, "[[guest]] #1: 'serial' must be bool, got 'yes'"),
        (
            {
                "guest": 0,
                "serial": True,
                "local_resources": ["serial0", "serial1", "serial2", "serial3"],
            },
            "[[guest]] #1: serial = true needs a free port, but local_resources makes"
            " serial0 to serial3 all host devices",
        ),
        ({"cluster": {"console_tokens": 0}}, "[cluster]: 'console_tokens' must be bool, got 0"),
    ],
)
def test_console_key_mistakes(change: dict[str, Any], message: str) -> None:
    data = base()
    if "cluster" in change:
        data["cluster"].update(change["cluster"])
    else:
        index = change.pop("guest")
        data["guest"][index].update(change)
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    assert str(caught.value) == message
    data = base()
    data["cluster"]["console_tokens"] = False
    assert scenario_from_dict(data).console_tokens is False
