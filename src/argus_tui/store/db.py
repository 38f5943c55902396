"""The local history database (SQLite via sqlite-utils): schema, migrations, the journal.

One file under the platform data dir, shared by every profile (profile is a column) and
by concurrent Argus processes (WAL). A database that cannot be opened or is corrupt
never stops Argus: callers get a StoreError with a clear message and carry on.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
import sqlite_utils

from argus_tui.errors import ArgusError

SCHEMA_VERSION = 1


class StoreError(ArgusError):
    """The history database is unavailable; Argus runs on without it."""

    title = "History"


def default_path() -> Path:
    return Path(platformdirs.user_data_dir("argus", appauthor=False)) / "history.db"


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migrate_1]


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


class HistoryStore:
    """Thread-safe: one connection guarded by a lock, used from worker threads only."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._lock = threading.Lock()
        self._db: sqlite_utils.Database | None = None

    def _open(self) -> sqlite_utils.Database:
        if self._db is not None:
            return self._db
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._migrate(db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"history database {self.path} is unavailable: {exc}",
                hint="Argus runs on without history",
            ) from None
        self._db = db
        return db

    def _migrate(self, db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT version FROM schema_version").fetchone()
        current = row[0] if row else 0
        if current > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"it was written by a newer Argus (schema {current} > {SCHEMA_VERSION})"
            )
        with db.conn:
            for version in range(current, SCHEMA_VERSION):
                MIGRATIONS[version](db)
            if row:
                db.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION])
            else:
                db.execute("INSERT INTO schema_version VALUES (?)", [SCHEMA_VERSION])

    def record_action(self, record: ActionRecord) -> None:
        with self._lock:
            db = self._open()
            try:
                with db.conn:
                    db.table("actions").insert(_as_dict(record))
            except sqlite3.Error as exc:
                raise StoreError(f"could not record the action: {exc}") from None

    def actions(self, since: float = 0.0) -> list[dict[str, Any]]:
        with self._lock:
            db = self._open()
            return list(db.query("SELECT * FROM actions WHERE ts >= ? ORDER BY ts", [since]))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None


def _as_dict(record: ActionRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ActionRecord.__dataclass_fields__}
