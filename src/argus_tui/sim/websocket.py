"""The WebSocket side of a console: pveproxy's relay and termproxy's byte stream.

`serve` runs in the HTTP handler's thread once the vncwebsocket route has accepted the
request: the handshake (websockets' sans-I/O server; `binary` is echoed when offered, a
client that offers no subprotocol is accepted, as PVE 7+ does), then the relay. The
relay enforces pveproxy's rules on client frames (masked, unfragmented, at most 128 KiB,
else the connection is dropped; a ping gets a pong; a close shuts both sides without a
close frame in return) and speaks termproxy's protocol over their concatenated payloads:
the `user:ticket` line, `OK`, then `0:LEN:DATA` input and `1:COLS:ROWS:` resizes.
Console output goes back in binary frames of at most 128 KiB. When the console ends the
TCP connection is closed, without a close frame, as PVE does.
"""

from __future__ import annotations

import io
import re
import socket
import ssl
import time
from collections.abc import Sequence
from email.message import Message

from websockets.datastructures import Headers
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from argus_tui.sim.console import Consoles, ConsoleSession, close_transport
from argus_tui.sim.console_emu import ConsoleEmulator

MAX_FRAME = 128 * 1024  # pveproxy's limit on a client frame, and its chunk size to it
_IDLE_POLL = 0.5  # seconds between checks that the session still exists while idle
_NUMBER = re.compile(rb"\+?[0-9]+")


class _Closed(Exception):
    """The connection is gone (client closed it, a rule was broken, or the session ended)."""


def select_subprotocol(
    protocol: ServerProtocol, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """PVE echoes what the client asked for: `binary` when offered, nothing when none."""
    if "binary" in offered:
        return Subprotocol("binary")
    return offered[0] if offered else None


def serve(
    sock: socket.socket,
    rfile: io.BufferedIOBase,
    path: str,
    headers: Message,
    consoles: Consoles,
    node: str,
    port: int,
) -> None:
    """Answer an upgrade request whose route checks passed, then relay the console.

    A bad handshake gets its HTTP error; when nothing listens on `port` any more (the
    session ended, timed out or is taken) the connection is closed without an answer.
    """
    handshake = ServerProtocol(select_subprotocol=select_subprotocol)
    response = handshake.accept(Request(path, Headers(headers.items())))
    if response.status_code != 101:
        handshake.send_response(response)
        _write(sock, handshake)
        return
    session = consoles.claim(node, port, sock)
    if session is None:
        return
    handshake.send_response(response)
    # The HTTP server has parsed the request already: frames go to a protocol that
    # starts open (one created for the handshake would still expect a request first).
    relay = _Relay(sock, ServerProtocol(state=OPEN, max_size=MAX_FRAME), consoles, session)
    try:
        _write(sock, handshake)
        relay.run(_buffered(sock, rfile))
    except _Closed:
        pass
    finally:
        consoles.finish(session)
        close_transport(sock)


def _write(sock: socket.socket, protocol: ServerProtocol) -> None:
    sock.settimeout(None)
    for data in protocol.data_to_send():
        if data:
            try:
                sock.sendall(data)
            except OSError:
                raise _Closed from None


def _buffered(sock: socket.socket, rfile: io.BufferedIOBase) -> bytes:
    """What the HTTP reader had already read past the request (frames sent at once)."""
    sock.setblocking(False)
    try:
        peek = getattr(rfile, "peek", None)
        data: bytes = peek() if peek is not None else b""
    except (OSError, ValueError):
        data = b""
    finally:
        sock.settimeout(None)
    return rfile.read(len(data)) if data else b""


class TermproxyInput:
    """termproxy's parser of the client's byte stream: `0:LEN:DATA` (LEN in bytes, the
    data may arrive in pieces), `1:COLS:ROWS:`, anything else skipped byte by byte (the
    `2` ping too). A message header cut between frames waits for the rest."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._remaining = 0

    def feed(self, data: bytes) -> list[bytes | tuple[int, int]]:
        """Input bytes for the console, and (cols, rows) resizes, in order."""
        self._buf += data
        buf = self._buf
        out: list[bytes | tuple[int, int]] = []
        while buf:
            if self._remaining:
                piece = bytes(buf[: self._remaining])
                del buf[: len(piece)]
                self._remaining -= len(piece)
                out.append(piece)
                continue
            if len(buf) < 2:
                break
            kind = buf[0]
            if kind == 0x30:  # "0:LEN:" (termproxy skips the second byte unchecked)
                length, end = _number(buf, 2)
                if end is None:
                    break
                del buf[:end]
                self._remaining = length or 0
            elif kind == 0x31:  # "1:COLS:ROWS:"
                cols, end = _number(buf, 2)
                if end is None:
                    break
                rows, rows_end = _number(buf, end) if cols is not None else (None, end)
                if rows_end is None:
                    break
                del buf[:rows_end]
                if cols is not None and rows is not None:
                    out.append((cols & 0xFFFF, rows & 0xFFFF))
            else:
                del buf[:1]
        return out


def _number(buf: bytearray, start: int) -> tuple[int | None, int | None]:
    """The number before the next ':' from `start`, and where it ends; (None, end) when
    the text is not a number; end None while the ':' has not arrived. Like termproxy,
    more than 20 bytes without a ':' are dropped."""
    colon = buf.find(b":", start)
    if colon < 0:
        return (None, start + 20) if len(buf) - start > 20 else (None, None)
    text = bytes(buf[start:colon])
    return (int(text) if _NUMBER.fullmatch(text) else None), colon + 1


class _Relay:
    """One connected console: reads frames, feeds the console, sends what it prints."""

    def __init__(
        self,
        sock: socket.socket,
        protocol: ServerProtocol,
        consoles: Consoles,
        session: ConsoleSession,
    ) -> None:
        self.sock = sock
        self.protocol = protocol
        self.consoles = consoles
        self.session = session
        self.open = True  # no close frame or broken rule seen yet

    def run(self, buffered: bytes) -> None:
        stream = bytearray(self._frames(buffered) if buffered else b"")
        reason = self._authenticate(stream)
        if reason:
            self.consoles.fail(self.session, reason)
            return
        greeting, console = self.consoles.attach(self.session)
        self._send(b"OK" + greeting)
        if console is None:
            return
        parser = TermproxyInput()
        self._apply(parser.feed(bytes(stream)), console)
        while self.open and not self.session.ended and not console.finished:
            data = self._recv(0.0 if console.busy else _IDLE_POLL)
            if data is None:
                return
            if data:
                self._apply(parser.feed(self._frames(data)), console)
            if self.open and console.busy:
                self._send(console.read(MAX_FRAME))

    def _authenticate(self, stream: bytearray) -> str:
        """Wait for `user:ticket\\n` (within the accept timeout) and check it; leaves what
        came after it in `stream`. Why termproxy gives up, or "" when the line is good."""
        closed = "failed reading ticket: connection closed before authentication"
        deadline = time.monotonic() + self.consoles.accept_timeout
        while b"\n" not in stream:
            if not self.open:
                return closed
            left = deadline - time.monotonic()
            if left <= 0:
                return "failed reading ticket: timed out"
            data = self._recv(left)
            if data is None:
                return closed
            stream += self._frames(data)
        end = stream.index(b"\n")
        user, colon, ticket = bytes(stream[:end]).partition(b":")
        del stream[: end + 1]
        if not colon:
            return "failed reading ticket: authentication data is invalid"
        if not self.consoles.authenticate(self.session, user, ticket):
            return "authentication request failed"
        return ""

    def _apply(self, items: list[bytes | tuple[int, int]], console: ConsoleEmulator) -> None:
        for item in items:
            if isinstance(item, bytes):
                console.feed(item)
            else:
                console.resize(*item)

    def _recv(self, timeout: float) -> bytes | None:
        """Bytes from the socket (b"" when none came in time), None once it is closed."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return b""
        except OSError:
            return None
        return data or None

    def _frames(self, data: bytes) -> bytes:
        """The payloads of the data frames in `data`; pongs are sent; a close frame or a
        broken rule marks the connection closed (what came before still counts)."""
        protocol = self.protocol
        protocol.receive_data(data)
        payload = bytearray()
        for frame in protocol.events_received():
            if not isinstance(frame, Frame) or not self._acceptable(frame):
                self.open = False
                break
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
                payload += frame.data
            elif frame.opcode is Opcode.CLOSE:
                self.open = False
                break
        if protocol.parser_exc is not None:  # unmasked, too large, bad bits or opcode
            self.open = False
        if self.open:
            _write(self.sock, protocol)  # pongs
        else:
            protocol.data_to_send()  # PVE answers neither a close nor an error with a frame
        return bytes(payload)

    @staticmethod
    def _acceptable(frame: Frame) -> bool:
        """pveproxy refuses fragmented messages: every frame must carry FIN."""
        return frame.fin and frame.opcode is not Opcode.CONT

    def _send(self, data: bytes) -> None:
        self.protocol.send_binary(data)
        _write(self.sock, self.protocol)
