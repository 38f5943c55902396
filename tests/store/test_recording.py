"""Recording refreshes: samples, throttling, rates, derived changes, tasks, actions."""

from __future__ import annotations

import pytest

from argus_tui.domain.models import Task
from argus_tui.store import ActionRecord, HistoryStore

from .conftest import OpenHistory
from .helpers import T0, big_snapshot, guest, node, snapshot


def _kinds(history: HistoryStore, since: float = 0.0) -> list[tuple[str, int | None, str]]:
    return [(c.kind, c.vmid, c.detail) for c in history.changes("p", since)]


def _raw_samples(history: HistoryStore, profile: str = "p") -> list[tuple[float, str]]:
    """(ts, key) of every raw sample kept for `profile`."""
    return [(r["ts"], r["key"]) for r in history.export(profile, 0)["samples"] if r["step"] == 0]


def test_samples_for_nodes_and_guests_in_plain_units(history: HistoryStore) -> None:
    history.record_snapshot(snapshot([guest(101, cpu=0.25, mem=3 << 30)]), "p", ts=T0)
    assert history.guest_series("p", 101, "cpu", T0) == [(T0, 0.25)]
    assert history.guest_series("p", 101, "mem", T0) == [(T0, float(3 << 30))]
    assert history.guest_series("p", 101, "disk", T0) == [(T0, float(10 << 30))]
    assert history.node_series("p", "pve2", "cpu", T0) == [(T0, 0.25)]
    assert history.node_series("p", "pve2", "mem", T0) == [(T0, float(8 << 30))]
    assert history.guest_series("p", 999, "cpu", T0) == []
    assert history.guest_series("other-profile", 101, "cpu", T0) == []
    with pytest.raises(ValueError):
        history.node_series("p", "pve1", "netin", T0)


def test_templates_get_no_samples(history: HistoryStore) -> None:
    history.record_snapshot(snapshot([guest(9000, "stopped", template=True)]), "p", ts=T0)
    assert history.guest_series("p", 9000, "cpu", 0) == []


def test_sample_interval_throttles_and_skipping_writes_nothing(history: HistoryStore) -> None:
    snap = snapshot([guest(101), guest(102)])
    assert history.writes == 0
    history.record_snapshot(snap, "p", ts=T0)
    writes_before = history.writes
    assert writes_before > 0
    for k in range(1, 24):  # a refresh every 5 s for two minutes
        history.record_snapshot(snap, "p", ts=T0 + 5 * k)
        if T0 + 5 * k < T0 + 60:
            assert history.writes == writes_before  # skipped: no write at all
    assert history.writes > writes_before  # T0 + 60 and T0 + 120 were sampled
    times = [ts for ts, _ in history.guest_series("p", 101, "cpu", 0)]
    assert times == [T0, T0 + 60]
    assert len(_raw_samples(history)) == 2 * (2 + 2)  # 2 nodes + 2 guests


def test_large_clusters_sample_every_five_minutes(open_history: OpenHistory) -> None:
    st = open_history(auto_prune=False, large_cluster=10)
    snap = big_snapshot(20, nodes=2)
    for k in range(11):
        st.record_snapshot(snap, "p", ts=T0 + 60 * k)
    assert [ts for ts, _ in st.guest_series("p", 1000, "cpu", 0)] == [T0, T0 + 300, T0 + 600]
    assert st.policy(22).large and not st.policy(10).large


def test_rates_from_cumulative_counters(history: HistoryStore) -> None:
    history.record_snapshot(snapshot([guest(101, counters=1000)]), "p", ts=T0)
    history.record_snapshot(snapshot([guest(101, counters=7000)]), "p", ts=T0 + 60)
    history.record_snapshot(snapshot([guest(101, counters=500)]), "p", ts=T0 + 120)  # restarted
    history.record_snapshot(snapshot([guest(101, counters=6500)]), "p", ts=T0 + 180)
    history.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 240)
    # first sample has no previous counter, the restart gives no rate, stopped is 0
    assert history.guest_series("p", 101, "netin", 0) == [(T0 + 60, 100.0), (T0 + 180, 100.0),
                                                        (T0 + 240, 0.0)]  # fmt: skip
    assert history.guest_series("p", 101, "diskwrite", 0)[0] == (T0 + 60, 400.0)
    # a gap of hours gives no rate rather than a misleading long average
    history.record_snapshot(snapshot([guest(101, counters=100)]), "p", ts=T0 + 300)
    history.record_snapshot(snapshot([guest(101, counters=99_999)]), "p", ts=T0 + 300 + 7200)
    assert history.guest_series("p", 101, "netin", T0 + 301) == []


def test_changes_start_stop_create_gone_migrate_rename_node_offline(history: HistoryStore) -> None:
    history.record_snapshot(snapshot([guest(101), guest(102, "stopped")]), "p", ts=T0)
    assert history.changes("p", 0) == []  # the first picture is the baseline, not news
    history.record_snapshot(snapshot([guest(101, "stopped"), guest(102)]), "p", ts=T0 + 5)
    history.record_snapshot(snapshot([guest(101, "stopped"), guest(102), guest(103, type_="lxc")]),
                          "p", ts=T0 + 10)  # fmt: skip
    history.record_snapshot(
        snapshot([guest(101, "stopped", name="db"), guest(103, node_name="pve2", type_="lxc")]),
        "p",
        ts=T0 + 15,
    )
    # pve2 goes offline: its guests turn "unknown", which is not a stop
    offline = [node("pve1"), node("pve2", "offline")]
    unknown = guest(103, "unknown", node_name="pve2", name=None, type_="lxc")
    history.record_snapshot(snapshot([guest(101, "stopped", name="db"), unknown], offline),
                          "p", ts=T0 + 20)  # fmt: skip
    # back online; 103 had stopped meanwhile
    history.record_snapshot(
        snapshot([guest(101, "stopped", name="db"),
                  guest(103, "stopped", node_name="pve2", type_="lxc")]),
        "p",
        ts=T0 + 25,
    )  # fmt: skip
    assert _kinds(history) == [
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
    changes = history.changes("p", 0)
    assert changes[2].subject == "CT 103 (g103)" and changes[3].subject == "VM 101 (db)"
    assert [c.ts for c in changes] == sorted(c.ts for c in changes)
    assert history.changes("p", T0 + 16) == changes[-3:]
    assert history.changes("p", 0, until=T0 + 6) == changes[:2]
    assert history.changes("p", 0, limit=1) == changes[-1:]


def test_events_and_samples_are_per_profile(history: HistoryStore) -> None:
    history.record_snapshot(snapshot([guest(101)]), "a", ts=T0)
    history.record_snapshot(snapshot([guest(101, cpu=0.75)]), "b", ts=T0)
    history.record_snapshot(snapshot([guest(101, "stopped")]), "a", ts=T0 + 60)
    assert history.changes("b", 0) == [] and len(history.changes("a", 0)) == 1
    assert history.guest_series("b", 101, "cpu", 0) == [(T0, 0.75)]


def test_an_empty_answer_records_nothing(history: HistoryStore) -> None:
    history.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    history.record_snapshot(snapshot([], []), "p", ts=T0 + 60)
    assert history.changes("p", 0) == []


def test_state_survives_a_restart(open_history: OpenHistory) -> None:
    first = open_history(auto_prune=False)
    first.record_snapshot(snapshot([guest(101), guest(102)]), "p", ts=T0)
    first.close()
    second = open_history(auto_prune=False)
    second.record_snapshot(snapshot([guest(101, "stopped"), guest(102)]), "p", ts=T0 + 30)
    assert _kinds(second) == [("stopped", 101, "on pve1")]
    # the throttle is seeded from the database too: T0 + 30 is inside the interval
    assert [t for t, _ in second.guest_series("p", 101, "cpu", 0)] == [T0]


def test_two_stores_on_one_database_record_each_change_once(open_history: OpenHistory) -> None:
    """Two Argus instances watching the same profile: no doubled events or samples."""
    a = open_history(auto_prune=False)
    b = open_history(auto_prune=False)
    states = ["running", "stopped", "running", "paused", "running"]
    for k, status in enumerate(states):
        snap = snapshot([guest(101, status)])
        a.record_snapshot(snap, "p", ts=T0 + 30 * k)
        b.record_snapshot(snap, "p", ts=T0 + 30 * k + 1)
    assert [c.kind for c in a.changes("p", 0)] == ["stopped", "started", "status", "resumed"]
    assert [t for t, _ in b.guest_series("p", 101, "cpu", 0)] == [T0, T0 + 60, T0 + 120]


def test_tasks_upserted_by_upid(history: HistoryStore) -> None:
    upid = "UPID:pve1:0000A1B2:00C0FFEE:6A8F0000:qmstart:101:root@pam!argus:"
    running = Task(upid, "pve1", "qmstart", "101", "root@pam!argus", int(T0))
    history.record_tasks([running], "p")
    writes = history.writes
    history.record_tasks([running], "p")  # unchanged: skipped
    assert history.writes == writes
    done = Task(upid, "pve1", "qmstart", "101", "root@pam!argus", int(T0), int(T0) + 3, "OK")
    history.record_tasks([done], "p")
    rows = history.tasks("p")
    assert len(rows) == 1 and rows[0]["status"] == "OK" and rows[0]["endtime"] == int(T0) + 3
    assert len(history.export("p", 0)["tasks"]) == 1


def test_action_journal_keeps_its_api(history: HistoryStore) -> None:
    record = ActionRecord(T0, "p", "root@pam!argus", 101, "web", "pve1", "start",
                          "UPID:x", "OK", 1.5)  # fmt: skip
    history.record_action(record)
    history.record_action(ActionRecord(T0 + 1, "q", "t", 102, "db", "pve2", "stop", "U", "OK", 2))
    rows = history.actions(T0)
    assert [r["vmid"] for r in rows] == [101, 102]
    assert rows[0]["token_id"] == "root@pam!argus" and rows[0]["duration"] == 1.5
    assert [r["vmid"] for r in history.actions(0, profile="q")] == [102]
    assert history.actions(T0 + 10) == []


def test_last_seen_and_mark_seen(history: HistoryStore) -> None:
    assert history.last_seen("p") is None
    history.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert history.last_seen("p") is None
    history.mark_seen("p", T0 + 10)
    assert history.last_seen("p") == T0 + 10
    history.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 20)
    seen = history.last_seen("p")
    assert seen is not None
    assert [c.kind for c in history.changes("p", seen)] == ["stopped"]
    history.mark_seen("p", T0 + 30)
    assert history.changes("p", T0 + 30) == []
