"""The terminal side of a console, on a real pseudo-terminal: raw mode while it runs, the
escape key, framing, window changes, signals, and the terminal given back as it was.

The console itself is a scripted link here (the simulator's consoles are exercised through
the client in tests/pve and through the binary in tests/e2e).
"""

from __future__ import annotations

import fcntl
import os
import queue
import signal
import struct
import termios
import threading
import time
from collections.abc import Iterator

import pytest

from argus_tui.pve.console import ConsoleEnded
from argus_tui.services.console_bridge import BridgeEnd, bridge


class ScriptedLink:
    """A console that sends what the test queues and records what it is sent."""

    def __init__(self, first: bytes = b"") -> None:
        self.first = first
        self.sent: list[bytes] = []
        self.output: queue.Queue[bytes | None] = queue.Queue()
        self.closed = threading.Event()

    def send(self, frame: bytes) -> None:
        self.sent.append(frame)

    def recv(self, timeout: float | None = None) -> bytes | None:
        while not self.closed.is_set():
            try:
                item = self.output.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is None:
                raise ConsoleEnded("the connection closed")
            return item
        raise ConsoleEnded("closed")

    def close(self) -> None:
        self.closed.set()


@pytest.fixture
def pty() -> Iterator[tuple[int, int]]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    yield master, slave
    os.close(master)
    os.close(slave)


def read_until(master: int, needle: bytes, timeout: float = 5.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(master, False)
    while needle not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(master, 65536)
        except BlockingIOError:
            time.sleep(0.01)
    return seen


def run_in_thread(link: ScriptedLink, slave: int) -> tuple[threading.Thread, list[BridgeEnd]]:
    result: list[BridgeEnd] = []

    def target() -> None:
        result.append(
            bridge(link, escape=0x1D, banner="[argus] connected", fd_in=slave, fd_out=slave)
        )

    thread = threading.Thread(target=target)
    thread.start()
    return thread, result


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_escape_leaves_and_restores_the_terminal(pty: tuple[int, int]) -> None:
    master, slave = pty
    before = termios.tcgetattr(slave)
    link = ScriptedLink(first=b"root@web01:~# ")
    thread, result = run_in_thread(link, slave)
    shown = read_until(master, b"root@web01:~# ")
    assert shown.startswith(b"[argus] connected\r\n")
    wait_for(lambda: link.sent)
    assert link.sent[0] == b"1:100:30:"  # the window's size first
    during = termios.tcgetattr(slave)
    assert not during[3] & (termios.ICANON | termios.ECHO | termios.ISIG)  # raw: ctrl+c is input
    os.write(master, "hé\x03".encode())
    wait_for(lambda: len(link.sent) > 1)
    os.write(master, b"ls\x1dignored")
    thread.join(5)
    assert result and result[0].how == "left"
    typed = b"".join(link.sent[1:])
    assert typed == b"0:4:h\xc3\xa9\x03" + b"0:2:ls"  # byte lengths; nothing after ctrl+]
    assert termios.tcgetattr(slave) == before
    assert link.closed.is_set()


def test_console_end_undoes_the_guests_modes(pty: tuple[int, int]) -> None:
    master, slave = pty
    before = termios.tcgetattr(slave)
    link = ScriptedLink()
    thread, result = run_in_thread(link, slave)
    link.output.put(b"\x1b[?1049h\x1b[?25lfull screen app")
    read_until(master, b"full screen app")
    link.output.put(b"\r\nlogout\r\n")
    link.output.put(None)  # the server closes the connection
    thread.join(5)
    assert result[0].how == "ended" and result[0].reason == "the connection closed"
    assert result[0].last_line == "logout"
    tail = read_until(master, b"\x1b[?25h\r\n")
    assert b"\x1b[?1049l" in tail and tail.endswith(b"\x1b[?25h\r\n")
    assert termios.tcgetattr(slave) == before


def test_window_changes_and_signals_in_the_main_thread(pty: tuple[int, int]) -> None:
    master, slave = pty
    before = termios.tcgetattr(slave)
    old_term = signal.getsignal(signal.SIGTERM)
    link = ScriptedLink()

    def user() -> None:
        wait_for(lambda: link.sent)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        os.kill(os.getpid(), signal.SIGWINCH)
        wait_for(lambda: b"1:160:50:" in link.sent)
        os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=user)
    helper.start()
    end = bridge(link, escape=0x1D, banner="[argus]", fd_in=slave, fd_out=slave)
    helper.join(5)
    assert link.sent[:2] == [b"1:100:30:", b"1:160:50:"]
    assert end.how == "signal" and end.signal == signal.SIGTERM
    assert termios.tcgetattr(slave) == before
    assert signal.getsignal(signal.SIGTERM) == old_term  # the app's handlers are back
    read_until(master, b"\x1b[?25h\r\n")


def test_closed_input_leaves(pty: tuple[int, int]) -> None:
    _master, slave = pty
    read_end, write_end = os.pipe()
    os.close(write_end)  # nothing more can be typed
    link = ScriptedLink()
    end = bridge(link, escape=0x1D, banner="", fd_in=read_end, fd_out=slave)
    os.close(read_end)
    assert end.how == "left" and link.closed.is_set()
