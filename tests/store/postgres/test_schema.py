"""The schema: created in an empty database (once, however many start together), a newer
one refused and left untouched; stats name the server; reads use the indexes."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

from argus_tui.errors import StoreError
from argus_tui.services import history as service
from argus_tui.store import DAY
from argus_tui.store.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresHistory
from argus_tui.store.postgres.reading import END, series_query

from ..helpers import T0, big_snapshot, guest, snapshot
from .conftest import MakeStore

TABLES = {
    "actions", "entities", "events", "exchanges", "last_state", "meta", "profile_state",
    "rollups", "samples", "schema_version", "tasks", "timeline",
}  # fmt: skip


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
    return {r[0] for r in rows}


def test_an_empty_database_gets_every_migration_once(make_store: MakeStore, pg_url: str) -> None:
    assert _tables(pg_url) == set()
    stores = [make_store() for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores), timeout=30)

    def first_use(st: PostgresHistory) -> None:
        try:
            barrier.wait()
            st.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert _tables(pg_url) == TABLES
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert stores[0].stats().schema == SCHEMA_VERSION == len(MIGRATIONS)
    assert stores[0].guest_series("p", 101, "cpu", 0) == [(T0, 0.5)]


def test_a_reader_first_creates_the_schema_too(store: PostgresHistory, pg_url: str) -> None:
    assert store.actions() == [] and store.profiles() == []
    assert _tables(pg_url) == TABLES


def test_a_newer_schema_is_refused_and_left_untouched(store: PostgresHistory, pg_url: str) -> None:
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    store.close()
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE schema_version SET version = %s", [SCHEMA_VERSION + 7])
        conn.execute("CREATE TABLE from_the_future (x int)")
    later = PostgresHistory(pg_url, auto_prune=False)
    try:
        with pytest.raises(StoreError) as info:
            later.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 60)
        message = str(info.value)
        assert "newer Argus" in message and f"schema {SCHEMA_VERSION + 7}" in message
        assert "\n" not in message
        with pytest.raises(StoreError, match="newer Argus"):
            later.actions(0)
    finally:
        later.close()
    assert _tables(pg_url) == TABLES | {"from_the_future"}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (SCHEMA_VERSION + 7,)
        ]
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_stats_name_the_server_and_the_json_keeps_its_keys(store: PostgresHistory) -> None:
    for k in range(12):
        store.record_snapshot(snapshot([guest(101, cpu=k / 20), guest(102)]), "p", ts=T0 + 60 * k)
    store.prune(now=T0 + 300 + DAY)
    stats = store.stats()
    assert stats.location == store.describe() and stats.location.startswith("PostgreSQL ")
    assert stats.schema == SCHEMA_VERSION
    assert stats.tables["samples"].rows == 7 * 4 and stats.tables["rollups"].rows == 4
    assert stats.tables["samples"].bytes > 0
    assert stats.size_bytes == sum(t.bytes for t in stats.tables.values())
    assert list(stats.extra) == ["server_version"] and stats.extra["server_version"][0].isdigit()
    doc = json.loads(json.dumps(service.stats_json(stats)))
    assert list(doc["profiles"]["p"]["resolutions"]) == ["0", "300"]
    text = service.render_stats(doc)
    assert f"History database {store.describe()} (schema {SCHEMA_VERSION})" in text
    assert " + WAL " not in text  # SQLite's figures only
    assert store.vacuum() >= 0


def test_a_sparkline_read_is_an_index_scan_at_scale(store: PostgresHistory, pg_url: str) -> None:
    """Guests x a day of samples: reading one guest's series probes the indexes."""
    snaps = [big_snapshot(2000, tick=k, nodes=10) for k in range(3)]
    for k in range(30):
        store.record_snapshot(snaps[k % 3], "p", ts=T0 + 300 * k)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        (eid,) = conn.execute("SELECT id FROM entities WHERE key = '1500'").fetchone() or (0,)
        store.prune(now=T0 + 300 * 15 + DAY)
        conn.execute("ANALYZE")
        query = "EXPLAIN " + series_query("cpu", "avg")
        rows = conn.execute(query, {"e": eid, "lo": int(T0), "hi": END}).fetchall()
    plan = "\n".join(r[0] for r in rows)
    assert "Seq Scan" not in plan, plan
    assert "samples_entity_ts" in plan or "samples_pkey" in plan, plan
    assert "rollups_entity_end" in plan or "rollups_pkey" in plan, plan
    # a large cluster: the first hour became one hourly rollup, the rest is raw
    assert len(store.guest_series("p", 1500, "cpu", T0)) == 1 + 18
