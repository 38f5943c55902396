"""`argus history export|stats|prune` as plain functions over a HistoryStore.

The CLI parses flags and prints; everything else is here so it can be tested without a
terminal. Nothing here imports Textual or the config: the caller passes the store, the
profile and, if the user configured one, a Retention.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argus_tui.domain.durations import parse_span
from argus_tui.errors import ConfigError
from argus_tui.store import (
    EXCHANGE_FIELDS,
    GUEST_FIELDS,
    Backlog,
    Change,
    HistoryStore,
    Retention,
    Stats,
)

#: Order of the record kinds in an export, and the columns of each in CSV.
SECTIONS = ("samples", "events", "tasks", "actions", "exchanges")
SAMPLE_COLUMNS = (
    "ts",
    "step",
    "entity",
    "key",
    "status",
    "n",
    "up",
    *(c for f in GUEST_FIELDS for c in (f, f"{f}_max")),
)
EVENT_COLUMNS = ("ts", "kind", "subject", "detail", "vmid", "node")
TASK_COLUMNS = ("upid", "node", "type", "id", "user", "starttime", "endtime", "status")
ACTION_COLUMNS = (
    "ts",
    "operator",
    "token_id",
    "vmid",
    "guest",
    "node",
    "action",
    "target",
    "upid",
    "result",
    "duration",
)
EXCHANGE_COLUMNS = EXCHANGE_FIELDS
COLUMNS = {
    "samples": SAMPLE_COLUMNS,
    "events": EVENT_COLUMNS,
    "tasks": TASK_COLUMNS,
    "actions": ACTION_COLUMNS,
    "exchanges": EXCHANGE_COLUMNS,
}
#: The CSV header: `record` names the kind of row, then the union of all columns.
CSV_COLUMNS: tuple[str, ...] = ("record", *dict.fromkeys(c for s in SECTIONS for c in COLUMNS[s]))


def parse_since(text: str, now: float | None = None) -> float:
    """`24h`, `30m`, `7d`, `2w`, `1h30m` (ago), an epoch number, or an ISO date/time.

    Returns an epoch timestamp. A bare ISO date means local midnight.
    """
    value = text.strip().lower()
    current = time.time() if now is None else now
    if not value:
        raise ConfigError("--since needs a value, e.g. 24h, 30m, 7d or 2026-01-31")
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    with contextlib.suppress(ValueError):
        return current - parse_span(value)
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is not understood",
            hint="use a span like 24h, 30m, 7d or 1h30m, an epoch, or an ISO date",
        ) from None


def export_rows(
    store: HistoryStore,
    profile: str,
    since_ts: float,
    fmt: str,
    until_ts: float | None = None,
) -> str:
    """Everything recorded for `profile` since `since_ts`, as CSV or JSON text.

    JSON: {"profile", "since", "until", "samples": [...], "events": [...], "tasks": [...],
    "actions": [...], "exchanges": [...]}. CSV: one header, one row per record, the
    `record` column says which kind (sample, event, task, action, exchange); columns a
    kind lacks are empty. Exchanges are the assistant's questions: sizes and outcome,
    never the texts. Samples are
    in plain units (cpu fraction, bytes, bytes/s); `step` is 0 for raw samples and the
    bucket length in seconds for downsampled ones (their `ts` is the bucket start).
    """
    data = store.export(profile, since_ts, until_ts)
    if fmt == "json":
        doc: dict[str, Any] = {"profile": profile, "since": since_ts, "until": until_ts}
        for section in SECTIONS:
            doc[section] = [_clean(row, COLUMNS[section]) for row in data[section]]
        return json.dumps(doc, indent=1, allow_nan=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for section in SECTIONS:
            record = section.removesuffix("s")
            for row in data[section]:
                clean = _clean(row, COLUMNS[section])
                writer.writerow({"record": record, **{k: _csv(v) for k, v in clean.items()}})
        return out.getvalue()
    raise ConfigError(f"unknown export format {fmt!r}", hint="use csv or json")


def read_csv_export(text: str) -> dict[str, list[dict[str, str]]]:
    """Parse an `export_rows(..., "csv")` text back into sections (values stay strings)."""
    out: dict[str, list[dict[str, str]]] = {s: [] for s in SECTIONS}
    for row in csv.DictReader(io.StringIO(text)):
        section = row.pop("record") + "s"
        out[section].append({k: row[k] for k in COLUMNS[section]})
    return out


def stats_json(stats: Stats, backend: str = "", backlog: Backlog | None = None) -> dict[str, Any]:
    """`argus history stats`: a store's `stats()` as a JSON-ready dict.

    Keys: [backend], path, schema, file_bytes, wal_bytes, page_size, pages, free_pages,
    tables {name: {rows, bytes}}, profiles {name: {entities, last_sample, last_seen,
    resolutions {step: {points, oldest, newest}}, sample_interval, retention,
    large_cluster_policy, events}}, last_prune, sample_interval, retention, large_cluster,
    [spool]. `render_stats` turns it into lines for a terminal. What only one backend
    reports (SQLite: wal_bytes, page_size, pages, free_pages) sits beside file_bytes.
    `backend` (the store's `describe()`) comes first when given; `spool` (see
    `spool_json`) last, for a team history.
    """
    head = {"backend": backend} if backend else {}
    tail = {"spool": spool_json(backlog)} if backlog is not None else {}
    return {**head, **_stats_body(stats), **tail}


def spool_json(backlog: Backlog) -> dict[str, Any]:
    """What a team history keeps locally: {database, reachable, kept, path, reason}."""
    return {
        "database": backlog.name,
        "reachable": backlog.reachable,
        "kept": backlog.kept,
        "path": backlog.path,
        "reason": backlog.reason,
    }


def render_backend(backend: str, backlog: Backlog | None) -> str:
    """What `argus history stats` can say while the database is away: which history,
    and what waits locally."""
    lines = [f"History database {backend}"]
    if backlog is not None:
        lines.append(_spool_line(spool_json(backlog)))
    return "\n".join(lines) + "\n"


def _spool_line(spool: dict[str, Any]) -> str:
    if not spool["kept"]:
        return "  spool: nothing kept locally"
    state = "sent at the next call"
    if spool["reachable"] is False:
        state = f"sent when the team database is back ({spool['reason']})"
    return f"  spool: {spool['kept']:,} kept in {spool['path']}, to be {state}"


def _stats_body(stats: Stats) -> dict[str, Any]:
    return {
        "path": stats.location,
        "schema": stats.schema,
        "file_bytes": stats.size_bytes,
        **stats.extra,
        "tables": {n: {"rows": t.rows, "bytes": t.bytes} for n, t in stats.tables.items()},
        "profiles": {
            name: {
                "entities": info.entities,
                "last_sample": info.last_sample,
                "last_seen": info.last_seen,
                "resolutions": {
                    str(step): {"points": s.points, "oldest": s.oldest, "newest": s.newest}
                    for step, s in info.resolutions.items()
                },
                "sample_interval": info.policy.sample_interval,
                "retention": info.policy.retention.as_dict(),
                "large_cluster_policy": info.policy.large,
                "events": info.events,
            }
            for name, info in stats.profiles.items()
        },
        "last_prune": stats.last_prune,
        "sample_interval": stats.sample_interval,
        "retention": stats.retention.as_dict(),
        "large_cluster": stats.large_cluster,
    }


def render_stats(stats: dict[str, Any]) -> str:
    """Human-readable `argus history stats`."""
    size = f"  size {_bytes(stats['file_bytes'])}"
    if "wal_bytes" in stats:  # SQLite's own figures; another backend may not have them
        size += (
            f" + WAL {_bytes(stats['wal_bytes'])},"
            f" {stats['free_pages']} of {stats['pages']} pages free"
        )
    where = stats.get("backend") or stats["path"]
    lines = [
        f"History database {where} (schema {stats['schema']})",
        size,
        f"  last pruned {_when(stats['last_prune'])}",
    ]
    if "spool" in stats:
        lines.append(_spool_line(stats["spool"]))
    for name, info in sorted(stats["tables"].items()):
        if name in ("schema_version", "meta"):
            continue
        lines.append(f"  {name:<14} {info['rows']:>12,} rows  {_bytes(info['bytes']):>10}")
    for profile, info in stats["profiles"].items():
        ret = info["retention"]
        policy = "large-cluster policy" if info["large_cluster_policy"] else "policy"
        lines.append(
            f"Profile {profile}: {info['entities']} nodes and guests, {info['events']} events,"
            f" last sample {_when(info['last_sample'])}, last seen {_when(info['last_seen'])}"
        )
        lines.append(
            f"  {policy}: raw every {_span(info['sample_interval'])} for {_span(ret['raw'])},"
            f" {_span(ret['mid_step'])} avg+max for {_span(ret['mid'])},"
            f" {_span(ret['long_step'])} for {_span(ret['long'])}"
        )
        for step, span in info["resolutions"].items():
            label = "raw" if step == "0" else f"{_span(float(step))} rollups"
            lines.append(
                f"  {label:<14} {span['points']:>8,} points  {_when(span['oldest'])}"
                f" → {_when(span['newest'])}"
            )
    return "\n".join(lines) + "\n"


def prune(
    store: HistoryStore,
    now: float | None = None,
    retention: Retention | None = None,
    *,
    vacuum: bool = False,
) -> dict[str, int]:
    """`argus history prune [--vacuum]`: downsample and expire now; optionally shrink the file.

    Returns the store's counts (raw_downsampled, mid_downsampled, rollups_expired, events,
    tasks, actions) plus `bytes_freed` when vacuuming.
    """
    counts = store.prune(now=now, retention=retention)
    if vacuum:
        counts["bytes_freed"] = store.vacuum()
    return counts


def render_prune(counts: dict[str, int]) -> str:
    parts = [f"{k.replace('_', ' ')}: {v:,}" for k, v in counts.items()]
    return "pruned history: " + ", ".join(parts) + "\n"


# -- helpers ---------------------------------------------------------------------------------


def _clean(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in columns:
        value = row.get(col)
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[col] = value
    return out


def _csv(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


# -- the changes view ------------------------------------------------------------------------

#: Windows of the changes view, in the order `t` cycles through them.
CHANGE_WINDOWS = ("last", "1h", "24h", "7d", "30d")
_FIRST_LOOK = 24 * 3600.0  # with nothing recorded as seen, "since last looked" is 24 h


@dataclass(frozen=True, slots=True)
class Acted:
    """An action someone of the team took, as the changes view lists it beside the changes."""

    ts: float
    kind: str  # the action: stop, snapshot, migrate, console ...
    subject: str  # "web (101)", "node pve-a"
    detail: str  # its result, and what it was about
    operator: str  # who: ARGUS_OPERATOR, else login@host
    vmid: int | None = None
    node: str | None = None


@dataclass(frozen=True, slots=True)
class ChangesView:
    """What the changes screen shows: a window, its label, the changes and the team's
    actions, each newest first."""

    window: str
    since: float
    label: str
    changes: tuple[Change, ...]
    actions: tuple[Acted, ...] = ()


def acted(row: dict[str, Any]) -> Acted:
    """A journal row (`HistoryStore.actions`) as the changes view lists it."""
    vmid = int(row.get("vmid") or 0)
    guest, node = str(row.get("guest") or ""), str(row.get("node") or "")
    subject = f"node {node}"
    if vmid:
        subject = f"{guest} ({vmid})" if guest else f"guest {vmid}"
    target, result = str(row.get("target") or ""), str(row.get("result") or "")
    detail = f"{result} · {target}" if target and target != node else result
    return Acted(
        ts=float(row["ts"]),
        kind=str(row.get("action") or ""),
        subject=subject,
        detail=detail,
        operator=str(row.get("operator") or row.get("token_id") or ""),
        vmid=vmid or None,
        node=node or None,
    )


def change_window(window: str, now: float, last_seen: float | None) -> tuple[float, str]:
    """(since, label) of a window; "last" means since the user last opened the view."""
    if window == "last":
        if last_seen is None:
            return now - _FIRST_LOOK, "last 24 h (first look)"
        when = datetime.fromtimestamp(last_seen).strftime("%Y-%m-%d %H:%M")
        return last_seen, f"since you last looked ({when}, {_ago(now - last_seen)} ago)"
    if window not in CHANGE_WINDOWS:
        raise ConfigError(f"unknown window {window!r}", hint=", ".join(CHANGE_WINDOWS))
    return parse_since(window, now), f"last {window}"


def load_changes(
    store: HistoryStore,
    profile: str,
    window: str,
    *,
    now: float | None = None,
    last_seen: float | None = None,
    limit: int = 5000,
) -> ChangesView:
    """The changes and the actions (by anyone of the team) in a window, newest first (at
    most `limit` of each). Blocks: call from a worker."""
    current = time.time() if now is None else now
    since, label = change_window(window, current, last_seen)
    changes = store.changes(profile, since, limit=limit)
    actions = [acted(row) for row in store.actions(since, profile)[-limit:]]
    return ChangesView(window, since, label, tuple(reversed(changes)), tuple(reversed(actions)))


def unseen_changes(store: HistoryStore, profile: str, now: float | None = None) -> int:
    """How many changes arrived since the user last looked (capped at 999). Blocks."""
    current = time.time() if now is None else now
    since, _ = change_window("last", current, store.last_seen(profile))
    return len(store.changes(profile, since, limit=999))


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


# -- utilisation history: rrddata extended with the local history ---------------------------

#: How far back each rrddata timeframe reaches (PVE keeps about this much per timeframe).
TIMEFRAME_SPAN = {"hour": 3600.0, "day": 86400.0, "week": 7 * 86400.0}
#: rrddata field for each local field, per kind; totals come from the current snapshot.
_RRD_FIELD = {
    "node": {"cpu": "cpu", "mem": "memused", "disk": "rootused"},
    "guest": {f: f for f in GUEST_FIELDS},
}


def usage_rows(
    store: HistoryStore,
    profile: str,
    kind: str,
    key: str | int,
    timeframe: str,
    rrd_rows: list[dict[str, float]] | None,
    totals: dict[str, float],
    now: float | None = None,
) -> list[dict[str, float]]:
    """rrddata rows, with the local history before rrddata's first point (or instead of it).

    rrddata is the server's record and wins where it has points; the local history fills
    in the rest of the window: when the server has no rrddata (an offline node answers
    595, a new guest has none yet) or its data starts later. `totals` (memtotal, maxmem,
    roottotal…) come from the snapshot, since the history keeps used values only.
    Blocks: call from a worker.
    """
    current = time.time() if now is None else now
    since = current - TIMEFRAME_SPAN.get(timeframe, 3600.0)
    rrd = rrd_rows or []
    stamps = [row["time"] for row in rrd if "time" in row]
    first = min(stamps) if stamps else math.inf
    local: dict[float, dict[str, float]] = {}
    for field, rrd_field in _RRD_FIELD[kind].items():
        if kind == "node":
            points = store.node_series(profile, str(key), field, since, min(first, current + 1))
        else:
            points = store.guest_series(profile, int(key), field, since, min(first, current + 1))
        for ts, value in points:
            local.setdefault(ts, {"time": ts, **totals})[rrd_field] = value
    return [local[ts] for ts in sorted(local)] + list(rrd)
