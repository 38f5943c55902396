"""Backups: `POST /nodes/{node}/vzdump` and `GET /nodes/{node}/vzdump/defaults`.

The POST makes pve-manager's API2/VZDump.pm checks in its order: CLI-only and root-only
options (400), Sys.Modify for tuning options (403), conflicting or missing guest
selection (400), the plain answer `"OK"` with no task when none of the guests is on this
node, Datastore.AllocateSpace on the storage (403); then `sim/backup.py` runs the job.
"""

from __future__ import annotations

import shlex
from typing import Any

from argus_tui.sim.api.router import NODE, Request, Result, RouteTable
from argus_tui.sim.backup import Job, Options
from argus_tui.sim.params import split_list
from argus_tui.sim.state import SimError
from argus_tui.sim.storage import parse_prune

routes = RouteTable()
_PARAMS = (
    "all:bool?=0 bwlimit:int?>=0=0 compress:str?(0|1|gzip|lzo|zstd)=0 dumpdir:str?"
    " exclude:str?@pve-vmid-list exclude-path:array? fleecing:str? ionice:int?>=0<=8=7"
    " job-id:str?<=50 lockwait:int?>=0=180 mailnotification:str?(always|failure)=always"
    " mailto:str? maxfiles:int?>=1 mode:str?(snapshot|suspend|stop)=snapshot node:str?"
    " notes-template:str?<=1024 notification-mode:str?(auto|legacy-sendmail|notification-system)"
    "=auto pbs-change-detection-mode:str?(legacy|data|metadata) performance:str? pigz:int?=0"
    " pool:str? protected:bool? prune-backups:str? quiet:bool?=0 remove:bool?=1 script:str?"
    " stdexcludes:bool?=1 stdout:bool? stop:bool?=0 stopwait:int?>=0=10"
    " storage:str?@pve-storage-id tmpdir:str? vmid:str?@pve-vmid-list zstd:int?=1"
)
_ROOT_ONLY = ("tmpdir", "dumpdir", "script", "job-id")


def _param_error(name: str, text: str) -> SimError:
    return SimError(400, "Parameter verification failed.", errors={name: text})


def _denied(path: str, priv: str) -> SimError:
    return SimError(403, f"Permission check failed ({path}, {priv})")


def _command_line(params: dict[str, Any]) -> str:
    """The `vzdump ...` line the job logs first (PVE::VZDump::Common::command_line)."""
    words = ["vzdump", *split_list(str(params.get("vmid", "")))]
    for key in sorted(params):
        value = params[key]
        if key in ("vmid", "stdout") or value in ("", None):
            continue
        for item in value if isinstance(value, list) else [value]:
            words += [f"--{key}", shlex.quote(str(item))]
    return " ".join(words)


@routes.post("/nodes/{node}/vzdump", _PARAMS, proxy=True)
def vzdump(req: Request) -> Result:
    state, p, node = req.state, req.params, req.params["node"]
    if p.get("stdout"):
        raise _param_error("stdout", "option is only allowed on the command line interface.")
    for key in _ROOT_ONLY:
        if key in p and req.authid != "root@pam":
            raise _param_error(key, "Only root may set this option.")
    for key in ("bwlimit", "performance", "ionice"):
        if key in p and not req.can("/", "Sys.Modify"):
            raise _denied("/", "Sys.Modify")
    for key in ("all", "exclude", "pool"):
        if p.get(key) and p.get("vmid"):
            raise _param_error(key, "option conflicts with option 'vmid'")
    if "prune-backups" in p and "maxfiles" in p:
        raise _param_error("prune-backups", "option conflicts with option 'maxfiles'")
    prune = p.get("prune-backups") or (f"keep-last={p['maxfiles']}" if "maxfiles" in p else None)
    if prune is not None:
        try:
            parse_prune(prune)
        except ValueError as exc:
            raise _param_error("prune-backups", f"invalid format - {exc}\n") from None
    if "\n" in str(p.get("notes-template", "")):
        raise _param_error("notes-template", "contains a line feed")
    everything = bool(p.get("all")) or "exclude" in p
    if not (everything or p.get("stop") or p.get("pool") or p.get("vmid")):
        raise _param_error("vmid", "property is missing")
    if p.get("stop"):
        if not req.can(f"/nodes/{node}", "Sys.Modify"):
            raise _denied(f"/nodes/{node}", "Sys.Modify")
        for task in list(state.tasks.values()):
            if task.node == node and task.upid.type == "vzdump" and not task.finished:
                state.stop_task(task)
    local, skipped = _guests(req, everything)
    if not local and (not everything or p.get("stop")):
        return Result("OK")  # PVE's "silent exit" when the guests run on other nodes
    storage = str(p.get("storage", "local"))
    if "storage" in p and not req.can(f"/storage/{storage}", "Datastore.AllocateSpace"):
        raise _denied(f"/storage/{storage}", "Datastore.AllocateSpace")
    if "prune-backups" in p and not req.can(f"/storage/{storage}", "Datastore.Allocate"):
        raise _denied(f"/storage/{storage}", "Datastore.Allocate")
    opts = Options(
        storage=storage,
        mode=str(p.get("mode", "snapshot")),
        compress=str(p.get("compress", "0")),
        remove=bool(p.get("remove", 1)),
        protected=bool(p.get("protected")),
        notes_template=p.get("notes-template"),
        prune_backups=prune,
        all=everything,
        cmdline=_command_line(p),
    )
    return Result(Job(state, node, req.authid, local, skipped, opts).start())


def _guests(req: Request, everything: bool) -> tuple[list[int], list[int]]:
    """(vmids this node backs up, vmids on other nodes): unknown vmids stay local and fail."""
    state, p, node = req.state, req.params, req.params["node"]
    if p.get("pool"):
        wanted = [g.vmid for g in state.guests.values() if g.pool == p["pool"]]
    elif p.get("vmid"):
        wanted = sorted({int(v) for v in split_list(str(p["vmid"]))})
    elif everything:
        excluded = {int(v) for v in split_list(str(p.get("exclude", "")))}
        wanted = sorted(v for v in state.guests if v not in excluded)
    else:
        wanted = []
    local = [v for v in wanted if v not in state.guests or state.guests[v].node == node]
    skipped = [v for v in wanted if v not in local]
    return local, skipped


@routes.get("/nodes/{node}/vzdump/defaults", f"{NODE} storage:str?@pve-storage-id", proxy=True)
def vzdump_defaults(req: Request) -> Result:
    """The node's /etc/vzdump.conf, which is empty: the schema's defaults, storage `local`."""
    state, node = req.state, req.params["node"]
    sid = str(req.params.get("storage", "local"))
    if not req.can(f"/storage/{sid}", "Datastore.Audit", "Datastore.AllocateSpace"):
        raise _denied(f"/storage/{sid}", "Datastore.Audit|Datastore.AllocateSpace")
    storage = state.storages.get(sid)
    if storage is None:
        raise SimError(500, f"storage '{sid}' does not exist")
    if "backup" not in storage.content:
        raise SimError(500, f"can't use storage '{sid}' for backups - wrong content type")
    out: dict[str, Any] = {
        "all": 0,
        "bwlimit": 0,
        "compress": "0",
        "ionice": 7,
        "lockwait": 180,
        "mailnotification": "always",
        "mode": "snapshot",
        "notification-mode": "auto",
        "pigz": 0,
        "prune-backups": storage.prune_backups or "keep-all=1",
        "quiet": 0,
        "remove": 1,
        "stdexcludes": 1,
        "stop": 0,
        "stopwait": 10,
        "storage": sid,
        "zstd": 1,
    }
    if storage.type != "pbs":
        out["dumpdir"] = f"{storage.path}/dump"
    if not req.can(f"/nodes/{node}", "Sys.Audit"):
        for key in ("mailto", "tmpdir", "dumpdir", "script", "ionice"):
            out.pop(key, None)
    return Result(out)
