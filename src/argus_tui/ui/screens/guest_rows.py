"""The guests table's columns, cells and sort keys, and the words that narrow it."""

from __future__ import annotations

from typing import Any

from argus_tui.domain.format import bytes_, pct_style, percent, uptime
from argus_tui.domain.models import Guest
from argus_tui.ui.widgets.table import Cell, Column

COLUMNS = (
    Column("vmid", "VMID", 7, "right", priority=10),
    Column("name", "NAME", 0, min_width=16, priority=10, max_width=40),
    Column("type", "TYPE", 4, priority=6),
    Column("node", "NODE", 10, priority=8),
    Column("status", "STATUS", 9, priority=9),
    Column("cpu", "CPU", 5, "right", priority=8),
    Column("mem", "MEM", 13, "right", priority=7),
    Column("disk", "DISK", 7, "right", priority=3),
    Column("uptime", "UPTIME", 8, "right", priority=4),
    Column("tags", "TAGS", 14, priority=5),
    Column("pool", "POOL", 8, priority=2),
    Column("hastate", "HA", 8, priority=2),
    Column("lock", "LOCK", 8, priority=3),
)
SORT_KEYS: dict[str, Any] = {
    "vmid": lambda g: g.vmid,
    "name": lambda g: g.label.lower(),
    "type": lambda g: g.type,
    "node": lambda g: g.node,
    "status": lambda g: g.status,
    "cpu": lambda g: g.cpu,
    "mem": lambda g: g.mem,
    "disk": lambda g: g.disk or g.maxdisk,
    "uptime": lambda g: g.uptime,
    "tags": lambda g: ";".join(g.tags),
    "pool": lambda g: g.pool,
    "hastate": lambda g: g.hastate,
    "lock": lambda g: g.lock,
}


def guest_cells(guest: Guest) -> tuple[Cell, ...]:
    status_style = {"running": "ok", "stopped": "dim", "paused": "warn"}.get(guest.status, "bad")
    base = "muted" if guest.template else ""
    mem = "-" if guest.maxmem is None else f"{bytes_(guest.mem)}/{bytes_(guest.maxmem)}"
    disk = bytes_(guest.disk if guest.disk else guest.maxdisk)
    return (
        (str(guest.vmid), base),
        (guest.label + (" [template]" if guest.template else ""), base or "accent"),
        (guest.type, base),
        (guest.node, base),
        (guest.status if not guest.template else "template", base or status_style),
        (percent(guest.cpu), pct_style(guest.cpu)),
        (mem, pct_style(_ratio(guest.mem, guest.maxmem))),
        (disk, base),
        (uptime(guest.uptime), base),
        (",".join(guest.tags), "dim"),
        (guest.pool or "", base),
        (guest.hastate or "", "warn" if guest.hastate in ("error", "fence") else base),
        (guest.lock or "", "warn" if guest.lock else base),
    )


def _ratio(value: int | None, total: int | None) -> float | None:
    if value is None or not total:
        return None
    return value / total


#: `:vm` and `:ct` show one kind of guest; `:guests` shows every kind again.
TYPE_WORDS = {"vm": "qemu", "vms": "qemu", "ct": "lxc", "cts": "lxc"}
