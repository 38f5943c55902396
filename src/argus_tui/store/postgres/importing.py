"""Rows of an export added to the team database, each only once (`argus history copy`).

Samples keep their keys: a raw sample goes into its (entity, bucket) unless that bucket
is taken, a rollup into its (entity, step, ts); both travel by COPY through temporary
tables, a day of a large cluster being millions of rows. Events, actions and exchanges
have no natural key: each row is added only when none with the same identity exists
(see `HistoryStore.import_rows`); tasks are keyed by UPID. One import at a time per
database (an advisory lock), so two copies running together cannot both add a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..records import GUEST_FIELDS, Export, Policy
from ..samples import Encoded, encode
from .recording import bucket
from .schema import Conn

#: pg_advisory_xact_lock key for imports.
IMPORT_LOCK = 0x4152_4755_5303  # "ARGUS" 3
_VALUES = ", ".join(GUEST_FIELDS)
_ROLLUP_VALUES = ", ".join(c for f in GUEST_FIELDS for c in (f, f"{f}_max"))
_ACTIONS = ("ts", "token_id", "vmid", "guest", "node", "action", "upid", "result",
            "duration", "target", "operator")  # fmt: skip
_EXCHANGES = ("ts", "model", "subject", "question", "context_chars", "answer_chars",
              "outcome", "error", "duration")  # fmt: skip
_TYPES = {"ts": "float8", "vmid": "int4", "duration": "float8", "context_chars": "int4",
          "answer_chars": "int4"}  # fmt: skip
_TEXT_DEFAULTS = ("target", "operator", "subject", "error", "detail")


def create_staging(conn: Conn) -> None:
    """The per-connection table rollups are copied into before the insert that skips
    what is there (samples use the recorder's)."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS staging_rollups (LIKE rollups) ON COMMIT DELETE ROWS"
    )


def import_rows(
    conn: Conn, profile: str, rows: Export, policy: Callable[[int], Policy]
) -> dict[str, int]:
    """Add `rows` to `profile` inside the caller's transaction; how many of each were new.

    `policy(size)` gives the sample interval raw samples are bucketed by.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
    return {
        "samples": _samples(conn, profile, [encode(r) for r in rows.get("samples", [])], policy),
        "events": _journal(conn, profile, "events",
                           ("ts", "kind", "subject", "detail", "vmid", "node"),
                           ("ts", "kind", "subject"), rows.get("events", [])),
        "tasks": _tasks(conn, profile, rows.get("tasks", [])),
        "actions": _journal(conn, profile, "actions", _ACTIONS,
                            ("ts", "vmid", "action", "upid"), rows.get("actions", [])),
        "exchanges": _journal(conn, profile, "exchanges", _EXCHANGES,
                              ("ts", "model", "question"), rows.get("exchanges", [])),
    }  # fmt: skip


def _entity_ids(conn: Conn, profile: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    ordered = sorted(keys)
    kinds, names = [k for k, _ in ordered], [n for _, n in ordered]
    conn.execute(
        "INSERT INTO entities (profile, kind, key) SELECT %s, * FROM"
        " unnest(%s::text[], %s::text[]) ORDER BY 2, 3 ON CONFLICT DO NOTHING",
        [profile, kinds, names],
    )
    rows = conn.execute(
        "SELECT id, kind, key FROM entities WHERE profile = %s AND (kind, key) IN"
        " (SELECT * FROM unnest(%s::text[], %s::text[]))",
        [profile, kinds, names],
    ).fetchall()
    return {(kind, key): eid for eid, kind, key in rows}


def _samples(
    conn: Conn, profile: str, samples: list[Encoded], policy: Callable[[int], Policy]
) -> int:
    if not samples:
        return 0
    keys = {(s.kind, s.key) for s in samples}
    ids = _entity_ids(conn, profile, keys)
    interval = policy(len(keys)).sample_interval
    raw = sorted(
        (ids[(s.kind, s.key)], bucket(s.ts, interval), s.ts, s.status, *s.values)
        for s in samples
        if s.step == 0
    )
    rollups = sorted(
        (ids[(s.kind, s.key)], s.step, s.ts, s.n, s.up,
         *(v for pair in zip(s.values, s.maxima, strict=True) for v in pair))
        for s in samples
        if s.step
    )  # fmt: skip
    points: set[tuple[int, int]] = set()
    added = 0
    with conn.cursor() as cur:
        if raw:
            types = ["int4", "int8", "int8", "int2"] + ["int8"] * len(GUEST_FIELDS)
            _copy(cur, "staging_samples", f"entity, bucket, ts, status, {_VALUES}", raw, types)
            cur.execute(
                f"INSERT INTO samples (entity, bucket, ts, status, {_VALUES})"  # noqa: S608 (constants)
                f" SELECT entity, bucket, ts, status, {_VALUES} FROM staging_samples"
                " ORDER BY ts, entity ON CONFLICT DO NOTHING RETURNING 0, ts"
            )
            went_in = cur.fetchall()
            added += len(went_in)
            points.update(went_in)
        if rollups:
            types = ["int4", "int4", "int8", "int4", "int4"] + ["int8"] * 2 * len(GUEST_FIELDS)
            columns = f"entity, step, ts, n, up, {_ROLLUP_VALUES}"
            _copy(cur, "staging_rollups", columns, rollups, types)
            cur.execute(
                f"INSERT INTO rollups (entity, step, ts, n, up, {_ROLLUP_VALUES})"  # noqa: S608 (constants)
                f" SELECT entity, step, ts, n, up, {_ROLLUP_VALUES} FROM staging_rollups"
                " ORDER BY ts, entity ON CONFLICT DO NOTHING RETURNING step, ts"
            )
            went_in = cur.fetchall()
            added += len(went_in)
            points.update(went_in)
        ordered = sorted(points)
        cur.execute(
            "INSERT INTO timeline SELECT %s, * FROM unnest(%s::int[], %s::bigint[])"
            " ON CONFLICT DO NOTHING",
            [profile, [p[0] for p in ordered], [p[1] for p in ordered]],
        )
    newest = max((s.ts for s in samples if s.step == 0), default=None)
    # The profile is listed by `stats()` from profile_state; the recorder's own version
    # counter is left alone (it compares pictures, which an import does not bring).
    conn.execute(
        "INSERT INTO profile_state AS p (profile, last_sample, size) VALUES (%s, %s, %s)"
        " ON CONFLICT (profile) DO UPDATE SET"
        " last_sample = greatest(p.last_sample, excluded.last_sample),"
        " size = greatest(p.size, excluded.size)",
        [profile, newest, len(keys)],
    )
    return added


def _copy(
    cur: Any, table: str, columns: str, rows: list[tuple[Any, ...]], types: list[str]
) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _tasks(conn: Conn, profile: str, tasks: Sequence[Mapping[str, Any]]) -> int:
    if not tasks:
        return 0
    now = time.time()
    with conn.cursor() as cur:
        cur.executemany(
            'INSERT INTO tasks (upid, profile, node, type, id, "user", starttime, endtime,'
            " status, seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (upid) DO NOTHING",
            [(t["upid"], profile, t.get("node"), t.get("type"), t.get("id"), t.get("user"),
              t.get("starttime"), t.get("endtime"), t.get("status"), now)
             for t in sorted(tasks, key=lambda t: str(t["upid"]))],
        )  # fmt: skip
        return max(cur.rowcount, 0)


def _journal(
    conn: Conn,
    profile: str,
    table: str,
    columns: tuple[str, ...],
    identity: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> int:
    """Journal rows (events, actions, exchanges) not already there by `identity`, in the
    order given (so their ids keep the export's order)."""
    if not rows:
        return 0
    arrays = [[_value(r, c) for r in rows] for c in columns]
    unnest = ", ".join(f"%s::{_TYPES.get(c, 'text')}[]" for c in columns)
    same = " AND ".join(f"t.{c} = v.{c}" for c in identity)
    key = ", ".join(identity)
    cols = ", ".join(columns)
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (profile, {cols}) SELECT %s, {cols} FROM"  # noqa: S608 (identifiers are constants)
            f" (SELECT DISTINCT ON ({key}) * FROM unnest({unnest}) WITH ORDINALITY"
            f" AS u({cols}, ord) ORDER BY {key}, ord) v"
            f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.profile = %s AND {same})"
            " ORDER BY ord",
            [profile, *arrays, profile],
        )
        return max(cur.rowcount, 0)


def _value(row: Mapping[str, Any], column: str) -> Any:
    """A missing text column is empty, as the schema's defaults make it."""
    value = row.get(column)
    if value is None and column in _TEXT_DEFAULTS:
        return ""
    return value
