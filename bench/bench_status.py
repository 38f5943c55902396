"""Wall time and peak memory of `argus status --json` against simulated clusters.

Runs the simulator as its own process, then the real `argus status --json` command
several times as a user would (fresh process each run), and reports the median and
max wall time and the peak RSS of the argus process (from wait4's rusage).

    python bench/bench_status.py                  # demo (25 guests) and 10,000 guests
    python bench/bench_status.py --sizes 1000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from typing import Any


def start_sim(size: str, nodes: int) -> tuple[subprocess.Popen[str], dict[str, str]]:
    args = [sys.executable, "-m", "argus_tui", "sim", "--port", "0"]
    if size != "demo":
        args += ["--generate", f"nodes={nodes},guests={size}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, start_new_session=True)
    info: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.match(r"\s+(URL|Token id|Token secret|Fingerprint):\s+(\S+)", line)
        if match:
            info[match.group(1)] = match.group(2)
        if line.startswith("Press Ctrl+C"):
            break
    return proc, info


def run_status(env: dict[str, str]) -> tuple[float, int, int]:
    """One `argus status --json`: (seconds, peak RSS in KiB, bytes of output)."""
    import tempfile

    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "argus_tui", "status", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # rusage of exactly this process
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"argus status failed: {errors.read().decode()}")
    return elapsed, usage.ru_maxrss, len(out)


def measure(size: str, nodes: int, runs: int) -> dict[str, Any]:
    sim, info = start_sim(size, nodes)
    try:
        host = info["URL"].removeprefix("https://").rstrip("/")
        env = dict(os.environ)
        env.update(
            ARGUS_HOST=host,
            ARGUS_TOKEN_ID=info["Token id"],
            ARGUS_TOKEN_SECRET=info["Token secret"],
            ARGUS_FINGERPRINT=info["Fingerprint"],
        )
        times: list[float] = []
        peaks: list[int] = []
        size_out = 0
        for _ in range(runs):
            elapsed, peak, size_out = run_status(env)
            times.append(elapsed)
            peaks.append(peak)
        return {
            "size": size,
            "median_s": statistics.median(times),
            "max_s": max(times),
            "peak_rss_mib": max(peaks) / 1024,
            "json_kib": size_out / 1024,
        }
    finally:
        os.killpg(sim.pid, signal.SIGINT)
        try:
            sim.wait(30)
        except subprocess.TimeoutExpired:  # a busy machine: the figures are taken, stop it
            os.killpg(sim.pid, signal.SIGKILL)
            sim.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="demo,10000", help="demo and/or guest counts")
    parser.add_argument("--nodes", type=int, default=50, help="nodes for generated clusters")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = [measure(size.strip(), args.nodes, args.runs) for size in args.sizes.split(",")]
    print(
        f"`argus status --json`, {args.runs} runs each, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}\n"
    )
    print("| guests | median wall | max wall | peak RSS (argus) | JSON output |")
    print("|---|---|---|---|---|")
    for row in rows:
        label = "25 (demo)" if row["size"] == "demo" else f"{int(row['size']):,}"
        print(
            f"| {label} | {row['median_s']:.2f} s | {row['max_s']:.2f} s |"
            f" {row['peak_rss_mib']:.1f} MiB | {row['json_kib']:.0f} KiB |"
        )


if __name__ == "__main__":
    main()
