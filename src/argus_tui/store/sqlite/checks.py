"""`argus doctor`'s look at the history file: there, readable, which schema, writable.

Done on connections of its own, read-only first, so a check never creates, migrates or
moves aside the file it looks at; the write test takes the write lock and rolls back.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from ..records import Probe
from .schema import SCHEMA_VERSION

_HINT = "check the folder's owner and mode, or set [history] enabled = false"


def diagnose(path: Path, timeout: float) -> list[Probe]:
    """reachable, schema and write probes of the file at `path` (nothing created)."""
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), Path("/"))
        writable = os.access(folder, os.W_OK | os.X_OK)
        return [
            Probe("reachable", True, f"{path} does not exist yet: the first refresh creates it"),
            Probe(
                "write",
                writable,
                f"{folder} is {'writable' if writable else 'not writable'}",
                "" if writable else _HINT,
            ),
        ]
    uri = f"{path.absolute().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as conn:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.Error as exc:
        hint = "move the file aside; Argus starts a fresh one (the old one is kept)"
        return [Probe("reachable", False, f"{path} cannot be read: {exc}", hint)]
    size = path.stat().st_size
    probes = [Probe("reachable", True, f"SQLite file {path} ({size:,} bytes)")]
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        probes.append(
            Probe(
                "schema",
                False,
                f"schema {version}, written by a newer Argus (this one knows {SCHEMA_VERSION})",
                "upgrade Argus, or move the file aside",
            )
        )
    else:
        note = "" if version == SCHEMA_VERSION else f", upgraded to {SCHEMA_VERSION} on next use"
        probes.append(Probe("schema", True, f"schema {version}{note}"))
    probes.append(_write(path, timeout))
    return probes


def _write(path: Path, timeout: float) -> Probe:
    """Take the write lock and change a row, then roll back: what recording needs."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=timeout)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE schema_version SET version = version")
            finally:
                conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return Probe("write", False, f"a test write failed: {exc}", _HINT)
    return Probe("write", True, "a test write succeeded (rolled back)")
