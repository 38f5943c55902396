"""The user's terminal joined to a console: raw mode, input out, the guest's bytes in.

Whatever ends the session (the escape key, the console closing, the network dropping, a
SIGTERM or SIGHUP) the terminal is given back as it was: its termios settings, and the
modes the guest's programs turned on (alternate screen, hidden cursor, mouse) undone.
Console bytes go to the terminal only: never to a log, the history or the assistant.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import termios
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Literal, Protocol

from argus_tui.domain.console import PING, PING_INTERVAL, TerminalModes, input_frame, resize_frame
from argus_tui.pve.console import ConsoleEnded

EndHow = Literal["left", "ended", "signal"]
_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_ANSI_RE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)")


class ConsoleLink(Protocol):
    """What the bridge needs of an open console (pve.console.ConsoleSocket has it)."""

    first: bytes

    def send(self, frame: bytes) -> None: ...

    def recv(self, timeout: float | None = None) -> bytes | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class BridgeEnd:
    """How the session ended. `last_line` is the console's last line of text, kept only
    to explain a console that closed at once (it is never stored anywhere)."""

    how: EndHow
    reason: str = ""
    signal: int | None = None
    last_line: str = ""
    seconds: float = 0.0
    tail: str = ""  # the last few lines, for the same purpose


def bridge(
    link: ConsoleLink,
    *,
    escape: int,
    banner: str,
    fd_in: int = 0,
    fd_out: int = 1,
    clock: Callable[[], float] = time.monotonic,
) -> BridgeEnd:
    """Run the session until it ends; blocks. Call from the main thread to get signals."""
    started = clock()
    modes = TerminalModes()
    tail = _Tail()
    ended = threading.Event()
    reasons: list[str] = []
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    pending: dict[str, int | bool] = {}

    def wake(signum: int, _frame: FrameType | None) -> None:
        pending["winch" if signum == signal.SIGWINCH else "signal"] = signum
        with contextlib.suppress(OSError):
            os.write(wake_w, b"!")

    def pump() -> None:
        try:
            data: bytes | None = link.first
            while True:
                if data:
                    modes.feed(data)
                    tail.feed(data)
                    _write_all(fd_out, data)
                data = link.recv(None)
        except ConsoleEnded as exc:
            reasons.append(exc.reason)
        except OSError:
            reasons.append("the terminal went away")
        finally:
            ended.set()
            with contextlib.suppress(OSError):
                os.write(wake_w, b"!")

    reader = threading.Thread(target=pump, name="argus-console", daemon=True)
    with _signals(wake), _raw(fd_in):
        try:
            _write_all(fd_out, banner.encode("utf-8", "replace") + b"\r\n")
            _send_size(link, fd_out)
            reader.start()
            how, signum = _loop(link, escape, (fd_in, fd_out), wake_r, ended, pending, clock)
        finally:
            with contextlib.suppress(Exception):
                link.close()
            if reader.is_alive():
                reader.join(3)
            with contextlib.suppress(OSError):
                _write_all(fd_out, modes.restore())
            os.close(wake_r)
            os.close(wake_w)
    reason = reasons[0] if reasons and how == "ended" else ""
    return BridgeEnd(how, reason, signum, tail.last_line(), clock() - started, tail.lines())


def _loop(
    link: ConsoleLink,
    escape: int,
    fds: tuple[int, int],
    wake_r: int,
    ended: threading.Event,
    pending: dict[str, int | bool],
    clock: Callable[[], float],
) -> tuple[EndHow, int | None]:
    fd_in, fd_out = fds
    last_ping = clock()
    escape_byte = bytes([escape])
    while True:
        timeout = max(0.0, PING_INTERVAL - (clock() - last_ping))
        try:
            ready, _, _ = select.select([fd_in, wake_r], [], [], timeout)
        except InterruptedError:
            ready = []
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError, OSError):
                os.read(wake_r, 512)
        if "signal" in pending:
            return "signal", int(pending["signal"])
        if ended.is_set():
            return "ended", None
        if pending.pop("winch", None) is not None:
            _send_size(link, fd_out)
        if fd_in in ready:
            data = os.read(fd_in, 65536)
            if not data:
                return "left", None  # the input closed: nothing more can be typed
            cut = data.find(escape_byte)
            chunk = data if cut < 0 else data[:cut]
            with contextlib.suppress(ConsoleEnded):
                if chunk:
                    link.send(input_frame(chunk))
            if cut >= 0:
                return "left", None
        if clock() - last_ping >= PING_INTERVAL:
            with contextlib.suppress(ConsoleEnded):
                link.send(PING)
            last_ping = clock()


def _send_size(link: ConsoleLink, fd: int) -> None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return
    with contextlib.suppress(ConsoleEnded):
        link.send(resize_frame(size.columns, size.lines))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    """Raw mode for the session (ctrl+c goes to the guest), the old settings after it."""
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        yield  # not a terminal (a pipe in tests): nothing to set or restore
        return
    try:
        tty.setraw(fd)
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """Window changes and termination signals wake the loop, then the old handlers return."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGWINCH, *_SIGNALS)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


class _Tail:
    """The last few hundred bytes of output, to name why a console closed at once."""

    def __init__(self) -> None:
        self._data = b""

    def feed(self, data: bytes) -> None:
        self._data = (self._data + data)[-512:]

    def _lines(self) -> list[str]:
        text = _ANSI_RE.sub("", self._data.decode("utf-8", "replace"))
        lines = (line.strip() for line in re.split(r"[\r\n]+", text))
        return ["".join(ch for ch in line if ch.isprintable())[:200] for line in lines if line]

    def last_line(self) -> str:
        lines = self._lines()
        return lines[-1] if lines else ""

    def lines(self, count: int = 4) -> str:
        """The last `count` lines: a console may say why it closes, then sign off."""
        return "\n".join(self._lines()[-count:])
