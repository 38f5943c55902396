"""Text consoles: `POST .../termproxy` and the `GET .../vncwebsocket` it leads to.

The POST starts a termproxy session (`sim/console.py`) and answers its port (a string,
as a real host sends it), ticket, task and the caller. The GET checks permission and the
ticket as PVE's handler does; with `Upgrade: websocket` the server then relays to the
session (`sim/websocket.py`), without it the answer is `{"port": "5900"}`, as PVE's. None
of these is forwarded to another node: the simulator stands for the node in the path,
so an offline one answers nothing (595).
"""

from __future__ import annotations

from argus_tui.sim.api.guests import GUEST, LXC, QEMU, find_guest, guest_type
from argus_tui.sim.api.router import NODE, Request, Result, RouteTable, perm
from argus_tui.sim.console import ConsoleSession, Target
from argus_tui.sim.state import SimError

routes = RouteTable()
VM_CONSOLE = perm("/vms/{vmid}", "VM.Console")
SYS_CONSOLE = perm("/nodes/{node}", "Sys.Console")
WEBSOCKET = "port:int>=5900<=5999 vncticket:str<=512"


def _node_up(req: Request) -> None:
    node = req.state.nodes.get(req.params["node"])
    if node is not None and not node.online:
        raise SimError(595, "No route to host", body=False)


def _shell_user(req: Request) -> None:
    """PVE 8, and pve-manager before 9.0.13, check the caller's id as a user name: a
    token id (with its `!`) fails."""
    state = req.state
    old = state.scenario.pve_major < 9 or not state.scenario.console_tokens
    if old and "!" in req.authid:
        raise SimError(500, f"value '{req.authid}' does not look like a valid user name")


def _answer(req: Request, session: ConsoleSession | None) -> Result:
    if session is None:
        raise SimError(500, "unable to find free port (5900-5999)")
    return Result(
        {
            "port": str(session.port),
            "ticket": session.ticket,
            "upid": str(session.task.upid),
            "user": req.authid,
        }
    )


@routes.post(
    f"{QEMU}/termproxy", f"{GUEST} serial:str?(serial0|serial1|serial2|serial3)", check=VM_CONSOLE
)
@routes.post(f"{LXC}/termproxy", GUEST, check=VM_CONSOLE)
def guest_termproxy(req: Request) -> Result:
    """A guest's console: `qm terminal` on a serial port of a VM, a container's tty."""
    _node_up(req)
    guest = find_guest(req)
    target = Target(guest.type, guest.node, guest.vmid, req.params.get("serial", ""))
    return _answer(req, req.state.consoles.open(target, req.authid))


@routes.post(
    "/nodes/{node}/termproxy",
    f"{NODE} cmd:str?(ceph_install|login|upgrade)=login cmd-opts:str?",
    check=SYS_CONSOLE,
)
def node_termproxy(req: Request) -> Result:
    """The node's shell: `/bin/login` for everyone but root@pam (`cmd` is not looked at)."""
    _node_up(req)
    _shell_user(req)
    node = req.params["node"]
    if node not in req.state.nodes:
        raise SimError(500, f"Unable to get IP for node '{node}' - node offline?")
    return _answer(req, req.state.consoles.open(Target("node", node), req.authid))


def _verify_ticket(req: Request, path: str) -> Result:
    state = req.state
    port = req.params["port"]
    ticket = req.params["vncticket"]
    if not state.consoles.tickets.verify(ticket, req.authid, path, port, state.now()):
        raise SimError(401, "permission denied - invalid PVEVNC ticket")
    return Result({"port": str(port)})


@routes.get(f"{QEMU}/vncwebsocket", f"{GUEST} {WEBSOCKET}", check=VM_CONSOLE)
@routes.get(f"{LXC}/vncwebsocket", f"{GUEST} {WEBSOCKET}", check=VM_CONSOLE)
def guest_websocket(req: Request) -> Result:
    """The ticket check, then (qemu only) the VM's config must be on that node."""
    result = _verify_ticket(req, f"/vms/{req.params['vmid']}")
    if guest_type(req) == "qemu":
        find_guest(req)
    return result


@routes.get("/nodes/{node}/vncwebsocket", f"{NODE} {WEBSOCKET}", check=SYS_CONSOLE)
def node_websocket(req: Request) -> Result:
    _shell_user(req)
    return _verify_ticket(req, f"/nodes/{req.params['node']}")
