"""The team database: two connections, opened on first use and reopened after a drop.

One writer connection (guarded by `lock`) and one reader (its own lock), as for SQLite,
so a long prune in this process never holds up a sparkline read. Both are in autocommit
mode; writes run in explicit transactions (`transaction`). A connection that died (the
server restarted, an idle connection was cut) is replaced on the next call; a call whose
connection died before anything was committed is run once more on a fresh one, so an
idle drop costs the user nothing. Every other failure is a StoreError (see `errors`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from argus_tui.domain.secret import Secret
from argus_tui.errors import StoreError

from .errors import failure
from .schema import SCHEMA_VERSION, Conn, migrate, newer
from .schema import version as schema_version
from .target import Target, connect_options, parse

T = TypeVar("T")


class Database:
    """Thread-safe access to one PostgreSQL history.

    `setup(conn)` runs on every new writer connection (e.g. to create its temporary
    tables); `timeout` bounds connecting and waiting for another instance's locks.
    """

    def __init__(
        self, url: str, password: Secret | None, timeout: float, setup: Callable[[Conn], None]
    ) -> None:
        self._url = url
        self._password = password
        self.timeout = timeout
        self._setup = setup
        self._bad_url: StoreError | None = None
        try:
            self.target = parse(url)
        except StoreError as exc:  # reported on first use: constructing never fails
            self.target, self._bad_url = Target("", "", "", ""), exc
        #: user@host:port/db for messages: never the password.
        self.where = "(URL not valid)" if self._bad_url else self.target.where()
        #: Write transactions committed through `transaction`.
        self.writes = 0
        self.warnings: list[str] = []
        self.lock = threading.RLock()
        self._rlock = threading.Lock()
        self._writer: Conn | None = None
        self._reader: Conn | None = None
        self._committing = False

    def describe(self) -> str:
        """For people, never a password: "PostgreSQL argus@db.example:5432/argus"."""
        return f"PostgreSQL {self.where}"

    # -- connections -----------------------------------------------------------------------

    def connect(self) -> Conn:
        """A new connection in autocommit mode; StoreUnavailable when it cannot be had."""
        if self._bad_url is not None:
            raise self._bad_url
        root = Path.home() / ".postgresql" / "root.crt"
        options = connect_options(
            self.target, os.environ, self.timeout, default_root_exists=root.exists()
        )
        keywords: dict[str, Any] = dict(options)
        if self._password is not None:
            keywords["password"] = self._password.reveal()  # a keyword, never in the URL
        try:
            conn: Conn = psycopg.connect(self._url, autocommit=True, **keywords)
        except psycopg.Error as exc:
            raise failure(self.where, "could not connect", exc) from None
        try:
            conn.execute(f"SET lock_timeout = {max(1, round(self.timeout * 1000))}")
        except psycopg.Error as exc:
            conn.close()
            raise failure(self.where, "could not connect", exc) from None
        return conn

    def _writer_conn(self) -> Conn:
        """The writer, opened (and the schema migrated) on first use. Hold `lock`."""
        if self._writer is not None and not self._writer.closed and not self._writer.broken:
            return self._writer
        self._drop("_writer")
        conn = self.connect()
        try:
            migrate(conn, self.where)
            self._setup(conn)
        except psycopg.Error as exc:
            conn.close()
            raise failure(self.where, "could not prepare the database", exc) from None
        except BaseException:
            conn.close()
            raise
        self._writer = conn
        return conn

    def _reader_conn(self) -> Conn:
        """The reader; the first one makes sure the schema is there. Hold `_rlock`."""
        if self._reader is not None and not self._reader.closed and not self._reader.broken:
            return self._reader
        self._drop("_reader")
        conn = self.connect()
        try:
            version = schema_version(conn)
        except psycopg.Error as exc:
            conn.close()
            raise failure(self.where, "could not read the schema version", exc) from None
        if version is not None and version > SCHEMA_VERSION:
            conn.close()
            raise newer(self.where, version)
        if version != SCHEMA_VERSION:
            try:
                with self.lock:
                    self._writer_conn()  # creates or migrates the schema
            except BaseException:
                conn.close()
                raise
        # What `read(snapshot=True)` runs in: one consistent, read-only view.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        self._reader = conn
        return conn

    def _drop(self, which: str) -> None:
        conn: Conn | None = getattr(self, which)
        setattr(self, which, None)
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    # -- running calls ---------------------------------------------------------------------

    def write(self, what: str, work: Callable[[Conn], T]) -> T:
        """Run `work` on the writer (holding `lock`); a psycopg error becomes a StoreError.

        Run once more on a new connection when the first one turns out dead and nothing
        was committed yet (`transaction` counts commits).
        """
        with self.lock:
            for attempt in (1, 2):
                conn = self._writer_conn()
                before, self._committing = self.writes, False
                try:
                    return work(conn)
                except psycopg.Error as exc:
                    broken = conn.broken or conn.closed
                    if broken:
                        self._drop("_writer")
                    if broken and attempt == 1 and not self._committing and self.writes == before:
                        continue
                    raise failure(self.where, what, exc, broken=broken) from None
            raise AssertionError("unreachable")

    def read(self, what: str, work: Callable[[Conn], T], *, snapshot: bool = False) -> T:
        """Run `work` on the reader; `snapshot`: in one read-only REPEATABLE READ
        transaction, so several queries see the same moment."""
        with self._rlock:
            for attempt in (1, 2):
                conn = self._reader_conn()
                try:
                    if not snapshot:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
                except psycopg.Error as exc:
                    broken = conn.broken or conn.closed
                    if broken:
                        self._drop("_reader")
                        if attempt == 1:
                            continue
                    raise failure(self.where, what, exc, broken=broken) from None
            raise AssertionError("unreachable")

    @contextlib.contextmanager
    def transaction(self, conn: Conn) -> Iterator[Conn]:
        """BEGIN .. COMMIT on the writer; counts the commit in `writes`."""
        with conn.transaction():
            yield conn
            self._committing = True  # from here on, the COMMIT may have happened
        self.writes += 1

    def take_warnings(self) -> list[str]:
        out, self.warnings[:] = list(self.warnings), []
        return out

    def close(self) -> None:
        """Close both connections; the next call opens new ones. Safe to call twice."""
        with self._rlock, self.lock:
            self._drop("_reader")
            self._drop("_writer")
