"""How fast the TUI is at 25, 1,000 and 10,000 guests, and what it writes to the terminal.

Part 1 runs the app in-process under Textual's headless `run_test` (one fresh worker
process per cluster size, so peak memory is per size), against a simulator running as
its own process (`argus sim`), so the simulator does not share the app's GIL:

- time to the first populated guests screen (app start to the first frame that shows
  every guest);
- the cost of one refresh, split into fetch (the four HTTPS calls of a snapshot), map
  (turning the answers into a ClusterSnapshot: `snapshot.collect` replayed on the
  recorded answers), reconcile (`GuestsScreen.show_snapshot`: filter, sort, cells,
  `VirtualTable.set_rows`) and render (the next compositor frame, including encoding
  it to escape sequences as a real terminal driver would);
- `/` filter latency: four characters typed with `pilot.press`, each timed from the
  key to the first frame after the table has its new rows;
- peak RSS (VmHWM) of the worker.

Part 2 runs the real `argus --interval 1` in a pseudo-terminal of 200x50 against
`argus sim --verbose` and counts the bytes the app writes per refresh (refreshes are
counted from the simulator's request log: one `/cluster/resources` per refresh).

    python bench/bench_tui.py                        # 25, 1,000 and 10,000 guests
    python bench/bench_tui.py --sizes 25,1000 --pty-sizes 25 --pty-seconds 6
    python bench/bench_tui.py --profile 10000        # cProfile of reconcile+render and filter

Size 25 is the demo cluster (3 nodes); other sizes are `--generate nodes=50,guests=N`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import fcntl
import io
import json
import os
import platform
import pstats
import pty
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
from pathlib import Path
from typing import Any

FILTER_TEXT = "web-"  # narrows step by step: w, we, web, web-
WIDTH, HEIGHT = 200, 50
NODES = 50
SETTLE = 0.5  # seconds after a refresh in which its follow-up work is counted


# -- the simulator, as its own process --------------------------------------------------------


class SimProcess:
    """`argus sim --port 0 [--generate ...] --verbose`; counts /cluster/resources requests."""

    def __init__(self, guests: int) -> None:
        args = [sys.executable, "-m", "argus_tui", "sim", "--port", "0", "--verbose"]
        if guests != 25:
            args += ["--generate", f"nodes={NODES},guests={guests}"]
        self.command = args
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.info: dict[str, str] = {}
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = re.match(r"\s+(URL|Token id|Token secret|Fingerprint):\s+(\S+)", line)
            if match:
                self.info[match.group(1)] = match.group(2)
            if line.startswith("Press Ctrl+C"):
                break
        if "URL" not in self.info:
            raise SystemExit(f"argus sim did not start: {' '.join(args)}")
        self.resources: list[float] = []  # monotonic times of /cluster/resources requests
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "/cluster/resources" in line:
                self.resources.append(time.monotonic())

    @property
    def host(self) -> str:
        return self.info["URL"].removeprefix("https://").rstrip("/")

    def env(self) -> dict[str, str]:
        return {
            "ARGUS_HOST": self.host,
            "ARGUS_TOKEN_ID": self.info["Token id"],
            "ARGUS_TOKEN_SECRET": self.info["Token secret"],
            "ARGUS_FINGERPRINT": self.info["Fingerprint"],
        }

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@contextlib.contextmanager
def simulator(guests: int) -> Iterator[SimProcess]:
    sim = SimProcess(guests)
    try:
        yield sim
    finally:
        sim.stop()


def peak_rss_mib() -> float:
    """VmHWM of this process (ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- part 1: in-process, headless (runs in a worker process per size) -------------------------


class Probe:
    """Frame timing and bytes: wraps the compositor refresh and the display of each frame.

    The headless driver skips encoding frames into escape sequences; the wrapper does it
    (as the real driver would) so that render times include it and bytes can be counted.
    """

    def __init__(self) -> None:
        self.frames: list[tuple[float, float, int]] = []  # (start, end, bytes)
        self._bytes = 0

    def install(self) -> None:
        from textual.app import App
        from textual.screen import Screen

        probe = self
        refresh = Screen._compositor_refresh
        display = App._display

        def timed_refresh(screen: Any) -> None:
            probe._bytes = 0
            start = time.perf_counter()
            refresh(screen)
            probe.frames.append((start, time.perf_counter(), probe._bytes))

        def encoding_display(app: Any, screen: Any, renderable: Any) -> None:
            if renderable is not None and hasattr(renderable, "render_segments"):
                probe._bytes += len(renderable.render_segments(app.console).encode())
            display(app, screen, renderable)

        Screen._compositor_refresh = timed_refresh  # type: ignore[method-assign]
        App._display = encoding_display  # type: ignore[method-assign]

    def first_frame_after(self, moment: float) -> tuple[float, float, int] | None:
        return next((f for f in self.frames if f[0] >= moment), None)


class Instrument:
    """Wrap a bound method on one instance and record (start, end) of each call."""

    def __init__(self, owner: Any, name: str) -> None:
        self.calls: list[tuple[float, float]] = []
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.calls.append((start, time.perf_counter()))

        setattr(owner, name, wrapper)


class Replay:
    """The four answers of one snapshot, to time `snapshot.collect`'s mapping alone."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def version(self) -> Any:
        return self.answers["version"]

    def cluster_status(self) -> Any:
        return self.answers["cluster_status"]

    def resources(self) -> Any:
        return self.answers["resources"]

    def permissions(self) -> Any:
        return self.answers["permissions"]


def fetch_answers(client: Any) -> dict[str, Any]:
    return {
        "version": client.version(),
        "cluster_status": client.cluster_status(),
        "resources": client.resources(),
        "permissions": client.permissions(),
    }


def perturbed(snapshot: Any, step: int) -> Any:
    """The snapshot with every guest's CPU changed, as if the whole cluster got busier."""
    import dataclasses

    guests = tuple(
        dataclasses.replace(g, cpu=((g.cpu or 0) + 0.07 * (step + 1)) % 1) for g in snapshot.guests
    )
    return dataclasses.replace(snapshot, guests=guests)


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def next_frame(probe: Probe, after: float, timeout: float = 10.0) -> tuple[float, float, int]:
    await wait_for(lambda: probe.first_frame_after(after) is not None, timeout, "a frame")
    frame = probe.first_frame_after(after)
    assert frame is not None
    return frame


async def longest_gap(step: float = 0.005) -> float:
    """Sleep in `step`s until cancelled; return the longest time one sleep took."""
    longest = 0.0
    last = time.perf_counter()
    try:
        while True:
            await asyncio.sleep(step)
            now = time.perf_counter()
            longest = max(longest, now - last - step)
            last = now
    except asyncio.CancelledError:
        return longest


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def measure_in_process(
    sim: SimProcess, guests: int, refreshes: int, profile: bool
) -> dict[str, Any]:
    from argus_tui.domain.secret import Secret
    from argus_tui.pve.client import ConnectionSettings, PveClient, TlsConfig
    from argus_tui.services import snapshot as snapshot_service
    from argus_tui.services.session import Session
    from argus_tui.services.views import filter_rows, guest_haystack
    from argus_tui.ui.app import ArgusApp
    from argus_tui.ui.messages import SnapshotReady
    from argus_tui.ui.screens.guests import GuestsScreen
    from argus_tui.ui.widgets.table import VirtualTable

    probe = Probe()
    probe.install()
    host, _, port = sim.host.rpartition(":")
    client = PveClient(
        ConnectionSettings(
            host,
            int(port),
            sim.info["Token id"],
            Secret(sim.info["Token secret"]),
            TlsConfig("fingerprint", fingerprint=sim.info["Fingerprint"]),
        )
    )
    session = Session(client, profile="bench")
    rss_before = peak_rss_mib()
    result: dict[str, Any] = {"guests": guests}
    # A long interval: the benchmark triggers every refresh itself.
    app = ArgusApp(session, interval=3600)
    started = time.perf_counter()
    async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
        screen = app.screen
        assert isinstance(screen, GuestsScreen)
        table = screen.query_one("#guests", VirtualTable)
        await wait_for(lambda: table.row_count > 0, 60, "the first snapshot")
        populated = time.perf_counter()
        frame = await next_frame(probe, populated)
        result["first_screen_s"] = round(frame[1] - started, 3)
        result["rows"] = table.row_count
        await pilot.pause(0.3)  # let the details fetch of the first row settle

        # -- refreshes: fetch, map, reconcile, render ----------------------------------
        shows = Instrument(screen, "show_snapshot")
        rows = Instrument(screen, "_render_rows")
        samples: dict[str, list[float]] = {
            k: []
            for k in ("fetch", "map", "reconcile", "reconcile_rows", "render", "frame_bytes")
        }
        samples["repaints"] = []
        samples["ui_cpu"] = []
        samples["frames"] = []
        profiler = cProfile.Profile() if profile else None
        # CPU of the event-loop thread while idle, to subtract from "UI CPU per refresh".
        cpu0 = time.thread_time()
        await asyncio.sleep(SETTLE)
        idle_cpu = time.thread_time() - cpu0
        for _ in range(refreshes):
            t0 = time.perf_counter()
            answers = await asyncio.to_thread(fetch_answers, client)
            t1 = time.perf_counter()
            snapshot = snapshot_service.collect(Replay(answers))  # type: ignore[arg-type]
            t2 = time.perf_counter()
            count = app.refreshes
            if profiler:
                profiler.enable()
            mark = time.perf_counter()
            cpu0 = time.thread_time()
            app.post_message(SnapshotReady(snapshot))
            await wait_for(lambda c=count: app.refreshes > c, 10, "the refresh")
            frame = await next_frame(probe, shows.calls[-1][1])
            # Follow-up work (details panel, footer, ...) lands within a few frames.
            await asyncio.sleep(SETTLE - (time.perf_counter() - mark))
            samples["ui_cpu"].append(time.thread_time() - cpu0 - idle_cpu)
            samples["frames"].append(sum(1 for f in probe.frames if f[0] >= mark))
            if profiler:
                profiler.disable()
            start, end = shows.calls[-1]
            assert start >= mark
            samples["fetch"].append(t1 - t0)
            samples["map"].append(t2 - t1)
            samples["reconcile"].append(end - start)
            samples["reconcile_rows"].append(rows.calls[-1][1] - rows.calls[-1][0])
            samples["render"].append(frame[1] - frame[0])
            samples["frame_bytes"].append(frame[2])
            samples["repaints"].append(table.repaints)
        for key in ("fetch", "map", "reconcile", "reconcile_rows", "render", "ui_cpu"):
            result[f"{key}_ms"] = ms(statistics.median(samples[key]))
        result["frame_bytes"] = int(statistics.median(samples["frame_bytes"]))
        result["repaints"] = int(statistics.median(samples["repaints"]))
        result["frames_per_refresh"] = statistics.median(samples["frames"])

        # Worst case: every guest's figures changed, so every visible row is repainted.
        worst = []
        for step in range(3):
            snapshot = perturbed(snapshot, step)
            count = app.refreshes
            app.post_message(SnapshotReady(snapshot))
            await wait_for(lambda c=count: app.refreshes > c, 10, "the refresh")
            frame = await next_frame(probe, shows.calls[-1][1])
            start, end = shows.calls[-1]
            worst.append((end - start, frame[1] - frame[0], table.repaints))
            await pilot.pause(0.05)
        result["worst_reconcile_ms"] = ms(statistics.median(w[0] for w in worst))
        result["worst_render_ms"] = ms(statistics.median(w[1] for w in worst))
        result["worst_repaints"] = int(statistics.median(w[2] for w in worst))

        # The app's own path, end to end: ctrl+r until the new snapshot is on screen.
        # Meanwhile a 5 ms ticker on the event loop records its longest wait: how long a
        # key press could go unanswered while a refresh is in flight (GIL and loop).
        walls = []
        stalls = []
        for _ in range(max(2, refreshes // 2)):
            count = app.refreshes
            ticker = asyncio.create_task(longest_gap())
            await asyncio.sleep(0.02)
            t0 = time.perf_counter()
            app.action_refresh_now()
            await wait_for(lambda c=count: app.refreshes > c, 30, "ctrl+r")
            frame = await next_frame(probe, shows.calls[-1][1])
            walls.append(frame[1] - t0)
            ticker.cancel()
            stalls.append(await ticker)
            await pilot.pause(0.05)
        result["refresh_wall_ms"] = ms(statistics.median(walls))
        result["loop_stall_ms"] = ms(max(stalls))

        # -- `/` filter keystrokes ----------------------------------------------------
        await pilot.press("slash")
        await pilot.pause(0.1)
        keys = []
        typed = ""
        all_guests = list(app.snapshot.guests) if app.snapshot else []
        if profiler:
            profiler.enable()
        for char in FILTER_TEXT:
            typed += char
            expected = len(filter_rows(all_guests, typed, guest_haystack))
            calls = len(rows.calls)
            t0 = time.perf_counter()
            await pilot.press(char)
            await wait_for(
                lambda c=calls, e=expected: len(rows.calls) > c and table.row_count == e,
                10,
                f"filter {typed!r}",
            )
            frame = await next_frame(probe, rows.calls[-1][1])
            keys.append(
                {
                    "text": typed,
                    "rows": expected,
                    "latency_ms": ms(frame[1] - t0),
                    "reconcile_ms": ms(rows.calls[-1][1] - rows.calls[-1][0]),
                    "render_ms": ms(frame[1] - frame[0]),
                }
            )
        # Esc: back to every guest.
        calls = len(rows.calls)
        t0 = time.perf_counter()
        await pilot.press("escape")
        await wait_for(
            lambda: len(rows.calls) > calls and table.row_count == len(all_guests), 10, "clear"
        )
        await pilot.pause(0.2)
        frame = await next_frame(probe, rows.calls[-1][1])
        if profiler:
            profiler.disable()
        result["filter_clear_renders"] = len(rows.calls) - calls
        result["filter_keys"] = keys
        result["filter_max_ms"] = max(k["latency_ms"] for k in keys)
        result["filter_median_ms"] = statistics.median(k["latency_ms"] for k in keys)
        result["filter_clear_ms"] = ms(frame[1] - t0)
        if profiler:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(20)
            result["profile"] = out.getvalue()
    result["rss_before_app_mib"] = round(rss_before, 1)
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return result


def worker(guests: int, refreshes: int, profile: bool) -> None:
    with simulator(guests) as sim:
        result = asyncio.run(measure_in_process(sim, guests, refreshes, profile))
        result["sim_command"] = " ".join(["argus", *sim.command[3:]])
    print("RESULT " + json.dumps(result))


def run_worker(guests: int, refreshes: int, profile: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--worker", str(guests), "--refreshes", str(refreshes)]
    if profile:
        args.append("--profile-worker")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    raise SystemExit(f"worker for {guests} guests failed:\n{proc.stdout}\n{proc.stderr}")


# -- part 2: the real argus in a pty ----------------------------------------------------------


def argus_command() -> list[str]:
    script = Path(sys.executable).with_name("argus")
    return [str(script)] if script.exists() else [sys.executable, "-m", "argus_tui"]


def pty_bytes(guests: int, seconds: float) -> dict[str, Any]:
    """Bytes the real `argus --interval 1` writes to a 200x50 pty per steady-state refresh."""
    with simulator(guests) as sim, tempfile.TemporaryDirectory() as home:
        env = {
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_DATA_HOME": f"{home}/data",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "LANG": "C.UTF-8",
            **sim.env(),
        }
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        command = [*argus_command(), "--interval", "1"]
        pid, fd = pty.fork()
        if pid == 0:  # child: size the terminal, then become argus
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
            os.execve(command[0], command, env)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
        received = bytearray()

        def read_for(duration: float, until: bytes | None = None) -> int:
            """Read for `duration` seconds (or until `until` appears); bytes read."""
            deadline = time.monotonic() + duration
            total = 0
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([fd], [], [], min(left, 0.1))
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                total += len(chunk)
                received.extend(chunk)
                if until is not None and until in received:
                    break
            return total

        try:
            started = time.monotonic()
            read_for(60, until=b"s old")  # the status line says "data Ns old" once data is in
            first = time.monotonic() - started
            if b"s old" not in received:
                raise SystemExit(f"argus showed no data:\n{received[-2000:]!r}")
            read_for(3)  # warm-up: details panel, first refreshes

            def window(duration: float) -> tuple[int, float, int]:
                """Bytes, seconds and refreshes (simulator log) over one counting window."""
                t0 = time.monotonic()
                total = read_for(duration)
                elapsed = time.monotonic() - t0
                count = sum(1 for t in list(sim.resources) if t0 <= t <= t0 + elapsed)
                return total, elapsed, count

            total, elapsed, count = window(seconds)
            os.write(fd, b"d")  # hide the details panel
            read_for(1.5)
            hidden, hidden_elapsed, hidden_count = window(seconds)
            os.write(fd, b"P")  # pause: only the once-a-second status line tick is left
            read_for(1.5)
            idle = read_for(5) / 5
            os.write(fd, b"q")
            read_for(3)
        finally:
            with contextlib.suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            os.close(fd)
        return {
            "guests": guests,
            "first_screen_s": round(first, 2),
            "seconds": round(elapsed, 1),
            "refreshes": count,
            "bytes": total,
            "bytes_per_refresh": round(total / max(1, count)),
            "bytes_per_s": round(total / elapsed),
            "idle_bytes_per_s": round(idle),
            "hidden_refreshes": hidden_count,
            "hidden_bytes_per_refresh": round(hidden / max(1, hidden_count)),
            "hidden_bytes_per_s": round(hidden / hidden_elapsed),
            "sim_command": " ".join(["argus", *sim.command[3:]]),
        }


# -- report -----------------------------------------------------------------------------------


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import textual

    return (
        f"{os.cpu_count()} CPUs, {model or platform.processor()}, {platform.system()} "
        f"{platform.release().split('-')[0]}; Python {platform.python_version()}, "
        f"Textual {textual.__version__}"
    )


def label(guests: int) -> str:
    return "25 (demo)" if guests == 25 else f"{guests:,}"


def tables(results: list[dict[str, Any]], ptys: list[dict[str, Any]]) -> str:
    out = []
    if results:
        out += [
            "| guests | first screen | fetch | map | reconcile | render | refresh wall |"
            " rows repainted | frame | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results:
            out.append(
                f"| {label(r['guests'])} | {r['first_screen_s']:.2f} s | {r['fetch_ms']} ms |"
                f" {r['map_ms']} ms | {r['reconcile_ms']} ms | {r['render_ms']} ms |"
                f" {r['refresh_wall_ms']} ms | {r['repaints']} | {r['frame_bytes'] / 1024:.1f} KiB |"
                f" {r['peak_rss_mib']} MiB |"
            )
        out += [
            "",
            "| guests | " + " | ".join(f"`{FILTER_TEXT[: i + 1]}`" for i in range(len(FILTER_TEXT)))
            + " | Esc (clear) |",
            "|---|" + "---|" * (len(FILTER_TEXT) + 1),
        ]
        for r in results:
            cells = [f"{k['latency_ms']} ms ({k['rows']:,} rows)" for k in r["filter_keys"]]
            out.append(
                f"| {label(r['guests'])} | " + " | ".join(cells) + f" | {r['filter_clear_ms']} ms |"
            )
    if ptys:
        out += [
            "",
            "| guests | refreshes in window | bytes per refresh | bytes/s |"
            " details hidden (`d`): bytes per refresh | bytes/s | paused (`P`) bytes/s |"
            " first screen (pty) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for p in ptys:
            out.append(
                f"| {label(p['guests'])} | {p['refreshes']} in {p['seconds']} s |"
                f" {p['bytes_per_refresh']:,} | {p['bytes_per_s']:,} |"
                f" {p['hidden_bytes_per_refresh']:,} | {p['hidden_bytes_per_s']:,} |"
                f" {p['idle_bytes_per_s']:,} | {p['first_screen_s']:.2f} s |"
            )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="25,1000,10000", help="guest counts, in-process part")
    parser.add_argument("--pty-sizes", default="25,10000", help="guest counts, pty part")
    parser.add_argument("--refreshes", type=int, default=8, help="timed refreshes per size")
    parser.add_argument("--pty-seconds", type=float, default=15, help="counting window (pty)")
    parser.add_argument("--profile", metavar="N", help="cProfile reconcile+render and filter at N")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker, args.refreshes, args.profile_worker)
        return
    if args.profile:
        result = run_worker(int(args.profile), args.refreshes, True)
        print(result.pop("profile"))
        print(json.dumps(result, indent=2))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    pty_sizes = [int(s) for s in args.pty_sizes.split(",") if s.strip()]
    results = []
    for guests in sizes:
        print(f"in-process, {guests} guests …", file=sys.stderr, flush=True)
        results.append(run_worker(guests, args.refreshes, False))
    ptys = []
    for guests in pty_sizes:
        print(f"pty, {guests} guests …", file=sys.stderr, flush=True)
        ptys.append(pty_bytes(guests, args.pty_seconds))
    print(f"TUI benchmark, {machine()}, {WIDTH}x{HEIGHT}\n")
    print(tables(results, ptys))
    if args.json:
        Path(args.json).write_text(json.dumps({"in_process": results, "pty": ptys}, indent=2))


if __name__ == "__main__":
    main()
