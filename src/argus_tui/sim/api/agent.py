"""Guest agent commands of VMs and the interfaces of containers.

Every agent answer is `{"result": <QGA's return value>}`. PVE 9 lets VM.GuestAgent.Audit
or VM.GuestAgent.Unrestricted read (PVEAuditor has the first); PVE 8 wants VM.Monitor
for every agent command. `sim/agent.py` has the answers and the order of the errors.
"""

from __future__ import annotations

from argus_tui.sim.agent import (
    agent_info,
    check_agent,
    lxc_interfaces,
    network_interfaces,
    osinfo,
)
from argus_tui.sim.api.guests import GUEST, LXC, QEMU, VM_AUDIT, find_guest
from argus_tui.sim.api.router import Request, Result, RouteTable, perm
from argus_tui.sim.model import Guest

routes = RouteTable()
AGENT_READ = perm(
    "/vms/{vmid}",
    "VM.GuestAgent.Audit",
    "VM.GuestAgent.Unrestricted",
    any_of=True,
    pve8=("VM.Monitor",),
)


def _agent(req: Request) -> Guest:
    guest = find_guest(req)
    check_agent(req.state, guest)
    return guest


@routes.get(f"{QEMU}/agent/network-get-interfaces", GUEST, check=AGENT_READ, proxy=True)
def agent_interfaces(req: Request) -> Result:
    return Result({"result": network_interfaces(req.state, _agent(req))})


@routes.get(f"{QEMU}/agent/get-osinfo", GUEST, check=AGENT_READ, proxy=True)
def agent_osinfo(req: Request) -> Result:
    return Result({"result": osinfo(_agent(req))})


@routes.get(f"{QEMU}/agent/get-host-name", GUEST, check=AGENT_READ, proxy=True)
def agent_host_name(req: Request) -> Result:
    return Result({"result": {"host-name": _agent(req).name}})


@routes.get(f"{QEMU}/agent/info", GUEST, check=AGENT_READ, proxy=True)
def agent_info_route(req: Request) -> Result:
    _agent(req)
    return Result({"result": agent_info()})


@routes.post(f"{QEMU}/agent/ping", GUEST, check=AGENT_READ, proxy=True)
def agent_ping(req: Request) -> Result:
    _agent(req)
    return Result({"result": {}})


@routes.get(f"{LXC}/interfaces", GUEST, check=VM_AUDIT, proxy=True)
def container_interfaces(req: Request) -> Result:
    """null for a stopped container (PVE finds no process to look into)."""
    return Result(lxc_interfaces(req.state, find_guest(req)))
