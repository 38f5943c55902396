"""Downsampling (avg and max), retention, automatic pruning at most hourly."""

from __future__ import annotations

import pytest

from argus_tui.domain.models import Task
from argus_tui.store import DAY, ActionRecord, HistoryStore, Retention

from .conftest import OpenHistory
from .helpers import T0, guest, snapshot


def _rollups(history: HistoryStore, key: str = "101") -> list[tuple[int, int, int]]:
    """(step, n, samples up) of each downsampled row kept for `key` in profile p."""
    rows = history.export("p", 0)["samples"]
    return [
        (r["step"], r["n"], round(r["up"] * r["n"])) for r in rows if r["step"] and r["key"] == key
    ]


def _record_cpus(history: HistoryStore, cpus: list[float], start: float = T0) -> None:
    for k, cpu in enumerate(cpus):
        history.record_snapshot(snapshot([guest(101, cpu=cpu)]), "p", ts=start + 60 * k)


def test_raw_older_than_a_day_becomes_five_minute_avg_and_max(history: HistoryStore) -> None:
    _record_cpus(history, [0.1, 0.2, 0.3, 0.4, 0.6, 0.5, 0.5])  # two 5-minute buckets
    before = history.guest_series("p", 101, "cpu", 0)
    assert len(before) == 7
    counts = history.prune(now=T0 + 300 + DAY)  # only the first bucket is older than a day
    assert counts["raw_downsampled"] == 5 * 3  # 5 samples x (2 nodes + 1 guest)
    avg = history.guest_series("p", 101, "cpu", 0)
    peak = history.guest_series("p", 101, "cpu", 0, agg="max")
    assert avg[0] == (T0, pytest.approx(0.32)) and peak[0] == (T0, pytest.approx(0.6))
    assert avg[1:] == before[5:] == peak[1:]  # newer than a day: still raw
    assert _rollups(history) == [(300, 5, 5)]
    # merged series stay oldest-first across resolutions
    assert [t for t, _ in avg] == [T0, T0 + 300, T0 + 360]


def test_running_fraction_and_weighted_hourly_rollup(history: HistoryStore) -> None:
    # one hour of samples: cpu 0.1..0.6 repeating; stopped (cpu 0) for the last 10 minutes
    for k in range(60):
        status = "stopped" if k >= 50 else "running"
        snap = snapshot([guest(101, status, cpu=(k % 6 + 1) / 10)])
        history.record_snapshot(snap, "p", ts=T0 + 60 * k)
    raw = [v for _, v in history.guest_series("p", 101, "cpu", 0)]
    history.prune(now=T0 + 3600 + DAY)
    five = history.guest_series("p", 101, "cpu", 0)
    assert len(five) == 12
    assert sum(v for _, v in five) / 12 == pytest.approx(sum(raw) / 60, abs=1e-4)
    assert sum(up for _, _, up in _rollups(history)) == 50
    assert sum(n for _, n, _ in _rollups(history)) == 60
    counts = history.prune(now=T0 + 3600 + 30 * DAY)
    assert counts["mid_downsampled"] == 12 * 3
    hourly = history.guest_series("p", 101, "cpu", 0)
    hourly_max = history.guest_series("p", 101, "cpu", 0, agg="max")
    assert hourly == [(T0, pytest.approx(sum(raw) / 60, abs=1e-4))]
    assert hourly_max == [(T0, pytest.approx(0.6))]
    assert _rollups(history) == [(3600, 60, 50)]


def test_rates_and_bytes_survive_downsampling(history: HistoryStore) -> None:
    for k in range(5):
        snap = snapshot([guest(101, counters=6000 * k, mem=(k + 1) << 30)])
        history.record_snapshot(snap, "p", ts=T0 + 60 * k)
    history.prune(now=T0 + 300 + DAY)
    assert history.guest_series("p", 101, "netin", 0) == [(T0, 100.0)]
    assert history.guest_series("p", 101, "mem", 0, agg="max") == [(T0, float(5 << 30))]
    assert history.guest_series("p", 101, "mem", 0) == [(T0, float(3 << 30))]


def test_a_late_sample_merges_into_an_existing_bucket(
    history: HistoryStore, open_history: OpenHistory
) -> None:
    _record_cpus(history, [0.2, 0.4])
    history.prune(now=T0 + 300 + DAY)
    # another instance recorded one more sample in the same bucket before it was pruned
    other = open_history(auto_prune=False)
    other.record_snapshot(snapshot([guest(101, cpu=0.9)]), "p", ts=T0 + 180)
    history.prune(now=T0 + 300 + DAY)
    assert history.guest_series("p", 101, "cpu", 0) == [(T0, pytest.approx(0.5))]
    assert history.guest_series("p", 101, "cpu", 0, agg="max") == [(T0, pytest.approx(0.9))]


def test_retention_expires_rollups_and_the_journal(history: HistoryStore) -> None:
    _record_cpus(history, [0.5] * 5)
    history.record_snapshot(snapshot([guest(101, "stopped")]), "p", ts=T0 + 400)  # one event
    task = Task("UPID:a", "pve1", "qmstart", "101", "u@pam", int(T0), int(T0), "OK")
    history.record_tasks([task], "p")
    history.record_action(ActionRecord(T0, "p", "t", 101, "g", "pve1", "stop", "U", "OK", 1.0))
    history.prune(now=T0 + 2 * DAY)
    history.prune(now=T0 + 40 * DAY)
    assert len(history.guest_series("p", 101, "cpu", 0)) == 1  # hourly now
    counts = history.prune(now=T0 + 367 * DAY)
    assert counts["rollups_expired"] == 3
    assert counts["events"] == 1 and counts["tasks"] == 1 and counts["actions"] == 1
    assert history.guest_series("p", 101, "cpu", 0) == []
    assert {section: rows for section, rows in history.export("p", 0).items() if rows} == {}
    assert history.stats().profiles["p"].resolutions == {}


def test_retention_is_configurable(open_history: OpenHistory) -> None:
    ret = Retention(raw=3600, mid_step=600, mid=DAY, long_step=7200, long=7 * DAY, journal=DAY)
    st = open_history(auto_prune=False, retention=ret)
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
    assert [r for r in st.export("p", 0)["samples"] if r["step"] == 0] == []
    assert 0 not in st.stats().profiles["p"].resolutions
    with pytest.raises(ValueError):
        Retention(mid_step=300, long_step=1000)


def test_prune_runs_automatically_at_most_hourly(open_history: OpenHistory) -> None:
    st = open_history()
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert st.stats().last_prune == T0
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 1800)
    assert st.stats().last_prune == T0
    # another process sees the recent prune in the file and does not prune again
    other = open_history()
    other.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 1900)
    assert other.stats().last_prune == T0
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 3600)
    assert st.stats().last_prune == T0 + 3600
    # a day later, the automatic prune has downsampled the first hour
    st.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + DAY + 7200)
    assert [t for t, _ in st.guest_series("p", 101, "cpu", 0)][:3] == [T0, T0 + 1800, T0 + 3600]
    assert st.stats().profiles["p"].resolutions[300].points == 3


def test_large_cluster_policy_downsamples_hourly_then_daily(open_history: OpenHistory) -> None:
    st = open_history(auto_prune=False, large_cluster=2)
    for k in range(12):
        st.record_snapshot(snapshot([guest(101, cpu=0.1 * (k % 4))]), "p", ts=T0 + 300 * k)
    assert len(st.guest_series("p", 101, "cpu", 0)) == 12
    st.prune(now=T0 + 3600 + DAY)
    hourly = st.guest_series("p", 101, "cpu", 0)
    assert hourly == [(T0, pytest.approx(0.15))]
    assert st.stats().profiles["p"].resolutions.keys() == {3600}
    st.prune(now=T0 + 31 * DAY + DAY)
    assert st.stats().profiles["p"].resolutions.keys() == {86400}
