"""What `POST .../migrate` does before the task: the API's checks, and HA's detour.

The checks follow qemu-server's and pve-container's migrate_vm in their order (target,
quorum, cluster member, root-only options, lock, a running guest's mode, the target
storages); a guest the HA manager owns gets a short `hamigrate` task instead, and the
real move is a separate task run as root@pam on its node a moment later, as the LRM runs
it: a VM migrates online (with its local disks), a container is shut down, migrated and
started on the target (a relocation).
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim.migration import Migration, Options
from argus_tui.sim.migration_check import check_target
from argus_tui.sim.model import Guest
from argus_tui.sim.params import split_list
from argus_tui.sim.power import submit as submit_power
from argus_tui.sim.state import ClusterState, SimError

ROOT = "root@pam"
CRM_DELAY = 1.5  # seconds until the HA manager acts on a request (its 10 s loop, shortened)


def submit(state: ClusterState, guest: Guest, authid: str, params: dict[str, Any]) -> str:
    """Start the migration `params` ask for and answer its UPID, or raise as PVE refuses."""
    target = str(params["target"])
    check_target(state, guest.node, target)
    kind = "VM" if guest.type == "qemu" else "CT"
    if guest.type == "qemu":
        for key in ("force", "migration_type", "migration_network"):
            if params.get(key) and authid != ROOT:
                raise SimError(
                    400,
                    "Parameter verification failed.",
                    errors={key: "Only root may use this option."},
                )
        if guest.lock:
            raise SimError(500, f"{kind} is locked ({guest.lock})")
        if guest.running and not params.get("online"):
            raise SimError(500, "can't migrate running VM without --online")
    elif guest.running and not params.get("online") and not params.get("restart"):
        raise SimError(500, "can't migrate running container without --online or --restart")
    key = "targetstorage" if guest.type == "qemu" else "target-storage"
    storage_map = _storage_map(state, guest, authid, params.get(key), target, key)
    opts = Options(
        target=target,
        online=bool(params.get("online")) and guest.running,
        restart=bool(params.get("restart")),
        with_local_disks=bool(params.get("with-local-disks")),
        timeout=int(params.get("timeout", 180)),
        bwlimit=float(params["bwlimit"]) if params.get("bwlimit") else None,
        storage_map=storage_map,
        conntrack=bool(params.get("with-conntrack-state")),
        force=bool(params.get("force")),
    )
    if guest.ha:
        return _ha_request(state, guest, authid, opts)
    return Migration(state, guest, authid, opts).start()


def _storage_map(
    state: ClusterState,
    guest: Guest,
    authid: str,
    text: str | None,
    target: str,
    key: str,
) -> dict[str, str]:
    """A `storage-pair-list` (`1`, `sid`, or `src:dst,...`) checked as PVE checks it."""
    if not text or text == "1":
        return {}
    pairs: dict[str, str] = {}
    default = None
    for item in split_list(text):
        source, sep, dest = item.partition(":")
        if sep:
            pairs[source] = dest
        elif default is None:
            default = source
        else:
            raise SimError(
                400,
                "Parameter verification failed.",
                errors={key: "failed to parse storage map: default target specified twice"},
            )
    if not state.permissions.has(authid, f"/vms/{guest.vmid}", ["VM.Config.Disk"]):
        raise SimError(403, f"Permission check failed (/vms/{guest.vmid}, VM.Config.Disk)")
    content = "images" if guest.type == "qemu" else "rootdir"
    wanted = "vm images" if guest.type == "qemu" else "CT rootdirs"
    for sid in [*pairs.values(), *([default] if default else [])]:
        storage = state.storages.get(sid)
        if storage is None:
            raise SimError(500, f"storage '{sid}' does not exist")
        if not storage.available_on(target):
            raise SimError(500, f"storage '{sid}' is not available on node '{target}'")
        if not state.permissions.has(authid, f"/storage/{sid}", ["Datastore.AllocateSpace"]):
            raise SimError(
                403, f"Permission check failed (/storage/{sid}, Datastore.AllocateSpace)"
            )
        if content not in storage.content:
            raise SimError(500, f"storage '{sid}' does not support {wanted}")
    mapped = pairs.get(guest.disk_storage, default)
    return {guest.disk_storage: mapped} if mapped else {}


def _ha_request(state: ClusterState, guest: Guest, authid: str, opts: Options) -> str:
    """`ha-manager migrate vm:100 pve-b` in a `hamigrate` task; the LRM moves it later."""
    kind, vmid = ("VM", guest.vmid) if guest.type == "qemu" else ("CT", guest.vmid)
    line = f"Requesting HA migration for {kind} {vmid} to node {opts.target}"

    def requested() -> None:
        state.set_hastate(guest, "migrate")
        state.schedule(state.now() + CRM_DELAY, lambda _at: lrm_migrate(state, guest, opts))

    task = state.start_task(
        guest.node,
        "hamigrate",
        str(vmid),
        authid,
        lines=[(0.1, line)],
        duration=0.5,
        on_end=requested,
    )
    return task.key


def lrm_migrate(state: ClusterState, guest: Guest, opts: Options) -> None:
    """The LRM's move of an HA guest, as root@pam: online for a VM, relocation for a CT."""
    was_running = guest.running
    if guest.type == "qemu":
        lrm = Options(target=opts.target, online=was_running, with_local_disks=True, force=True)

        def settled(_ok: bool) -> None:
            state.set_hastate(guest, "started" if guest.running else "stopped")

        Migration(state, guest, ROOT, lrm, on_finish=settled).start()
        return

    def moved(_ok: bool) -> None:
        if was_running:  # the CRM starts it again where it now is
            submit_power(state, guest, "start", ROOT, {}, lrm=True, on_done=started)
        else:
            state.set_hastate(guest, "stopped")

    def started(_ok: bool) -> None:
        state.set_hastate(guest, "started" if guest.running else "error")

    def migrate(_ok: bool = True) -> None:
        Migration(state, guest, ROOT, Options(target=opts.target), on_finish=moved).start()

    if was_running:
        submit_power(state, guest, "shutdown", ROOT, {}, lrm=True, on_done=migrate)
    else:
        migrate()
