"""A TCP relay in front of the simulator whose network can go silent.

`silence()` stops forwarding in both directions without closing anything: no RST, no
FIN, every socket stays open, as when a link drops packets. What arrives meanwhile is
held, as TCP would retransmit it, and `resume()` forwards it, so a request caught in the
silence is answered once the link is back (unless the client gave up first).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class SilentRelay:
    """Relays 127.0.0.1:`port` to 127.0.0.1:`target_port`; counts the connections."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def silence(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self.connections += 1
                self._sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                self._flowing.wait()  # silent: hold what came in, send nothing, close nothing
                if self._closed:
                    return
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            self._flowing.wait()  # an end seen while silent goes on when the link is back
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
