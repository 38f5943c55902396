"""The database going away and coming back, and logins refused: one clear StoreError
(StoreUnavailable when nothing was written), never a password in its text."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from argus_tui.domain.secret import Secret
from argus_tui.errors import StoreError, StoreUnavailable
from argus_tui.store import ActionRecord
from argus_tui.store.postgres import PostgresHistory
from tests.pg_server import PgServer, PgUnavailable, require, start_server

from ..helpers import T0, guest, snapshot

PASSWORD = "Corr3ct-Horse-Battery-Staple"
WRONG = "Wr0ng-Guess-Not-This-One"


def _action(ts: float, vmid: int = 101) -> ActionRecord:
    return ActionRecord(ts, "p", "argus@pve!tui", vmid, "web", "pve1", "start", "U", "OK", 1.0)


def _terminate(url: str) -> int:
    """End every Argus session on the database, as an administrator (or a restart) would."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'argus'"
        ).fetchall()
    return len(rows)


def test_a_dropped_connection_is_reopened_on_the_next_call(
    store: PostgresHistory, pg_url: str
) -> None:
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert store.changes("p", 0) == []  # the reader is open too
    assert _terminate(pg_url) == 2
    # both connections died while idle: the calls run again on new ones, nothing is lost
    store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 60)
    assert [c.kind for c in store.changes("p", 0)] == ["stopped"]
    assert _terminate(pg_url) == 2
    store.record_action(_action(T0))
    assert [a["vmid"] for a in store.actions(0)] == [101]
    assert len(store.guest_series("p", 101, "cpu", 0)) == 2


@pytest.fixture
def own_server(pg_server: PgServer) -> Iterator[PgServer]:
    """A server this test may stop and start: the session's when it is ours, else one of
    its own (an outside server named by ARGUS_TEST_PG_URL is not ours to stop)."""
    if pg_server.owned:
        yield pg_server
        return
    try:
        server = start_server()
    except PgUnavailable as exc:
        require(str(exc))
        raise
    try:
        yield server
    finally:
        server.destroy()


def test_a_server_away_is_unavailable_and_recording_resumes_when_it_is_back(
    own_server: PgServer,
) -> None:
    name = own_server.create_database()
    store = PostgresHistory(own_server.url(name), auto_prune=False, timeout=2)
    try:
        store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
        own_server.stop()
        try:
            with pytest.raises(StoreUnavailable) as info:
                store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 60)
            assert info.value.reason in ("connection refused", "connection lost")
            assert "\n" not in str(info.value) and store.describe().split()[1] in str(info.value)
            with pytest.raises(StoreUnavailable):
                store.actions(0)
        finally:
            own_server.start()
        # back: the change the failed call carried is derived from the next picture, once
        store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 120)
        store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 180)
        assert [(c.kind, c.ts) for c in store.changes("p", 0)] == [("stopped", T0 + 120)]
    finally:
        store.close()
        own_server.drop_database(name)


def test_a_closed_port_is_unavailable_quickly() -> None:
    store = PostgresHistory("postgresql://argus@127.0.0.1:9/argus", timeout=2)
    with pytest.raises(StoreUnavailable) as info:
        store.record_action(_action(T0))
    assert info.value.reason == "connection refused"
    assert str(info.value).startswith("history database argus@127.0.0.1:9/argus: ")


@pytest.fixture
def role(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """A role that must give PASSWORD over TCP, owning a fresh database: (role, dbname)."""
    name = pg_server.create_role(PASSWORD)
    db = pg_server.create_database(owner=name)
    try:
        try:
            psycopg.connect(pg_server.url(db, user=name), password=WRONG).close()
        except psycopg.OperationalError:
            pass  # as it should be
        else:  # a server trusting every login cannot tell a wrong password
            require("the test server accepts any password (its pg_hba.conf says trust)")
        yield name, db
    finally:
        pg_server.drop_database(db)
        pg_server.drop_role(name)


def test_a_wrong_password_is_a_store_error_without_the_password(
    pg_server: PgServer, role: tuple[str, str]
) -> None:
    name, db = role
    url = pg_server.url(db, user=name)
    wrong = PostgresHistory(url, password=Secret(WRONG))
    with pytest.raises(StoreUnavailable) as info:
        wrong.record_action(_action(T0))
    assert info.value.reason == "password authentication failed"
    assert "argus history login" in str(info.value)
    with pytest.raises(StoreError) as read:
        wrong.actions(0)
    # nor a password put in the URL (which Argus's settings refuse, libpq accepts)
    inline = url.replace(f"{name}@", f"{name}:{WRONG}@")
    with pytest.raises(StoreUnavailable) as in_url:
        PostgresHistory(inline).profiles()
    for error in (info.value, read.value, in_url.value):
        text = f"{error} {error!r} {error.args}"
        assert WRONG not in text and PASSWORD not in text and "\n" not in str(error)
    assert WRONG not in PostgresHistory(inline).describe()
    missing = PostgresHistory(url)
    with pytest.raises(StoreUnavailable, match="no password was given"):
        missing.profiles()
    right = PostgresHistory(url, password=Secret(PASSWORD), auto_prune=False)
    right.record_action(_action(T0))
    assert [a["vmid"] for a in right.actions(0)] == [101]
    right.close()
