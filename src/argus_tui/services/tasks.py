"""Task lists and logs: merged per-node lists, and following a log to its end.

`/cluster/tasks` hides a privilege-separated token's own tasks unless it holds
Sys.Audit on / (docs/proxmox.md, Permissions), so recent tasks come from each node's own
list instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from argus_tui.domain.models import Task
from argus_tui.domain.upid import UPID
from argus_tui.errors import ArgusError, ConnectionFailed
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import MappingError, as_str, task_from


def recent_tasks(
    client: PveClient,
    *,
    failed_only: bool = False,
    limit: int = 50,
    vmid: int | None = None,
    nodes: Sequence[str] | None = None,
) -> tuple[list[Task], list[str]]:
    """Newest first across all reachable nodes; warnings name nodes that could not answer.

    `vmid` asks each node for that guest's tasks only, so a busy cluster's other tasks
    cannot push them out of the limit. `nodes` (from a snapshot just taken) saves the
    call that lists them.
    """
    warnings: list[str] = []
    if nodes is None:
        nodes = [
            str(e["node"])
            for e in client.resources("node")
            if isinstance(e, dict) and as_str(e.get("node"))
        ]
    tasks: list[Task] = []
    for node in nodes:
        filters: dict[str, Any] = {"source": "all"}
        if vmid is not None:
            filters["vmid"] = vmid
        if failed_only:
            filters["errors"] = 1
        try:
            items, _ = client.node_tasks(node, limit=limit, **filters)
        except ConnectionFailed as exc:
            warnings.append(f"node {node}: {exc.message}")
            continue
        for item in items:
            try:
                task = task_from(item)
            except MappingError as exc:
                warnings.append(f"node {node}: ignored a malformed task entry ({exc})")
                continue
            if failed_only and not task.failed:
                continue
            tasks.append(task)
    tasks.sort(key=lambda t: (t.running, t.starttime), reverse=True)
    return tasks[:limit], warnings


def task_json(task: Task) -> dict[str, Any]:
    return {
        "upid": task.upid,
        "node": task.node,
        "type": task.type,
        "id": task.id,
        "user": task.user,
        "starttime": task.starttime,
        "endtime": task.endtime,
        "status": "running" if task.running else task.status,
        "failed": task.failed,
    }


def follow_log(
    client: PveClient,
    upid: UPID,
    emit: Callable[[str], None],
    *,
    follow: bool = False,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Emit the log; with `follow`, keep emitting new lines until the task stops.

    Returns the task's exit status (None if it is still running and not followed).
    """
    node = upid.node
    text = str(upid)
    seen = 0
    while True:
        status = client.task_status(node, text)
        stopped = status.get("status") == "stopped"
        while True:
            lines, total = client.task_log(node, text, seen, 500)
            if seen == 0 and lines == ["no content"] and not stopped:
                break  # PVE's placeholder for a log that has no lines yet
            for line in lines:
                emit(line)
            seen += len(lines)
            if len(lines) < 500 or seen >= total:
                break
        if stopped:
            return as_str(status.get("exitstatus")) or "unexpected status"
        if not follow:
            return None
        try:
            sleep(poll)
        except KeyboardInterrupt:
            raise ArgusError("stopped following; the task keeps running") from None
