"""Fixtures for the SQLite backend's own tests: real files in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from argus_tui.store.sqlite import SqliteHistory


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteHistory]:
    """A store without automatic pruning, so tests decide when time passes."""
    st = SqliteHistory(db_path, auto_prune=False)
    yield st
    st.close()
