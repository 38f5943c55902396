"""What a simulated cluster is made of: nodes, guests, snapshots, tasks, jobs.

Plain mutable records (storage and its volumes are in `storage.py`). `state.ClusterState`
owns them and changes them under its lock; the API handlers only read them and change
them through `ClusterState` methods, so a new endpoint that writes adds a method there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from argus_tui.domain.upid import UPID


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
    power: str = ""  # a reboot or shutdown under way


@dataclass(slots=True)
class Snapshot:
    """One entry of a guest's snapshot tree, as `qm listsnapshot` / `pct listsnapshot` show."""

    name: str
    description: str
    snaptime: int
    vmstate: bool = False  # qemu only: the RAM was saved with it
    parent: str | None = None  # the snapshot this one was taken on top of
    snapstate: str | None = None  # "prepare" while being taken, "delete" while removed


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
    disk_storage: str = "local-lvm"  # the storage of its disks
    snapshots: dict[str, Snapshot] = field(default_factory=dict)  # by name, oldest first
    parent: str | None = None  # the snapshot the current state descends from (config `parent`)
    config_gen: int = 0  # bumped on every write of its config file; feeds the digest
    agent: bool = False  # qemu: the guest agent is enabled in its config (`agent: 1`)
    ips: list[str] = field(default_factory=list)  # addresses inside the guest, "10.0.0.21/24"
    local_resources: list[str] = field(default_factory=list)  # qemu: usb0, hostpci0, serial0...
    onboot: bool = False  # started by the node's `startall` when it boots
    vmstate: str | None = None  # qemu: the saved RAM while hibernated (suspended to disk)
    serial: str = ""  # qemu: the serialN that is a socket (its serial console), "" = none

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
class BackupJob:
    """A scheduled vzdump job of /etc/pve/jobs.cfg."""

    id: str
    schedule: str  # "HH:MM", daily
    storage: str
    mode: str = "snapshot"
    compress: str = "zstd"
    all: bool = True
    enabled: bool = True

    def next_run(self, now: float) -> int:
        """The epoch of the run after today's (the simulated daemon always plans a day out)."""
        hours, _, minutes = self.schedule.partition(":")
        offset = int(hours) * 3600 + int(minutes or 0) * 60
        return int(now) // 86400 * 86400 + 86400 + offset


@dataclass(slots=True)
class Task:
    upid: UPID
    node: str
    # (seconds after start, line) - lines appear as simulated time passes.
    lines: list[tuple[float, str]]
    duration: float
    error: str  # "" for success
    on_end: Callable[[], None] | None = None
    # undoes its work when it is stopped; may answer the exit status its worker dies with
    on_abort: Callable[[float], str | None] | None = None
    finished: bool = False
    endtime: int | None = None
    exitstatus: str | None = None

    @property
    def key(self) -> str:
        return str(self.upid)

    @property
    def outcome(self) -> str:
        """unknown (still running), ok, warning or error: PVE's task status classes."""
        if not self.finished:
            return "unknown"
        if self.exitstatus == "OK":
            return "ok"
        if self.exitstatus and self.exitstatus.startswith("WARNINGS"):
            return "warning"
        return "error"

    def visible_lines(self, now: float) -> list[str]:
        elapsed = now - self.upid.starttime
        if self.finished and self.exitstatus == "unexpected status":
            return [text for _, text in self.lines]  # killed with its node: no last line
        if self.finished:
            return [text for _, text in self.lines] + [self._final_line()]
        return [text for offset, text in self.lines if offset <= elapsed]

    def _final_line(self) -> str:
        if self.outcome == "ok":
            return "TASK OK"
        if self.outcome == "warning":
            return f"TASK {self.exitstatus}"
        return f"TASK ERROR: {self.exitstatus}"
