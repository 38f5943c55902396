"""`diagnose()` for `argus doctor`: each check says what it found and, failing, what to do;
it creates nothing, writes nothing that stays, and never raises."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from argus_tui.domain.secret import Secret
from argus_tui.store import Probe
from argus_tui.store.postgres import SCHEMA_VERSION, PostgresHistory
from tests.pg_server import PgServer

from ..helpers import T0, guest, snapshot

PASSWORD = "Doctor-Pa55-4b1d"


def _by_name(probes: list[Probe]) -> dict[str, Probe]:
    return {p.name: p for p in probes}


def test_a_healthy_database_passes_every_check(pg_url: str) -> None:
    fresh = PostgresHistory(pg_url)
    probes = fresh.diagnose()
    assert [p.name for p in probes] == ["reachable", "tls", "schema", "write"]
    assert all(p.ok for p in probes), probes
    found = _by_name(probes)
    assert found["reachable"].detail.startswith("PostgreSQL 1")
    assert found["tls"].detail == "local connection, TLS not needed"
    assert "first use creates schema" in found["schema"].detail
    with psycopg.connect(pg_url) as conn:  # looking created nothing
        assert conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone() == (0,)
    fresh.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    probes = fresh.diagnose()
    assert all(p.ok for p in probes), probes
    assert _by_name(probes)["schema"].detail == f"schema {SCHEMA_VERSION}"
    assert _by_name(probes)["write"].detail == "a test write succeeded (rolled back)"
    assert fresh.actions(0) == []  # the test write did not stay
    fresh.close()


def test_an_unreachable_database_stops_after_the_first_check() -> None:
    probes = PostgresHistory("postgresql://argus@127.0.0.1:9/argus", timeout=2).diagnose()
    assert [(p.name, p.ok) for p in probes] == [("reachable", False)]
    assert "connection refused" in probes[0].detail and probes[0].hint


@pytest.fixture
def limited(pg_server: PgServer, pg_url: str) -> Iterator[tuple[str, str]]:
    """(role, url): a role with a password and no rights in the test database."""
    role = pg_server.create_role(PASSWORD)
    dbname = pg_url.rsplit("/", 1)[1]
    try:
        yield role, pg_server.url(dbname, user=role)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        pg_server.drop_role(role)


def test_a_wrong_password_fails_reachable_without_the_password(limited: tuple[str, str]) -> None:
    _, url = limited
    probes = PostgresHistory(url, password=Secret("not-" + PASSWORD)).diagnose()
    assert [(p.name, p.ok) for p in probes] == [("reachable", False)]
    assert "password authentication failed" in probes[0].detail
    assert "argus history login" in probes[0].hint
    assert PASSWORD not in repr(probes)


def test_a_role_that_may_not_create_the_tables_is_told_the_grant(
    limited: tuple[str, str],
) -> None:
    role, url = limited
    probes = _by_name(PostgresHistory(url, password=Secret(PASSWORD)).diagnose())
    assert probes["reachable"].ok and probes["tls"].ok
    assert not probes["schema"].ok and "may not create them" in probes["schema"].detail
    assert f"GRANT CREATE ON SCHEMA public TO {role}" in probes["schema"].hint


def test_a_read_only_role_fails_the_write_check(pg_url: str, limited: tuple[str, str]) -> None:
    role, url = limited
    owner = PostgresHistory(pg_url, auto_prune=False)
    owner.record_snapshot(snapshot([guest(101)]), "p", ts=T0)  # the tables exist
    owner.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
                sql.Identifier(role)
            )
        )
    probes = _by_name(PostgresHistory(url, password=Secret(PASSWORD)).diagnose())
    assert probes["schema"].ok
    assert not probes["write"].ok and "may not write actions" in probes["write"].detail
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES" in probes["write"].hint


def test_a_newer_schema_fails_the_schema_check(pg_url: str) -> None:
    st = PostgresHistory(pg_url, auto_prune=False)
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    st.close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE schema_version SET version = %s", [SCHEMA_VERSION + 1])
    probes = PostgresHistory(pg_url).diagnose()
    assert [(p.name, p.ok) for p in probes][-1] == ("schema", False)
    assert "newer Argus" in probes[-1].detail
