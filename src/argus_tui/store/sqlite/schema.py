"""The SQLite schema and its migrations: an old file is upgraded in place, a newer refused.

What is kept (schema 3, see docs/PERFORMANCE.md "History" for sizes):

- `samples`: raw node and guest samples, at most one per `sample_interval`, clustered by
  time (`PRIMARY KEY (ts, entity)`, WITHOUT ROWID) so a refresh appends a few pages
  instead of touching one page per guest. Values are the integers of `store.samples`.
- `rollups`: downsampled rows (average and max per field, `n` samples, `up` of them
  running/online) at `Retention.mid_step` (5 min) and `Retention.long_step` (1 h).
- `timeline`: which timestamps exist per profile and resolution (step 0 = raw). Series
  reads walk it and look each point up by primary key, so a 24 h sparkline is ~1,440
  index probes whatever the cluster size.
- `entities`: (profile, kind, key) -> small integer id used by samples and rollups.
- `events`: derived changes (started, stopped, created, gone, migrated, node offline...),
  so the changes view never scans samples. `last_state` holds what they are derived from.
- `tasks` (upserted by UPID), `actions` (the journal of power actions and operations),
  `profile_state` (last sample, last seen, state version, cluster size), `meta` (last
  prune).
- `exchanges` (schema 3): one row per question to the assistant: when, profile, model,
  subject, the (redacted) question, context and answer sizes, outcome and error. Never
  the context or the answer text, never a secret.
- `actions.target` (schema 4): what an operation was about beyond the guest (a snapshot
  name, a backup volume, the storage a backup went to); empty for power actions.
- `actions.operator` (schema 5): the person who acted (`ARGUS_OPERATOR`, else login name
  and host), beside the token they acted with: a team shares one history.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from argus_tui.errors import StoreError

from ..records import GUEST_FIELDS
from .errors import HINT

SCHEMA_VERSION = 5


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


def _migrate_4(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE actions ADD COLUMN target TEXT NOT NULL DEFAULT ''")


def _migrate_5(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE actions ADD COLUMN operator TEXT NOT NULL DEFAULT ''")


#: MIGRATIONS[n] takes a file from schema n to n + 1.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_4,
    _migrate_5,
]
assert len(MIGRATIONS) == SCHEMA_VERSION


def _newer(path: Path, version: int) -> StoreError:
    return StoreError(
        f"history database {path} was written by a newer Argus (schema"
        f" {version}, this one knows {SCHEMA_VERSION}); it was left untouched",
        hint=f"upgrade Argus, or move the file aside; {HINT}",
    )


def migrate(db: sqlite_utils.Database, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION; a file from a newer Argus is left untouched."""
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
        raise _newer(path, row[0])
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        current = row[0] if row else 0  # re-read: another process may have migrated
        if current > SCHEMA_VERSION:
            raise _newer(path, current)
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
