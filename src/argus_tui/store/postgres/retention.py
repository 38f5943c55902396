"""Downsampling and expiry in the team database, by one instance at a time.

The steps are the SQLite backend's: raw rows older than `raw` fold into `mid_step`
avg+max rows, those older than `mid` into `long_step` rows; rollups older than `long`
and journal rows older than `journal` go. Whoever holds the advisory lock PRUNE_LOCK
prunes; another instance trying meanwhile skips silently (the work is being done).
Every step works in chunks of about CHUNK_ROWS rows per transaction, so a day of
10,000 guests never becomes one long transaction holding back the recorders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import psycopg

from ..records import GUEST_FIELDS, Retention
from .connection import Database
from .schema import Conn

#: Rows per write transaction while pruning.
CHUNK_ROWS = 20_000
#: pg_try_advisory_lock key: one pruner per database.
PRUNE_LOCK = 0x4152_4755_5302  # "ARGUS" 2
COUNTS = (
    "raw_downsampled",
    "mid_downsampled",
    "rollups_expired",
    "events",
    "tasks",
    "actions",
    "exchanges",
)


@contextmanager
def pruner(conn: Conn) -> Iterator[bool]:
    """Hold the prune lock for the block; yields False (and holds nothing) when another
    instance holds it."""
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [PRUNE_LOCK]).fetchone()
    held = bool(row and row[0])
    try:
        yield held
    finally:
        if held and not conn.broken:
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", [PRUNE_LOCK])


def prune(
    db: Database,
    conn: Conn,
    now: float,
    retention_for: Callable[[int], Retention],
    journal: float,
) -> dict[str, int]:
    """Downsample and expire every profile as of `now`; the rows each step handled.

    Call holding the prune lock. `retention_for(size)` is the retention of a profile of
    `size` nodes + guests; journal rows older than `journal` seconds go. Records the time
    in meta.last_prune.
    """
    counts = dict.fromkeys(COUNTS, 0)
    for profile, size in conn.execute("SELECT profile, size FROM profile_state").fetchall():
        ret = retention_for(size)
        counts["raw_downsampled"] += _downsample(
            db, conn, profile, 0, 1, ret.mid_step, _align(now - ret.raw, ret.mid_step)
        )
        counts["mid_downsampled"] += _downsample(
            db, conn, profile, 1, ret.long_step, ret.long_step, _align(now - ret.mid, ret.long_step)
        )
        counts["rollups_expired"] += _expire(db, conn, profile, now - ret.long)
    cutoff = now - journal
    counts["events"] = _chunked_delete(db, conn, "events", "id", "ts < %s", cutoff)
    counts["tasks"] = _chunked_delete(
        db, conn, "tasks", "upid", "coalesce(starttime, seen) < %s", cutoff
    )
    counts["actions"] = _chunked_delete(db, conn, "actions", "id", "ts < %s", cutoff)
    counts["exchanges"] = _chunked_delete(db, conn, "exchanges", "id", "ts < %s", cutoff)
    with db.transaction(conn):
        conn.execute(
            "INSERT INTO meta VALUES ('last_prune', %s)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [repr(float(now))],
        )
    return counts


def _align(ts: float, step: int) -> int:
    t = math.floor(ts)
    return t - t % step


def _entity_count(conn: Conn, profile: str) -> int:
    """Rows per timestamp of `profile` (at least 1): how many rows a chunk of points is."""
    row = conn.execute("SELECT count(*) FROM entities WHERE profile = %s", [profile]).fetchone()
    return max(1, int(row[0]) if row else 0)


def _downsample(
    db: Database, conn: Conn, profile: str, lo_step: int, hi_step: int, step: int, cutoff: int
) -> int:
    """Fold rows with lo_step <= step < hi_step and ts < cutoff into `step` buckets.

    lo_step 0 = raw samples (averaged, max of values); otherwise rollups of a finer
    step (weighted by n, max of maxima). Chunks end on bucket boundaries.
    """
    source = conn.execute(
        "SELECT ts FROM timeline WHERE profile = %s AND step >= %s AND step < %s"
        " AND ts < %s ORDER BY ts",
        [profile, lo_step, hi_step, cutoff],
    ).fetchall()
    if not source:
        return 0
    per_point = _entity_count(conn, profile)
    query = _fold_sql(raw=lo_step == 0)
    consumed, first, points = 0, source[0][0], 0
    for i, (ts,) in enumerate(source):
        points += 1
        nxt = source[i + 1][0] if i + 1 < len(source) else None
        boundary = nxt is None or (nxt - nxt % step) != (ts - ts % step)
        if (boundary and points * per_point >= CHUNK_ROWS) or nxt is None:
            params = {"p": profile, "lo": first, "hi": ts, "step": step,
                      "lo_step": lo_step, "hi_step": hi_step}  # fmt: skip
            with db.transaction(conn):
                row = conn.execute(query, params).fetchone()
            consumed += int(row[0]) if row else 0
            first, points = nxt, 0
    return consumed


def _fold_sql(*, raw: bool) -> str:
    """One statement that moves the rows of [lo, hi] into `step` rollups.

    The rows are deleted and folded in the same statement (a data-modifying WITH), so
    what was folded is exactly what was deleted, whatever other instances write
    meanwhile. A bucket that already has a row (a late sample, an earlier chunk) is
    merged into it, weighted by the samples each holds.
    """
    if raw:
        moved = (
            "DELETE FROM samples s USING entities e WHERE e.profile = %(p)s AND s.entity = e.id"
            " AND s.ts >= %(lo)s AND s.ts <= %(hi)s RETURNING s.*"
        )
        values = ", ".join(f"round(avg({f}))::bigint, max({f})" for f in GUEST_FIELDS)
        count, up = "count(*)", "count(*) FILTER (WHERE status = 1)"
    else:
        moved = (
            "DELETE FROM rollups r USING entities e WHERE e.profile = %(p)s AND r.entity = e.id"
            " AND r.step >= %(lo_step)s AND r.step < %(hi_step)s"
            " AND r.ts >= %(lo)s AND r.ts <= %(hi)s RETURNING r.*"
        )
        values = ", ".join(
            f"round(sum({f} * n)::numeric / nullif(sum(CASE WHEN {f} IS NULL THEN 0"
            f" ELSE n END), 0))::bigint, max({f}_max)"
            for f in GUEST_FIELDS
        )
        count, up = "sum(n)", "sum(up)"
    merge = ", ".join(
        f"{f} = CASE WHEN r.{f} IS NULL THEN excluded.{f} WHEN excluded.{f} IS NULL"
        f" THEN r.{f} ELSE round((r.{f} * r.n + excluded.{f} * excluded.n)::numeric"
        f" / (r.n + excluded.n))::bigint END, {f}_max = greatest(r.{f}_max, excluded.{f}_max)"
        for f in GUEST_FIELDS
    )
    cols = ", ".join(f"{f}, {f}_max" for f in GUEST_FIELDS)
    return (
        f"WITH moved AS ({moved}),"  # noqa: S608 (built from constants)
        f" folded AS (INSERT INTO rollups AS r (entity, step, ts, n, up, {cols})"
        f" SELECT entity, %(step)s, ts - ts %% %(step)s, {count}, {up}, {values}"
        " FROM moved GROUP BY 1, 3"
        f" ON CONFLICT (entity, step, ts) DO UPDATE SET {merge},"
        " n = r.n + excluded.n, up = r.up + excluded.up),"
        " dropped AS (DELETE FROM timeline WHERE profile = %(p)s AND step >= %(lo_step)s"
        " AND step < %(hi_step)s AND ts >= %(lo)s AND ts <= %(hi)s),"
        " added AS (INSERT INTO timeline SELECT DISTINCT %(p)s, %(step)s, ts - ts %% %(step)s"
        " FROM moved ON CONFLICT DO NOTHING)"
        " SELECT count(*) FROM moved"
    )


def _expire(db: Database, conn: Conn, profile: str, cutoff: float) -> int:
    """Delete samples and rollups whose time span ended before `cutoff`, in chunks."""
    old = conn.execute(
        "SELECT step, ts FROM timeline WHERE profile = %s AND ts + greatest(step, 1) <= %s"
        " ORDER BY ts",
        [profile, cutoff],
    ).fetchall()
    if not old:
        return 0
    per_chunk = max(1, CHUNK_ROWS // _entity_count(conn, profile))
    deleted = 0
    for start in range(0, len(old), per_chunk):
        chunk = old[start : start + per_chunk]
        steps, stamps = [s for s, _ in chunk], [t for _, t in chunk]
        with db.transaction(conn):
            cur = conn.execute(
                "DELETE FROM samples s USING entities e WHERE e.profile = %s"
                " AND s.entity = e.id AND s.ts = ANY(%s::bigint[])",
                [profile, [t for s, t in chunk if s == 0]],
            )
            deleted += max(cur.rowcount, 0)
            cur = conn.execute(
                "DELETE FROM rollups r USING entities e, unnest(%s::int[], %s::bigint[])"
                " AS pt(step, ts) WHERE e.profile = %s AND r.entity = e.id"
                " AND r.step = pt.step AND r.ts = pt.ts AND pt.step > 0",
                [steps, stamps, profile],
            )
            deleted += max(cur.rowcount, 0)
            conn.execute(
                "DELETE FROM timeline t USING unnest(%s::int[], %s::bigint[]) AS pt(step, ts)"
                " WHERE t.profile = %s AND t.step = pt.step AND t.ts = pt.ts",
                [steps, stamps, profile],
            )
    return deleted


def _chunked_delete(
    db: Database, conn: Conn, table: str, key: str, where: str, cutoff: float
) -> int:
    """Delete journal rows in chunks of CHUNK_ROWS, so other writers never wait long."""
    total = 0
    while True:
        with db.transaction(conn):
            cur = conn.execute(
                f"DELETE FROM {table} WHERE {key} IN"  # noqa: S608 (identifiers are constants)
                f" (SELECT {key} FROM {table} WHERE {where} LIMIT {CHUNK_ROWS})",
                [cutoff],
            )
        total += max(cur.rowcount, 0)
        if cur.rowcount < CHUNK_ROWS:
            return total


def total_bytes(conn: Conn, tables: tuple[str, ...]) -> int:
    """What the history's tables take on disk, with their indexes."""
    row = conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0) FROM unnest(%s::text[]) t",
        [list(tables)],
    ).fetchone()
    return int(row[0]) if row else 0


def vacuum(conn: Conn, tables: tuple[str, ...]) -> int:
    """VACUUM the history's tables (outside a transaction); returns bytes given back.

    A plain VACUUM: it makes dead rows' space reusable and returns trailing pages, without
    the exclusive lock of VACUUM FULL that would stop every other instance's writes.
    """
    before = total_bytes(conn, tables)
    conn.execute("VACUUM (ANALYZE) " + ", ".join(tables))
    return max(0, before - total_bytes(conn, tables))
