"""Writing refreshes into the file: samples, the last picture, derived events, tasks.

Each profile's last picture is kept in memory as well, so a refresh that changed nothing
inside the sample interval costs a dictionary comparison and no write. Several Argus
processes may record the same profile: `profile_state.version` counts the pictures
written, and a process whose copy is behind re-reads it before deriving events, so each
change is recorded once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from argus_tui.domain.models import ClusterSnapshot, Task

from ..changes import State, diff, observe
from ..records import Policy
from ..samples import MAX_RATE_GAP, Counters, guest_values, node_values
from .connection import HistoryFile

#: Forget the tasks seen past this many, so a long session does not grow without end.
_TASKS_SEEN_LIMIT = 20_000


@dataclass(slots=True)
class _Profile:
    """The in-memory copy of one profile's state, valid while `version` matches the file."""

    name: str
    version: int = 0
    seeded: bool = False
    last_sample: float | None = None
    state: State = field(default_factory=State)
    entities: dict[tuple[str, str], int] = field(default_factory=dict)
    basis: dict[int, Counters] = field(default_factory=dict)


def _needs_write(
    prof: _Profile, seen: State, when: float, last_sample: float | None, interval: float
) -> tuple[bool, bool]:
    """(due, changed): a sample is due, or the picture moved (or there is none yet)."""
    due = last_sample is None or abs(when - last_sample) >= interval
    changed = not prof.seeded or seen != prof.state
    return due, changed


class Recorder:
    """Records snapshots and tasks into a HistoryFile. Call with the file's `lock` held."""

    def __init__(self, file: HistoryFile) -> None:
        self._file = file
        self._profiles: dict[str, _Profile] = {}
        self._tasks_seen: dict[str, tuple[int | None, str | None]] = {}

    def reset(self) -> None:
        """Forget the in-memory copies (the file was replaced)."""
        self._profiles.clear()

    def record_snapshot(
        self, snapshot: ClusterSnapshot, profile: str, when: float, size: int, policy: Policy
    ) -> None:
        try:
            with self._file.writing("could not record the refresh") as conn:
                prof = self._profile(conn, profile)
                seen = observe(snapshot, prof.state)
                # Decided on the in-memory copy first, without taking the write lock, so
                # an idle refresh writes nothing; decided again inside the transaction.
                due, changed = _needs_write(
                    prof, seen, when, prof.last_sample, policy.sample_interval
                )
                if due or changed:
                    self._write_snapshot(conn, prof, snapshot, when, size, policy)
        except BaseException:
            self._profiles.pop(profile, None)
            raise

    def _profile(self, conn: sqlite3.Connection, name: str) -> _Profile:
        prof = self._profiles.get(name)
        if prof is None:
            prof = _Profile(name)
            row = conn.execute(
                "SELECT version, last_sample FROM profile_state WHERE profile = ?", [name]
            ).fetchone()
            if row:
                prof.version, prof.last_sample = row[0], row[1]
            self._load_state(conn, prof)
            for eid, kind, key in conn.execute(
                "SELECT id, kind, key FROM entities WHERE profile = ?", [name]
            ):
                prof.entities[(kind, key)] = eid
            self._profiles[name] = prof
        return prof

    def _load_state(self, conn: sqlite3.Connection, prof: _Profile) -> None:
        state = State()
        rows = conn.execute(
            "SELECT kind, key, status, node, name, type FROM last_state WHERE profile = ?",
            [prof.name],
        ).fetchall()
        for kind, key, status, node, name, typ in rows:
            if kind == "guest":
                state.guests[int(key)] = (status, node, name, typ)
            else:
                state.nodes[key] = status
        prof.state = state
        prof.seeded = bool(rows)

    def _write_snapshot(
        self,
        conn: sqlite3.Connection,
        prof: _Profile,
        snapshot: ClusterSnapshot,
        when: float,
        size: int,
        policy: Policy,
    ) -> None:
        with self._file.transaction(conn):
            row = conn.execute(
                "SELECT version, last_sample FROM profile_state WHERE profile = ?", [prof.name]
            ).fetchone()
            version, db_last = (row[0], row[1]) if row else (0, None)
            if version != prof.version:  # another process recorded this profile meanwhile
                self._load_state(conn, prof)
                prof.version = version
            # Again, now under the write lock: the file's picture and last sample time
            # are the truth (another process may have written either since the first look).
            seen = observe(snapshot, prof.state)
            due, changed = _needs_write(prof, seen, when, db_last, policy.sample_interval)
            if changed:
                if prof.seeded:
                    conn.executemany(
                        "INSERT INTO events (ts, profile, kind, subject, detail, vmid, node)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (c.ts, prof.name, c.kind, c.subject, c.detail, c.vmid, c.node)
                            for c in diff(prof.state, seen, when)
                        ],
                    )
                self._write_state(conn, prof, seen)
                version += 1
            new_basis: dict[int, Counters] | None = None
            if due:
                new_basis = self._write_samples(conn, prof, snapshot, when, policy)
            conn.execute(
                "INSERT INTO profile_state (profile, last_sample, version, size)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (profile) DO UPDATE SET"
                " last_sample = excluded.last_sample, version = excluded.version,"
                " size = excluded.size",
                [prof.name, when if due else db_last, version, size],
            )
        # committed: now the in-memory copy may follow
        prof.state, prof.seeded, prof.version = seen, True, version
        prof.last_sample = when if due else db_last
        if new_basis is not None:
            prof.basis = new_basis

    def _write_state(self, conn: sqlite3.Connection, prof: _Profile, seen: State) -> None:
        name, old = prof.name, prof.state
        upserts: list[tuple[Any, ...]] = []
        for vmid, state in seen.guests.items():
            if old.guests.get(vmid) != state:
                upserts.append((name, "guest", str(vmid), *state))
        for node, status in seen.nodes.items():
            if old.nodes.get(node) != status:
                upserts.append((name, "node", node, status, None, None, None))
        conn.executemany("INSERT OR REPLACE INTO last_state VALUES (?, ?, ?, ?, ?, ?, ?)", upserts)
        gone = [(name, "guest", str(v)) for v in old.guests.keys() - seen.guests.keys()]
        gone += [(name, "node", n) for n in old.nodes.keys() - seen.nodes.keys()]
        conn.executemany("DELETE FROM last_state WHERE profile = ? AND kind = ? AND key = ?", gone)

    def _entity_ids(
        self, conn: sqlite3.Connection, prof: _Profile, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        known = prof.entities
        missing = [k for k in keys if k not in known]
        if not missing:
            return known
        conn.executemany(
            "INSERT OR IGNORE INTO entities (profile, kind, key) VALUES (?, ?, ?)",
            [(prof.name, kind, key) for kind, key in missing],
        )
        ids = dict(known)
        for eid, kind, key in conn.execute(
            "SELECT id, kind, key FROM entities WHERE profile = ?", [prof.name]
        ):
            ids[(kind, key)] = eid
        return ids

    def _write_samples(
        self,
        conn: sqlite3.Connection,
        prof: _Profile,
        snapshot: ClusterSnapshot,
        when: float,
        policy: Policy,
    ) -> dict[int, Counters]:
        guests = [g for g in snapshot.guests if not g.template]
        keys = [("node", n.name) for n in snapshot.nodes]
        keys += [("guest", str(g.vmid)) for g in guests]
        ids = self._entity_ids(conn, prof, keys)
        stamp = int(when)
        max_gap = max(MAX_RATE_GAP, 3 * policy.sample_interval)
        rows: list[tuple[Any, ...]] = [
            (stamp, ids[("node", node.name)], *node_values(node)) for node in snapshot.nodes
        ]
        new_basis: dict[int, Counters] = {}
        for g in guests:
            eid = ids[("guest", str(g.vmid))]
            values, basis = guest_values(g, when, prof.basis.get(eid), max_gap)
            if basis is not None:
                new_basis[eid] = basis
            rows.append((stamp, eid, *values))
        rows.sort(key=lambda r: r[1])  # appended in key order: a few pages per refresh
        conn.executemany(
            "INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        conn.execute("INSERT OR IGNORE INTO timeline VALUES (?, 0, ?)", [prof.name, stamp])
        prof.entities = ids
        return new_basis

    def record_tasks(self, tasks: Iterable[Task], profile: str) -> None:
        """Upsert the tasks seen by UPID; unchanged ones are skipped without a write."""
        now = time.time()
        rows = [
            (t.upid, profile, t.node, t.type, t.id, t.user, t.starttime, t.endtime, t.status, now)
            for t in tasks
            if self._tasks_seen.get(t.upid) != (t.endtime, t.status)
        ]
        if not rows:
            return
        what = "could not record the tasks"
        with self._file.writing(what) as conn, self._file.transaction(conn):
            conn.executemany(
                "INSERT INTO tasks (upid, profile, node, type, id, user, starttime,"
                " endtime, status, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (upid) DO UPDATE SET endtime = excluded.endtime,"
                " status = excluded.status, seen = excluded.seen",
                rows,
            )
        if len(self._tasks_seen) > _TASKS_SEEN_LIMIT:
            self._tasks_seen.clear()
        for r in rows:
            self._tasks_seen[r[0]] = (r[7], r[8])
