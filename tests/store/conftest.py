"""Fixtures for the history store: real SQLite files in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from argus_tui.store.db import HistoryStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[HistoryStore]:
    """A store without automatic pruning, so tests decide when time passes."""
    st = HistoryStore(db_path, auto_prune=False)
    yield st
    st.close()
