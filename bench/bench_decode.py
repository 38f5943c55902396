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
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import time
from collections.abc import Callable
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
    ready = [tuple(getattr(g, f.name) for f in dataclasses.fields(Guest)) for g in guests]

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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--guests", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    body = fetch_body(args.guests)
    gc.collect()  # the simulator's objects are gone; then as the app is once it has started
    freeze_startup()
    print(f"/cluster/resources of {args.guests:,} guests, 50 nodes: {len(body):,} bytes\n")
    print("| way | decode alone | decode + map |")
    print("|---|---|---|")
    for name, decode, both in ways(body):
        print(f"| {name} | {median_ms(decode, args.runs)} ms | {median_ms(both, args.runs)} ms |")


if __name__ == "__main__":
    main()
