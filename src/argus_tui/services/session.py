"""A connected session: the client plus what the UI needs to know about it.

The UI gets one `Session` from the CLI and calls its blocking methods from thread
workers only. Refresh timing (interval, back-off after failures) is decided here so it
can be tested without a terminal.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from argus_tui.domain.models import ClusterSnapshot, Entity, Guest, Task
from argus_tui.domain.storage import Storage
from argus_tui.errors import ArgusError
from argus_tui.llm.settings import LlmSettings
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import MappingError, as_float, task_from
from argus_tui.services import maintenance
from argus_tui.services import snapshot as snapshot_service
from argus_tui.services import storage as storage_service
from argus_tui.services import tasks as task_service
from argus_tui.services.backups import BackupService
from argus_tui.services.console import ConsoleService
from argus_tui.services.guest_snapshots import SnapshotService
from argus_tui.services.history import ChangesView, load_changes, usage_rows
from argus_tui.services.maintenance import Addresses, Evacuation, NodePower
from argus_tui.services.migration import MigrationService
from argus_tui.services.power import PowerService
from argus_tui.services.prefetch import Prefetch
from argus_tui.services.recorder import Recorded, Recorder
from argus_tui.services.runner import TaskRunner
from argus_tui.services.storage import Content
from argus_tui.store import HistoryStore

TIMEFRAMES = ("hour", "day", "week")


def history_profile(profile: str | None) -> str:
    """The profile the history files a connection under (a profile-less one: default)."""
    return profile or "default"


@dataclass(frozen=True, slots=True)
class Usage:
    """A graph's rows (None when there are none to show) and why they are partial."""

    rows: list[dict[str, float]] | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class RecentTasks:
    """Newest first across the nodes; warnings name the nodes that could not answer."""

    tasks: tuple[Task, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refresh:
    """One poll: the snapshot, the recent tasks if they were fetched with it, and what
    recording it into the history found (None without a history)."""

    snapshot: ClusterSnapshot
    tasks: RecentTasks | None = None
    recorded: Recorded | None = None


@dataclass(slots=True)
class Backoff:
    """Refresh delays: the interval while healthy, doubling up to a cap after failures."""

    interval: float = 5.0
    cap: float = 30.0  # a cluster back from a reboot is seen within half a minute
    failures: int = 0

    def next_delay(self) -> float:
        if self.failures == 0:
            return self.interval
        return float(min(self.cap, self.interval * 2.0 ** min(self.failures, 10)))

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1


class Session:
    """What the TUI is connected to. Methods block: call them from worker threads.

    Two things make the first screen come sooner (see docs/PERFORMANCE.md, "Start-up"):
    `prefetch` starts the first refresh in a thread while the caller is still importing
    and drawing, and `open_history` lets the history be opened (and the first snapshot
    recorded into it) after that snapshot has been shown, instead of before.
    """

    def __init__(
        self,
        client: PveClient,
        *,
        profile: str | None = None,
        read_only: bool = False,
        colour: str = "",
        demo: bool = False,
        insecure: bool = False,
        history: HistoryStore | None = None,
        open_history: Callable[[], HistoryStore | None] | None = None,
        llm: LlmSettings | None = None,
        llm_problem: str = "",
        backoff: Backoff | None = None,
    ) -> None:
        """`open_history`, given instead of `history`: opens it, on first need (see
        `history_pending`)."""
        self.client = client
        self.profile = profile
        self.read_only = read_only
        self.colour = colour
        self.demo = demo
        self.insecure = insecure
        self.llm = llm  # the assistant's model; None while it is not configured
        self.llm_problem = llm_problem  # why the assistant's settings could not be used
        self.backoff = backoff or Backoff()
        self._history = history
        self._opener = open_history if history is None else None
        self._history_lock = threading.Lock()
        self._unrecorded: ClusterSnapshot | None = None  # shown before the history opened
        self._deferred = Recorded()  # what recording `_unrecorded` found, for the next poll
        self._prefetch: Prefetch | None = None
        self._polled = False  # a refresh has been made (the first one defers the history)
        self._closed = False
        self.runner = TaskRunner(client, profile=self.history_profile, history=history)
        self.power = PowerService(self.runner, read_only=read_only)
        self.snapshots = SnapshotService(self.runner, read_only=read_only)
        self.backups = BackupService(self.runner, read_only=read_only)
        self.migration = MigrationService(self.runner, read_only=read_only)
        self.evacuation = Evacuation(self.migration)
        self.node_power = NodePower(self.runner, read_only)
        self.console = ConsoleService(self.runner)
        self.recorder: Recorder | None = (
            Recorder(history, self.history_profile) if history is not None else None
        )

    @property
    def history_profile(self) -> str:
        return history_profile(self.profile)

    @property
    def history(self) -> HistoryStore | None:
        """The history store, None when it is off. A history not yet opened is opened
        now (blocking, once): the first look at it may come before `open_history`."""
        if self._opener is not None:
            self.open_history()
        return self._history

    @property
    def history_pending(self) -> bool:
        """A history is still to be opened (`open_history`)."""
        return self._opener is not None

    def open_history(self) -> None:
        """Open the history now if it is still to be opened, and record into it what was
        shown before. Blocking (importing the backend, creating the file): call it from a
        worker, after the first snapshot is on screen; the second refresh calls it too."""
        with self._history_lock:
            opener, self._opener = self._opener, None
            if opener is None or self._closed:
                return
            try:
                history = opener()
            except ArgusError as exc:
                self._deferred = Recorded(error=f"history unavailable: {exc}")
                return
            if history is None:
                return
            self._history = history
            self.runner.history = history
            self.recorder = Recorder(history, self.history_profile)
            unrecorded, self._unrecorded = self._unrecorded, None
            if unrecorded is not None:
                # The first snapshot, as of when it was fetched; the tasks come with the
                # next refresh (the recorder has not seen any yet).
                self._deferred = self.recorder.record(unrecorded, None)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the connections (HTTPS, the history database); the session is done."""
        with self._history_lock:
            self._closed = True
            self._opener = None
        if self._prefetch is not None:
            self._prefetch.cancel()
        self.client.close()
        if self._history is not None:
            self._history.close()

    @property
    def address(self) -> str:
        return self.client.settings.address

    @property
    def token_id(self) -> str:
        return self.client.settings.token_id

    def snapshot(self) -> ClusterSnapshot:
        return snapshot_service.collect(self.client)

    def prefetch(self) -> None:
        """Start fetching the first snapshot now (services/prefetch.py), while the caller
        imports and draws; the next `refresh` takes it."""
        if self._prefetch is None:
            self._prefetch = Prefetch(self.snapshot)

    def refresh(self, *, with_tasks: bool = False) -> Refresh:
        """Poll the cluster and record the poll into the history.

        The recent tasks come along when `with_tasks` (a view shows them) or when the
        history is due for them. Raises ArgusError only when the snapshot failed.
        """
        prefetch, self._prefetch = self._prefetch, None
        snapshot = None if prefetch is None else prefetch.result(max_age=self.backoff.interval)
        if snapshot is None:
            snapshot = self.snapshot()
        first, self._polled = not self._polled, True
        with self._history_lock:
            defer = first and self._opener is not None
            if defer:  # recorded by open_history, once the snapshot has been shown
                self._unrecorded = snapshot
        if defer:
            tasks = self._recent_tasks(snapshot) if with_tasks else None
            return Refresh(snapshot, tasks, None)
        self.open_history()  # still to open at the second refresh: open it now
        recorder = self.recorder
        tasks = None
        if with_tasks or (recorder is not None and recorder.tasks_due(snapshot)):
            tasks = self._recent_tasks(snapshot)
        recorded = None
        if recorder is not None:
            recorded = recorder.record(snapshot, None if tasks is None else tasks.tasks)
        if recorded is not None or self._deferred != Recorded():
            recorded = _merged(self._deferred, recorded or Recorded())
            self._deferred = Recorded()
        return Refresh(snapshot, tasks, recorded)

    def _recent_tasks(self, snapshot: ClusterSnapshot) -> RecentTasks:
        nodes = [node.name for node in snapshot.nodes]
        try:
            tasks, warnings = task_service.recent_tasks(self.client, limit=100, nodes=nodes)
        except ArgusError as exc:
            return RecentTasks((), (str(exc),))
        return RecentTasks(tuple(tasks), tuple(warnings))

    def guest_details(self, guest: Guest) -> dict[str, Any]:
        """status/current and config of one guest (fetched lazily, on selection)."""
        entity = Entity.of_guest(guest)
        return {
            "current": self.client.guest_status(entity),
            "config": self.client.guest_config(entity),
        }

    def storage_content(
        self, storage: Storage, *, kind: str | None = None, vmid: int | None = None
    ) -> Content:
        """One storage's volumes (on demand: the refresh never lists content)."""
        return storage_service.content(self.client, storage, kind=kind, vmid=vmid)

    def stop_task(self, task: Task) -> None:
        """Stop a running task (its owner token, or Sys.Modify on its node)."""
        maintenance.stop_task(self.runner, task, read_only=self.read_only)

    def addresses(self, guest: Guest) -> Addresses:
        """The selected guest's addresses, or why there are none (one call)."""
        return maintenance.guest_addresses(self.runner, guest)

    def node_status(self, node: str) -> dict[str, Any]:
        return self.client.node_status(node)

    def recent_tasks(
        self, limit: int = 100, vmid: int | None = None
    ) -> tuple[list[Task], list[str]]:
        return task_service.recent_tasks(self.client, limit=limit, vmid=vmid)

    def task_log(self, task: Task, start: int) -> tuple[list[str], int, Task]:
        """Log lines from `start`, the total so far, and the task's current state."""
        status = self.client.task_status(task.node, task.upid)
        lines, total = self.client.task_log(task.node, task.upid, start, 1000)
        try:
            fresh = task_from({**status, "upid": task.upid})
        except MappingError:
            fresh = task
        if start == 0 and lines == ["no content"] and fresh.running:
            lines, total = [], 0
        return lines, total, fresh

    def rrd(self, entity: Entity, timeframe: str) -> list[dict[str, float]]:
        """rrddata rows of a node or a guest, values as floats."""
        rows: list[dict[str, float]] = []
        for item in self.client.rrddata(entity, timeframe):
            if not isinstance(item, dict):
                continue
            values = ((k, as_float(v)) for k, v in item.items())
            rows.append({k: v for k, v in values if v is not None})
        return rows

    def usage(self, entity: Entity, timeframe: str, totals: dict[str, float]) -> Usage:
        """rrddata extended (or, when the server has none, replaced) by the local history.

        An offline node or a guest whose rrddata cannot be read still shows its curve up to
        its last report. `totals` (memtotal, maxmem, ...) come from the current snapshot,
        since the history keeps used values only. Blocks: call from a worker.
        """
        rrd: list[dict[str, float]] | None = None
        error = ""
        try:
            rrd = self.rrd(entity, timeframe)
        except ArgusError as exc:
            error = str(exc)
        if self.history is None:
            return Usage(rrd, error)
        kind, key = ("node", entity.node) if entity.kind == "node" else ("guest", entity.vmid)
        try:
            merged = usage_rows(
                self.history, self.history_profile, kind, key or 0, timeframe, rrd, totals
            )
        except ArgusError:
            return Usage(rrd, error)  # the history is optional; rrddata alone is still right
        if rrd is None and merged:
            return Usage(merged, error + "; showing Argus's local history")
        return Usage(merged if rrd is not None or merged else None, error)

    def cluster_log(self, limit: int = 100) -> list[dict[str, Any]]:
        return [e for e in self.client.cluster_log(limit) if isinstance(e, dict)]

    # -- the changes view: needs a history (check `history is not None` first) -------------

    def visit_changes(self, window: str, at: float) -> tuple[ChangesView, float | None]:
        """A visit of the changes view: when the user last looked (returned, with the
        changes in `window`), then `at` saved as the new last look."""
        history = self._store()
        last_seen = history.last_seen(self.history_profile)
        history.mark_seen(self.history_profile, at)
        return self.changes(window, last_seen), last_seen

    def changes(self, window: str, last_seen: float | None) -> ChangesView:
        """The changes in a window; "last" means since `last_seen`."""
        return load_changes(self._store(), self.history_profile, window, last_seen=last_seen)

    def mark_seen(self, at: float) -> None:
        """Save `at` as the last look; a read-only or locked history just shows a longer
        "since you last looked" window next time."""
        if self.history is not None:
            with contextlib.suppress(ArgusError):
                self.history.mark_seen(self.history_profile, at)

    def _store(self) -> HistoryStore:
        history = self.history
        if history is None:
            raise ArgusError("history is off")
        return history


def _merged(earlier: Recorded, later: Recorded) -> Recorded:
    """One poll's Recorded with what recording an earlier snapshot found but could not say."""
    if earlier == Recorded():
        return later
    return replace(
        later,
        warnings=(*earlier.warnings, *later.warnings),
        error=later.error or earlier.error,
    )
