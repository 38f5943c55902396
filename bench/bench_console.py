"""How fast a console is: keystroke echo, large output, and `argus console` start-up.

    python bench/bench_console.py                       # 5 runs of each, 500 keystrokes
    python bench/bench_console.py --runs 3 --chars 200 --json console.json
    python bench/bench_console.py --profile api         # client side of the API-level runs
                                                        # under cProfile (also: bridge)

The simulator runs as its own process (`argus sim --port 0`), as a real server would; the
console is CT 200 (nginx-lb-01) of the demo cluster, its emulated root shell, reached
over TLS with the pinned fingerprint like every client. Two levels are measured:

- *API*: this process holds the console itself: `PveClient.termproxy` then
  `PveClient.console`, `ConsoleSocket.send(input_frame(...))` and `recv`.
- *bridge*: the real `argus console 200` on a pseudo-terminal (`pty.fork()`, 120x40):
  this process plays the terminal, writing keys to the master and reading what argus
  writes there. That adds argus's raw-mode bridge (its select loop, the reader thread,
  the writes to the pty) and the pty itself.

1. Keystroke round trip: one character (`x`) sent, the time until its echo arrives;
   N per run (default 500, the line erased with ctrl+u every 50), median and p99.
2. Throughput of a large output, from the Enter that ends the command line to the prompt
   that comes back after the output: `cat /var/log/syslog` (about 4 MiB) and
   `seq 1000000` (7.9 MB); MB/s with MB = 10^6 bytes, counting the bytes received; and
   the CPU the simulator, argus (bridge) and this process used meanwhile, as a share of
   that wall time (1.0 = one core busy all along; from /proc/PID/stat, every thread).
3. Start-up (bridge only): from spawning `argus console 200` to the prompt on the pty
   (interpreter start, imports, the snapshot, the checks, termproxy, the WebSocket);
   beside it a fresh `argus status --json` (the same start-up and snapshot, no console).
4. For comparison with the bridge's rates, a pty alone: a child writing 8 MB in 128 KiB
   blocks in raw mode, this process reading the master, once per run.

Figures are medians over the runs (the p99 is over all keystrokes of all runs); `min-max`
gives the spread. Results: docs/PERFORMANCE.md, "Consoles".
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import fcntl
import json
import os
import pstats
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from argus_tui.domain.console import ConsoleTarget, input_frame
from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.console import ConsoleSocket
from argus_tui.pve.settings import ConnectionSettings, TlsConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tui import SimProcess, argus_command, machine  # the sibling benchmark

CT = ConsoleTarget("lxc", "pve-a", 200, "nginx-lb-01")
PROMPT = b"root@nginx-lb-01:~# "
END = b"\r\n" + PROMPT  # the prompt on a line of its own: the output is over
COMMANDS = {"syslog": b"cat /var/log/syslog", "seq": b"seq 1000000"}
COLUMNS, ROWS = 120, 40
ERASE_EVERY = 50  # keystrokes between two ctrl+u, so the line stays short
TIMEOUT = 30.0
WHO = ("sim", "argus", "self")  # whose CPU is measured during an output


@contextlib.contextmanager
def simulator() -> Iterator[SimProcess]:
    sim = SimProcess(25)  # the demo cluster
    try:
        yield sim
    finally:
        sim.stop()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


# -- the two ends: the API and a pty ------------------------------------------------------------


class ApiEnd:
    """The console held by this process through the client API."""

    def __init__(self, sock: ConsoleSocket) -> None:
        self.sock = sock
        self.pending = sock.first
        self.pid = os.getpid()  # the client is this process

    def write(self, data: bytes) -> None:
        self.sock.send(input_frame(data))

    def read(self) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        data = self.sock.recv(TIMEOUT)
        if data is None:
            raise SystemExit("the console sent nothing for 30 s")
        return data


@contextlib.contextmanager
def api_console(sim: SimProcess) -> Iterator[ApiEnd]:
    host, _, port = sim.host.rpartition(":")
    client = PveClient(
        ConnectionSettings(
            host=host,
            port=int(port),
            token_id=sim.info["Token id"],
            secret=Secret(sim.info["Token secret"]),
            tls=TlsConfig("fingerprint", fingerprint=sim.info["Fingerprint"]),
        )
    )
    ticket = client.termproxy(CT)
    with client.console(CT, ticket) as sock:
        end = ApiEnd(sock)
        until(end, PROMPT)
        yield end


class PtyEnd:
    """The terminal side of a pty that `argus console 200` runs on."""

    def __init__(self, fd: int, pid: int) -> None:
        self.fd = fd
        self.pid = pid  # argus

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def read(self) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], TIMEOUT)
        if not ready:
            raise SystemExit("argus wrote nothing to the pty for 30 s")
        try:
            return os.read(self.fd, 65536)
        except OSError:
            raise SystemExit("argus closed the pty") from None


def cli_env(sim: SimProcess, home: str) -> dict[str, str]:
    env = {
        "HOME": home,
        "XDG_CONFIG_HOME": f"{home}/config",
        "XDG_DATA_HOME": f"{home}/data",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        **sim.env(),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


@contextlib.contextmanager
def pty_console(
    sim: SimProcess, home: str, command: list[str] | None = None
) -> Iterator[tuple[PtyEnd, float]]:
    """`argus console 200` (or `command`) on a fresh pty; the end and the seconds to its
    prompt."""
    command = command or [*argus_command(), "console", "200"]
    env = cli_env(sim, home)
    size = struct.pack("HHHH", ROWS, COLUMNS, 0, 0)
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child: size the terminal, then become argus
        fcntl.ioctl(0, termios.TIOCSWINSZ, size)
        os.execve(command[0], command, env)  # noqa: S606 (our own argus, no shell)
    end = PtyEnd(fd, pid)
    try:
        until(end, PROMPT)
        yield end, time.perf_counter() - started
        end.write(b"\x1d")  # ctrl+]: leave
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"argus console exited {os.waitstatus_to_exitcode(status)}")
        pid = 0
    finally:
        if pid:
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
        os.close(fd)


End = ApiEnd | PtyEnd


def until(end: End, needle: bytes) -> int:
    """Read until `needle` has arrived at the end of what was read; the bytes read."""
    tail = b""
    total = 0
    while not tail.endswith(needle):
        data = end.read()
        total += len(data)
        tail = (tail + data)[-256:]
    return total


# -- the measurements ---------------------------------------------------------------------------


def round_trips(end: End, count: int) -> list[float]:
    """Seconds from sending `x` to reading its echo, `count` times."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        end.write(b"x")
        seen = b""
        while b"x" not in seen:
            seen += end.read()
        times.append(time.perf_counter() - started)
        if (i + 1) % ERASE_EVERY == 0:
            end.write(b"\x15")  # ctrl+u: the emulated shell echoes one `\b \b` per char
            until(end, b"\b \b" * ERASE_EVERY)
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(end: End, command: bytes, sim_pid: int) -> dict[str, float]:
    """`command`'s output, from Enter to the prompt after it: bytes, seconds, and the CPU
    seconds the simulator, argus (bridge) and this process spent meanwhile."""
    end.write(command)
    until(end, command)  # the echo of the command line
    pids = {"sim": sim_pid, "argus": end.pid, "self": os.getpid()}
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    started = time.perf_counter()
    end.write(b"\r")
    received = until(end, END)
    seconds = time.perf_counter() - started
    out = {"bytes": float(received), "seconds": seconds}
    for who, pid in pids.items():
        out[f"{who}_cpu"] = cpu_seconds(pid) - before[who]
    return out


def record(
    key: str, out: dict[str, float], rates: dict[str, list[float]], cpu: dict[str, list[float]]
) -> None:
    """MB/s, and each side's CPU as a share of the wall time (1.0 = one core all along)."""
    rates[key].append(out["bytes"] / out["seconds"] / 1e6)
    for who in WHO:
        cpu[f"{who}_{key}"].append(out[f"{who}_cpu"] / out["seconds"])


def status_seconds(sim: SimProcess, home: str) -> float:
    """A fresh `argus status --json`, for comparison: the same start-up and snapshot
    without the console."""
    started = time.perf_counter()
    subprocess.run(
        [*argus_command(), "status", "--json"],
        env=cli_env(sim, home),
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - started


def bare_pty(size: int = 8_000_000, block: int = 128 * 1024) -> float:
    """MB/s of a pty alone, for comparison: a child writes `size` bytes in raw mode in
    blocks as large as the console's frames, this process reads them as a terminal would."""
    data = (b"1234567\r\n" * (block // 9 + 1))[:block]
    count = -(-size // block)
    pid, fd = pty.fork()
    if pid == 0:  # child: raw, a start mark, then the blocks
        tty.setraw(0)
        os.write(1, b"S")
        for _ in range(count):
            view = memoryview(data)
            while view:
                view = view[os.write(1, view) :]
        time.sleep(5)  # until killed: closing the pty early would drop unread bytes
        os._exit(0)
    try:
        while os.read(fd, 1) != b"S":
            pass
        started = time.perf_counter()
        received = 0
        while received < count * block:
            received += len(os.read(fd, 65536))
        return received / (time.perf_counter() - started) / 1e6
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def bench(sim: SimProcess, runs: int, chars: int) -> dict[str, Any]:
    echo: dict[str, list[float]] = {"api": [], "bridge": []}
    echo_runs: dict[str, list[float]] = {"api": [], "bridge": []}
    sizes: dict[str, int] = {}
    rates: dict[str, list[float]] = {f"{lvl}_{c}": [] for lvl in echo for c in COMMANDS}
    cpu: dict[str, list[float]] = {f"{who}_{key}": [] for who in WHO for key in rates}
    startup: list[float] = []
    status: list[float] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        for run in range(runs):
            print(f"run {run + 1}/{runs}", file=sys.stderr, flush=True)
            with api_console(sim) as api:
                times = round_trips(api, chars)
                echo["api"] += times
                echo_runs["api"].append(statistics.median(times))
                for name, command in COMMANDS.items():
                    out = throughput(api, command, sim.proc.pid)
                    sizes[name] = int(out["bytes"])
                    record(f"api_{name}", out, rates, cpu)
            status.append(status_seconds(sim, home))
            bare.append(bare_pty())
            with pty_console(sim, home) as (term, seconds):
                startup.append(seconds)
                times = round_trips(term, chars)
                echo["bridge"] += times
                echo_runs["bridge"].append(statistics.median(times))
                for name, command in COMMANDS.items():
                    record(f"bridge_{name}", throughput(term, command, sim.proc.pid), rates, cpu)
    return {
        "machine": machine(),
        "runs": runs,
        "chars": chars,
        "sim_command": " ".join(["argus", *sim.command[3:]]),
        "echo_ms": {
            level: {
                "median": statistics.median(values) * 1e3,
                "p99": percentile(values, 0.99) * 1e3,
                "runs": spread([v * 1e3 for v in echo_runs[level]]),
            }
            for level, values in echo.items()
        },
        "output_bytes": sizes,
        "mb_per_s": {key: spread(values) for key, values in rates.items()},
        "cpu_share": {key: spread(values) for key, values in cpu.items()},
        "bare_pty_mb_per_s": spread(bare),
        "startup_s": spread(startup),
        "status_s": spread(status),
    }


# -- profiles -----------------------------------------------------------------------------------


def profile_api(sim: SimProcess, chars: int) -> None:
    """The API-level keystrokes and outputs of one run under cProfile (this process)."""
    profiler = cProfile.Profile()
    with api_console(sim) as api:
        profiler.enable()
        round_trips(api, chars)
        for command in COMMANDS.values():
            throughput(api, command, sim.proc.pid)
        profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def profile_bridge(sim: SimProcess, chars: int) -> None:
    """`argus console 200` under cProfile on the pty. cProfile sees the main thread
    only: the bridge's loop and what it calls (input, resize, ping), not the reader
    thread that writes the console's output."""
    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "argus.prof"
        script = (
            "import cProfile, sys; from argus_tui.cli import main;"
            f" sys.argv = ['argus', 'console', '200']; cProfile.run('main()', {str(out)!r})"
        )
        with pty_console(sim, home, [sys.executable, "-c", script]) as (term, _):
            round_trips(term, chars)
            for command in COMMANDS.values():
                throughput(term, command, sim.proc.pid)
        stats = pstats.Stats(str(out))
        stats.sort_stats("tottime").print_stats(25)
        stats.print_callers("set_default_verify_paths")


# -- report -------------------------------------------------------------------------------------


def table(result: dict[str, Any]) -> str:
    def cell(stat: dict[str, float], digits: int = 1, unit: str = "") -> str:
        low, high = f"{stat['min']:.{digits}f}", f"{stat['max']:.{digits}f}"
        return f"{stat['median']:.{digits}f}{unit} ({low}-{high})"

    echo = result["echo_ms"]
    mbs = result["mb_per_s"]
    share = result["cpu_share"]
    sizes = result["output_bytes"]
    lines = [
        f"Machine: {result['machine']}; simulator: {result['sim_command']};"
        f" {result['runs']} runs, {result['chars']} keystrokes each",
        "",
        "| level | echo median | echo p99 | median per run |",
        "|---|---|---|---|",
    ]
    for level in ("api", "bridge"):
        lines.append(
            f"| {level} | {echo[level]['median']:.2f} ms | {echo[level]['p99']:.2f} ms"
            f" | {cell(echo[level]['runs'], 2, ' ms')} |"
        )
    lines += [
        "",
        "| level | output | MB/s | CPU: simulator | argus | this process |",
        "|---|---|---|---|---|---|",
    ]
    for level in ("api", "bridge"):
        for name, command in COMMANDS.items():
            key = f"{level}_{name}"
            argus = cell(share[f"argus_{key}"], 2) if level == "bridge" else "-"
            lines.append(
                f"| {level} | `{command.decode()}` ({sizes[name]:,} B) | {cell(mbs[key])}"
                f" | {cell(share[f'sim_{key}'], 2)} | {argus} | {cell(share[f'self_{key}'], 2)} |"
            )
    lines += [
        "",
        f"A pty alone (8 MB in 128 KiB blocks, raw): {cell(result['bare_pty_mb_per_s'])} MB/s",
        f"Start-up (`argus console 200` to the prompt): {cell(result['startup_s'], 3, ' s')};"
        f" `argus status --json` for comparison: {cell(result['status_s'], 3, ' s')}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--chars", type=int, default=500, help="keystrokes per run")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--profile", choices=("api", "bridge"), help="one run under cProfile")
    args = parser.parse_args()
    with simulator() as sim:
        if args.profile == "api":
            profile_api(sim, args.chars)
            return
        if args.profile == "bridge":
            profile_bridge(sim, args.chars)
            return
        result = bench(sim, args.runs, args.chars)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
