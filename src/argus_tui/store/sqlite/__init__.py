"""The SQLite history backend: one file shared by every profile and Argus process."""

from __future__ import annotations

from .schema import MIGRATIONS, SCHEMA_VERSION
from .store import SqliteHistory, default_path

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteHistory", "default_path"]
