"""`SqliteHistory`: the HistoryStore kept in one SQLite file (the default backend)."""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from argus_tui.domain.models import ClusterSnapshot, Task
from argus_tui.errors import StoreError

from ..private import data_dir
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
from .connection import HistoryFile
from .recording import Recorder

_EXCHANGE_COLUMNS = ", ".join(("ts", "profile", *EXCHANGE_FIELDS[1:]))


def default_path() -> Path:
    """history.db under the platform's user data folder (e.g. ~/.local/share/argus)."""
    return data_dir() / "history.db"


class SqliteHistory(SeriesReads):
    """Thread-safe: blocking methods for worker threads, never for the UI thread.

    Opens the file on first use, so constructing one never fails; `path` defaults to
    `default_path()`. With `auto_prune`, recording prunes at most once an hour (across
    processes). `timeout` is how long a write waits for another process's; `cache_kib`
    the page cache of each of the two connections. See `HistoryStore` for what each
    method promises.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        sample_interval: float = 60.0,
        retention: Retention | None = None,
        timeout: float = 5.0,
        large_cluster: int | None = LARGE_CLUSTER,
        auto_prune: bool = True,
        cache_kib: int = 16 * 1024,
    ) -> None:
        self.path = path or default_path()
        self.sample_interval = float(sample_interval)
        self.retention = retention or Retention()
        self.large_cluster = large_cluster
        self.auto_prune = auto_prune
        self._file = HistoryFile(
            self.path, timeout, on_reset=lambda: self._recorder.reset(), cache_kib=cache_kib
        )
        self._recorder = Recorder(self._file)
        self._next_prune = 0.0

    @property
    def writes(self) -> int:
        return self._file.writes

    def policy(self, size: int, base: Retention | None = None) -> Policy:
        return choose_policy(size, self.sample_interval, base or self.retention, self.large_cluster)

    def describe(self) -> str:
        return f"SQLite {self.path}"

    def take_warnings(self) -> list[str]:
        return self._file.take_warnings()

    def close(self) -> None:
        self._file.close()

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
        with self._file.lock:
            self._recorder.record_snapshot(snapshot, profile, when, size, self.policy(size))
            if self.auto_prune and when >= self._next_prune:
                self._auto_prune(when)

    def record_tasks(self, tasks: Iterable[Task], profile: str) -> None:
        with self._file.lock:
            self._recorder.record_tasks(tasks, profile)

    def record_action(self, record: ActionRecord) -> None:
        self._insert("actions", dataclasses.asdict(record), "could not record the action")

    def record_exchange(self, record: ExchangeRecord) -> None:
        what = "could not record the assistant exchange"
        self._insert("exchanges", dataclasses.asdict(record), what)

    def _insert(self, table: str, values: dict[str, Any], what: str) -> None:
        """One journal row (an action, an exchange) in its own transaction."""
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._file.writing(what) as conn, self._file.transaction(conn):
            conn.execute(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 (constants)
                list(values.values()),
            )

    def mark_seen(self, profile: str, ts: float | None = None) -> None:
        when = time.time() if ts is None else ts
        what = "could not save when history was last seen"
        with self._file.writing(what) as conn, self._file.transaction(conn):
            conn.execute(
                "INSERT INTO profile_state (profile, last_seen) VALUES (?, ?)"
                " ON CONFLICT (profile) DO UPDATE SET last_seen = excluded.last_seen",
                [profile, when],
            )

    # -- reading ---------------------------------------------------------------------------

    def tasks(self, profile: str, since: float = 0.0) -> list[dict[str, Any]]:
        with self._file.reading("could not read the tasks") as conn:
            return reading.tasks(conn, profile, since)

    def actions(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        with self._file.reading("could not read the actions") as conn:
            return reading.journal_rows(conn, "actions", "*", since, profile)

    def exchanges(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        with self._file.reading("could not read the assistant exchanges") as conn:
            return reading.journal_rows(conn, "exchanges", _EXCHANGE_COLUMNS, since, profile)

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
        with self._file.reading("could not read the history") as conn:
            return reading.series(conn, profile, kind, key, field, since, until, agg)

    def changes(
        self, profile: str, since: float, until: float | None = None, limit: int | None = None
    ) -> list[Change]:
        with self._file.reading("could not read the changes") as conn:
            return reading.changes(conn, profile, since, until, limit)

    def last_seen(self, profile: str) -> float | None:
        with self._file.reading("could not read the history") as conn:
            return reading.last_seen(conn, profile)

    def export(self, profile: str, since: float, until: float | None = None) -> Export:
        with self._file.reading("could not export the history") as conn:
            return reading.export(conn, profile, since, until)

    def profiles(self) -> list[str]:
        with self._file.reading("could not read the history") as conn:
            return reading.profiles(conn)

    def stats(self) -> Stats:
        with self._file.reading("could not read the statistics") as conn:
            schema = reading.schema_version(conn)
            pages = reading.pages(conn)
            tables = reading.tables(conn)
            profiles = reading.profile_stats(conn, self.policy)
            last_prune = reading.last_prune(conn)
        wal = reading.file_bytes(Path(f"{self.path}-wal"))
        return Stats(
            location=str(self.path),
            schema=schema,
            size_bytes=reading.file_bytes(self.path),
            tables=tables,
            profiles=profiles,
            last_prune=last_prune,
            sample_interval=self.sample_interval,
            retention=self.retention,
            large_cluster=self.large_cluster,
            extra={"wal_bytes": wal, **pages},
        )

    # -- moving and checking ---------------------------------------------------------------

    def import_rows(self, profile: str, rows: Export) -> dict[str, int]:
        with self._file.writing("could not import the history") as conn:
            with self._file.transaction(conn):
                counts = importing.import_rows(conn, profile, rows)
            self._recorder.reset()  # the last sample times may have moved
        return counts

    def diagnose(self) -> list[Probe]:
        return checks.diagnose(self.path, self._file.timeout)

    # -- upkeep ----------------------------------------------------------------------------

    def prune(self, now: float | None = None, retention: Retention | None = None) -> dict[str, int]:
        with self._file.writing("could not prune") as conn:
            return self._prune(conn, time.time() if now is None else now, retention)

    def _prune(
        self, conn: sqlite3.Connection, now: float, override: Retention | None
    ) -> dict[str, int]:
        journal = (override or self.retention).journal
        counts = retention.prune(
            self._file, conn, now, lambda size: self.policy(size, override).retention, journal
        )
        self._next_prune = now + HOUR
        return counts

    def _auto_prune(self, when: float) -> None:
        """At most once an hour (across processes, via meta.last_prune); never raises."""
        self._next_prune = when + HOUR
        try:
            conn = self._file.writer()
            row = conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
            if row and 0 <= when - float(row[0]) < HOUR:
                self._next_prune = float(row[0]) + HOUR
                return
            self._prune(conn, when, None)
        except (StoreError, sqlite3.Error) as exc:
            self._file.warnings.append(f"history: pruning failed, will retry in an hour: {exc}")

    def vacuum(self) -> int:
        with self._file.writing("could not vacuum") as conn:
            return retention.vacuum(conn)
