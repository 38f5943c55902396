"""Guest addresses: the QEMU guest agent's answers and a container's interfaces.

A VM with `agent = true` that runs answers qemu-server's agent commands with QGA's
return values: `network-get-interfaces` lists `lo` and the NIC of its `net0` (the MAC
of its config, the scenario's `ips` plus the IPv6 link-local address derived from the
MAC, counters from its traffic), `get-osinfo`, `get-host-name`, `info` and `ping`.
The agent answers only once the guest OS has booted (`AGENT_BOOT` seconds after the
start), never while the VM is paused, and not at all when the scenario's
`fail.agent` gives the error to answer instead. Containers need no agent: their
interfaces come from the host (`ip --json a` in the container's network namespace).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest
from argus_tui.sim.state import ClusterState, SimError

AGENT_BOOT = 15.0  # seconds from a VM's start until its agent answers
_LOOPBACK = [("127.0.0.1", 8), ("::1", 128)]


def guest_mac(seed: int, vmid: int) -> str:
    """The MAC of the guest's net0, in PVE's `BC:24:11` range (as its config writes it)."""
    tail = ":".join(f"{int(unit(seed, str(vmid), f'mac{i}') * 256):02X}" for i in range(3))
    return f"BC:24:11:{tail}"


def link_local(mac: str) -> str:
    """The EUI-64 IPv6 link-local address a NIC with this MAC gives itself."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    words = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return str(ipaddress.IPv6Address("fe80::" + ":".join(words)))


def check_agent(state: ClusterState, guest: Guest) -> None:
    """qemu-server's assert_agent_available, in its order (each a 500)."""
    if not guest.agent:
        raise SimError(500, "No QEMU guest agent configured")
    if not guest.running:
        raise SimError(500, f"VM {guest.vmid} is not running")
    if "agent" in guest.fail:
        raise SimError(500, guest.fail["agent"])
    # the OS booted at the guest's last start (a live migration does not reboot it)
    booted = next((when for when, running in reversed(guest.history) if running), None)
    booting = booted is not None and state.now() - booted < AGENT_BOOT
    if booting or guest.status == "paused":
        raise SimError(500, "QEMU guest agent is not running")


def _windows(guest: Guest) -> bool:
    return "windows" in guest.tags


def network_interfaces(state: ClusterState, guest: Guest) -> list[dict[str, Any]]:
    """guest-network-get-interfaces: loopback, then the NIC with its addresses."""
    counters = state.usage.guest_counters(guest, state.now())
    mac = guest_mac(state.seed, guest.vmid).lower()
    nic_addresses = [*guest.ips, f"{link_local(mac)}/64"]
    lo_bytes = 1000 + int(unit(state.seed, guest.key, "lo") * 10_000_000)
    lo_name, nic = (
        ("Loopback Pseudo-Interface 1", "Ethernet") if _windows(guest) else ("lo", "ens18")
    )
    return [
        {
            "name": lo_name,
            "hardware-address": "00:00:00:00:00:00",
            "ip-addresses": [_qga_address(f"{a}/{p}") for a, p in _LOOPBACK],
            "statistics": _statistics(lo_bytes, lo_bytes),
        },
        {
            "name": nic,
            "hardware-address": mac,
            "ip-addresses": [_qga_address(text) for text in nic_addresses],
            "statistics": _statistics(counters["netin"], counters["netout"]),
        },
    ]


def _qga_address(text: str) -> dict[str, Any]:
    iface = ipaddress.ip_interface(text)
    return {
        "ip-address": str(iface.ip),
        "ip-address-type": f"ipv{iface.version}",
        "prefix": iface.network.prefixlen,
    }


def _statistics(rx: int, tx: int) -> dict[str, int]:
    return {
        "rx-bytes": rx,
        "rx-packets": rx // 900,
        "rx-errs": 0,
        "rx-dropped": rx // 9_000_000,
        "tx-bytes": tx,
        "tx-packets": tx // 900,
        "tx-errs": 0,
        "tx-dropped": 0,
    }


def osinfo(guest: Guest) -> dict[str, Any]:
    """guest-get-osinfo: Debian, or Windows Server for guests tagged `windows`."""
    if _windows(guest):
        return {
            "id": "mswindows",
            "kernel-release": "20348",
            "kernel-version": "10.0",
            "machine": "x86_64",
            "name": "Microsoft Windows",
            "pretty-name": "Windows Server 2022 Standard",
            "variant": "server",
            "variant-id": "server",
            "version": "Microsoft Windows Server 2022",
            "version-id": "2022",
        }
    return {
        "id": "debian",
        "kernel-release": "6.12.57+deb13-amd64",
        "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.12.57-1 (2025-11-05)",
        "machine": "x86_64",
        "name": "Debian GNU/Linux",
        "pretty-name": "Debian GNU/Linux 13 (trixie)",
        "version": "13 (trixie)",
        "version-id": "13",
    }


def agent_info() -> dict[str, Any]:
    """guest-info: the agent's version and the commands it supports (QGA's booleans)."""
    names = (
        "guest-ping",
        "guest-info",
        "guest-get-host-name",
        "guest-get-osinfo",
        "guest-network-get-interfaces",
        "guest-get-fsinfo",
        "guest-exec",
        "guest-exec-status",
        "guest-shutdown",
        "guest-fsfreeze-freeze",
        "guest-fsfreeze-thaw",
        "guest-fstrim",
    )
    commands = [
        {"enabled": True, "name": n, "success-response": n != "guest-shutdown"} for n in names
    ]
    return {"version": "9.2.0", "supported_commands": commands}


def lxc_interfaces(state: ClusterState, guest: Guest) -> list[dict[str, Any]] | None:
    """`GET .../lxc/{vmid}/interfaces`: None (JSON null) when the container is stopped.

    Each interface carries `name`, `hwaddr` and the last address of each family as
    `inet`/`inet6`; PVE 9 adds `hardware-address` and every address in `ip-addresses`
    (with `ip`'s family names, inet and inet6).
    """
    if not guest.running:
        return None
    mac = guest_mac(state.seed, guest.vmid).lower()
    interfaces = [
        ("lo", "00:00:00:00:00:00", [f"{a}/{p}" for a, p in _LOOPBACK]),
        ("eth0", mac, [*guest.ips, f"{link_local(mac)}/64"]),
    ]
    out = []
    for name, hwaddr, addresses in interfaces:
        entry: dict[str, Any] = {"name": name}
        items = []
        for text in addresses:
            iface = ipaddress.ip_interface(text)
            family = "inet" if iface.version == 4 else "inet6"
            entry[family] = f"{iface.ip}/{iface.network.prefixlen}"
            items.append(
                {
                    "ip-address-type": family,
                    "ip-address": str(iface.ip),
                    "prefix": iface.network.prefixlen,
                }
            )
        if state.scenario.pve_major >= 9:
            entry["ip-addresses"] = items
            entry["hardware-address"] = hwaddr
        entry["hwaddr"] = hwaddr
        out.append(entry)
    return out
