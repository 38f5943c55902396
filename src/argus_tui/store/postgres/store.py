"""`PostgresHistory`: the HistoryStore kept in a PostgreSQL database a team shares."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from argus_tui.domain.models import ClusterSnapshot, Task
from argus_tui.domain.secret import Secret
from argus_tui.errors import StoreError

from ..records import (
    EXCHANGE_FIELDS,
    HOUR,
    LARGE_CLUSTER,
    ActionRecord,
    Change,
    ExchangeRecord,
    Export,
    Policy,
    Probe,
    Retention,
    Stats,
    choose_policy,
)
from ..series import SeriesReads
from . import checks, importing, reading, retention
from .connection import Database
from .recording import Recorder, create_staging
from .retention import COUNTS
from .schema import Conn

_EXCHANGE_COLUMNS = ", ".join(("ts", "profile", *EXCHANGE_FIELDS[1:]))


class PostgresHistory(SeriesReads):
    """Thread-safe: blocking methods for worker threads, never for the UI thread.

    `url` is a postgresql:// URL (or a libpq key=value string); `password`, when given,
    is passed to the server as a keyword, never put in the URL or any message (else
    libpq's own ways apply: ~/.pgpass, PGPASSWORD, a service file, a client
    certificate). Nothing connects until first use, so constructing one never fails.
    With `auto_prune`, recording prunes at most once an hour, one instance at a time
    across the team. `timeout` bounds connecting and waiting for another instance's
    locks. See `HistoryStore` for what each method promises.
    """

    def __init__(
        self,
        url: str,
        *,
        password: Secret | None = None,
        sample_interval: float = 60.0,
        retention: Retention | None = None,
        timeout: float = 5.0,
        large_cluster: int | None = LARGE_CLUSTER,
        auto_prune: bool = True,
    ) -> None:
        self.sample_interval = float(sample_interval)
        self.retention = retention or Retention()
        self.large_cluster = large_cluster
        self.auto_prune = auto_prune
        self._db = Database(url, password, timeout, setup=_prepare)
        self._recorder = Recorder(self._db)
        self._next_prune = 0.0

    @property
    def writes(self) -> int:
        return self._db.writes

    def describe(self) -> str:
        """Where the history is, never a password: "PostgreSQL argus@db.example:5432/argus"."""
        return self._db.describe()

    def policy(self, size: int, base: Retention | None = None) -> Policy:
        return choose_policy(size, self.sample_interval, base or self.retention, self.large_cluster)

    def take_warnings(self) -> list[str]:
        return self._db.take_warnings()

    def close(self) -> None:
        self._db.close()

    # -- recording -------------------------------------------------------------------------

    def record_snapshot(
        self, snapshot: ClusterSnapshot, profile: str, ts: float | None = None
    ) -> None:
        """Cheap when there is nothing to do: a refresh inside the sample interval that
        changed no guest or node status, node or name compares dictionaries and returns."""
        when = float(ts if ts is not None else (snapshot.fetched_at or time.time()))
        if not snapshot.nodes:
            return  # nothing trustworthy to compare with (e.g. an empty answer)
        size = len(snapshot.nodes) + len(snapshot.guests)
        policy = self.policy(size)
        with self._db.lock:
            if not self._recorder.idle(snapshot, profile, when, policy):  # else no I/O at all
                self._db.write(
                    "could not record the refresh",
                    lambda conn: self._recorder.record_snapshot(
                        conn, snapshot, profile, when, size, policy
                    ),
                )
        if self.auto_prune and when >= self._next_prune:
            self._auto_prune(when)

    def record_tasks(self, tasks: Iterable[Task], profile: str) -> None:
        with self._db.lock:
            fresh = self._recorder.fresh_tasks(tasks)
            if fresh:  # unchanged tasks cost nothing, not even a connection
                self._db.write(
                    "could not record the tasks",
                    lambda conn: self._recorder.record_tasks(conn, fresh, profile),
                )

    def record_action(self, record: ActionRecord) -> None:
        self._insert("actions", dataclasses.asdict(record), "could not record the action")

    def record_exchange(self, record: ExchangeRecord) -> None:
        what = "could not record the assistant exchange"
        self._insert("exchanges", dataclasses.asdict(record), what)

    def _insert(self, table: str, values: dict[str, Any], what: str) -> None:
        """One journal row (an action, an exchange) in its own transaction."""
        cols = ", ".join(values)
        marks = ", ".join("%s" for _ in values)

        def work(conn: Conn) -> None:
            with self._db.transaction(conn):
                conn.execute(
                    f"INSERT INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 (constants)
                    list(values.values()),
                )

        self._db.write(what, work)

    def mark_seen(self, profile: str, ts: float | None = None) -> None:
        when = time.time() if ts is None else ts

        def work(conn: Conn) -> None:
            with self._db.transaction(conn):
                conn.execute(
                    "INSERT INTO profile_state (profile, last_seen) VALUES (%s, %s)"
                    " ON CONFLICT (profile) DO UPDATE SET last_seen = excluded.last_seen",
                    [profile, when],
                )

        self._db.write("could not save when history was last seen", work)

    # -- reading ---------------------------------------------------------------------------

    def tasks(self, profile: str, since: float = 0.0) -> list[dict[str, Any]]:
        return self._db.read(
            "could not read the tasks", lambda conn: reading.tasks(conn, profile, since)
        )

    def actions(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        return self._db.read(
            "could not read the actions",
            lambda conn: reading.journal_rows(conn, "actions", "*", since, profile),
        )

    def exchanges(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        return self._db.read(
            "could not read the assistant exchanges",
            lambda conn: reading.journal_rows(conn, "exchanges", _EXCHANGE_COLUMNS, since, profile),
        )

    def _series_rows(
        self,
        profile: str,
        kind: str,
        key: str,
        field: str,
        since: float,
        until: float | None,
        agg: str,
    ) -> list[tuple[float, float]]:
        return self._db.read(
            "could not read the history",
            lambda conn: reading.series(conn, profile, kind, key, field, since, until, agg),
        )

    def changes(
        self, profile: str, since: float, until: float | None = None, limit: int | None = None
    ) -> list[Change]:
        return self._db.read(
            "could not read the changes",
            lambda conn: reading.changes(conn, profile, since, until, limit),
        )

    def last_seen(self, profile: str) -> float | None:
        return self._db.read(
            "could not read the history", lambda conn: reading.last_seen(conn, profile)
        )

    def export(self, profile: str, since: float, until: float | None = None) -> Export:
        return self._db.read(
            "could not export the history",
            lambda conn: reading.export(conn, profile, since, until),
            snapshot=True,
        )

    def profiles(self) -> list[str]:
        return self._db.read("could not read the history", reading.profiles)

    def stats(self) -> Stats:
        def work(conn: Conn) -> Stats:
            tables = reading.tables(conn)
            return Stats(
                location=self.describe(),
                schema=reading.schema_version(conn),
                size_bytes=sum(t.bytes for t in tables.values()),
                tables=tables,
                profiles=reading.profile_stats(conn, self.policy),
                last_prune=reading.last_prune(conn),
                sample_interval=self.sample_interval,
                retention=self.retention,
                large_cluster=self.large_cluster,
                extra={"server_version": reading.server_version(conn)},
            )

        return self._db.read("could not read the statistics", work, snapshot=True)

    # -- moving and checking ---------------------------------------------------------------

    def import_rows(self, profile: str, rows: Export) -> dict[str, int]:
        def work(conn: Conn) -> dict[str, int]:
            with self._db.transaction(conn):
                return importing.import_rows(conn, profile, rows, self.policy)

        counts = self._db.write("could not import the history", work)
        self._recorder.reset()  # the last sample times may have moved
        return counts

    def diagnose(self) -> list[Probe]:
        return checks.diagnose(self._db)

    # -- upkeep ----------------------------------------------------------------------------

    def prune(self, now: float | None = None, retention: Retention | None = None) -> dict[str, int]:
        when = time.time() if now is None else now
        counts = self._db.write("could not prune", lambda conn: self._prune(conn, when, retention))
        if counts is None:
            self._db.warnings.append(
                "history: another Argus is pruning the team database; this prune was skipped"
            )
            return dict.fromkeys(COUNTS, 0)
        return counts

    def _prune(self, conn: Conn, now: float, override: Retention | None) -> dict[str, int] | None:
        """Prune as of `now` if no other instance is at it (then None)."""
        with retention.pruner(conn) as held:
            if not held:
                return None
            journal = (override or self.retention).journal
            counts = retention.prune(
                self._db, conn, now, lambda size: self.policy(size, override).retention, journal
            )
        self._next_prune = now + HOUR
        return counts

    def _auto_prune(self, when: float) -> None:
        """At most once an hour (across the team, via meta.last_prune); never raises."""
        self._next_prune = when + HOUR

        def work(conn: Conn) -> None:
            row = conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
            if row and 0 <= when - float(row[0]) < HOUR:
                self._next_prune = float(row[0]) + HOUR
                return
            self._prune(conn, when, None)

        try:
            self._db.write("could not prune", work)
        except StoreError as exc:
            self._db.warnings.append(f"history: pruning failed, will retry in an hour: {exc}")

    def vacuum(self) -> int:
        return self._db.write(
            "could not vacuum", lambda conn: retention.vacuum(conn, reading.TABLES)
        )


def _prepare(conn: Conn) -> None:
    """What every new writer connection needs: its temporary staging tables."""
    create_staging(conn)
    importing.create_staging(conn)
