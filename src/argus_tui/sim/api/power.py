"""Power actions: `POST /nodes/{node}/{qemu,lxc}/{vmid}/status/ACTION`.

Each answers a UPID at once; `sim/power.py` runs the task. The parameter lists are
qemu-server's and pve-container's, which differ per guest type.
"""

from __future__ import annotations

from argus_tui.sim.api.guests import GUEST, LXC, QEMU, find_guest
from argus_tui.sim.api.router import Request, Result, RouteTable, perm
from argus_tui.sim.power import submit

routes = RouteTable()
POWER_MGMT = perm("/vms/{vmid}", "VM.PowerMgmt")


def _submit(req: Request, action: str) -> Result:
    return Result(submit(req.state, find_guest(req), action, req.authid, req.params))


@routes.post(
    f"{QEMU}/status/start",
    f"{GUEST} force-cpu:str? machine:str? migratedfrom:str? migration_network:str?"
    " migration_type:str?(secure|insecure) nets-host-mtu:str? skiplock:bool? stateuri:str?<=128"
    " targetstorage:str? timeout:int?>=0 with-conntrack-state:bool?=0",
    check=POWER_MGMT,
    proxy=True,
)
@routes.post(
    f"{LXC}/status/start", f"{GUEST} debug:bool?=0 skiplock:bool?", check=POWER_MGMT, proxy=True
)
def start(req: Request) -> Result:
    return _submit(req, "start")


@routes.post(
    f"{QEMU}/status/stop",
    f"{GUEST} keepActive:bool?=0 migratedfrom:str? overrule-shutdown:bool?=0 skiplock:bool?"
    " timeout:int?>=0",
    check=POWER_MGMT,
    proxy=True,
)
@routes.post(
    f"{LXC}/status/stop",
    f"{GUEST} overrule-shutdown:bool?=0 skiplock:bool?",
    check=POWER_MGMT,
    proxy=True,
)
def stop(req: Request) -> Result:
    return _submit(req, "stop")


@routes.post(
    f"{QEMU}/status/shutdown",
    f"{GUEST} forceStop:bool?=0 keepActive:bool?=0 skiplock:bool? timeout:int?>=0",
    check=POWER_MGMT,
    proxy=True,
)
@routes.post(
    f"{LXC}/status/shutdown",
    f"{GUEST} forceStop:bool?=0 timeout:int?>=0=60",
    check=POWER_MGMT,
    proxy=True,
)
def shutdown(req: Request) -> Result:
    return _submit(req, "shutdown")


@routes.post(f"{QEMU}/status/reboot", f"{GUEST} timeout:int?>=0", check=POWER_MGMT, proxy=True)
@routes.post(f"{LXC}/status/reboot", f"{GUEST} timeout:int?>=0", check=POWER_MGMT, proxy=True)
def reboot(req: Request) -> Result:
    return _submit(req, "reboot")


@routes.post(f"{QEMU}/status/reset", f"{GUEST} skiplock:bool?", check=POWER_MGMT, proxy=True)
def reset(req: Request) -> Result:
    return _submit(req, "reset")


@routes.post(
    f"{QEMU}/status/suspend",
    f"{GUEST} skiplock:bool? statestorage:str? todisk:bool?=0",
    check=POWER_MGMT,
    proxy=True,
)
@routes.post(f"{LXC}/status/suspend", GUEST, check=POWER_MGMT, proxy=True)
def suspend(req: Request) -> Result:
    return _submit(req, "suspend")


@routes.post(
    f"{QEMU}/status/resume", f"{GUEST} nocheck:bool? skiplock:bool?", check=POWER_MGMT, proxy=True
)
@routes.post(f"{LXC}/status/resume", GUEST, check=POWER_MGMT, proxy=True)
def resume(req: Request) -> Result:
    return _submit(req, "resume")
