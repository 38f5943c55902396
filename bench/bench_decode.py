"""Decode and map one `/cluster/resources` body: json, orjson and msgspec side by side.

The body is fetched once over HTTPS from an in-process simulator of the generated cluster
(the same data as `argus sim --generate nodes=50,guests=N`), then each way is timed on
those bytes: decode alone (bytes to Python objects) and decode + map (bytes to
`Resources`: nodes, guests, storages). "today's mapping" is `mapping.resources_from` on
the decoded dicts; "typed" is what the client does (`decode.decode_resources`). The GC is
set up as in the app once it has started (services/heap.py), and each result stays alive
while the next is decoded, as the shown snapshot does in the app.

    python bench/bench_decode.py                 # 10,000 guests, 25 runs each
    python bench/bench_decode.py --guests 1000 --runs 50
    python bench/bench_decode.py --tree ../before   # and an older checkout's own way

With `--tree`, the older checkout's client path (the stdlib's json and that tree's own
`mapping.resources_from`, the client's path before pve/decode.py existed) is timed on
the same bytes in a child process, in rounds interleaved with this tree's typed path, so
that a machine whose speed drifts during the run slows both alike; the ratio of the two
medians is the figure that does not depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from argus_tui.domain.models import Guest
from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.decode import _DECODER, decode_resources
from argus_tui.pve.mapping import resources_from
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.heap import freeze_startup
from argus_tui.sim.demo import generated_scenario
from argus_tui.sim.server import Simulator


def fetch_body(guests: int) -> bytes:
    sim = Simulator(generated_scenario(nodes=50, guests=guests), port=0).start()
    try:
        client = PveClient(
            ConnectionSettings(
                "127.0.0.1",
                sim.port,
                sim.token_id,
                Secret(sim.token_secret),
                TlsConfig("fingerprint", fingerprint=sim.fingerprint),
            )
        )
        return client._send("GET", "/cluster/resources").content
    finally:
        sim.stop()


def median_ms(work: Callable[[], Any], runs: int) -> float:
    """Median wall time of `work`; the previous result stays alive meanwhile, as the app's
    snapshot does while the next one is decoded, and is freed outside the timing."""
    previous = work()  # warm caches and imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
        previous = result
    del previous
    return round(statistics.median(times) * 1000, 1)


def ways(body: bytes) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(name, decode alone, decode + map) for each candidate."""
    rows: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "json (stdlib) + today's mapping",
            lambda: json.loads(body.decode("utf-8", "replace")),
            lambda: resources_from(json.loads(body.decode("utf-8", "replace"))["data"]),
        ),
        (
            "msgspec, generic + today's mapping",
            lambda: msgspec.json.decode(body),
            lambda: resources_from(msgspec.json.decode(body)["data"]),
        ),
        (
            "msgspec, typed structs + guests built by msgspec",
            lambda: _DECODER.decode(body),
            lambda: decode_resources(body),
        ),
    ]
    try:
        import orjson
    except ImportError:  # not a dependency: measured where installed
        return rows
    guests = resources_from(orjson.loads(body)["data"]).guests
    ready = [tuple(getattr(g, name) for name in Guest.__struct_fields__) for g in guests]

    def floor() -> list[Guest]:
        """orjson's dicts to Guests at best: no checks at all, only the constructor."""
        orjson.loads(body)
        return [Guest(*values) for values in ready]

    rows[1:1] = [
        (
            "orjson + today's mapping",
            lambda: orjson.loads(body),
            lambda: resources_from(orjson.loads(body)["data"]),
        ),
        ("orjson + only building the Guests (a floor)", lambda: orjson.loads(body), floor),
    ]
    return rows


OLD_WAY = """
import gc, json, sys, time
from argus_tui.pve.mapping import resources_from
body = open(sys.argv[1], "rb").read()
previous = resources_from(json.loads(body.decode("utf-8", "replace"))["data"])
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    result = resources_from(json.loads(body.decode("utf-8", "replace"))["data"])
    times.append(time.perf_counter() - start)
    previous = result
print(json.dumps(times))
"""


def old_tree_times(tree: Path, body_file: Path, runs: int) -> list[float]:
    """`runs` timings of the older tree's client path, in a child that imports that tree."""
    env = {"PYTHONPATH": str(tree.resolve() / "src"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", OLD_WAY, str(body_file), str(runs)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(t) for t in json.loads(out)]


def interleaved(tree: Path, body: bytes, rounds: int, runs: int) -> tuple[list[float], list[float]]:
    """(older tree's timings, this tree's typed path's timings), `rounds` rounds of each."""
    old: list[float] = []
    new: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        body_file = Path(folder) / "resources.json"
        body_file.write_bytes(body)
        previous = decode_resources(body)
        for _ in range(rounds):
            old += old_tree_times(tree, body_file, runs)
            for _ in range(runs):
                start = time.perf_counter()
                result = decode_resources(body)
                new.append(time.perf_counter() - start)
                previous = result
        del previous
    return old, new


def spread(times: list[float]) -> str:
    q = statistics.quantiles(times, n=4)
    return f"{statistics.median(times) * 1000:.1f} ms ({q[0] * 1000:.1f}-{q[2] * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guests", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--tree", type=Path, help="an older checkout to time beside this one")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds with --tree")
    args = parser.parse_args()
    body = fetch_body(args.guests)
    gc.collect()  # the simulator's objects are gone; then as the app is once it has started
    freeze_startup()
    print(f"/cluster/resources of {args.guests:,} guests, 50 nodes: {len(body):,} bytes\n")
    print("| way | decode alone | decode + map |")
    print("|---|---|---|")
    for name, decode, both in ways(body):
        print(f"| {name} | {median_ms(decode, args.runs)} ms | {median_ms(both, args.runs)} ms |")
    if args.tree:
        old, new = interleaved(args.tree, body, args.rounds, args.runs)
        ratio = statistics.median(old) / statistics.median(new)
        print(f"\n{args.rounds} interleaved rounds of {args.runs}, median (quartiles):\n")
        print(f"| {args.tree}: json + its mapping | this tree: typed | ratio |")
        print("|---|---|---|")
        print(f"| {spread(old)} | {spread(new)} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
