"""Usage history: `rrddata` of nodes and guests, computed from the metric profiles.

Neither route is proxied: pmxcfs holds every node's RRD files, so an offline node's
history still answers.
"""

from __future__ import annotations

from typing import Any

from argus_tui.sim.api.guests import GUEST, LXC, QEMU, VM_AUDIT, guest_type, missing_config
from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, perm
from argus_tui.sim.metrics import Profile, rrd_times
from argus_tui.sim.state import SimError

routes = RouteTable()
GUEST_RRD = f"{GUEST} timeframe:str(hour|day|week|month|year) cf:str?(AVERAGE|MAX)"


@routes.get(
    "/nodes/{node}/rrddata",
    f"{NODE} timeframe:str(hour|day|week|month|year|decade) cf:str?(AVERAGE|MAX)",
    check=perm("/nodes/{node}", "Sys.Audit"),
)
def node_rrd(req: Request) -> Result:
    state = req.state
    node = state.nodes.get(req.params["node"])
    if node is None:
        raise SimError(500, f"no such cluster node '{req.params['node']}'")
    pve9 = state.scenario.pve_major >= 9
    if not pve9 and req.params["timeframe"] == "decade":  # added to the schema in PVE 9.1
        raise SimError(
            400,
            "Parameter verification failed.",
            errors={
                "timeframe": "value 'decade' does not have a value in the enumeration"
                " 'hour, day, week, month, year'"
            },
        )
    times, _ = rrd_times(state.now(), req.params["timeframe"], state.scenario.pve_major)
    use_max = req.params.get("cf") == "MAX"
    rows = []
    for t in times:
        row: dict[str, Any] = {"time": t}
        if node.offline_since is None or t < node.offline_since:
            usage = state.usage.node(node, t)
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
            if pve9:
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


@routes.get(f"{QEMU}/rrddata", GUEST_RRD, check=VM_AUDIT)
@routes.get(f"{LXC}/rrddata", GUEST_RRD, check=VM_AUDIT)
def guest_rrd(req: Request) -> Result:
    state = req.state
    gtype = guest_type(req)
    guest = state.guests.get(req.params["vmid"])
    if guest is None or guest.type != gtype:
        raise missing_config(gtype, req.params["node"], req.params["vmid"])
    pve9 = state.scenario.pve_major >= 9
    times, _ = rrd_times(state.now(), req.params["timeframe"], state.scenario.pve_major)
    use_max = req.params.get("cf") == "MAX"
    rows = []
    for t in times:
        row: dict[str, Any] = {
            "time": t,
            "maxcpu": float(guest.cores),
            "maxmem": float(guest.memory),
            "maxdisk": float(guest.disk),
            "disk": float(state.usage.guest_disk(guest, t)),
        }
        if guest.running_at(t) and guest.status != "paused":
            cpu = state.usage.guest_cpu(guest, t)
            if use_max:
                cpu = min(1.0, cpu * 1.25)
            row["cpu"] = round(cpu, 6)
            row["mem"] = float(state.usage.guest_mem(guest, t))
            row.update({k: round(v, 2) for k, v in state.usage.guest_rates(guest, t).items()})
            if pve9:
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


def _perl_numbers(row: dict[str, Any]) -> dict[str, Any]:
    """RRD values are floats, but PVE's (Perl) JSON encoder prints integral ones as integers."""
    return {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in row.items()}
