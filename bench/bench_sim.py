"""Benchmark the simulator's GET /api2/json/cluster/resources, small and large clusters.

Why: the simulator stands in for Proxmox VE in tests, demos and client benchmarks, so we
need to know how fast it answers the heaviest everyday call (the whole-cluster resource
list every client polls) and how much memory a 10,000-guest cluster costs, so that it is
never mistaken for the bottleneck.

The simulator runs as a separate `argus sim` process, so client and server do not share
a GIL; its memory is read from /proc/PID/status (VmRSS when idle, VmHWM = peak RSS after
the load). Usage:

    /work/venv/bin/python bench/bench_sim.py [--guests demo,10000] [--nodes 50]
        [--duration 5] [--threads 4] [--no-gzip]

`demo` is the built-in 25-guest demo cluster; a number N generates
`--generate nodes=NODES,guests=N`.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3

RESOURCES = "/api2/json/cluster/resources"
WARMUP = 3
MIN_REQUESTS = 5


@dataclass
class SimProcess:
    proc: subprocess.Popen[str]
    api_url: str
    auth: str  # the Authorization header value
    startup_s: float


@dataclass
class Phase:
    """One load phase: how many requests, how long, and each request's latency."""

    requests: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0


@dataclass
class Row:
    label: str
    guests: int
    entries: int
    json_bytes: int
    wire_bytes: int
    seq: Phase
    conc: Phase
    rss_idle_kib: int
    hwm_kib: int
    startup_s: float


def _argus() -> str:
    exe = Path(sys.executable).with_name("argus")
    return str(exe) if exe.exists() else "argus"


def proc_status_kib(pid: int, key: str) -> int:
    """A kB figure such as VmRSS or VmHWM from /proc/PID/status (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


@contextmanager
def simulator(spec: str, nodes: int) -> Iterator[SimProcess]:
    """`argus sim --port 0` for the demo or a generated cluster; stopped on exit."""
    cmd = [_argus(), "sim", "--port", "0"]
    if spec != "demo":
        cmd += ["--generate", f"nodes={nodes},guests={int(spec)}"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fields: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            key, sep, value = line.strip().partition(":")
            if sep:
                fields[key.strip()] = value.strip()
            if line.startswith("Press Ctrl+C"):
                break
        else:
            err = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"argus sim exited early ({proc.wait()}): {err}")
        startup = time.perf_counter() - start
        auth = f"PVEAPIToken={fields['Token id']}={fields['Token secret']}"
        yield SimProcess(proc, fields["API"], auth, startup)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _session(sim: SimProcess, gzip: bool) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify=False, proxies apply
    session.verify = False  # its own self-signed CA; TLS cost is still paid
    session.headers["Authorization"] = sim.auth
    if not gzip:
        session.headers["Accept-Encoding"] = "identity"
    return session


def _fetch(session: requests.Session, url: str) -> float:
    """One full request, body read; returns its latency in seconds."""
    t0 = time.perf_counter()
    resp = session.get(url, timeout=60)
    _ = resp.content
    elapsed = time.perf_counter() - t0
    resp.raise_for_status()
    return elapsed


def run_phase(sim: SimProcess, threads: int, duration: float, gzip: bool) -> Phase:
    """`threads` keep-alive clients hammering cluster/resources for `duration` seconds."""
    url = sim.api_url.removesuffix("/api2/json") + RESOURCES
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(out: list[float]) -> None:
        session = _session(sim, gzip)
        _fetch(session, url)  # open the connection and do the TLS handshake
        barrier.wait()
        while time.perf_counter() < deadline[0] or len(out) < MIN_REQUESTS:
            out.append(_fetch(session, url))
        session.close()

    workers = [threading.Thread(target=worker, args=(lat,)) for lat in per_thread]
    for w in workers:
        w.start()
    deadline[0] = time.perf_counter() + duration + 3600  # held until every client is ready
    barrier.wait()
    start = time.perf_counter()
    deadline[0] = start + duration
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    latencies = [x for lat in per_thread for x in lat]
    return Phase(len(latencies), elapsed, latencies)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: works for the handful of samples a slow case yields."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def measure(spec: str, nodes: int, duration: float, threads: int, gzip: bool) -> Row:
    with simulator(spec, nodes) as sim:
        pid = sim.proc.pid
        rss_idle = proc_status_kib(pid, "VmRSS")
        session = _session(sim, gzip)
        url = sim.api_url.removesuffix("/api2/json") + RESOURCES
        for _ in range(WARMUP):
            _fetch(session, url)
        resp = session.get(url, timeout=60)
        resp.raise_for_status()
        data = resp.json()["data"]
        json_bytes = len(resp.content)
        wire_bytes = int(resp.headers.get("Content-Length", json_bytes))
        session.close()
        guests = sum(1 for e in data if e["type"] in ("qemu", "lxc"))
        seq = run_phase(sim, 1, duration, gzip)
        conc = run_phase(sim, threads, duration, gzip)
        hwm = proc_status_kib(pid, "VmHWM")
        label = "demo" if spec == "demo" else f"generate nodes={nodes},guests={spec}"
        return Row(
            label,
            guests,
            len(data),
            json_bytes,
            wire_bytes,
            seq,
            conc,
            rss_idle,
            hwm,
            sim.startup_s,
        )


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}; Python {platform.python_version()}; "
        f"{platform.system()} {platform.release()}"
    )


def table(rows: list[Row], threads: int, gzip: bool) -> str:
    def ms(x: float) -> str:
        return f"{x * 1000:.1f}"

    def kib(n: int) -> str:
        return f"{n / 1024:.1f} KiB" if n < 1024**2 else f"{n / 1024**2:.2f} MiB"

    wire = "gzip" if gzip else "identity"
    head = (
        "| scenario | guests | entries | JSON body | on the wire "
        f"({wire}) | 1 client req/s | p50 ms | p95 ms | {threads} threads req/s | p50 ms "
        "| p95 ms | RSS idle | peak RSS (VmHWM) | startup s |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        lines.append(
            f"| {r.label} | {r.guests} | {r.entries} | {kib(r.json_bytes)} | "
            f"{kib(r.wire_bytes)} | {r.seq.rps:.1f} | {ms(percentile(r.seq.latencies, 50))} | "
            f"{ms(percentile(r.seq.latencies, 95))} | {r.conc.rps:.1f} | "
            f"{ms(percentile(r.conc.latencies, 50))} | {ms(percentile(r.conc.latencies, 95))} | "
            f"{r.rss_idle_kib / 1024:.1f} MiB | {r.hwm_kib / 1024:.1f} MiB | {r.startup_s:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--guests",
        default="demo,10000",
        help="comma list: 'demo' (25 guests) or a guest count to generate",
    )
    parser.add_argument("--nodes", type=int, default=50, help="nodes of generated clusters")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load phase")
    parser.add_argument("--threads", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--no-gzip",
        action="store_true",
        help="send Accept-Encoding: identity (the simulator gzips otherwise)",
    )
    args = parser.parse_args(argv)
    specs = [s.strip() for s in args.guests.split(",") if s.strip()]
    for spec in specs:
        if spec != "demo" and not spec.isdigit():
            parser.error(f"--guests: {spec!r} is neither 'demo' nor a number")
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    gzip = not args.no_gzip
    rows = []
    for spec in specs:
        print(f"... {spec}", file=sys.stderr, flush=True)
        rows.append(measure(spec, args.nodes, args.duration, args.threads, gzip))
    print(f"Machine: {machine()}")
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"Each phase {args.duration:g} s after {WARMUP} warm-up requests; latencies are "
        "client-side, full body read; memory from /proc/PID/status of the argus sim process.\n"
    )
    print(table(rows, args.threads, gzip))
    return 0


if __name__ == "__main__":
    sys.exit(main())
