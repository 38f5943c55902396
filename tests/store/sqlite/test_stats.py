"""`argus history stats` on the SQLite backend: the file's own figures, in the same JSON."""

from __future__ import annotations

import json
from pathlib import Path

from argus_tui.services import history as service
from argus_tui.store import DAY
from argus_tui.store.sqlite import SCHEMA_VERSION, SqliteHistory

from ..helpers import T0, guest, snapshot

#: The keys of `argus history stats --json`, in the order they are printed.
TOP_KEYS = [
    "path",
    "schema",
    "file_bytes",
    "wal_bytes",
    "page_size",
    "pages",
    "free_pages",
    "tables",
    "profiles",
    "last_prune",
    "sample_interval",
    "retention",
    "large_cluster",
]
PROFILE_KEYS = [
    "entities",
    "last_sample",
    "last_seen",
    "resolutions",
    "sample_interval",
    "retention",
    "large_cluster_policy",
    "events",
]


def _filled(store: SqliteHistory) -> None:
    for k in range(12):
        snap = snapshot([guest(101, cpu=k / 20), guest(102)])
        store.record_snapshot(snap, "p", ts=T0 + 60 * k)
    store.record_snapshot(snapshot([guest(101)]), "other", ts=T0)
    store.prune(now=T0 + 300 + DAY)  # the first 5 minutes become a rollup


def test_stats_report_the_file_its_tables_and_pages(store: SqliteHistory, db_path: Path) -> None:
    _filled(store)
    stats = store.stats()
    assert stats.location == str(db_path) and stats.schema == SCHEMA_VERSION
    assert stats.size_bytes == db_path.stat().st_size > 0
    # p: 4 entities x 1 bucket, other: 3 x 1; p keeps 7 raw timestamps x 4 entities
    assert stats.tables["rollups"].rows == 7 and stats.tables["samples"].rows == 28
    assert stats.tables["samples"].bytes > 0
    assert list(stats.extra) == ["wal_bytes", "page_size", "pages", "free_pages"]
    assert stats.extra["wal_bytes"] == Path(f"{db_path}-wal").stat().st_size
    assert stats.extra["pages"] * stats.extra["page_size"] >= stats.size_bytes


def test_the_stats_json_keeps_its_keys_in_order(store: SqliteHistory, db_path: Path) -> None:
    _filled(store)
    doc = json.loads(json.dumps(service.stats_json(store.stats())))
    assert list(doc) == TOP_KEYS
    assert doc["path"] == str(db_path) and doc["schema"] == SCHEMA_VERSION
    assert doc["tables"]["samples"] == {"rows": 28, "bytes": doc["tables"]["samples"]["bytes"]}
    assert list(doc["profiles"]["p"]) == PROFILE_KEYS
    assert list(doc["profiles"]["p"]["resolutions"]) == ["0", "300"]
    assert doc["profiles"]["p"]["resolutions"]["300"] == {
        "points": 1,
        "oldest": T0,
        "newest": T0,
    }
    assert list(doc["retention"]) == ["raw", "mid_step", "mid", "long_step", "long", "journal"]
    text = service.render_stats(doc)
    assert f"History database {db_path} (schema {SCHEMA_VERSION})" in text
    assert " + WAL " in text and f"{doc['free_pages']} of {doc['pages']} pages free" in text
