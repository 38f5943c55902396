"""Fixtures for the team history: a fresh database on the session's PostgreSQL server
(tests/pg_server.py), reached through a relay that can be cut to take it away."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from tests.pg_server import PgServer, pg_server, require  # noqa: F401 (a fixture)
from tests.team.proxy import Relay


@dataclass
class TeamDb:
    """A fresh database: its name, the server, and a relay in front of it."""

    server: PgServer
    name: str
    relay: Relay

    def url(self, *, direct: bool = False, user: str | None = None) -> str:
        """A URL as Argus takes it (no password): through the relay unless `direct`."""
        port = self.server.port if direct else self.relay.port
        host = self.server.host if direct else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        query = "&".join(f"{k}={v}" for k, v in sorted(self.server.params.items()))
        who = user or self.server.user
        return f"postgresql://{who}@{host}:{port}/{self.name}" + (f"?{query}" if query else "")

    def env(self) -> dict[str, str]:
        """What a process needs besides the URL: the superuser's password, if any."""
        return {"PGPASSWORD": self.server.password} if self.server.password else {}

    def count(self, sql: str) -> int:
        with self.server.admin(self.name) as conn:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
        assert row is not None
        return int(row[0])  # type: ignore[call-overload]


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[TeamDb]:  # noqa: F811
    name = pg_server.create_database()
    relay = Relay(pg_server.host, pg_server.port)
    old = os.environ.get("PGPASSWORD")
    if pg_server.password:
        os.environ["PGPASSWORD"] = pg_server.password  # in-process stores log in with it
    try:
        yield TeamDb(pg_server, name, relay)
    finally:
        relay.cut()
        if pg_server.password:
            if old is None:
                os.environ.pop("PGPASSWORD", None)
            else:
                os.environ["PGPASSWORD"] = old
        pg_server.drop_database(name)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "argus"


PASSWORD = "team-db-pw-5f0c2a9e"


@pytest.fixture
def role(pg_server: PgServer) -> Iterator[tuple[str, str]]:  # noqa: F811
    """A role that must give PASSWORD over TCP, owning a fresh database: (role, dbname)."""
    name = pg_server.create_role(PASSWORD)
    db = pg_server.create_database(owner=name)
    try:
        try:
            psycopg.connect(pg_server.url(db, user=name), password="wrong").close()
        except psycopg.OperationalError:
            pass  # as it should be
        else:
            require("the test server accepts any password (its pg_hba.conf says trust)")
        yield name, db
    finally:
        pg_server.drop_database(db)
        pg_server.drop_role(name)
