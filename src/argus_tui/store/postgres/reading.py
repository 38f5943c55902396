"""Reading the team database: series, changes, journals, the export and the statistics.

Plain functions over the reader connection; `PostgresHistory` runs each through
`Database.read`, which turns psycopg errors into StoreErrors. Sample times are bigint
seconds: the float bounds callers give are turned into whole seconds that select the
same points (so the (entity, ts) indexes are used, not a cast of every row).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row

from ..records import GUEST_FIELDS, Change, Export, Policy, ProfileStats, Span, TableStats
from ..samples import SCALE, decode
from .schema import Conn

#: "No upper bound" for a ts range: later than any timestamp.
END = 2**62
#: Every table of the schema, for `stats()` (sizes include indexes and TOAST).
TABLES = (
    "actions",
    "entities",
    "events",
    "exchanges",
    "last_state",
    "meta",
    "profile_state",
    "rollups",
    "samples",
    "schema_version",
    "tasks",
    "timeline",
)
_FIELDS = ", ".join(GUEST_FIELDS)
_MAXIMA = ", ".join(f"{f}_max" for f in GUEST_FIELDS)


def _bounds(since: float, until: float | None) -> tuple[int, int]:
    """Whole-second bounds: ts >= since and ts < until, for integer ts."""
    return math.floor(since), END if until is None else math.ceil(until)


def dicts(conn: Conn, query: str, params: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def journal_rows(
    conn: Conn, table: str, columns: str, since: float, profile: str | None
) -> list[dict[str, Any]]:
    """Journal rows (actions, exchanges) since `since`, oldest first."""
    query = f"SELECT {columns} FROM {table} WHERE ts >= %s"  # noqa: S608 (constants)
    params: list[Any] = [since]
    if profile is not None:
        query += " AND profile = %s"
        params.append(profile)
    return dicts(conn, query + " ORDER BY ts, id", params)


def tasks(
    conn: Conn, profile: str, since: float, until: float | None = None
) -> list[dict[str, Any]]:
    return dicts(
        conn,
        'SELECT upid, node, type, id, "user", starttime, endtime, status FROM tasks'
        " WHERE profile = %s AND starttime >= %s AND starttime < %s"
        ' ORDER BY starttime, upid COLLATE "C"',
        [profile, since, END if until is None else until],
    )


def series_query(field: str, agg: str) -> str:
    """One entity's points of `field`: raw samples by (entity, ts), then rollups by
    (entity, ts + step); parameters e (the entity id), lo and hi (whole seconds)."""
    col = field if agg == "avg" else f"{field}_max"
    return (
        f"SELECT ts, {field} FROM samples WHERE entity = %(e)s AND ts >= %(lo)s AND ts < %(hi)s"  # noqa: S608 (identifiers are constants)
        f" UNION ALL SELECT ts, {col} FROM rollups WHERE entity = %(e)s AND step > 0"
        " AND ts + step > %(lo)s AND ts < %(hi)s ORDER BY 1"
    )


def series(
    conn: Conn, profile: str, kind: str, key: str, field: str, since: float,
    until: float | None, agg: str,
) -> list[tuple[float, float]]:  # fmt: skip
    """(ts, value) of one entity's field, raw and downsampled, oldest first.

    `agg` is "avg" or "max" (checked by the caller): which value of a rollup to take.
    """
    lo, hi = _bounds(since, until)
    row = conn.execute(
        "SELECT id FROM entities WHERE profile = %s AND kind = %s AND key = %s",
        [profile, kind, key],
    ).fetchone()
    if row is None:
        return []
    points = conn.execute(series_query(field, agg), {"e": row[0], "lo": lo, "hi": hi}).fetchall()
    scale = SCALE[field]
    return [(float(ts), int(v) / scale) for ts, v in points if v is not None]


def changes(
    conn: Conn, profile: str, since: float, until: float | None, limit: int | None
) -> list[Change]:
    """Derived events in [since, until), oldest first (the newest `limit` if given)."""
    query = (
        "SELECT ts, kind, subject, detail, vmid, node FROM events"
        " WHERE profile = %s AND ts >= %s AND ts < %s ORDER BY ts DESC, id DESC"
    )
    params: list[Any] = [profile, since, END if until is None else until]
    if limit is not None:
        query += " LIMIT %s"
        params.append(limit)
    rows = conn.execute(query, params).fetchall()
    return [Change(*r) for r in reversed(rows)]


def last_seen(conn: Conn, profile: str) -> float | None:
    row = conn.execute(
        "SELECT last_seen FROM profile_state WHERE profile = %s", [profile]
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def _samples(conn: Conn, profile: str, lo: int, hi: int) -> list[dict[str, Any]]:
    window = [profile, lo, hi]
    samples = [
        decode(row, 0)
        for row in dicts(
            conn,
            f"SELECT s.ts, e.kind, e.key, s.status, {_FIELDS} FROM entities e"  # noqa: S608 (constants)
            " JOIN samples s ON s.entity = e.id WHERE e.profile = %s AND s.ts >= %s AND s.ts < %s"
            ' ORDER BY s.ts, e.kind COLLATE "C" DESC, s.entity',
            window,
        )
    ]
    samples += [
        decode(row, row["step"])
        for row in dicts(
            conn,
            f"SELECT r.ts, r.step, e.kind, e.key, r.n, r.up, {_FIELDS}, {_MAXIMA}"  # noqa: S608 (constants)
            " FROM entities e JOIN rollups r ON r.entity = e.id WHERE e.profile = %s"
            " AND r.step > 0 AND r.ts >= %s AND r.ts < %s"
            ' ORDER BY r.ts, r.step, e.kind COLLATE "C" DESC, r.entity',
            window,
        )
    ]
    samples.sort(key=lambda s: (s["ts"], s["step"]))
    return samples


def export(conn: Conn, profile: str, since: float, until: float | None) -> Export:
    """Everything recorded for `profile` in [since, until), decoded to plain units."""
    end = END if until is None else until
    window = [profile, since, end]
    return {
        "samples": _samples(conn, profile, *_bounds(since, until)),
        "events": dicts(
            conn,
            "SELECT ts, kind, subject, detail, vmid, node FROM events"
            " WHERE profile = %s AND ts >= %s AND ts < %s ORDER BY ts, id",
            window,
        ),
        "tasks": tasks(conn, profile, since, until),
        "actions": dicts(
            conn,
            "SELECT ts, operator, token_id, vmid, guest, node, action, target, upid, result,"
            " duration FROM actions WHERE profile = %s AND ts >= %s AND ts < %s"
            " ORDER BY ts, id",
            window,
        ),
        "exchanges": dicts(
            conn,
            "SELECT ts, model, subject, question, context_chars, answer_chars, outcome,"
            " error, duration FROM exchanges WHERE profile = %s AND ts >= %s AND ts < %s"
            " ORDER BY ts, id",
            window,
        ),
    }


def profiles(conn: Conn) -> list[str]:
    rows = conn.execute(
        "SELECT profile FROM profile_state UNION SELECT profile FROM actions"
        " UNION SELECT profile FROM events UNION SELECT profile FROM exchanges"
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def schema_version(conn: Conn) -> int:
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def last_prune(conn: Conn) -> float | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
    return float(row[0]) if row else None


def tables(conn: Conn) -> dict[str, TableStats]:
    """Every table by name: its rows and the bytes it takes with its indexes."""
    out: dict[str, TableStats] = {}
    for name in TABLES:
        row = conn.execute(
            f"SELECT count(*), pg_total_relation_size(%s::regclass) FROM {name}",  # noqa: S608 (constants)
            [name],
        ).fetchone()
        assert row is not None
        out[name] = TableStats(rows=int(row[0]), bytes=int(row[1]))
    return out


def server_version(conn: Conn) -> str:
    row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else ""


def profile_stats(conn: Conn, policy: Callable[[int], Policy]) -> dict[str, ProfileStats]:
    """What is kept per recorded profile; `policy(size)` is the policy it records with."""
    out: dict[str, ProfileStats] = {}
    rows = conn.execute(
        "SELECT profile, size, last_sample, last_seen FROM profile_state"
    ).fetchall()
    for profile, size, last_sample, seen in sorted(rows, key=lambda r: str(r[0])):
        spans = {
            step: Span(points=n, oldest=lo, newest=hi)
            for step, n, lo, hi in conn.execute(
                "SELECT step, count(*), min(ts), max(ts) FROM timeline"
                " WHERE profile = %s GROUP BY step ORDER BY step",
                [profile],
            )
        }
        events = conn.execute("SELECT count(*) FROM events WHERE profile = %s", [profile])
        count = events.fetchone()
        size = int(size)
        out[str(profile)] = ProfileStats(
            entities=size,
            last_sample=last_sample,
            last_seen=seen,
            resolutions=spans,
            policy=policy(size),
            events=int(count[0]) if count else 0,
        )
    return out
