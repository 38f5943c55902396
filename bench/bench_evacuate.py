"""How long planning a node's evacuation takes: the planner alone at 1,000 guests over 50
nodes, and the whole plan (refresh figures + one migration precondition per running guest
on the node) against a simulator running as its own process.

    python bench/bench_evacuate.py                      # planner: 1,000 guests / 50 nodes
    python bench/bench_evacuate.py --guests 1000 --nodes 50 --runs 7 --sim
                                                        # also the service against argus sim

Part 1 builds the cluster in memory: 50 nodes of 256 GiB with 5-75 % of their memory in
use, and 1,000 running guests of 1-32 GiB on the node being evacuated (the worst case:
every guest has to be placed, and targets fill up so that some cannot be). It times
`domain.migration.plan_evacuation` (median of the runs) and checks that no target ends
up overcommitted. Part 2 (`--sim`) runs `argus sim --generate nodes=N,guests=M` and times
`session.evacuation.plan` for the node with the most running guests: the refresh it
reads from, plus one `GET .../migrate` per running guest there.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from argus_tui.domain.migration import plan_evacuation
from argus_tui.domain.models import Guest, Node, Privileges

G = 1024**3


def synthetic(guests: int, nodes: int, seed: int = 7) -> tuple[list[Node], list[Guest]]:
    rng = random.Random(seed)
    cluster = [
        Node(f"pve-{i:02d}", "online", mem=int(256 * G * rng.uniform(0.05, 0.75)), maxmem=256 * G)
        for i in range(nodes)
    ]
    on = cluster[0].name
    vms = [
        Guest(
            vmid=1000 + i,
            type="qemu" if i % 4 else "lxc",
            node=on,
            status="running",
            name=f"guest-{i}",
            maxmem=rng.choice((1, 2, 4, 8, 16, 32)) * G,
        )
        for i in range(guests)
    ]
    return cluster, vms


def bench_planner(guests: int, nodes: int, runs: int) -> dict[str, float]:
    cluster, vms = synthetic(guests, nodes)
    privileges = Privileges({"/vms": {"VM.Migrate": True, "VM.Audit": True}})
    times = []
    plan = None
    for _ in range(runs):
        started = time.perf_counter()
        plan = plan_evacuation(cluster[0].name, cluster, vms, privileges)
        times.append(time.perf_counter() - started)
    assert plan is not None
    used = {n.name: n.mem or 0 for n in cluster}
    for move in plan.moves:
        used[move.to] += move.guest.maxmem or 0
    over = [n.name for n in cluster[1:] if used[n.name] > (n.maxmem or 0)]
    assert not over, f"overcommitted: {over}"
    return {
        "median_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "moves": len(plan.moves),
        "skipped": len(plan.skipped),
    }


def bench_service(guests: int, nodes: int, runs: int) -> dict[str, float]:
    args = [sys.executable, "-m", "argus_tui", "sim", "--port", "0"]
    args += ["--generate", f"nodes={nodes},guests={guests}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True)
    info: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.match(r"\s+(URL|Token id|Token secret|Fingerprint):\s+(\S+)", line)
        if match:
            info[match.group(1)] = match.group(2)
        if line.startswith("Press Ctrl+C"):
            break
    try:
        from argus_tui.domain.secret import Secret
        from argus_tui.pve.client import PveClient
        from argus_tui.pve.settings import ConnectionSettings, TlsConfig
        from argus_tui.services.session import Session

        host, _, port = info["URL"].removeprefix("https://").rstrip("/").partition(":")
        settings = ConnectionSettings(
            host=host,
            port=int(port),
            token_id=info["Token id"],
            secret=Secret(info["Token secret"]),
            tls=TlsConfig(mode="fingerprint", fingerprint=info["Fingerprint"]),
        )
        session = Session(PveClient(settings))
        snapshot = session.snapshot()
        counts: dict[str, int] = {}
        for g in snapshot.guests:
            if g.status == "running":
                counts[g.node] = counts.get(g.node, 0) + 1
        node = max(counts, key=lambda n: counts[n])
        times, calls = [], []
        for _ in range(runs):
            before = session.client.calls
            started = time.perf_counter()
            session.evacuation.plan(snapshot, node)
            times.append(time.perf_counter() - started)
            calls.append(session.client.calls - before)
        session.close()
        return {
            "node_running_guests": counts[node],
            "median_ms": statistics.median(times) * 1000,
            "max_ms": max(times) * 1000,
            "requests": statistics.median(calls),
        }
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--sim", action="store_true", help="also time the service against argus sim"
    )
    args = parser.parse_args()
    result = bench_planner(args.guests, args.nodes, args.runs)
    print(
        f"planner, {args.guests} guests on one node over {args.nodes} nodes:"
        f" median {result['median_ms']:.1f} ms (max {result['max_ms']:.1f} ms),"
        f" {result['moves']:.0f} moves, {result['skipped']:.0f} skipped, nothing overcommitted"
    )
    if args.sim:
        svc = bench_service(args.guests, args.nodes, args.runs)
        print(
            f"service against argus sim ({args.guests} guests, {args.nodes} nodes), node with"
            f" {svc['node_running_guests']:.0f} running guests: median {svc['median_ms']:.1f} ms"
            f" (max {svc['max_ms']:.1f} ms), {svc['requests']:.0f} requests"
        )


if __name__ == "__main__":
    main()
