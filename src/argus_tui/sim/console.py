"""Text consoles: the termproxy sessions that `POST .../termproxy` starts, and VNC tickets.

A session is what PVE's termproxy is: a `vncproxy` task (`vncshell` for a node) that
listens on a port 5900-5999 of its node and accepts exactly one connection, within
`accept_timeout` seconds of real time. The WebSocket relay (`websocket.py`) joins it with
`claim`, authenticates the first line, and then talks to the console `attach` gives it:
the emulated terminal (`console_emu.py`), or the error the console program prints. The
task runs for the whole session and ends OK when the console ends; stopping it with
`DELETE .../tasks/UPID` closes the client's connection.

Tickets are `PVEVNC:<hex epoch>::<signature>` over `<authid>:<path>:<port>`, valid from
20 s before to 40 s after they were made (simulated time), as PVE's are.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import math
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from argus_tui.sim.console_emu import ConsoleEmulator, Host
from argus_tui.sim.model import Guest, Task
from argus_tui.sim.scenario_guest import SERIAL_PORTS

if TYPE_CHECKING:
    from argus_tui.sim.state import ClusterState

ACCEPT_TIMEOUT = 10.0  # termproxy's wait for the connection, and then for the ticket line
PORTS = range(5900, 6000)
TICKET_MIN_AGE, TICKET_MAX_AGE = -20, 40
TICKET_FD = 12  # the pipe termproxy reads its pinned ticket from (any number will do)
_GUEST_KERNEL = "6.1.0-28-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22) x86_64"
_HOST_KERNELS = {  # the node's kernel, which containers share
    8: "6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z) x86_64",
    9: "6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z) x86_64",
}


class Tickets:
    """VNC tickets signed with a key of this simulator (PVE signs with its RSA key)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _signature(self, stamp: str, authid: str, path: str, port: int) -> str:
        data = f"{stamp}:{authid}:{path}:{port}".encode()
        # 256 bytes, as long as PVE's RSA-2048 signature (344 base64 characters)
        raw = b"".join(
            hmac.new(self._key, bytes((i,)) + data, hashlib.sha512).digest() for i in range(4)
        )
        return base64.b64encode(raw).decode()

    def assemble(self, authid: str, path: str, port: int, now: float) -> str:
        stamp = f"{int(now):08X}"
        return f"PVEVNC:{stamp}::{self._signature(stamp, authid, path, port)}"

    def verify(self, ticket: str, authid: str, path: str, port: int, now: float) -> bool:
        """Whether `ticket` was made here for exactly that caller, path and port, and
        its age is within (-20 s, 40 s)."""
        prefix, _, rest = ticket.partition(":")
        stamp, sep, signature = rest.partition("::")
        if prefix != "PVEVNC" or not sep or len(stamp) != 8:
            return False
        try:
            made = int(stamp, 16)
        except ValueError:
            return False
        if not TICKET_MIN_AGE < now - made < TICKET_MAX_AGE:
            return False
        expected = self._signature(stamp, authid, path, port)
        return hmac.compare_digest(expected, signature)


@dataclass(frozen=True, slots=True)
class Target:
    """What a console opens: a guest's (qemu serial or container tty) or a node's shell."""

    kind: str  # qemu | lxc | node
    node: str
    vmid: int = 0
    serial: str = ""  # qemu: the interface asked for ("" = the first serial socket)

    @property
    def path(self) -> str:
        """The ACL path the ticket and termproxy's `--path` name."""
        return f"/nodes/{self.node}" if self.kind == "node" else f"/vms/{self.vmid}"


@dataclass(eq=False, slots=True)
class ConsoleSession:
    target: Target
    authid: str
    port: int
    ticket: str
    task: Task
    command: str  # termproxy's command line, as the task error quotes it
    connected: bool = False
    ended: bool = False
    timer: threading.Timer | None = None
    transport: socket.socket | None = field(default=None, repr=False)


class Consoles:
    """The termproxy sessions of one simulated cluster, keyed by (node, port)."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.tickets = Tickets()
        self.accept_timeout = ACCEPT_TIMEOUT
        self._sessions: dict[tuple[str, int], ConsoleSession] = {}

    # -- starting -----------------------------------------------------------------------

    def open(self, target: Target, authid: str) -> ConsoleSession | None:
        """Start termproxy for `target`: a port, a ticket and the running task; None when
        all ports of the node are taken."""
        state = self.state
        with state.lock:
            port = next((p for p in PORTS if (target.node, p) not in self._sessions), None)
            if port is None:
                return None
            now = state.now()
            ticket = self.tickets.assemble(authid, target.path, port, now)
            kind = "vncshell" if target.kind == "node" else "vncproxy"
            vmid = "" if target.kind == "node" else str(target.vmid)
            session: ConsoleSession | None = None

            def aborted(at: float) -> str | None:
                if session is not None:
                    self._end(session)
                return None  # fork_worker's handler: "received interrupt"

            task = state.start_task(
                target.node, kind, vmid, authid, lines=[], duration=math.inf, on_abort=aborted
            )
            session = ConsoleSession(
                target, authid, port, ticket, task, self._command(target, authid, port)
            )
            self._sessions[(target.node, port)] = session
            timer = threading.Timer(self.accept_timeout, self._accept_expired, (session,))
            timer.daemon = True
            session.timer = timer
            timer.start()
            return session

    def _command(self, target: Target, authid: str, port: int) -> str:
        """termproxy's command line as qemu-server, pve-container or pve-manager build it
        (packages that accept tokens pass `--vncticket-endpoint` and a pinned ticket)."""
        perm = "Sys.Console" if target.kind == "node" else "VM.Console"
        cmd = f"/usr/bin/termproxy {port} --path {target.path} --perm {perm}"
        if self.state.scenario.console_tokens:
            cmd += f" --vncticket-endpoint --verify-port --ticket-fd {TICKET_FD}"
        if target.kind == "qemu":
            inner = f"/usr/sbin/qm terminal {target.vmid} -escape 0"
            inner += f" -iface {target.serial}" if target.serial else ""
        elif target.kind == "lxc":
            inner = (
                f"/usr/bin/dtach -A /var/run/dtach/vzctlconsole{target.vmid} -r winch -z"
                f" lxc-console -n {target.vmid} -e -1"
            )
        else:
            inner = "/bin/login -f root" if authid == "root@pam" else "/bin/login"
        return f"{cmd} -- {inner}"

    # -- connecting ---------------------------------------------------------------------

    def claim(self, node: str, port: int, transport: socket.socket) -> ConsoleSession | None:
        """The session listening on `node`:`port`, now connected through `transport`;
        None when nothing listens there (ended, timed out or already connected)."""
        with self.state.lock:
            session = self._sessions.get((node, port))
            if session is None or session.connected or session.ended:
                return None
            session.connected = True
            session.transport = transport
            if session.timer is not None:
                session.timer.cancel()
            try:
                peer = transport.getpeername()[1]
            except OSError:
                peer = 0
            self.log(session, f"client connection: 127.0.0.1:{peer}")
            return session

    def authenticate(self, session: ConsoleSession, user: bytes, ticket: bytes) -> bool:
        """termproxy's check of the first line through pvedaemon: the ticket must be the
        session's for that user and still valid; packages that predate token consoles
        verify a token id as a user name, which fails."""
        with self.state.lock:
            try:
                authid, text = user.decode(), ticket.decode()
            except UnicodeDecodeError:
                return False
            if "!" in authid and not self.state.scenario.console_tokens:
                return False
            if authid != session.authid or text != session.ticket:
                return False
            target = session.target
            return self.tickets.verify(text, authid, target.path, session.port, self.state.now())

    def attach(self, session: ConsoleSession) -> tuple[bytes, ConsoleEmulator | None]:
        """What the console prints right after `OK`, and the terminal to talk to (None
        when the console program failed: the session ends after those bytes)."""
        state = self.state
        with state.lock:
            target = session.target
            if target.kind == "node":
                node = state.nodes[target.node]
                host = Host(
                    name=node.name,
                    login=session.authid != "root@pam",
                    password=True,
                    kernel=self._host_kernel(),
                    tty="/dev/pts/0",
                    uptime=lambda: state.now() - node.boot,
                    clock=state.now,
                )
                emulator = ConsoleEmulator(host)
                return emulator.start(), emulator
            guest = state.guests.get(target.vmid)
            if guest is None or guest.type != target.kind or guest.node != target.node:
                folder = "qemu-server" if target.kind == "qemu" else "lxc"
                missing = f"Configuration file 'nodes/{target.node}/{folder}/{target.vmid}.conf'"
                return (missing + " does not exist\r\n").encode(), None
            if target.kind == "qemu":
                return self._serial(guest, target.serial)
            return self._container(guest)

    def _host_kernel(self) -> str:
        return _HOST_KERNELS.get(self.state.scenario.pve_major, _HOST_KERNELS[9])

    def _guest_host(self, guest: Guest, *, login: bool, kernel: str, tty: str) -> Host:
        state = self.state
        return Host(
            name=guest.name,
            login=login,
            password=False,
            kernel=kernel,
            tty=tty,
            uptime=lambda: state.usage.uptime(guest, state.now()),
            clock=state.now,
        )

    def _serial(self, guest: Guest, iface: str) -> tuple[bytes, ConsoleEmulator | None]:
        """`qm terminal`: the interface asked for or the first serial socket, and a VM
        that runs; then the guest's getty on its serial port."""
        devices = {name for name in guest.local_resources if name in SERIAL_PORTS}
        if iface:
            if iface != guest.serial and iface not in devices:
                return f"serial interface '{iface}' is not configured\r\n".encode(), None
            if iface in devices:
                return f"wrong serial type on interface '{iface}'\r\n".encode(), None
        elif not guest.serial:
            return b"unable to find a serial interface\r\n", None
        if not guest.running:
            return f"VM {guest.vmid} not running\r\n".encode(), None
        banner = f"starting serial terminal on interface {iface or guest.serial}\r\n".encode()
        host = self._guest_host(guest, login=True, kernel=_GUEST_KERNEL, tty="/dev/ttyS0")
        emulator = ConsoleEmulator(host)
        return banner + emulator.start(), emulator

    def _container(self, guest: Guest) -> tuple[bytes, ConsoleEmulator | None]:
        """dtach + `lxc-console`: a stopped container has no console to attach to."""
        if not guest.running:
            vmid = guest.vmid
            text = (
                f"lxc-console: {vmid}: ../src/lxc/tools/lxc_console.c: main: 131 {vmid}"
                " is not running\r\n\r\n[EOF - dtach terminating]\r\n"
            )
            return text.encode(), None
        host = self._guest_host(guest, login=False, kernel=self._host_kernel(), tty="/dev/tty1")
        emulator = ConsoleEmulator(host)
        return emulator.start(), emulator

    # -- ending ---------------------------------------------------------------------------

    def log(self, session: ConsoleSession, text: str) -> None:
        """A line of termproxy's output in the task log."""
        with self.state.lock:
            task = session.task
            task.lines.append((max(0.0, self.state.now() - task.upid.starttime), text))

    def fail(self, session: ConsoleSession, reason: str) -> None:
        """termproxy exits with an error: `reason`, then the task fails as run_command
        reports a command that exited 1."""
        with self.state.lock:
            if session.ended:
                return
            self.log(session, reason)
            self._end(session, f"command '{session.command}' failed: exit code 1")

    def finish(self, session: ConsoleSession) -> None:
        """The console program exited (logout, client gone): the task ends OK."""
        with self.state.lock:
            self._end(session, "")

    def _accept_expired(self, session: ConsoleSession) -> None:
        with self.state.lock:
            if not session.connected:
                self.fail(session, "failed waiting for client: timed out")

    def _end(self, session: ConsoleSession, error: str | None = None) -> None:
        """Free the port, close the client's connection and (unless the task is being
        stopped, `error` None) end the task with `error` ("" = OK)."""
        if session.ended:
            return
        session.ended = True
        if session.timer is not None:
            session.timer.cancel()
        key = (session.target.node, session.port)
        if self._sessions.get(key) is session:
            del self._sessions[key]
        if error is not None:
            self.state.end_task(session.task, self.state.now(), error)
        close_transport(session.transport)

    def close_all(self) -> None:
        """End every console now (their tasks end OK): the simulator stops, or a test
        wants the server to drop its consoles."""
        with self.state.lock:
            for session in list(self._sessions.values()):
                self._end(session, "")

    @property
    def sessions(self) -> list[ConsoleSession]:
        """The consoles listening or connected now."""
        with self.state.lock:
            return list(self._sessions.values())


def close_transport(sock: socket.socket | None) -> None:
    """Drop a client connection from any thread: a shutdown of the socket itself (not
    the TLS layer, whose state belongs to the relay's thread) wakes the relay's read."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
