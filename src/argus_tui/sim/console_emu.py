"""An emulated terminal behind a simulated console: a login, a shell prompt, a few commands.

Nothing here touches the host. Each console is a small state machine fed with the bytes
the user types; it answers what a Debian system on a terminal would show: the echo of the
line discipline, a login prompt where the real console has one, and the output of a
handful of commands. Output is pulled with `read()`, so a long command (`seq 10000000`,
`cat /var/log/syslog`) is produced as fast as the client takes it and ctrl+c stops it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

CHUNK = 128 * 1024  # termproxy and pveproxy pass at most this much per frame
SEQ_MAX = 10_000_000
SYSLOG_SIZE = 4 * 1024 * 1024
OS_RELEASE = (
    b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\r\n'
    b'NAME="Debian GNU/Linux"\r\n'
    b'VERSION_ID="12"\r\n'
    b'VERSION="12 (bookworm)"\r\n'
    b"VERSION_CODENAME=bookworm\r\n"
    b"ID=debian\r\n"
    b'HOME_URL="https://www.debian.org/"\r\n'
    b'SUPPORT_URL="https://www.debian.org/support"\r\n'
    b'BUG_REPORT_URL="https://bugs.debian.org/"\r\n'
)

_ESC, _CSI, _SS3 = 1, 2, 3  # escape sequence states: after ESC, inside CSI, after ESC O
_QUOTES = (0x22, 0x27)


@dataclass(frozen=True, slots=True)
class Host:
    """The system a console shows: its name, kernel, terminal and how long it has run."""

    name: str
    login: bool  # a login prompt first (VM serial getty, node /bin/login); else a root shell
    password: bool  # login asks for a password (the node's PAM login)
    kernel: str  # `uname -r -v -m` of the system
    tty: str  # what `tty` prints
    uptime: Callable[[], float]  # seconds since the system booted
    clock: Callable[[], float]  # the current epoch (the simulated clock)


class ConsoleEmulator:
    """One console session: `start()`, then `feed()` keystrokes and `read()` the screen."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.cols, self.rows = 80, 20  # termproxy starts its pty at 80x20
        self.ended = False  # the user logged out; what is left to read is the last output
        self._out = bytearray()
        self._running: Iterator[bytes] | None = None  # output of the command still running
        self._typeahead = bytearray()  # typed while a command runs, read when it is done
        self._line = bytearray()
        self._escape = 0
        self._stage = "login" if host.login else "shell"
        self._user = b"root"

    # -- what the relay uses ------------------------------------------------------------

    def start(self) -> bytes:
        """What the console shows as soon as the client is connected."""
        return self._stage_prompt()

    def resize(self, cols: int, rows: int) -> None:
        self.cols, self.rows = cols, rows

    @property
    def busy(self) -> bool:
        """Output is waiting to be read."""
        return bool(self._out) or self._running is not None

    @property
    def finished(self) -> bool:
        """The user logged out and everything has been read: the console ends."""
        return self.ended and not self.busy

    def feed(self, data: bytes) -> None:
        """Keystrokes; while a command runs only ctrl+c acts, the rest waits for the prompt."""
        for byte in data:
            if self.ended:
                return
            if self._running is not None:
                if byte == 0x03:
                    self._running = None
                    self._typeahead.clear()
                    self._emit(b"^C\r\n" + self._stage_prompt())
                else:
                    self._typeahead.append(byte)
                continue
            self._key(byte)

    def read(self, limit: int = CHUNK) -> bytes:
        """Up to `limit` bytes of output, running the current command as far as needed."""
        while len(self._out) < limit and self._running is not None:
            chunk = next(self._running, None)
            if chunk is not None:
                self._out += chunk
                continue
            self._running = None
            self._emit(self._stage_prompt())
            typed, self._typeahead = bytes(self._typeahead), bytearray()
            self.feed(typed)
        data = bytes(self._out[:limit])
        del self._out[:limit]
        return data

    # -- the line discipline ----------------------------------------------------------------

    def _emit(self, data: bytes) -> None:
        self._out += data

    def _echo(self, data: bytes) -> None:
        if self._stage != "password":  # login turns echo off while the password is typed
            self._emit(data)

    def _key(self, byte: int) -> None:
        if self._escape:
            self._escape_step(byte)
        elif byte == 0x1B:
            self._escape = _ESC
        elif byte in (0x0D, 0x0A):
            self._emit(b"\r\n")
            line, self._line = bytes(self._line), bytearray()
            self._enter(line)
        elif byte in (0x7F, 0x08):
            if self._erase_char():
                self._echo(b"\b \b")
        elif byte == 0x03:
            self._line.clear()
            self._emit(b"^C\r\n")
            if self._stage == "password":
                self._stage = "login"
            self._emit(self._stage_prompt())
        elif byte == 0x04:
            if not self._line and self._stage == "shell":
                self._logout()
        elif byte == 0x15:
            while self._erase_char():
                self._echo(b"\b \b")
        elif byte >= 0x20:  # printable, and every byte of a UTF-8 (or any 8-bit) character
            self._line.append(byte)
            self._echo(bytes((byte,)))
        # other control keys (tab, ctrl+l, ...) do nothing here

    def _escape_step(self, byte: int) -> None:
        """Swallow an escape sequence (arrow keys, function keys, alt+key)."""
        if self._escape == _ESC:
            self._escape = _CSI if byte == 0x5B else _SS3 if byte == 0x4F else 0
        elif self._escape == _CSI:
            if 0x40 <= byte <= 0x7E:
                self._escape = 0
        else:
            self._escape = 0

    def _erase_char(self) -> bool:
        """Drop the last character of the line (all bytes of a UTF-8 one)."""
        if not self._line:
            return False
        end = len(self._line) - 1
        while end > 0 and self._line[end] & 0xC0 == 0x80:
            end -= 1
        del self._line[end:]
        return True

    def _stage_prompt(self) -> bytes:
        if self._stage == "login":
            return self.host.name.encode() + b" login: "
        if self._stage == "password":
            return b"Password: "
        sign = b"#" if self._user == b"root" else b"$"
        return self._user + b"@" + self.host.name.encode() + b":~" + sign + b" "

    def _enter(self, line: bytes) -> None:
        if self._stage == "login":
            if line.strip():
                self._user = line.strip()
                self._stage = "password" if self.host.password else "shell"
        elif self._stage == "password":
            self._stage = "shell"  # any password will do
        else:
            self._run(line)
            return
        self._emit(self._stage_prompt())

    def _logout(self) -> None:
        self._emit(b"logout\r\n")
        self.ended = True

    # -- commands ---------------------------------------------------------------------------

    def _run(self, line: bytes) -> None:
        words = split_words(line)
        if not words:
            self._emit(self._stage_prompt())
            return
        name, args = words[0], words[1:]
        if name in (b"exit", b"logout"):
            self._logout()
            return
        command = _COMMANDS.get(name)
        if command is None:
            self._emit(b"-bash: " + name + b": command not found\r\n" + self._stage_prompt())
            return
        self._running = command(self, args)

    def _hostname(self, args: list[bytes]) -> Iterator[bytes]:
        yield self.host.name.encode() + b"\r\n"

    def _echo_cmd(self, args: list[bytes]) -> Iterator[bytes]:
        newline = not (args and args[0] == b"-n")
        words = args[1:] if not newline else args
        yield b" ".join(words) + (b"\r\n" if newline else b"")

    def _uname(self, args: list[bytes]) -> Iterator[bytes]:
        release = self.host.kernel.split(" ", 1)[0]
        parts = {
            b"-s": "Linux",
            b"-n": self.host.name,
            b"-r": release,
            b"-a": f"Linux {self.host.name} {self.host.kernel} GNU/Linux",
        }
        wanted = args or [b"-s"]
        unknown = next((a for a in wanted if a not in parts), None)
        if unknown is not None:
            option = unknown.lstrip(b"-")[:1]
            yield b"uname: invalid option -- '" + option + b"'\r\n"
            yield b"Try 'uname --help' for more information.\r\n"
            return
        yield " ".join(parts[a] for a in wanted).encode() + b"\r\n"

    def _uptime(self, args: list[bytes]) -> Iterator[bytes]:
        yield uptime_line(self.host.clock(), self.host.uptime()).encode() + b"\r\n"

    def _whoami(self, args: list[bytes]) -> Iterator[bytes]:
        yield self._user + b"\r\n"

    def _tty(self, args: list[bytes]) -> Iterator[bytes]:
        yield self.host.tty.encode() + b"\r\n"

    def _stty(self, args: list[bytes]) -> Iterator[bytes]:
        if args == [b"size"]:
            yield f"{self.rows} {self.cols}\r\n".encode()
        elif not args:
            yield b"speed 38400 baud; line = 0;\r\n-brkint -imaxbel iutf8\r\n"
        else:
            yield b"stty: invalid argument '" + args[0] + b"'\r\n"
            yield b"Try 'stty --help' for more information.\r\n"

    def _clear(self, args: list[bytes]) -> Iterator[bytes]:
        yield b"\x1b[H\x1b[2J\x1b[3J"

    def _cat(self, args: list[bytes]) -> Iterator[bytes]:
        for name in args:
            if name == b"/etc/os-release":
                yield OS_RELEASE
            elif name == b"/etc/hostname":
                yield self.host.name.encode() + b"\r\n"
            elif name == b"/var/log/syslog":
                yield from syslog(self.host.name)
            else:
                yield b"cat: " + name + b": No such file or directory\r\n"

    def _seq(self, args: list[bytes]) -> Iterator[bytes]:
        if not args or len(args) > 2:
            yield b"seq: missing operand\r\n" if not args else b"seq: extra operand\r\n"
            yield b"Try 'seq --help' for more information.\r\n"
            return
        bad = next((a for a in args if not a.isdigit()), None)
        if bad is not None:
            yield b"seq: invalid floating point argument: '" + bad + b"'\r\n"
            yield b"Try 'seq --help' for more information.\r\n"
            return
        first, last = (1, int(args[0])) if len(args) == 1 else (int(args[0]), int(args[1]))
        yield from numbers(first, min(last, SEQ_MAX))


_COMMANDS: dict[bytes, Callable[[ConsoleEmulator, list[bytes]], Iterator[bytes]]] = {
    b"hostname": ConsoleEmulator._hostname,
    b"echo": ConsoleEmulator._echo_cmd,
    b"uname": ConsoleEmulator._uname,
    b"uptime": ConsoleEmulator._uptime,
    b"whoami": ConsoleEmulator._whoami,
    b"tty": ConsoleEmulator._tty,
    b"stty": ConsoleEmulator._stty,
    b"clear": ConsoleEmulator._clear,
    b"cat": ConsoleEmulator._cat,
    b"seq": ConsoleEmulator._seq,
}


def split_words(line: bytes) -> list[bytes]:
    """The shell's words: split at blanks, '...' and "..." quote (bytes kept as typed)."""
    words: list[bytes] = []
    word = bytearray()
    quote = 0
    started = False
    for byte in line:
        if quote:
            if byte == quote:
                quote = 0
            else:
                word.append(byte)
        elif byte in _QUOTES:
            quote = byte
            started = True
        elif byte in (0x20, 0x09):
            if started:
                words.append(bytes(word))
                word.clear()
                started = False
        else:
            word.append(byte)
            started = True
    if started:
        words.append(bytes(word))
    return words


def uptime_line(now: float, up: float) -> str:
    """procps' `uptime`: ` 14:03:07 up 3 days,  2:11,  1 user,  load average: ...`."""
    minutes_up = int(up) // 60
    days, rest = divmod(minutes_up, 1440)
    hours, minutes = divmod(rest, 60)
    text = f" {time.strftime('%H:%M:%S', time.gmtime(now))} up "
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours:2d}:{minutes:02d}, " if hours else f"{minutes} min, "
    return text + " 1 user,  load average: 0.08, 0.03, 0.01"


def numbers(first: int, last: int, batch: int = 8192) -> Iterator[bytes]:
    """`seq first last`, one number per line, in batches."""
    for start in range(first, last + 1, batch):
        stop = min(start + batch, last + 1)
        yield ("\r\n".join(map(str, range(start, stop))) + "\r\n").encode()


_SYSLOG_LINES = (
    "systemd[1]: Starting apt-daily.service - Daily apt download activities...",
    "systemd[1]: apt-daily.service: Deactivated successfully.",
    "systemd[1]: Finished apt-daily.service - Daily apt download activities.",
    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "systemd[1]: Started session-{n}.scope - Session {n} of User root.",
    "sshd[{pid}]: Accepted publickey for root from 10.10.0.5 port {port} ssh2",
    "sshd[{pid}]: pam_unix(sshd:session): session closed for user root",
    "kernel: [{up}.{frac:06d}] perf: interrupt took too long, lowering sample rate",
    "chronyd[612]: Selected source 10.10.0.1 (ntp.acme.example)",
    "systemd-timesyncd[598]: Network configuration changed, trying to establish connection.",
    "postfix/qmgr[{pid}]: 4F2A1C2E3B: removed",
    "rsyslogd[{pid}]: imjournal: journal files changed, reloading...",
)
_SYSLOG_EPOCH = 1_767_225_600  # 2026-01-01 00:00:00 UTC: the log does not follow the clock


def syslog(host: str, size: int = SYSLOG_SIZE, batch: int = 512) -> Iterator[bytes]:
    """A deterministic syslog of about `size` bytes, the same for every run and host name."""
    written = 0
    index = 0
    while written < size:
        lines = []
        for _ in range(batch):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(_SYSLOG_EPOCH + index * 7))
            template = _SYSLOG_LINES[(index * 7 + index // 13) % len(_SYSLOG_LINES)]
            text = template.format(
                pid=1000 + index * 37 % 60000,
                n=index // 5,
                port=32768 + index * 131 % 28000,
                up=index * 7,
                frac=index * 7919 % 1_000_000,
            )
            lines.append(f"{stamp}.{index * 4099 % 1_000_000:06d}+00:00 {host} {text}\r\n")
            index += 1
        chunk = "".join(lines).encode()
        written += len(chunk)
        yield chunk
