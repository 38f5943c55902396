"""The team history on PostgreSQL beside the local SQLite one, in one run.

    python bench/bench_team_history.py                      # 25 and 10,000 guests
    python bench/bench_team_history.py --url postgresql://postgres@127.0.0.1:5432/postgres

Per backend and cluster size:
- write cost per refresh: a refresh that records samples (COPY on PostgreSQL), the
  median over several refreshes, and a refresh inside the sample interval (nothing due);
- a 24 h sparkline read (`guest_series` over one recorded day, 40 random guests);
- growth: the database's size after one simulated day at the profile's sample interval
  (synthetic ticks as in bench_history.py), and after that day was downsampled into
  5-minute rollups (prune at +2 days) and the freed space given back (VACUUM);
- retention of a day at 10,000 guests: the time of that prune (the whole day's raw
  samples turned into rollups and deleted, in bounded chunks).

Without --url a throwaway server is started for the run (tests/pg_server.py: initdb and
pg_ctl on a free loopback port, with fsync off since it is thrown away). With --url the
given server is used (a superuser URL; a database `argus_bench_*` is created and dropped):
pass a server with the durability settings you run in production for figures that mean
what they say. docs/PERFORMANCE.md, "Team history", has figures and how they were taken.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from argus_tui.store import DAY, HistoryStore
from argus_tui.store.postgres import PostgresHistory
from argus_tui.store.sqlite import SqliteHistory
from bench_history import T0, Synth, machine, sim_snapshots

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.pg_server import start_server

PROFILE = "bench"
Opener = Callable[..., HistoryStore]


@contextmanager
def postgres_opener(url: str | None) -> Iterator[tuple[Opener, str]]:
    """Stores on fresh databases of the given server (or a throwaway one)."""
    server = None
    if url is None:
        server = start_server()
        url = server.url()
    made: list[str] = []
    admin = psycopg.connect(url, autocommit=True)

    def open_(**options: Any) -> HistoryStore:
        name = f"argus_bench_{uuid.uuid4().hex[:8]}"
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        made.append(name)
        params = conninfo_to_dict(url)
        params["dbname"] = name
        return PostgresHistory(make_conninfo(**params), **options)

    version = admin.execute("SHOW server_version_num").fetchone()
    fsync = admin.execute("SHOW fsync").fetchone()
    commit = admin.execute("SHOW synchronous_commit").fetchone()
    number = int(version[0]) if version else 0
    label = (
        f"PostgreSQL {number // 10000}.{number % 10000} (fsync {fsync[0] if fsync else '?'},"
        f" synchronous_commit {commit[0] if commit else '?'})"
    )
    try:
        yield open_, label
    finally:
        for name in made:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()
        if server is not None:
            server.destroy()


def sqlite_opener(work: Path) -> Opener:
    def open_(**options: Any) -> HistoryStore:
        return SqliteHistory(work / f"bench-{uuid.uuid4().hex[:8]}.db", **options)

    return open_


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def write_cost(open_: Opener, nodes: int, guests: int) -> dict[str, Any]:
    store = open_(auto_prune=False)
    size = nodes + guests
    interval = store.policy(size).sample_interval
    runs = 12 if guests > 1000 else 40
    snaps = sim_snapshots(nodes, guests, runs + 1, interval)
    store.record_snapshot(snaps[0], PROFILE)  # the baseline: entities and last states
    sample, skip = [], []
    for snap in snaps[1:]:
        t = time.perf_counter()
        store.record_snapshot(snap, PROFILE)
        sample.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.record_snapshot(snap, PROFILE, ts=snap.fetched_at + 5)
        skip.append(time.perf_counter() - t)
    store.close()
    return {
        "sample_interval": interval,
        "rows_per_sample": size,
        "sample_ms_median": ms(statistics.median(sample)),
        "sample_ms_max": ms(max(sample)),
        "skip_ms_median": ms(statistics.median(skip)),
    }


def day(open_: Opener, nodes: int, guests: int) -> dict[str, Any]:
    """One simulated day recorded, read back as sparklines, then downsampled."""
    store = open_(auto_prune=False)
    size = nodes + guests
    policy = store.policy(size)
    interval, ret = policy.sample_interval, policy.retention
    base = sim_snapshots(nodes, guests, 1, interval)[0]
    synth = Synth(base)
    ticks = int(DAY / interval)
    record = 0.0
    for k in range(ticks):
        snap = synth.at(k, interval)
        t = time.perf_counter()
        store.record_snapshot(snap, PROFILE, ts=T0 + k * interval)
        record += time.perf_counter() - t
    end = T0 + ticks * interval
    after_day = store.stats().size_bytes
    rng = random.Random(3)
    vmids = [g.vmid for g in rng.sample(base.guests, min(40, len(base.guests)))]
    store.guest_series(PROFILE, vmids[0], "cpu", end - DAY, end)  # warm the connection
    reads, points = [], 0
    for vmid in vmids:
        t = time.perf_counter()
        series = store.guest_series(PROFILE, vmid, "cpu", end - DAY, end)
        reads.append(time.perf_counter() - t)
        points = max(points, len(series))
    t = time.perf_counter()
    counts = store.prune(now=end + DAY + ret.mid_step)
    prune_s = time.perf_counter() - t
    store.vacuum()  # what the rollups take once the freed space is given back
    after_prune = store.stats().size_bytes
    t = time.perf_counter()
    rolled = store.guest_series(PROFILE, vmids[0], "cpu", end - DAY, end)
    rolled_read = time.perf_counter() - t
    store.close()
    return {
        "ticks": ticks,
        "record_ms_mean": ms(record / ticks),
        "bytes_after_day": after_day,
        "series_24h_points": points,
        "series_24h_ms_median": ms(statistics.median(reads)),
        "series_24h_ms_max": ms(max(reads)),
        "prune_day_s": round(prune_s, 2),
        "prune_counts": counts,
        "bytes_after_downsampling": after_prune,
        "series_24h_from_rollups_ms": ms(rolled_read),
        "series_24h_from_rollups_points": len(rolled),
    }


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.1f} GiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,10000", help="guest counts, comma-separated")
    parser.add_argument("--url", help="a PostgreSQL superuser URL (default: a throwaway server)")
    parser.add_argument("--json", action="store_true", help="print raw results as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="argus-bench-team-") as tmp,
        postgres_opener(args.url) as (pg_open, pg_label),
    ):
        backends = [("SQLite", sqlite_opener(Path(tmp))), (pg_label, pg_open)]
        for guests in sizes:
            nodes = 3 if guests <= 100 else 50
            for label, open_ in backends:
                row = {"backend": label, "guests": guests, "nodes": nodes}
                row["write"] = write_cost(open_, nodes, guests)
                row["day"] = day(open_, nodes, guests)
                results.append(row)
                print(f"done: {label}, {guests} guests", file=sys.stderr)
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=1))
        return 0
    print(f"# {machine()}")
    print(
        "| backend | guests | sample every | write a refresh (median / max) | nothing due |"
        " 24 h sparkline read | after 1 day | after downsampling | prune of the day |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        w, d = r["write"], r["day"]
        print(
            f"| {r['backend']} | {r['guests']:,} | {w['sample_interval']:g} s |"
            f" {w['sample_ms_median']} / {w['sample_ms_max']} ms | {w['skip_ms_median']} ms |"
            f" {d['series_24h_ms_median']} ms ({d['series_24h_points']} points) |"
            f" {human(d['bytes_after_day'])} | {human(d['bytes_after_downsampling'])} |"
            f" {d['prune_day_s']} s |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
