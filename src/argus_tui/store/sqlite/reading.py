"""Reading the file back: series, changes, journals, the export and the statistics.

Plain functions over the reader connection; `SqliteHistory` holds the connection's lock
around each call and turns SQLite errors into StoreErrors.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..records import Change, Export, Policy, ProfileStats, Span, TableStats
from ..samples import SCALE, decode

#: "No upper bound" for a ts range: later than any timestamp.
END = 2**62


def dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def journal_rows(
    conn: sqlite3.Connection, table: str, columns: str, since: float, profile: str | None
) -> list[dict[str, Any]]:
    """Journal rows (actions, exchanges) since `since`, oldest first."""
    sql = f"SELECT {columns} FROM {table} WHERE ts >= ?"  # noqa: S608 (constants)
    params: list[Any] = [since]
    if profile is not None:
        sql += " AND profile = ?"
        params.append(profile)
    return dicts(conn.execute(sql + " ORDER BY ts, id", params))


def tasks(conn: sqlite3.Connection, profile: str, since: float) -> list[dict[str, Any]]:
    return dicts(
        conn.execute(
            "SELECT upid, node, type, id, user, starttime, endtime, status FROM tasks"
            " WHERE profile = ? AND starttime >= ? ORDER BY starttime, upid",
            [profile, since],
        )
    )


def series(
    conn: sqlite3.Connection,
    profile: str,
    kind: str,
    key: str,
    field: str,
    since: float,
    until: float | None,
    agg: str,
) -> list[tuple[float, float]]:
    """(ts, value) of one entity's field, raw and downsampled, oldest first.

    `agg` is "avg" or "max" (checked by the caller): which value of a rollup to take.
    """
    end = END if until is None else until
    scale = SCALE[field]
    rollup_col = field if agg == "avg" else f"{field}_max"
    row = conn.execute(
        "SELECT id FROM entities WHERE profile = ? AND kind = ? AND key = ?",
        [profile, kind, key],
    ).fetchone()
    if row is None:
        return []
    eid = row[0]
    # CROSS JOIN pins the loop order: walk the timeline, probe by primary key.
    points = conn.execute(
        f"SELECT t.ts, s.{field} FROM timeline t CROSS JOIN samples s"  # noqa: S608 (identifiers are constants)
        " ON s.ts = t.ts AND s.entity = ?"
        " WHERE t.profile = ? AND t.step = 0 AND t.ts >= ? AND t.ts < ?",
        [eid, profile, math.floor(since), end],
    ).fetchall()
    points += conn.execute(
        f"SELECT t.ts, r.{rollup_col} FROM timeline t CROSS JOIN rollups r"  # noqa: S608 (identifiers are constants)
        " ON r.step = t.step AND r.ts = t.ts AND r.entity = ?"
        " WHERE t.profile = ? AND t.step > 0 AND t.ts + t.step > ? AND t.ts < ?",
        [eid, profile, since, end],
    ).fetchall()
    points.sort()
    return [(float(ts), v / scale) for ts, v in points if v is not None]


def changes(
    conn: sqlite3.Connection, profile: str, since: float, until: float | None, limit: int | None
) -> list[Change]:
    """Derived events in [since, until), oldest first (the newest `limit` if given)."""
    sql = (
        "SELECT ts, kind, subject, detail, vmid, node FROM events"
        " WHERE profile = ? AND ts >= ? AND ts < ? ORDER BY ts DESC, id DESC"
    )
    params: list[Any] = [profile, since, END if until is None else until]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    rows = conn.execute(sql, params).fetchall()
    return [Change(*r) for r in reversed(rows)]


def last_seen(conn: sqlite3.Connection, profile: str) -> float | None:
    row = conn.execute(
        "SELECT last_seen FROM profile_state WHERE profile = ?", [profile]
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def _samples(
    conn: sqlite3.Connection, profile: str, since: float, end: float
) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    cur = conn.execute(
        "SELECT t.ts, e.kind, e.key, s.* FROM timeline t CROSS JOIN samples s"
        " ON s.ts = t.ts JOIN entities e ON e.id = s.entity AND e.profile = t.profile"
        " WHERE t.profile = ? AND t.step = 0 AND t.ts >= ? AND t.ts < ?"
        " ORDER BY t.ts, e.kind DESC, s.entity",
        [profile, math.floor(since), end],
    )
    names = [d[0] for d in cur.description]
    for r in cur:
        samples.append(decode(dict(zip(names, r, strict=True)), 0))
    cur = conn.execute(
        "SELECT t.ts, e.kind, e.key, r.* FROM timeline t CROSS JOIN rollups r"
        " ON r.step = t.step AND r.ts = t.ts"
        " JOIN entities e ON e.id = r.entity AND e.profile = t.profile"
        " WHERE t.profile = ? AND t.step > 0 AND t.ts >= ? AND t.ts < ?"
        " ORDER BY t.ts, t.step, e.kind DESC, r.entity",
        [profile, math.floor(since), end],
    )
    names = [d[0] for d in cur.description]
    for r in cur:
        row = dict(zip(names, r, strict=True))
        samples.append(decode(row, row["step"]))
    samples.sort(key=lambda s: (s["ts"], s["step"]))
    return samples


def export(conn: sqlite3.Connection, profile: str, since: float, until: float | None) -> Export:
    """Everything recorded for `profile` in [since, until), decoded to plain units."""
    end = END if until is None else until
    window = [profile, since, end]
    return {
        "samples": _samples(conn, profile, since, end),
        "events": dicts(
            conn.execute(
                "SELECT ts, kind, subject, detail, vmid, node FROM events"
                " WHERE profile = ? AND ts >= ? AND ts < ? ORDER BY ts, id",
                window,
            )
        ),
        "tasks": dicts(
            conn.execute(
                "SELECT upid, node, type, id, user, starttime, endtime, status FROM tasks"
                " WHERE profile = ? AND starttime >= ? AND starttime < ?"
                " ORDER BY starttime, upid",
                window,
            )
        ),
        "actions": dicts(
            conn.execute(
                "SELECT ts, operator, token_id, vmid, guest, node, action, target, upid, result,"
                " duration FROM actions WHERE profile = ? AND ts >= ? AND ts < ? ORDER BY ts, id",
                window,
            )
        ),
        "exchanges": dicts(
            conn.execute(
                "SELECT ts, model, subject, question, context_chars, answer_chars, outcome,"
                " error, duration FROM exchanges WHERE profile = ? AND ts >= ? AND ts < ?"
                " ORDER BY ts, id",
                window,
            )
        ),
    }


def profiles(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT profile FROM profile_state UNION SELECT profile FROM actions"
        " UNION SELECT profile FROM events UNION SELECT profile FROM exchanges ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT version FROM schema_version").fetchone()[0])


def last_prune(conn: sqlite3.Connection) -> float | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
    return float(row[0]) if row else None


def pages(conn: sqlite3.Connection) -> dict[str, int]:
    """page_size, pages, free_pages of the file."""
    return {
        "page_size": conn.execute("PRAGMA page_size").fetchone()[0],
        "pages": conn.execute("PRAGMA page_count").fetchone()[0],
        "free_pages": conn.execute("PRAGMA freelist_count").fetchone()[0],
    }


def tables(conn: sqlite3.Connection) -> dict[str, TableStats]:
    """Every table by name: its rows and (where SQLite has dbstat) its bytes."""
    names = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    sizes: dict[str, int] = {}
    with contextlib.suppress(sqlite3.Error):  # dbstat is optional in SQLite builds
        for name, size in conn.execute(
            "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d"
            " LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
        ):
            sizes[name] = size
    out: dict[str, TableStats] = {}
    for name in names:
        sql = f'SELECT count(*) FROM "{name}"'  # noqa: S608 (names from sqlite_master)
        out[name] = TableStats(rows=conn.execute(sql).fetchone()[0], bytes=sizes.get(name, 0))
    return out


def profile_stats(
    conn: sqlite3.Connection, policy: Callable[[int], Policy]
) -> dict[str, ProfileStats]:
    """What is kept per recorded profile; `policy(size)` is the policy it records with."""
    out: dict[str, ProfileStats] = {}
    for profile, size, last_sample, seen in conn.execute(
        "SELECT profile, size, last_sample, last_seen FROM profile_state ORDER BY 1"
    ).fetchall():
        spans = {
            int(step): Span(points=n, oldest=lo, newest=hi)
            for step, n, lo, hi in conn.execute(
                "SELECT step, count(*), min(ts), max(ts) FROM timeline"
                " WHERE profile = ? GROUP BY step ORDER BY step",
                [profile],
            )
        }
        events = conn.execute("SELECT count(*) FROM events WHERE profile = ?", [profile])
        out[profile] = ProfileStats(
            entities=size,
            last_sample=last_sample,
            last_seen=seen,
            resolutions=spans,
            policy=policy(size),
            events=events.fetchone()[0],
        )
    return out


def file_bytes(path: Path) -> int:
    """Size of a file, 0 if it does not exist (e.g. no -wal after a clean close)."""
    return path.stat().st_size if path.exists() else 0
