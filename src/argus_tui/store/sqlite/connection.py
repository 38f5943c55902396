"""The history file: its two connections, their locks, corruption and quarantine.

One file under the platform data dir, shared by every profile (profile is a column) and
by concurrent Argus processes (WAL, busy timeout, BEGIN IMMEDIATE for every write). A
file that cannot be opened never stops Argus: callers get a StoreError with a clear
message and carry on without history. A corrupt file is moved aside (never deleted) and
a fresh one is started; `warnings` says so once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlite_utils

from argus_tui.errors import StoreError

from ..private import create_private, private_folder, tighten
from .errors import HINT, Corrupt, failure, is_corrupt
from .schema import SCHEMA_VERSION, migrate

#: Full `PRAGMA quick_check` on open below this size; above it only the small tables.
QUICK_CHECK_LIMIT = 64 * 1024 * 1024


class HistoryFile:
    """Thread-safe access to one SQLite history file.

    One writer connection (guarded by `lock`) and one reader connection (its own lock),
    so a long prune in this process never holds up a sparkline query; other processes
    are coordinated by SQLite (WAL, busy timeout). Lock order: the reader's, then `lock`.
    `on_reset` runs when the file is moved aside, so caches of its content are dropped.
    `cache_kib` is each connection's page cache.
    """

    def __init__(
        self, path: Path, timeout: float, on_reset: Callable[[], None], cache_kib: int
    ) -> None:
        self.path = path
        self.timeout = timeout
        self._cache = f"PRAGMA cache_size=-{int(cache_kib)}"  # negative: KiB, not pages
        #: One line per problem the user should hear about once (e.g. a corrupt file moved
        #: aside). Read them with `take_warnings()`.
        self.warnings: list[str] = []
        #: Write transactions committed through `transaction`.
        self.writes = 0
        self.lock = threading.RLock()
        self._on_reset = on_reset
        self._rlock = threading.Lock()
        self._db: sqlite_utils.Database | None = None
        self._reader_conn: sqlite3.Connection | None = None
        self._reader_stale = False

    # -- writing ---------------------------------------------------------------------------

    def writer(self) -> sqlite3.Connection:
        """The writer connection, opened (and migrated) on first use. Hold `lock`."""
        if self._db is not None:
            return self._db.conn
        try:
            if not self.path.parent.is_dir():  # an existing one is not Argus's to change
                private_folder(self.path.parent)
        except OSError as exc:
            raise failure(self.path, "cannot create its folder", exc) from None
        self._private_files()
        try:
            db = self._connect()
        except Corrupt as exc:
            self._quarantine(str(exc))
            self._private_files()
            try:
                db = self._connect()
            except Corrupt as again:
                raise StoreError(
                    f"history database {self.path} is unusable: {again}", hint=HINT
                ) from None
        self._db = db
        return db.conn

    def _private_files(self) -> None:
        """The file is created 0600 before SQLite opens it (SQLite gives its -wal and -shm
        the file's mode); an existing one others can read is tightened, and that is said
        once (`warnings`). A folder where it cannot be created is left to SQLite to name."""
        try:
            if create_private(self.path):
                return
        except OSError:
            return
        for path in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            notice = tighten(path)
            if notice:
                self.warnings.append(str(notice))

    @contextlib.contextmanager
    def writing(self, what: str) -> Iterator[sqlite3.Connection]:
        """Hold `lock` and the writer; an SQLite error while writing becomes a StoreError."""
        with self.lock:
            conn = self.writer()
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self.error(what, exc) from None

    @contextlib.contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT: takes the write lock up front (waits busy_timeout)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        self.writes += 1

    # -- reading ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self, what: str) -> Iterator[sqlite3.Connection]:
        """The reader connection; an SQLite error while reading becomes a StoreError."""
        with self._rlock:
            try:
                yield self._reader()
            except sqlite3.Error as exc:
                raise self.error(what, exc) from None

    def _reader(self) -> sqlite3.Connection:
        """A second connection for reads; hold `_rlock`."""
        if self._reader_stale and self._reader_conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._reader_conn.close()
            self._reader_conn = None
        self._reader_stale = False
        if self._reader_conn is None:
            fallback: StoreError | None = None
            if self._db is None:
                try:
                    with self.lock:
                        self.writer()  # creates and migrates the file if needed
                except StoreError as exc:
                    if not self.path.exists():
                        raise
                    fallback = exc  # locked or read-only: reading may still work
            try:
                uri = f"{self.path.absolute().as_uri()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=self.timeout, check_same_thread=False)
                conn.execute(self._cache)
                row = conn.execute("SELECT version FROM schema_version").fetchone()
            except sqlite3.Error:
                if fallback is not None:
                    raise fallback from None
                raise  # `reading` turns it into a StoreError (and moves a corrupt file aside)
            if fallback is not None and (row is None or row[0] != SCHEMA_VERSION):
                conn.close()
                raise fallback
            self._reader_conn = conn
        return self._reader_conn

    # -- failures --------------------------------------------------------------------------

    def error(self, what: str, exc: sqlite3.Error) -> StoreError:
        """Turn an error during use into a StoreError; a corrupt file is moved aside."""
        if is_corrupt(exc):
            with self.lock:
                try:
                    self._quarantine(str(exc))
                except StoreError as failed:
                    return failed
            return StoreError(
                f"history database {self.path} turned out corrupt ({exc}); it was moved"
                " aside and a fresh one starts with the next write",
                hint="history before now is in the moved file",
            )
        return failure(self.path, what, exc)

    def take_warnings(self) -> list[str]:
        """The warnings not yet shown, once each."""
        out, self.warnings[:] = list(self.warnings), []
        return out

    # -- opening and closing ---------------------------------------------------------------

    def _connect(self) -> sqlite_utils.Database:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, check_same_thread=False)
            db = sqlite_utils.Database(conn)
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"), self.timeout)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA secure_delete=OFF")
            conn.execute(self._cache)
            self._check_integrity(conn)
            _retry_locked(lambda: migrate(db, self.path), self.timeout)
            # A write probe: a read-only file or folder fails here, not on the first sample.
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.Error):
                if is_corrupt(exc):
                    raise Corrupt(str(exc)) from None
                raise failure(self.path, "open", exc) from None
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
            raise Corrupt(f"truncated: {size} bytes on disk, {pages * page_size} expected")
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
            raise Corrupt(f"integrity check: {bad[0]}")

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
                hint=HINT,
            ) from None
        self._on_reset()
        self.warnings.append(
            f"history database {self.path} was corrupt ({reason}); moved aside to"
            f" {target.name} and started afresh"
        )

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
        with self._rlock, self.lock:
            if self._reader_conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._reader_conn.close()
                self._reader_conn = None
            self._close_connections()


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
