"""Opening a text console: `POST .../termproxy`, then the `vncwebsocket` WebSocket.

The WebSocket goes to the host that answered the POST (termproxy listens on that node's
localhost and accepts one connection within 10 s), over the same TLS trust as every API
call: the CA file, the system store, or the pinned fingerprint, which is checked before
the upgrade request (and the token in its Authorization header) is sent. The TLS socket
is Argus's own (`tls_socket.py`), safe for websockets' reader thread and the sender.
docs/proxmox.md, Consoles, has the protocol.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import quote

from argus_tui.domain.console import ConsoleTarget, tokens_refused_text
from argus_tui.domain.models import Entity
from argus_tui.domain.secret import Secret
from argus_tui.errors import (
    ApiError,
    ArgusError,
    AuthFailed,
    ConnectionFailed,
    ConsoleRefused,
    OperationFailed,
    PermissionDenied,
    TLSFailure,
)
from argus_tui.pve.paths import entity_path
from argus_tui.pve.settings import ConnectionSettings
from argus_tui.pve.tls_socket import SharedTLSSocket

if TYPE_CHECKING:  # websockets is imported by the first console (tens of ms at every start)
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import ClientConnection

#: termproxy waits this long for the WebSocket and then for the ticket line.
OPEN_TIMEOUT = 10.0
_PERM_RE = re.compile(r"Permission check failed \(([^,]+), ([^)]+)\)")
_BAD_USER = "does not look like a valid user name"


@dataclass(frozen=True, slots=True)
class ConsoleTicket:
    """termproxy's answer. The VNC ticket opens the console for 40 s: kept as a Secret."""

    port: int
    ticket: Secret = field(repr=False)
    upid: str
    user: str


class _Requests(Protocol):
    settings: ConnectionSettings

    def request(self, method: str, path: str, /, **params: Any) -> Any: ...


def console_path(target: ConsoleTarget) -> str:
    if target.is_node:
        return entity_path(Entity.of_node(target.node))
    return entity_path(Entity(target.kind, target.node, target.vmid))


def ticket_from(data: Any) -> ConsoleTicket:
    """termproxy's `{port, ticket, upid, user}`; the port comes as a number or a string."""
    if not isinstance(data, Mapping):
        raise ApiError("termproxy answered something other than an object")
    port, ticket = data.get("port"), data.get("ticket")
    upid, user = data.get("upid"), data.get("user")
    try:
        port_number = int(str(port))
    except ValueError:
        port_number = 0
    if not 0 < port_number < 65536 or not isinstance(ticket, str) or not ticket:
        raise ApiError(f"termproxy answered without a usable port and ticket (port {port!r})")
    if not isinstance(user, str) or not user:
        raise ApiError("termproxy answered without the user the ticket belongs to")
    return ConsoleTicket(port_number, Secret(ticket), upid if isinstance(upid, str) else "", user)


class ConsoleApi:
    """Mixed into PveClient: the termproxy call and the console's WebSocket."""

    def termproxy(
        self: _Requests, target: ConsoleTarget, serial: str | None = None
    ) -> ConsoleTicket:
        """Start termproxy for the target (VM.Console / Sys.Console); it waits 10 s."""
        params: dict[str, Any] = {}
        if target.kind == "qemu" and serial:
            params["serial"] = serial
        try:
            data = self.request("POST", f"{console_path(target)}/termproxy", **params).data
        except ApiError as exc:
            if _BAD_USER in exc.message:
                raise ConsoleRefused(tokens_refused_text(target)) from None
            raise
        return ticket_from(data)

    @contextlib.contextmanager
    def console(
        self: _Requests, target: ConsoleTarget, ticket: ConsoleTicket
    ) -> Iterator[ConsoleSocket]:
        """The console's WebSocket, authenticated to termproxy (`OK` received)."""
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
        from websockets.sync.client import connect
        from websockets.typing import Subprotocol

        settings = self.settings
        query = f"port={ticket.port}&vncticket={quote(ticket.ticket.reveal(), safe='')}"
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        # ws://: the socket handed to websockets below is already TLS (and checked).
        path = f"/api2/json{console_path(target)}/vncwebsocket?{query}"
        uri = f"ws://{host}:{settings.port}{path}"
        user, _, token_name = settings.token_id.partition("!")
        auth = f"PVEAPIToken={user}!{token_name}={settings.secret.reveal()}"
        tls = _open_tls(settings)
        try:
            ws = connect(
                uri,
                # Our own TLS socket (verified or pinned above, shareable by websockets'
                # reader thread and the sender): the URI's scheme must not add TLS again.
                sock=cast(socket.socket, SharedTLSSocket(tls)),
                additional_headers={"Authorization": auth},
                subprotocols=[Subprotocol("binary")],
                compression=None,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=30,
                ping_timeout=30,
                close_timeout=2,
                max_size=2**20,
                user_agent_header="argus",
            )
        except InvalidStatus as exc:
            raise _status_error(settings, target, exc) from None
        except (InvalidHandshake, ConnectionClosed, EOFError):
            raise OperationFailed(
                f"{settings.address} closed the console of {target.label} before it opened",
                hint="termproxy waits only 10 s for the connection; try again",
            ) from None
        except (OSError, TimeoutError) as exc:
            raise ConnectionFailed(
                f"cannot open the console WebSocket to {settings.address}: {exc}"
            ) from None
        with ws:
            console = ConsoleSocket(ws)
            console.authenticate(ticket, target)
            yield console


class ConsoleSocket:
    """An open console: raw frames out, the terminal's bytes in."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.first = b""  # terminal bytes that came with `OK`

    def authenticate(self, ticket: ConsoleTicket, target: ConsoleTarget) -> None:
        """Send `user:ticket\\n`; termproxy answers `OK`, or closes on a refused token."""
        from websockets.exceptions import ConnectionClosed

        self._ws.send(f"{ticket.user}:{ticket.ticket.reveal()}\n")
        try:
            reply = self._ws.recv(timeout=OPEN_TIMEOUT, decode=False)
        except ConnectionClosed:
            raise ConsoleRefused(tokens_refused_text(target)) from None
        except TimeoutError:
            raise OperationFailed(
                f"the console of {target.label} did not answer within {OPEN_TIMEOUT:g} s"
            ) from None
        data = reply if isinstance(reply, bytes) else reply.encode()
        if not data.startswith(b"OK"):
            raise ConsoleRefused(tokens_refused_text(target))
        self.first = data[2:]

    def send(self, frame: bytes) -> None:
        """One termproxy message (input, resize or ping) in a binary frame."""
        self._ws.send(frame)

    def recv(self, timeout: float | None = None) -> bytes | None:
        """The next terminal bytes; None after `timeout`; ConsoleEnded once it closes."""
        from websockets.exceptions import ConnectionClosed

        try:
            data = self._ws.recv(timeout=timeout, decode=False)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise ConsoleEnded(_close_reason(exc)) from None
        return data if isinstance(data, bytes) else data.encode()

    def close(self) -> None:
        self._ws.close()


class ConsoleEnded(Exception):
    """The console's connection closed; `reason` says how (not an error by itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _close_reason(exc: ConnectionClosed) -> str:
    received = exc.rcvd
    if received is None and exc.sent is not None and exc.sent.code == 1011:
        return "the connection was lost (no answer to keepalive pings)"
    if received is None:
        # PVE closes the TCP connection without a close frame when the console ends.
        return "the connection closed" if exc.sent is None else "closed"
    if received.code in (1000, 1001):
        return "the server closed the console"
    return f"the server closed the console ({received.code} {received.reason})".strip()


def _ssl_context(settings: ConnectionSettings) -> ssl.SSLContext:
    tls = settings.tls
    if tls.mode == "ca" and tls.ca_file:
        try:
            return ssl.create_default_context(cafile=tls.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise TLSFailure(f"cannot read the CA file {tls.ca_file}: {exc}") from None
    if tls.mode in ("fingerprint", "insecure"):
        # A pinned certificate is checked by its fingerprint right after the handshake;
        # no CA store to load (that alone costs tens of milliseconds).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context()


def _open_tls(settings: ConnectionSettings) -> ssl.SSLSocket:
    """A TLS connection to the server, trusted as the API is: nothing (and no token) is
    sent before the certificate is verified or matches the pinned fingerprint."""
    host = settings.host
    try:
        raw = socket.create_connection((host, settings.port), timeout=OPEN_TIMEOUT)
    except OSError as exc:
        raise ConnectionFailed(
            f"cannot reach {settings.address} for the console: {exc.strerror or exc}",
            hint="check the host and port, and that pveproxy is running",
        ) from None
    try:
        tls = _ssl_context(settings).wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        raise TLSFailure(
            f"cannot verify the certificate of {settings.address} ({exc.verify_message})",
            hint="Proxmox uses a self-signed certificate: pin it with 'argus login' (which"
            " shows its fingerprint) or pass --fingerprint or --ca-file",
        ) from None
    except (OSError, ssl.SSLError) as exc:
        raw.close()
        raise TLSFailure(f"TLS handshake with {settings.address} failed: {exc}") from None
    pinned = settings.tls.fingerprint if settings.tls.mode == "fingerprint" else None
    if pinned:
        got = _fingerprint(tls.getpeercert(binary_form=True) or b"")
        if got != pinned:
            tls.close()
            raise TLSFailure(
                f"the certificate of {settings.address} has changed: pinned {pinned},"
                f" server presents {got}",
                hint="if the change is expected (renewed certificate), run 'argus login'"
                " again to pin the new one; otherwise someone may be intercepting the"
                " connection",
            )
    tls.settimeout(None)
    return tls


def _fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


def _status_error(
    settings: ConnectionSettings, target: ConsoleTarget, exc: InvalidStatus
) -> ArgusError:
    response = exc.response
    status = response.status_code
    text = (response.reason_phrase or "").strip()
    body = response.body.decode("utf-8", "replace").strip() if response.body else ""
    message = text or body or f"HTTP {status}"
    if _BAD_USER in message or _BAD_USER in body:
        return ConsoleRefused(tokens_refused_text(target))
    if status == 401 and "PVEVNC" in message:
        return OperationFailed(
            f"{settings.address} refused the console ticket of {target.label}: {message}",
            hint="a ticket lives 40 s: check that this machine's clock and the node's agree,"
            " then try again",
        )
    if status == 401:
        return AuthFailed(
            f"{settings.address} refused token {settings.token_id} for the console: {message}",
            hint="check the token id and secret, or log in again with 'argus login'",
        )
    if status == 403:
        match = _PERM_RE.search(message)
        path, priv = (match.group(1), match.group(2)) if match else (target.path, target.privilege)
        return PermissionDenied(
            f"token {settings.token_id} lacks {priv} on {path}",
            path=path,
            privilege=priv,
            hint="see 'argus doctor' for what the token can do and how to grant more",
        )
    return ApiError(f"opening {target.what} failed: {message}", status=status)
