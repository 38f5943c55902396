"""How long the real TUI takes to say STALE when the network goes silent, and to stop.

The real `argus --interval 2` runs in a pseudo-terminal of 200x50 against `argus sim`
(its own process), through a TCP relay in this process. Once the first data is on screen
(and a few seconds more, to start each run at a different point of the refresh cycle),
the relay stops forwarding in both directions without closing anything: no RST, no FIN,
the sockets stay open, as when a link drops packets. What arrives meanwhile is held, as
TCP would retransmit it. Measured:

- *to STALE*: from the silence to the first write of `STALE` to the terminal;
- *to clear*: the relay then forwards again (what it held included); from then to the
  first write of the status line's row that says `s old` without `STALE`.

A run that shows no STALE within `--cap` seconds counts as the cap.

    python bench/bench_stale.py                       # 5 runs at --interval 2
    PYTHONPATH=../before/src python bench/bench_stale.py --runs 3   # an older tree
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_tui import HEIGHT, WIDTH, SimProcess, argus_command, machine, pty_env, spawn_in_pty

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.ui.silent_relay import SilentRelay

MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")  # cursor to (row, column): a line's update starts


class Terminal:
    """The pty master: everything read so far, with the time each byte arrived."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = bytearray()
        self.times: list[tuple[int, float]] = []  # (offset of a chunk, monotonic time)

    def read_until(self, found: Any, limit: float) -> float | None:
        """Read until `found(self)` holds (the time it first did) or `limit` seconds."""
        deadline = time.monotonic() + limit
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return None
            now = time.monotonic()
            self.times.append((len(self.data), now))
            self.data.extend(chunk)
            if found(self):
                return now
        return None

    def lines_since(self, start: int) -> list[tuple[int, bytes]]:
        """(row, bytes) of each line update written after offset `start`."""
        data = bytes(self.data[start:])
        moves = list(MOVE.finditer(data))
        out = []
        for this, after in zip(moves, [*moves[1:], None], strict=True):
            end = after.start() if after is not None else len(data)
            out.append((int(this.group(1)), data[this.end() : end]))
        return out


def status_row(term: Terminal) -> int | None:
    """The row the status line is drawn on: where `s old` was last written."""
    rows = [row for row, text in term.lines_since(0) if b"s old" in text]
    return rows[-1] if rows else None


def one_run(sim: SimProcess, interval: float, phase: float, cap: float) -> dict[str, Any]:
    relay = SilentRelay(int(sim.host.rpartition(":")[2]))
    with tempfile.TemporaryDirectory() as home:
        env = {**pty_env(home, sim), "ARGUS_HOST": f"127.0.0.1:{relay.port}"}
        pid, fd = spawn_in_pty([*argus_command(), "--interval", f"{interval:g}"], env)
        term = Terminal(fd)
        try:
            if term.read_until(lambda t: b"s old" in t.data, 60) is None:
                raise SystemExit(f"argus showed no data:\n{bytes(term.data[-2000:])!r}")
            term.read_until(lambda t: False, 2 + phase)  # steady, then a point in the cycle
            row = status_row(term)
            mark = len(term.data)
            relay.silence()
            silent_at = time.monotonic()
            stale_at = term.read_until(lambda t: b"STALE" in t.data[mark:], cap)
            to_stale = (stale_at if stale_at is not None else time.monotonic()) - silent_at
            mark = len(term.data)
            relay.resume()
            resumed_at = time.monotonic()

            def cleared(t: Terminal) -> bool:
                return any(
                    r == row and b"s old" in text and b"STALE" not in text
                    for r, text in t.lines_since(mark)
                )

            cleared_at = term.read_until(cleared, 60)
            to_clear = None if cleared_at is None else cleared_at - resumed_at
            os.write(fd, b"q")
            term.read_until(lambda t: False, 1)
        finally:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            os.close(fd)
            relay.close()
    return {
        "phase_s": round(phase, 2),
        "to_stale_s": round(to_stale, 2),
        "stale_seen": stale_at is not None,
        "to_clear_s": None if to_clear is None else round(to_clear, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--cap", type=float, default=40.0, help="longest wait for STALE (s)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    args = parser.parse_args()
    runs = []
    sim = SimProcess(25)
    try:
        for i in range(args.runs):
            phase = args.interval * i / args.runs  # spread over one refresh cycle
            print(f"run {i + 1}/{args.runs} …", file=sys.stderr, flush=True)
            runs.append(one_run(sim, args.interval, phase, args.cap))
    finally:
        sim.stop()
    stale = [r["to_stale_s"] for r in runs]
    clear = [r["to_clear_s"] for r in runs if r["to_clear_s"] is not None]
    print(f"STALE benchmark, {machine()}, {WIDTH}x{HEIGHT}, --interval {args.interval:g}\n")
    print("| run | silenced, s after the steady start | to STALE | to clear |")
    print("|---|---|---|---|")
    for n, r in enumerate(runs, 1):
        seen = f"{r['to_stale_s']:.2f} s" if r["stale_seen"] else f"> {args.cap:g} s (none)"
        cleared = "-" if r["to_clear_s"] is None else f"{r['to_clear_s']:.2f} s"
        print(f"| {n} | {r['phase_s']:.2f} | {seen} | {cleared} |")
    print(
        f"\nmedian to STALE {statistics.median(stale):.2f} s (max {max(stale):.2f} s); "
        + (f"median to clear {statistics.median(clear):.2f} s" if clear else "never cleared")
    )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
