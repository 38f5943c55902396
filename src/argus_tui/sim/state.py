"""The simulated cluster: its nodes, guests, storage and tasks, and a controllable clock.

`ClusterState` builds the objects of `model.py` from a scenario and owns them. They
change only under its lock (API calls and `tick` hold it); tasks come and go only through
`start_task`, `finish_task` and `stop_task`. Time only moves through the clock, and tasks
finish lazily when state is next read (`tick`), so tests that advance the clock see tasks
complete without any background thread.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from argus_tui.domain.upid import UPID
from argus_tui.sim.metrics import Usage, unit
from argus_tui.sim.model import BackupJob, Guest, Node, Snapshot, Storage, Task
from argus_tui.sim.permissions import PermissionEngine
from argus_tui.sim.scenario import ROOT_TOKEN_ID, GuestSpec, Scenario, TaskSpec, TokenSpec

# pmxcfs status data older than this shows as "unknown", its usage fields dropped.
STALE_AFTER = 300
OFFLINE_SINCE = 900  # offline nodes in a scenario went away this long before start
# storage.cfg of every simulated node: (id, type, content, shared, capacity in bytes);
# capacity 0 means three times the node's root disk.
STORAGE_CFG: tuple[tuple[str, str, str, bool, int], ...] = (
    ("local", "dir", "iso,vztmpl,backup", False, 100 * 1024**3),
    ("local-lvm", "lvmthin", "images,rootdir", False, 0),
    ("nas-backup", "nfs", "backup,iso", True, 8 * 1024**4),
)


class SimClock:
    """Wall time plus an offset that tests move forward; optionally frozen."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._frozen = frozen
        self._base = time.time() if start is None else start
        self._wall0 = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            if self._frozen:
                return self._base + self._offset
            return self._base + (time.time() - self._wall0) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


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
        self.guests: dict[int, Guest] = {g.vmid: self._guest(g, now) for g in scenario.guests}
        self.usage = Usage(self.seed, now, self.guests)
        # Keyed (node, storage id), node by node in storage.cfg order, as PVE lists them.
        self.storages: dict[tuple[str, str], Storage] = {
            (node.name, sid): self._storage(node, sid, plugin, content, shared, size)
            for node in self.nodes.values()
            for sid, plugin, content, shared, size in STORAGE_CFG
        }
        self.backup_jobs = [BackupJob("backup-nightly", "02:30", "nas-backup")]
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
        for task_spec in scenario.tasks:
            self._seed_task(task_spec, now - task_spec.ago)

    # -- building from the scenario -----------------------------------------------------------

    def _guest(self, g: GuestSpec, now: float) -> Guest:
        running = g.status in ("running", "paused") and not g.template
        node_up = self.nodes[g.node].online
        started = now - 3600 * (1 + 900 * unit(self.seed, str(g.vmid), "up")) if running else None
        history = [(now - 86400 * 400, running)]
        if running and started is not None:
            history = [(now - 86400 * 400, False), (started, True)]
        if not node_up:
            history.append((now - OFFLINE_SINCE, False))
        guest = Guest(
            vmid=g.vmid,
            type=g.type,
            name=g.name,
            node=g.node,
            status=("paused" if g.status == "paused" else g.status)
            if not g.template
            else "stopped",
            cores=g.cores,
            memory=g.memory,
            disk=g.disk,
            tags=list(g.tags),
            pool=g.pool,
            template=g.template,
            lock=g.lock,
            ha=g.ha,
            fail=dict(g.fail),
            started=started,
            hastate=("started" if running else "stopped") if g.ha else None,
            history=history,
        )
        # About half the guests were snapshotted before an OS upgrade a week ago.
        if unit(self.seed, guest.key, "snap") > 0.5:
            snap = Snapshot(
                name="before-upgrade",
                description="before the OS upgrade",
                snaptime=int(now - 86400 * 7),
                vmstate=False,
            )
            guest.snapshots.append(snap)
            guest.parent = snap.name
        return guest

    def _storage(
        self, node: Node, sid: str, plugin: str, content: str, shared: bool, size: int
    ) -> Storage:
        total = size or node.disk * 3
        used = int(total * (0.15 + 0.6 * unit(self.seed, f"{node.name}/{sid}", "used")))
        return Storage(sid, node.name, plugin, content, shared, total, used)

    def _seed_task(self, spec: TaskSpec, start: float) -> None:
        lines = [(0.0, line) for line in spec.log] or [(0.0, default_log_line(spec.type, spec.id))]
        task = self.start_task(
            spec.node,
            spec.type,
            spec.id,
            spec.user,
            lines=lines,
            duration=spec.duration,
            error=spec.error,
            start=start,
        )
        self.finish_task(task)

    # -- helpers ----------------------------------------------------------------------------

    def pool_members(self) -> dict[str, list[str]]:
        members: dict[str, list[str]] = {pool: [] for pool in self.scenario.pools}
        for guest in self.guests.values():
            if guest.pool:
                members[guest.pool].append(f"/vms/{guest.vmid}")
        return members

    def now(self) -> float:
        return self.clock.now()

    def node_stale(self, node: Node, now: float) -> bool:
        return node.offline_since is not None and now - node.offline_since > STALE_AFTER

    def node_storages(self, node: str | None = None) -> list[Storage]:
        """Every node's storages, or one node's, in the order PVE lists them."""
        return [s for s in self.storages.values() if node is None or s.node == node]

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
        start: float | None = None,
    ) -> Task:
        """Fork a worker: a new running task (started now unless `start` says otherwise).

        It ends by itself `duration` simulated seconds later (see `tick`), with `error` as
        its exit status ("" = OK), and then calls `on_end`.
        """
        begun = self.now() if start is None else start
        upid = self._new_upid(node, type_, id_, user, begun)
        task = Task(upid=upid, node=node, lines=lines, duration=duration, error=error)
        task.on_end = on_end
        self.tasks[task.key] = task
        self.task_order.append(task.key)
        self.cluster_log.append(
            {
                "time": upid.starttime,
                "node": node,
                "user": upid.user,
                "tag": "pvedaemon" if upid.type.startswith(("qm", "vz")) else "pve-ha-crm",
                "pid": upid.pid,
                "pri": 6,
                "msg": f"<{upid.user}> starting task {upid}",
            }
        )
        return task

    def finish_task(self, task: Task) -> None:
        """End a task now: exit status, the cluster log's end line, then its `on_end`."""
        task.finished = True
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

    def stop_task(self, task: Task) -> None:
        """Kill a running task, as `DELETE .../tasks/UPID` does: it ends at once, undone."""
        if task.finished:
            return
        task.error = "interrupted by signal"
        task.duration = max(0.0, self.now() - task.upid.starttime)
        task.on_end = None
        self.finish_task(task)

    def tick(self) -> None:
        """Finish every task whose simulated end time has come."""
        now = self.now()
        with self.lock:
            due = [
                t
                for t in self.tasks.values()
                if not t.finished and t.upid.starttime + t.duration <= now
            ]
            for task in sorted(due, key=lambda t: t.upid.starttime + t.duration):
                self.finish_task(task)

    def _next_pid(self) -> int:
        self._pid += 1 + int(unit(self.seed, str(self._pid), "pid") * 40)
        return self._pid

    def _new_upid(self, node: str, type_: str, id_: str, user: str, start: float) -> UPID:
        pid = self._next_pid()
        booted = self.nodes[node].boot
        pstart = int((start - booted) * 100) & 0xFFFFFFFF
        return UPID(node, pid, pstart, int(start), type_, id_, user)

    # -- power ------------------------------------------------------------------------------

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


def default_log_line(type_: str, id_: str) -> str:
    """What a finished PVE task of this type typically logged before its last line."""
    texts = {
        "vzdump": f"INFO: starting new backup job: vzdump {id_} --mode snapshot --storage local",
        "qmstart": f"start VM {id_}: UPID",
        "aptupdate": "starting apt-get update",
        "qmigrate": f"starting migration of VM {id_}",
        "vzcreate": f"extracting archive for CT {id_}",
    }
    return texts.get(type_, f"{type_} {id_}".strip())
