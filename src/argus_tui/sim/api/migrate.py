"""Migration: the precondition checks, `POST .../migrate` and `POST /nodes/{node}/migrateall`.

The answers are built in `sim/migration_check.py`; the tasks run in `sim/migration.py`
(and `migration_start.py`, `migrateall.py`). The lxc precondition exists since PVE 9
only: an 8.x scenario answers it 501, as an unknown path.
"""

from __future__ import annotations

from argus_tui.sim.api.guests import GUEST, LXC, QEMU, find_guest
from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, perm
from argus_tui.sim.migrateall import start_migrateall
from argus_tui.sim.migration_check import check_quorum, lxc_precondition, qemu_precondition
from argus_tui.sim.migration_start import submit
from argus_tui.sim.model import Guest
from argus_tui.sim.state import SimError

routes = RouteTable()
VM_MIGRATE = perm("/vms/{vmid}", "VM.Migrate")


def _checked(req: Request) -> Guest:
    """The guest, after the checks both preconditions make first (quorum, lock)."""
    guest = find_guest(req)
    check_quorum(req.state)
    if guest.lock:
        kind = "VM" if guest.type == "qemu" else "CT"
        raise SimError(500, f"{kind} is locked ({guest.lock})")
    return guest


@routes.get(f"{QEMU}/migrate", f"{GUEST} target:str?", check=VM_MIGRATE, proxy=True)
def qemu_migrate_precondition(req: Request) -> Result:
    return Result(qemu_precondition(req.state, _checked(req)))


@routes.get(f"{LXC}/migrate", f"{GUEST} target:str?", check=VM_MIGRATE, proxy=True, since=9)
def lxc_migrate_precondition(req: Request) -> Result:
    return Result(lxc_precondition(req.state, _checked(req)))


@routes.post(
    f"{QEMU}/migrate",
    f"{GUEST} bwlimit:int?>=0 force:bool? migration_network:str?"
    " migration_type:str?(secure|insecure) online:bool? target:str targetstorage:str?"
    " with-conntrack-state:bool?=0 with-local-disks:bool?",
    check=VM_MIGRATE,
    proxy=True,
)
@routes.post(
    f"{LXC}/migrate",
    f"{GUEST} bwlimit:num?>=0 online:bool? restart:bool? target:str target-storage:str?"
    " timeout:int?=180",
    check=VM_MIGRATE,
    proxy=True,
)
def migrate(req: Request) -> Result:
    return Result(submit(req.state, find_guest(req), req.authid, req.params))


@routes.post(
    "/nodes/{node}/migrateall",
    f"{NODE} max-workers:int?>=1<=64 maxworkers:int?>=1<=64 target:str"
    " vms:str?@pve-vmid-list with-local-disks:bool?",
    proxy=True,
)
def migrateall(req: Request) -> Result:
    """VM.Migrate on / or on every guest in `vms`: checked in the handler, as PVE does."""
    return Result(start_migrateall(req.state, req.params["node"], req.authid, req.params))
