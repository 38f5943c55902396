"""How fast the TUI is at 25, 1,000 and 10,000 guests, and what it writes to the terminal.

Part 1 runs the app in-process under Textual's headless `run_test` at 200x50 (one fresh
worker process per cluster size, so peak memory is per size), against a simulator running
as its own process (`argus sim`), so the simulator does not share the app's GIL:

- time to the first populated guests screen (app start to the first frame that shows
  every guest);
- the cost of one refresh, split into fetch (the four HTTPS calls of a snapshot, to raw
  bytes), decode + map (`snapshot.collect` replayed on those bytes through the client's own
  decoding and mapping; and of it the `/cluster/resources` body alone, bytes to nodes,
  guests and storages), reconcile
  (`GuestsScreen.show_snapshot`: filter, sort, `VirtualTable.set_keys`, visible cells) and render
  (the next compositor frame, encoded to escape sequences as a real driver would), plus
  all event-loop CPU the refresh causes within 0.5 s (details panel, footer, frames);
  the same when every visible row changed; ctrl+r end to end, the longest the event
  loop stalls meanwhile (a 5 ms ticker), and the longest cyclic-GC pause then; the GC
  passes over the older generations in the 0.5 s after a refresh is shown, and the
  longest of them;
- `j` (cursor down) and `/` filter keystrokes (four characters, then Esc): from the key
  to the first frame with the result, and the event-loop CPU each key causes;
- peak RSS (VmHWM) of the worker.

Part 2 runs the real `argus --interval 1` in a pseudo-terminal of 200x50 against
`argus sim --verbose` and counts the bytes the app writes per refresh (refreshes are
counted from the simulator's request log: one `/cluster/resources` per refresh), and
which part of the screen they went to; then again with the details panel hidden (`d`),
and per second with refreshes paused (`P`). Both processes run the `argus_tui` this
interpreter imports: set PYTHONPATH=src to measure a checkout other than the installed one.

    python bench/bench_tui.py                        # 25, 1,000 and 10,000 guests
    python bench/bench_tui.py --sizes 25,1000 --pty-sizes 25 --pty-seconds 6
    python bench/bench_tui.py --profile 10000        # the in-process part under cProfile

Size 25 is the demo cluster (3 nodes); other sizes are `--generate nodes=50,guests=N`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import fcntl
import gc
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

import msgspec

FILTER_TEXT = "web-"  # narrows step by step: w, we, web, web-
WIDTH, HEIGHT = 200, 50
NODES = 50
SETTLE = 0.5  # seconds after a refresh in which its follow-up work is counted
KEY_SETTLE = 0.3  # the same after a key press (the details panel waits 0.25 s)


# -- the simulator, as its own process --------------------------------------------------------


class SimProcess:
    """`argus sim --port 0 [--generate ...] --verbose`; counts /cluster/resources requests."""

    def __init__(self, guests: int, env: dict[str, str] | None = None) -> None:
        args = [sys.executable, "-m", "argus_tui", "sim", "--port", "0", "--verbose"]
        if guests != 25:
            args += ["--generate", f"nodes={NODES},guests={guests}"]
        self.command = args
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
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


PATHS = {
    "version": "/version",
    "cluster_status": "/cluster/status",
    "resources": "/cluster/resources",
    "permissions": "/access/permissions",
}


def fetch_bodies(client: Any) -> dict[str, bytes]:
    """The four answers of one snapshot as raw bytes (the HTTPS part of a refresh)."""
    return {
        key: client._session.get(client.settings.base_url + path).content
        for key, path in PATHS.items()
    }


class Replay:
    """The four recorded bodies served through the client's own decoding and mapping, so
    that `snapshot.collect` on it times decode + map from the raw bytes, without HTTPS."""

    def __init__(self, client: Any, bodies: dict[str, bytes]) -> None:
        self.client = client
        self.bodies = bodies

    def _response(self, key: str) -> Any:
        import requests

        resp = requests.Response()
        resp.status_code, resp.reason, resp._content = 200, "OK", self.bodies[key]
        return resp

    def _data(self, key: str) -> Any:
        return self.client._parse("GET", PATHS[key], self._response(key)).data

    def version(self) -> Any:
        return self._data("version")

    def cluster_status(self) -> Any:
        return self._data("cluster_status")

    def cluster_resources(self) -> Any:
        """Bytes to nodes, guests and storages, as the client maps them."""
        if hasattr(self.client, "_resources_of"):
            return self.client._resources_of(self._response("resources"))
        from argus_tui.pve.mapping import resources_from  # a client before typed decoding

        return resources_from(self.resources())

    def resources(self) -> Any:
        return self._data("resources")

    def permissions(self) -> Any:
        return self._data("permissions")


class GcPauses:
    """The cyclic GC's collections while installed: (generation, wall s, CPU s) of each.

    Wall time is what the event loop waits; CPU time leaves out the scheduler's share on
    a busy machine."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []
        self._start = (0.0, 0.0)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = (time.perf_counter(), time.thread_time())
        else:
            wall, cpu = time.perf_counter() - self._start[0], time.thread_time() - self._start[1]
            self.pauses.append((info["generation"], wall, cpu))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)


def perturbed(snapshot: Any, step: int) -> Any:
    """The snapshot with every guest's CPU changed, as if the whole cluster got busier."""
    import dataclasses

    # A guest is a struct; in checkouts before it became one, a dataclass.
    change = (
        msgspec.structs.replace
        if snapshot.guests and isinstance(snapshot.guests[0], msgspec.Struct)
        else dataclasses.replace
    )
    guests = tuple(change(g, cpu=((g.cpu or 0) + 0.07 * (step + 1)) % 1) for g in snapshot.guests)
    return dataclasses.replace(snapshot, guests=guests)


async def until(condition: Callable[[], bool], limit: float, what: str) -> None:
    """Poll every millisecond until `condition` holds; give up after `limit` seconds."""
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def next_frame(probe: Probe, after: float) -> tuple[float, float, int]:
    """The first frame that started after `after` (waiting for it if need be)."""
    await until(lambda: probe.first_frame_after(after) is not None, 10, "a frame")
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


class InProcess:
    """One app under `run_test`, connected to one simulator; each method measures one thing."""

    def __init__(self, sim: SimProcess, refreshes: int, profile: bool) -> None:
        from argus_tui.domain.secret import Secret
        from argus_tui.pve.client import PveClient
        from argus_tui.pve.settings import ConnectionSettings, TlsConfig
        from argus_tui.services.session import Session
        from argus_tui.ui.app import ArgusApp

        self.probe = Probe()
        self.probe.install()
        host, _, port = sim.host.rpartition(":")
        self.client = PveClient(
            ConnectionSettings(
                host,
                int(port),
                sim.info["Token id"],
                Secret(sim.info["Token secret"]),
                TlsConfig("fingerprint", fingerprint=sim.info["Fingerprint"]),
            )
        )
        # A long interval: the benchmark triggers every refresh itself.
        self.app = ArgusApp(Session(self.client, profile="bench"), interval=3600)
        self.profiler = cProfile.Profile() if profile else None
        self.count = refreshes
        self.result: dict[str, Any] = {}
        self.idle_cpu_per_s = 0.0

    @contextlib.contextmanager
    def profiled(self) -> Iterator[None]:
        if self.profiler is not None:
            self.profiler.enable()
        try:
            yield
        finally:
            if self.profiler is not None:
                self.profiler.disable()

    async def settle(self, mark: float, cpu0: float, seconds: float) -> float:
        """Wait until `seconds` after `mark`; event-loop CPU since `cpu0`, idle CPU removed."""
        await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - mark)))
        return time.thread_time() - cpu0 - self.idle_cpu_per_s * seconds

    async def run(self) -> dict[str, Any]:
        from argus_tui.ui.screens.guests import GuestsScreen
        from argus_tui.ui.widgets.table import VirtualTable

        app, result = self.app, self.result
        result["rss_before_app_mib"] = round(peak_rss_mib(), 1)
        started = time.perf_counter()
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            screen = app.screen
            assert isinstance(screen, GuestsScreen)
            self.screen = screen
            self.table = screen.query_one("#guests", VirtualTable)
            await until(lambda: self.table.row_count > 0, 60, "the first snapshot")
            frame = await next_frame(self.probe, time.perf_counter())
            result["first_screen_s"] = round(frame[1] - started, 3)
            result["rows"] = self.table.row_count
            await pilot.pause(0.5)  # the details panel of the first row
            cpu0, mark = time.thread_time(), time.perf_counter()
            await asyncio.sleep(SETTLE)
            self.idle_cpu_per_s = (time.thread_time() - cpu0) / (time.perf_counter() - mark)

            self.shows = Instrument(screen, "show_snapshot")
            self.renders = Instrument(screen, "_render_rows")
            await self.refreshes()
            await self.worst_case()
            self.snapshot = None  # from here on only the app's own data is alive, as in use
            await self.end_to_end()
            await self.cursor(pilot)
            await self.filter(pilot)
        result["peak_rss_mib"] = round(peak_rss_mib(), 1)
        if self.profiler is not None:
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
            result["profile"] = out.getvalue()
        return result

    async def deliver(self, snapshot: Any) -> tuple[float, tuple[float, float, int]]:
        """Hand a snapshot to the app as its refresh worker would; (mark, first frame)."""
        from argus_tui.services.session import Refresh
        from argus_tui.ui.messages import Refreshed

        shown = len(self.shows.calls)
        mark = time.perf_counter()
        self.app.post_message(Refreshed(self.app.session, Refresh(snapshot)))
        # The screen shows a snapshot from its own queue, a step after the app took it.
        await until(lambda: len(self.shows.calls) > shown, 10, "the refresh")
        return mark, await next_frame(self.probe, self.shows.calls[-1][1])

    async def refreshes(self) -> None:
        """fetch | decode + map | reconcile (show_snapshot) | first frame | event-loop CPU."""
        from argus_tui.services import snapshot as snapshot_service

        keys = ("fetch", "decode_map", "resources", "reconcile", "render", "frame_bytes")
        more = ("resources_cpu", "repaints", "ui_cpu", "frames")
        samples: dict[str, list[float]] = {k: [] for k in (*keys, *more)}
        after: list[tuple[int, float, float]] = []  # older-generation GC passes, settling
        for _ in range(self.count):
            t0 = time.perf_counter()
            bodies = await asyncio.to_thread(fetch_bodies, self.client)
            fetched, cpu = time.perf_counter(), time.thread_time()
            replay = Replay(self.client, bodies)
            replay.cluster_resources()  # first, as in a refresh: right after the fetch
            t1 = time.perf_counter()
            samples["resources_cpu"].append(time.thread_time() - cpu)
            self.snapshot = snapshot_service.collect(replay)  # type: ignore[arg-type]
            t2 = time.perf_counter()
            with self.profiled(), GcPauses() as gcs:
                cpu0 = time.thread_time()
                mark, frame = await self.deliver(self.snapshot)
                # Follow-up work (details panel, footer, ...) lands within a few frames.
                samples["ui_cpu"].append(await self.settle(mark, cpu0, SETTLE))
            after.extend(p for p in gcs.pauses if p[0] >= 1)
            start, end = self.shows.calls[-1]
            samples["fetch"].append(fetched - t0)
            samples["resources"].append(t1 - fetched)
            samples["decode_map"].append(t2 - t1)
            samples["reconcile"].append(end - start)
            samples["render"].append(frame[1] - frame[0])
            samples["frame_bytes"].append(frame[2])
            samples["repaints"].append(self.table.repaints)
            samples["frames"].append(sum(1 for f in self.probe.frames if f[0] >= mark))
        timed = ("fetch", "decode_map", "resources", "resources_cpu", "reconcile", "render")
        for key in (*timed, "ui_cpu"):
            self.result[f"{key}_ms"] = ms(statistics.median(samples[key]))
        for key in ("frame_bytes", "repaints", "frames"):
            self.result[key] = statistics.median(samples[key])
        for generation in (1, 2):
            passes = [p[1] for p in after if p[0] == generation]
            self.result[f"gc{generation}_after_ms"] = ms(max(passes, default=0.0))
            self.result[f"gc{generation}_after_passes"] = len(passes)

    async def worst_case(self) -> None:
        """Every guest's figures changed, so every visible row is repainted."""
        worst = []
        for step in range(3):
            self.snapshot = perturbed(self.snapshot, step)
            _, frame = await self.deliver(self.snapshot)
            start, end = self.shows.calls[-1]
            worst.append((end - start, frame[1] - frame[0], self.table.repaints))
            await asyncio.sleep(SETTLE)
        self.result["worst_reconcile_ms"] = ms(statistics.median(w[0] for w in worst))
        self.result["worst_render_ms"] = ms(statistics.median(w[1] for w in worst))
        self.result["worst_repaints"] = statistics.median(w[2] for w in worst)

    async def end_to_end(self) -> None:
        """ctrl+r until the new snapshot is on screen, through the app's own worker.

        Meanwhile a 5 ms ticker on the event loop records its longest wait: how long a key
        press could go unanswered while a refresh is in flight (GIL and loop together).
        """
        walls, stalls, pauses = [], [], []
        for _ in range(max(2, self.count // 2)):
            shown = len(self.shows.calls)
            ticker = asyncio.create_task(longest_gap())
            await asyncio.sleep(0.02)
            t0 = time.perf_counter()
            with GcPauses() as gcs:
                self.app.action_refresh_now()
                await until(lambda c=shown: len(self.shows.calls) > c, 30, "ctrl+r")
                frame = await next_frame(self.probe, self.shows.calls[-1][1])
            walls.append(frame[1] - t0)
            ticker.cancel()
            stalls.append(await ticker)
            pauses.extend(gcs.pauses)
            await asyncio.sleep(SETTLE)
        self.result["refresh_wall_ms"] = ms(statistics.median(walls))
        self.result["loop_stall_ms"] = ms(max(stalls))
        self.result["loop_stalls_ms"] = [ms(s) for s in stalls]
        self.result["gc_longest_ms"] = ms(max((p[1] for p in pauses), default=0.0))
        self.result["gc_longest_cpu_ms"] = ms(max((p[2] for p in pauses), default=0.0))
        self.result["gc_full"] = sum(1 for p in pauses if p[0] == 2)

    async def cursor(self, pilot: Any) -> None:
        """`j`: the first frame after the key, and all event-loop CPU it causes."""
        moves = []
        for _ in range(5):
            mark, cpu0 = time.perf_counter(), time.thread_time()
            with self.profiled():
                await pilot.press("j")
                frame = await next_frame(self.probe, mark)
                cpu = await self.settle(mark, cpu0, KEY_SETTLE)
            moves.append((frame[1] - mark, cpu))
        self.result["cursor_ms"] = ms(statistics.median(m[0] for m in moves))
        self.result["cursor_cpu_ms"] = ms(statistics.median(m[1] for m in moves))

    async def filter(self, pilot: Any) -> None:
        """`/` then FILTER_TEXT one key at a time, then Esc; key to first frame with the rows."""
        from argus_tui.services.views import filter_rows, guest_haystack

        renders, table = self.renders, self.table
        everyone = list(self.app.snapshot.guests) if self.app.snapshot else []
        await pilot.press("slash")
        await pilot.pause(0.2)
        keys = []
        for length in range(1, len(FILTER_TEXT) + 1):
            typed = FILTER_TEXT[:length]
            expected = len(filter_rows(everyone, typed, guest_haystack))
            calls = len(renders.calls)
            mark, cpu0 = time.perf_counter(), time.thread_time()
            with self.profiled():
                await pilot.press(typed[-1])
                await until(
                    lambda c=calls, e=expected: len(renders.calls) > c and table.row_count == e,
                    10,
                    f"filter {typed!r}",
                )
                frame = await next_frame(self.probe, renders.calls[-1][1])
                cpu = await self.settle(mark, cpu0, KEY_SETTLE)
            start, end = renders.calls[-1]
            keys.append(
                {
                    "text": typed,
                    "rows": expected,
                    "latency_ms": ms(frame[1] - mark),
                    "reconcile_ms": ms(end - start),
                    "render_ms": ms(frame[1] - frame[0]),
                    "cpu_ms": ms(cpu),
                }
            )
        calls = len(renders.calls)
        mark = time.perf_counter()
        with self.profiled():
            await pilot.press("escape")
            await until(
                lambda: len(renders.calls) > calls and table.row_count == len(everyone),
                10,
                "Esc",
            )
            await asyncio.sleep(0.2)  # a second render may follow
            frame = await next_frame(self.probe, renders.calls[-1][1])
        self.result["filter_keys"] = keys
        self.result["filter_clear_ms"] = ms(frame[1] - mark)
        self.result["filter_clear_renders"] = len(renders.calls) - calls


def worker(guests: int, refreshes: int, profile: bool) -> None:
    with simulator(guests) as sim:
        result = {"guests": guests, **asyncio.run(InProcess(sim, refreshes, profile).run())}
        result["sim_command"] = " ".join(["argus", *sim.command[3:]])
    print("RESULT " + json.dumps(result))


def run_worker(guests: int, refreshes: int, profile: bool) -> dict[str, Any]:
    """Part 1 for one size, in a fresh process (so that peak RSS is this size's alone)."""
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


def pty_env(home: str, sim: SimProcess) -> dict[str, str]:
    """A user of its own in a true-colour terminal, pointed at `sim`; PYTHONPATH is kept so
    that another checkout's argus can be measured."""
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
    return env


def spawn_in_pty(command: list[str], env: dict[str, str]) -> tuple[int, int]:
    """`command` in a pseudo-terminal of WIDTH x HEIGHT: (pid, the master's fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: size the terminal, then become argus
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
        os.execve(command[0], command, env)  # noqa: S606 (our own argus, no shell)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
    return pid, fd


DETAILS_WIDTH = 44  # the details panel's width (ui/argus.tcss), on the right of the table
_MOVE_TO = re.compile(rb"\x1b\[(\d+);(\d+)H")


def bytes_by_region(data: bytes) -> dict[str, int]:
    """Where the bytes went: each run after a cursor move (`ESC[row;colH`, which is how
    Textual starts every piece of a frame) is counted to the part of the screen it starts in."""
    counts = dict.fromkeys(("header", "table", "details", "status line", "footer", "other"), 0)
    pieces = _MOVE_TO.split(data)
    counts["other"] += len(pieces[0])
    for index in range(1, len(pieces), 3):
        row, column, run = int(pieces[index]), int(pieces[index + 1]), pieces[index + 2]
        size = len(run) + len(pieces[index]) + len(pieces[index + 1]) + 3
        if row == 1:
            part = "header"
        elif row == HEIGHT - 1:
            part = "status line"
        elif row == HEIGHT:
            part = "footer"
        else:
            part = "details" if column > WIDTH - DETAILS_WIDTH else "table"
        counts[part] += size
    return counts


def pty_bytes(guests: int, seconds: float) -> dict[str, Any]:
    """Bytes the real `argus --interval 1` writes to a 200x50 pty per steady-state refresh."""
    with simulator(guests) as sim, tempfile.TemporaryDirectory() as home:
        pid, fd = spawn_in_pty([*argus_command(), "--interval", "1"], pty_env(home, sim))
        received = bytearray()

        def read_for(duration: float, stop_at: bytes | None = None) -> int:
            """Read for `duration` seconds (or until `stop_at` appears); bytes read."""
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
                if stop_at is not None and stop_at in received:
                    break
            return total

        try:
            started = time.monotonic()
            read_for(60, stop_at=b"s old")  # the status line says "data Ns old" once data is in
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

            start = len(received)
            total, elapsed, count = window(seconds)
            regions = bytes_by_region(bytes(received[start:]))
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
            "region_bytes_per_refresh": {k: round(v / max(1, count)) for k, v in regions.items()},
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
            "| guests | first screen | fetch | decode + map | of it /cluster/resources"
            " | reconcile | first frame | UI CPU per refresh | refresh end to end"
            " | longest loop stall | longest GC pause (its CPU; full passes) | peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| {label(r['guests'])} | {r['first_screen_s']:.2f} s | {r['fetch_ms']} ms"
            f" | {r['decode_map_ms']} ms | {r['resources_ms']} ms | {r['reconcile_ms']} ms"
            f" | {r['render_ms']} ms | {r['ui_cpu_ms']} ms | {r['refresh_wall_ms']} ms"
            f" | {r['loop_stall_ms']} ms | {r['gc_longest_ms']} ms"
            f" ({r['gc_longest_cpu_ms']} ms; {r['gc_full']})"
            f" | {r['peak_rss_mib']:.0f} MiB |"
            for r in results
        ]
        out += [
            "",
            "| guests | reconcile, every row changed | first frame, every row changed"
            " | `j`: first frame | `j`: UI CPU | GC passes in the 0.5 s after a refresh:"
            " middle generation | full |",
            "|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| {label(r['guests'])} | {r['worst_reconcile_ms']} ms | {r['worst_render_ms']} ms"
            f" | {r['cursor_ms']} ms | {r['cursor_cpu_ms']} ms"
            f" | {r['gc1_after_passes']}, longest {r['gc1_after_ms']} ms"
            f" | {r['gc2_after_passes']}, longest {r['gc2_after_ms']} ms |"
            for r in results
        ]
        heads = " | ".join(f"`{FILTER_TEXT[:n]}`" for n in range(1, len(FILTER_TEXT) + 1))
        out += [
            "",
            f"| guests | {heads} | Esc (clear) |",
            "|---|" + "---|" * len(FILTER_TEXT) + "---|",
        ]
        for r in results:
            cells = " | ".join(
                f"{k['latency_ms']} ms ({k['rows']:,} rows; CPU {k['cpu_ms']} ms)"
                for k in r["filter_keys"]
            )
            out.append(f"| {label(r['guests'])} | {cells} | {r['filter_clear_ms']} ms |")
    if ptys:
        out += [
            "",
            "| guests | refreshes counted | bytes per refresh | bytes/s"
            " | details hidden (`d`): bytes per refresh | bytes/s | paused (`P`): bytes/s |",
            "|---|---|---|---|---|---|---|",
        ]
        out += [
            f"| {label(p['guests'])} | {p['refreshes']} in {p['seconds']:.0f} s"
            f" | {p['bytes_per_refresh']:,} | {p['bytes_per_s']:,}"
            f" | {p['hidden_bytes_per_refresh']:,} | {p['hidden_bytes_per_s']:,}"
            f" | {p['idle_bytes_per_s']:,} |"
            for p in ptys
        ]
        parts = list(ptys[0]["region_bytes_per_refresh"])
        out += [
            "",
            "| guests | bytes per refresh, details shown: " + " | ".join(parts) + " |",
            "|---|" + "---|" * len(parts),
        ]
        out += [
            f"| {label(p['guests'])} | "
            + " | ".join(f"{p['region_bytes_per_refresh'][k]:,}" for k in parts)
            + " |"
            for p in ptys
        ]
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
