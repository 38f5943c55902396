"""Downsampling and expiry: raw samples fold into rollups, old rows and journals go.

raw rows older than `raw` become `mid_step` avg+max rows; those older than `mid` become
`long_step` rows; rollups older than `long` and events, tasks, actions and exchanges
older than `journal` are deleted. Every step works in chunks of about CHUNK_ROWS rows per
transaction, so another process's refresh never waits long for the write lock.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from typing import Any

from ..records import GUEST_FIELDS, Retention
from .connection import HistoryFile

#: Rows per write transaction while pruning, so other writers never wait long.
CHUNK_ROWS = 20_000


def prune(
    file: HistoryFile,
    conn: sqlite3.Connection,
    now: float,
    retention_for: Callable[[int], Retention],
    journal: float,
) -> dict[str, int]:
    """Downsample and expire every profile as of `now`; the rows each step handled.

    `retention_for(size)` is the retention of a profile of `size` nodes + guests; journal
    rows older than `journal` seconds go. Records the time in meta.last_prune.
    """
    counts = {
        "raw_downsampled": 0,
        "mid_downsampled": 0,
        "rollups_expired": 0,
        "events": 0,
        "tasks": 0,
        "actions": 0,
        "exchanges": 0,
    }
    for profile, size in conn.execute("SELECT profile, size FROM profile_state").fetchall():
        ret = retention_for(size)
        counts["raw_downsampled"] += _downsample(
            file, conn, profile, 0, 1, ret.mid_step, _align(now - ret.raw, ret.mid_step)
        )
        counts["mid_downsampled"] += _downsample(
            file,
            conn,
            profile,
            1,
            ret.long_step,
            ret.long_step,
            _align(now - ret.mid, ret.long_step),
        )
        counts["rollups_expired"] += _expire_rollups(file, conn, profile, now - ret.long)
    cutoff = now - journal
    counts["events"] = _chunked_delete(file, conn, "events", "ts < ?", cutoff)
    counts["tasks"] = _chunked_delete(file, conn, "tasks", "coalesce(starttime, seen) < ?", cutoff)
    counts["actions"] = _chunked_delete(file, conn, "actions", "ts < ?", cutoff)
    counts["exchanges"] = _chunked_delete(file, conn, "exchanges", "ts < ?", cutoff)
    with file.transaction(conn):
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_prune', ?)", [repr(float(now))])
    return counts


def _align(ts: float, step: int) -> int:
    t = math.floor(ts)
    return t - t % step


def _entity_count(conn: sqlite3.Connection, profile: str) -> int:
    """Rows per timestamp of `profile` (at least 1): how many rows a chunk of points is."""
    row = conn.execute("SELECT count(*) FROM entities WHERE profile = ?", [profile]).fetchone()
    return max(1, int(row[0]))


def _downsample(
    file: HistoryFile,
    conn: sqlite3.Connection,
    profile: str,
    lo_step: int,
    hi_step: int,
    step: int,
    cutoff: int,
) -> int:
    """Fold rows with lo_step <= step < hi_step and ts < cutoff into `step` buckets.

    lo_step 0 = raw samples (averaged, max of values); otherwise rollups of a finer
    step (weighted by n, max of maxima). Works bucket-aligned, in chunks.
    """
    source = conn.execute(
        "SELECT step, ts FROM timeline WHERE profile = ? AND step >= ? AND step < ?"
        " AND ts < ? ORDER BY ts",
        [profile, lo_step, hi_step, cutoff],
    ).fetchall()
    if not source:
        return 0
    per_point = _entity_count(conn, profile)
    consumed = 0
    chunk: list[tuple[int, int]] = []
    for i, (src_step, ts) in enumerate(source):
        chunk.append((src_step, ts))
        nxt = source[i + 1][1] if i + 1 < len(source) else None
        boundary = nxt is None or (nxt - nxt % step) != (ts - ts % step)
        if (boundary and len(chunk) * per_point >= CHUNK_ROWS) or nxt is None:
            with file.transaction(conn):
                consumed += _fold(conn, profile, chunk, step, raw=lo_step == 0)
            chunk = []
    return consumed


def _fold_sql(raw: bool) -> str:
    """INSERT .. SELECT that folds the points in temp.fold into rollups of one step."""
    if raw:
        values = ", ".join(f"CAST(round(avg(s.{f})) AS INTEGER), max(s.{f})" for f in GUEST_FIELDS)
        source = (
            "FROM temp.fold f CROSS JOIN samples s ON s.ts = f.ts"
            " JOIN entities e ON e.id = s.entity AND e.profile = ?"
        )
        count, up = "count(*)", "sum(s.status = 1)"
    else:
        values = ", ".join(
            f"CAST(round(sum(s.{f} * s.n) * 1.0 / nullif(sum(CASE WHEN s.{f} IS NULL"
            f" THEN 0 ELSE s.n END), 0)) AS INTEGER), max(s.{f}_max)"
            for f in GUEST_FIELDS
        )
        source = (
            "FROM temp.fold f CROSS JOIN rollups s ON s.step = f.step AND s.ts = f.ts"
            " JOIN entities e ON e.id = s.entity AND e.profile = ?"
        )
        count, up = "sum(s.n)", "sum(s.up)"
    # A bucket that already has a row (a late sample, another process) is merged into it.
    merge = ", ".join(
        f"{f} = CASE WHEN {f} IS NULL THEN excluded.{f} WHEN excluded.{f} IS NULL"
        f" THEN {f} ELSE CAST(round(({f} * n + excluded.{f} * excluded.n) * 1.0"
        f" / (n + excluded.n)) AS INTEGER) END, {f}_max = max(coalesce({f}_max,"
        f" excluded.{f}_max), coalesce(excluded.{f}_max, {f}_max))"
        for f in GUEST_FIELDS
    )
    cols = ", ".join(f"{f}, {f}_max" for f in GUEST_FIELDS)
    return (
        f"INSERT INTO rollups (step, ts, entity, n, up, {cols})"
        f" SELECT ?, s.ts - s.ts % ?, s.entity, {count}, {up}, {values}"
        f" {source} WHERE true GROUP BY 2, 3"
        f" ON CONFLICT (step, ts, entity) DO UPDATE SET {merge},"
        " n = n + excluded.n, up = up + excluded.up"
    )


def _fold(
    conn: sqlite3.Connection, profile: str, points: list[tuple[int, int]], step: int, *, raw: bool
) -> int:
    """Fold `points` (step, ts) into `step` rollups; inside a transaction."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS fold (step INTEGER, ts INTEGER)")
    conn.execute("DELETE FROM temp.fold")
    conn.executemany("INSERT INTO temp.fold VALUES (?, ?)", points)
    conn.execute(_fold_sql(raw), [step, step, profile])
    if raw:
        cur = conn.execute(
            "DELETE FROM samples WHERE ts IN (SELECT ts FROM temp.fold)"
            " AND entity IN (SELECT id FROM entities WHERE profile = ?)",
            [profile],
        )
    else:
        cur = conn.execute(
            "DELETE FROM rollups WHERE (step, ts) IN (SELECT step, ts FROM temp.fold)"
            " AND entity IN (SELECT id FROM entities WHERE profile = ?)",
            [profile],
        )
    consumed = cur.rowcount
    conn.execute(
        "INSERT OR IGNORE INTO timeline SELECT DISTINCT ?, ?, ts - ts % ? FROM temp.fold",
        [profile, step, step],
    )
    conn.executemany(
        "DELETE FROM timeline WHERE profile = ? AND step = ? AND ts = ?",
        [(profile, s, t) for s, t in points],
    )
    conn.execute("DELETE FROM temp.fold")
    return consumed


def _expire_rollups(
    file: HistoryFile, conn: sqlite3.Connection, profile: str, cutoff: float
) -> int:
    old = conn.execute(
        "SELECT step, ts FROM timeline WHERE profile = ? AND ts + max(step, 1) <= ? ORDER BY ts",
        [profile, cutoff],
    ).fetchall()
    if not old:
        return 0
    per_chunk = max(1, CHUNK_ROWS // _entity_count(conn, profile))
    deleted = 0
    for start in range(0, len(old), per_chunk):
        chunk = old[start : start + per_chunk]
        with file.transaction(conn):
            for step, ts in chunk:
                table = "samples" if step == 0 else "rollups"
                where = "ts = ?" if step == 0 else "step = ? AND ts = ?"
                params: list[Any] = [ts] if step == 0 else [step, ts]
                cur = conn.execute(
                    f"DELETE FROM {table} WHERE {where}"  # noqa: S608 (identifiers are constants)
                    " AND entity IN (SELECT id FROM entities WHERE profile = ?)",
                    [*params, profile],
                )
                deleted += cur.rowcount
            conn.executemany(
                "DELETE FROM timeline WHERE profile = ? AND step = ? AND ts = ?",
                [(profile, s, t) for s, t in chunk],
            )
    return deleted


def _chunked_delete(
    file: HistoryFile, conn: sqlite3.Connection, table: str, where: str, cutoff: float
) -> int:
    """Delete journal rows in chunks of CHUNK_ROWS, so other writers never wait long."""
    total = 0
    while True:
        with file.transaction(conn):
            cur = conn.execute(
                f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608 (identifiers are constants)
                f" (SELECT rowid FROM {table} WHERE {where} LIMIT {CHUNK_ROWS})",
                [cutoff],
            )
        total += max(cur.rowcount, 0)
        if cur.rowcount < CHUNK_ROWS:
            return total


def vacuum(conn: sqlite3.Connection) -> int:
    """Give free pages back to the file system; returns bytes saved. Blocks writers."""
    size = "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
    before = conn.execute(size).fetchone()[0]
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return int(before - conn.execute(size).fetchone()[0])
