"""Fixtures for the PostgreSQL backend's own tests: a fresh database on the session's
server for each test (see tests/pg_server.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from argus_tui.store.postgres import PostgresHistory
from tests.pg_server import pg_url  # noqa: F401 (a fixture; pg_server comes from ../conftest)

MakeStore = Callable[..., PostgresHistory]


@pytest.fixture
def make_store(pg_url: str) -> Iterator[MakeStore]:  # noqa: F811
    """Open stores on this test's database (options as for PostgresHistory); all are
    closed at the end of the test."""
    opened: list[PostgresHistory] = []

    def make(**options: object) -> PostgresHistory:
        options.setdefault("auto_prune", False)
        st = PostgresHistory(pg_url, **options)  # type: ignore[arg-type]
        opened.append(st)
        return st

    yield make
    for st in opened:
        st.close()


@pytest.fixture
def store(make_store: MakeStore) -> PostgresHistory:
    """A store without automatic pruning, so tests decide when time passes."""
    return make_store()
