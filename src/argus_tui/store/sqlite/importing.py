"""Rows of an export added to the file, each only once: `argus history copy` may be rerun.

Samples and rollups have primary keys (INSERT OR IGNORE skips what is there); events,
actions and exchanges have none, so each row is added only when no row with the same
identity exists (see `HistoryStore.import_rows`); tasks are keyed by UPID.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..records import EXCHANGE_FIELDS, GUEST_FIELDS, Export
from ..samples import Encoded, encode

_VALUES = ", ".join(GUEST_FIELDS)
_ROLLUP_VALUES = ", ".join(c for f in GUEST_FIELDS for c in (f, f"{f}_max"))
_ACTION_COLUMNS = (
    "ts",
    "token_id",
    "vmid",
    "guest",
    "node",
    "action",
    "upid",
    "result",
    "duration",
    "target",
    "operator",
)
_EXCHANGE_COLUMNS = EXCHANGE_FIELDS


def import_rows(conn: sqlite3.Connection, profile: str, rows: Export) -> dict[str, int]:
    """Add `rows` to `profile` inside the caller's transaction; how many of each were new."""
    return {
        "samples": _samples(conn, profile, [encode(r) for r in rows.get("samples", [])]),
        "events": _events(conn, profile, rows.get("events", [])),
        "tasks": _tasks(conn, profile, rows.get("tasks", [])),
        "actions": _journal(
            conn,
            profile,
            "actions",
            _ACTION_COLUMNS,
            ("ts", "vmid", "action", "upid"),
            rows.get("actions", []),
        ),
        "exchanges": _journal(
            conn,
            profile,
            "exchanges",
            _EXCHANGE_COLUMNS,
            ("ts", "model", "question"),
            rows.get("exchanges", []),
        ),
    }


def _entity_ids(
    conn: sqlite3.Connection, profile: str, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    conn.executemany(
        "INSERT OR IGNORE INTO entities (profile, kind, key) VALUES (?, ?, ?)",
        [(profile, kind, key) for kind, key in dict.fromkeys(keys)],  # in the export's order
    )
    return {
        (kind, key): eid
        for eid, kind, key in conn.execute(
            "SELECT id, kind, key FROM entities WHERE profile = ?", [profile]
        )
    }


def _samples(conn: sqlite3.Connection, profile: str, samples: list[Encoded]) -> int:
    if not samples:
        return 0
    ids = _entity_ids(conn, profile, ((s.kind, s.key) for s in samples))
    raw: list[tuple[Any, ...]] = [
        (s.ts, ids[(s.kind, s.key)], s.status, *s.values) for s in samples if s.step == 0
    ]
    raw.sort(key=lambda r: (r[0], r[1]))  # in key order: a few pages per second of samples
    rollups: list[tuple[Any, ...]] = [
        (
            s.step,
            s.ts,
            ids[(s.kind, s.key)],
            s.n,
            s.up,
            *(v for pair in zip(s.values, s.maxima, strict=True) for v in pair),
        )
        for s in samples
        if s.step
    ]
    added = 0
    if raw:
        cur = conn.executemany(
            f"INSERT OR IGNORE INTO samples (ts, entity, status, {_VALUES})"  # noqa: S608 (constants)
            f" VALUES ({', '.join('?' for _ in raw[0])})",
            raw,
        )
        added += max(cur.rowcount, 0)
    if rollups:
        cur = conn.executemany(
            f"INSERT OR IGNORE INTO rollups (step, ts, entity, n, up, {_ROLLUP_VALUES})"  # noqa: S608 (constants)
            f" VALUES ({', '.join('?' for _ in rollups[0])})",
            rollups,
        )
        added += max(cur.rowcount, 0)
    conn.executemany(
        "INSERT OR IGNORE INTO timeline (profile, step, ts) VALUES (?, ?, ?)",
        sorted({(profile, s.step, s.ts) for s in samples}),
    )
    newest = max((s.ts for s in samples if s.step == 0), default=None)
    entities = len({(s.kind, s.key) for s in samples})
    # The profile is listed by `stats()` from profile_state; the recorder's own version
    # counter is left alone (it compares pictures, which an import does not bring).
    conn.execute(
        "INSERT INTO profile_state (profile, last_sample, size) VALUES (?, ?, ?)"
        " ON CONFLICT (profile) DO UPDATE SET"
        " last_sample = max(coalesce(last_sample, 0), coalesce(excluded.last_sample, 0)),"
        " size = max(size, excluded.size)",
        [profile, newest, entities],
    )
    return added


def _events(conn: sqlite3.Connection, profile: str, events: list[dict[str, Any]]) -> int:
    if not events:
        return 0
    cur = conn.executemany(
        "INSERT INTO events (ts, profile, kind, subject, detail, vmid, node)"
        " SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM events"
        " WHERE profile = ? AND ts = ? AND kind = ? AND subject = ?)",
        [
            (
                e["ts"],
                profile,
                e["kind"],
                e["subject"],
                e.get("detail") or "",
                e.get("vmid"),
                e.get("node"),
                profile,
                e["ts"],
                e["kind"],
                e["subject"],
            )
            for e in events
        ],
    )
    return max(cur.rowcount, 0)


def _tasks(conn: sqlite3.Connection, profile: str, tasks: list[dict[str, Any]]) -> int:
    if not tasks:
        return 0
    now = time.time()
    cur = conn.executemany(
        "INSERT OR IGNORE INTO tasks (upid, profile, node, type, id, user, starttime,"
        " endtime, status, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                t["upid"],
                profile,
                t.get("node"),
                t.get("type"),
                t.get("id"),
                t.get("user"),
                t.get("starttime"),
                t.get("endtime"),
                t.get("status"),
                now,
            )
            for t in tasks
        ],
    )
    return max(cur.rowcount, 0)


def _journal(
    conn: sqlite3.Connection,
    profile: str,
    table: str,
    columns: tuple[str, ...],
    identity: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Journal rows (actions, exchanges) not already there by `identity`."""
    if not rows:
        return 0
    marks = ", ".join("?" for _ in range(len(columns) + 1))
    same = " AND ".join(f"{c} = ?" for c in identity)
    cur = conn.executemany(
        f"INSERT INTO {table} (profile, {', '.join(columns)}) SELECT {marks}"  # noqa: S608 (constants)
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE profile = ? AND {same})",
        [
            (
                profile,
                *(_journal_value(row, c) for c in columns),
                profile,
                *(row.get(c) for c in identity),
            )
            for row in rows
        ],
    )
    return max(cur.rowcount, 0)


def _journal_value(row: Mapping[str, Any], column: str) -> Any:
    """A missing text column is empty, as the schema's defaults make it."""
    value = row.get(column)
    if value is None and column in ("target", "operator", "subject", "error"):
        return ""
    return value
