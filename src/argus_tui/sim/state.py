"""The simulated cluster: nodes, guests, tasks and a controllable clock.

All mutation goes through `ClusterState` under one lock. Time only moves through the
clock, and tasks finish lazily when state is next read (`tick`), so tests that advance
the clock see tasks complete without any background thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from argus_tui.domain.upid import UPID
from argus_tui.sim.metrics import Profile, rate, unit
from argus_tui.sim.permissions import PermissionEngine
from argus_tui.sim.scenario import ROOT_TOKEN_ID, Scenario, TaskSpec, TokenSpec

STALE_AFTER = 300  # seconds after which pmxcfs data is considered gone (NOTES §e)
OFFLINE_SINCE = 900  # offline nodes in a scenario went away this long before start


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


@dataclass(slots=True)
class Node:
    name: str
    online: bool
    cpus: int
    memory: int
    disk: int
    ip: str
    nodeid: int
    boot: float  # epoch of the last boot
    offline_since: float | None = None


@dataclass(slots=True)
class Guest:
    vmid: int
    type: str  # qemu | lxc
    name: str
    node: str
    status: str  # running | stopped | paused
    cores: int
    memory: int
    disk: int
    tags: list[str]
    pool: str | None
    template: bool
    lock: str
    ha: bool
    fail: dict[str, str]
    started: float | None  # epoch the guest last started, when running
    hastate: str | None = None
    # (epoch, running?) transitions, oldest first, for rrddata of the past.
    history: list[tuple[float, bool]] = field(default_factory=list)
    busy_upid: str | None = None

    @property
    def key(self) -> str:
        return f"{self.type}/{self.vmid}"

    @property
    def running(self) -> bool:
        return self.status in ("running", "paused")

    def running_at(self, t: float) -> bool:
        state = False
        for when, running in self.history:
            if when > t:
                break
            state = running
        return state


@dataclass(slots=True)
class Task:
    upid: UPID
    node: str
    # (seconds after start, line) - lines appear as simulated time passes.
    lines: list[tuple[float, str]]
    duration: float
    error: str  # "" for success
    on_end: Callable[[], None] | None = None
    finished: bool = False
    endtime: int | None = None
    exitstatus: str | None = None
    killed: bool = False

    @property
    def key(self) -> str:
        return str(self.upid)

    def visible_lines(self, now: float) -> list[str]:
        elapsed = now - self.upid.starttime
        if self.finished:
            return [text for _, text in self.lines] + [self._final_line()]
        return [text for offset, text in self.lines if offset <= elapsed]

    def _final_line(self) -> str:
        if self.killed:
            return "TASK ERROR: interrupted by signal"
        if self.exitstatus == "OK":
            return "TASK OK"
        if self.exitstatus and self.exitstatus.startswith("WARNINGS"):
            return f"TASK {self.exitstatus}"
        return f"TASK ERROR: {self.exitstatus}"


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
        self.start_time = now
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
        self.guests: dict[int, Guest] = {}
        for g in scenario.guests:
            running = g.status in ("running", "paused") and not g.template
            node_up = self.nodes[g.node].online
            started = (
                now - 3600 * (1 + 900 * unit(self.seed, str(g.vmid), "up")) if running else None
            )
            history = [(now - 86400 * 400, running)]
            if running and started is not None:
                history = [(now - 86400 * 400, False), (started, True)]
            if not node_up:
                history.append((now - OFFLINE_SINCE, False))
            self.guests[g.vmid] = Guest(
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
        self.tokens: dict[str, TokenSpec] = {t.id: t for t in scenario.tokens}
        if not self.tokens:
            import uuid

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
            self._seed_task(
                task_spec.node,
                task_spec.type,
                task_spec.id,
                task_spec.user,
                now - task_spec.ago,
                task_spec,
            )

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

    def next_pid(self) -> int:
        self._pid += 1 + int(unit(self.seed, str(self._pid), "pid") * 40)
        return self._pid

    def new_upid(self, node: str, type_: str, id_: str, user: str, start: float) -> UPID:
        pid = self.next_pid()
        booted = self.nodes[node].boot
        pstart = int((start - booted) * 100) & 0xFFFFFFFF
        return UPID(node, pid, pstart, int(start), type_, id_, user)

    def _seed_task(
        self, node: str, type_: str, id_: str, user: str, start: float, spec: TaskSpec
    ) -> None:
        upid = self.new_upid(node, type_, id_, user, start)
        lines = [(0.0, line) for line in spec.log] or [(0.0, default_log_line(type_, id_))]
        task = Task(upid=upid, node=node, lines=lines, duration=spec.duration, error=spec.error)
        self._add_task(task)
        self._finish(task)

    def _add_task(self, task: Task) -> None:
        self.tasks[task.key] = task
        self.task_order.append(task.key)
        self.cluster_log.append(
            {
                "time": task.upid.starttime,
                "node": task.node,
                "user": task.upid.user,
                "tag": "pvedaemon" if task.upid.type.startswith(("qm", "vz")) else "pve-ha-crm",
                "pid": task.upid.pid,
                "pri": 6,
                "msg": f"<{task.upid.user}> starting task {task.upid}",
            }
        )

    def _finish(self, task: Task) -> None:
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
                self._finish(task)

    # -- metrics ----------------------------------------------------------------------------

    def guest_cpu(self, guest: Guest, t: float) -> float:
        if guest.status == "paused":
            return 0.0
        return Profile(self.seed, guest.key, 0.02, 0.6).at(t)

    def guest_mem(self, guest: Guest, t: float) -> int:
        frac = Profile(self.seed, guest.key + "/mem", 0.25, 0.85).at(t, "m")
        return int(guest.memory * frac)

    def guest_disk(self, guest: Guest, t: float) -> int:
        if guest.type == "qemu":
            return 0  # QEMU cannot see filesystem usage
        frac = 0.1 + 0.7 * unit(self.seed, guest.key, "disk")
        growth = (t - self.start_time) / (86400 * 365) * 0.05
        return int(guest.disk * min(0.98, frac + max(0.0, growth)))

    def guest_counters(self, guest: Guest, t: float) -> dict[str, int]:
        """Cumulative bytes since the guest started, as status and resources report."""
        if not guest.running or guest.started is None:
            return {"netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
        up = max(0.0, t - guest.started)
        out = {}
        for what, scale in (
            ("netin", 40_000),
            ("netout", 25_000),
            ("diskread", 80_000),
            ("diskwrite", 60_000),
        ):
            avg = scale * (0.2 + unit(self.seed, guest.key, what))
            out[what] = int(avg * up)
        return out

    def guest_rates(self, guest: Guest, t: float) -> dict[str, float]:
        return {
            what: rate(self.seed, guest.key, what, t, scale)
            for what, scale in (
                ("netin", 60_000.0),
                ("netout", 40_000.0),
                ("diskread", 120_000.0),
                ("diskwrite", 90_000.0),
            )
        }

    def node_usage(self, node: Node, t: float) -> dict[str, float]:
        """cpu fraction, mem bytes and root disk bytes of a node at time t."""
        cpu = 0.01 + 0.02 * unit(self.seed, node.name, "os")
        mem = node.memory * (0.06 + 0.04 * unit(self.seed, node.name, "osmem"))
        for guest in self.guests.values():
            if guest.node != node.name or not guest.running_at(t):
                continue
            cpu += self.guest_cpu(guest, t) * guest.cores / max(1, node.cpus)
            mem += self.guest_mem(guest, t)
        base_disk = 0.08 + 0.3 * unit(self.seed, node.name, "root")
        return {
            "cpu": min(1.0, cpu),
            "mem": float(min(node.memory * 0.98, mem)),
            "disk": node.disk * base_disk,
            "iowait": 0.002 + 0.03 * Profile(self.seed, node.name + "/io", 0.0, 1.0).at(t),
        }

    def uptime(self, guest: Guest, now: float) -> int:
        if not guest.running or guest.started is None:
            return 0
        return int(now - guest.started)

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
