"""Storage content: `GET /nodes/{node}/storage/{storage}/content` and one volume's
`GET`, `PUT` (notes, protection) and `DELETE` (an `imgdel` task).

Which items a caller sees follows pve-storage's `check_volume_access`: Datastore.Allocate
on the storage sees everything; a backup needs Datastore.AllocateSpace on the storage and
VM.Backup on its guest; a guest disk Datastore.Audit and VM.Config.Disk on the guest;
ISO images and templates AllocateSpace or Audit. So PVEAuditor sees no backups.
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.router import NODE, VMID, Request, Result, RouteTable
from argus_tui.sim.api.storage import READ_STORAGE, STORAGE, find_storage
from argus_tui.sim.model import Guest
from argus_tui.sim.state import SimError
from argus_tui.sim.storage import Storage, Volume

routes = RouteTable()
CONTENT = "/nodes/{node}/storage/{storage}/content"
VOLUME = f"{CONTENT}/{{volume}}"
VOLUME_PARAMS = f"{NODE} storage:str?@pve-storage-id volume:str"
DISK_CTIME = 1735000000  # when the guests' disks were made (their config's meta ctime)


def _perm_error(path: str, priv: str) -> SimError:
    return SimError(403, f"Permission check failed ({path}, {priv})")


def volume_access(req: Request, storage: Storage, volume: Volume) -> SimError | None:
    """Why the caller may not read `volume` (check_volume_access), or None."""
    sid = storage.id
    if req.can(f"/storage/{sid}", "Datastore.Allocate"):
        return None
    if volume.content in ("iso", "vztmpl"):
        if req.can(f"/storage/{sid}", "Datastore.AllocateSpace", "Datastore.Audit"):
            return None
        return _perm_error(f"/storage/{sid}", "Datastore.AllocateSpace|Datastore.Audit")
    pairs = {"backup": ("Datastore.AllocateSpace", "VM.Backup")}
    pairs.update(images=("Datastore.Audit", "VM.Config.Disk"))
    pairs.update(rootdir=("Datastore.Audit", "VM.Config.Disk"))
    if volume.vmid is None or volume.content not in pairs:
        return SimError(500, f"missing privileges to access {volume.volid}")
    on_storage, on_guest = pairs[volume.content]
    if not req.can(f"/storage/{sid}", on_storage):
        return _perm_error(f"/storage/{sid}", on_storage)
    if not req.can(f"/vms/{volume.vmid}", on_guest):
        return _perm_error(f"/vms/{volume.vmid}", on_guest)
    return None


def disk_volumes(req: Request, storage: Storage, node: str) -> list[Volume]:
    """The guests' disks (and saved RAM of snapshots) that live on `storage` at `node`."""
    out = []
    for guest in req.state.guests.values():
        if guest.disk_storage != storage.id or not (storage.shared or guest.node == node):
            continue
        out.append(_disk(storage, guest))
        if guest.vmstate:  # the RAM of a hibernated VM, written when it stopped
            saved = int(next((t for t, up in reversed(guest.history) if not up), 0))
            out.append(Volume(guest.vmstate, "images", "raw", guest.memory * 2, saved, guest.vmid))
        for snap in guest.snapshots.values():
            if snap.vmstate:
                volid = f"{storage.id}:vm-{guest.vmid}-state-{snap.name}"
                out.append(
                    Volume(volid, "images", "raw", guest.memory * 2, snap.snaptime, guest.vmid)
                )
    return out


def _disk(storage: Storage, guest: Guest) -> Volume:
    volid, fmt = storage.disk_volume(guest.vmid, guest.type, guest.template)
    # A container's root file system is `rootdir` content, except as a file on a directory
    # storage that PVE lists among the images.
    content = "rootdir" if guest.type == "lxc" and fmt == "subvol" else "images"
    return Volume(volid, content, fmt, guest.disk, DISK_CTIME, guest.vmid)


def _volumes(req: Request, storage: Storage, node: str) -> list[Volume]:
    return [*storage.on(node).volumes, *disk_volumes(req, storage, node)]


def _on_node(req: Request) -> Storage:
    storage = find_storage(req.state, req.params["storage"])
    node = req.params["node"]
    if not storage.available_on(node):
        raise SimError(500, f"storage '{storage.id}' is not available on node '{node}'")
    return storage


@routes.get(
    CONTENT,
    f"{NODE} {STORAGE} content:str?@pve-storage-content {VMID.replace(':int', ':int?')}",
    check=READ_STORAGE,
    proxy=True,
)
def content_list(req: Request) -> Result:
    """Sorted by volid, as PVE's volume_list; `vmid` keeps only that guest's volumes."""
    storage = _on_node(req)
    wanted = req.params.get("content")
    vmid = req.params.get("vmid")
    out = []
    for volume in sorted(_volumes(req, storage, req.params["node"]), key=lambda v: v.volid.lower()):
        if wanted is not None and volume.content != wanted:
            continue
        if vmid is not None and volume.vmid != vmid:
            continue
        if volume_access(req, storage, volume) is None:
            out.append(volume.entry())
    return Result(out)


def _volume(req: Request) -> tuple[Storage, Volume]:
    """The volume the path names: a full volid, or a volume name on `{storage}`."""
    sid = req.params.get("storage")
    raw = str(req.params["volume"])
    if ":" in raw:
        given_sid = raw.split(":", 1)[0]
        if sid and given_sid != sid:
            errors = {"volume": f"storage ID mismatch ({given_sid} != {sid})\n"}
            raise SimError(400, "Parameter verification failed.", errors=errors)
        sid, volid = given_sid, raw
    else:
        volid = f"{sid}:{raw}"
    req.params["storage"] = sid
    storage = _on_node(req)
    found = next((v for v in _volumes(req, storage, req.params["node"]) if v.volid == volid), None)
    if found is None:
        raise SimError(500, f"volume '{volid}' does not exist")
    return storage, found


@routes.get(VOLUME, VOLUME_PARAMS, proxy=True)
def volume_info(req: Request) -> Result:
    storage, volume = _volume(req)
    denied = volume_access(req, storage, volume)
    if denied is not None:
        raise denied
    out: dict[str, Any] = {
        "path": _path(storage, volume),
        "size": volume.size,
        "used": volume.size,
        "format": volume.format,
    }
    if volume.notes:
        out["notes"] = volume.notes
    if volume.content == "backup":
        out["protected"] = 1 if volume.protected else 0
    return Result(out)


def _path(storage: Storage, volume: Volume) -> str:
    name = volume.volname
    if storage.type == "pbs":
        return f"{storage.id}:{name}"
    if storage.type in ("lvm", "lvmthin"):
        return f"/dev/{storage.config_entry('')['vgname']}/{name}"
    if storage.type == "zfspool":
        return f"/dev/zvol/rpool/data/{name}"
    if storage.type == "rbd":
        return f"rbd:{storage.id}/{name}"
    folder = {"backup": "dump", "iso": "template/iso", "vztmpl": "template/cache"}
    kind, _, rest = name.partition("/")
    return f"{storage.path}/{folder.get(kind, 'images/' + kind)}/{rest}"


@routes.put(VOLUME, f"{VOLUME_PARAMS} notes:str? protected:bool?", proxy=True)
def volume_update(req: Request) -> Result:
    storage, volume = _volume(req)
    denied = volume_access(req, storage, volume)
    if denied is not None:
        raise denied
    if "protected" in req.params and volume.content != "backup":
        raise SimError(500, "protection is only supported for backups")
    notes = req.params.get("notes")
    protected = req.params.get("protected")
    req.state.update_volume(
        volume, notes=notes, protected=None if protected is None else bool(protected)
    )
    return Result(None)


@routes.delete(VOLUME, f"{VOLUME_PARAMS} delay:int?>=1<=30", proxy=True)
def volume_delete(req: Request) -> Result:
    """An `imgdel` task (id `<vmid>@<storage>`); a protected backup makes it fail."""
    state = req.state
    storage, volume = _volume(req)
    sid = storage.id
    if volume.content == "backup" and volume.vmid is not None:
        if not req.can(f"/storage/{sid}", "Datastore.AllocateSpace"):
            raise _perm_error(f"/storage/{sid}", "Datastore.AllocateSpace")
        if not req.can(f"/vms/{volume.vmid}", "VM.Backup"):
            raise _perm_error(f"/vms/{volume.vmid}", "VM.Backup")
    elif not req.can(f"/storage/{sid}", "Datastore.Allocate"):
        raise _perm_error(f"/storage/{sid}", "Datastore.Allocate")
    node = req.params["node"]
    error = ""
    if volume.protected:
        error = f"cannot remove protected volume '{volume.volname}' on '{sid}'"
    elif volume not in storage.on(node).volumes:
        error = f"cannot remove volume '{volume.volid}' - it is a disk of guest {volume.vmid}"
    lines = [] if error else [(0.4, f"Removed volume '{volume.volid}'")]

    def remove() -> None:
        if not error:
            state.remove_volume(storage, node, volume.volid)

    owner = f"{volume.vmid}@" if volume.vmid is not None else ""
    task = state.start_task(
        node,
        "imgdel",
        f"{owner}{sid}",
        req.authid,
        lines=lines,
        duration=0.5,
        error=error,
        on_end=remove,
    )
    if "delay" in req.params:
        # The API waits up to `delay` seconds: the simulated deletion is done by then.
        state.finish_task(task)
        if error:
            raise SimError(500, error)
        return Result(None)
    return Result(task.key)
