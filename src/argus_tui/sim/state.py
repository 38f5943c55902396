"""The simulated cluster: its nodes, guests, storage and tasks, and a controllable clock.

`ClusterState` builds the objects of `model.py` and `storage.py` from a scenario and owns
them. They change only under its lock (API calls and `tick` hold it) and only through its
methods: tasks come and go through `start_task`, `finish_task`, `end_task` and
`stop_task`, guests and volumes through the writers below. Time only moves through the
clock; tasks finish and scheduled steps run lazily when state is next read (`tick`), in
the order of their planned times, so tests that advance the clock see tasks complete
without any background thread.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from argus_tui.domain.upid import UPID
from argus_tui.sim.build import OFFLINE_SINCE, build_guest, build_storages
from argus_tui.sim.clock import SimClock
from argus_tui.sim.console import Consoles
from argus_tui.sim.metrics import Usage, unit
from argus_tui.sim.model import BackupJob, Guest, Node, Snapshot, Task
from argus_tui.sim.permissions import PermissionEngine
from argus_tui.sim.scenario import ROOT_TOKEN_ID, Scenario, TaskSpec, TokenSpec
from argus_tui.sim.storage import Storage, Volume
from argus_tui.sim.task_types import TASK_LOCKS, default_log_line, interrupt_status

__all__ = ["ClusterState", "SimClock", "SimError", "default_log_line", "interrupt_status"]

# pmxcfs status data older than this shows as "unknown", its usage fields dropped.
STALE_AFTER = 300


class SimError(Exception):
    """An API handler failure: HTTP status, reason phrase and optional JSON body."""

    def __init__(
        self, status: int, reason: str, *, body: bool = True, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = body
        self.errors = errors


@dataclass(slots=True)
class _Timer:
    when: float
    seq: int
    action: Callable[[float], None]
    task: Task | None


class ClusterState:
    """A running simulated cluster built from a Scenario."""

    def __init__(self, scenario: Scenario, clock: SimClock | None = None) -> None:
        self.scenario = scenario
        self.clock = clock or SimClock()
        self.seed = scenario.seed
        self.lock = threading.RLock()
        self.fingerprint = ""  # set by the server once its certificate exists
        self._pid = 0x1000 + int(unit(self.seed, "pid") * 0x8000)
        now = self.clock.now()
        self.nodes: dict[str, Node] = {}
        for index, spec in enumerate(scenario.nodes):
            online = spec.status == "online"
            self.nodes[spec.name] = Node(
                name=spec.name,
                online=online,
                cpus=spec.cpus,
                memory=spec.memory,
                disk=spec.disk,
                ip=spec.ip,
                nodeid=index + 1 if scenario.cluster_name else 0,
                boot=now - 86400 * (3 + 60 * unit(self.seed, spec.name, "boot")),
                offline_since=None if online else now - OFFLINE_SINCE,
            )
        built = [
            (g, build_guest(g, self.seed, now, self.nodes[g.node].online)) for g in scenario.guests
        ]
        self.guests: dict[int, Guest] = {guest.vmid: guest for _, guest in built}
        self.usage = Usage(self.seed, now, self.guests)
        # In storage.cfg order, as PVE lists them.
        self.storages: dict[str, Storage] = build_storages(
            scenario.storages, self.nodes, built, self.seed, now
        )
        job_storage = next(
            (s.id for s in self.storages.values() if s.shared and "backup" in s.content),
            next((s.id for s in self.storages.values() if "backup" in s.content), "local"),
        )
        self.backup_jobs = [BackupJob("backup-nightly", "02:30", job_storage)]
        self.tokens: dict[str, TokenSpec] = {t.id: t for t in scenario.tokens}
        if not self.tokens:
            root = TokenSpec(id=ROOT_TOKEN_ID, secret=str(uuid.uuid4()), privsep=False)
            scenario.tokens.append(root)
            self.tokens[root.id] = root
        self.permissions = PermissionEngine(
            roles=scenario.roles,
            users=scenario.users,
            tokens=scenario.tokens,
            acls=scenario.acls,
            pool_members=self.pool_members(),
        )
        self.tasks: dict[str, Task] = {}
        self.task_order: list[str] = []
        self.cluster_log: list[dict[str, object]] = []
        self._running: dict[str, Task] = {}
        self._timers: list[_Timer] = []
        self._timer_seq = 0
        self._due: float | None = None
        self._flocks: dict[str, list[tuple[Task, Callable[[float], None]]]] = {}
        self.consoles = Consoles(self)  # termproxy sessions (text consoles)
        for task_spec in scenario.tasks:
            self._seed_task(task_spec, now - task_spec.ago)

    def _seed_task(self, spec: TaskSpec, start: float) -> None:
        """A task of the scenario's history. One whose `duration` is longer than its `ago`
        is still running at start: its log lines appear over its run, and at its end it
        releases the lock it holds on its guest (a backup's `backup`, ...)."""
        texts = spec.log or [default_log_line(spec.type, spec.id)]
        running = spec.ago < spec.duration
        step = spec.duration / (len(texts) + 1) if running else 0.0
        lines = [(step * i, line) for i, line in enumerate(texts)]
        guest = self.guests.get(int(spec.id)) if spec.id.isdigit() else None
        lock = TASK_LOCKS.get(spec.type)

        def release() -> None:
            if guest is not None and lock and guest.lock == lock:
                self.set_lock(guest, "")

        task = self.start_task(
            spec.node,
            spec.type,
            spec.id,
            spec.user,
            lines=lines,
            duration=spec.duration,
            error=spec.error,
            start=start,
            on_end=release if running else None,
        )
        if not running:
            self.finish_task(task)

    # -- helpers ----------------------------------------------------------------------------

    def pool_members(self) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {pool: [] for pool in self.scenario.pools}
        for guest in self.guests.values():
            if guest.pool:
                members[guest.pool].append(f"/vms/{guest.vmid}")
        return members

    def now(self) -> float:
        """The simulated time; inside a step or a task's end that `tick` runs late, the
        time that step was due, so what it starts begins when it should have."""
        return self._due if self._due is not None else self.clock.now()

    def node_stale(self, node: Node, now: float) -> bool:
        return node.offline_since is not None and now - node.offline_since > STALE_AFTER

    def node_storages(self, node: str | None = None) -> list[tuple[Node, Storage]]:
        """(node, storage) for every storage each node has, node by node in storage.cfg
        order, as PVE lists them; or only `node`'s."""
        return [
            (n, s)
            for n in self.nodes.values()
            if node is None or n.name == node
            for s in self.storages.values()
            if s.available_on(n.name)
        ]

    # -- tasks --------------------------------------------------------------------------------

    def start_task(
        self,
        node: str,
        type_: str,
        id_: str,
        user: str,
        *,
        lines: list[tuple[float, str]],
        duration: float,
        error: str = "",
        on_end: Callable[[], None] | None = None,
        on_abort: Callable[[float], str | None] | None = None,
        start: float | None = None,
    ) -> Task:
        """Fork a worker: a new running task (started now unless `start` says otherwise).

        It ends by itself `duration` simulated seconds later (see `tick`), with `error` as
        its exit status ("" = OK), and then calls `on_end`. A task whose end is not known
        yet (`duration=math.inf`) is ended by one of its scheduled steps with `end_task`.
        `on_abort` undoes its work when `stop_task` kills it, and may return the exit
        status the worker's own signal handling ends with.
        """
        begun = self.now() if start is None else start
        upid = self._new_upid(node, type_, id_, user, begun)
        task = Task(upid=upid, node=node, lines=lines, duration=duration, error=error)
        task.on_end = on_end
        task.on_abort = on_abort
        self.tasks[task.key] = task
        self.task_order.append(task.key)
        self._running[task.key] = task
        self.cluster_log.append(
            {
                "time": upid.starttime,
                "node": node,
                "user": upid.user,
                "tag": "pve-ha-crm" if upid.type.startswith("ha") else "pvedaemon",
                "pid": upid.pid,
                "pri": 6,
                "msg": f"<{upid.user}> starting task {upid}",
            }
        )
        return task

    def finish_task(self, task: Task) -> None:
        """End a task now: exit status, the cluster log's end line, then its `on_end`."""
        task.finished = True
        self._running.pop(task.key, None)
        task.endtime = int(task.upid.starttime + task.duration)
        task.exitstatus = task.error or "OK"
        pri = 3 if task.error else 6
        msg = f"<{task.upid.user}> end task {task.upid} {task.exitstatus}"
        self.cluster_log.append(
            {
                "time": task.endtime,
                "node": task.node,
                "user": task.upid.user,
                "tag": "pvedaemon",
                "pid": task.upid.pid,
                "pri": pri,
                "msg": msg,
            }
        )
        if task.on_end is not None:
            task.on_end()

    def end_task(self, task: Task, at: float, error: str = "") -> None:
        """End a task at the simulated time `at` (a step of a task of unknown length)."""
        if task.finished:
            return
        task.duration = max(0.0, at - task.upid.starttime)
        task.error = error
        self.finish_task(task)

    def stop_task(self, task: Task, *, exitstatus: str | None = None) -> None:
        """Kill a running task, as `DELETE .../tasks/UPID` does: it ends at once.

        Its log keeps what it wrote so far, its planned steps are dropped and `on_abort`
        puts back what it had changed (locks, a stopped guest). The exit status is what
        the worker dies with: `on_abort`'s answer, else by type (`interrupt_status`);
        `exitstatus` overrides both (a node losing power: "unexpected status").
        """
        if task.finished:
            return
        now = self.now()
        elapsed = max(0.0, now - task.upid.starttime)
        self._timers = [t for t in self._timers if t.task is not task]
        task.lines = [(offset, text) for offset, text in task.lines if offset <= elapsed]
        for name in [n for n, queue in self._flocks.items() if any(t is task for t, _ in queue)]:
            self.funlock(name, task, now)
        status = task.on_abort(now) if task.on_abort is not None else None
        task.error = exitstatus or status or interrupt_status(task.upid.type)
        task.duration = elapsed
        task.on_end = None
        self.finish_task(task)

    def schedule(
        self, when: float, action: Callable[[float], None], task: Task | None = None
    ) -> None:
        """Run `action(when)` once the clock reaches `when`; dropped if `task` is stopped."""
        self._timer_seq += 1
        self._timers.append(_Timer(when, self._timer_seq, action, task))

    def tick(self) -> None:
        """Run every step and finish every task whose simulated time has come, in order."""
        now = self.now()
        with self.lock:
            while True:
                timer = min(
                    (t for t in self._timers if t.when <= now),
                    key=lambda t: (t.when, t.seq),
                    default=None,
                )
                task = min(
                    (t for t in self._running.values() if t.upid.starttime + t.duration <= now),
                    key=lambda t: t.upid.starttime + t.duration,
                    default=None,
                )
                if timer is None and task is None:
                    return
                try:
                    if task is None or (
                        timer is not None and timer.when <= task.upid.starttime + task.duration
                    ):
                        assert timer is not None
                        self._timers.remove(timer)
                        self._due = timer.when
                        timer.action(timer.when)
                    else:
                        self._due = task.upid.starttime + task.duration
                        self.finish_task(task)
                finally:
                    self._due = None

    def _next_pid(self) -> int:
        self._pid += 1 + int(unit(self.seed, str(self._pid), "pid") * 40)
        return self._pid

    def _new_upid(self, node: str, type_: str, id_: str, user: str, start: float) -> UPID:
        pid = self._next_pid()
        booted = self.nodes[node].boot
        pstart = int((start - booted) * 100) & 0xFFFFFFFF
        return UPID(node, pid, pstart, int(start), type_, id_, user)

    # -- node-wide locks (vzdump's global lock) --------------------------------------------

    def flock(self, name: str, task: Task, granted: Callable[[float], None]) -> bool:
        """Take the lock `name` for `task`, or queue it: True when it holds the lock now.

        A queued task gets `granted(at)` when the holder releases it.
        """
        queue = self._flocks.setdefault(name, [])
        queue.append((task, granted))
        return len(queue) == 1

    def funlock(self, name: str, task: Task, at: float) -> None:
        """Release (or stop waiting for) `name`; the next waiter gets it at `at`."""
        queue = self._flocks.get(name, [])
        held = bool(queue) and queue[0][0] is task
        queue[:] = [(t, g) for t, g in queue if t is not task]
        if held and queue:
            self.schedule(at, queue[0][1], queue[0][0])

    # -- guests -------------------------------------------------------------------------------

    def set_running(self, guest: Guest, running: bool, *, paused: bool = False) -> None:
        now = self.now()
        was = guest.running
        if running:
            guest.status = "paused" if paused else "running"
            if not was:
                guest.started = now
        else:
            guest.status = "stopped"
            guest.started = None
        if was != guest.running:
            guest.history.append((now, guest.running))

    def set_hastate(self, guest: Guest, hastate: str) -> None:
        """The HA manager's state of an HA-managed guest (started, migrate, freeze...)."""
        guest.hastate = hastate

    def move_guest(self, guest: Guest, node: str, *, disk_storage: str | None = None) -> None:
        """A migration's end: the config file moves to `node`, its local disks with it
        (onto `disk_storage` when the migration mapped them to another storage).

        A running guest now runs in a new process on the target, so its uptime restarts.
        """
        guest.node = node
        if disk_storage:
            guest.disk_storage = disk_storage
        if guest.running:
            guest.started = self.now()
        guest.config_gen += 1

    def set_vmstate(self, guest: Guest, volid: str | None) -> None:
        """The saved RAM of a hibernated VM (`vmstate` in its config), or None."""
        guest.vmstate = volid
        guest.config_gen += 1

    # -- nodes --------------------------------------------------------------------------------

    def node_down(self, node: Node) -> None:
        """The node is off: its running tasks end without a last line, its guests stop."""
        now = self.now()
        node.online = False
        node.offline_since = now
        for task in [t for t in self._running.values() if t.node == node.name]:
            self.stop_task(task, exitstatus="unexpected status")
        for guest in self.guests.values():
            if guest.node == node.name and guest.running:
                self.set_running(guest, False)

    def set_node_power(self, node: Node, command: str) -> None:
        """A reboot or shutdown under way on the node ("" when none)."""
        node.power = command

    def node_up(self, node: Node, booted: float) -> None:
        """The node is back after a boot that began at `booted` (its uptime counts from it)."""
        node.online = True
        node.offline_since = None
        node.boot = booted

    def set_lock(self, guest: Guest, lock: str) -> None:
        """Write `lock` ("" to remove it) into the guest's config."""
        guest.lock = lock
        guest.config_gen += 1

    def put_snapshot(self, guest: Guest, snap: Snapshot) -> None:
        """Add a snapshot section to the guest's config (or replace the one of that name)."""
        guest.snapshots[snap.name] = snap
        guest.config_gen += 1

    def update_snapshot(
        self,
        guest: Guest,
        name: str,
        *,
        snapstate: str | None = None,
        description: str | None = None,
    ) -> None:
        """Set a snapshot's `snapstate` (None = finished) and/or its description."""
        snap = guest.snapshots[name]
        snap.snapstate = snapstate
        if description is not None:
            snap.description = description
        guest.config_gen += 1

    def drop_snapshot(self, guest: Guest, name: str) -> None:
        """Remove a snapshot; its children (and the current state) move to its parent."""
        snap = guest.snapshots.pop(name)
        for other in guest.snapshots.values():
            if other.parent == name:
                other.parent = snap.parent
        if guest.parent == name:
            guest.parent = snap.parent
        guest.config_gen += 1

    def set_parent(self, guest: Guest, name: str | None) -> None:
        """The snapshot the current state descends from (after a snapshot or rollback)."""
        guest.parent = name
        guest.config_gen += 1

    # -- storage ------------------------------------------------------------------------------

    def add_volume(self, storage: Storage, node: str, volume: Volume) -> None:
        storage.on(node).volumes.append(volume)

    def remove_volume(self, storage: Storage, node: str, volid: str) -> None:
        volumes = storage.on(node).volumes
        volumes[:] = [v for v in volumes if v.volid != volid]

    def update_volume(
        self, volume: Volume, *, notes: str | None = None, protected: bool | None = None
    ) -> None:
        if notes is not None:
            volume.notes = notes
        if protected is not None:
            volume.protected = protected
