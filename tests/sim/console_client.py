"""A client for the simulator's text consoles: POST termproxy, then the WebSocket.

Speaks what a real client sends: the token header on the upgrade, `binary` offered as
subprotocol, no compression, the certificate checked against the simulator's CA.
`RawConsole` opens the WebSocket by hand over TLS for frames a proper client never sends.

websockets' sync client reads in a thread of its own while the caller writes; over TLS
that puts two threads into one OpenSSL session at once, which OpenSSL does not allow
(seen here as `[SSL] internal error`, lost handshakes and hangs). `SerialTLS` gives it a
TLS socket whose reads and writes take turns.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlencode

import requests
from tests.conftest import ca_file_for
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN
from websockets.sync.client import ClientConnection, connect
from websockets.uri import parse_uri

from argus_tui.sim.server import Simulator


def auth(sim: Simulator, token: str = "", secret: str = "") -> dict[str, str]:
    return {"Authorization": f"PVEAPIToken={token or sim.token_id}={secret or sim.token_secret}"}


def ssl_context(sim: Simulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file_for(sim))


def termproxy(
    sim: Simulator, path: str, token: str = "", secret: str = "", **params: Any
) -> requests.Response:
    """`POST {path}/termproxy` (path: /nodes/N/qemu/ID, /nodes/N/lxc/ID or /nodes/N)."""
    return requests.post(
        f"{sim.api_url}{path}/termproxy",
        data=params,
        headers=auth(sim, token, secret),
        verify=ca_file_for(sim),
        timeout=10,
    )


@dataclass
class Console:
    """One termproxy session seen from the client: its POST answer and how to join it."""

    sim: Simulator
    path: str
    answer: dict[str, Any]
    token: str = ""
    secret: str = ""

    @property
    def upid(self) -> str:
        return str(self.answer["upid"])

    @property
    def line(self) -> bytes:
        """The first message termproxy wants: `user:ticket` and a line feed."""
        return f"{self.answer['user']}:{self.answer['ticket']}\n".encode()

    def query(self, **override: Any) -> str:
        params = {"port": self.answer["port"], "vncticket": self.answer["ticket"], **override}
        return urlencode(params, quote_via=quote)

    def url(self, scheme: str = "wss", **override: Any) -> str:
        target = f"/api2/json{self.path}/vncwebsocket?{self.query(**override)}"
        return f"{scheme}://127.0.0.1:{self.sim.port}{target}"

    def connect(self, headers: dict[str, str] | None = None, **override: Any) -> ClientConnection:
        """The WebSocket, over a TLS connection made here (the URL's scheme is ws:// so
        that websockets does not wrap it again)."""
        tls = ssl_context(self.sim).wrap_socket(
            socket.create_connection(("127.0.0.1", self.sim.port), timeout=5),
            server_hostname="127.0.0.1",
        )
        return connect(
            self.url("ws", **override),
            sock=cast(socket.socket, SerialTLS(tls)),
            additional_headers=auth(self.sim, self.token, self.secret)
            if headers is None
            else headers,
            subprotocols=["binary"],  # type: ignore[list-item]
            compression=None,
            open_timeout=5,
            close_timeout=1,
            max_size=None,
            legacy=True,  # the tests hold connections across helpers, not in a with block
        )

    def join(self) -> tuple[ClientConnection, bytes]:
        """Connected and authenticated: the connection and the first frame (`OK...`)."""
        ws = self.connect()
        ws.send(self.line)
        return ws, recv(ws)

    def task(self) -> dict[str, Any]:
        status: dict[str, Any] = self.sim_get(f"/tasks/{self.upid}/status")
        return status

    def log(self) -> list[str]:
        return [line["t"] for line in self.sim_get(f"/tasks/{self.upid}/log", limit=0)]

    def sim_get(self, tail: str, **params: Any) -> Any:
        node = self.upid.split(":")[1]
        resp = requests.get(
            f"{self.sim.api_url}/nodes/{node}{tail}",
            params=params,
            headers=auth(self.sim),
            verify=ca_file_for(self.sim),
            timeout=10,
        )
        assert resp.status_code == 200, resp.reason
        return resp.json()["data"]

    def wait_stopped(self, timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.task()
            if status["status"] == "stopped" or time.monotonic() > deadline:
                return status
            time.sleep(0.05)


def open_console(
    sim: Simulator, path: str, token: str = "", secret: str = "", **params: Any
) -> Console:
    resp = termproxy(sim, path, token, secret, **params)
    assert resp.status_code == 200, f"{resp.status_code} {resp.reason}"
    return Console(sim, path, resp.json()["data"], token, secret)


def recv(ws: ClientConnection, timeout: float = 5.0) -> bytes:
    message = ws.recv(timeout=timeout)
    assert isinstance(message, bytes), f"text frame {message!r}: PVE sends binary"
    return message


def send_input(ws: ClientConnection, data: bytes) -> None:
    """One `0:LEN:DATA` message (LEN in bytes) in its own frame."""
    ws.send(b"0:%d:" % len(data) + data)


def read_until(ws: ClientConnection, end: bytes, timeout: float = 5.0) -> bytes:
    """Everything the console sends until the output ends with `end`."""
    out = b""
    deadline = time.monotonic() + timeout
    while not out.endswith(end):
        out += recv(ws, max(0.01, deadline - time.monotonic()))
    return out


def drain(ws: ClientConnection, quiet: float = 0.3) -> bytes:
    """What the console sends until it is quiet for `quiet` seconds."""
    out = b""
    try:
        while True:
            out += recv(ws, quiet)
    except TimeoutError:
        return out


def closed_by_server(ws: ClientConnection, timeout: float = 5.0) -> bool:
    """Whether the server drops the connection (after sending what it still had)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    return False


class SerialTLS:
    """A TLS socket for websockets' sync client whose reads and writes never overlap:
    both run non-blocking under one lock and wait for the socket outside it."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self.family = sock.family
        sock.setblocking(False)

    def fileno(self) -> int:
        return self._sock.fileno()

    def setsockopt(self, *args: Any) -> None:
        self._sock.setsockopt(*args)

    def settimeout(self, timeout: float | None) -> None:
        """Ignored: reads wait for data, writes for room, as a blocking socket does."""

    def getpeername(self) -> Any:
        return self._sock.getpeername()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def recv(self, size: int) -> bytes:
        while True:
            with self._lock:
                try:
                    return self._sock.recv(size)
                except ssl.SSLWantWriteError:
                    wait = ([], [self._sock])
                except (ssl.SSLWantReadError, BlockingIOError):
                    wait = ([self._sock], [])
            select.select(*wait, [], 0.05)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            with self._lock:
                try:
                    view = view[self._sock.send(view) :]
                    continue
                except ssl.SSLWantReadError:
                    wait = ([self._sock], [])
                except (ssl.SSLWantWriteError, BlockingIOError):
                    wait = ([], [self._sock])
            select.select(*wait, [], 0.05)

    def shutdown(self, how: int) -> None:
        socket.socket.shutdown(self._sock, how)

    def close(self) -> None:
        self._sock.close()


class RawConsole:
    """A WebSocket opened by hand over TLS, to send frames any way a test likes."""

    def __init__(self, console: Console) -> None:
        sim = console.sim
        self.sock = ssl_context(sim).wrap_socket(
            socket.create_connection(("127.0.0.1", sim.port), timeout=5),
            server_hostname="127.0.0.1",
        )
        target = f"/api2/json{console.path}/vncwebsocket?{console.query()}"
        request = (
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{sim.port}\r\n"
            f"Authorization: {auth(sim, console.token, console.secret)['Authorization']}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(4096)
        status, _, rest = head.partition(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 101"), status
        self.reader = ClientProtocol(parse_uri(console.url()), state=OPEN, max_size=None)
        self.buffered = rest

    def send_frame(self, frame: Frame, *, mask: bool = True) -> None:
        self.sock.sendall(frame.serialize(mask=mask))

    def send(self, data: bytes, *, mask: bool = True, fin: bool = True) -> None:
        """One binary frame; the server may drop the connection while it is written."""
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            self.send_frame(Frame(Opcode.BINARY, data, fin), mask=mask)

    def frames(self, timeout: float = 5.0) -> list[Frame] | None:
        """The frames that come within `timeout`; None once the server closed the socket."""
        self.sock.settimeout(timeout)
        if self.buffered:
            data, self.buffered = self.buffered, b""
        else:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return []
            except (ConnectionError, ssl.SSLError):
                return None
            if not data:
                return None
        self.reader.receive_data(data)
        return [e for e in self.reader.events_received() if isinstance(e, Frame)]

    def until_closed(self, timeout: float = 5.0) -> list[Frame]:
        """Every frame until the server closes the socket (fails if it stays open)."""
        seen: list[Frame] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = self.frames(max(0.01, deadline - time.monotonic()))
            if frames is None:
                return seen
            seen += frames
        raise AssertionError("the server kept the connection open")

    def close(self) -> None:
        self.sock.close()
