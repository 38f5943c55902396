"""How long `argus` takes to show its first populated guests screen, against a bare Textual app.

    python bench/bench_startup.py                              # 10 runs of each
    python bench/bench_startup.py --runs 20 --tree /path/to/other/checkout
    ARGUS_BENCH_TREES=/path/a:/path/b python bench/bench_startup.py

Each run spawns a process in a real pseudo-terminal of 200x50 (`pty.fork`, TIOCSWINSZ,
TERM=xterm-256color) and plays the terminal. A reader thread stamps each chunk the process
writes with its arrival time (and the process's CPU time by then, every thread, from
/proc/PID/stat; a child it forks is not counted). While the process starts, the chunks are
only searched for the marker text; once it has been written, they are fed in order to a
terminal emulator (pyte), and the time is the arrival of the first chunk after which the
emulated screen shows the populated table. So the emulator's parsing neither takes CPU
from the process while it starts nor delays the clock. Three programs are timed:

- (a) *bare*: a Textual app with one DataTable of 25 rows and nothing else (a script
  written to a temporary directory); ready when its last row, `guest-24`, is on screen.
  This is the floor: interpreter start, importing Textual, the first frames.
- (b) *server*: `argus` against `argus sim` running as its own process (started once, before
  the first run; the token comes from ARGUS_* variables, the certificate is pinned with
  ARGUS_FINGERPRINT, so no keyring is asked).
- (c) *demo*: `argus --demo`, the simulator in the same process.

(b) and (c) are ready when the demo cluster's last row, `tmpl-debian-13`, is on screen:
it is drawn only once the first refresh has filled the table. "first text" is the first
chunk after which the screen shows any text at all (the header, an empty table).

Every run gets a fresh HOME with its own XDG config, data and state directories and its own
TMPDIR, so no run finds a history, a config file or a keyring from another. The cache
directory (XDG_CACHE_HOME) is kept per checkout for the whole benchmark, as it is on a
user's machine from one start to the next (`argus --demo` keeps its certificate there);
one untimed warm-up run of each program fills it and the .pyc files first.

`--tree PATH` (repeatable, or ARGUS_BENCH_TREES, colon-separated) adds another checkout:
its `argus` runs with PYTHONPATH=PATH/src beside this checkout's, so an old commit and the
new code are measured side by side in one run. Runs are interleaved (one of each program
per round, the order rotating from round to round), so a change in machine load hits
every program alike. The figures are medians, with the ratios (b)/(a) and (c)/(a).
Results: docs/PERFORMANCE.md, "Start-up".
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import queue
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyte

from bench_tui import SimProcess  # the sibling benchmark, found through sys.path

WIDTH, HEIGHT = 200, 50
HERE = Path(__file__).resolve().parents[1]
BARE_MARKER = "guest-24"
DEMO_MARKER = "tmpl-debian-13"  # the demo cluster's last row in VMID order
TIMEOUT = 30.0

BARE_APP = '''\
"""A bare Textual app: one DataTable of 25 rows, nothing else."""

from textual.app import App, ComposeResult
from textual.widgets import DataTable


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("VMID", "NAME", "TYPE", "NODE", "STATUS", "CPU", "MEM")
        for i in range(25):
            table.add_row(str(100 + i), f"guest-{i:02d}", "qemu", "pve-a", "running", "5%", "1G")


if __name__ == "__main__":
    Bare().run()
'''


@dataclass
class Program:
    """One thing to time: its command, its environment, the text that means "ready"."""

    name: str
    command: list[str]
    env: dict[str, str]
    marker: str
    quit_keys: bytes
    cache: Path
    stderr: Path | None = None  # where the program's stderr goes (the pty when None)
    ready: list[float] = field(default_factory=list)
    frame: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


@dataclass
class Timing:
    frame: float
    ready: float
    cpu: float  # CPU seconds the process had used (every thread) when it was ready


@contextlib.contextmanager
def simulator() -> Iterator[SimProcess]:
    """The demo cluster, served by this checkout's simulator whichever tree is timed."""
    sim = SimProcess(25, env={**os.environ, "PYTHONPATH": str(HERE / "src")})
    try:
        yield sim
    finally:
        sim.stop()


def base_env(home: Path, cache: Path) -> dict[str, str]:
    """An isolated user: nothing from this one's config, data, keyring or temp files."""
    for sub in ("config", "data", "state", "tmp"):
        (home / sub).mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(cache),
        "TMPDIR": str(home / "tmp"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "LANG": "C.UTF-8",
    }


def on_screen(screen: pyte.Screen, text: str) -> bool:
    return any(text in line for line in screen.display)


def has_text(screen: pyte.Screen) -> bool:
    return any(line.strip() for line in screen.display)


class Reader:
    """Reads the pty in a thread of its own and stamps each chunk with when it arrived
    (and the program's CPU by then), so that what the main thread does with the chunks
    (feeding the emulator) neither delays nor is counted against the program."""

    def __init__(self, fd: int, pid: int) -> None:
        self.fd, self.pid = fd, pid
        self.chunks: queue.Queue[tuple[float, float, bytes] | None] = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            readable, _, _ = select.select([self.fd], [], [], 0.05)
            if not readable:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.chunks.put((time.monotonic(), cpu_seconds(self.pid), chunk))
        self.chunks.put(None)


def time_start(program: Program, home: Path) -> Timing:
    """Spawn `program` in a 200x50 pty; seconds to the first text and to its marker."""
    env = {**base_env(home, program.cache), **program.env}
    screen = pyte.Screen(WIDTH, HEIGHT)
    stream = pyte.ByteStream(screen)
    winsize = struct.pack("HHHH", HEIGHT, WIDTH, 0, 0)
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # child: size the terminal, then become the program
        fcntl.ioctl(0, termios.TIOCSWINSZ, winsize)
        if program.stderr is not None:
            os.dup2(os.open(program.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        os.execve(program.command[0], program.command, env)  # noqa: S606 (no shell)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, winsize)
    reader = Reader(fd, pid)
    frame = ready = None
    cpu = 0.0
    received = bytearray()
    chunks: list[tuple[float, float, bytes]] = []
    marker = program.marker.encode()
    parsing = False
    try:
        while ready is None:
            # Only a byte search while the program starts: the emulator runs once the
            # marker has been written, so its parsing takes no CPU from the program.
            try:
                item = reader.chunks.get(timeout=max(0.0, started + TIMEOUT - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                break
            tail = received[-len(marker) :]
            chunks.append(item)
            received.extend(item[2])
            if not parsing and marker not in tail + item[2]:
                continue
            parsing = True  # from now on every chunk is fed as it comes
            for at, cpu_then, chunk in chunks:
                stream.feed(chunk)
                if frame is None and has_text(screen):
                    frame = at - started
                if on_screen(screen, program.marker):
                    ready, cpu = at - started, cpu_then
                    break
            chunks.clear()
        reader.stop.set()
        reader.thread.join()
        if ready is None:
            tail = received[-3000:].decode(errors="replace")
            raise SystemExit(f"{program.name}: no populated screen in {TIMEOUT:.0f} s:\n{tail}")
        quit_program(pid, fd, program.quit_keys)
    finally:
        reader.stop.set()
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return Timing(frame=frame or ready, ready=ready, cpu=cpu)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process, all its threads (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quit_program(pid: int, fd: int, keys: bytes, patience: float = 5.0) -> None:
    """Quit the way a user does (so the demo removes its temporary files), reading the pty
    meanwhile so the program's last writes never block."""
    os.write(fd, keys)
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        readable, _, _ = select.select([fd], [], [], 0.05)
        if readable:
            with contextlib.suppress(OSError):
                os.read(fd, 65536)


def tree_label(tree: Path) -> str:
    """A checkout's directory name and short commit ("+" when its src/ has changes)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(tree), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return tree.name
    return f"{tree.name}@{commit}" + ("+" if dirty else "")


def programs(trees: list[Path], sim: SimProcess, work: Path) -> list[Program]:
    script = work / "bare_app.py"
    script.write_text(BARE_APP)
    python = sys.executable
    result = [Program("bare", [python, str(script)], {}, BARE_MARKER, b"\x11", work / "cache-bare")]
    for tree in trees:
        label = tree_label(tree)
        env = {"PYTHONPATH": str(tree / "src")}
        cache = work / f"cache-{label}"
        argus = [python, "-m", "argus_tui"]
        result.append(
            Program(f"server {label}", argus, {**env, **sim.env()}, DEMO_MARKER, b"q", cache)
        )
        result.append(Program(f"demo {label}", [*argus, "--demo"], env, DEMO_MARKER, b"q", cache))
    return result


def run_all(progs: list[Program], runs: int, work: Path, say: Callable[[str], None]) -> None:
    for program in progs:  # warm-up: .pyc files, the cache directory, the page cache
        with tempfile.TemporaryDirectory(dir=work) as home:
            time_start(program, Path(home))
    for round_no in range(runs):
        shift = round_no % len(progs)
        order = progs[shift:] + progs[:shift]
        line = []
        for program in order:
            with tempfile.TemporaryDirectory(dir=work) as home:
                timing = time_start(program, Path(home))
            program.ready.append(timing.ready)
            program.frame.append(timing.frame)
            program.cpu.append(timing.cpu)
            line.append(f"{program.name} {timing.ready:.3f}")
        say(f"round {round_no + 1}/{runs}: " + ", ".join(line))


def median(values: list[float]) -> float:
    return statistics.median(values)


def report(progs: list[Program], trees: list[Path]) -> dict[str, Any]:
    bare = progs[0]
    rows = []
    for program in progs:
        rows.append(
            {
                "program": program.name,
                "ready_median_s": round(median(program.ready), 3),
                "ready_min_s": round(min(program.ready), 3),
                "ready_max_s": round(max(program.ready), 3),
                "frame_median_s": round(median(program.frame), 3),
                "cpu_median_s": round(median(program.cpu), 3),
                "ratio_to_bare": round(median(program.ready) / median(bare.ready), 2),
            }
        )
    return {
        "runs": len(bare.ready),
        "size": f"{WIDTH}x{HEIGHT}",
        "trees": {tree_label(t): str(t) for t in trees},
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "results": rows,
    }


def table(result: dict[str, Any]) -> str:
    out = [
        f"{result['runs']} runs, {result['size']}, load average before "
        + " ".join(f"{x:.2f}" for x in result["load_average"]),
        "",
        "| program | first populated screen, median s | min-max s | first text s"
        " | CPU by then s | / bare |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["results"]:
        out.append(
            f"| {row['program']} | {row['ready_median_s']:.3f} | {row['ready_min_s']:.3f}-"
            f"{row['ready_max_s']:.3f} | {row['frame_median_s']:.3f} | "
            f"{row['cpu_median_s']:.2f} | {row['ratio_to_bare']:.2f}x |"
        )
    return "\n".join(out)


FIRST_FRAME = "--- first frame ---"
MARKED_ARGUS = f'''\
"""argus, with a line on stderr once Textual has written its first frame.

File descriptor 2 is a file here, for -X importtime; Textual draws on sys.__stderr__,
pointed back at the terminal.
"""

import os
import runpy
import sys

sys.stderr = sys.__stderr__ = os.fdopen(os.dup(1), "w")

from textual.app import App

_display = App._display
_said = []


def _marked(app, screen, renderable):
    _display(app, screen, renderable)
    if not _said:
        _said.append(True)
        os.write(2, b"{FIRST_FRAME}\\n")


App._display = _marked
sys.argv = ["argus", *sys.argv[1:]]
runpy.run_module("argus_tui", run_name="__main__")
'''
#: What a start can do without; their cumulative `-X importtime` is reported.
WATCHED = (
    "requests",
    "urllib3",
    "proxmoxer",
    "websockets",
    "sqlite_utils",
    "dateutil.parser._parser",
    "markdown_it",
    "keyring",
    "cryptography.x509",
    "tomlkit",
    "argus_tui.sim.server",
    "argus_tui.store.sqlite",
)


def imports(progs: list[Program], work: Path) -> str:
    """Each argus program once more under `python -X importtime`, its stderr in a file:
    the modules imported before and after its first frame, and the watched ones' times."""
    script = work / "marked_argus.py"
    script.write_text(MARKED_ARGUS)
    out = ["", "| program | modules before the first frame | watched, before it (ms) | after it |"]
    out.append("|---|---|---|---|")
    for program in progs[1:]:
        trace = work / f"importtime-{len(out)}.txt"
        command = [sys.executable, "-X", "importtime", str(script), *program.command[3:]]
        marked = replace(program, command=command, stderr=trace, ready=[], frame=[], cpu=[])
        for _ in range(2):  # the second, with warm caches, is the one reported
            with tempfile.TemporaryDirectory(dir=work) as home:
                time_start(marked, Path(home))
        before: dict[str, int] = {}
        after: dict[str, int] = {}
        seen = before
        for line in trace.read_text().splitlines():
            if line.startswith(FIRST_FRAME):
                seen = after
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)", line)
            if match:
                seen[match.group(2)] = int(match.group(1))
        said = [f"{n} {before[n] / 1000:.0f}" for n in WATCHED if n in before] or ["none"]
        later = [n for n in WATCHED if n in after] or ["-"]
        out.append(f"| {program.name} | {len(before)} | {', '.join(said)} | {', '.join(later)} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each (default 10)")
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="also time the argus of this checkout (PYTHONPATH=PATH/src); repeatable",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--imports",
        action="store_true",
        help="also run each argus once under -X importtime: what it imports before its first frame",
    )
    args = parser.parse_args()
    extra = [Path(p) for p in os.environ.get("ARGUS_BENCH_TREES", "").split(":") if p]
    trees = [*(t.resolve() for t in [*args.tree, *extra]), HERE]
    sys.setswitchinterval(0.001)  # the reader thread stamps chunks within a millisecond
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="argus-bench-startup-") as tmp, simulator() as sim:
        work = Path(tmp)
        progs = programs(trees, sim, work)

        def say(text: str) -> None:
            print(text, file=sys.stderr, flush=True)

        run_all(progs, args.runs, work, say)
        imported = imports(progs, work) if args.imports else ""
    result = report(progs, trees)
    result["load_average"] = load
    result["load_average_after"] = os.getloadavg()
    print(table(result))
    print("load average after " + " ".join(f"{x:.2f}" for x in result["load_average_after"]))
    if imported:
        print(imported)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
