"""The history: record types and change rules (pure), the HistoryStore protocol, and
`open_history`, the one way to open a history.

Backends live in subpackages (`sqlite`: one file under the platform data dir;
`postgres`: a team's shared database, used through the local spool of `spool`). Callers
depend on `HistoryStore` and the records only, never on a backend's types.
"""

from __future__ import annotations

from pathlib import Path

from argus_tui.domain.dburl import parse_database_url
from argus_tui.domain.secret import Secret

from .private import Notice, data_dir, secure_own_folders
from .protocol import HistoryStore, Spooling
from .records import (
    DAY,
    EXCHANGE_FIELDS,
    GUEST_FIELDS,
    HOUR,
    LARGE_CLUSTER,
    NODE_FIELDS,
    ActionRecord,
    Backlog,
    Change,
    ExchangeRecord,
    Export,
    Policy,
    Probe,
    ProfileStats,
    Retention,
    Span,
    Stats,
    TableStats,
)

__all__ = [
    "DAY",
    "EXCHANGE_FIELDS",
    "GUEST_FIELDS",
    "HOUR",
    "LARGE_CLUSTER",
    "NODE_FIELDS",
    "ActionRecord",
    "Backlog",
    "Change",
    "ExchangeRecord",
    "Export",
    "HistoryStore",
    "Notice",
    "Policy",
    "Probe",
    "ProfileStats",
    "Retention",
    "Span",
    "Spooling",
    "Stats",
    "TableStats",
    "data_dir",
    "local_history_path",
    "open_history",
    "secure_own_folders",
]


def local_history_path() -> Path:
    """The local SQLite history's file (whether or not it exists yet)."""
    return data_dir() / "history.db"


def open_history(
    path: Path | None = None,
    *,
    url: str | None = None,
    password: Secret | None = None,
    name: str = "",
    spool: bool = True,
    spool_dir: Path | None = None,
    sample_interval: float = 60.0,
    retention: Retention | None = None,
    timeout: float = 5.0,
    large_cluster: int | None = LARGE_CLUSTER,
    auto_prune: bool = True,
) -> HistoryStore:
    """The team history at `url` (PostgreSQL), else the local one at `path` (default:
    history.db in the user data folder).

    A team history keeps writes in `spool_dir` (default: the user data folder) while its
    database is away (unless `spool` is False: copying or checking a database, where a
    failure is the answer), and writes no local history file at all; `name` names it in
    messages (default: host:port/dbname from the URL); `password` is used when given,
    else libpq finds one itself (~/.pgpass, PGPASSWORD, a service file). Nothing is
    opened until first use, so this never fails; the store's methods raise StoreError
    when the database turns out unusable. `sample_interval` (seconds) and `retention`
    are what the user configured; clusters above `large_cluster` nodes + guests are
    recorded more sparsely (see `records.choose_policy`).
    """
    if url:
        # Imported here so that psycopg (and the spool) load only for a team history.
        from .postgres import PostgresHistory
        from .spool import SpooledHistory

        team = PostgresHistory(
            url,
            password=password,
            sample_interval=sample_interval,
            retention=retention,
            timeout=timeout,
            large_cluster=large_cluster,
            auto_prune=auto_prune,
        )
        if not spool:
            return team
        label = name or parse_database_url(url).short()
        return SpooledHistory(team, spool_dir or data_dir(), name=label)
    # Imported here so that the SQLite backend (and sqlite-utils, ~80 ms) loads only when
    # a history is opened, not with the record types every caller imports.
    from .sqlite import SqliteHistory

    return SqliteHistory(
        path,
        sample_interval=sample_interval,
        retention=retention,
        timeout=timeout,
        large_cluster=large_cluster,
        auto_prune=auto_prune,
    )
