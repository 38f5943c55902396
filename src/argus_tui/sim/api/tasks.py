"""Tasks: the cluster and node task lists, a task's status and log, and stopping it.

Who sees a task: its owner (a user also sees its tokens' tasks), and whoever holds
Sys.Audit on the task's node.
"""

from __future__ import annotations

from typing import Any

from argus_tui.domain.upid import UPID, UPIDError
from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, page
from argus_tui.sim.model import Task
from argus_tui.sim.state import SimError

routes = RouteTable()
TASK = f"{NODE} upid:str"
CLUSTER_TASKS_MAX = 50  # /cluster/tasks answers the newest entries of the task index


def _visible(req: Request, task: Task) -> bool:
    user = task.upid.user
    if user == req.authid:
        return True
    if "!" not in req.authid and user.split("!", 1)[0] == req.authid:
        return True
    return req.can(f"/nodes/{task.node}", "Sys.Audit")


def task_entry(task: Task, *, status_field: bool = True) -> dict[str, Any]:
    upid = task.upid
    entry: dict[str, Any] = {
        "upid": str(upid),
        "node": upid.node,
        "pid": upid.pid,
        "pstart": upid.pstart,
        "starttime": upid.starttime,
        "type": upid.type,
        "id": upid.id,
        "user": upid.userid,
    }
    if upid.tokenid:
        entry["tokenid"] = upid.tokenid
    if task.finished:
        entry["endtime"] = task.endtime
        if status_field:
            entry["status"] = task.exitstatus
    elif status_field:
        entry["status"] = "RUNNING"
    return entry


@routes.get("/cluster/tasks")
def cluster_tasks(req: Request) -> Result:
    state = req.state
    full = req.can("/", "Sys.Audit")
    out = []
    for key in reversed(state.task_order):
        task = state.tasks[key]
        # PVE compares the user part of the UPID with the caller's whole id here, so a
        # token without Sys.Audit on / sees no tasks at all, not even its own.
        if not full and task.upid.userid != req.authid:
            continue
        entry = task_entry(task)
        if entry.get("status") == "RUNNING":
            del entry["status"]
        out.append(entry)
        if len(out) >= CLUSTER_TASKS_MAX:
            break
    return Result(out)


@routes.get(
    "/nodes/{node}/tasks",
    f"{NODE} errors:bool?=0 limit:int?>=0=50 since:int?"
    " source:str?(archive|active|all)=archive start:int?>=0=0 statusfilter:str?"
    " typefilter:str? until:int? userfilter:str? vmid:int?>=100<=999999999",
    proxy=True,
)
def node_tasks(req: Request) -> Result:
    state = req.state
    p = req.params
    node = p["node"]
    source = p.get("source", "archive")
    status_filter = set(str(p.get("statusfilter", "")).split(",")) - {""}
    user_filter = str(p.get("userfilter", "")).lower()
    matched = []
    for key in reversed(state.task_order):
        task = state.tasks[key]
        if task.node != node or not _visible(req, task):
            continue
        if source == "archive" and not task.finished:
            continue
        if source == "active" and task.finished:
            continue
        if p.get("errors") and task.outcome in ("unknown", "ok"):
            continue
        if "typefilter" in p and task.upid.type != p["typefilter"]:
            continue
        if "vmid" in p and task.upid.id != str(p["vmid"]):
            continue
        if user_filter and user_filter not in task.upid.user.lower():
            continue
        if "since" in p and task.upid.starttime < p["since"]:
            continue
        if "until" in p and task.upid.starttime > p["until"]:
            continue
        if status_filter and task.outcome not in status_filter:
            continue
        matched.append(task)
    chosen = page(matched, p.get("start", 0), p.get("limit", 50))
    return Result([task_entry(t) for t in chosen], total=len(matched))


def _task(req: Request) -> Task:
    raw = req.params["upid"]
    try:
        upid = UPID.parse(raw)
    except UPIDError:
        raise SimError(
            400,
            "Parameter verification failed.",
            errors={"upid": "unable to parse worker upid"},
        ) from None
    task = req.state.tasks.get(str(upid))
    if task is None or upid.node != req.params["node"]:
        raise SimError(500, f"no such task: '{raw}'")
    if not _visible(req, task):
        raise SimError(403, f"Permission check failed (/nodes/{upid.node}, Sys.Audit)")
    return task


@routes.get("/nodes/{node}/tasks/{upid}/status", TASK, proxy=True)
def task_status(req: Request) -> Result:
    task = _task(req)
    entry = task_entry(task, status_field=False)
    entry.pop("endtime", None)  # read_task_status is upid_decode + status: no endtime
    entry["status"] = "stopped" if task.finished else "running"
    if task.finished:
        entry["exitstatus"] = task.exitstatus
    return Result(entry)


@routes.get(
    "/nodes/{node}/tasks/{upid}/log",
    f"{TASK} download:bool? limit:int?>=0=50 start:int?>=0=0",
    proxy=True,
)
def task_log(req: Request) -> Result:
    task = _task(req)
    lines = task.visible_lines(req.state.now()) or ["no content"]
    start = req.params.get("start", 0)
    chosen = page(lines, start, req.params.get("limit", 50))
    data = [{"n": start + i + 1, "t": text} for i, text in enumerate(chosen)]
    return Result(data, total=len(lines))


@routes.delete("/nodes/{node}/tasks/{upid}", TASK, proxy=True)
def task_stop(req: Request) -> Result:
    """Stop a task: PVE's stop_task looks the UPID up on that node (400 when unknown),
    then lets its owner stop it; anyone else needs Sys.Modify on the node. Null also
    when the task had already ended."""
    raw = req.params["upid"]
    try:
        upid = UPID.parse(raw)
    except UPIDError:
        raise SimError(
            400, "Parameter verification failed.", errors={"upid": "unable to parse worker upid"}
        ) from None
    task = req.state.tasks.get(str(upid))
    if task is None or upid.node != req.params["node"]:
        raise SimError(400, "Parameter verification failed.", errors={"upid": "no such task"})
    if not owns(req.authid, task) and not req.can(f"/nodes/{task.node}", "Sys.Modify"):
        raise SimError(403, f"Permission check failed (/nodes/{task.node}, Sys.Modify)")
    req.state.stop_task(task)
    return Result(None)


def owns(authid: str, task: Task) -> bool:
    """pve-manager's check_task_user: a token's task belongs to that token and to its user;
    a user's task only to that user (not to its tokens)."""
    user = task.upid.user
    if "!" in user:
        return authid in (user, user.split("!", 1)[0])
    return authid == user
