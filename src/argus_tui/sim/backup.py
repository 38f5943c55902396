"""vzdump: a backup job on one node, run guest by guest as pve-manager's PVE/VZDump.pm does.

A job is one `vzdump` task of unknown length: steps scheduled on the state's clock take
the node's global lock (a second job logs `trying to get global lock - waiting...` and
starts when the first ends), then back up each guest in vmid order. Per guest: the
`backup` lock for its run, the guest stopped or suspended when the mode says so (an LXC in
snapshot mode gets a temporary `vzdump` snapshot instead), a log with PVE's line shapes
whose progress lines appear over time, then the archive on the storage, its notes and
protection, and pruning by `prune-backups`. A guest that fails logs
`ERROR: Backup of VM <id> failed - <reason>`; the job then ends with `job errors`.
"""

from __future__ import annotations

import functools
import math
import time
import uuid
from dataclasses import dataclass, field

from argus_tui.sim.backup_log import Plan, archive_lines, copy_lines, name_lines
from argus_tui.sim.build import backup_data
from argus_tui.sim.model import Guest, Snapshot, Task
from argus_tui.sim.state import ClusterState
from argus_tui.sim.storage import (
    Storage,
    Volume,
    archive_size,
    backup_volume,
    parse_prune,
    prune_limit,
    prune_removals,
)


@dataclass(slots=True)
class Options:
    """A job's parameters once the API has checked them."""

    storage: str
    mode: str = "snapshot"
    compress: str = "0"  # PVE's default without /etc/vzdump.conf: no compression
    remove: bool = True
    protected: bool = False
    notes_template: str | None = None
    prune_backups: str | None = None  # overrides the storage's
    all: bool = False
    cmdline: str = "vzdump"


@dataclass(slots=True)
class _Run:
    """What the guest being backed up has had done to it, for the cleanup."""

    guest: Guest
    start: float
    locked: bool = False
    stopped: bool = False
    paused: bool = False
    snapshot: bool = False


def stamp(at: float) -> str:
    """vzdump's local time stamp (the simulated nodes keep UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


def run_length(guest: Guest) -> float:
    """Simulated seconds one guest's backup takes: seconds for a small one, growing with disk."""
    return 6.0 + min(170.0, 0.08 * guest.disk / 1024**3)


def expand_notes(template: str, guest: Guest, node: str, cluster: str) -> str:
    """The notes-template with its `{{var}}`s and `\\n`/`\\\\` escapes; ValueError if bad."""
    out = ""
    chars = iter(template)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            if nxt not in ("n", "\\"):
                raise ValueError(f"unexpected escape character '{nxt}'")
            out += "\n" if nxt == "n" else "\\"
        else:
            out += char
    values = {"cluster": cluster, "guestname": guest.name, "node": node, "vmid": str(guest.vmid)}
    for name, value in values.items():
        out = out.replace("{{" + name + "}}", value)
    _, sep, tail = out.partition("{{")
    if sep and "}}" in tail:
        raise ValueError(f"unexpected variable name '{tail.split('}}', 1)[0]}'")
    return out


@dataclass
class Job:
    """One `vzdump` task on `node` for `vmids` (this node's guests, and unknown ids)."""

    state: ClusterState
    node: str
    authid: str
    vmids: list[int]
    skipped: list[int]
    opts: Options
    errors: int = 0
    run: _Run | None = None
    task: Task = field(init=False)

    def start(self) -> str:
        """Fork the worker; its UPID names the vmid when it backs up exactly one guest."""
        state = self.state
        taskid = str(self.vmids[0]) if len(self.vmids) == 1 else ""
        self.task = state.start_task(
            self.node,
            "vzdump",
            taskid,
            self.authid,
            lines=[],
            duration=math.inf,
            on_abort=self._abort,
        )
        now = state.now()
        problem = self._storage_problem()
        if problem:
            state.schedule(now + 0.1, lambda at: state.end_task(self.task, at, problem), self.task)
        elif state.flock(self._lock, self.task, self._granted):
            state.schedule(now + 0.05, self._begin, self.task)
        else:
            self._log(now, "INFO: trying to get global lock - waiting...")
        return self.task.key

    @property
    def _lock(self) -> str:
        return f"vzdump@{self.node}"

    @property
    def _storage(self) -> Storage:
        return self.state.storages[self.opts.storage]

    def _storage_problem(self) -> str:
        """What PVE::VZDump->new dies with for an unusable storage ("" when fine)."""
        sid = self.opts.storage
        storage = self.state.storages.get(sid)
        info = f"could not get storage information for '{sid}'"
        if storage is None:
            return f"{info}: storage '{sid}' does not exist"
        if not storage.available_on(self.node):
            return (
                f"could not activate storage '{sid}': storage '{sid}' is not available on node"
                f" '{self.node}'"
            )
        if "backup" not in storage.content:
            return f"{info}: can't use storage '{sid}' for backups - wrong content type"
        return ""

    def _log(self, at: float, text: str) -> None:
        self.task.lines.append((max(0.0, at - self.task.upid.starttime), text))

    def _granted(self, at: float) -> None:
        self._log(at, "INFO: got global lock")
        self._begin(at)

    def _begin(self, at: float) -> None:
        state = self.state
        self._log(at, f"INFO: starting new backup job: {self.opts.cmdline}")
        if self.skipped:
            self._log(at, f"INFO: skip external VMs: {', '.join(map(str, self.skipped))}")
        queue = []
        for vmid in sorted(self.vmids):
            allowed = state.permissions.has(self.authid, f"/vms/{vmid}", ["VM.Backup"])
            if vmid in state.guests and not allowed:
                if self.opts.all:
                    continue  # a job for all guests skips those the caller may not back up
                self._finish(at + 0.1, f"Permission check failed (/vms/{vmid}, VM.Backup)")
                return
            queue.append(vmid)
        self.vmids = queue
        state.schedule(at + 0.1, self._next, self.task)

    def _next(self, at: float) -> None:
        if not self.vmids:
            outcome = "with errors" if self.errors else "successfully"
            self._log(at, f"INFO: Backup job finished {outcome}")
            self._finish(at, "job errors" if self.errors else "")
            return
        vmid = self.vmids.pop(0)
        guest = self.state.guests.get(vmid)
        if guest is None or guest.node != self.node:
            self._fail(at, vmid, f"unable to find VM '{vmid}'")
        else:
            self._guest(at, guest)

    def _finish(self, at: float, error: str) -> None:
        self.state.funlock(self._lock, self.task, at)
        self.state.end_task(self.task, at, error)

    def _fail(self, at: float, vmid: int, reason: str) -> None:
        if self.run is not None:
            self._cleanup(at, self.run)
        self.errors += 1
        self._log(at, f"ERROR: Backup of VM {vmid} failed - {reason}")
        self._log(at, f"INFO: Failed at {stamp(at)}")
        self.run = None
        self.state.schedule(at + 0.1, self._next, self.task)

    # -- one guest ---------------------------------------------------------------------------

    def _guest(self, at: float, guest: Guest) -> None:
        """Check, lock and plan one guest's backup; its steps then run on the clock."""
        state, opts, storage = self.state, self.opts, self._storage
        if opts.mode == "stop" and guest.ha and guest.hastate == "started":
            reason = "Cannot execute a backup with stop mode on a HA managed and enabled Service."
            self._fail(at, guest.vmid, f"{reason} Use snapshot mode or disable the Service.")
            return
        keep = parse_prune(opts.prune_backups or storage.prune_backups or "keep-all=1")
        limit = prune_limit(keep)
        kept = [v for v in self._backups_of(guest) if not v.protected]
        if limit and not opts.remove and len(kept) >= limit:
            self._fail(
                at,
                guest.vmid,
                f"There is a max backup limit of {limit} enforced by the target storage or the"
                " vzdump parameters. Either increase the limit or delete old backups.",
            )
            return
        self._log(at, f"INFO: Starting Backup of VM {guest.vmid} ({guest.type})")
        self._log(at, f"INFO: Backup started at {stamp(at)}")
        self._log(at, f"INFO: status = {'running' if guest.running else 'stopped'}")
        if guest.lock:
            kind = "VM" if guest.type == "qemu" else "CT"
            self._fail(at, guest.vmid, f"{kind} is locked ({guest.lock})")
            return
        self.run = run = _Run(guest, at, locked=True)
        state.set_lock(guest, "backup")
        plan = Plan()
        self._plan_mode(run, plan)
        total = run_length(guest)
        volid, fmt = backup_volume(storage, guest.type, guest.vmid, at, opts.compress)
        plan.say(1.5, *archive_lines(storage, guest, volid))
        data = backup_data(state.seed, guest, at)
        size = archive_size(data, fmt)
        plan.lines += copy_lines(storage, guest, data, size, (2.0, total - 1.5))
        for offset, text in sorted(plan.lines, key=lambda line: line[0]):
            self._log(at + offset, text)
        for offset, effect in plan.effects:
            state.schedule(at + offset, functools.partial(self._effect, run, effect), self.task)
        state.schedule(at + total - 1.0, lambda t: self._store(t, run, size, keep), self.task)

    def _plan_mode(self, run: _Run, plan: Plan) -> None:
        """The mode lines, and the stop, suspend or snapshot that the copy needs."""
        guest = run.guest
        mode = self.opts.mode if guest.running else "stop"
        names = name_lines(self.state.storages[guest.disk_storage], guest)
        if mode == "snapshot":
            plan.say(0.2, *names)
            if guest.type == "lxc" and not self.state.storages[guest.disk_storage].snapshots:
                plan.say(0.3, "INFO: mode failure - some volumes do not support snapshots")
                plan.say(0.3, "INFO: trying 'suspend' mode instead")
                mode = "suspend"
        plan.say(0.4, f"INFO: backup mode: {mode}", "INFO: ionice priority: 7")
        if mode != "snapshot":
            plan.say(0.5, *names)
        online = "INFO: guest is online again after 1 seconds"
        if mode == "stop" and guest.running:
            plan.act(1.0, "stop", "INFO: stopping virtual guest")
            if guest.type == "qemu":  # qemu starts it again paused and backs up from it
                plan.say(1.6, "INFO: starting kvm to execute backup task")
                plan.act(1.9, "start", "INFO: resuming VM again", online)
        elif mode == "suspend" and guest.type == "qemu":
            plan.act(1.0, "pause", "INFO: suspending guest")
            plan.act(1.9, "resume", "INFO: resuming VM again", online)
        elif mode == "suspend":
            plan.say(1.0, "INFO: suspending guest")
            plan.say(1.3, "INFO: resuming guest", "INFO: guest is online again after <1 seconds")
        elif guest.type == "lxc":
            plan.act(1.0, "snapshot", "INFO: create storage snapshot 'vzdump'")
        else:
            task_uuid = uuid.UUID(int=(guest.vmid << 32) + int(run.start))
            plan.say(1.7, f"INFO: started backup task '{task_uuid}'", "INFO: resuming VM again")

    def _effect(self, run: _Run, effect: str, _at: float) -> None:
        self._apply(run, effect)

    def _apply(self, run: _Run, effect: str) -> None:
        """One step of the run on the guest, remembered for the cleanup."""
        state, guest = self.state, run.guest
        if effect in ("stop", "start"):
            run.stopped = effect == "stop"
            state.set_running(guest, not run.stopped)
        elif effect in ("pause", "resume"):
            run.paused = effect == "pause"
            state.set_running(guest, True, paused=run.paused)
        elif effect == "snapshot":
            run.snapshot = True
            when = int(state.now())
            snap = Snapshot("vzdump", "vzdump backup snapshot", when, False, guest.parent)
            state.put_snapshot(guest, snap)
            state.set_parent(guest, "vzdump")

    def _backups_of(self, guest: Guest) -> list[Volume]:
        return [
            v
            for v in self._storage.on(self.node).volumes
            if v.content == "backup" and v.vmid == guest.vmid and v.subtype == guest.type
        ]

    def _store(self, at: float, run: _Run, size: int, keep: dict[str, int]) -> None:
        """The archive exists: notes, protection, pruning, cleanup, then the next guest."""
        state, opts, storage, guest = self.state, self.opts, self._storage, run.guest
        volid, fmt = backup_volume(storage, guest.type, guest.vmid, run.start, opts.compress)
        volume = Volume(volid, "backup", fmt, size, int(run.start), guest.vmid, guest.type)
        state.add_volume(storage, self.node, volume)
        if opts.notes_template:
            self._log(at, "INFO: adding notes to backup")
            cluster = state.scenario.cluster_name or ""
            try:
                notes = expand_notes(opts.notes_template, guest, self.node, cluster)
                state.update_volume(volume, notes=notes)
            except ValueError as exc:
                self._log(at, f"WARN: unable to add notes - {exc}")
        if opts.protected:
            self._log(at, "INFO: marking backup as protected")
            state.update_volume(volume, protected=True)
        if opts.remove and prune_limit(keep):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(keep.items()))
            self._log(at, f"INFO: prune older backups with retention: {shown}")
            removed = prune_removals(self._backups_of(guest), keep)
            for old in removed:
                self._log(at, f"INFO: removing backup '{old.volid}'")
                state.remove_volume(storage, self.node, old.volid)
            extra = " not covered by keep-retention policy" if removed else ""
            self._log(at, f"INFO: pruned {len(removed)} backup(s){extra}")
        self._cleanup(at, run)
        done = at + 0.5
        took = int(done - run.start)
        elapsed = f"{took // 3600:02d}:{took % 3600 // 60:02d}:{took % 60:02d}"
        self._log(done, f"INFO: Finished Backup of VM {guest.vmid} ({elapsed})")
        self._log(done, f"INFO: Backup finished at {stamp(done)}")
        self.run = None
        state.schedule(at + 1.0, self._next, self.task)

    def _cleanup(self, at: float, run: _Run) -> None:
        """Undo what the run did to the guest: unlock, drop `vzdump`, resume, restart."""
        state, guest = self.state, run.guest
        if run.locked:
            run.locked = False
            state.set_lock(guest, "")
        if run.snapshot:
            run.snapshot = False
            self._log(at, "INFO: cleanup temporary 'vzdump' snapshot")
            state.drop_snapshot(guest, "vzdump")
        if run.paused:
            self._log(at, "INFO: resume vm")
            self._apply(run, "resume")
        if run.stopped:
            self._log(at, "INFO: restarting vm")
            self._apply(run, "start")
            self._log(at + 0.4, f"INFO: guest is online again after {int(at - run.start)} seconds")

    def _abort(self, now: float) -> None:
        """Killed (`DELETE tasks/UPID`): the current guest is put back, the job fails."""
        if self.run is not None:
            vmid = self.run.guest.vmid
            self._cleanup(now, self.run)
            self._log(now, f"ERROR: Backup of VM {vmid} failed - interrupted by signal")
            self._log(now, f"INFO: Failed at {stamp(now)}")
            self.run = None
        self._log(now, "ERROR: Backup job failed - interrupted by signal")
