"""The local history: record types and change rules (pure), the HistoryStore protocol,
and `open_history`, the one way to open a history.

Backends live in subpackages (`sqlite`: one file under the platform data dir). Callers
depend on `HistoryStore` and the records only, never on a backend's types.
"""

from __future__ import annotations

from pathlib import Path

from .protocol import HistoryStore
from .records import (
    DAY,
    GUEST_FIELDS,
    HOUR,
    LARGE_CLUSTER,
    NODE_FIELDS,
    ActionRecord,
    Change,
    ExchangeRecord,
    Export,
    Policy,
    ProfileStats,
    Retention,
    Span,
    Stats,
    TableStats,
)

__all__ = [
    "DAY",
    "GUEST_FIELDS",
    "HOUR",
    "LARGE_CLUSTER",
    "NODE_FIELDS",
    "ActionRecord",
    "Change",
    "ExchangeRecord",
    "Export",
    "HistoryStore",
    "Policy",
    "ProfileStats",
    "Retention",
    "Span",
    "Stats",
    "TableStats",
    "open_history",
]


def open_history(
    path: Path | None = None,
    *,
    sample_interval: float = 60.0,
    retention: Retention | None = None,
    timeout: float = 5.0,
    large_cluster: int | None = LARGE_CLUSTER,
    auto_prune: bool = True,
) -> HistoryStore:
    """The history kept at `path` (default: history.db in the user data folder).

    Nothing is opened until first use, so this never fails; the store's methods raise
    StoreError when the database turns out unusable. `sample_interval` (seconds) and
    `retention` are what the user configured; clusters above `large_cluster` nodes +
    guests are recorded more sparsely (see `records.choose_policy`).
    """
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
