"""History database: write cost per refresh, growth per day, 24 h sparkline query time.

    python bench/bench_history.py                     # 25 and 10,000 guests (~4 min)
    python bench/bench_history.py --sizes 25 --validate-days 30

Snapshots: the base picture of each cluster comes from the simulator itself
(`generated_scenario(nodes, guests)`, its `/cluster/resources` handler run in-process with
a frozen SimClock moved one refresh forward each time, mapped by `pve.mapping.resources_from`,
the same mapping `services.snapshot.collect` uses), so names, statuses and counters are
realistic. Write cost is measured on those snapshots. For the day-long growth runs, each
tick is derived synthetically from the base snapshot (cpu and memory jitter, counters
growing at a per-guest rate, 0.1% of guests changing status per tick), because building
1,440 simulator answers at 10,000 guests would take minutes of simulator time alone.

Growth: one simulated day is recorded at the profile's sample interval with synthetic
timestamps (automatic hourly pruning on, as in real use), then pruned at +2 days and at
+31 days to measure what a downsampled row costs; steady-state sizes at 30 days and one
year are projected from those per-row costs (and, with --validate-days, checked against a
real multi-day run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from msgspec import structs

from argus_tui.domain.models import ClusterInfo, ClusterSnapshot, Guest, Node, Privileges
from argus_tui.pve.mapping import resources_from
from argus_tui.sim.api import Api
from argus_tui.sim.demo import generated_scenario
from argus_tui.sim.state import ClusterState, SimClock
from argus_tui.store import DAY
from argus_tui.store.sqlite import SqliteHistory

T0 = 1_789_999_200.0  # hour-aligned synthetic start
PROFILE = "bench"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs, {cpu}, {platform.system()} {platform.release()};"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def sim_snapshots(nodes: int, guests: int, count: int, step: float) -> list[ClusterSnapshot]:
    """`count` snapshots from the simulator, `step` seconds apart."""
    clock = SimClock(T0, frozen=True)
    api = Api(ClusterState(generated_scenario(nodes=nodes, guests=guests, seed=7), clock))
    out = []
    for _ in range(count):
        data = api.handle("root@pam", "GET", "/cluster/resources", {}).data
        found = resources_from(data)
        ns, gs = found.nodes, found.guests
        out.append(
            ClusterSnapshot(
                cluster=ClusterInfo(name="bench", quorate=True, version="9.1.2"),
                nodes=tuple(ns),
                guests=tuple(gs),
                privileges=Privileges(),
                fetched_at=clock.now(),
            )
        )
        clock.advance(step)
    return out


class Synth:
    """Per-tick snapshots derived from a simulator snapshot, cheaply."""

    def __init__(self, base: ClusterSnapshot, seed: int = 1) -> None:
        self.base = base
        self.rng = random.Random(seed)
        self.status = {g.vmid: g.status for g in base.guests}
        self.rates = {g.vmid: self.rng.randint(1_000, 2_000_000) for g in base.guests}

    def at(self, tick: int, interval: float) -> ClusterSnapshot:
        rng = self.rng
        expected = len(self.base.guests) / 1000  # 0.1% of guests per tick, on average
        flips = int(expected) + (rng.random() < expected % 1)
        for g in rng.sample(self.base.guests, flips):
            self.status[g.vmid] = "stopped" if self.status[g.vmid] == "running" else "running"
        guests: list[Guest] = []
        elapsed = tick * interval
        for g in self.base.guests:
            status = self.status[g.vmid]
            if status == "running":
                rate = self.rates[g.vmid]
                counter = int(rate * elapsed)
                guests.append(
                    structs.replace(
                        g,
                        status=status,
                        cpu=rng.random() * 0.6,
                        mem=int((g.maxmem or 1 << 30) * (0.3 + 0.4 * rng.random())),
                        netin=counter,
                        netout=counter // 3,
                        diskread=counter // 5,
                        diskwrite=counter // 7,
                    )
                )
            else:
                guests.append(
                    structs.replace(
                        g, status=status, cpu=0.0, mem=0, netin=0, netout=0, diskread=0, diskwrite=0
                    )
                )
        nodes: list[Node] = [replace(n, cpu=rng.random() * 0.8) for n in self.base.nodes]
        return replace(self.base, nodes=tuple(nodes), guests=tuple(guests))


def table_bytes(path: Path) -> dict[str, tuple[int, int]]:
    """(rows, bytes) per table, indexes included, via dbstat."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = dict(
            conn.execute(
                "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d"
                " LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
            ).fetchall()
        )
        out = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            rows = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            out[name] = (rows, int(sizes.get(name, 0)))
    return out


def file_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def write_cost(nodes: int, guests: int, large_cluster: int | None, work: Path) -> dict[str, Any]:
    """Per refresh: a sampling refresh, a skipped one, one with a status change."""
    path = work / f"write-{guests}-{large_cluster}.db"
    store = SqliteHistory(path, auto_prune=False, large_cluster=large_cluster)
    runs = 12 if guests > 1000 else 60
    size = guests + nodes
    interval = store.policy(size).sample_interval
    snaps = sim_snapshots(nodes, guests, runs + 1, interval)
    store.record_snapshot(snaps[0], PROFILE)  # first: creates entities and the baseline
    sample_times = []
    skip_times = []
    for snap in snaps[1:]:
        t = time.perf_counter()
        store.record_snapshot(snap, PROFILE)
        sample_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.record_snapshot(snap, PROFILE, ts=snap.fetched_at + 5)  # 5 s later, no change
        skip_times.append(time.perf_counter() - t)
    # a refresh inside the interval where 1% of guests changed status: events only
    last = snaps[-1]
    flipped = tuple(
        structs.replace(g, status="stopped" if g.status == "running" else "running")
        if i % 100 == 0
        else g
        for i, g in enumerate(last.guests)
    )
    t = time.perf_counter()
    store.record_snapshot(replace(last, guests=flipped), PROFILE, ts=last.fetched_at + 10)
    change = time.perf_counter() - t
    store.close()
    path.unlink()
    return {
        "sample_interval": interval,
        "sample_ms_median": ms(statistics.median(sample_times)),
        "sample_ms_max": ms(max(sample_times)),
        "skip_ms_median": ms(statistics.median(skip_times)),
        "change_1pct_ms": ms(change),
        "per_refresh_ms_at_5s": ms(
            statistics.median(sample_times) * 5 / interval
            + statistics.median(skip_times) * (1 - 5 / interval)
        ),
    }


def growth(
    nodes: int, guests: int, large_cluster: int | None, work: Path, days: int = 1
) -> dict[str, Any]:
    """Record `days` simulated days, measure; then prune to measure rollup rows."""
    path = work / f"growth-{guests}-{large_cluster}.db"
    store = SqliteHistory(path, large_cluster=large_cluster)  # automatic hourly pruning on
    size = guests + nodes
    policy = store.policy(size)
    interval, ret = policy.sample_interval, policy.retention
    base = sim_snapshots(nodes, guests, 1, interval)[0]
    synth = Synth(base)
    ticks = int(days * DAY / interval)
    worst = 0.0
    record_total = 0.0
    started = time.perf_counter()
    for k in range(ticks):
        snap = synth.at(k, interval)
        t = time.perf_counter()
        store.record_snapshot(snap, PROFILE, ts=T0 + k * interval)
        took = time.perf_counter() - t
        record_total += took
        worst = max(worst, took)
    wall = time.perf_counter() - started
    end = T0 + ticks * interval
    day_bytes = file_bytes(path)
    tables = table_bytes(path)
    raw_rows, raw_bytes = tables["samples"]
    # 24 h sparkline: guest_series over the last day, on random guests
    rng = random.Random(3)
    vmids = [g.vmid for g in rng.sample(base.guests, min(40, len(base.guests)))]
    store.guest_series(PROFILE, base.guests[-1].vmid, "cpu", end - DAY, end)  # opens the reader
    query_times = []
    points = 0
    for vmid in vmids:
        t = time.perf_counter()
        series = store.guest_series(PROFILE, vmid, "cpu", end - DAY, end)
        query_times.append(time.perf_counter() - t)
        points = max(points, len(series))
    t = time.perf_counter()
    store.node_series(PROFILE, base.nodes[0].name, "cpu", end - DAY, end)
    node_query = time.perf_counter() - t
    out: dict[str, Any] = {
        "days": days,
        "sample_interval": interval,
        "retention": {
            "raw_h": ret.raw / 3600,
            "mid_step_s": ret.mid_step,
            "mid_days": ret.mid / DAY,
            "long_step_s": ret.long_step,
            "long_days": ret.long / DAY,
        },
        "ticks": ticks,
        "record_ms_mean": ms(record_total / ticks),
        "record_ms_worst_incl_hourly_prune": ms(worst),
        "sim_wall_s": round(wall, 1),
        "file_bytes_end": day_bytes,
        "raw_rows": raw_rows,
        "raw_bytes_per_row": round(raw_bytes / max(raw_rows, 1), 1),
        "events": tables["events"][0],
        "series_24h_points": points,
        "series_24h_ms_median": ms(statistics.median(query_times)),
        "series_24h_ms_max": ms(max(query_times)),
        "node_series_24h_ms": ms(node_query),
    }
    if days == 1:
        # the whole day becomes mid rollups (the cost of a long gap, e.g. Argus was closed)
        t = time.perf_counter()
        counts = store.prune(now=end + DAY + ret.mid_step)
        out["prune_whole_day_s"] = round(time.perf_counter() - t, 2)
        out["prune_counts"] = counts
        tables = table_bytes(path)
        mid_rows, mid_bytes = tables["rollups"]
        out["mid_rows"] = mid_rows
        out["mid_bytes_per_row"] = round(mid_bytes / max(mid_rows, 1), 1)
        t = time.perf_counter()
        series = store.guest_series(PROFILE, vmids[0], "cpu", end - DAY, end)
        out["series_24h_from_rollups_ms"] = ms(time.perf_counter() - t)
        out["series_24h_from_rollups_points"] = len(series)
        store.prune(now=end + ret.mid + ret.long_step)
        tables = table_bytes(path)
        long_rows, long_bytes = tables["rollups"]
        out["long_rows"] = long_rows
        out["long_bytes_per_row"] = round(long_bytes / max(long_rows, 1), 1)
        per_day_raw = size * DAY / interval
        per_day_mid = size * DAY / ret.mid_step
        per_day_long = size * DAY / ret.long_step
        raw_b = per_day_raw * out["raw_bytes_per_row"] * ret.raw / DAY
        mid_b = per_day_mid * out["mid_bytes_per_row"]
        # Hourly rows have the same columns as 5-minute ones; the few measured here sit in
        # pages left half-empty by the deleted 5-minute rows, so project with the 5-minute
        # cost (the steady state appends hourly rows densely, like the 5-minute ones).
        long_b = per_day_long * out["mid_bytes_per_row"]
        mid_days = ret.mid / DAY
        long_days = (ret.long - ret.mid) / DAY
        out["projected_bytes_30d"] = int(raw_b + mid_b * min(29, mid_days))
        out["projected_bytes_1y"] = int(raw_b + mid_b * mid_days + long_b * long_days)
        out["raw_bytes_per_day_written"] = int(per_day_raw * out["raw_bytes_per_row"])
    else:
        out["mid_rows"] = tables["rollups"][0]
    store.close()
    shutil.rmtree(work / "unused", ignore_errors=True)
    path.unlink()
    return out


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,10000", help="guest counts, comma-separated")
    parser.add_argument(
        "--validate-days",
        type=int,
        default=0,
        help="also record this many real days at the smallest size",
    )
    parser.add_argument("--json", action="store_true", help="print raw results as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="argus-bench-history-"))
    results: list[dict[str, Any]] = []
    try:
        for guests in sizes:
            nodes = 3 if guests <= 100 else 50
            variants: list[tuple[str, int | None]] = [("default", 500)]
            if guests + nodes > 500:
                variants.append(("small policy forced (60 s)", None))
            for label, large in variants:
                print(f"{guests} guests, {label}: write cost...", file=sys.stderr, flush=True)
                w = write_cost(nodes, guests, large, work)
                print(f"{guests} guests, {label}: one day...", file=sys.stderr, flush=True)
                g = growth(nodes, guests, large, work)
                results.append(
                    {"guests": guests, "nodes": nodes, "policy": label, "write": w, "growth": g}
                )
        if args.validate_days:
            guests = min(sizes)
            print(f"{guests} guests: {args.validate_days} real days...", file=sys.stderr)
            v = growth(3, guests, 500, work, days=args.validate_days)
            results.append({"guests": guests, "nodes": 3, "policy": "validate", "growth": v})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=1))
        return 0
    print(f"Machine: {machine()}\n")
    print(
        "| guests | policy | sample every | write (sampling refresh) p50 / max |"
        " skipped refresh | refresh with 1% status changes | avg per 5 s refresh |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        if "write" not in r:
            continue
        w = r["write"]
        print(
            f"| {r['guests']:,} | {r['policy']} | {w['sample_interval']:.0f} s |"
            f" {w['sample_ms_median']} / {w['sample_ms_max']} ms | {w['skip_ms_median']} ms |"
            f" {w['change_1pct_ms']} ms | {w['per_refresh_ms_at_5s']} ms |"
        )
    print()
    print(
        "| guests | policy | after 1 day (raw) | raw B/row | 5-min/hourly B/row |"
        " projected 30 days | projected 1 year | 24 h sparkline p50 / max (points) |"
        " prune of a whole day |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        g = r["growth"]
        if r["policy"] == "validate":
            continue
        print(
            f"| {r['guests']:,} | {r['policy']} | {human(g['file_bytes_end'])} |"
            f" {g['raw_bytes_per_row']} | {g['mid_bytes_per_row']} / {g['long_bytes_per_row']} |"
            f" {human(g['projected_bytes_30d'])} | {human(g['projected_bytes_1y'])} |"
            f" {g['series_24h_ms_median']} / {g['series_24h_ms_max']} ms"
            f" ({g['series_24h_points']}) | {g['prune_whole_day_s']} s |"
        )
    for r in results:
        if r["policy"] == "validate":
            g = r["growth"]
            print(
                f"\nValidation: {r['guests']} guests recorded for {g['days']} days with"
                f" automatic pruning: {human(g['file_bytes_end'])} on disk,"
                f" {g['raw_rows']:,} raw + {g['mid_rows']:,} rollup rows;"
                f" record mean {g['record_ms_mean']} ms, worst"
                f" {g['record_ms_worst_incl_hourly_prune']} ms (with the hourly prune)."
            )
    print("\n" + json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
