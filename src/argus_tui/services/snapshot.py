"""One refresh: a few calls, one ClusterSnapshot, and honest warnings about what is hidden.

A refresh is `GET /cluster/resources` (every node and guest in one call), plus
`/cluster/status` and `/version` for the header and `/access/permissions` for what the
token may do. Never one call per guest.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from argus_tui.domain.console import console_denial
from argus_tui.domain.models import ClusterSnapshot, Entity, Guest, Node, Privileges
from argus_tui.domain.operations import allowed_operations
from argus_tui.domain.permissions import allowed_actions
from argus_tui.domain.storage import Storage
from argus_tui.errors import ApiError, ArgusError, PermissionDenied
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import MappingError, cluster_from, privileges_from, resources_from
from argus_tui.pve.ops_mapping import addresses_from


def collect(client: PveClient) -> ClusterSnapshot:
    """Fetch and map one snapshot; raises ArgusError only when nothing useful came back."""
    warnings: list[str] = []
    version = client.version()
    try:
        status: list[Any] | None = client.cluster_status()
    except PermissionDenied:
        status = None
        warnings.append(
            "no Sys.Audit on /: cluster name and quorum are unknown (see 'argus doctor')"
        )
    resources = client.resources()
    try:
        privileges = privileges_from(client.permissions())
    except MappingError as exc:
        raise ApiError(f"/access/permissions: {exc}") from None
    found = resources_from(resources)
    nodes, guests = found.nodes, found.guests
    warnings.extend(found.problems)
    warnings.extend(_visibility_warnings(privileges, nodes))
    return ClusterSnapshot(
        cluster=cluster_from(status, version),
        nodes=tuple(sorted(nodes, key=lambda n: n.name)),
        guests=tuple(sorted(guests, key=lambda g: g.vmid)),
        privileges=privileges,
        warnings=tuple(warnings),
        fetched_at=time.time(),
        storages=tuple(sorted(found.storages, key=lambda s: (s.node, s.storage))),
    )


def _visibility_warnings(privileges: Privileges, nodes: list[Node]) -> list[str]:
    out: list[str] = []
    if privileges.empty:
        out.append(
            "the token holds no privileges at all: lists are empty, not missing; a token with"
            " privilege separation needs ACLs of its own (see 'argus doctor')"
        )
        return out
    if "VM.Audit" not in privileges.effective("/vms"):
        out.append("no VM.Audit on /vms: guest list may be incomplete")
    hidden = [n.name for n in nodes if n.online and n.cpu is None and n.maxmem is None]
    if hidden:
        out.append(
            f"no Sys.Audit on /nodes/{hidden[0]}: node usage is hidden"
            + (f" (and on {len(hidden) - 1} more nodes)" if len(hidden) > 1 else "")
        )
    return out


def guest_actions(
    guest: Guest,
    privileges: Privileges,
    storages: Iterable[Storage],
    nodes: Iterable[Node] = (),
) -> list[str]:
    """What `allowed_actions` lists: the power actions valid in the guest's state and
    permitted, then `snapshot` and `backup` where valid and permitted (a backup needs a
    storage on the guest's node that takes backups and that the token may write to).

    A snapshot's storage check needs the guest's config, which a refresh does not read:
    a guest whose disk is on a storage that cannot snapshot still lists `snapshot` here,
    and `argus snapshot create` says why it would fail before sending. `migrate` where
    another node is online (the power actions include `hibernate`). `console` for a
    running guest with VM.Console (a VM's serial socket is in its config, which is not
    read here either: `argus console` says when one is missing)."""
    console = [] if console_denial(guest, privileges) is not None else ["console"]
    return [
        *allowed_actions(guest, privileges),
        *allowed_operations(guest, privileges, storages, nodes),
        *console,
    ]


def guest_json(
    guest: Guest,
    privileges: Privileges,
    storages: Iterable[Storage] = (),
    nodes: Iterable[Node] = (),
) -> dict[str, Any]:
    return {
        "vmid": guest.vmid,
        "name": guest.name,
        "type": guest.type,
        "node": guest.node,
        "status": guest.status,
        "template": guest.template,
        "tags": list(guest.tags),
        "pool": guest.pool,
        "lock": guest.lock,
        "hastate": guest.hastate,
        "cpu": guest.cpu,
        "mem": guest.mem,
        "maxmem": guest.maxmem,
        "uptime": guest.uptime,
        "allowed_actions": guest_actions(guest, privileges, storages, nodes),
    }


def guest_ips(client: PveClient, guests: Iterable[Guest]) -> dict[int, list[str]]:
    """`argus status --ips`: each running guest's addresses, one call per guest (the
    agent's for a VM, the node's view for a container). A guest whose agent does not
    answer, or that the token may not ask, has none: the list is empty, never an error."""
    out: dict[int, list[str]] = {}
    for guest in guests:
        if guest.status != "running" or guest.template:
            out[guest.vmid] = []
            continue
        try:
            items = client.guest_interfaces(Entity.of_guest(guest))
        except ArgusError:
            out[guest.vmid] = []
            continue
        out[guest.vmid] = [a.address for a in addresses_from(items)]
    return out


def snapshot_json(
    snapshot: ClusterSnapshot,
    *,
    read_only: bool = False,
    ips: Mapping[int, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """`argus status --json`, exactly the schema in the README (scripts rely on it);
    `ips` (from `guest_ips`) adds each guest's `ips` list."""
    guests = []
    for guest in snapshot.guests:
        entry = guest_json(guest, snapshot.privileges, snapshot.storages, snapshot.nodes)
        if read_only:
            entry["allowed_actions"] = []
        if ips is not None:
            entry["ips"] = list(ips.get(guest.vmid, ()))
        guests.append(entry)
    return {
        "cluster": {
            "name": snapshot.cluster.name,
            "quorate": snapshot.cluster.quorate,
            "version": snapshot.cluster.version,
        },
        "nodes": [
            {
                "name": n.name,
                "status": n.status,
                "cpu": n.cpu,
                "maxcpu": n.maxcpu,
                "mem": n.mem,
                "maxmem": n.maxmem,
                "disk": n.disk,
                "maxdisk": n.maxdisk,
                "uptime": n.uptime,
            }
            for n in snapshot.nodes
        ],
        "guests": guests,
        "warnings": list(snapshot.warnings),
    }
