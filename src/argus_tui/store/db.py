"""The local history database (SQLite via sqlite-utils): schema, migrations, the journal.

One file under the platform data dir, shared by every profile (profile is a column) and
by concurrent Argus processes (WAL, busy timeout, BEGIN IMMEDIATE for every write). A
database that cannot be opened never stops Argus: callers get a StoreError with a clear
message and carry on without history. A corrupt file is moved aside (never deleted) and
a fresh one is started; `warnings` says so once.

What is kept (schema 2, see docs/PERFORMANCE.md "History" for sizes):

- `samples`: raw node and guest samples, at most one per `sample_interval`, clustered by
  time (`PRIMARY KEY (ts, entity)`, WITHOUT ROWID) so a refresh appends a few pages
  instead of touching one page per guest. Values are integers: cpu in 1/10,000 of the
  CPUs (PVE's fraction x 10,000), mem and disk in KiB, network and disk I/O as bytes per
  second. The rates are computed at write time from the previous sample's cumulative
  counters (cluster/resources reports counters since guest start); a counter that went
  backwards (guest restarted) or a gap longer than `_MAX_RATE_GAP` gives NULL.
- `rollups`: downsampled rows (average and max per field, `n` samples, `up` of them
  running/online) at `Retention.mid_step` (5 min) and `Retention.long_step` (1 h).
- `timeline`: which timestamps exist per profile and resolution (step 0 = raw). Series
  reads walk it and look each point up by primary key, so a 24 h sparkline is ~1,440
  index probes whatever the cluster size.
- `entities`: (profile, kind, key) -> small integer id used by samples and rollups.
- `events`: derived changes (started, stopped, created, gone, migrated, node offline...),
  so the changes view never scans samples. `last_state` holds what they are derived from.
- `tasks` (upserted by UPID), `actions` (the power-action journal), `profile_state`
  (last sample, last seen, state version, cluster size), `meta` (last prune).
- `exchanges` (schema 3): one row per question to the assistant: when, profile, model,
  subject, the (redacted) question, context and answer sizes, outcome and error. Never
  the context or the answer text, never a secret.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs
import sqlite_utils

from argus_tui.domain.models import ClusterSnapshot, Task
from argus_tui.errors import ArgusError

SCHEMA_VERSION = 3

HOUR = 3600.0
DAY = 86400.0

#: Clusters with more nodes + guests than this get the "large" policy (see `policy`).
LARGE_CLUSTER = 500
#: Full `PRAGMA quick_check` on open below this size; above it only the small tables.
QUICK_CHECK_LIMIT = 64 * 1024 * 1024
#: Rows per write transaction while pruning, so other writers never wait long.
CHUNK_ROWS = 20_000
#: Rates over a longer gap than this (seconds, or 3 sample intervals) are not stored.
_MAX_RATE_GAP = 900.0

GUEST_FIELDS = ("cpu", "mem", "disk", "netin", "netout", "diskread", "diskwrite")
NODE_FIELDS = ("cpu", "mem", "disk")
_RATES = ("netin", "netout", "diskread", "diskwrite")
#: stored integer = round(value * scale); read back as stored / scale.
_SCALE = {
    "cpu": 10_000.0,
    "mem": 1 / 1024,
    "disk": 1 / 1024,
    "netin": 1.0,
    "netout": 1.0,
    "diskread": 1.0,
    "diskwrite": 1.0,
}
_GUEST_STATUS = {"stopped": 0, "running": 1, "paused": 2, "suspended": 3, "prelaunch": 4}
_NODE_STATUS = {"offline": 0, "online": 1}
_OTHER, _UNKNOWN = 8, 9
_GUEST_NAMES = {v: k for k, v in _GUEST_STATUS.items()} | {_OTHER: "other", _UNKNOWN: "unknown"}
_NODE_NAMES = {v: k for k, v in _NODE_STATUS.items()} | {_OTHER: "other", _UNKNOWN: "unknown"}

# SQLite primary result codes (exc.sqlite_errorcode & 0xFF)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB, _PERM = (
    5,
    6,
    8,
    10,
    11,
    13,
    14,
    26,
    3,
)


class StoreError(ArgusError):
    """The history database is unavailable; Argus runs on without it."""

    title = "History"


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("argus", appauthor=False)) / "history.db"


# -- schema ----------------------------------------------------------------------------------


def _migrate_1(db: sqlite_utils.Database) -> None:
    db.table("actions").create(
        {
            "id": int,
            "ts": float,
            "profile": str,
            "token_id": str,
            "vmid": int,
            "guest": str,
            "node": str,
            "action": str,
            "upid": str,
            "result": str,
            "duration": float,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("actions").create_index(["ts"], if_not_exists=True)


def _value_columns(with_max: bool) -> str:
    cols = []
    for name in GUEST_FIELDS:
        cols.append(f"{name} INTEGER")
        if with_max:
            cols.append(f"{name}_max INTEGER")
    return ", ".join(cols)


def _migrate_2(db: sqlite_utils.Database) -> None:
    statements = [
        """CREATE TABLE entities (
            id INTEGER PRIMARY KEY, profile TEXT NOT NULL, kind TEXT NOT NULL,
            key TEXT NOT NULL, UNIQUE (profile, kind, key))""",
        f"""CREATE TABLE samples (
            ts INTEGER NOT NULL, entity INTEGER NOT NULL, status INTEGER,
            {_value_columns(False)}, PRIMARY KEY (ts, entity)) WITHOUT ROWID""",
        f"""CREATE TABLE rollups (
            step INTEGER NOT NULL, ts INTEGER NOT NULL, entity INTEGER NOT NULL,
            n INTEGER NOT NULL, up INTEGER NOT NULL, {_value_columns(True)},
            PRIMARY KEY (step, ts, entity)) WITHOUT ROWID""",
        """CREATE TABLE timeline (
            profile TEXT NOT NULL, step INTEGER NOT NULL, ts INTEGER NOT NULL,
            PRIMARY KEY (profile, step, ts)) WITHOUT ROWID""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY, ts REAL NOT NULL, profile TEXT NOT NULL,
            kind TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '',
            vmid INTEGER, node TEXT)""",
        "CREATE INDEX events_profile_ts ON events (profile, ts)",
        "CREATE INDEX events_ts ON events (ts)",
        """CREATE TABLE tasks (
            upid TEXT PRIMARY KEY, profile TEXT NOT NULL, node TEXT, type TEXT, id TEXT,
            user TEXT, starttime INTEGER, endtime INTEGER, status TEXT, seen REAL)""",
        "CREATE INDEX tasks_profile_starttime ON tasks (profile, starttime)",
        "CREATE INDEX tasks_starttime ON tasks (starttime)",
        """CREATE TABLE last_state (
            profile TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, status TEXT,
            node TEXT, name TEXT, type TEXT, PRIMARY KEY (profile, kind, key)) WITHOUT ROWID""",
        """CREATE TABLE profile_state (
            profile TEXT PRIMARY KEY, last_sample REAL, last_seen REAL,
            version INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0)""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
        "CREATE INDEX IF NOT EXISTS actions_profile_ts ON actions (profile, ts)",
    ]
    for sql in statements:
        db.execute(sql)


def _migrate_3(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE exchanges (
            id INTEGER PRIMARY KEY, ts REAL NOT NULL, profile TEXT NOT NULL,
            model TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '', question TEXT NOT NULL,
            context_chars INTEGER NOT NULL, answer_chars INTEGER NOT NULL,
            outcome TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', duration REAL)"""
    )
    db.execute("CREATE INDEX exchanges_profile_ts ON exchanges (profile, ts)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migrate_1, _migrate_2, _migrate_3]
assert len(MIGRATIONS) == SCHEMA_VERSION


# -- public value types ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionRecord:
    ts: float
    profile: str
    token_id: str
    vmid: int
    guest: str
    node: str
    action: str
    upid: str
    result: str
    duration: float


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One question to the assistant: sizes and outcome only, never the texts exchanged."""

    ts: float
    profile: str
    model: str
    subject: str
    question: str  # already redacted by the caller
    context_chars: int
    answer_chars: int
    outcome: str  # ok | cancelled | error
    error: str = ""
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class Change:
    """One derived event for the changes view; `subject` reads like "VM 101 (web)"."""

    ts: float
    kind: str  # started stopped created gone migrated renamed status node-offline ...
    subject: str
    detail: str
    vmid: int | None = None
    node: str | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each resolution is kept (seconds) and the downsampling steps."""

    raw: float = DAY  # full resolution
    mid_step: int = 300  # 5-minute average and max ...
    mid: float = 30 * DAY  # ... kept 30 days
    long_step: int = 3600  # hourly ...
    long: float = 365 * DAY  # ... kept a year
    journal: float = 365 * DAY  # events, tasks and actions

    def __post_init__(self) -> None:
        if self.mid_step <= 0 or self.long_step % self.mid_step:
            raise ValueError("long_step must be a positive multiple of mid_step")
        if min(self.raw, self.mid, self.long, self.journal) < 0:
            raise ValueError("retention periods cannot be negative")


@dataclass(frozen=True, slots=True)
class Policy:
    """What one profile records: its sample interval and retention."""

    sample_interval: float
    retention: Retention
    large: bool = False


# -- internal state --------------------------------------------------------------------------

GuestState = tuple[str, str, str | None, str]  # status, node, name, type


@dataclass(slots=True)
class _Profile:
    """The in-memory copy of one profile's state, valid while `version` matches the DB."""

    name: str
    version: int = 0
    seeded: bool = False
    last_sample: float | None = None
    guests: dict[int, GuestState] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    entities: dict[tuple[str, str], int] = field(default_factory=dict)
    basis: dict[int, tuple[float, int, int, int, int]] = field(default_factory=dict)


def _errcode(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc).lower()
    if "not a database" in text:
        return _NOTADB
    if "malformed" in text:
        return _CORRUPT
    if "locked" in text:
        return _BUSY
    if "readonly" in text or "read-only" in text:
        return _READONLY
    if "unable to open" in text:
        return _CANTOPEN
    return 0


def _is_corrupt(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and _errcode(exc) in (_CORRUPT, _NOTADB)


class _Corrupt(Exception):
    """Raised inside `_connect` when the file is not a usable database."""


_HINT = "Argus runs on without history"


class HistoryStore:
    """Thread-safe: blocking methods for worker threads, never for the UI thread.

    One writer connection (guarded by a lock) and one reader connection (its own lock),
    so a long prune in this process never holds up a sparkline query; other processes
    are coordinated by SQLite (WAL, busy timeout).
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
    ) -> None:
        self.path = path or default_path()
        self.sample_interval = float(sample_interval)
        self.retention = retention or Retention()
        self.timeout = timeout
        self.large_cluster = large_cluster
        self.auto_prune = auto_prune
        #: One line per problem the user should hear about once (e.g. a corrupt file moved
        #: aside). Read them with `take_warnings()`.
        self.warnings: list[str] = []
        self._lock = threading.RLock()
        self._rlock = threading.Lock()
        self._db: sqlite_utils.Database | None = None
        self._reader_conn: sqlite3.Connection | None = None
        self._reader_stale = False
        self._profiles: dict[str, _Profile] = {}
        self._next_prune = 0.0
        self._tasks_seen: dict[str, tuple[int | None, str | None]] = {}

    # -- policy ------------------------------------------------------------------------------

    def policy(self, size: int, base: Retention | None = None) -> Policy:
        """The sample interval and retention for a cluster of `size` nodes + guests.

        Up to `large_cluster` entities: as configured (default 60 s raw for 24 h, 5-minute
        avg+max for 30 days, hourly for a year: about 1.1 MiB per guest after a year).
        Above it the per-guest cost is cut about 14-fold: raw every 5 minutes (or the
        configured interval if longer), hourly rollups for 30 days, daily for a year. See
        docs/PERFORMANCE.md "History": 10,000 guests at the small policy would be ~10 GiB.
        """
        ret = base or self.retention
        if self.large_cluster is not None and size > self.large_cluster:
            mid = max(ret.mid_step, 3600)
            long = max(ret.long_step, 86400)
            long = long + (-long) % mid  # keep it a multiple
            return Policy(
                max(self.sample_interval, 300.0),
                replace(ret, mid_step=mid, long_step=long),
                large=True,
            )
        return Policy(self.sample_interval, ret)

    # -- connections -------------------------------------------------------------------------

    def _fail(self, what: str, exc: sqlite3.Error | OSError) -> StoreError:
        if isinstance(exc, OSError):
            return StoreError(f"history database {self.path} {what}: {exc}", hint=_HINT)
        code = _errcode(exc)
        if code in (_BUSY, _LOCKED):
            reason = "is locked by another process"
        elif code in (_READONLY, _PERM) or (code in (_CANTOPEN, _IOERR) and not self._writable()):
            reason = "is read-only"
        elif code == _FULL:
            reason = "cannot grow: the disk is full"
        elif code == _CANTOPEN:
            reason = "cannot be opened"
        else:
            reason = "failed"
        return StoreError(f"history database {self.path} {reason} ({what}: {exc})", hint=_HINT)

    def _writable(self) -> bool:
        """False if the file or its folder (where -wal and -shm live) is not writable."""
        folder = os.access(self.path.parent, os.W_OK | os.X_OK)
        return folder and (not self.path.exists() or os.access(self.path, os.W_OK))

    def _writer(self) -> sqlite_utils.Database:
        """The writer connection, opened (and migrated) on first use. Hold `_lock`."""
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._fail("cannot create its folder", exc) from None
        try:
            db = self._connect()
        except _Corrupt as exc:
            self._quarantine(str(exc))
            try:
                db = self._connect()
            except _Corrupt as again:
                raise StoreError(
                    f"history database {self.path} is unusable: {again}", hint=_HINT
                ) from None
        self._db = db
        return db

    def _connect(self) -> sqlite_utils.Database:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False)
            db = sqlite_utils.Database(conn)
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), self.timeout)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=OFF")
            conn.execute("PRAGMA cache_size=-16384")  # 16 MiB
            self._check_integrity(conn)
            _retry_locked(lambda: self._migrate(db), self.timeout)
            # A write probe: a read-only file or folder fails here, not on the first sample.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.Error):
                if _is_corrupt(exc):
                    raise _Corrupt(str(exc)) from None
                raise self._fail("open", exc) from None
            raise
        return db

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        """Cheap on open: catches random bytes, truncation and broken small tables."""
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        wal = Path(f"{self.path}-wal")
        wal_empty = not wal.exists() or wal.stat().st_size == 0
        size = self.path.stat().st_size if self.path.exists() else 0
        if wal_empty and size < pages * page_size:
            raise _Corrupt(f"truncated: {size} bytes on disk, {pages * page_size} expected")
        if size <= QUICK_CHECK_LIMIT:
            checks = [conn.execute("PRAGMA quick_check").fetchone()[0]]
        else:
            names = [
                r[0]
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if r[0] not in ("samples", "rollups")
            ]
            checks = [conn.execute(f'PRAGMA quick_check("{n}")').fetchone()[0] for n in names]
        bad = [c for c in checks if c != "ok"]
        if bad:
            raise _Corrupt(f"integrity check: {bad[0]}")

    def _migrate(self, db: sqlite_utils.Database) -> None:
        conn = db.conn
        row = None
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
        ).fetchone()
        if has_table:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row and row[0] == SCHEMA_VERSION:
            return
        if row and row[0] > SCHEMA_VERSION:
            raise StoreError(
                f"history database {self.path} was written by a newer Argus (schema"
                f" {row[0]}, this one knows {SCHEMA_VERSION}); it was left untouched",
                hint=f"upgrade Argus, or move the file aside; {_HINT}",
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            current = row[0] if row else 0  # re-read: another process may have migrated
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"history database {self.path} was written by a newer Argus (schema"
                    f" {current}, this one knows {SCHEMA_VERSION}); it was left untouched",
                    hint=f"upgrade Argus, or move the file aside; {_HINT}",
                )
            for version in range(current, SCHEMA_VERSION):
                MIGRATIONS[version](db)
            if row:
                conn.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION])
            else:
                conn.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _quarantine(self, reason: str) -> None:
        """Move a corrupt file (and its -wal/-shm) aside; never delete it."""
        self._close_connections()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        try:
            os.replace(self.path, target)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.replace(side, Path(f"{target}{suffix}"))
        except OSError as exc:
            raise StoreError(
                f"history database {self.path} is corrupt ({reason}) and could not be"
                f" moved aside: {exc}",
                hint=_HINT,
            ) from None
        self._profiles.clear()
        self.warnings.append(
            f"history database {self.path} was corrupt ({reason}); moved aside to"
            f" {target.name} and started afresh"
        )

    def _reader(self) -> sqlite3.Connection:
        """A second connection for reads; hold `_rlock` (lock order: _rlock, then _lock)."""
        if self._reader_stale and self._reader_conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._reader_conn.close()
            self._reader_conn = None
        self._reader_stale = False
        if self._reader_conn is None:
            fallback: StoreError | None = None
            if self._db is None:
                try:
                    with self._lock:
                        self._writer()  # creates and migrates the file if needed
                except StoreError as exc:
                    if not self.path.exists():
                        raise
                    fallback = exc  # locked or read-only: reading may still work
            try:
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, check_same_thread=False)
                conn.execute("PRAGMA cache_size=-16384")
                row = conn.execute("SELECT version FROM schema_version").fetchone()
            except sqlite3.Error:
                if fallback is not None:
                    raise fallback from None
                raise  # `_reading` turns it into a StoreError (and moves a corrupt file aside)
            if fallback is not None and (row is None or row[0] != SCHEMA_VERSION):
                conn.close()
                raise fallback
            self._reader_conn = conn
        return self._reader_conn

    @contextlib.contextmanager
    def _reading(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._rlock:
            try:
                yield self._reader()
            except sqlite3.Error as exc:
                raise self._handle(what, exc) from None

    def _handle(self, what: str, exc: sqlite3.Error) -> StoreError:
        """Turn an error during use into a StoreError; a corrupt file is moved aside."""
        if _is_corrupt(exc):
            with self._lock:
                try:
                    self._quarantine(str(exc))
                except StoreError as failed:
                    return failed
            return StoreError(
                f"history database {self.path} turned out corrupt ({exc}); it was moved"
                " aside and a fresh one starts with the next write",
                hint="history before now is in the moved file",
            )
        return self._fail(what, exc)

    @contextlib.contextmanager
    def _tx(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT: takes the write lock up front (waits busy_timeout)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _close_connections(self) -> None:
        """Close both; the reader only if no other thread is using it (else on next use)."""
        if self._reader_conn is not None:
            if self._rlock.acquire(blocking=False):
                try:
                    with contextlib.suppress(sqlite3.Error):
                        self._reader_conn.close()
                    self._reader_conn = None
                finally:
                    self._rlock.release()
            else:
                self._reader_stale = True
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.conn.close()
            self._db = None

    def close(self) -> None:
        with self._rlock, self._lock:
            if self._reader_conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._reader_conn.close()
                self._reader_conn = None
            self._close_connections()

    def take_warnings(self) -> list[str]:
        """The warnings not yet shown, once each."""
        out, self.warnings[:] = list(self.warnings), []
        return out

    # -- the action journal ------------------------------------------------------------------

    def record_action(self, record: ActionRecord) -> None:
        self._insert("actions", _as_dict(record), "could not record the action")

    def _insert(self, table: str, values: dict[str, Any], what: str) -> None:
        """One journal row (an action, an exchange) in its own transaction."""
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._lock:
            db = self._writer()
            try:
                with self._tx(db.conn) as conn:
                    conn.execute(
                        f"INSERT INTO {table} ({cols}) VALUES ({marks})",  # noqa: S608 (constants)
                        list(values.values()),
                    )
            except sqlite3.Error as exc:
                raise self._handle(what, exc) from None

    def actions(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        return self._journal_rows("actions", "*", "could not read the actions", since, profile)

    def _journal_rows(
        self, table: str, columns: str, what: str, since: float, profile: str | None
    ) -> list[dict[str, Any]]:
        """Journal rows (actions, exchanges) since `since`, oldest first."""
        sql = f"SELECT {columns} FROM {table} WHERE ts >= ?"  # noqa: S608 (constants)
        params: list[Any] = [since]
        if profile is not None:
            sql += " AND profile = ?"
            params.append(profile)
        with self._reading(what) as conn:
            return _dicts(conn.execute(sql + " ORDER BY ts, id", params))

    # -- the assistant's exchanges -----------------------------------------------------------

    def record_exchange(self, record: ExchangeRecord) -> None:
        """Journal one assistant exchange (see ExchangeRecord for what is kept)."""
        self._insert("exchanges", _as_dict(record), "could not record the assistant exchange")

    def exchanges(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        columns = (
            "ts, profile, model, subject, question, context_chars, answer_chars, outcome,"
            " error, duration"
        )
        what = "could not read the assistant exchanges"
        return self._journal_rows("exchanges", columns, what, since, profile)

    # -- recording ---------------------------------------------------------------------------

    def record_snapshot(
        self, snapshot: ClusterSnapshot, profile: str, ts: float | None = None
    ) -> None:
        """Record one refresh: samples (at most one per sample interval) and changes.

        Cheap when there is nothing to do: a refresh inside the sample interval that
        changed no guest or node status, node or name compares dictionaries and returns.
        """
        when = float(ts if ts is not None else (snapshot.fetched_at or time.time()))
        if not snapshot.nodes:
            return  # nothing trustworthy to compare with (e.g. an empty answer)
        size = len(snapshot.nodes) + len(snapshot.guests)
        policy = self.policy(size)
        with self._lock:
            db = self._writer()
            try:
                prof = self._profile(db.conn, profile)
                guests, nodes = _observe(snapshot, prof)
                due = prof.last_sample is None or (
                    abs(when - prof.last_sample) >= policy.sample_interval
                )
                changed = not prof.seeded or guests != prof.guests or nodes != prof.nodes
                if due or changed:
                    self._write_snapshot(db.conn, prof, snapshot, when, size, policy)
            except sqlite3.Error as exc:
                self._profiles.pop(profile, None)
                raise self._handle("could not record the refresh", exc) from None
            except BaseException:
                self._profiles.pop(profile, None)
                raise
            if self.auto_prune and when >= self._next_prune:
                self._auto_prune(when)

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
        prof.guests, prof.nodes = {}, {}
        rows = conn.execute(
            "SELECT kind, key, status, node, name, type FROM last_state WHERE profile = ?",
            [prof.name],
        ).fetchall()
        for kind, key, status, node, name, typ in rows:
            if kind == "guest":
                prof.guests[int(key)] = (status, node, name, typ)
            else:
                prof.nodes[key] = status
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
        with self._tx(conn):
            row = conn.execute(
                "SELECT version, last_sample FROM profile_state WHERE profile = ?", [prof.name]
            ).fetchone()
            version, db_last = (row[0], row[1]) if row else (0, None)
            if version != prof.version:  # another process recorded this profile meanwhile
                self._load_state(conn, prof)
                prof.version = version
            guests, nodes = _observe(snapshot, prof)
            due = db_last is None or abs(when - db_last) >= policy.sample_interval
            changed = not prof.seeded or guests != prof.guests or nodes != prof.nodes
            if changed:
                if prof.seeded:
                    events = _diff(prof.guests, prof.nodes, guests, nodes, when, prof.name)
                    conn.executemany(
                        "INSERT INTO events (ts, profile, kind, subject, detail, vmid, node)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        events,
                    )
                self._write_state(conn, prof, guests, nodes)
                version += 1
            new_basis: dict[int, tuple[float, int, int, int, int]] | None = None
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
        prof.guests, prof.nodes, prof.seeded, prof.version = guests, nodes, True, version
        prof.last_sample = when if due else db_last
        if new_basis is not None:
            prof.basis = new_basis

    def _write_state(
        self,
        conn: sqlite3.Connection,
        prof: _Profile,
        guests: dict[int, GuestState],
        nodes: dict[str, str],
    ) -> None:
        name = prof.name
        upserts: list[tuple[Any, ...]] = []
        for vmid, state in guests.items():
            if prof.guests.get(vmid) != state:
                upserts.append((name, "guest", str(vmid), *state))
        for node, status in nodes.items():
            if prof.nodes.get(node) != status:
                upserts.append((name, "node", node, status, None, None, None))
        conn.executemany("INSERT OR REPLACE INTO last_state VALUES (?, ?, ?, ?, ?, ?, ?)", upserts)
        gone = [(name, "guest", str(v)) for v in prof.guests.keys() - guests.keys()]
        gone += [(name, "node", n) for n in prof.nodes.keys() - nodes.keys()]
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
    ) -> dict[int, tuple[float, int, int, int, int]]:
        guests = [g for g in snapshot.guests if not g.template]
        keys = [("node", n.name) for n in snapshot.nodes]
        keys += [("guest", str(g.vmid)) for g in guests]
        ids = self._entity_ids(conn, prof, keys)
        stamp = int(when)
        max_gap = max(_MAX_RATE_GAP, 3 * policy.sample_interval)
        rows: list[tuple[Any, ...]] = []
        for node in snapshot.nodes:
            rows.append(
                (
                    stamp,
                    ids[("node", node.name)],
                    _NODE_STATUS.get(node.status, _UNKNOWN),
                    _enc_cpu(node.cpu),
                    _enc_kib(node.mem),
                    _enc_kib(node.disk),
                    None,
                    None,
                    None,
                    None,
                )
            )
        basis = prof.basis
        new_basis: dict[int, tuple[float, int, int, int, int]] = {}
        for g in guests:
            eid = ids[("guest", str(g.vmid))]
            rates: list[int | None] = [None, None, None, None]
            if (
                g.netin is not None
                and g.netout is not None
                and g.diskread is not None
                and g.diskwrite is not None
            ):
                counters = (g.netin, g.netout, g.diskread, g.diskwrite)
                new_basis[eid] = (when, *counters)
                prev = basis.get(eid)
                if g.status == "stopped":
                    rates = [0, 0, 0, 0]
                elif prev is not None:
                    dt = when - prev[0]
                    if 0 < dt <= max_gap:
                        rates = [
                            round((c - p) / dt) if c >= p else None
                            for c, p in zip(counters, prev[1:], strict=True)
                        ]
            rows.append(
                (
                    stamp,
                    eid,
                    _GUEST_STATUS.get(g.status, _UNKNOWN if g.status == "unknown" else _OTHER),
                    _enc_cpu(g.cpu),
                    _enc_kib(g.mem),
                    _enc_kib(g.disk),
                    *rates,
                )
            )
        rows.sort(key=lambda r: r[1])  # appended in key order: a few pages per refresh
        conn.executemany(
            "INSERT OR IGNORE INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        conn.execute("INSERT OR IGNORE INTO timeline VALUES (?, 0, ?)", [prof.name, stamp])
        prof.entities = ids
        return new_basis

    def record_tasks(self, tasks: Iterable[Task], profile: str) -> None:
        """Upsert the tasks seen by UPID; unchanged ones are skipped without a write."""
        tasks = list(tasks)
        now = time.time()
        with self._lock:
            rows = [
                (
                    t.upid,
                    profile,
                    t.node,
                    t.type,
                    t.id,
                    t.user,
                    t.starttime,
                    t.endtime,
                    t.status,
                    now,
                )
                for t in tasks
                if self._tasks_seen.get(t.upid) != (t.endtime, t.status)
            ]
            if not rows:
                return
            db = self._writer()
            try:
                with self._tx(db.conn) as conn:
                    conn.executemany(
                        "INSERT INTO tasks (upid, profile, node, type, id, user, starttime,"
                        " endtime, status, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (upid) DO UPDATE SET endtime = excluded.endtime,"
                        " status = excluded.status, seen = excluded.seen",
                        rows,
                    )
            except sqlite3.Error as exc:
                raise self._handle("could not record the tasks", exc) from None
            if len(self._tasks_seen) > 20_000:
                self._tasks_seen.clear()
            for r in rows:
                self._tasks_seen[r[0]] = (r[7], r[8])

    def tasks(self, profile: str, since: float = 0.0) -> list[dict[str, Any]]:
        with self._reading("could not read the tasks") as conn:
            return _dicts(
                conn.execute(
                    "SELECT upid, node, type, id, user, starttime, endtime, status FROM tasks"
                    " WHERE profile = ? AND starttime >= ? ORDER BY starttime, upid",
                    [profile, since],
                )
            )

    # -- reading -----------------------------------------------------------------------------

    def guest_series(
        self,
        profile: str,
        vmid: int,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        """(ts, value) oldest first, across raw, 5-minute and hourly rows.

        Units match rrddata: cpu as a fraction, mem and disk in bytes, netin, netout,
        diskread and diskwrite in bytes per second. Downsampled points are stamped with
        the start of their bucket; `agg="max"` gives the bucket maxima instead.
        """
        if field not in GUEST_FIELDS:
            raise ValueError(f"unknown guest field {field!r}")
        return self._series(profile, "guest", str(vmid), field, since, until, agg)

    def node_series(
        self,
        profile: str,
        node: str,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        if field not in NODE_FIELDS:
            raise ValueError(f"unknown node field {field!r}")
        return self._series(profile, "node", node, field, since, until, agg)

    def _series(
        self,
        profile: str,
        kind: str,
        key: str,
        field: str,
        since: float,
        until: float | None,
        agg: str,
    ) -> list[tuple[float, float]]:
        if agg not in ("avg", "max"):
            raise ValueError("agg is 'avg' or 'max'")
        end = _END if until is None else until
        scale = _SCALE[field]
        rollup_col = field if agg == "avg" else f"{field}_max"
        with self._reading("could not read the history") as conn:
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
        self, profile: str, since: float, until: float | None = None, limit: int | None = None
    ) -> list[Change]:
        """Derived events in [since, until), oldest first (the newest `limit` if given)."""
        sql = (
            "SELECT ts, kind, subject, detail, vmid, node FROM events"
            " WHERE profile = ? AND ts >= ? AND ts < ? ORDER BY ts DESC, id DESC"
        )
        params: list[Any] = [profile, since, _END if until is None else until]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading("could not read the changes") as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Change(*r) for r in reversed(rows)]

    def last_seen(self, profile: str) -> float | None:
        with self._reading("could not read the history") as conn:
            row = conn.execute(
                "SELECT last_seen FROM profile_state WHERE profile = ?", [profile]
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def mark_seen(self, profile: str, ts: float | None = None) -> None:
        when = time.time() if ts is None else ts
        with self._lock:
            db = self._writer()
            try:
                with self._tx(db.conn) as conn:
                    conn.execute(
                        "INSERT INTO profile_state (profile, last_seen) VALUES (?, ?)"
                        " ON CONFLICT (profile) DO UPDATE SET last_seen = excluded.last_seen",
                        [profile, when],
                    )
            except sqlite3.Error as exc:
                raise self._handle("could not save when history was last seen", exc) from None

    def export(
        self, profile: str, since: float, until: float | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Everything recorded for `profile` in [since, until), decoded to plain units."""
        end = _END if until is None else until
        out: dict[str, list[dict[str, Any]]] = {}
        with self._reading("could not export the history") as conn:
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
                samples.append(_decode_sample(dict(zip(names, r, strict=True)), 0))
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
                samples.append(_decode_sample(row, row["step"]))
            samples.sort(key=lambda s: (s["ts"], s["step"]))
            out["samples"] = samples
            out["events"] = _dicts(
                conn.execute(
                    "SELECT ts, kind, subject, detail, vmid, node FROM events"
                    " WHERE profile = ? AND ts >= ? AND ts < ? ORDER BY ts, id",
                    [profile, since, end],
                )
            )
            out["tasks"] = _dicts(
                conn.execute(
                    "SELECT upid, node, type, id, user, starttime, endtime, status FROM tasks"
                    " WHERE profile = ? AND starttime >= ? AND starttime < ?"
                    " ORDER BY starttime, upid",
                    [profile, since, end],
                )
            )
            out["actions"] = _dicts(
                conn.execute(
                    "SELECT ts, token_id, vmid, guest, node, action, upid, result, duration"
                    " FROM actions WHERE profile = ? AND ts >= ? AND ts < ? ORDER BY ts, id",
                    [profile, since, end],
                )
            )
            out["exchanges"] = _dicts(
                conn.execute(
                    "SELECT ts, model, subject, question, context_chars, answer_chars, outcome,"
                    " error, duration FROM exchanges WHERE profile = ? AND ts >= ? AND ts < ?"
                    " ORDER BY ts, id",
                    [profile, since, end],
                )
            )
        return out

    def profiles(self) -> list[str]:
        with self._reading("could not read the history") as conn:
            rows = conn.execute(
                "SELECT profile FROM profile_state UNION SELECT profile FROM actions"
                " UNION SELECT profile FROM events UNION SELECT profile FROM exchanges ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    def stats(self) -> dict[str, Any]:
        """Sizes, row counts, time spans per profile and resolution, the policy."""
        with self._reading("could not read the statistics") as conn:
            version = conn.execute("SELECT version FROM schema_version").fetchone()[0]
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            tables: dict[str, dict[str, int]] = {}
            table_names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            sizes: dict[str, int] = {}
            with contextlib.suppress(sqlite3.Error):  # dbstat is optional in SQLite builds
                for name, size in conn.execute(
                    "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d"
                    " LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
                ):
                    sizes[name] = size
            for name in table_names:
                sql = f'SELECT count(*) FROM "{name}"'  # noqa: S608 (names from sqlite_master)
                count = conn.execute(sql).fetchone()[0]
                tables[name] = {"rows": count, "bytes": sizes.get(name, 0)}
            profiles: dict[str, dict[str, Any]] = {}
            for profile, size, last_sample, last_seen in conn.execute(
                "SELECT profile, size, last_sample, last_seen FROM profile_state ORDER BY 1"
            ).fetchall():
                spans = {
                    str(step): {"points": n, "oldest": lo, "newest": hi}
                    for step, n, lo, hi in conn.execute(
                        "SELECT step, count(*), min(ts), max(ts) FROM timeline"
                        " WHERE profile = ? GROUP BY step ORDER BY step",
                        [profile],
                    )
                }
                policy = self.policy(size)
                profiles[profile] = {
                    "entities": size,
                    "last_sample": last_sample,
                    "last_seen": last_seen,
                    "resolutions": spans,
                    "sample_interval": policy.sample_interval,
                    "retention": _retention_dict(policy.retention),
                    "large_cluster_policy": policy.large,
                    "events": conn.execute(
                        "SELECT count(*) FROM events WHERE profile = ?", [profile]
                    ).fetchone()[0],
                }
            last_prune = conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
        wal = Path(f"{self.path}-wal")
        return {
            "path": str(self.path),
            "schema": version,
            "file_bytes": self.path.stat().st_size if self.path.exists() else 0,
            "wal_bytes": wal.stat().st_size if wal.exists() else 0,
            "page_size": page_size,
            "pages": pages,
            "free_pages": free,
            "tables": tables,
            "profiles": profiles,
            "last_prune": float(last_prune[0]) if last_prune else None,
            "sample_interval": self.sample_interval,
            "retention": _retention_dict(self.retention),
            "large_cluster": self.large_cluster,
        }

    # -- downsampling and retention ----------------------------------------------------------

    def _auto_prune(self, when: float) -> None:
        """At most once an hour (across processes, via meta.last_prune); never raises."""
        self._next_prune = when + HOUR
        try:
            db = self._writer()
            row = db.conn.execute("SELECT value FROM meta WHERE key = 'last_prune'").fetchone()
            if row and 0 <= when - float(row[0]) < HOUR:
                self._next_prune = float(row[0]) + HOUR
                return
            self._prune_locked(db.conn, when, None)
        except (StoreError, sqlite3.Error) as exc:
            self.warnings.append(f"history: pruning failed, will retry in an hour: {exc}")

    def prune(self, now: float | None = None, retention: Retention | None = None) -> dict[str, int]:
        """Downsample and expire; returns how many rows each step consumed or deleted.

        raw rows older than `raw` become `mid_step` avg+max rows; those older than `mid`
        become `long_step` rows; rollups older than `long` and events, tasks and actions
        older than `journal` are deleted. Every step works in chunks of about
        CHUNK_ROWS rows per transaction. `retention` overrides the store's for this call.
        """
        with self._lock:
            db = self._writer()
            try:
                return self._prune_locked(db.conn, time.time() if now is None else now, retention)
            except sqlite3.Error as exc:
                raise self._handle("could not prune", exc) from None

    def _prune_locked(
        self, conn: sqlite3.Connection, now: float, override: Retention | None
    ) -> dict[str, int]:
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
            ret = self.policy(size, override).retention
            counts["raw_downsampled"] += self._downsample(
                conn, profile, 0, 1, ret.mid_step, _align(now - ret.raw, ret.mid_step)
            )
            counts["mid_downsampled"] += self._downsample(
                conn,
                profile,
                1,
                ret.long_step,
                ret.long_step,
                _align(now - ret.mid, ret.long_step),
            )
            counts["rollups_expired"] += self._expire_rollups(conn, profile, now - ret.long)
        journal = (override or self.retention).journal
        cutoff = now - journal
        counts["events"] = self._chunked_delete(conn, "events", "ts < ?", cutoff)
        counts["tasks"] = self._chunked_delete(
            conn, "tasks", "coalesce(starttime, seen) < ?", cutoff
        )
        counts["actions"] = self._chunked_delete(conn, "actions", "ts < ?", cutoff)
        counts["exchanges"] = self._chunked_delete(conn, "exchanges", "ts < ?", cutoff)
        with self._tx(conn):
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_prune', ?)", [repr(float(now))])
        self._next_prune = now + HOUR
        return counts

    def _downsample(
        self,
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
        per_point = max(
            1,
            conn.execute("SELECT count(*) FROM entities WHERE profile = ?", [profile]).fetchone()[
                0
            ],
        )
        consumed = 0
        chunk: list[tuple[int, int]] = []
        for i, (src_step, ts) in enumerate(source):
            chunk.append((src_step, ts))
            nxt = source[i + 1][1] if i + 1 < len(source) else None
            boundary = nxt is None or (nxt - nxt % step) != (ts - ts % step)
            if (boundary and len(chunk) * per_point >= CHUNK_ROWS) or nxt is None:
                consumed += self._fold(conn, profile, chunk, step, raw=lo_step == 0)
                chunk = []
        return consumed

    def _fold(
        self,
        conn: sqlite3.Connection,
        profile: str,
        points: list[tuple[int, int]],
        step: int,
        *,
        raw: bool,
    ) -> int:
        with self._tx(conn):
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS fold (step INTEGER, ts INTEGER)")
            conn.execute("DELETE FROM temp.fold")
            conn.executemany("INSERT INTO temp.fold VALUES (?, ?)", points)
            if raw:
                values = ", ".join(
                    f"CAST(round(avg(s.{f})) AS INTEGER), max(s.{f})" for f in GUEST_FIELDS
                )
                source = (
                    "FROM temp.fold f CROSS JOIN samples s ON s.ts = f.ts"
                    " JOIN entities e ON e.id = s.entity AND e.profile = ?"
                )
                count, up, ts_expr, ent = "count(*)", "sum(s.status = 1)", "s.ts", "s.entity"
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
                count, up, ts_expr, ent = "sum(s.n)", "sum(s.up)", "s.ts", "s.entity"
            merge = ", ".join(
                f"{f} = CASE WHEN {f} IS NULL THEN excluded.{f} WHEN excluded.{f} IS NULL"
                f" THEN {f} ELSE CAST(round(({f} * n + excluded.{f} * excluded.n) * 1.0"
                f" / (n + excluded.n)) AS INTEGER) END, {f}_max = max(coalesce({f}_max,"
                f" excluded.{f}_max), coalesce(excluded.{f}_max, {f}_max))"
                for f in GUEST_FIELDS
            )
            cols = ", ".join(f"{f}, {f}_max" for f in GUEST_FIELDS)
            conn.execute(
                f"INSERT INTO rollups (step, ts, entity, n, up, {cols})"
                f" SELECT ?, {ts_expr} - {ts_expr} % ?, {ent}, {count}, {up}, {values}"
                f" {source} WHERE true GROUP BY 2, 3"
                f" ON CONFLICT (step, ts, entity) DO UPDATE SET {merge},"
                " n = n + excluded.n, up = up + excluded.up",
                [step, step, profile],
            )
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

    def _expire_rollups(self, conn: sqlite3.Connection, profile: str, cutoff: float) -> int:
        old = conn.execute(
            "SELECT step, ts FROM timeline WHERE profile = ? AND ts + max(step, 1) <= ?"
            " ORDER BY ts",
            [profile, cutoff],
        ).fetchall()
        if not old:
            return 0
        per_point = max(
            1,
            conn.execute("SELECT count(*) FROM entities WHERE profile = ?", [profile]).fetchone()[
                0
            ],
        )
        per_chunk = max(1, CHUNK_ROWS // per_point)
        deleted = 0
        for start in range(0, len(old), per_chunk):
            chunk = old[start : start + per_chunk]
            with self._tx(conn):
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
        self, conn: sqlite3.Connection, table: str, where: str, cutoff: float
    ) -> int:
        """toolchain §7: delete in chunks of 5,000 so other writers never wait long."""
        total = 0
        while True:
            with self._tx(conn):
                cur = conn.execute(
                    f"DELETE FROM {table} WHERE rowid IN"  # noqa: S608 (identifiers are constants)
                    f" (SELECT rowid FROM {table} WHERE {where} LIMIT 5000)",
                    [cutoff],
                )
            total += max(cur.rowcount, 0)
            if cur.rowcount < 5000:
                return total

    def vacuum(self) -> int:
        """Give free pages back to the file system; returns bytes saved. Blocks writers."""
        with self._lock:
            conn = self._writer().conn
            try:
                size = "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
                before = conn.execute(size).fetchone()[0]
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                return int(before - conn.execute(size).fetchone()[0])
            except sqlite3.Error as exc:
                raise self._handle("could not vacuum", exc) from None


# -- helpers ---------------------------------------------------------------------------------

_END = 2**62


def _align(ts: float, step: int) -> int:
    t = math.floor(ts)
    return t - t % step


def _enc_cpu(value: float | None) -> int | None:
    return None if value is None else round(value * 10_000)


def _enc_kib(value: int | None) -> int | None:
    return None if value is None else round(value / 1024)


def _observe(
    snapshot: ClusterSnapshot, prof: _Profile
) -> tuple[dict[int, GuestState], dict[str, str]]:
    """What the snapshot says, with "unknown" (offline node) keeping the last known value."""
    old_guests, old_nodes = prof.guests, prof.nodes
    guests: dict[int, GuestState] = {}
    for g in snapshot.guests:
        status, name = g.status, g.name
        if status == "unknown" or name is None:
            old = old_guests.get(g.vmid)
            if old is not None:
                status = old[0] if status == "unknown" else status
                name = old[2] if name is None else name
        guests[g.vmid] = (status, g.node, name, g.type)
    nodes: dict[str, str] = {}
    for n in snapshot.nodes:
        status = n.status
        if status not in ("online", "offline"):
            status = old_nodes.get(n.name, status)
        nodes[n.name] = status
    return guests, nodes


def _subject(vmid: int, state: GuestState) -> str:
    word = "CT" if state[3] == "lxc" else "VM"
    return f"{word} {vmid} ({state[2]})" if state[2] else f"{word} {vmid}"


def _diff(
    old_guests: dict[int, GuestState],
    old_nodes: dict[str, str],
    guests: dict[int, GuestState],
    nodes: dict[str, str],
    when: float,
    profile: str,
) -> list[tuple[Any, ...]]:
    """Events as rows for the events table (ts, profile, kind, subject, detail, vmid, node)."""
    out: list[tuple[Any, ...]] = []

    def add(kind: str, subject: str, detail: str, vmid: int | None, node: str | None) -> None:
        out.append((when, profile, kind, subject, detail, vmid, node))

    for host in sorted(nodes):
        up, old = nodes[host], old_nodes.get(host)
        if old is None:
            add("node-added", f"node {host}", up, None, host)
        elif up != old:
            kind = {"offline": "node-offline", "online": "node-online"}.get(up, "node-status")
            add(kind, f"node {host}", f"{old} → {up}", None, host)
    for host in sorted(old_nodes.keys() - nodes.keys()):
        add("node-gone", f"node {host}", "", None, host)
    for vmid in sorted(guests):
        state = guests[vmid]
        status, node, name, _ = state
        prev = old_guests.get(vmid)
        if prev is None:
            add("created", _subject(vmid, state), f"on {node}, {status}", vmid, node)
            continue
        if node != prev[1]:
            add("migrated", _subject(vmid, state), f"{prev[1]} → {node}", vmid, node)
        if status != prev[0]:
            if status == "running" and prev[0] in ("paused", "suspended"):
                add("resumed", _subject(vmid, state), f"on {node}", vmid, node)
            elif status == "running":
                add("started", _subject(vmid, state), f"on {node}", vmid, node)
            elif status == "stopped":
                add("stopped", _subject(vmid, state), f"on {node}", vmid, node)
            else:
                add("status", _subject(vmid, state), f"{prev[0]} → {status}", vmid, node)
        if name and prev[2] and name != prev[2]:
            add("renamed", _subject(vmid, state), f"{prev[2]} → {name}", vmid, node)
    for vmid in sorted(old_guests.keys() - guests.keys()):
        prev = old_guests[vmid]
        add("gone", _subject(vmid, prev), f"was on {prev[1]}", vmid, prev[1])
    return out


def _decode_sample(row: dict[str, Any], step: int) -> dict[str, Any]:
    kind = row["kind"]
    out: dict[str, Any] = {
        "ts": row["ts"],
        "step": step,
        "entity": kind,
        "key": row["key"],
    }
    if step == 0:
        names = _GUEST_NAMES if kind == "guest" else _NODE_NAMES
        code = row["status"]
        out["status"] = None if code is None else names.get(code, "unknown")
        out["n"] = 1
        out["up"] = None if code is None else float(code == 1)
    else:
        out["status"] = None
        out["n"] = row["n"]
        out["up"] = row["up"] / row["n"] if row["n"] else None
    fields = GUEST_FIELDS if kind == "guest" else NODE_FIELDS
    for name in fields:
        value = row[name]
        out[name] = None if value is None else value / _SCALE[name]
        if step:
            peak = row[f"{name}_max"]
            out[f"{name}_max"] = None if peak is None else peak / _SCALE[name]
        else:
            out[f"{name}_max"] = out[name]
    return out


def _retention_dict(ret: Retention) -> dict[str, float]:
    return {name: float(getattr(ret, name)) for name in Retention.__dataclass_fields__}


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _as_dict(record: ActionRecord | ExchangeRecord) -> dict[str, Any]:
    return dataclasses.asdict(record)


def _retry_locked(step: Callable[[], object], timeout: float) -> None:
    """Two processes opening a new file at once: changing the journal mode or migrating
    can fail with "database is locked" without waiting on the busy timeout; retry."""
    deadline = time.monotonic() + max(timeout, 0.5)
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
