"""Recording refreshes: samples, throttling, rates, derived changes, tasks, actions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from argus_tui.domain.models import Task
from argus_tui.store.db import ActionRecord, HistoryStore

from .helpers import T0, big_snapshot, guest, node, snapshot


def _count(path: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def _kinds(store: HistoryStore, since: float = 0.0) -> list[tuple[str, int | None, str]]:
    return [(c.kind, c.vmid, c.detail) for c in store.changes("p", since)]


def test_samples_for_nodes_and_guests_in_plain_units(store: HistoryStore) -> None:
    store.record_snapshot(snapshot([guest(101, cpu=0.25, mem=3 << 30)]), "p", ts=T0)
    assert store.guest_series("p", 101, "cpu", T0) == [(T0, 0.25)]
    assert store.guest_series("p", 101, "mem", T0) == [(T0, float(3 << 30))]
    assert store.guest_series("p", 101, "disk", T0) == [(T0, float(10 << 30))]
    assert store.node_series("p", "pve2", "cpu", T0) == [(T0, 0.25)]
    assert store.node_series("p", "pve2", "mem", T0) == [(T0, float(8 << 30))]
    assert store.guest_series("p", 999, "cpu", T0) == []
    assert store.guest_series("other-profile", 101, "cpu", T0) == []
    with pytest.raises(ValueError):
        store.node_series("p", "pve1", "netin", T0)


def test_templates_get_no_samples(store: HistoryStore) -> None:
    store.record_snapshot(snapshot([guest(9000, "stopped", template=True)]), "p", ts=T0)
    assert store.guest_series("p", 9000, "cpu", 0) == []


def test_sample_interval_throttles_and_skipping_writes_nothing(
    store: HistoryStore, db_path: Path
) -> None:
    snap = snapshot([guest(101), guest(102)])
    store.record_snapshot(snap, "p", ts=T0)
    assert store._db is not None
    changes_before = store._db.conn.total_changes
    for k in range(1, 24):  # a refresh every 5 s for two minutes
        store.record_snapshot(snap, "p", ts=T0 + 5 * k)
        if T0 + 5 * k < T0 + 60:
            assert store._db.conn.total_changes == changes_before  # skipped: no write at all
    times = [ts for ts, _ in store.guest_series("p", 101, "cpu", 0)]
    assert times == [T0, T0 + 60]
    assert _count(db_path, "SELECT count(*) FROM samples") == 2 * (2 + 2)  # 2 nodes + 2 guests


def test_large_clusters_sample_every_five_minutes(db_path: Path) -> None:
    st = HistoryStore(db_path, auto_prune=False, large_cluster=10)
    snap = big_snapshot(20, nodes=2)
    for k in range(11):
        st.record_snapshot(snap, "p", ts=T0 + 60 * k)
    assert [ts for ts, _ in st.guest_series("p", 1000, "cpu", 0)] == [T0, T0 + 300, T0 + 600]
    assert st.policy(22).large and not st.policy(10).large
    st.close()


def test_rates_from_cumulative_counters(store: HistoryStore) -> None:
    store.record_snapshot(snapshot([guest(101, counters=1000)]), "p", ts=T0)
    store.record_snapshot(snapshot([guest(101, counters=7000)]), "p", ts=T0 + 60)
    store.record_snapshot(snapshot([guest(101, counters=500)]), "p", ts=T0 + 120)  # restarted
    store.record_snapshot(snapshot([guest(101, counters=6500)]), "p", ts=T0 + 180)
    store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 240)
    # first sample has no previous counter, the restart gives no rate, stopped is 0
    assert store.guest_series("p", 101, "netin", 0) == [(T0 + 60, 100.0), (T0 + 180, 100.0),
                                                        (T0 + 240, 0.0)]  # fmt: skip
    assert store.guest_series("p", 101, "diskwrite", 0)[0] == (T0 + 60, 400.0)
    # a gap of hours gives no rate rather than a misleading long average
    store.record_snapshot(snapshot([guest(101, counters=100)]), "p", ts=T0 + 300)
    store.record_snapshot(snapshot([guest(101, counters=99_999)]), "p", ts=T0 + 300 + 7200)
    assert store.guest_series("p", 101, "netin", T0 + 301) == []


def test_changes_start_stop_create_gone_migrate_rename_node_offline(store: HistoryStore) -> None:
    store.record_snapshot(snapshot([guest(101), guest(102, "stopped")]), "p", ts=T0)
    assert store.changes("p", 0) == []  # the first picture is the baseline, not news
    store.record_snapshot(snapshot([guest(101, "stopped"), guest(102)]), "p", ts=T0 + 5)
    store.record_snapshot(snapshot([guest(101, "stopped"), guest(102), guest(103, type_="lxc")]),
                          "p", ts=T0 + 10)  # fmt: skip
    store.record_snapshot(
        snapshot([guest(101, "stopped", name="db"), guest(103, node_name="pve2", type_="lxc")]),
        "p",
        ts=T0 + 15,
    )
    # pve2 goes offline: its guests turn "unknown", which is not a stop
    offline = [node("pve1"), node("pve2", "offline")]
    unknown = guest(103, "unknown", node_name="pve2", name=None, type_="lxc")
    store.record_snapshot(snapshot([guest(101, "stopped", name="db"), unknown], offline),
                          "p", ts=T0 + 20)  # fmt: skip
    # back online; 103 had stopped meanwhile
    store.record_snapshot(
        snapshot([guest(101, "stopped", name="db"),
                  guest(103, "stopped", node_name="pve2", type_="lxc")]),
        "p",
        ts=T0 + 25,
    )  # fmt: skip
    assert _kinds(store) == [
        ("stopped", 101, "on pve1"),
        ("started", 102, "on pve1"),
        ("created", 103, "on pve1, running"),
        ("renamed", 101, "g101 → db"),
        ("migrated", 103, "pve1 → pve2"),
        ("gone", 102, "was on pve1"),
        ("node-offline", None, "online → offline"),
        ("node-online", None, "offline → online"),
        ("stopped", 103, "on pve2"),
    ]
    changes = store.changes("p", 0)
    assert changes[2].subject == "CT 103 (g103)" and changes[3].subject == "VM 101 (db)"
    assert [c.ts for c in changes] == sorted(c.ts for c in changes)
    assert store.changes("p", T0 + 16) == changes[-3:]
    assert store.changes("p", 0, until=T0 + 6) == changes[:2]
    assert store.changes("p", 0, limit=1) == changes[-1:]


def test_events_and_samples_are_per_profile(store: HistoryStore) -> None:
    store.record_snapshot(snapshot([guest(101)]), "a", ts=T0)
    store.record_snapshot(snapshot([guest(101, cpu=0.75)]), "b", ts=T0)
    store.record_snapshot(snapshot([guest(101, "stopped")]), "a", ts=T0 + 60)
    assert store.changes("b", 0) == [] and len(store.changes("a", 0)) == 1
    assert store.guest_series("b", 101, "cpu", 0) == [(T0, 0.75)]


def test_an_empty_answer_records_nothing(store: HistoryStore) -> None:
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    store.record_snapshot(snapshot([], []), "p", ts=T0 + 60)
    assert store.changes("p", 0) == []


def test_state_survives_a_restart(db_path: Path) -> None:
    first = HistoryStore(db_path, auto_prune=False)
    first.record_snapshot(snapshot([guest(101), guest(102)]), "p", ts=T0)
    first.close()
    second = HistoryStore(db_path, auto_prune=False)
    second.record_snapshot(snapshot([guest(101, "stopped"), guest(102)]), "p", ts=T0 + 30)
    assert _kinds(second) == [("stopped", 101, "on pve1")]
    # the throttle is seeded from the file too: T0 + 30 is inside the interval
    assert [t for t, _ in second.guest_series("p", 101, "cpu", 0)] == [T0]
    second.close()


def test_two_stores_on_one_file_record_each_change_once(db_path: Path) -> None:
    """Two Argus instances watching the same profile: no doubled events or samples."""
    a = HistoryStore(db_path, auto_prune=False)
    b = HistoryStore(db_path, auto_prune=False)
    states = ["running", "stopped", "running", "paused", "running"]
    for k, status in enumerate(states):
        snap = snapshot([guest(101, status)])
        a.record_snapshot(snap, "p", ts=T0 + 30 * k)
        b.record_snapshot(snap, "p", ts=T0 + 30 * k + 1)
    assert [c.kind for c in a.changes("p", 0)] == ["stopped", "started", "status", "resumed"]
    assert [t for t, _ in b.guest_series("p", 101, "cpu", 0)] == [T0, T0 + 60, T0 + 120]
    a.close()
    b.close()


def test_tasks_upserted_by_upid(store: HistoryStore, db_path: Path) -> None:
    upid = "UPID:pve1:0000A1B2:00C0FFEE:6A8F0000:qmstart:101:root@pam!argus:"
    running = Task(upid, "pve1", "qmstart", "101", "root@pam!argus", int(T0))
    store.record_tasks([running], "p")
    store.record_tasks([running], "p")  # unchanged: skipped
    done = Task(upid, "pve1", "qmstart", "101", "root@pam!argus", int(T0), int(T0) + 3, "OK")
    store.record_tasks([done], "p")
    rows = store.tasks("p")
    assert len(rows) == 1 and rows[0]["status"] == "OK" and rows[0]["endtime"] == int(T0) + 3
    assert _count(db_path, "SELECT count(*) FROM tasks") == 1


def test_action_journal_keeps_its_api(store: HistoryStore) -> None:
    record = ActionRecord(T0, "p", "root@pam!argus", 101, "web", "pve1", "start",
                          "UPID:x", "OK", 1.5)  # fmt: skip
    store.record_action(record)
    store.record_action(ActionRecord(T0 + 1, "q", "t", 102, "db", "pve2", "stop", "U", "OK", 2))
    rows = store.actions(T0)
    assert [r["vmid"] for r in rows] == [101, 102]
    assert rows[0]["token_id"] == "root@pam!argus" and rows[0]["duration"] == 1.5
    assert [r["vmid"] for r in store.actions(0, profile="q")] == [102]
    assert store.actions(T0 + 10) == []


def test_last_seen_and_mark_seen(store: HistoryStore) -> None:
    assert store.last_seen("p") is None
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert store.last_seen("p") is None
    store.mark_seen("p", T0 + 10)
    assert store.last_seen("p") == T0 + 10
    store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 20)
    seen = store.last_seen("p")
    assert seen is not None
    assert [c.kind for c in store.changes("p", seen)] == ["stopped"]
    store.mark_seen("p", T0 + 30)
    assert store.changes("p", T0 + 30) == []
