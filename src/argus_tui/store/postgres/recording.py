"""Writing refreshes into the team database: samples, the last picture, events, tasks.

Several Argus instances (one per operator) may record the same cluster at once, so
every write is one that two of them can make together without doubling anything:

- samples are keyed by (entity, bucket), the bucket being the sample time rounded down
  to the sample interval: the first instance's sample of an interval is kept, the
  others' are skipped (`ON CONFLICT DO NOTHING`). They go in with COPY into a temporary
  table, then one INSERT .. SELECT in (ts, entity) order, so two writers take their row
  locks in the same order and never deadlock.
- the last picture (`last_state`, one row per node and guest) is changed only where it
  differs: the instance whose update changed a row writes the event (see `picture`).
- the in-memory copy of the picture is checked against `profile_state.version` (bumped
  by every change of the picture) and re-read when another instance moved it, so a
  refresh that changed nothing inside the sample interval writes nothing at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from argus_tui.domain.models import ClusterSnapshot, Task

from ..changes import State, observe
from ..records import Change, Policy
from ..samples import MAX_RATE_GAP, Counters, guest_values, node_values
from . import picture
from .connection import Database
from .schema import Conn

#: Forget the tasks seen past this many, so a long session does not grow without end.
_TASKS_SEEN_LIMIT = 20_000
_VALUES = "status, cpu, mem, disk, netin, netout, diskread, diskwrite"
_COPY_TYPES = ["int4", "int8", "int8", "int2"] + ["int8"] * 7


def create_staging(conn: Conn) -> None:
    """The per-connection table COPY fills before the insert that skips taken buckets."""
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS staging_samples (LIKE samples) ON COMMIT DELETE ROWS"
    )


def bucket(when: float, interval: float) -> int:
    """The start of the sample interval `when` falls in (epoch seconds)."""
    step = max(1.0, interval)
    return int(math.floor(when / step) * step)


@dataclass(slots=True)
class _Profile:
    """This instance's copy of one profile, valid while `version` matches the database."""

    name: str
    version: int = 0
    seeded: bool = False
    last_sample: float | None = None
    state: State = field(default_factory=State)
    entities: dict[tuple[str, str], int] = field(default_factory=dict)
    basis: dict[int, Counters] = field(default_factory=dict)


def _due(when: float, last: float | None, interval: float) -> bool:
    return last is None or bucket(when, interval) != bucket(last, interval)


class Recorder:
    """Records snapshots and tasks through a Database's writer (inside `write`)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._profiles: dict[str, _Profile] = {}
        self._tasks_seen: dict[str, tuple[int | None, str | None]] = {}

    def reset(self) -> None:
        """Forget the in-memory copies: re-read from the database on the next refresh."""
        self._profiles.clear()

    def idle(self, snapshot: ClusterSnapshot, profile: str, when: float, policy: Policy) -> bool:
        """True when this refresh has nothing to write, as far as the in-memory copy
        knows: no sample due, nothing moved. Needs no connection (hold the writer lock)."""
        prof = self._profiles.get(profile)
        if prof is None or not prof.seeded:
            return False
        due = _due(when, prof.last_sample, policy.sample_interval)
        return not due and observe(snapshot, prof.state) == prof.state

    def record_snapshot(
        self, conn: Conn, snapshot: ClusterSnapshot, profile: str, when: float, size: int,
        policy: Policy,
    ) -> None:  # fmt: skip
        try:
            prof = self._profile(conn, profile)
            seen = observe(snapshot, prof.state)
            due = _due(when, prof.last_sample, policy.sample_interval)
            if due or not prof.seeded or seen != prof.state:
                self._write(conn, prof, snapshot, when, size, policy)
        except BaseException:
            self._profiles.pop(profile, None)  # re-read from the database next time
            raise

    def _profile(self, conn: Conn, name: str) -> _Profile:
        prof = self._profiles.get(name)
        if prof is None:
            prof = _Profile(name)
            row = conn.execute(
                "SELECT version, last_sample FROM profile_state WHERE profile = %s", [name]
            ).fetchone()
            if row:
                prof.version, prof.last_sample = row[0], row[1]
            self._load_state(conn, prof)
            for eid, kind, key in conn.execute(
                "SELECT id, kind, key FROM entities WHERE profile = %s", [name]
            ):
                prof.entities[(kind, key)] = eid
            self._profiles[name] = prof
        return prof

    def _load_state(self, conn: Conn, prof: _Profile) -> None:
        rows = conn.execute(
            "SELECT kind, key, status, node, name, type FROM last_state WHERE profile = %s",
            [prof.name],
        ).fetchall()
        prof.state = picture.state_of({(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows})
        prof.seeded = bool(rows)

    def _write(
        self, conn: Conn, prof: _Profile, snapshot: ClusterSnapshot, when: float, size: int,
        policy: Policy,
    ) -> None:  # fmt: skip
        with self._db.transaction(conn):
            row = conn.execute(
                "SELECT version, last_sample FROM profile_state WHERE profile = %s", [prof.name]
            ).fetchone()
            version, db_last = (int(row[0]), row[1]) if row else (0, None)
            if version != prof.version:  # another instance recorded this profile meanwhile
                self._load_state(conn, prof)
            seen = observe(snapshot, prof.state)
            bump = 0
            if not prof.seeded:
                picture.baseline(conn, prof.name, seen)  # the first picture is not news
                bump = 1
            elif seen != prof.state:
                changes = picture.write_changes(conn, prof.name, prof.state, seen, when)
                if changes:
                    _insert_events(conn, prof.name, changes)
                    bump = 1
            due = _due(when, db_last, policy.sample_interval)
            basis = self._write_samples(conn, prof, snapshot, when, policy) if due else None
            got = conn.execute(
                "INSERT INTO profile_state AS p (profile, last_sample, version, size)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (profile) DO UPDATE SET"
                " last_sample = greatest(p.last_sample, excluded.last_sample),"
                " version = p.version + %s, size = excluded.size"
                " RETURNING version, last_sample",
                [prof.name, when if due else db_last, bump, size, bump],
            ).fetchone()
        # committed: now the in-memory copy may follow
        assert got is not None
        new_version = int(got[0])
        # Another instance's change between our read and our update: re-read next time.
        prof.version = new_version if new_version == version + bump else -1
        prof.state, prof.seeded, prof.last_sample = seen, True, got[1]
        if basis is not None:
            prof.basis = basis

    def _entity_ids(
        self, conn: Conn, prof: _Profile, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        missing = sorted({k for k in keys if k not in prof.entities})
        if not missing:
            return prof.entities
        kinds, names = [k[0] for k in missing], [k[1] for k in missing]
        conn.execute(
            "INSERT INTO entities (profile, kind, key) SELECT %s, * FROM"
            " unnest(%s::text[], %s::text[]) ORDER BY 2, 3 ON CONFLICT DO NOTHING",
            [prof.name, kinds, names],
        )
        ids = dict(prof.entities)
        for eid, kind, key in conn.execute(
            "SELECT id, kind, key FROM entities WHERE profile = %s AND (kind, key) IN"
            " (SELECT * FROM unnest(%s::text[], %s::text[]))",
            [prof.name, kinds, names],
        ):
            ids[(kind, key)] = eid
        return ids

    def _write_samples(
        self, conn: Conn, prof: _Profile, snapshot: ClusterSnapshot, when: float, policy: Policy
    ) -> dict[int, Counters]:
        guests = [g for g in snapshot.guests if not g.template]
        keys = [("node", n.name) for n in snapshot.nodes]
        keys += [("guest", str(g.vmid)) for g in guests]
        ids = self._entity_ids(conn, prof, keys)
        stamp, slot = int(when), bucket(when, policy.sample_interval)
        max_gap = max(MAX_RATE_GAP, 3 * policy.sample_interval)
        rows: list[tuple[Any, ...]] = [
            (ids[("node", n.name)], slot, stamp, *node_values(n)) for n in snapshot.nodes
        ]
        new_basis: dict[int, Counters] = {}
        for g in guests:
            eid = ids[("guest", str(g.vmid))]
            values, basis = guest_values(g, when, prof.basis.get(eid), max_gap)
            if basis is not None:
                new_basis[eid] = basis
            rows.append((eid, slot, stamp, *values))
        rows.sort(key=lambda r: r[0])
        with conn.cursor() as cur:
            columns = f"entity, bucket, ts, {_VALUES}"
            with cur.copy(f"COPY staging_samples ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_COPY_TYPES)
                for r in rows:
                    copy.write_row(r)
            cur.execute(
                f"INSERT INTO samples (entity, bucket, ts, {_VALUES})"  # noqa: S608 (constants)
                f" SELECT entity, bucket, ts, {_VALUES} FROM staging_samples"
                " ORDER BY ts, entity ON CONFLICT DO NOTHING"
            )
            if cur.rowcount > 0:
                cur.execute(
                    "INSERT INTO timeline VALUES (%s, 0, %s) ON CONFLICT DO NOTHING",
                    [prof.name, stamp],
                )
        prof.entities = ids
        return new_basis

    def fresh_tasks(self, tasks: Iterable[Task]) -> list[Task]:
        """The tasks not yet written as they are now, in UPID order (one per UPID)."""
        fresh = {t.upid: t for t in tasks if self._tasks_seen.get(t.upid) != (t.endtime, t.status)}
        return [t for _, t in sorted(fresh.items())]

    def record_tasks(self, conn: Conn, fresh: list[Task], profile: str) -> None:
        """Upsert `fresh_tasks()` by UPID, in UPID order (two writers never deadlock)."""
        now = time.time()
        rows = [
            (t.upid, profile, t.node, t.type, t.id, t.user, t.starttime, t.endtime, t.status, now)
            for t in fresh
        ]
        with self._db.transaction(conn), conn.cursor() as cur:
            cur.executemany(
                'INSERT INTO tasks (upid, profile, node, type, id, "user", starttime,'
                " endtime, status, seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (upid) DO UPDATE SET endtime = excluded.endtime,"
                " status = excluded.status, seen = excluded.seen",
                rows,
            )
        if len(self._tasks_seen) > _TASKS_SEEN_LIMIT:
            self._tasks_seen.clear()
        for r in rows:
            self._tasks_seen[r[0]] = (r[7], r[8])


def _insert_events(conn: Conn, profile: str, changes: list[Change]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO events (ts, profile, kind, subject, detail, vmid, node)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(c.ts, profile, c.kind, c.subject, c.detail, c.vmid, c.node) for c in changes],
        )
