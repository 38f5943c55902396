"""A TLS socket that two threads may share: one reading, one writing.

websockets' sync client reads in a background thread while the caller sends. An OpenSSL
session must not be used by two threads at once (TLS 1.3 processes session tickets and
key updates inside reads), so every read and write here runs non-blocking under one
lock, and the waiting for data or room happens outside it.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import Any

#: How long a waiting read or write sleeps at most before trying again: a safety net for
#: data another thread's call moved into the TLS buffer while this one was waiting.
_POLL = 0.05


class SharedTLSSocket:
    """The parts of a socket websockets uses, over an SSLSocket, safe across threads."""

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
        """Ignored: websockets times its handshake itself; reads wait for data."""

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
                    readable, writable = [], [self._sock]
                except (ssl.SSLWantReadError, BlockingIOError):
                    readable, writable = [self._sock], []
            select.select(readable, writable, [], _POLL)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            with self._lock:
                try:
                    view = view[self._sock.send(view) :]
                    continue
                except ssl.SSLWantReadError:
                    readable, writable = [self._sock], []
                except (ssl.SSLWantWriteError, BlockingIOError):
                    readable, writable = [], [self._sock]
            select.select(readable, writable, [], _POLL)

    def shutdown(self, how: int) -> None:
        # The plain socket's shutdown: SSLSocket.shutdown drops the TLS state under a
        # reader that may still be inside it.
        socket.socket.shutdown(self._sock, how)

    def close(self) -> None:
        self._sock.close()
