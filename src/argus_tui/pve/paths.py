"""API paths of nodes, guests and storages: the only place such paths are built."""

from __future__ import annotations

from urllib.parse import quote

from argus_tui.domain.models import Entity


def entity_path(entity: Entity) -> str:
    """`/nodes/N` for a node, `/nodes/N/qemu/ID` or `/nodes/N/lxc/ID` for a guest."""
    node = f"/nodes/{quote(entity.node)}"
    if entity.kind == "node":
        return node
    return f"{node}/{entity.kind}/{entity.vmid}"


def storage_path(node: str, storage: str) -> str:
    return f"/nodes/{quote(node)}/storage/{quote(storage, safe='')}"


def snapshot_path(entity: Entity, name: str | None = None) -> str:
    base = f"{entity_path(entity)}/snapshot"
    return base if name is None else f"{base}/{quote(name, safe='')}"
