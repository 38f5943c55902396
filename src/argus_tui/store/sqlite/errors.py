"""SQLite failures as StoreErrors that say what happened to the file and what to do."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from argus_tui.errors import StoreError

HINT = "Argus runs on without history"

# SQLite primary result codes (exc.sqlite_errorcode & 0xFF)
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = (
    3,
    5,
    6,
    8,
    10,
    11,
    13,
    14,
    26,
)


class Corrupt(Exception):
    """Raised while opening when the file is not a usable database."""


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


def is_corrupt(exc: BaseException) -> bool:
    """True if `exc` says the file is damaged (rather than locked, read-only, full...)."""
    return isinstance(exc, sqlite3.DatabaseError) and _errcode(exc) in (_CORRUPT, _NOTADB)


def _writable(path: Path) -> bool:
    """False if the file or its folder (where -wal and -shm live) is not writable."""
    folder = os.access(path.parent, os.W_OK | os.X_OK)
    return folder and (not path.exists() or os.access(path, os.W_OK))


def failure(path: Path, what: str, exc: sqlite3.Error | OSError) -> StoreError:
    """A one-line StoreError for `exc` while doing `what` (not for corruption)."""
    if isinstance(exc, OSError):
        return StoreError(f"history database {path} {what}: {exc}", hint=HINT)
    code = _errcode(exc)
    if code in (_BUSY, _LOCKED):
        reason = "is locked by another process"
    elif code in (_READONLY, _PERM) or (code in (_CANTOPEN, _IOERR) and not _writable(path)):
        reason = "is read-only"
    elif code == _FULL:
        reason = "cannot grow: the disk is full"
    elif code == _CANTOPEN:
        reason = "cannot be opened"
    else:
        reason = "failed"
    return StoreError(f"history database {path} {reason} ({what}: {exc})", hint=HINT)
