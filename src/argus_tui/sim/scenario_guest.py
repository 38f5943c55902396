"""The `[[guest]]` keys of migration, addresses and consoles: agent, ips, local_resources,
onboot, serial.

Read here so scenario.py stays about the cluster's shape; `local_disks` is read with the
other storage keys in scenario_storage.py because it decides where the disks are.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from argus_tui.sim.scenario_fields import ScenarioError, get, strings

GUEST_KEYS = {"agent", "ips", "local_resources", "onboot", "serial"}
SERIAL_PORTS = ("serial0", "serial1", "serial2", "serial3")
# What qemu-server's check_local_resources counts as a device tied to its node.
_LOCAL_RESOURCE_RE = re.compile(r"^(usb|hostpci|serial|parallel|virtiofs)\d{1,2}$|^ivshmem$")


@dataclass(slots=True)
class GuestExtras:
    agent: bool = False
    ips: list[str] = field(default_factory=list)
    local_resources: list[str] = field(default_factory=list)
    onboot: bool = False
    serial: str = ""


def parse_guest_extras(item: dict[str, Any], where: str, gtype: str) -> GuestExtras:
    """The keys above of one guest; containers have neither an agent nor local devices."""
    agent = get(item, "agent", bool, where, False)
    if agent and gtype != "qemu":
        raise ScenarioError(f"{where}: agent is for qemu guests (containers need none)")
    ips = strings(item, "ips", where)
    for text in ips:
        try:
            ipaddress.ip_interface(text)
        except ValueError:
            raise ScenarioError(
                f"{where}: ips: {text!r} is not an address with a prefix like '10.0.0.21/24'"
            ) from None
        if "/" not in text:
            raise ScenarioError(f"{where}: ips: {text!r} needs a prefix, e.g. '{text}/24'")
    resources = strings(item, "local_resources", where)
    if resources and gtype != "qemu":
        raise ScenarioError(f"{where}: local_resources is for qemu guests")
    for name in resources:
        if not _LOCAL_RESOURCE_RE.match(name):
            raise ScenarioError(
                f"{where}: local_resources: {name!r} is not a local device"
                " (usbN, hostpciN, serialN, parallelN, virtiofsN, ivshmem)"
            )
    if len(set(resources)) != len(resources):
        raise ScenarioError(f"{where}: local_resources lists a device twice")
    return GuestExtras(
        agent=agent,
        ips=ips,
        local_resources=resources,
        onboot=get(item, "onboot", bool, where, False),
        serial=_serial_socket(item, where, gtype, resources),
    )


def _serial_socket(item: dict[str, Any], where: str, gtype: str, resources: list[str]) -> str:
    """`serial = true`: the VM's first serial port that is not a host device (listed in
    local_resources) becomes a socket, the serial console `qm terminal` opens."""
    if not get(item, "serial", bool, where, False):
        return ""
    if gtype != "qemu":
        raise ScenarioError(f"{where}: serial is for qemu guests (containers have a console)")
    free = [name for name in SERIAL_PORTS if name not in resources]
    if not free:
        raise ScenarioError(
            f"{where}: serial = true needs a free port, but local_resources makes"
            " serial0 to serial3 all host devices"
        )
    return free[0]
