"""Downsampling (avg and max), retention, automatic pruning at most hourly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from argus_tui.domain.models import Task
from argus_tui.store.db import DAY, ActionRecord, HistoryStore, Retention

from .helpers import T0, guest, snapshot


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _record_cpus(store: HistoryStore, cpus: list[float], start: float = T0) -> None:
    for k, cpu in enumerate(cpus):
        store.record_snapshot(snapshot([guest(101, cpu=cpu)]), "p", ts=start + 60 * k)


def test_raw_older_than_a_day_becomes_five_minute_avg_and_max(
    store: HistoryStore, db_path: Path
) -> None:
    _record_cpus(store, [0.1, 0.2, 0.3, 0.4, 0.6, 0.5, 0.5])  # two 5-minute buckets
    before = store.guest_series("p", 101, "cpu", 0)
    assert len(before) == 7
    counts = store.prune(now=T0 + 300 + DAY)  # only the first bucket is older than a day
    assert counts["raw_downsampled"] == 5 * 3  # 5 samples x (2 nodes + 1 guest)
    avg = store.guest_series("p", 101, "cpu", 0)
    peak = store.guest_series("p", 101, "cpu", 0, agg="max")
    assert avg[0] == (T0, pytest.approx(0.32)) and peak[0] == (T0, pytest.approx(0.6))
    assert avg[1:] == before[5:] == peak[1:]  # newer than a day: still raw
    assert _rows(db_path, "SELECT n, up FROM rollups WHERE entity = 3") == [(5, 5)]
    # merged series stay oldest-first across resolutions
    assert [t for t, _ in avg] == [T0, T0 + 300, T0 + 360]


def test_running_fraction_and_weighted_hourly_rollup(store: HistoryStore, db_path: Path) -> None:
    # one hour of samples: cpu 0.1..0.6 repeating; stopped (cpu 0) for the last 10 minutes
    for k in range(60):
        status = "stopped" if k >= 50 else "running"
        snap = snapshot([guest(101, status, cpu=(k % 6 + 1) / 10)])
        store.record_snapshot(snap, "p", ts=T0 + 60 * k)
    raw = [v for _, v in store.guest_series("p", 101, "cpu", 0)]
    store.prune(now=T0 + 3600 + DAY)
    five = store.guest_series("p", 101, "cpu", 0)
    assert len(five) == 12
    assert sum(v for _, v in five) / 12 == pytest.approx(sum(raw) / 60, abs=1e-4)
    assert _rows(db_path, "SELECT sum(up), sum(n) FROM rollups WHERE entity = 3") == [(50, 60)]
    counts = store.prune(now=T0 + 3600 + 30 * DAY)
    assert counts["mid_downsampled"] == 12 * 3
    hourly = store.guest_series("p", 101, "cpu", 0)
    hourly_max = store.guest_series("p", 101, "cpu", 0, agg="max")
    assert hourly == [(T0, pytest.approx(sum(raw) / 60, abs=1e-4))]
    assert hourly_max == [(T0, pytest.approx(0.6))]
    assert _rows(db_path, "SELECT step, n, up FROM rollups WHERE entity = 3") == [(3600, 60, 50)]


def test_rates_and_bytes_survive_downsampling(store: HistoryStore) -> None:
    for k in range(5):
        snap = snapshot([guest(101, counters=6000 * k, mem=(k + 1) << 30)])
        store.record_snapshot(snap, "p", ts=T0 + 60 * k)
    store.prune(now=T0 + 300 + DAY)
    assert store.guest_series("p", 101, "netin", 0) == [(T0, 100.0)]
    assert store.guest_series("p", 101, "mem", 0, agg="max") == [(T0, float(5 << 30))]
    assert store.guest_series("p", 101, "mem", 0) == [(T0, float(3 << 30))]


def test_a_late_sample_merges_into_an_existing_bucket(store: HistoryStore) -> None:
    _record_cpus(store, [0.2, 0.4])
    store.prune(now=T0 + 300 + DAY)
    # another instance recorded one more sample in the same bucket before it was pruned
    other = HistoryStore(store.path, auto_prune=False)
    other.record_snapshot(snapshot([guest(101, cpu=0.9)]), "p", ts=T0 + 180)
    store.prune(now=T0 + 300 + DAY)
    assert store.guest_series("p", 101, "cpu", 0) == [(T0, pytest.approx(0.5))]
    assert store.guest_series("p", 101, "cpu", 0, agg="max") == [(T0, pytest.approx(0.9))]
    other.close()


def test_retention_expires_rollups_and_the_journal(store: HistoryStore, db_path: Path) -> None:
    _record_cpus(store, [0.5] * 5)
    store.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 400)  # one event
    store.record_tasks([Task("UPID:a", "pve1", "qmstart", "101", "u@pam", int(T0), int(T0), "OK")],
                       "p")  # fmt: skip
    store.record_action(ActionRecord(T0, "p", "t", 101, "g", "pve1", "stop", "U", "OK", 1.0))
    store.prune(now=T0 + 2 * DAY)
    store.prune(now=T0 + 40 * DAY)
    assert len(store.guest_series("p", 101, "cpu", 0)) == 1  # hourly now
    counts = store.prune(now=T0 + 367 * DAY)
    assert counts["rollups_expired"] == 3
    assert counts["events"] == 1 and counts["tasks"] == 1 and counts["actions"] == 1
    assert store.guest_series("p", 101, "cpu", 0) == []
    for table in ("samples", "rollups", "timeline", "events", "tasks", "actions"):
        assert _rows(db_path, f"SELECT count(*) FROM {table}") == [(0,)], table  # noqa: S608


def test_retention_is_configurable(db_path: Path) -> None:
    ret = Retention(raw=3600, mid_step=600, mid=DAY, long_step=7200, long=7 * DAY, journal=DAY)
    st = HistoryStore(db_path, auto_prune=False, retention=ret)
    for k in range(30):
        st.record_snapshot(snapshot([guest(101, cpu=0.5)]), "p", ts=T0 + 60 * k)
    st.prune(now=T0 + 1800 + 3600)
    assert [t for t, _ in st.guest_series("p", 101, "cpu", 0)] == [T0, T0 + 600, T0 + 1200]
    st.prune(now=T0 + DAY + 7200)
    assert [t for t, _ in st.guest_series("p", 101, "cpu", 0)] == [T0]
    st.prune(now=T0 + 8 * DAY)
    assert st.guest_series("p", 101, "cpu", 0) == []
    # an override for one call (e.g. from `argus history prune`)
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 9 * DAY)
    st.prune(now=T0 + 9 * DAY + 300, retention=Retention(raw=0, journal=0))
    assert st.stats()["tables"]["samples"]["rows"] == 0
    with pytest.raises(ValueError):
        Retention(mid_step=300, long_step=1000)
    st.close()


def test_prune_runs_automatically_at_most_hourly(db_path: Path) -> None:
    st = HistoryStore(db_path)
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert st.stats()["last_prune"] == T0
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 1800)
    assert st.stats()["last_prune"] == T0
    # another process sees the recent prune in the file and does not prune again
    other = HistoryStore(db_path)
    other.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 1900)
    assert other.stats()["last_prune"] == T0
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 3600)
    assert st.stats()["last_prune"] == T0 + 3600
    # a day later, the automatic prune has downsampled the first hour
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + DAY + 7200)
    assert [t for t, _ in st.guest_series("p", 101, "cpu", 0)][:3] == [T0, T0 + 1800, T0 + 3600]
    assert st.stats()["profiles"]["p"]["resolutions"]["300"]["points"] == 3
    st.close()
    other.close()


def test_large_cluster_policy_downsamples_hourly_then_daily(db_path: Path) -> None:
    st = HistoryStore(db_path, auto_prune=False, large_cluster=2)
    for k in range(12):
        st.record_snapshot(snapshot([guest(101, cpu=0.1 * (k % 4))]), "p", ts=T0 + 300 * k)
    assert len(st.guest_series("p", 101, "cpu", 0)) == 12
    st.prune(now=T0 + 3600 + DAY)
    hourly = st.guest_series("p", 101, "cpu", 0)
    assert hourly == [(T0, pytest.approx(0.15))]
    assert st.stats()["profiles"]["p"]["resolutions"].keys() == {"3600"}
    st.prune(now=T0 + 31 * DAY + DAY)
    assert st.stats()["profiles"]["p"]["resolutions"].keys() == {"86400"}
    st.close()
