"""The PVE REST API of the simulator: routes, permission checks and handlers.

`Api.handle()` takes an authenticated request and returns what pve-manager's
`rest_handler` would: data plus an optional `total`, or a `SimError`. The order of
checks is PVE's: unknown route (501), permission check (403), proxying to the node
(500 unknown node, 595 node down), parameter validation (400), then the handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argus_tui.domain.upid import UPID, UPIDError
from argus_tui.sim import power
from argus_tui.sim.metrics import Profile, rrd_times, unit
from argus_tui.sim.params import Param, parse_spec, validate
from argus_tui.sim.state import ClusterState, Guest, Node, SimError, Task

NODE = "node:str"
VMID = "vmid:int>=100<=999999999"
_QEMU_POWER_SPECS = {
    "start": "force-cpu:str? machine:str? migratedfrom:str? migration_network:str?"
    " migration_type:str?(secure|insecure) nets-host-mtu:str? skiplock:bool? stateuri:str?"
    " targetstorage:str? timeout:int?>=0 with-conntrack-state:bool?=0",
    "stop": "keepActive:bool?=0 migratedfrom:str? overrule-shutdown:bool?=0 skiplock:bool?"
    " timeout:int?>=0",
    "shutdown": "forceStop:bool?=0 keepActive:bool?=0 skiplock:bool? timeout:int?>=0",
    "reboot": "timeout:int?>=0",
    "reset": "skiplock:bool?",
    "suspend": "skiplock:bool? statestorage:str? todisk:bool?=0",
    "resume": "nocheck:bool? skiplock:bool?",
}
_LXC_POWER_SPECS = {
    "start": "debug:bool?=0 skiplock:bool?",
    "stop": "overrule-shutdown:bool?=0 skiplock:bool?",
    "shutdown": "forceStop:bool?=0 timeout:int?>=0=60",
    "reboot": "timeout:int?>=0",
    "suspend": "",
    "resume": "",
}


@dataclass(slots=True)
class Request:
    authid: str  # user@realm or user@realm!token
    method: str
    path: str
    params: dict[str, Any]
    state: ClusterState


@dataclass(slots=True)
class Result:
    data: Any
    total: int | None = None


Check = tuple[str, tuple[str, ...], bool]  # (path template, privileges, any-of)
Handler = Callable[[Request], Result]


@dataclass(slots=True)
class Route:
    method: str
    template: str  # PVE schema path, e.g. /nodes/{node}/status
    handler: Handler
    params: dict[str, Param]
    check: Check | None = None
    proxy: bool = False  # proxyto: node
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        self.regex = re.compile(f"^{pattern}$")


def _perm(path: str, *privs: str, any_of: bool = False) -> Check:
    return (path, tuple(privs), any_of)


def _deny(path: str, privs: tuple[str, ...], any_of: bool) -> SimError:
    text = f"Permission check failed ({path}, {('|' if any_of else ',').join(privs)})"
    return SimError(403, text)


class Api:
    """Route table and handlers bound to one ClusterState."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.routes: list[Route] = []
        self._build()

    # -- dispatch ---------------------------------------------------------------------------

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            match = route.regex.match(path)
            if match:
                return route, match.groupdict()
        return None

    def handle(self, authid: str, method: str, path: str, params: dict[str, str]) -> Result:
        path = "/" + path.strip("/") if path.strip("/") else "/"
        found = self.find(method, path)
        if found is None:
            raise SimError(501, f"Method '{method} {path}' not implemented")
        route, uri = found
        merged = dict(params)
        for key, value in uri.items():
            if key in merged and merged[key] != value:
                raise SimError(400, f"parameter '{key}' - duplicate parameter (already defined)")
            merged[key] = value
        state = self.state
        state.tick()
        with state.lock:
            if route.check is not None:
                template, privs, any_of = route.check
                target = template.format(**merged)
                if not state.permissions.has(authid, target, privs, any_of=any_of):
                    raise _deny(target, privs, any_of)
            if route.proxy:
                self._proxy_target(merged["node"])
            values, errors = validate(route.params, merged)
            if errors:
                raise SimError(400, "Parameter verification failed.", errors=errors)
            return route.handler(Request(authid, method, path, values, state))

    def _proxy_target(self, name: str) -> Node:
        node = self.state.nodes.get(name)
        if node is None and name != "localhost":
            raise SimError(500, f"no such cluster node '{name}'")
        if node is None:
            node = next(iter(self.state.nodes.values()))
        if not node.online:
            raise SimError(595, "No route to host", body=False)
        return node

    def _add(
        self,
        method: str,
        template: str,
        handler: Handler,
        spec: str = "",
        check: Check | None = None,
        proxy: bool = False,
    ) -> None:
        self.routes.append(Route(method, template, handler, parse_spec(spec), check, proxy))

    def _build(self) -> None:
        add = self._add
        vm_audit = _perm("/vms/{vmid}", "VM.Audit")
        add("GET", "/version", self.version)
        add("GET", "/nodes", self.nodes)
        add(
            "GET",
            "/nodes/{node}/status",
            self.node_status,
            NODE,
            _perm("/nodes/{node}", "Sys.Audit"),
            proxy=True,
        )
        add("GET", "/cluster/status", self.cluster_status, "", _perm("/", "Sys.Audit"))
        add("GET", "/cluster/resources", self.cluster_resources, "type:str?(vm|storage|node|sdn)")
        add("GET", "/cluster/tasks", self.cluster_tasks)
        add("GET", "/cluster/log", self.cluster_log, "max:int?>=1")
        add("GET", "/cluster/nextid", self.nextid, "vmid:int?>=100<=999999999")
        add("GET", "/cluster/ha/status/current", self.ha_status, "", _perm("/", "Sys.Audit"))
        add(
            "GET",
            "/cluster/ha/resources",
            self.ha_resources,
            "type:str?(ct|vm)",
            _perm("/", "Sys.Audit"),
        )
        add("GET", "/cluster/backup", self.backup_jobs, "", _perm("/", "Sys.Audit"))
        add(
            "GET",
            "/nodes/{node}/tasks",
            self.node_tasks,
            f"{NODE} errors:bool?=0 limit:int?>=0=50 since:int?"
            " source:str?(archive|active|all)=archive start:int?>=0=0 statusfilter:str?"
            " typefilter:str? until:int? userfilter:str? vmid:int?>=100<=999999999",
            proxy=True,
        )
        add(
            "GET",
            "/nodes/{node}/tasks/{upid}/status",
            self.task_status,
            f"{NODE} upid:str",
            proxy=True,
        )
        add(
            "GET",
            "/nodes/{node}/tasks/{upid}/log",
            self.task_log,
            f"{NODE} upid:str download:bool? limit:int?>=0=50 start:int?>=0=0",
            proxy=True,
        )
        add("DELETE", "/nodes/{node}/tasks/{upid}", self.task_stop, f"{NODE} upid:str", proxy=True)
        add("GET", "/nodes/{node}/qemu", self.guest_list("qemu"), f"{NODE} full:bool?", proxy=True)
        add("GET", "/nodes/{node}/lxc", self.guest_list("lxc"), NODE, proxy=True)
        for gtype in ("qemu", "lxc"):
            base = f"/nodes/{{node}}/{gtype}/{{vmid}}"
            add(
                "GET",
                f"{base}/status/current",
                self.guest_current(gtype),
                f"{NODE} {VMID}",
                vm_audit,
                proxy=True,
            )
            add(
                "GET",
                f"{base}/config",
                self.guest_config(gtype),
                f"{NODE} {VMID} current:bool?=0 snapshot:str?",
                vm_audit,
                proxy=True,
            )
            add(
                "GET",
                f"{base}/snapshot",
                self.guest_snapshots(gtype),
                f"{NODE} {VMID}",
                vm_audit,
                proxy=True,
            )
            add(
                "GET",
                f"{base}/rrddata",
                self.guest_rrd(gtype),
                f"{NODE} {VMID} timeframe:str(hour|day|week|month|year) cf:str?(AVERAGE|MAX)",
                vm_audit,
            )
            specs = _QEMU_POWER_SPECS if gtype == "qemu" else _LXC_POWER_SPECS
            for action, spec in specs.items():
                add(
                    "POST",
                    f"{base}/status/{action}",
                    self.power(gtype, action),
                    f"{NODE} {VMID} {spec}",
                    _perm("/vms/{vmid}", "VM.PowerMgmt"),
                    proxy=True,
                )
        add(
            "GET",
            "/nodes/{node}/rrddata",
            self.node_rrd,
            f"{NODE} timeframe:str(hour|day|week|month|year|decade) cf:str?(AVERAGE|MAX)",
            _perm("/nodes/{node}", "Sys.Audit"),
        )
        add(
            "GET",
            "/nodes/{node}/syslog",
            self.syslog,
            f"{NODE} limit:int?>=0 service:str? since:str? start:int?>=0 until:str?",
            _perm("/nodes/{node}", "Sys.Syslog"),
            proxy=True,
        )
        add(
            "GET",
            "/nodes/{node}/journal",
            self.journal,
            f"{NODE} endcursor:str? lastentries:int?>=0 since:int?>=0 startcursor:str?"
            " until:int?>=0",
            _perm("/nodes/{node}", "Sys.Syslog"),
            proxy=True,
        )
        add(
            "GET",
            "/nodes/{node}/storage",
            self.storage,
            f"{NODE} content:str? enabled:bool?=0 format:bool?=0 storage:str? target:str?",
            proxy=True,
        )
        add("GET", "/access/permissions", self.access_permissions, "path:str? userid:str?")
        add("GET", "/access/roles", self.access_roles)
        add("GET", "/pools", self.pools, "poolid:str? type:str?(qemu|lxc|storage)")
        add(
            "GET",
            "/pools/{poolid}",
            self.pool,
            "poolid:str type:str?(qemu|lxc|storage)",
            _perm("/pool/{poolid}", "Pool.Audit"),
        )

    # -- helpers ----------------------------------------------------------------------------

    def _can(self, req: Request, path: str, *privs: str) -> bool:
        return req.state.permissions.has(req.authid, path, privs, any_of=True)

    def _guest(self, req: Request, gtype: str) -> Guest:
        node = req.params["node"]
        vmid = req.params["vmid"]
        guest = req.state.guests.get(vmid)
        if guest is None or guest.type != gtype or guest.node != node:
            folder = "qemu-server" if gtype == "qemu" else "lxc"
            raise SimError(
                500, f"Configuration file 'nodes/{node}/{folder}/{vmid}.conf' does not exist"
            )
        return guest

    # -- version, nodes, cluster --------------------------------------------------------------

    def version(self, req: Request) -> Result:
        version = req.state.scenario.version
        major_minor = ".".join(version.replace("-", ".").split(".")[:2])
        repoid = f"{int(unit(req.state.seed, version, 'repo') * 0xFFFFFFFF):08x}"
        return Result({"version": version, "release": major_minor, "repoid": repoid})

    def _node_entry(self, req: Request, node: Node, *, for_resources: bool) -> dict[str, Any]:
        state = req.state
        now = state.now()
        entry: dict[str, Any] = {
            "node": node.name,
            "status": "online" if node.online else "offline",
        }
        if for_resources:
            entry = {"id": f"node/{node.name}", "type": "node", **entry}
        stale = state.node_stale(node, now)
        if not stale:
            entry["level"] = ""  # level and cgroup-mode do not need Sys.Audit (extract_node_stats)
            if for_resources:
                entry["cgroup-mode"] = 2
        if not self._can(req, f"/nodes/{node.name}", "Sys.Audit"):
            return entry
        if not stale:
            entry.update(maxcpu=node.cpus, maxmem=node.memory, maxdisk=node.disk)
        if node.online:
            usage = state.node_usage(node, now)
            entry.update(
                cpu=round(usage["cpu"], 6),
                mem=int(usage["mem"]),
                uptime=int(now - node.boot),
                disk=int(usage["disk"]),  # /nodes too: same extract_node_stats (NOTES §e)
            )
        return entry

    def nodes(self, req: Request) -> Result:
        out = []
        for node in req.state.nodes.values():
            entry = self._node_entry(req, node, for_resources=False)
            entry["ssl_fingerprint"] = req.state.fingerprint
            entry["type"] = "node"
            entry["id"] = f"node/{node.name}"
            out.append(entry)
        return Result(out)

    def node_status(self, req: Request) -> Result:
        state = req.state
        node = state.nodes[req.params["node"]]
        now = state.now()
        usage = state.node_usage(node, now)
        free_mem = node.memory - int(usage["mem"])
        load = usage["cpu"] * node.cpus
        major = state.scenario.pve_major
        repoid = self.version(req).data["repoid"]
        kernel = "6.14.11-4-pve" if major >= 9 else "6.8.12-4-pve"
        data: dict[str, Any] = {
            "cpu": round(usage["cpu"], 6),
            "wait": round(usage["iowait"], 6),
            "idle": 0,
            "uptime": int(now - node.boot),
            "loadavg": [f"{load:.2f}", f"{load * 0.95:.2f}", f"{load * 0.9:.2f}"],
            "cpuinfo": {
                "cores": max(1, node.cpus // 2),
                "cpus": node.cpus,
                "sockets": 1,
                "model": "AMD EPYC 7302P 16-Core Processor",
                "mhz": "2999.998",
                "hvm": "1",
                "user_hz": 100,
                "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr svm",
            },
            "memory": {
                "total": node.memory,
                "used": int(usage["mem"]),
                "free": free_mem,
                "available": int(free_mem * 1.1) if free_mem > 0 else 0,
            },
            "swap": {"total": 8 * 1024**3, "used": 0, "free": 8 * 1024**3},
            "rootfs": {
                "total": node.disk,
                "used": int(usage["disk"]),
                "free": node.disk - int(usage["disk"]),
                "avail": node.disk - int(usage["disk"]),
            },
            "ksm": {"shared": 0},
            "pveversion": f"pve-manager/{state.scenario.version}/{repoid}",
            "kversion": f"Linux {kernel} #1 SMP PREEMPT_DYNAMIC PMX {kernel} (2025-09-30T10:00Z)",
            "current-kernel": {
                "sysname": "Linux",
                "release": kernel,
                "version": f"#1 SMP PREEMPT_DYNAMIC PMX {kernel} (2025-09-30T10:00Z)",
                "machine": "x86_64",
            },
            "boot-info": {"mode": "efi", "secureboot": 0},
        }
        return Result(data)

    def cluster_status(self, req: Request) -> Result:
        state = req.state
        sc = state.scenario
        online = [n for n in state.nodes.values() if n.online]
        out: list[dict[str, Any]] = []
        local = next(iter(online), None)
        if sc.cluster_name:
            out.append(
                {
                    "type": "cluster",
                    "id": "cluster",
                    "name": sc.cluster_name,
                    "nodes": len(state.nodes),
                    "quorate": 1 if len(online) * 2 > len(state.nodes) else 0,
                    "version": 3 + len(state.nodes),
                }
            )
        for node in state.nodes.values():
            out.append(
                {
                    "type": "node",
                    "id": f"node/{node.name}",
                    "name": node.name,
                    "nodeid": node.nodeid,
                    "ip": node.ip,
                    "online": 1 if node.online else 0,
                    "local": 1 if node is local else 0,
                    "level": "",
                }
            )
        return Result(out)

    def _guest_stats(self, guest: Guest, now: float) -> dict[str, Any]:
        state = self.state
        running = guest.running
        out: dict[str, Any] = {
            "maxcpu": guest.cores,
            "maxmem": guest.memory,
            "maxdisk": guest.disk,
            # `or 0`: an idle guest shows 0 as PVE's JSON does, not 0.0
            "cpu": (round(state.guest_cpu(guest, now), 6) or 0) if running else 0,
            "mem": state.guest_mem(guest, now) if running else 0,
            "disk": state.guest_disk(guest, now),
            "uptime": state.uptime(guest, now),
        }
        out.update(state.guest_counters(guest, now))
        return out

    def _resource_guest(self, req: Request, guest: Guest, now: float) -> dict[str, Any]:
        state = req.state
        node = state.nodes[guest.node]
        entry: dict[str, Any] = {
            "id": guest.key,
            "type": guest.type,
            "vmid": guest.vmid,
            "node": guest.node,
            "template": 1 if guest.template else 0,
        }
        if state.node_stale(node, now):
            entry["status"] = "unknown"
        else:
            entry["name"] = guest.name
            entry["status"] = guest.status
            if not node.online:
                entry["status"] = "stopped" if not guest.running else guest.status
            entry.update(self._guest_stats(guest, now))
            if guest.type == "qemu":
                entry["memhost"] = entry["mem"]
        if guest.lock:
            entry["lock"] = guest.lock
        if guest.tags:
            entry["tags"] = ";".join(guest.tags)
        if guest.pool and self._can(req, f"/pool/{guest.pool}", "Pool.Audit"):
            entry["pool"] = guest.pool
        if guest.hastate:
            entry["hastate"] = guest.hastate
        return entry

    def cluster_resources(self, req: Request) -> Result:
        state = req.state
        wanted = req.params.get("type")
        now = state.now()
        out: list[dict[str, Any]] = []
        if wanted in (None, "node"):
            out.extend(self._node_entry(req, n, for_resources=True) for n in state.nodes.values())
        if wanted in (None, "vm"):
            perms = state.permissions
            for guest in state.guests.values():
                if perms.has(req.authid, f"/vms/{guest.vmid}", ("VM.Audit",)):
                    out.append(self._resource_guest(req, guest, now))
        if wanted in (None, "storage"):
            out.extend(self._storages(req, None, for_resources=True))
        if wanted in (None, "sdn"):
            for node in state.nodes.values():
                if self._can(req, "/sdn/zones/localnetwork", "SDN.Audit"):
                    out.append(
                        {
                            "id": f"sdn/{node.name}/localnetwork",
                            "type": "sdn",
                            "sdn": "localnetwork",
                            "node": node.name,
                            "status": "ok" if node.online else "unknown",
                        }
                    )
        if wanted is None:
            for pool in state.scenario.pools:
                if self._can(req, f"/pool/{pool}", "Pool.Audit"):
                    out.append({"id": f"/pool/{pool}", "type": "pool", "pool": pool})
        return Result(out)

    def _storages(
        self, req: Request, only_node: str | None, *, for_resources: bool
    ) -> list[dict[str, Any]]:
        state = req.state
        now = state.now()
        out: list[dict[str, Any]] = []
        defs = (
            ("local", "dir", "iso,vztmpl,backup", 0, 100 * 1024**3),
            ("local-lvm", "lvmthin", "images,rootdir", 0, 0),
            ("nas-backup", "nfs", "backup,iso", 1, 8 * 1024**4),
        )
        for node in state.nodes.values():
            if only_node is not None and node.name != only_node:
                continue
            for sid, plugin, content, shared, size in defs:
                privs: tuple[str, ...] = ("Datastore.Audit",)
                if not for_resources:
                    privs = ("Datastore.Audit", "Datastore.AllocateSpace")
                if not self._can(req, f"/storage/{sid}", *privs):
                    continue
                total = size or node.disk * 3
                used = int(total * (0.15 + 0.6 * unit(state.seed, f"{node.name}/{sid}", "used")))
                if for_resources:
                    entry: dict[str, Any] = {
                        "id": f"storage/{node.name}/{sid}",
                        "type": "storage",
                        "storage": sid,
                        "node": node.name,
                        "plugintype": plugin,
                        "shared": shared,
                        "content": content,
                        "status": "available" if node.online else "unknown",
                    }
                    if node.online or not state.node_stale(node, now):
                        entry.update(disk=used, maxdisk=total)
                else:
                    entry = {
                        "storage": sid,
                        "type": plugin,
                        "content": content,
                        "shared": shared,
                        "active": 1,
                        "enabled": 1,
                        "total": total,
                        "used": used,
                        "avail": total - used,
                        "used_fraction": round(used / total, 6),
                    }
                out.append(entry)
        return out

    def storage(self, req: Request) -> Result:
        items = self._storages(req, req.params["node"], for_resources=False)
        if "storage" in req.params:
            items = [i for i in items if i["storage"] == req.params["storage"]]
        if "content" in req.params:
            wanted = set(str(req.params["content"]).split(","))
            items = [i for i in items if wanted & set(i["content"].split(","))]
        return Result(items)

    def ha_status(self, req: Request) -> Result:
        state = req.state
        now = int(state.now())
        online = [n for n in state.nodes.values() if n.online]
        quorate = len(online) * 2 > len(state.nodes)
        master = online[0].name if online else next(iter(state.nodes))
        out: list[dict[str, Any]] = [
            {
                "id": "quorum",
                "type": "quorum",
                "node": master,
                "status": "OK" if quorate else "No quorum on node",
                "quorate": 1 if quorate else 0,
            },
            {
                "id": f"master/{master}",
                "type": "master",
                "node": master,
                "status": f"{master} (active, {_ctime(now)})",
                "timestamp": now,
            },
        ]
        for node in state.nodes.values():
            mode = "active" if node.online else "old timestamp - dead?"
            out.append(
                {
                    "id": f"lrm/{node.name}",
                    "type": "lrm",
                    "node": node.name,
                    "status": f"{node.name} ({mode}, {_ctime(now)})",
                    "timestamp": now if node.online else int(node.offline_since or now),
                }
            )
        for guest in state.guests.values():
            if not guest.ha:
                continue
            sid = f"{'vm' if guest.type == 'qemu' else 'ct'}:{guest.vmid}"
            out.append(
                {
                    "id": f"service:{sid}",
                    "type": "service",
                    "sid": sid,
                    "node": guest.node,
                    "state": guest.hastate or "stopped",
                    "request_state": "started" if guest.hastate == "started" else "stopped",
                    "crm_state": guest.hastate or "stopped",
                    "max_relocate": 1,
                    "max_restart": 1,
                    "status": f"{sid} ({guest.node}, {guest.hastate or 'stopped'})",
                }
            )
        return Result(out)

    def ha_resources(self, req: Request) -> Result:
        wanted = req.params.get("type")
        out = []
        for guest in req.state.guests.values():
            if not guest.ha:
                continue
            kind = "vm" if guest.type == "qemu" else "ct"
            if wanted and wanted != kind:
                continue
            out.append(
                {
                    "sid": f"{kind}:{guest.vmid}",
                    "type": kind,
                    "state": "started" if guest.hastate == "started" else "stopped",
                    "digest": f"{int(unit(req.state.seed, str(guest.vmid), 'ha') * 2**40):010x}",
                    "max_relocate": 1,
                    "max_restart": 1,
                }
            )
        return Result(out)

    def backup_jobs(self, req: Request) -> Result:
        return Result(
            [
                {
                    "id": "backup-nightly",
                    "type": "vzdump",
                    "enabled": 1,
                    "schedule": "02:30",
                    "storage": "nas-backup",
                    "mode": "snapshot",
                    "all": 1,
                    "compress": "zstd",
                    "next-run": int(req.state.now()) // 86400 * 86400 + 86400 + 9000,
                }
            ]
        )

    def nextid(self, req: Request) -> Result:
        wanted = req.params.get("vmid")
        if wanted is not None:
            if wanted in req.state.guests:
                raise SimError(400, f"VM {wanted} already exists")
            return Result(wanted)
        vmid = 100
        while vmid in req.state.guests:
            vmid += 1
        return Result(str(vmid))  # PVE returns the id as a string here

    # -- tasks ------------------------------------------------------------------------------

    def _task_visible(self, req: Request, task: Task) -> bool:
        user = task.upid.user
        if user == req.authid:
            return True
        if "!" not in req.authid and user.split("!", 1)[0] == req.authid:
            return True
        return self._can(req, f"/nodes/{task.node}", "Sys.Audit")

    def _task_entry(self, task: Task, *, status_field: bool = True) -> dict[str, Any]:
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

    def cluster_tasks(self, req: Request) -> Result:
        state = req.state
        full = self._can(req, "/", "Sys.Audit")
        out = []
        for key in reversed(state.task_order):
            task = state.tasks[key]
            # PVE compares the split user name with the caller's full id here (NOTES §b).
            if not full and task.upid.userid != req.authid:
                continue
            entry = self._task_entry(task)
            if entry.get("status") == "RUNNING":
                del entry["status"]
            out.append(entry)
            if len(out) >= 50:
                break
        return Result(out)

    def node_tasks(self, req: Request) -> Result:
        state = req.state
        p = req.params
        node = p["node"]
        source = p.get("source", "archive")
        status_filter = set(str(p.get("statusfilter", "")).split(",")) - {""}
        user_filter = str(p.get("userfilter", "")).lower()
        matched = []
        for key in reversed(state.task_order):
            task = state.tasks[key]
            if task.node != node or not self._task_visible(req, task):
                continue
            if source == "archive" and not task.finished:
                continue
            if source == "active" and task.finished:
                continue
            if p.get("errors") and (not task.finished or task.exitstatus == "OK"):
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
            if status_filter and _task_kind(task) not in status_filter:
                continue
            matched.append(task)
        start = p.get("start", 0)
        limit = p.get("limit", 50)
        page = matched[start : start + limit] if limit else matched[start:]
        return Result([self._task_entry(t) for t in page], total=len(matched))

    def _task(self, req: Request) -> Task:
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
        if not self._task_visible(req, task):
            raise SimError(403, f"Permission check failed (/nodes/{upid.node}, Sys.Audit)")
        return task

    def task_status(self, req: Request) -> Result:
        task = self._task(req)
        entry = self._task_entry(task, status_field=False)
        entry.pop("endtime", None)  # read_task_status is upid_decode + status: no endtime
        entry["status"] = "stopped" if task.finished else "running"
        if task.finished:
            entry["exitstatus"] = task.exitstatus
        return Result(entry)

    def task_log(self, req: Request) -> Result:
        task = self._task(req)
        lines = task.visible_lines(req.state.now()) or ["no content"]
        start = req.params.get("start", 0)
        limit = req.params.get("limit", 50)
        chosen = lines[start : start + limit] if limit else lines[start:]
        data = [{"n": start + i + 1, "t": text} for i, text in enumerate(chosen)]
        return Result(data, total=len(lines))

    def task_stop(self, req: Request) -> Result:
        task = self._task(req)
        own = task.upid.user == req.authid or (
            "!" not in req.authid and task.upid.userid == req.authid
        )
        if not own and not self._can(req, f"/nodes/{task.node}", "Sys.Modify"):
            raise SimError(403, f"Permission check failed (/nodes/{task.node}, Sys.Modify)")
        if not task.finished:
            task.killed = True
            task.error = "interrupted by signal"
            task.duration = max(0.0, req.state.now() - task.upid.starttime)
            task.on_end = None
            req.state._finish(task)
        return Result(None)

    # -- guests -----------------------------------------------------------------------------

    def guest_list(self, gtype: str) -> Handler:
        def handler(req: Request) -> Result:
            state = req.state
            now = state.now()
            out = []
            for guest in state.guests.values():
                if guest.type != gtype or guest.node != req.params["node"]:
                    continue
                if not self._can(req, f"/vms/{guest.vmid}", "VM.Audit"):
                    continue
                out.append(self._current(guest, now, listing=True))
            return Result(out)

        return handler

    def _current(self, guest: Guest, now: float, *, listing: bool = False) -> dict[str, Any]:
        stats = self._guest_stats(guest, now)
        entry: dict[str, Any] = {
            "vmid": guest.vmid,
            "name": guest.name,
            "status": "running" if guest.running else "stopped",
            "cpus": guest.cores,
            **stats,
        }
        entry["maxcpu"] = guest.cores
        if guest.template:
            entry["template"] = 1
        if guest.tags:
            entry["tags"] = ";".join(guest.tags)
        if guest.lock:
            entry["lock"] = guest.lock
        if guest.type == "qemu":
            entry["qmpstatus"] = guest.status if guest.running else "stopped"
            entry["memhost"] = entry["mem"]
            if guest.running:
                entry["pid"] = 1000 + guest.vmid % 90000
                entry["running-machine"] = "pc-i440fx-9.2+pve1"
                entry["running-qemu"] = "9.2.0"
        else:
            entry["type"] = "lxc"
            entry["maxswap"] = 512 * 1024**2
            entry["swap"] = 0
            if guest.running:
                entry["pid"] = 1000 + guest.vmid % 90000
        if not listing:
            if guest.ha:
                entry["ha"] = {"managed": 1, "state": guest.hastate or "stopped", "group": None}
                entry["ha"] = {k: v for k, v in entry["ha"].items() if v is not None}
            else:
                entry["ha"] = {"managed": 0}
            if guest.type == "qemu":
                entry["agent"] = 1
            if guest.type == "qemu" and guest.running:
                entry.update(_qmp_details(guest.vmid, entry, int(now)))
        return entry

    def guest_current(self, gtype: str) -> Handler:
        def handler(req: Request) -> Result:
            guest = self._guest(req, gtype)
            return Result(self._current(guest, req.state.now()))

        return handler

    def guest_config(self, gtype: str) -> Handler:
        def handler(req: Request) -> Result:
            guest = self._guest(req, gtype)
            seed = req.state.seed
            mac = ":".join(
                f"{int(unit(seed, str(guest.vmid), f'mac{i}') * 256):02X}" for i in range(3)
            )
            digest = f"{int(unit(seed, guest.key, 'digest') * 2**64):016x}" * 2 + "00000000"
            cfg: dict[str, Any] = {"digest": digest[:40], "cores": guest.cores}
            mem_mb = guest.memory // 1024**2
            disk_gb = max(1, guest.disk // 1024**3)
            if gtype == "qemu":
                cfg.update(
                    name=guest.name,
                    memory=str(mem_mb),
                    sockets=1,
                    cpu="x86-64-v2-AES",  # what the GUI wizard writes (PVE 8/9)
                    numa=0,
                    ostype="l26",
                    scsihw="virtio-scsi-single",
                    scsi0=f"local-lvm:vm-{guest.vmid}-disk-0,iothread=1,size={disk_gb}G",
                    net0=f"virtio=BC:24:11:{mac},bridge=vmbr0,firewall=1",
                    boot="order=scsi0;net0",
                    agent="1",
                    onboot=1,
                    smbios1=f"uuid={_uuid(seed, guest.key)}",
                    vmgenid=_uuid(seed, guest.key + "gen"),
                    meta="creation-qemu=9.2.0,ctime=1735000000",
                )
            else:
                cfg.update(
                    hostname=guest.name,
                    memory=mem_mb,
                    swap=512,
                    ostype="debian",
                    arch="amd64",
                    rootfs=f"local-lvm:vm-{guest.vmid}-disk-0,size={disk_gb}G",
                    net0=f"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:{mac},ip=dhcp,type=veth",
                    unprivileged=1,
                    features="nesting=1",
                    onboot=1,
                )
            if guest.tags:
                cfg["tags"] = ";".join(guest.tags)
            if guest.lock:
                cfg["lock"] = guest.lock
            if guest.template:
                cfg["template"] = 1
            return Result(cfg)

        return handler

    def guest_snapshots(self, gtype: str) -> Handler:
        def handler(req: Request) -> Result:
            guest = self._guest(req, gtype)
            snaps: list[dict[str, Any]] = []
            if unit(req.state.seed, guest.key, "snap") > 0.5:
                when = int(req.state.start_time - 86400 * 7)
                snaps.append(
                    {
                        "name": "before-upgrade",
                        "description": "before the OS upgrade",
                        "snaptime": when,
                    }
                )
                if gtype == "qemu":
                    snaps[-1]["vmstate"] = 0
            current = {"name": "current", "description": "You are here!", "running": 0}
            if snaps:
                current["parent"] = snaps[-1]["name"]
            if guest.running:
                current["running"] = 1
            snaps.append(current)
            return Result(snaps)

        return handler

    def power(self, gtype: str, action: str) -> Handler:
        def handler(req: Request) -> Result:
            guest = self._guest(req, gtype)
            return Result(power.submit(req.state, guest, action, req.authid, req.params))

        return handler

    # -- rrd --------------------------------------------------------------------------------

    def node_rrd(self, req: Request) -> Result:
        state = req.state
        node = state.nodes.get(req.params["node"])
        if node is None:
            raise SimError(500, f"no such cluster node '{req.params['node']}'")
        times, _ = rrd_times(state.now(), req.params["timeframe"], state.scenario.pve_major)
        use_max = req.params.get("cf") == "MAX"
        rows = []
        for t in times:
            row: dict[str, Any] = {"time": t}
            if node.offline_since is None or t < node.offline_since:
                usage = state.node_usage(node, t)
                cpu = usage["cpu"]
                if use_max:
                    cpu = min(1.0, cpu * 1.2)
                row.update(
                    cpu=round(cpu, 6),
                    maxcpu=float(node.cpus),
                    iowait=round(usage["iowait"], 6),
                    loadavg=round(cpu * node.cpus, 2),
                    memtotal=float(node.memory),
                    memused=float(usage["mem"]),
                    memavailable=float(node.memory - usage["mem"]),
                    swaptotal=float(8 * 1024**3),
                    swapused=0.0,
                    roottotal=float(node.disk),
                    rootused=float(usage["disk"]),
                    netin=round(Profile(state.seed, node.name + "/ni", 0.05, 1).at(t) * 2e6, 2),
                    netout=round(Profile(state.seed, node.name + "/no", 0.05, 1).at(t) * 1.5e6, 2),
                )
                if state.scenario.pve_major >= 9:
                    row.update(
                        arcsize=0.0,
                        pressurecpusome=round(cpu * 0.1, 6),
                        pressureiosome=round(usage["iowait"] * 0.5, 6),
                        pressureiofull=round(usage["iowait"] * 0.3, 6),
                        pressurememorysome=0.0,
                        pressurememoryfull=0.0,
                    )
                else:
                    row.pop("memavailable")
            rows.append(_perl_numbers(row))
        if rows and len(rows[-1]) == 1:
            rows.pop()
        return Result(rows)

    def guest_rrd(self, gtype: str) -> Handler:
        def handler(req: Request) -> Result:
            state = req.state
            guest = state.guests.get(req.params["vmid"])
            if guest is None or guest.type != gtype:
                folder = "qemu-server" if gtype == "qemu" else "lxc"
                raise SimError(
                    500,
                    f"Configuration file 'nodes/{req.params['node']}/{folder}/"
                    f"{req.params['vmid']}.conf' does not exist",
                )
            times, _ = rrd_times(state.now(), req.params["timeframe"], state.scenario.pve_major)
            use_max = req.params.get("cf") == "MAX"
            rows = []
            for t in times:
                row: dict[str, Any] = {
                    "time": t,
                    "maxcpu": float(guest.cores),
                    "maxmem": float(guest.memory),
                    "maxdisk": float(guest.disk),
                    "disk": float(state.guest_disk(guest, t)),
                }
                if guest.running_at(t) and guest.status != "paused":
                    cpu = state.guest_cpu(guest, t)
                    if use_max:
                        cpu = min(1.0, cpu * 1.25)
                    row["cpu"] = round(cpu, 6)
                    row["mem"] = float(state.guest_mem(guest, t))
                    row.update({k: round(v, 2) for k, v in state.guest_rates(guest, t).items()})
                    if state.scenario.pve_major >= 9:
                        if gtype == "qemu":
                            row["memhost"] = row["mem"]
                        row.update(
                            pressurecpusome=round(cpu * 0.05, 6),
                            pressurecpufull=round(cpu * 0.02, 6),
                            pressureiosome=0.001,
                            pressureiofull=0.0005,
                            pressurememorysome=0.0,
                            pressurememoryfull=0.0,
                        )
                rows.append(_perl_numbers(row))
            return Result(rows)

        return handler

    # -- logs -------------------------------------------------------------------------------

    def cluster_log(self, req: Request) -> Result:
        state = req.state
        limit = req.params.get("max", 50)
        full = self._can(req, "/", "Sys.Syslog")
        entries = []
        for index, item in enumerate(reversed(state.cluster_log)):
            if not full and item["user"] != req.authid:
                continue
            uid = len(state.cluster_log) - index
            entries.append({"uid": uid, "id": f"{uid}:{item['node']}", **item})
            if len(entries) >= limit:
                break
        return Result(entries)

    def _syslog_lines(self, state: ClusterState, node: str) -> list[str]:
        lines = []
        now = int(state.now())
        services = ("pvedaemon", "pveproxy", "pvestatd", "corosync", "pmxcfs", "cron")
        count = 200
        for i in range(count):
            t = now - (count - i) * 37
            svc = services[int(unit(state.seed, node, f"svc{i}") * len(services))]
            msg = {
                "pvedaemon": "worker exit",
                "pveproxy": "worker 12345 finished",
                "pvestatd": "status update time (0.412 seconds)",
                "corosync": "[KNET  ] host: host: 2 (passive) best link: 0 (pri: 1)",
                "pmxcfs": "[status] notice: received log",
                "cron": "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
            }[svc]
            stamp = _syslog_time(t)
            lines.append(f"{stamp} {node} {svc}[{1000 + i}]: {msg}")
        for key in state.task_order:
            task = state.tasks[key]
            if task.node == node and task.finished and task.exitstatus != "OK":
                stamp = _syslog_time(task.endtime or now)
                lines.append(
                    f"{stamp} {node} pvedaemon[{task.upid.pid}]: {task.upid.type} "
                    f"{task.upid.id} failed: {task.exitstatus}"
                )
        return lines

    def syslog(self, req: Request) -> Result:
        lines = self._syslog_lines(req.state, req.params["node"])
        service = req.params.get("service")
        if service:
            lines = [line for line in lines if f" {service}[" in line]
        start = req.params.get("start", 0)
        limit = req.params.get("limit", 50)
        chosen = lines[start : start + limit] if limit else lines[start:]
        return Result(
            [{"n": start + i + 1, "t": text} for i, text in enumerate(chosen)], total=len(lines)
        )

    def journal(self, req: Request) -> Result:
        lines = self._syslog_lines(req.state, req.params["node"])
        last = req.params.get("lastentries") or 50
        chosen = lines[-last:]
        cursor = f"s=0a1b2c3d;i={len(lines):x}"
        return Result([f"{cursor};start", *chosen, f"{cursor};end"])

    # -- access, pools ----------------------------------------------------------------------

    def access_permissions(self, req: Request) -> Result:
        state = req.state
        target = req.params.get("userid") or req.authid
        if target != req.authid:
            owner = target.split("!", 1)[0]
            own_token = "!" in target and owner == req.authid
            if not own_token and not self._can(req, "/access", "Sys.Audit"):
                raise SimError(403, "Permission check failed (/access, Sys.Audit)")
        path = req.params.get("path")
        if path is not None:
            return Result({path: state.permissions.privileges(target, path)})
        return Result(state.permissions.dump(target))

    def access_roles(self, req: Request) -> Result:
        builtin = req.state.scenario.roles
        from argus_tui.sim.roles import builtin_roles

        special = builtin_roles(req.state.scenario.pve_major)
        out = []
        for role, privs in sorted(builtin.items()):
            entry: dict[str, Any] = {"roleid": role, "privs": ",".join(sorted(privs))}
            if role in special:
                entry["special"] = 1
            out.append(entry)
        return Result(out)

    def _pool_members(self, req: Request, pool: str, kind: str | None) -> list[dict[str, Any]]:
        members = []
        for guest in req.state.guests.values():
            if guest.pool != pool or (kind and guest.type != kind):
                continue
            if not self._can(req, f"/vms/{guest.vmid}", "VM.Audit"):
                continue
            # Pool.pm lists members with extract_vm_stats: the cluster/resources fields.
            members.append(self._resource_guest(req, guest, req.state.now()))
        return members

    def pools(self, req: Request) -> Result:
        wanted = req.params.get("poolid")
        out = []
        for pool in req.state.scenario.pools:
            if wanted and pool != wanted:
                continue
            if not self._can(req, f"/pool/{pool}", "Pool.Audit"):
                continue
            entry: dict[str, Any] = {"poolid": pool}
            if wanted:
                entry["members"] = self._pool_members(req, pool, req.params.get("type"))
            out.append(entry)
        return Result(out)

    def pool(self, req: Request) -> Result:
        pool = req.params["poolid"]
        if pool not in req.state.scenario.pools:
            raise SimError(500, f"pool '{pool}' does not exist")
        return Result({"members": self._pool_members(req, pool, req.params.get("type"))})


def _qmp_details(vmid: int, entry: dict[str, Any], now: int) -> dict[str, Any]:
    """What qemu-server's full vmstatus adds for a running VM from QMP and /proc (NOTES §g)."""
    rd, wr = entry["diskread"], entry["diskwrite"]
    block = {"rd_bytes": rd, "wr_bytes": wr, "rd_operations": rd // 65536}
    block.update(wr_operations=wr // 65536, flush_operations=wr // 1048576, timed_stats=[])
    free = entry["maxmem"] - entry["mem"]
    balloon = {"actual": entry["maxmem"], "max_mem": entry["maxmem"], "free_mem": free}
    balloon.update(total_mem=entry["maxmem"] * 24 // 25, last_update=now, mem_swapped_in=0)
    balloon.update(mem_swapped_out=0, major_page_faults=vmid * 7, minor_page_faults=vmid * 3001)
    return {
        "blockstat": {"scsi0": block},
        "nics": {f"tap{vmid}i0": {"netin": entry["netin"], "netout": entry["netout"]}},
        "proxmox-support": {
            "backup-max-workers": True,
            "pbs-dirty-bitmap": True,
            "pbs-dirty-bitmap-migration": True,
            "pbs-dirty-bitmap-savevm": True,
            "pbs-library-version": "1.5.2 (UNKNOWN)",
            "pbs-masterkey": True,
            "query-bitmap-info": True,
        },
        "balloon": entry["maxmem"],
        "ballooninfo": balloon,
        "freemem": free,
    }


def _perl_numbers(row: dict[str, Any]) -> dict[str, Any]:
    """RRD values are floats, but PVE's (Perl) JSON encoder prints integral ones as integers."""
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in row.items()}


def _task_kind(task: Task) -> str:
    if not task.finished:
        return "unknown"
    if task.exitstatus == "OK":
        return "ok"
    if task.exitstatus and task.exitstatus.startswith("WARNINGS"):
        return "warning"
    return "error"


def _ctime(t: int) -> str:
    import time

    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(t))


def _syslog_time(t: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def _uuid(seed: int, key: str) -> str:
    h = "".join(f"{int(unit(seed, key, str(i)) * 0xFFFFFFFF):08x}" for i in range(4))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
