"""Fixtures for the history store, run over every backend.

`history` (and `open_history` for a second store, or other options) come once per entry
of BACKENDS: a test written against them holds for every backend. A new backend is one
entry here and one opener below. Backend-specific tests live in tests/store/<backend>/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from argus_tui import store
from argus_tui.store import HistoryStore
from argus_tui.store.postgres import PostgresHistory
from tests.pg_server import PgServer, pg_server  # noqa: F401 (a fixture)

BACKENDS = ["sqlite", "postgres"]

#: Opens a store on the test's own database: every call, the same database.
OpenHistory = Callable[..., HistoryStore]


def _sqlite(tmp_path: Path) -> OpenHistory:
    path = tmp_path / "history.db"
    return lambda **options: store.open_history(path, **options)


def _postgres(url: str) -> OpenHistory:
    return lambda **options: PostgresHistory(url, **options)


@pytest.fixture(params=BACKENDS)
def open_history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenHistory]:
    """Open stores (options as for `argus_tui.store.open_history`) on one fresh database
    (for PostgreSQL, a new database on the session's server); they are closed at the end
    of the test."""
    opened: list[HistoryStore] = []
    dbname = ""
    if request.param == "postgres":
        server: PgServer = request.getfixturevalue("pg_server")
        dbname = server.create_database()
        make = _postgres(server.url(dbname))
    else:
        make = _sqlite(tmp_path)

    def open_(**options: Any) -> HistoryStore:
        st = make(**options)
        opened.append(st)
        return st

    yield open_
    for st in opened:
        st.close()
    if dbname:
        server.drop_database(dbname)


@pytest.fixture
def history(open_history: OpenHistory) -> HistoryStore:
    """A store without automatic pruning, so tests decide when time passes."""
    return open_history(auto_prune=False)
