"""Migrating a guest to another node: the `qmigrate` and `vzmigrate` tasks, and HA's way.

A migration is one task of unknown length whose steps are planned on the state's clock
when it starts, phase by phase as PVE's AbstractMigrate runs them: prepare (lock check,
local devices, the target reachable), phase 1 (the `migrate` lock, local volumes scanned
and, for a stopped guest, copied), phase 2 for a running VM (the disks mirrored when they
are local, then the RAM, with QEMU's progress lines), then the config moves to the target
and the lock goes. Its length grows with the RAM and the local disks' data. A container
migrates stopped: in restart mode it is shut down first and started on the target after.
Every failure ends the task `migration aborted` after a line with the reason, as PVE's
does; a stopped migration leaves the guest on its source, unlocked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from argus_tui.sim.build import backup_data
from argus_tui.sim.metrics import unit
from argus_tui.sim.migration_check import LocalVolume, local_volumes, volume_problem
from argus_tui.sim.migration_log import (
    GIB,
    Line,
    copy_lines,
    end_of,
    hms,
    mirror_done_lines,
    mirror_lines,
    ram_lines,
    stamp,
)
from argus_tui.sim.model import Guest, Task
from argus_tui.sim.state import ClusterState

SSH_TIMEOUT = 3.0  # seconds until `ssh ... /bin/true` gives up on a node that is down
RAM_SPEED = 1.0 * GIB  # bytes/s of a live migration (a 10 GbE link), +/- 20 % per run
DISK_SPEED = 1.0 * GIB  # bytes/s of a storage copy


@dataclass(slots=True)
class Options:
    """A migration's parameters once the API has checked them."""

    target: str
    online: bool = False
    restart: bool = False
    with_local_disks: bool = False
    timeout: int = 180  # lxc restart mode: seconds the shutdown may take
    bwlimit: float | None = None  # KiB/s
    storage_map: dict[str, str] = field(default_factory=dict)  # source sid -> target sid
    conntrack: bool = False  # qemu with-conntrack-state
    force: bool = False  # qemu: migrate a stopped VM with local devices (root@pam, HA)


@dataclass
class Migration:
    """One `qmigrate`/`vzmigrate` task of `guest` to `opts.target`, run by `authid`."""

    state: ClusterState
    guest: Guest
    authid: str
    opts: Options
    on_finish: Callable[[bool], None] | None = None  # called with success when it ends
    task: Task = field(init=False)
    source: str = field(init=False)
    stage: str = "prepare"  # prepare, phase1, phase2, moved
    locked: bool = False
    stopped: bool = False  # a container this run shut down (restart mode)

    @property
    def kind(self) -> str:
        return "VM" if self.guest.type == "qemu" else "CT"

    def start(self) -> str:
        """Fork the worker and plan its run; answers the UPID."""
        state, guest = self.state, self.guest
        self.source = guest.node
        task_type = "qmigrate" if guest.type == "qemu" else "vzmigrate"
        self.task = state.start_task(
            self.source,
            task_type,
            str(guest.vmid),
            self.authid,
            lines=[],
            duration=math.inf,
            on_abort=self._abort,
        )
        t0 = self.task.upid.starttime + 0.2
        if guest.type == "qemu":
            self._plan_qemu(t0)
        else:
            self._plan_lxc(t0)
        return self.task.key

    # -- the log and the steps ---------------------------------------------------------------

    def _say(self, at: float, text: str, *, stamped: bool = True) -> None:
        line = f"{stamp(at)} {text}" if stamped else text
        self.task.lines.append((max(0.0, at - self.task.upid.starttime), line))

    def _emit(self, lines: list[Line]) -> None:
        for at, text, stamped in lines:
            self._say(at, text, stamped=stamped)

    def _at(self, at: float, action: Callable[[float], None]) -> None:
        self.state.schedule(at, action, self.task)

    def _enter(self, at: float, stage: str) -> None:
        self._at(at, lambda _t: setattr(self, "stage", stage))

    def _lock(self, at: float) -> None:
        def lock(_t: float) -> None:
            self.locked = True
            self.state.set_lock(self.guest, "migrate")

        self._at(at, lock)

    def _unlock(self) -> None:
        if self.locked:
            self.locked = False
            self.state.set_lock(self.guest, "")

    def _power(self, at: float, running: bool) -> None:
        def power(_t: float) -> None:
            self.stopped = not running
            self.state.set_running(self.guest, running)

        self._at(at, power)

    def _fail(self, at: float, reason: str) -> None:
        """The task dies: `ERROR: migration aborted (duration ...): <reason>`."""
        self._say(
            at,
            f"ERROR: migration aborted (duration {hms(at - self.task.upid.starttime)}): {reason}",
        )

        def fail(when: float) -> None:
            self._unlock()
            self.state.end_task(self.task, when, "migration aborted")
            self._finished(False)

        self._at(at, fail)

    def _succeed(self, at: float) -> None:
        self._say(
            at, f"migration finished successfully (duration {hms(at - self.task.upid.starttime)})"
        )

        def done(when: float) -> None:
            self._move()
            self._unlock()
            self.state.end_task(self.task, when)
            self._finished(True)

        self._at(at, done)

    def _move(self) -> None:
        """The config moves to the target; local disks land on the mapped storage."""
        guest = self.guest
        if guest.node == self.opts.target:
            return
        mapped = self.opts.storage_map.get(guest.disk_storage)
        if self.state.storages[guest.disk_storage].shared:
            mapped = None  # a shared storage's disks stay where they are
        self.state.move_guest(guest, self.opts.target, disk_storage=mapped)

    def _finished(self, ok: bool) -> None:
        if self.on_finish is not None:
            self.on_finish(ok)

    def _prepare_problem(self) -> str:
        """What prepare dies with before phase 1 ("" when it passes)."""
        guest = self.guest
        if guest.lock:
            return f"{self.kind} is locked ({guest.lock})"
        if (
            guest.type == "qemu"
            and guest.local_resources
            and (guest.running or not self.opts.force)
        ):
            return f"can't migrate VM which uses local devices: {', '.join(guest.local_resources)}"
        if guest.type == "lxc" and guest.running and self.opts.online:
            return "lxc live migration is currently not implemented"
        if not self.state.nodes[self.opts.target].online:
            return "Can't connect to destination address using public key"
        return ""

    def _speed(self, base: float) -> float:
        factor = 0.8 + 0.4 * unit(self.state.seed, f"{self.guest.key}/{self.task.upid}", "mig")
        speed = base * factor
        if self.opts.bwlimit:
            speed = min(speed, self.opts.bwlimit * 1024)
        return speed

    def _copy(self, start: float, volume: LocalVolume) -> float:
        """An offline copy of one local volume; answers when it is done."""
        data = backup_data(self.state.seed, self.guest, start) if volume.drivename else 0
        lines = copy_lines(
            start, volume.volid, self._new_volid(volume), data, self._speed(DISK_SPEED)
        )
        self._emit(lines)
        return end_of(lines, start)

    def _new_volid(self, volume: LocalVolume) -> str:
        target = self.opts.storage_map.get(volume.storage, volume.storage)
        return f"{target}:{volume.volid.split(':', 1)[1]}"

    # -- qemu ------------------------------------------------------------------------------

    def _plan_qemu(self, t: float) -> None:
        guest, opts, state = self.guest, self.opts, self.state
        vmid, running = guest.vmid, guest.running
        if running and state.scenario.pve_major >= 9 and not opts.conntrack:
            self._say(
                t,
                "conntrack state migration not supported or disabled, active connections"
                " might get dropped",
            )
        problem = self._prepare_problem()
        if problem:
            wait = SSH_TIMEOUT if problem.startswith("Can't connect") else 0.0
            self._fail(t + wait, problem)
            return
        if guest.local_resources:
            self._say(t, "migrating VM which uses local devices")
        target = state.nodes[opts.target]
        t += 0.3
        self._enter(t, "phase1")
        self._lock(t)
        self._say(t, f"starting migration of VM {vmid} to node '{target.name}' ({target.ip})")
        volumes = local_volumes(state, guest)
        errors = {}
        for volume in volumes:
            problem = volume_problem(state, guest, volume, running)
            if running and volume.ref == "attached" and not opts.with_local_disks:
                problem = "can't live migrate attached local disks without with-local-disks option"
            if problem:
                errors[volume.volid] = problem
            shown = "attached" if volume.ref == "attached" else "referenced by snapshot(s)"
            self._say(t, f"found local disk '{volume.volid}' ({shown})")
        for volid, problem in errors.items():
            self._say(t, f"can't migrate local disk '{volid}': {problem}")
        if errors:
            reason = "Problem found while scanning volumes - can't migrate VM - check log"
            self._say(t, f"ERROR: {reason}")
            self._say(t, "aborting phase 1 - cleanup resources")
            self._fail(t + 0.4, reason)
            return
        t += 0.2
        copies = [v for v in volumes if not running or v.ref != "attached"]
        if copies:
            self._say(t, "copying local disk images")
            for volume in copies:
                t = self._copy(t, volume)
                self._say(
                    t, f"volume '{volume.volid}' is '{self._new_volid(volume)}' on the target"
                )
        if running:
            t = self._plan_live(t, [v for v in volumes if v.ref == "attached"])
        self._succeed(t + 0.5)

    def _plan_live(self, t: float, mirrored: list[LocalVolume]) -> float:
        """Phase 2: QEMU started on the target, disks mirrored, the RAM sent over."""
        guest, vmid, seed = self.guest, self.guest.vmid, self.state.seed
        self._enter(t, "phase2")
        self._say(t, f"starting VM {vmid} on remote node '{self.opts.target}'")
        t += 1.5
        for volume in mirrored:
            self._say(t, f"volume '{volume.volid}' is '{self._new_volid(volume)}' on the target")
        self._say(t, "start remote tunnel")
        self._say(t, "ssh tunnel ver 1")
        drives = [v.drivename or "scsi0" for v in mirrored]
        if mirrored:
            data = backup_data(seed, guest, t)
            sizes = [(d, v.size, data) for d, v in zip(drives, mirrored, strict=True)]
            lines = mirror_lines(t, vmid, sizes, self._speed(DISK_SPEED))
            self._emit(lines)
            t = end_of(lines, t) + 0.2
        downtime = 30 + int(60 * unit(seed, str(self.task.upid), "down"))
        speed = self._speed(RAM_SPEED)
        lines = ram_lines(t, vmid, guest.memory, speed, downtime, bool(self.opts.bwlimit))
        self._emit(lines)
        t = end_of(lines, t)
        if mirrored:
            lines = mirror_done_lines(t, drives)
            self._emit(lines)
            t = end_of(lines, t)
        return t + 0.3

    # -- lxc -------------------------------------------------------------------------------

    def _plan_lxc(self, t: float) -> None:
        guest, opts, state = self.guest, self.opts, self.state
        vmid = guest.vmid
        problem = self._prepare_problem()
        if problem:
            wait = SSH_TIMEOUT if problem.startswith("Can't connect") else 0.0
            self._fail(t + wait, problem)
            return
        restart = guest.running and opts.restart
        if restart:
            self._say(t, f"shutdown CT {vmid}")
            t += min(float(opts.timeout), 3.0 + 3.0 * unit(state.seed, guest.key, "ctdown"))
            self._power(t, False)
        target = state.nodes[opts.target]
        t += 0.2
        self._enter(t, "phase1")
        self._lock(t)
        self._say(t, f"starting migration of CT {vmid} to node '{target.name}' ({target.ip})")
        volumes = local_volumes(state, guest)
        storage = state.storages[guest.disk_storage]
        if storage.shared:
            volid, _ = storage.disk_volume(vmid, "lxc", guest.template)
            self._say(t, f"volume '{volid}' is on shared storage '{storage.id}'")
        errors = {v.volid: volume_problem(state, guest, v, False) for v in volumes}
        errors = {volid: text for volid, text in errors.items() if text}
        for volume in volumes:
            self._say(t, f"found local volume '{volume.volid}' (in current VM config)")
        for volid, text in errors.items():
            self._say(t, f"can't migrate local volume '{volid}': {text}")
        if errors:
            self._say(t, "ERROR: can't migrate CT - check log")
            self._say(t, "aborting phase 1 - cleanup resources")
            self._final_on_source(t, restart)
            self._fail(t + 0.5, "can't migrate CT - check log")
            return
        for volume in volumes:
            t = self._copy(t, volume)
        t += 0.3
        self._enter(t, "moved")
        self._at(t, lambda _t: self._move())
        self._say(t, "start final cleanup")
        if restart:
            self._say(t, "start container on target node")
            t += 1.0 + unit(state.seed, guest.key, "ctup")
            self._power(t, True)
        self._succeed(t + 0.2)

    def _final_on_source(self, t: float, restart: bool) -> None:
        """final_cleanup when the config did not move: a shut-down CT starts again."""
        self._say(t, "start final cleanup")
        if restart:
            self._say(t, "start container on source node")
            self._power(t + 0.3, True)

    # -- stopped -----------------------------------------------------------------------------

    def _abort(self, now: float) -> str:
        """`DELETE .../tasks/UPID`: what AbstractMigrate logs when the signal hits each phase."""
        took = hms(now - self.task.upid.starttime)
        if self.stage == "prepare":
            self._say(now, f"ERROR: migration aborted (duration {took}): interrupted by signal")
            status = "migration aborted"
        elif self.stage == "phase2":
            self._say(now, "ERROR: online migrate failure - interrupted by signal")
            self._say(now, "aborting phase 2 - cleanup resources")
            self._say(now, "migrate_cancel")
            self._say(now, f"ERROR: migration finished with problems (duration {took})")
            status = "migration problems"
        elif self.stage == "moved":
            # the config is already on the target: the cleanup there still runs
            if self.stopped:
                self.state.set_running(self.guest, True)
            self._say(now, "ERROR: received interrupt - delayed")
            self._say(now, f"ERROR: migration finished with problems (duration {took})")
            status = "migration problems"
        else:
            self._say(now, "ERROR: interrupted by signal")
            self._say(now, "aborting phase 1 - cleanup resources")
            if self.guest.type == "lxc":
                self._say(now, "start final cleanup")
                if self.stopped:
                    self._say(now, "start container on source node")
                    self.state.set_running(self.guest, True)
            self._say(now, f"ERROR: migration aborted (duration {took}): interrupted by signal")
            status = "migration aborted"
        self._unlock()
        self._finished(False)
        return status
