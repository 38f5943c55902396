"""Several Argus instances on one team database: each sample and each change kept once,
no deadlock, one pruner at a time."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import psycopg
import pytest

from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.store import DAY
from argus_tui.store.changes import State, diff, observe
from argus_tui.store.postgres import PostgresHistory
from argus_tui.store.postgres.retention import PRUNE_LOCK

from ..helpers import T0, guest, node, snapshot
from .conftest import MakeStore

GUESTS = 150
STEPS = 16


def _guests(k: int) -> list[Guest]:
    """Step k of a busy cluster: guests stop and start, migrate, get renamed, come and go."""
    out = []
    for i in range(GUESTS):
        vmid = 1000 + i
        if (i + k) % 11 == 0:
            continue  # gone this step (back the next)
        status = "stopped" if (i * 7 + k) % 5 == 0 else "running"
        host = f"pve{(i + k // 4) % 2 + 1}"
        name = f"g{vmid}" if (i + k) % 9 else f"renamed{vmid}-{k}"
        out.append(guest(vmid, status, host, name, cpu=(i % 10) / 10, counters=k * 600))
    return out


def _sequence() -> list[ClusterSnapshot]:
    return [snapshot(_guests(k), [node("pve1"), node("pve2", "online")]) for k in range(STEPS)]


def _expected_changes(snaps: list[ClusterSnapshot]) -> Counter[tuple[float, str, int | None, str]]:
    """What one instance alone derives from the sequence (the pure rules)."""
    state, out = State(), Counter[tuple[float, str, int | None, str]]()
    for k, snap in enumerate(snaps):
        seen = observe(snap, state)
        if k:
            out.update((c.ts, c.kind, c.vmid, c.detail) for c in diff(state, seen, T0 + 30 * k))
        state = seen
    return out


def _in_threads(*jobs: Callable[[], None]) -> None:
    """Run the jobs at once; re-raise the first failure (a deadlock would be a StoreError)."""
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]


def test_two_instances_recording_the_same_refreshes_keep_each_sample_and_change_once(
    make_store: MakeStore,
) -> None:
    snaps = _sequence()
    a, b = make_store(large_cluster=None), make_store(large_cluster=None)
    barrier = threading.Barrier(2, timeout=30)

    def record(st: PostgresHistory, offset: float) -> Callable[[], None]:
        def job() -> None:
            for k, snap in enumerate(snaps):
                barrier.wait()  # both write the same refresh at the same moment
                st.record_snapshot(snap, "p", ts=T0 + 30 * k + offset)

        return job

    _in_threads(record(a, 0.0), record(b, 0.5))

    got = Counter((c.ts, c.kind, c.vmid, c.detail) for c in a.changes("p", 0))
    want = _expected_changes(snaps)
    # Whichever instance wrote a change stamped it with its own time (same second here).
    assert Counter((float(int(ts)), *rest) for (ts, *rest) in got) == want
    assert sum(want.values()) > 100  # the sequence is busy enough to race
    samples = [r for r in a.export("p", 0)["samples"] if r["step"] == 0]
    per_bucket = Counter((r["key"], r["ts"] - r["ts"] % 60) for r in samples)
    assert set(per_bucket.values()) == {1}  # never two samples of one entity in an interval
    # Each minute holds the nodes and guests of its first refresh (steps 0, 2, 4...): the
    # second refresh of a minute is not sampled by either instance.
    want_samples = {
        (key, T0 + 30 * k)
        for k in range(0, STEPS, 2)
        for key in [n.name for n in snaps[k].nodes] + [str(g.vmid) for g in snaps[k].guests]
    }
    assert set(per_bucket) == want_samples


def test_a_second_pruner_skips_while_one_holds_the_lock(make_store: MakeStore, pg_url: str) -> None:
    st = make_store()
    for k in range(10):
        st.record_snapshot(snapshot([guest(101, cpu=0.1 * k)]), "p", ts=T0 + 60 * k)
    with psycopg.connect(pg_url, autocommit=True) as other:  # another instance, mid-prune
        other.execute("SELECT pg_advisory_lock(%s)", [PRUNE_LOCK])
        counts = st.prune(now=T0 + 600 + DAY)
        assert set(counts.values()) == {0}
        assert any("another Argus is pruning" in w for w in st.take_warnings())
        assert len(st.guest_series("p", 101, "cpu", 0)) == 10  # untouched
        auto = make_store(auto_prune=True)
        auto.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + 600 + DAY)  # skips silently
        assert auto.take_warnings() == [] and auto.stats().last_prune is None
        other.execute("SELECT pg_advisory_unlock(%s)", [PRUNE_LOCK])
    counts = st.prune(now=T0 + 600 + DAY)
    assert counts["raw_downsampled"] == 10 * 3
    assert [t for t, _ in st.guest_series("p", 101, "cpu", 0)] == [T0, T0 + 300, T0 + 600 + DAY]


def test_two_prunes_at_once_do_the_work_once(make_store: MakeStore) -> None:
    writer = make_store(large_cluster=None)
    snaps = [snapshot([guest(1000 + i, cpu=(i + k) % 10 / 10) for i in range(200)])
             for k in range(3)]  # fmt: skip
    for k in range(120):  # two hours of one-minute samples
        writer.record_snapshot(snaps[k % 3], "p", ts=T0 + 60 * k)
    before = writer.guest_series("p", 1000, "cpu", 0)
    a, b = make_store(large_cluster=None), make_store(large_cluster=None)
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2, timeout=30)

    def prune(st: PostgresHistory) -> Callable[[], None]:
        def job() -> None:
            barrier.wait()
            results.append(st.prune(now=T0 + 7200 + DAY))

        return job

    _in_threads(prune(a), prune(b))
    assert sum(r["raw_downsampled"] for r in results) == 120 * 202  # once, not twice
    after = writer.guest_series("p", 1000, "cpu", 0)
    assert len(after) == 24  # 5-minute rollups
    assert sum(v for _, v in after) / 24 == pytest.approx(sum(v for _, v in before) / 120)


def test_a_late_refresh_is_recorded_once_beside_newer_ones(make_store: MakeStore) -> None:
    """A refresh kept while the database was away arrives after another instance's newer
    ones: its change is written once, its sample only where its interval is free."""
    a, b = make_store(), make_store()
    a.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    b.record_snapshot(snapshot([guest(101), guest(102)]), "p", ts=T0 + 120)
    late = snapshot([guest(101), guest(102)])
    a.record_snapshot(late, "p", ts=T0 + 60)  # kept back, sent now: 102 appeared
    a.record_snapshot(late, "p", ts=T0 + 70)  # the same bucket: nothing more
    assert [(c.kind, c.vmid) for c in a.changes("p", 0)] == [("created", 102)]
    assert [t for t, _ in a.guest_series("p", 101, "cpu", 0)] == [T0, T0 + 60, T0 + 120]
    assert a.stats().profiles["p"].last_sample == T0 + 120
