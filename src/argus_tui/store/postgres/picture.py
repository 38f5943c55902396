"""The last picture of each profile in the team database, and the events it yields.

`last_state` holds one row per node and guest. A refresh that saw something move locks
the rows it would change, in (kind, key) order so two writers never deadlock, reads
them as they are committed now, and changes only those that differ: the instance whose
update changed a row writes the event, another that saw the same finds the row already
as it sees it and writes none.
"""

from __future__ import annotations

from ..changes import GuestState, State, diff
from ..records import Change
from .schema import Conn

#: (status, node, name, type) as last_state keeps it (nodes: the status only).
Row = tuple[str | None, str | None, str | None, str | None]
Key = tuple[str, str]  # (kind, key): ("guest", "101"), ("node", "pve1")


def _rows(state: State) -> dict[Key, Row]:
    out: dict[Key, Row] = {("node", n): (s, None, None, None) for n, s in state.nodes.items()}
    for vmid, g in state.guests.items():
        out[("guest", str(vmid))] = g
    return out


def state_of(rows: dict[Key, Row]) -> State:
    state = State()
    for (kind, key), (status, node, name, typ) in rows.items():
        if kind == "guest":
            guest: GuestState = (str(status), str(node), name, str(typ))
            state.guests[int(key)] = guest
        else:
            state.nodes[key] = str(status)
    return state


def baseline(conn: Conn, profile: str, seen: State) -> None:
    """The first picture of a profile: every row, no event (it is not news)."""
    rows = sorted(_rows(seen).items())
    conn.execute(
        "INSERT INTO last_state (profile, kind, key, status, node, name, type)"
        " SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::text[]) ORDER BY 2, 3 ON CONFLICT DO NOTHING",
        [profile, *_columns(rows)],
    )


def write_changes(conn: Conn, profile: str, mine: State, seen: State, when: float) -> list[Change]:
    """Write the picture where it moved from `mine` (this instance's copy) to `seen`;
    returns the changes this instance was the first to write."""
    old_rows, now = _rows(mine), _rows(seen)
    keys = sorted(k for k in old_rows.keys() | now.keys() if old_rows.get(k) != now.get(k))
    if not keys:
        return []
    before = _lock(conn, profile, keys)
    inserts = [k for k in keys if k not in before and k in now]
    taken = _insert(conn, profile, [(k, now[k]) for k in inserts])
    if taken:  # another instance inserted them first: compare with what it wrote
        before.update(_lock(conn, profile, taken))
    updates = [(k, now[k]) for k in keys if k in before and k in now and before[k] != now[k]]
    changed = _update(conn, profile, updates)
    gone = [k for k in keys if k in before and k not in now]
    changed |= _delete(conn, profile, gone)
    changed |= {k for k in inserts if k not in taken}
    old = state_of({k: before[k] for k in changed if k in before})
    new = state_of({k: now[k] for k in changed if k in now})
    return diff(old, new, when)


def _lock(conn: Conn, profile: str, keys: list[Key]) -> dict[Key, Row]:
    """The rows as committed now, locked in key order (so writers never deadlock)."""
    rows = conn.execute(
        "SELECT kind, key, status, node, name, type FROM last_state"
        " WHERE profile = %s AND (kind, key) IN"
        " (SELECT * FROM unnest(%s::text[], %s::text[]))"
        " ORDER BY kind, key FOR UPDATE",
        [profile, [k[0] for k in keys], [k[1] for k in keys]],
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows}


def _insert(conn: Conn, profile: str, rows: list[tuple[Key, Row]]) -> list[Key]:
    """Insert new rows; returns the keys another instance had inserted first."""
    if not rows:
        return []
    done = conn.execute(
        "INSERT INTO last_state (profile, kind, key, status, node, name, type)"
        " SELECT %s, * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::text[]) ORDER BY 2, 3 ON CONFLICT DO NOTHING RETURNING kind, key",
        [profile, *_columns(rows)],
    ).fetchall()
    inserted = {(r[0], r[1]) for r in done}
    return [k for k, _ in rows if k not in inserted]


def _update(conn: Conn, profile: str, rows: list[tuple[Key, Row]]) -> set[Key]:
    """Update the (locked) rows that differ; the keys whose row this changed."""
    if not rows:
        return set()
    done = conn.execute(
        "UPDATE last_state t SET status = v.status, node = v.node, name = v.name,"
        " type = v.type FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[], %s::text[]) AS v(kind, key, status, node, name, type)"
        " WHERE t.profile = %s AND t.kind = v.kind AND t.key = v.key"
        " AND (t.status, t.node, t.name, t.type)"
        " IS DISTINCT FROM (v.status, v.node, v.name, v.type) RETURNING t.kind, t.key",
        [*_columns(rows), profile],
    ).fetchall()
    return {(r[0], r[1]) for r in done}


def _delete(conn: Conn, profile: str, keys: list[Key]) -> set[Key]:
    if not keys:
        return set()
    done = conn.execute(
        "DELETE FROM last_state t USING unnest(%s::text[], %s::text[]) AS v(kind, key)"
        " WHERE t.profile = %s AND t.kind = v.kind AND t.key = v.key RETURNING t.kind, t.key",
        [[k[0] for k in keys], [k[1] for k in keys], profile],
    ).fetchall()
    return {(r[0], r[1]) for r in done}


def _columns(rows: list[tuple[Key, Row]]) -> list[list[str | None]]:
    """(key, row) pairs as the six arrays unnest() takes: kind, key, status, node, name, type."""
    return [
        [k[0] for k, _ in rows],
        [k[1] for k, _ in rows],
        *([r[i] for _, r in rows] for i in range(4)),
    ]
