"""The PostgreSQL history backend: one database a team of operators shares.

Importing it loads psycopg; `argus_tui.store` imports it only when a URL is configured.
"""

from __future__ import annotations

from .schema import MIGRATIONS, SCHEMA_VERSION
from .store import PostgresHistory
from .target import Target, connect_options, is_local, parse, tls_options

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "PostgresHistory",
    "Target",
    "connect_options",
    "is_local",
    "parse",
    "tls_options",
]
