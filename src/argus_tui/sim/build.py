"""Turning scenario specs into the objects of a starting cluster: guests and storage.

Only `ClusterState.__init__` calls these; afterwards the objects change through
`ClusterState` methods. Everything derived here (uptimes, used space, backup sizes) is a
function of the seed, so the same scenario always starts the same way.
"""

from __future__ import annotations

from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest, Node, Snapshot
from argus_tui.sim.scenario import GuestSpec, StorageSpec
from argus_tui.sim.storage import Storage, Volume, VolumeSet, archive_size, backup_volume

OFFLINE_SINCE = 900  # offline nodes in a scenario went away this long before start
SHARED_SIZE = 8 * 1024**4  # a shared storage without a size
# (name, size) of the installation media and container templates every ISO/template
# storage holds, so their listing and permission rules can be seen.
ISO_IMAGES = (
    ("debian-13.2.0-amd64-netinst.iso", 790_626_304),
    ("ubuntu-24.04.3-live-server-amd64.iso", 3_303_444_480),
)
CT_TEMPLATES = (
    ("debian-13-standard_13.1-2_amd64.tar.zst", 126_484_480),
    ("alpine-3.22-default_20250617_amd64.tar.xz", 3_145_728),
)


def build_guest(spec: GuestSpec, seed: int, now: float, node_up: bool) -> Guest:
    running = spec.status in ("running", "paused") and not spec.template
    started = now - 3600 * (1 + 900 * unit(seed, str(spec.vmid), "up")) if running else None
    history = [(now - 86400 * 400, running)]
    if running and started is not None:
        history = [(now - 86400 * 400, False), (started, True)]
    if not node_up:
        history.append((now - OFFLINE_SINCE, False))
    guest = Guest(
        vmid=spec.vmid,
        type=spec.type,
        name=spec.name,
        node=spec.node,
        status=("paused" if spec.status == "paused" else spec.status)
        if not spec.template
        else "stopped",
        cores=spec.cores,
        memory=spec.memory,
        disk=spec.disk,
        tags=list(spec.tags),
        pool=spec.pool,
        template=spec.template,
        lock=spec.lock,
        ha=spec.ha,
        fail=dict(spec.fail),
        started=started,
        hastate=("started" if running else "stopped") if spec.ha else None,
        history=history,
        disk_storage=spec.disk_storage,
        agent=spec.agent,
        ips=list(spec.ips),
        local_resources=list(spec.local_resources),
        onboot=spec.onboot,
        serial=spec.serial,
    )
    for snap in spec.snapshots:
        guest.snapshots[snap.name] = Snapshot(
            name=snap.name,
            description=snap.description,
            snaptime=int(now - snap.ago),
            vmstate=snap.vmstate,
            parent=snap.parent,
        )
    if spec.snapshots:
        guest.parent = spec.snapshots[-1].name
    return guest


def backup_data(seed: int, guest: Guest, when: float) -> int:
    """How much of `guest`'s disk holds data (not zeroes) at `when`: a seeded share."""
    share = 0.1 + 0.4 * unit(seed, guest.key, "fill")
    drift = 0.95 + 0.1 * unit(seed, guest.key, str(int(when) // 86400))
    return int(guest.disk * share * drift)


def build_storages(
    specs: list[StorageSpec],
    nodes: dict[str, Node],
    guests: list[tuple[GuestSpec, Guest]],
    seed: int,
    now: float,
) -> dict[str, Storage]:
    """The storages of storage.cfg with their volumes: media, templates and backups."""
    out: dict[str, Storage] = {}
    for spec in specs:
        storage = Storage(
            id=spec.id,
            type=spec.type,
            content=list(spec.content),
            shared=spec.shared,
            nodes=list(spec.nodes) if spec.nodes is not None else None,
            snapshots=spec.snapshots,
            prune_backups=spec.prune_backups,
        )
        members = spec.nodes if spec.nodes is not None else list(nodes)
        for key in [""] if spec.shared else members:
            size = spec.size or (SHARED_SIZE if spec.shared else nodes[key].disk * 3)
            storage.sets[key] = VolumeSet(total=size, base_used=0)
            storage.sets[key].volumes += _media(storage, seed, now)
        out[spec.id] = storage
    for gspec, guest in guests:
        for backup in gspec.backups:
            storage = out[backup.storage]
            when = now - backup.ago
            volid, fmt = backup_volume(storage, guest.type, guest.vmid, when)
            storage.on(guest.node).volumes.append(
                Volume(
                    volid=volid,
                    content="backup",
                    format=fmt,
                    size=archive_size(backup_data(seed, guest, when), fmt),
                    ctime=int(when),
                    vmid=guest.vmid,
                    subtype=guest.type,
                    notes=backup.notes or "",
                    protected=backup.protected,
                )
            )
    for spec in specs:
        for key, volumes in out[spec.id].sets.items():
            stored = sum(v.size for v in volumes.volumes)
            if spec.used is not None:
                volumes.base_used = max(0, spec.used - stored)
            else:
                share = 0.15 + 0.6 * unit(seed, f"{key}/{spec.id}" if key else spec.id, "used")
                volumes.base_used = int(max(0, volumes.total - stored) * share)
    return out


def _media(storage: Storage, seed: int, now: float) -> list[Volume]:
    out = []
    for content, items, fmt in (("iso", ISO_IMAGES, "iso"), ("vztmpl", CT_TEMPLATES, "")):
        if content not in storage.content:
            continue
        for name, size in items:
            age = 86400 * (20 + 200 * unit(seed, storage.id, name))
            kind = fmt or ("tzst" if name.endswith(".zst") else "txz")
            volid = f"{storage.id}:{content}/{name}"
            out.append(Volume(volid, content, kind, size, int(now - age)))
    return out
