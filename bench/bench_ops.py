"""How a storage's content with 5,000 backups and a chain of 50 snapshots hold up.

    python bench/bench_ops.py --runs 5 --json ops.json   # 5 TUI runs, 5 of each CLI command
    python bench/bench_ops.py --profile                  # one TUI run under cProfile
    python bench/bench_ops.py --requests-only            # part 4 alone; with PYTHONPATH=OLD/src
                                                         # it runs on trees without storage too
    python bench/bench_ops.py --gc-freeze                # experiment: gc.freeze() after start-up

The cluster is `argus sim --generate nodes=3,guests=200,backups=5000,snapshots=50`
(`--generate` changes it): 5,000 backups spread over the 200 guests on the shared
`nas-backup`, and 50 snapshots in a chain on the first guest (vmid 1000). The simulator
runs as its own process (`argus sim --port 0 --verbose`), so it does not share the app's
GIL, and its request log is what requests are counted from.

1. CLI: the real `argus storage content nas-backup` (`--json` and the text table), a fresh
   process per run: wall time and peak RSS (wait4). In-process: the client's fetch of the
   listing, then the mapping (`services.storage.content` on the recorded answer:
   `volumes_from` and the sort) and the output (JSON, text table) of its items.
2. TUI, under Textual's headless `run_test` at 200x50, one fresh worker process per run:
   the storage screen (`6`), Enter on nas-backup: from the key to the view's first frame
   and to the first frame that shows the rows, where that time goes (mount, the worker's
   listing, the handler, the frame), the event-loop CPU, the longest event-loop stall (a
   5 ms ticker's longest overshoot) and the longest garbage collection meanwhile; then
   `j` and `/` + `web-` + Esc (key to the frame with the result, and the event-loop CPU
   each key causes over 0.3 s); `B` on the first guest (its backups over every backup
   storage); what a content view opened and closed again leaves in memory.
3. The snapshots view (`n` on the first guest): the same as the content view, and `j`.
4. Requests per refresh (ctrl+r, counted from the simulator's log and `PveClient.calls`)
   with the guests screen, the storage screen, the content view and the snapshots view on
   top. A refresh is `/version`, `/cluster/status`, `/cluster/resources` and
   `/access/permissions`; the guests screen adds its details panel's two reads of the
   selected guest (`status/current`, `config`), as it did before storage existed.

Figures are medians over the runs; `min-max` gives the spread. Results: docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import gc
import io
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tui import (  # the sibling benchmark, found through sys.path
    HEIGHT,
    KEY_SETTLE,
    WIDTH,
    Probe,
    SimProcess,
    longest_gap,
    machine,
    ms,
    next_frame,
    peak_rss_mib,
    until,
)

GENERATE = "nodes=3,guests=200,backups=5000,snapshots=50"
STORAGE = "nas-backup"
FIRST_GUEST = 1000  # the generator's first vmid, the one with the snapshot chain
FILTER_TEXT = "web-"  # narrows step by step: w, we, web, web-
OPENS = 3  # times each view is opened per run
REOPENS = 5  # content views opened and closed again, to see what each one leaves behind
REFRESHES = 3  # counted refreshes per screen
SETTLE = 0.6  # after a refresh: the details panel's reads land within this
OPEN_SETTLE = 1.0  # after the key that opens a view: its follow-up work lands within this


# -- the simulator, logging every request -----------------------------------------------------


class OpsSim(SimProcess):
    """`argus sim --generate SPEC --port 0 --verbose`; keeps (time, path) of each request."""

    def __init__(self, spec: str) -> None:
        self.requests: list[tuple[float, str]] = []
        args = [sys.executable, "-m", "argus_tui", "sim", "--port", "0", "--verbose"]
        args += ["--generate", spec]
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
        self.resources: list[float] = []
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            match = re.search(r'"(?:GET|POST|PUT|DELETE) /api2/json(\S*) HTTP', line)
            if match:
                self.requests.append((time.monotonic(), match.group(1).split("?")[0]))

    def since(self, index: int) -> Counter[str]:
        """Requests logged after the first `index`, by path (node and vmid generalised)."""
        paths = [path for _, path in list(self.requests)[index:]]
        return Counter(re.sub(r"/\d+/", "/VMID/", re.sub(r"/nodes/[^/]+", "/nodes/N", p))
                       for p in paths)  # fmt: skip


@contextlib.contextmanager
def simulator(spec: str) -> Iterator[OpsSim]:
    sim = OpsSim(spec)
    try:
        yield sim
    finally:
        sim.stop()


def rss_mib() -> float:
    """VmRSS of this process now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


# -- part 1: the CLI --------------------------------------------------------------------------


def cli_env(sim: OpsSim, home: str) -> dict[str, str]:
    env = {
        "HOME": home,
        "XDG_CONFIG_HOME": f"{home}/config",
        "XDG_DATA_HOME": f"{home}/data",
        "XDG_STATE_HOME": f"{home}/state",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        **sim.env(),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """One fresh `argus ...`: (seconds, peak RSS in KiB, bytes written to stdout)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "argus_tui", *args], env=env, stdout=subprocess.PIPE,
            stderr=errors,
        )  # fmt: skip
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # the rusage of exactly this process
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"argus {' '.join(args)} failed: {errors.read().decode()}")
    return elapsed, usage.ru_maxrss, len(out)


class ContentReplay:
    """The recorded listing, to time `services.storage.content`'s mapping alone."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def storage_content(self, *_args: Any, **_kwargs: Any) -> list[Any]:
        return self.items


def bench_client(sim: OpsSim) -> Any:
    from argus_tui.domain.secret import Secret
    from argus_tui.pve.client import PveClient
    from argus_tui.pve.settings import ConnectionSettings, TlsConfig

    host, _, port = sim.host.rpartition(":")
    return PveClient(
        ConnectionSettings(
            host,
            int(port),
            sim.info["Token id"],
            Secret(sim.info["Token secret"]),
            TlsConfig("fingerprint", fingerprint=sim.info["Fingerprint"]),
        )
    )


def cli_part(sim: OpsSim, runs: int) -> dict[str, Any]:
    from argus_tui.cli.commands.storage import print_content
    from argus_tui.cli.output import print_json
    from argus_tui.services import snapshot as snapshot_service
    from argus_tui.services import storage as storage_service

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as home:
        env = cli_env(sim, home)
        for name, args in (
            ("json", ["storage", "content", STORAGE, "--json"]),
            ("text", ["storage", "content", STORAGE]),
        ):
            samples = [run_cli(args, env) for _ in range(runs)]
            result[f"{name}_wall_s"] = spread([s[0] for s in samples])
            result[f"{name}_peak_rss_mib"] = max(s[1] for s in samples) / 1024
            result[f"{name}_output_kib"] = samples[-1][2] / 1024

    client = bench_client(sim)
    snapshot = snapshot_service.collect(client)
    storage = storage_service.find_storage(snapshot.storages, STORAGE)
    fetch, mapping, as_json, as_text = [], [], [], []
    items: list[Any] = []
    found: Any = None
    for _ in range(runs):
        t0 = time.perf_counter()
        items = client.storage_content(storage.node, storage.storage)
        t1 = time.perf_counter()
        found = storage_service.content(ContentReplay(items), storage)  # type: ignore[arg-type]
        t2 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            print_json([storage_service.volume_json(v) for v in found.volumes])
            t3 = time.perf_counter()
            print_content(snapshot, found.volumes)
        t4 = time.perf_counter()
        fetch.append(t1 - t0)
        mapping.append(t2 - t1)
        as_json.append(t3 - t2)
        as_text.append(t4 - t3)
    client.close()
    result["items"] = len(items)
    result["volumes"] = len(found.volumes)
    result["fetch_ms"] = spread([ms(s) for s in fetch])
    result["map_ms"] = spread([ms(s) for s in mapping])
    result["json_out_ms"] = spread([ms(s) for s in as_json])
    result["text_out_ms"] = spread([ms(s) for s in as_text])
    return result


# -- parts 2-4: the TUI, in-process (in a worker process per run) -----------------------------


class TableLog:
    """Every `VirtualTable.set_keys`: (table id, rows, end time); set_rows goes through it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, float]] = []

    def install(self) -> None:
        from argus_tui.ui.widgets.table import VirtualTable

        log, original = self, VirtualTable.set_keys

        @functools.wraps(original)
        def set_keys(table: Any, keys: Any, cells: Any) -> None:
            original(table, keys, cells)
            log.calls.append((table.id or "", len(keys), time.perf_counter()))

        VirtualTable.set_keys = set_keys  # type: ignore[method-assign]

    def first(self, table: str, after: float, rows: int | None = None) -> float | None:
        """End time of the first update of `table` after `after` (with `rows` rows)."""
        return next(
            (t for name, n, t in self.calls
             if name == table and t >= after and n > 0 and (rows is None or n == rows)),
            None,
        )  # fmt: skip


class Calls:
    """(start, end) of every call of some methods, patched on their class (so instances
    made later count too); the view's steps are read from them."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[float, float, float]]] = {}  # start, end, CPU

    def wrap(self, cls: Any, name: str) -> None:
        original = getattr(cls, name)
        calls = self.calls.setdefault(f"{cls.__name__}.{name}", [])

        @functools.wraps(original)  # Textual counts a handler's parameters through this
        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                calls.append((start, time.perf_counter(), time.thread_time() - cpu))

        setattr(cls, name, timed)

    def first(self, name: str, after: float) -> tuple[float, float, float] | None:
        return next((c for c in self.calls[name] if c[0] >= after), None)


def profile_in_worker(cls: Any, name: str, profiler: cProfile.Profile) -> None:
    """Profile every call of `cls.name` in the thread it runs in (a worker's)."""
    original = getattr(cls, name)

    @functools.wraps(original)
    def profiled(*args: Any, **kwargs: Any) -> Any:
        profiler.enable()  # this thread only
        try:
            return original(*args, **kwargs)
        finally:
            profiler.disable()

    setattr(cls, name, profiled)


class GcLog:
    """Every garbage collection: (start, seconds, generation). A collection holds the GIL,
    so while it runs neither the event loop nor a worker thread moves."""

    def __init__(self) -> None:
        self.collections: list[tuple[float, float, int]] = []
        self.threads: Counter[str] = Counter()  # where the collections of 10 ms or more ran
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._start = now
        else:
            self.collections.append((self._start, now - self._start, info["generation"]))
            if now - self._start >= 0.01:
                main = threading.current_thread() is threading.main_thread()
                self.threads["event loop" if main else "worker thread"] += 1

    def longest(self, start: float, end: float) -> tuple[float, int]:
        """The longest collection that started in [start, end]: (seconds, generation)."""
        inside = [(d, g) for t, d, g in self.collections if start <= t <= end]
        return max(inside, default=(0.0, 0))


class TuiRun:
    """One app under `run_test`; each method measures one view."""

    def __init__(self, sim: OpsSim, profile: bool, freeze: bool = False) -> None:
        from argus_tui.services.guest_snapshots import SnapshotService
        from argus_tui.services.session import Session
        from argus_tui.ui.app import ArgusApp
        from argus_tui.ui.screens.content import ContentScreen
        from argus_tui.ui.screens.snapshots import SnapshotsScreen

        self.sim = sim
        self.probe = Probe()
        self.probe.install()
        self.tables = TableLog()
        self.tables.install()
        self.steps = Calls()
        for cls, names in (
            (ContentScreen, ("on_mount", "on_content_loaded")),
            (SnapshotsScreen, ("on_mount", "on_snapshots_loaded")),
            (Session, ("storage_content",)),  # in the view's worker thread
            (SnapshotService, ("view",)),
        ):
            for name in names:
                self.steps.wrap(cls, name)
        self.client = bench_client(sim)
        # A long interval: the benchmark triggers every refresh itself.
        self.app = ArgusApp(Session(self.client, profile="bench"), interval=3600)
        self.profiler = cProfile.Profile() if profile else None
        self.worker_profiler = cProfile.Profile() if profile else None
        if self.worker_profiler is not None:
            profile_in_worker(Session, "storage_content", self.worker_profiler)
        self.result: dict[str, Any] = {}
        self.idle_cpu_per_s = 0.0
        self.gcs = GcLog()
        self.freeze = freeze  # an experiment: gc.freeze() once the first screen is up

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
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            screen = app.screen
            assert isinstance(screen, GuestsScreen)
            guests = screen.query_one("#guests", VirtualTable)
            await until(lambda: guests.row_count > 0, 60, "the first snapshot")
            await pilot.pause(0.5)  # the details panel of the first row
            cpu0, mark = time.thread_time(), time.perf_counter()
            await asyncio.sleep(0.5)
            self.idle_cpu_per_s = (time.thread_time() - cpu0) / (time.perf_counter() - mark)
            guests.move_to(FIRST_GUEST)
            await pilot.pause(0.4)
            if self.freeze:
                gc.freeze()  # what start-up built is never scanned again
            gc.collect()
            result["gc_objects"] = len(gc.get_objects())
            started = time.perf_counter()
            gc.collect()
            result["gc_full_ms"] = ms(time.perf_counter() - started)

            result["requests_guests"] = await self.count_refreshes()
            await self.snapshots(pilot)
            await pilot.press("6")
            await until(lambda: self.tables.first("storages", 0) is not None, 10, "storages")
            await pilot.pause(0.3)
            result["requests_storage"] = await self.count_refreshes()
            await self.content(pilot)
            await self.guest_backups(pilot)
        result["peak_rss_mib"] = round(peak_rss_mib(), 1)
        result["gc_10ms_on_loop"] = self.gcs.threads["event loop"]
        result["gc_10ms_in_worker"] = self.gcs.threads["worker thread"]
        if self.profiler is not None:
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
            if self.worker_profiler is not None:
                out.write("\n-- the content listings in the worker thread --\n")
                stats = pstats.Stats(self.worker_profiler, stream=out)
                stats.sort_stats("tottime").print_stats(15)
            result["profile"] = out.getvalue()
        return result

    async def count_refreshes(self) -> dict[str, Any]:
        """ctrl+r, REFRESHES times: requests per refresh, by path, and the client's count."""
        per_refresh: list[Counter[str]] = []
        calls = []
        for _ in range(REFRESHES):
            index, before = len(self.sim.requests), self.client.calls
            count = self.app.refreshes
            self.app.action_refresh_now()
            await until(lambda c=count: self.app.refreshes > c, 30, "a refresh")
            await asyncio.sleep(SETTLE)
            per_refresh.append(self.sim.since(index))
            calls.append(self.client.calls - before)
        totals = [sum(c.values()) for c in per_refresh]
        return {
            "per_refresh": totals,
            "client_calls": calls,
            "paths": dict(per_refresh[-1]),
        }

    async def open_view(
        self, pilot: Any, key: str, view: str, load: str, rows: Callable[[], int | None]
    ) -> dict[str, float]:
        """Press `key` to open `view` (its class name), whose worker runs `load`: key to the
        first frame with the rows, its steps, and the longest loop stall meanwhile (ms)."""
        table = {"ContentScreen": "content", "SnapshotsScreen": "snapshots"}[view]
        ticker = asyncio.create_task(longest_gap())
        await asyncio.sleep(0.02)
        mark, cpu0 = time.perf_counter(), time.thread_time()
        with self.profiled():
            await pilot.press(key)  # returns once the app is idle: maybe after the rows

            def shown() -> bool:
                expected = rows()
                return expected is not None and self.tables.first(table, mark, expected) is not None

            await until(shown, 30, f"the rows after {key!r}")
            end = self.tables.first(table, mark, rows())
            assert end is not None
            frame = await next_frame(self.probe, end)
            cpu = await self.settle(mark, cpu0, OPEN_SETTLE)
        ticker.cancel()
        stall = await ticker
        collection, generation = self.gcs.longest(mark, mark + OPEN_SETTLE)
        steps = self.steps
        mounted = steps.first(f"{view}.on_mount", mark)
        loads = [c for c in steps.calls[load] if mark <= c[0] <= end]
        handler = next(c for c in steps.calls[f"{view}.on_{table}_loaded"] if c[0] >= mark)
        assert mounted is not None and loads
        screen_frame = self.probe.first_frame_after(mounted[1])
        assert screen_frame is not None
        return {
            "open_ms": ms(frame[1] - mark),
            "loop_cpu_ms": ms(cpu),  # all the event loop's CPU the key caused
            "mounted_ms": ms(mounted[1] - mark),
            "screen_ms": ms(screen_frame[1] - mark),  # the view's first frame, "loading…"
            "load_ms": ms(loads[-1][1] - loads[0][0]),  # in the worker, listings one by one
            "load_cpu_ms": ms(sum(c[2] for c in loads)),  # the worker thread's own CPU
            "waiting_ms": ms(handler[0] - loads[-1][1]),  # loaded until the handler runs
            "handler_ms": ms(handler[1] - handler[0]),
            "frame_ms": ms(frame[1] - handler[1]),
            "stall_ms": ms(stall),
            "gc_ms": ms(collection),  # the longest garbage collection meanwhile
            "gc_generation": generation,
        }

    def keep(self, prefix: str, opens: list[dict[str, float]]) -> None:
        """Medians of the opens' figures; the stall is the longest of them."""
        for name in opens[0]:
            values = [o[name] for o in opens]
            worst = name in ("stall_ms", "gc_ms", "gc_generation")
            value = max(values) if worst else statistics.median(values)
            self.result[f"{prefix}_{name}"] = value

    async def cursor(self, pilot: Any, prefix: str) -> None:
        """`j`, five times: the first frame after the key, and the event-loop CPU it causes."""
        moves = []
        for _ in range(5):
            mark, cpu0 = time.perf_counter(), time.thread_time()
            with self.profiled():
                await pilot.press("j")
                frame = await next_frame(self.probe, mark)
                cpu = await self.settle(mark, cpu0, KEY_SETTLE)
            moves.append((frame[1] - mark, cpu))
        self.result[f"{prefix}_j_ms"] = ms(statistics.median(m[0] for m in moves))
        self.result[f"{prefix}_j_cpu_ms"] = ms(statistics.median(m[1] for m in moves))

    async def snapshots(self, pilot: Any) -> None:
        """`n` on the first guest, OPENS times; `j` in the last; refreshes with it open."""
        from argus_tui.ui.screens.snapshots import SnapshotsScreen

        def rows() -> int | None:
            screen = self.app.screen
            if not isinstance(screen, SnapshotsScreen) or screen.view is None:
                return None
            return len(screen.view.tree.snapshots) + (screen.view.tree.current is not None)

        opens = []
        for attempt in range(OPENS):
            opens.append(await self.open_view(pilot, "n", "SnapshotsScreen",
                                              "SnapshotService.view", rows))  # fmt: skip
            await pilot.pause(0.3)
            if attempt < OPENS - 1:
                await pilot.press("escape")
                await pilot.pause(0.3)
        self.result["snapshot_rows"] = rows()
        self.keep("snapshots", opens)
        await self.cursor(pilot, "snapshots")
        self.result["requests_snapshots"] = await self.count_refreshes()
        await pilot.press("escape")
        await pilot.pause(0.3)

    def content_rows(self) -> int | None:
        from argus_tui.ui.screens.content import ContentScreen

        screen = self.app.screen
        if not isinstance(screen, ContentScreen) or not screen.loaded:
            return None
        return len(screen.rows)

    async def content(self, pilot: Any) -> None:
        """Enter on nas-backup, OPENS times; `j`, refreshes and the filter in the last."""
        from argus_tui.ui.screens.storage import StorageScreen

        screen, snapshot = self.app.screen, self.app.snapshot
        assert isinstance(screen, StorageScreen) and snapshot is not None
        node = min(s.node for s in snapshot.storages if s.storage == STORAGE)
        opens = []
        for attempt in range(OPENS):
            screen.table.move_to(f"{node}/{STORAGE}")
            await pilot.pause(0.3)
            opened = await self.open_view(
                pilot, "enter", "ContentScreen", "Session.storage_content", self.content_rows
            )
            opens.append(opened)
            await pilot.pause(0.3)
            if attempt < OPENS - 1:
                await pilot.press("escape")
                await pilot.pause(0.3)
        self.result["content_rows"] = self.content_rows()
        self.keep("content", opens)
        await self.cursor(pilot, "content")
        self.result["requests_content"] = await self.count_refreshes()
        await self.filter(pilot)
        await pilot.press("escape")  # back to the storage screen
        await pilot.pause(0.3)
        await self.reopen(pilot, f"{node}/{STORAGE}")

    async def reopen(self, pilot: Any, key: str) -> None:
        """Open and close the content view REOPENS times: what each one leaves behind."""
        from argus_tui.ui.screens.storage import StorageScreen

        screen = self.app.screen
        assert isinstance(screen, StorageScreen)
        marks = []
        for attempt in range(REOPENS + 1):
            if attempt:
                screen.table.move_to(key)
                await pilot.press("enter")
                await until(lambda: self.content_rows() is not None, 30, "the content")
                await pilot.pause(0.3)
                await pilot.press("escape")
                await pilot.pause(0.3)
            gc.collect()
            marks.append((len(gc.get_objects()), rss_mib()))
        self.result["reopen_objects"] = round((marks[-1][0] - marks[0][0]) / REOPENS)
        self.result["reopen_rss_mib"] = round((marks[-1][1] - marks[0][1]) / REOPENS, 2)
        started = time.perf_counter()
        gc.collect()
        self.result["reopen_gc_full_ms"] = ms(time.perf_counter() - started)

    async def filter(self, pilot: Any) -> None:
        """`/` then FILTER_TEXT one key at a time, then Esc; key to the frame with the rows."""
        from argus_tui.services.views import filter_rows
        from argus_tui.ui.screens.content import ContentScreen
        from argus_tui.ui.screens.content_rows import volume_haystack

        screen = self.app.screen
        assert isinstance(screen, ContentScreen)
        guests = {g.vmid: g for g in screen.snapshot.guests} if screen.snapshot else {}
        everyone = list(screen.rows.values())
        await pilot.press("slash")
        await pilot.pause(0.2)
        ticker = asyncio.create_task(longest_gap())
        typing = time.perf_counter()
        keys = []
        for length in range(1, len(FILTER_TEXT) + 1):
            typed = FILTER_TEXT[:length]
            expected = len(filter_rows(everyone, typed, lambda r: volume_haystack(r, guests)))
            mark, cpu0 = time.perf_counter(), time.thread_time()
            with self.profiled():
                await pilot.press(typed[-1])
                await until(
                    lambda m=mark, e=expected: self.tables.first("content", m, e) is not None,
                    10,
                    f"filter {typed!r}",
                )
                end = self.tables.first("content", mark, expected)
                assert end is not None
                frame = await next_frame(self.probe, end)
                cpu = await self.settle(mark, cpu0, KEY_SETTLE)
            keys.append({"text": typed, "rows": expected, "latency_ms": ms(frame[1] - mark),
                         "cpu_ms": ms(cpu)})  # fmt: skip
        mark = time.perf_counter()
        with self.profiled():
            await pilot.press("escape")
            await until(
                lambda: self.tables.first("content", mark, len(everyone)) is not None, 10, "Esc"
            )
            end = self.tables.first("content", mark, len(everyone))
            assert end is not None
            frame = await next_frame(self.probe, end)
        ticker.cancel()
        self.result["filter_keys"] = keys
        self.result["filter_clear_ms"] = ms(frame[1] - mark)
        self.result["typing_stall_ms"] = ms(await ticker)
        self.result["typing_gc_ms"] = ms(self.gcs.longest(typing, time.perf_counter())[0])

    async def guest_backups(self, pilot: Any) -> None:
        """`B` on the first guest: its backups over every backup storage, one listing each."""
        await pilot.press("2")
        await pilot.pause(0.3)
        opened = await self.open_view(
            pilot, "B", "ContentScreen", "Session.storage_content", self.content_rows
        )
        self.result["backups_rows"] = self.content_rows()
        self.keep("backups", [opened])


class RequestsRun(TuiRun):
    """Part 4 alone, with nothing but what Argus had before storage: runs against an older
    tree too (`PYTHONPATH=OLD/src`), for the count before and after."""

    def __init__(self, sim: OpsSim) -> None:  # the parent's, without the views' probes
        from argus_tui.services.session import Session
        from argus_tui.ui.app import ArgusApp

        self.sim = sim
        self.client = bench_client(sim)
        self.app = ArgusApp(Session(self.client, profile="bench"), interval=3600)
        self.result = {}

    async def run(self) -> dict[str, Any]:
        from textual.app import UnknownModeError

        from argus_tui.ui.screens.guests import GuestsScreen

        app, result = self.app, self.result
        async with app.run_test(size=(WIDTH, HEIGHT)) as pilot:
            screen = app.screen
            assert isinstance(screen, GuestsScreen)
            await until(lambda: app.refreshes > 0, 60, "the first snapshot")
            await pilot.pause(0.5)
            result["requests_guests"] = await self.count_refreshes()
            try:
                await app.switch_mode("storage")  # the `6` key, where the tree has it
            except UnknownModeError:
                return result
            await pilot.pause(0.5)
            result["requests_storage"] = await self.count_refreshes()
        return result


def requests_only(spec: str) -> None:
    with simulator(spec) as sim:
        result = asyncio.run(RequestsRun(sim).run())
    for key, value in result.items():
        paths = ", ".join(f"{p} {n}" for p, n in sorted(value["paths"].items()))
        print(f"{key.removeprefix('requests_')}: {value['per_refresh']} requests per refresh,"
              f" PveClient.calls {value['client_calls']}: {paths}")  # fmt: skip


def worker(spec: str, profile: bool, freeze: bool) -> None:
    with simulator(spec) as sim:
        result = asyncio.run(TuiRun(sim, profile, freeze).run())
    print("RESULT " + json.dumps(result))


def run_worker(spec: str, profile: bool, freeze: bool = False) -> dict[str, Any]:
    """One TUI run in a fresh process (so that peak RSS is this run's alone)."""
    args = [sys.executable, __file__, "--worker", "--generate", spec]
    if profile:
        args.append("--profile-worker")
    if freeze:
        args.append("--gc-freeze")
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    raise SystemExit(f"TUI worker failed:\n{proc.stdout}\n{proc.stderr}")


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians (with min and max) of the runs' numbers; the last run's counts by path."""
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = spread([r[key] for r in runs])
        elif key == "filter_keys":
            out[key] = [
                {
                    "text": k["text"],
                    "rows": k["rows"],
                    "latency_ms": spread([r[key][i]["latency_ms"] for r in runs]),
                    "cpu_ms": spread([r[key][i]["cpu_ms"] for r in runs]),
                }
                for i, k in enumerate(value)
            ]
        elif key.startswith("requests_"):
            out[key] = {
                "per_refresh": sorted({n for r in runs for n in r[key]["per_refresh"]}),
                "client_calls": sorted({n for r in runs for n in r[key]["client_calls"]}),
                "paths": value["paths"],
            }
    return out


# -- report -----------------------------------------------------------------------------------


def fig(s: dict[str, float], unit: str = " ms", digits: int = 1) -> str:
    """`median (min-max)`; the spread only where the runs differ."""
    if s["min"] == s["max"]:
        return f"{s['median']:.{digits}f}{unit}"
    return f"{s['median']:.{digits}f}{unit} ({s['min']:.{digits}f}-{s['max']:.{digits}f})"


def cli_tables(cli: dict[str, Any]) -> list[str]:
    out = [
        f"CLI: {cli['volumes']:,} volumes on {STORAGE} ({cli['items']:,} items listed)",
        "",
        "| command | wall | peak RSS | output |",
        "|---|---|---|---|",
    ]
    for name, flag in (("json", " --json"), ("text", "")):
        out.append(
            f"| `argus storage content {STORAGE}{flag}` | {fig(cli[f'{name}_wall_s'], ' s', 2)}"
            f" | {cli[f'{name}_peak_rss_mib']:.0f} MiB | {cli[f'{name}_output_kib']:.0f} KiB |"
        )
    return [
        *out,
        "",
        "| in-process | fetch | map (`storage.content`) | JSON output | text table |",
        "|---|---|---|---|---|",
        f"| {cli['volumes']:,} volumes | {fig(cli['fetch_ms'])} | {fig(cli['map_ms'])}"
        f" | {fig(cli['json_out_ms'])} | {fig(cli['text_out_ms'])} |",
        "",
    ]


VIEWS = (
    ("content", f"content of {STORAGE} (`6`, Enter)"),
    ("backups", "backups of the first guest (`B`)"),
    ("snapshots", "snapshots of the first guest (`n`)"),
)


def tables(cli: dict[str, Any], tui: dict[str, Any]) -> str:
    out = cli_tables(cli) if cli else []
    if not tui:
        return "\n".join(out)
    out += [
        "| view | rows | key to the view (loading…) | key to the rows | event-loop CPU (1 s)"
        " | longest loop stall | longest GC pause | `j`: first frame | `j`: UI CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for prefix, name in VIEWS:
        rows = tui["snapshot_rows" if prefix == "snapshots" else f"{prefix}_rows"]
        cursor = (
            f"{fig(tui[f'{prefix}_j_ms'])} | {fig(tui[f'{prefix}_j_cpu_ms'])}"
            if f"{prefix}_j_ms" in tui
            else "- | -"
        )
        cells = " | ".join(
            fig(tui[f"{prefix}_{k}_ms"]) for k in ("screen", "open", "loop_cpu", "stall", "gc")
        )
        out.append(f"| {name} | {rows['median']:,.0f} | {cells} | {cursor} |")
    out += [
        "",
        "| view: steps after the key | screen mounted | listing fetched and mapped (worker)"
        " | its CPU | waiting for the loop | rows to the table (handler) | then the frame |",
        "|---|---|---|---|---|---|---|",
    ]
    steps = ("mounted", "load", "load_cpu", "waiting", "handler", "frame")
    for prefix, name in VIEWS:
        cells = " | ".join(fig(tui[f"{prefix}_{step}_ms"]) for step in steps)
        out.append(f"| {name} | {cells} |")
    heads = " | ".join(f"`{k['text']}`" for k in tui["filter_keys"])
    cells = " | ".join(
        f"{fig(k['latency_ms'])}; {k['rows']:,} rows; CPU {fig(k['cpu_ms'])}"
        for k in tui["filter_keys"]
    )
    out += [
        "",
        f"| content filter | {heads} | Esc (clear) | longest loop stall while typing"
        " | longest GC pause |",
        "|---|" + "---|" * len(tui["filter_keys"]) + "---|---|---|",
        f"| {tui['content_rows']['median']:,.0f} rows | {cells}"
        f" | {fig(tui['filter_clear_ms'])} | {fig(tui['typing_stall_ms'])}"
        f" | {fig(tui['typing_gc_ms'])} |",
        "",
        "| screen on top | requests per refresh | PveClient.calls per refresh | paths |",
        "|---|---|---|---|",
    ]
    for key, name in (
        ("requests_guests", "guests (`2`, details panel open)"),
        ("requests_snapshots", "snapshots view (`n`)"),
        ("requests_storage", "storage (`6`)"),
        ("requests_content", f"content of {STORAGE}"),
    ):
        r = tui[key]
        paths = ", ".join(f"{p} {n}" for p, n in sorted(r["paths"].items()))
        out.append(
            f"| {name} | {'/'.join(map(str, r['per_refresh']))}"
            f" | {'/'.join(map(str, r['client_calls']))} | {paths} |"
        )
    out += [
        "",
        f"Each content view opened and closed again leaves {fig(tui['reopen_objects'], '', 0)}"
        f" objects and {fig(tui['reopen_rss_mib'], ' MiB', 2)} of RSS behind; after"
        f" {REOPENS} of them a full garbage collection takes {fig(tui['reopen_gc_full_ms'])}.",
        "",
        f"Peak RSS of the TUI worker: {fig(tui['peak_rss_mib'], ' MiB', 0)}"
        f" ({fig(tui['rss_before_app_mib'], ' MiB', 0)} before the app started);"
        f" {fig(tui['gc_objects'], '', 0)} objects tracked by the garbage collector after"
        f" start-up, a full collection of them {fig(tui['gc_full_ms'])}; collections of"
        f" 10 ms or more per run: {fig(tui['gc_10ms_on_loop'], '', 0)} on the event loop,"
        f" {fig(tui['gc_10ms_in_worker'], '', 0)} in worker threads",
    ]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generate", default=GENERATE, help="the simulated cluster")
    parser.add_argument("--runs", type=int, default=3, help="TUI runs (fresh worker each)")
    parser.add_argument("--cli-runs", type=int, default=5, help="runs of each CLI command")
    parser.add_argument("--no-tui", action="store_true", help="the CLI part only")
    parser.add_argument("--no-cli", action="store_true", help="the TUI part only")
    parser.add_argument("--profile", action="store_true", help="one TUI run under cProfile")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="experiment: gc.freeze() after start-up"
    )
    parser.add_argument(
        "--requests-only", action="store_true", help="part 4 alone (runs on older trees too)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.requests_only:
        requests_only(args.generate)
        return
    if args.worker:
        worker(args.generate, args.profile_worker, args.gc_freeze)
        return
    if args.profile:
        result = run_worker(args.generate, True, args.gc_freeze)
        print(result.pop("profile"))
        print(json.dumps(result, indent=2))
        return
    cli: dict[str, Any] = {}
    command = f"argus sim --port 0 --verbose --generate {args.generate}"
    if not args.no_cli:
        print("CLI …", file=sys.stderr, flush=True)
        with simulator(args.generate) as sim:
            cli = cli_part(sim, args.cli_runs)
    runs = []
    if not args.no_tui:
        for n in range(args.runs):
            print(f"TUI run {n + 1}/{args.runs} …", file=sys.stderr, flush=True)
            runs.append(run_worker(args.generate, False, args.gc_freeze))
    tui = merge(runs) if runs else {}
    frozen = "; gc.freeze() after start-up" if args.gc_freeze else ""
    print(f"Operations benchmark, {machine()}, {WIDTH}x{HEIGHT}; {command}{frozen}\n")
    print(tables(cli, tui))
    if args.json:
        raw = {"generate": args.generate, "cli": cli, "tui": tui, "tui_runs": runs}
        Path(args.json).write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
