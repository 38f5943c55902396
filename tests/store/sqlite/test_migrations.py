"""Schema migrations: an old file is upgraded in place, a newer one is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from argus_tui.errors import StoreError
from argus_tui.store.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteHistory

from ..helpers import T0, guest, snapshot


def _schema_1(path: Path) -> None:
    """A file exactly as schema 1 left it: migration 1, its version row, two actions."""
    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    MIGRATIONS[0](db)
    conn.execute("INSERT INTO schema_version VALUES (1)")
    for i in range(2):
        conn.execute(
            "INSERT INTO actions (ts, profile, token_id, vmid, guest, node, action, upid,"
            " result, duration) VALUES (?, 'p', 'root@pam!argus', ?, 'web', 'pve1', 'start',"
            " 'UPID:x', 'OK', 1.0)",
            [T0 + i, 100 + i],
        )
    conn.commit()
    conn.close()


def test_schema_1_is_upgraded_and_keeps_its_data(db_path: Path) -> None:
    _schema_1(db_path)
    store = SqliteHistory(db_path, auto_prune=False)
    assert [r["vmid"] for r in store.actions(0)] == [100, 101]
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert store.guest_series("p", 101, "cpu", 0) == [(T0, 0.5)]
    store.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"samples", "rollups", "events", "tasks", "timeline", "actions_profile_ts"} <= tables
    # opening again is a no-op
    again = SqliteHistory(db_path, auto_prune=False)
    assert len(again.actions(0)) == 2
    again.close()


def test_a_fresh_file_gets_every_migration(db_path: Path) -> None:
    store = SqliteHistory(db_path)
    assert store.stats().schema == SCHEMA_VERSION == len(MIGRATIONS)
    store.close()


def test_a_newer_schema_is_refused_and_left_untouched(db_path: Path) -> None:
    _schema_1(db_path)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION + 7])
    before = db_path.read_bytes()
    store = SqliteHistory(db_path)
    with pytest.raises(StoreError) as info:
        store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    message = str(info.value)
    assert "newer Argus" in message and f"schema {SCHEMA_VERSION + 7}" in message
    assert "\n" not in message
    with pytest.raises(StoreError, match="newer Argus"):
        store.actions(0)
    store.close()
    assert db_path.read_bytes() == before
    assert [p.name for p in db_path.parent.iterdir() if "corrupt" in p.name] == []
