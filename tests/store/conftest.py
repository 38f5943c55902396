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

BACKENDS = ["sqlite"]

#: Opens a store on the test's own database: every call, the same database.
OpenHistory = Callable[..., HistoryStore]


def _sqlite(tmp_path: Path) -> OpenHistory:
    path = tmp_path / "history.db"
    return lambda **options: store.open_history(path, **options)


_OPENERS: dict[str, Callable[[Path], OpenHistory]] = {"sqlite": _sqlite}


@pytest.fixture(params=BACKENDS)
def open_history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenHistory]:
    """Open stores (options as for `argus_tui.store.open_history`) on one fresh database;
    they are closed at the end of the test."""
    opened: list[HistoryStore] = []
    make = _OPENERS[request.param](tmp_path)

    def open_(**options: Any) -> HistoryStore:
        st = make(**options)
        opened.append(st)
        return st

    yield open_
    for st in opened:
        st.close()


@pytest.fixture
def history(open_history: OpenHistory) -> HistoryStore:
    """A store without automatic pruning, so tests decide when time passes."""
    return open_history(auto_prune=False)
