"""Gathering what helps explain a problem with the selection, over the PVE API.

For a guest, a node or a task: status and config summary, recent tasks with the failed
task's log tail, cluster and HA status, the utilisation trend from the local history,
and the node's syslog tail when the token holds Sys.Syslog. Everything is redacted and
fenced as data (see `llm.redact`, `llm.prompt`) and capped in size; `context.text` is
exactly what is sent, so the UI can show it. Gathering blocks: call it from a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from argus_tui.domain.models import ClusterSnapshot, Entity, Guest, Node, Task
from argus_tui.domain.storage import Storage
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError, PermissionDenied
from argus_tui.llm.prompt import MAX_CONTEXT_CHARS, Section, fit
from argus_tui.llm.redact import Redactor
from argus_tui.pve.ops_mapping import snapshot_tree_from
from argus_tui.services import storage as storage_service
from argus_tui.services.assistant import lines as text
from argus_tui.services.assistant.target import Target, subject
from argus_tui.services.session import Session

#: Log lines kept from the end of a task log.
LOG_TAIL_LINES = 40
#: Syslog lines kept from the end of the node's syslog.
SYSLOG_LINES = 40
#: Window of the utilisation trend from the local history.
TREND_SECONDS = 24 * 3600
SYSLOG_PRIVILEGE = "Sys.Syslog"

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class AssistantContext:
    """What is sent with a question: `text` exactly, already redacted and capped."""

    subject: str
    text: str
    sections: tuple[Section, ...]
    trimmed: bool = False
    notes: tuple[str, ...] = ()  # what could not be collected, and why

    @property
    def size(self) -> int:
        return len(self.text)

    @property
    def facts(self) -> str:
        """What the context says, without the moment it was collected (its header line)."""
        return self.text.partition("\n")[2]


def gather_context(
    session: Session,
    snapshot: ClusterSnapshot | None,
    target: Target | None,
    redactor: Redactor,
    clock: Callable[[], float] = time.time,
    max_chars: int = MAX_CONTEXT_CHARS,
) -> AssistantContext:
    """Collect, redact, fence and cap the context for `target` (None: the cluster).
    Blocks; never raises for what the server refuses or fails: `notes` say what is
    missing."""
    builder = ContextBuilder(session, snapshot, redactor, clock)
    syslog_node: str | None = None
    if isinstance(target, Guest):
        builder.guest(target)
        syslog_node = target.node
    elif isinstance(target, Task):
        builder.task(target)
        syslog_node = target.node
    elif isinstance(target, Node):
        builder.node(target.name)
        syslog_node = target.name
    builder.cluster()
    if syslog_node:
        builder.syslog(syslog_node)
    if builder.notes:
        builder.add("not collected", [f"- {note}" for note in builder.notes])
    about = subject(target)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(clock()))
    header = redactor.text(f"Context from Argus about {about}, collected {stamp}.")
    body, sections, trimmed = fit(header, builder.sections, max_chars)
    return AssistantContext(
        subject=printable(about),
        text=body,
        sections=sections,
        trimmed=trimmed,
        notes=tuple(builder.notes),
    )


class ContextBuilder:
    """Collects context sections; each failing part becomes a note, never an error."""

    def __init__(
        self,
        session: Session,
        snapshot: ClusterSnapshot | None,
        redactor: Redactor,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.client = session.client
        self.snapshot = snapshot
        self.redactor = redactor
        self.clock = clock
        self.sections: list[Section] = []
        self.notes: list[str] = []
        self._tasks: list[Task] | None = None

    # -- plumbing ----------------------------------------------------------------------------

    def add(self, title: str, lines: Sequence[str], trim_rank: int | None = None) -> None:
        if not lines:
            return
        # redacted as one block, so a secret spanning lines (a key block) is caught whole
        body = self.redactor.text("\n".join(lines)).split("\n")
        self.sections.append(Section.of(self.redactor.text(title), body, trim_rank))

    def attempt(self, what: str, call: Callable[[], _T]) -> _T | None:
        try:
            return call()
        except PermissionDenied as exc:
            if exc.privilege and exc.path:
                self.notes.append(f"{what}: the token lacks {exc.privilege} on {exc.path}")
            else:
                self.notes.append(f"{what}: permission denied")
        except ArgusError as exc:
            self.notes.append(f"{what}: {exc.message}")
        return None

    def recent_tasks(self) -> list[Task]:
        if self._tasks is None:
            result = self.attempt("recent tasks", lambda: self.session.recent_tasks(limit=100))
            self._tasks = result[0] if result is not None else []
        return self._tasks

    def guest_tasks(self, vmid: int) -> list[Task]:
        """The guest's own recent tasks, asked of each node by vmid (not the cluster's
        newest 100, where a busy cluster would crowd them out)."""
        result = self.attempt(
            f"recent tasks of guest {vmid}", lambda: self.session.recent_tasks(50, vmid)
        )
        if result is None:
            return []
        tasks, warnings = result
        self.notes.extend(warnings)
        return [t for t in tasks if t.id == str(vmid)]

    def log_tail(self, task: Task) -> None:
        def fetch() -> list[str]:
            lines, total = self.client.task_log(task.node, task.upid, 0, 500)
            if total > len(lines):
                start = max(0, total - LOG_TAIL_LINES)
                lines, _ = self.client.task_log(task.node, task.upid, start, LOG_TAIL_LINES)
            return lines[-LOG_TAIL_LINES:]

        what = f"{task.type} {task.id}".strip()
        lines = self.attempt(f"log of task {what}", fetch)
        if lines:
            state = "running" if task.running else (task.status or "?")
            self.add(f"task log: {what} on {task.node} ({state}), last lines", lines, trim_rank=1)

    def trend(self, kind: str, key: str, fields: Sequence[str], total: float | None) -> None:
        store = self.session.history
        if store is None:
            return
        since = self.clock() - TREND_SECONDS
        profile = self.session.history_profile
        lines = []
        for field in fields:

            def series(field: str = field) -> list[tuple[float, float]]:
                if kind == "guest":
                    return store.guest_series(profile, int(key), field, since)
                return store.node_series(profile, key, field, since)

            points = self.attempt(f"{field} history", series)
            values = [v for _, v in points or ()]
            if values:
                lines.append(text.trend_line(field, values, total))
        if lines:
            self.add(f"utilisation over the last 24 h from local history ({kind} {key})", lines)

    # -- sections ----------------------------------------------------------------------------

    def guest(self, guest: Guest) -> None:
        self.add(f"guest {guest.vmid} summary", text.guest_summary(guest))
        details = self.attempt(
            f"status and config of guest {guest.vmid}", lambda: self.session.guest_details(guest)
        )
        if details:
            current = details.get("current") or {}
            self.add(f"guest {guest.vmid} status/current", text.status_lines(current))
            config = self.redactor.mapping(details.get("config") or {})
            self.add(f"guest {guest.vmid} config", text.config_lines(config))
        self.snapshots(guest)
        self.last_backup(guest)
        tasks = self.guest_tasks(guest.vmid)
        self.add(f"recent tasks of guest {guest.vmid}, newest first", text.task_lines(tasks))
        failed = next((t for t in tasks if t.failed), None)
        if failed is not None:
            self.log_tail(failed)
        self.trend("guest", str(guest.vmid), ("cpu", "mem"), float(guest.maxmem or 0) or None)

    def snapshots(self, guest: Guest) -> None:
        entity = Entity.of_guest(guest)
        items = self.attempt(
            f"snapshots of guest {guest.vmid}", lambda: self.client.snapshots(entity)
        )
        if items is None:
            return
        tree, _ = snapshot_tree_from(items)
        lines = text.snapshot_lines(tree, self.clock())
        self.add(f"snapshots of guest {guest.vmid} (tree by parent)", lines or ["none"])

    def last_backup(self, guest: Guest) -> None:
        """The newest backup of the guest on the backup storages its node can use (one
        listing per storage; a shared storage is listed once)."""
        storages = [
            s
            for s in (self.snapshot.storages if self.snapshot else ())
            if s.node == guest.node and s.holds("backup") and s.active
        ]
        newest = None
        for storage in storages:

            def listing(storage: Storage = storage) -> storage_service.Content:
                return storage_service.content(self.client, storage, kind="backup", vmid=guest.vmid)

            found = self.attempt(f"backups of guest {guest.vmid} on {storage.storage}", listing)
            if found is None:
                continue
            best = storage_service.last_backup(found.volumes, guest.vmid)
            if best is not None and (newest is None or (best.ctime or 0) > (newest.ctime or 0)):
                newest = best
        if storages:
            line = text.backup_line(newest, self.clock()) if newest else "no backup found"
            self.add(f"last backup of guest {guest.vmid}", [line])

    def node(self, name: str) -> None:
        node = self._node(name)
        if node is not None:
            self.add(f"node {name} summary", text.node_summary(node))
        status = self.attempt(f"status of node {name}", lambda: self.client.node_status(name))
        if isinstance(status, dict):
            self.add(f"node {name} status", text.node_status_lines(status))
        if self.snapshot is not None:
            self.add(
                f"running guests on {name} by memory (top 10)",
                text.running_guests(self.snapshot, name),
            )
        tasks = [t for t in self.recent_tasks() if t.node == name]
        self.add(f"recent tasks on {name}, newest first", text.task_lines(tasks))
        failed = next((t for t in tasks if t.failed), None)
        if failed is not None:
            self.log_tail(failed)
        total = float(node.maxmem) if node is not None and node.maxmem else None
        self.trend("node", name, ("cpu", "mem", "disk"), total)

    def task(self, task: Task) -> None:
        status = self.attempt(
            f"status of task {task.upid}", lambda: self.client.task_status(task.node, task.upid)
        )
        summary = text.task_summary(task, status if isinstance(status, dict) else None)
        self.add(f"task {task.type} {task.id}".strip(), summary)
        self.log_tail(task)
        guest = self._guest(task.id)
        if guest is not None:
            self.add(f"guest {guest.vmid} now", [text.guest_now(guest)])

    def cluster(self) -> None:
        if self.snapshot is not None:
            self.add("cluster", text.cluster_lines(self.snapshot))
        status = self.attempt("cluster status", self.client.cluster_status)
        if status:
            self.add("cluster status (corosync)", text.corosync_lines(status))
        ha = self.attempt("HA status", self.client.ha_status)
        if isinstance(ha, list):
            self.add("HA status", text.ha_lines(ha))

    def syslog(self, node: str) -> None:
        path = f"/nodes/{node}"
        privileges = self.snapshot.privileges if self.snapshot is not None else None
        if privileges is not None and not privileges.holds(path, SYSLOG_PRIVILEGE):
            self.notes.append(
                f"syslog of node {node}: the token lacks {SYSLOG_PRIVILEGE} on {path}"
            )
            return

        def fetch() -> list[str]:
            # the API pages from the oldest line: ask for the count, then the last page
            _, total = self.client.syslog(node, 0, 1)
            if total is None:  # no count: read a generous page and keep its end
                lines, _ = self.client.syslog(node, 0, 1000)
            else:
                lines, _ = self.client.syslog(node, max(0, total - SYSLOG_LINES), SYSLOG_LINES)
            return lines[-SYSLOG_LINES:]

        lines = self.attempt(f"syslog of node {node}", fetch)
        if lines:
            self.add(f"syslog of node {node}, last lines", lines, trim_rank=0)

    # -- lookups -----------------------------------------------------------------------------

    def _node(self, name: str) -> Node | None:
        if self.snapshot is None:
            return None
        return next((n for n in self.snapshot.nodes if n.name == name), None)

    def _guest(self, vmid: str) -> Guest | None:
        if self.snapshot is None or not vmid.isdigit():
            return None
        return next((g for g in self.snapshot.guests if g.vmid == int(vmid)), None)
