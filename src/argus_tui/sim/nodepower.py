"""Rebooting and shutting down a node: `POST /nodes/{node}/status`, stopall, startall, HA.

The API call only schedules `(sleep 2; /sbin/reboot)&` and answers null. Then, as
systemd's pve-guests.service does on the way down, a `stopall` task (root@pam) shuts
the node's running guests down, one `qmshutdown`/`vzshutdown` task each; the node goes
offline (calls proxied to it answer 595). HA-managed guests follow the default
`conditional` shutdown policy: a reboot freezes them (they come back with the node), a
shutdown stops them and the HA manager recovers them a little later on the online node
with the most free memory. After a reboot the node is back within a minute (new boot
time, uptime from zero) and a `startall` task starts its `onboot` guests in vmid order,
waiting for each start. A shut-down node stays off.

The node that answered the request going down changes nothing for the simulator: it
serves every node from one server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest, Node, Task
from argus_tui.sim.power import submit
from argus_tui.sim.state import ClusterState, SimError

ROOT = "root@pam"
SLEEP = 2.0  # `(sleep 2; /sbin/reboot)&`
POWER_OFF = 3.0  # seconds from the guests being down to the node being gone
BOOT = (20.0, 35.0)  # seconds a reboot keeps the node offline (firmware, kernel, services)
RECOVERY = 10.0  # seconds until the HA manager recovers a shut-down node's services
STOP_TIMEOUT = 180  # stopall's default shutdown timeout per guest


def node_command(state: ClusterState, node: Node, command: str) -> None:
    """`POST /nodes/{node}/status command=reboot|shutdown`; a second request is a no-op."""
    if node.power:
        return
    state.set_node_power(node, command)
    job = PowerCycle(state, node, command)
    state.schedule(state.now() + SLEEP, job.going_down)


@dataclass
class PowerCycle:
    """One reboot or shutdown of `node`, from stopall to (for a reboot) startall."""

    state: ClusterState
    node: Node
    command: str
    stopping: list[Task] = field(default_factory=list)
    stopall: Task | None = None

    def _guests(self) -> list[Guest]:
        return [g for g in self.state.guests.values() if g.node == self.node.name]

    def going_down(self, at: float) -> None:
        """pve-guests stops: HA guests freeze or stop, every running guest shuts down."""
        state = self.state
        if not self.node.online:
            return
        for guest in self._guests():
            if guest.ha and guest.hastate == "started":
                state.set_hastate(guest, "freeze" if self.command == "reboot" else "stopping")
        task = state.start_task(self.node.name, "stopall", "", ROOT, lines=[], duration=math.inf)
        self.stopall = task
        # stop order: the reverse of the start order (vmid descending)
        for guest in sorted(self._guests(), key=lambda g: -g.vmid):
            if not guest.running:
                continue
            kind = "VM" if guest.type == "qemu" else "CT"
            task.lines.append(
                (
                    at - task.upid.starttime,
                    f"Stopping {kind} {guest.vmid} (timeout = {STOP_TIMEOUT} seconds)",
                )
            )
            try:
                upid = submit(state, guest, "shutdown", ROOT, {"forceStop": 1}, lrm=True)
            except SimError as exc:
                task.lines.append((at - task.upid.starttime, exc.reason))
                continue
            self.stopping.append(state.tasks[upid])
        state.schedule(at + 1.0, self._wait_stopped, task)

    def _wait_stopped(self, at: float) -> None:
        state = self.state
        assert self.stopall is not None
        if any(not t.finished for t in self.stopping):
            state.schedule(at + 1.0, self._wait_stopped, self.stopall)
            return
        state.end_task(self.stopall, at)
        state.schedule(at + POWER_OFF, self._off)

    def _off(self, at: float) -> None:
        state = self.state
        state.node_down(self.node)
        if self.command == "reboot":
            low, high = BOOT
            offline = low + (high - low) * unit(state.seed, self.node.name, f"boot{at}")
            state.schedule(at + offline, self._up)
        else:
            state.set_node_power(self.node, "")
            state.schedule(at + RECOVERY, self._recover)
            for guest in self._guests():
                if guest.ha and guest.hastate == "stopping":
                    state.set_hastate(guest, "recovery")

    def _recover(self, _at: float) -> None:
        """The HA manager starts a shut-down node's services on the freest online node."""
        state = self.state
        for guest in self._guests():
            if not (guest.ha and guest.hastate == "recovery"):
                continue
            target = _freest(state, guest)
            if target is None:
                continue
            state.move_guest(guest, target.name)
            state.set_hastate(guest, "started")
            submit(state, guest, "start", ROOT, {}, lrm=True)

    def _up(self, at: float) -> None:
        """Back from the reboot: frozen HA guests start again, then startall."""
        state = self.state
        state.node_up(self.node, booted=at - 15.0)
        state.set_node_power(self.node, "")
        for guest in self._guests():
            if guest.ha and guest.hastate == "freeze":
                state.set_hastate(guest, "started")
                submit(state, guest, "start", ROOT, {}, lrm=True)
        StartAll(state, self.node.name).start(at + 5.0)


@dataclass
class StartAll:
    """pve-guests at boot: `startall` starts the onboot guests (not HA ones) one by one."""

    state: ClusterState
    node: str
    queue: list[Guest] = field(default_factory=list)
    task: Task | None = None

    def start(self, at: float) -> None:
        self.state.schedule(at, self._begin)

    def _begin(self, at: float) -> None:
        state = self.state
        self.task = state.start_task(self.node, "startall", "", ROOT, lines=[], duration=math.inf)
        self.queue = sorted(
            (
                g
                for g in state.guests.values()
                if g.node == self.node and g.onboot and not g.ha and not g.template
            ),
            key=lambda g: g.vmid,
        )
        self._next(at)

    def _log(self, at: float, text: str) -> None:
        assert self.task is not None
        self.task.lines.append((max(0.0, at - self.task.upid.starttime), text))

    def _next(self, at: float) -> None:
        state, task = self.state, self.task
        assert task is not None
        while self.queue:
            guest = self.queue.pop(0)
            if guest.running:
                continue
            kind = "VM" if guest.type == "qemu" else "CT"
            self._log(at, f"Starting {kind} {guest.vmid}")
            try:
                upid = submit(state, guest, "start", ROOT, {})
            except SimError as exc:
                self._log(at, exc.reason)
                continue
            self._wait(at, state.tasks[upid], kind, guest.vmid)
            return
        state.end_task(task, at)

    def _wait(self, at: float, started: Task, kind: str, vmid: int) -> None:
        assert self.task is not None

        def check(when: float) -> None:
            if not started.finished:
                self.state.schedule(when + 1.0, check, self.task)
                return
            if started.outcome == "error":
                self._log(when, f"Starting {kind} {vmid} failed: {started.exitstatus}")
            self._next(when)

        self.state.schedule(at + 1.0, check, self.task)


def _freest(state: ClusterState, guest: Guest) -> Node | None:
    """The online node with the most free memory (other than the guest's own)."""
    now = state.now()
    best: tuple[float, Node] | None = None
    for node in state.nodes.values():
        if not node.online or node.name == guest.node:
            continue
        free = node.memory - state.usage.node(node, now)["mem"]
        if best is None or free > best[0]:
            best = (free, node)
    return best[1] if best else None
