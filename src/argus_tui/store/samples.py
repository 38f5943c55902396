"""How one sample is kept: compact integers, and rates derived from cumulative counters.

Pure and shared by every backend, so a sample reads back the same wherever it was kept.
Values are integers: cpu in 1/10,000 of the CPUs (PVE's fraction x 10,000), mem and disk
in KiB, network and disk I/O as bytes per second. cluster/resources reports network and
disk I/O as counters since guest start, so the rates are computed at write time from the
previous sample's counters; a counter that went backwards (guest restarted) or a gap
longer than `MAX_RATE_GAP` gives no rate (None) rather than a misleading long average.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argus_tui.domain.models import Guest, Node

from .records import GUEST_FIELDS, NODE_FIELDS

#: Rates over a longer gap than this (seconds, or 3 sample intervals) are not stored.
MAX_RATE_GAP = 900.0

#: stored integer = round(value * scale); read back as stored / scale.
SCALE = {
    "cpu": 10_000.0,
    "mem": 1 / 1024,
    "disk": 1 / 1024,
    "netin": 1.0,
    "netout": 1.0,
    "diskread": 1.0,
    "diskwrite": 1.0,
}
_GUEST_STATUS = {"stopped": 0, "running": 1, "paused": 2, "suspended": 3, "prelaunch": 4}
_NODE_STATUS = {"offline": 0, "online": 1}
_OTHER, _UNKNOWN = 8, 9
_GUEST_NAMES = {v: k for k, v in _GUEST_STATUS.items()} | {_OTHER: "other", _UNKNOWN: "unknown"}
_NODE_NAMES = {v: k for k, v in _NODE_STATUS.items()} | {_OTHER: "other", _UNKNOWN: "unknown"}

#: A guest's counters at one sample: (ts, netin, netout, diskread, diskwrite).
Counters = tuple[float, int, int, int, int]
#: One sample as stored: status code, then cpu, mem, disk and the four rates.
Values = tuple[int | None, ...]


def _cpu(value: float | None) -> int | None:
    return None if value is None else round(value * 10_000)


def _kib(value: int | None) -> int | None:
    return None if value is None else round(value / 1024)


def node_values(node: Node) -> Values:
    """A node's sample: nodes have no rates."""
    status = _NODE_STATUS.get(node.status, _UNKNOWN)
    return (status, _cpu(node.cpu), _kib(node.mem), _kib(node.disk), None, None, None, None)


def guest_values(
    guest: Guest, when: float, prev: Counters | None, max_gap: float
) -> tuple[Values, Counters | None]:
    """A guest's sample at `when`, and the counters the next sample's rates start from.

    `prev` is what the previous sample returned; a stopped guest moves nothing (rates 0).
    """
    rates: list[int | None] = [None, None, None, None]
    basis: Counters | None = None
    if (
        guest.netin is not None
        and guest.netout is not None
        and guest.diskread is not None
        and guest.diskwrite is not None
    ):
        counters = (guest.netin, guest.netout, guest.diskread, guest.diskwrite)
        basis = (when, *counters)
        if guest.status == "stopped":
            rates = [0, 0, 0, 0]
        elif prev is not None:
            dt = when - prev[0]
            if 0 < dt <= max_gap:
                rates = [
                    round((c - p) / dt) if c >= p else None
                    for c, p in zip(counters, prev[1:], strict=True)
                ]
    status = _GUEST_STATUS.get(guest.status, _UNKNOWN if guest.status == "unknown" else _OTHER)
    values = (status, _cpu(guest.cpu), _kib(guest.mem), _kib(guest.disk), *rates)
    return values, basis


def decode(row: dict[str, Any], step: int) -> dict[str, Any]:
    """A stored row (raw sample when `step` is 0, else a rollup) in plain units.

    `row` holds ts, kind, key, status (raw) or n and up (rollups), the fields, and for
    rollups each field's `_max`. Plain units: cpu as a fraction, bytes, bytes per second;
    `up` is the fraction of samples the entity was running (guests) or online (nodes).
    """
    kind = row["kind"]
    out: dict[str, Any] = {
        "ts": row["ts"],
        "step": step,
        "entity": kind,
        "key": row["key"],
    }
    if step == 0:
        names = _GUEST_NAMES if kind == "guest" else _NODE_NAMES
        code = row["status"]
        out["status"] = None if code is None else names.get(code, "unknown")
        out["n"] = 1
        out["up"] = None if code is None else float(code == 1)
    else:
        out["status"] = None
        out["n"] = row["n"]
        out["up"] = row["up"] / row["n"] if row["n"] else None
    fields = GUEST_FIELDS if kind == "guest" else NODE_FIELDS
    for name in fields:
        value = row[name]
        out[name] = None if value is None else value / SCALE[name]
        if step:
            peak = row[f"{name}_max"]
            out[f"{name}_max"] = None if peak is None else peak / SCALE[name]
        else:
            out[f"{name}_max"] = out[name]
    return out


@dataclass(frozen=True, slots=True)
class Encoded:
    """An exported sample (`decode`'s plain units) back in the integers a store keeps."""

    step: int  # 0: a raw sample; else the rollup's bucket length in seconds
    ts: int
    kind: str  # "node" | "guest"
    key: str
    status: int | None  # raw samples: the status code; rollups: None
    n: int  # samples averaged (raw: 1)
    up: int  # how many of them were running or online
    values: Values  # cpu mem disk netin netout diskread diskwrite (rollups: averages)
    maxima: Values  # the same fields' maxima (raw: the values)


def _stored(value: Any, field: str) -> int | None:
    return None if value is None else round(float(value) * SCALE[field])


def encode(row: Mapping[str, Any]) -> Encoded:
    """The inverse of `decode`: an exported sample row as a store keeps it.

    Lets `argus history copy` move samples of every resolution between backends
    without either knowing the other's tables.
    """
    kind, step = str(row["entity"]), int(row["step"])
    fields = GUEST_FIELDS if kind == "guest" else NODE_FIELDS
    values = tuple(_stored(row.get(f), f) if f in fields else None for f in GUEST_FIELDS)
    if step == 0:
        codes = _GUEST_STATUS if kind == "guest" else _NODE_STATUS
        name = row.get("status")
        status = None
        if name is not None:
            status = codes.get(name, _UNKNOWN if name == "unknown" else _OTHER)
        return Encoded(0, int(row["ts"]), kind, str(row["key"]), status, 1, int(status == 1),
                       values, values)  # fmt: skip
    n = int(row["n"])
    up = 0 if row.get("up") is None else round(float(row["up"]) * n)
    maxima = tuple(_stored(row.get(f"{f}_max"), f) if f in fields else None for f in GUEST_FIELDS)
    return Encoded(step, int(row["ts"]), kind, str(row["key"]), None, n, up, values, maxima)
