"""The emulated terminal behind a console: line discipline, login and commands (no network)."""

from __future__ import annotations

import pytest

from argus_tui.sim.console_emu import (
    SEQ_MAX,
    SYSLOG_SIZE,
    ConsoleEmulator,
    Host,
    split_words,
    syslog,
    uptime_line,
)

EPOCH = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
PROMPT = b"root@ct1:~# "


def _host(*, login: bool = False, password: bool = False, up: float = 3600.0) -> Host:
    return Host(
        name="ct1",
        login=login,
        password=password,
        kernel="6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z) x86_64",
        tty="/dev/tty1",
        uptime=lambda: up,
        clock=lambda: EPOCH,
    )


def _shell(**host: object) -> ConsoleEmulator:
    console = ConsoleEmulator(_host(**host))  # type: ignore[arg-type]
    console.start()
    return console


def _type(console: ConsoleEmulator, data: bytes) -> bytes:
    console.feed(data)
    out = b""
    while console.busy:
        out += console.read()
    return out


def test_a_root_shell_starts_at_its_prompt() -> None:
    assert ConsoleEmulator(_host()).start() == PROMPT


def test_echo_and_enter() -> None:
    console = _shell()
    assert _type(console, b"hostn") == b"hostn"
    assert _type(console, b"ame\r") == b"ame\r\nct1\r\n" + PROMPT
    assert _type(console, b"hostname\n") == b"hostname\r\nct1\r\n" + PROMPT  # LF works too
    assert _type(console, b"\r") == b"\r\n" + PROMPT


def test_backspace_erases_one_whole_character() -> None:
    console = _shell()
    assert _type(console, "echo é".encode()) == "echo é".encode()
    assert _type(console, b"\x7f") == b"\b \b"  # both bytes of the e-acute
    assert _type(console, b"x\x08y\r") == b"x\b \by\r\ny\r\n" + PROMPT
    assert _type(console, b"\x7f") == b""  # nothing left to erase


def test_ctrl_c_ctrl_u_and_ctrl_d() -> None:
    console = _shell()
    assert _type(console, b"abc\x03") == b"abc^C\r\n" + PROMPT
    assert _type(console, b"ab\x15") == b"ab\b \b\b \b"
    assert _type(console, b"x\x04") == b"x"  # ctrl+d only logs out on an empty line
    assert _type(console, b"\x15\x04") == b"\b \blogout\r\n"
    assert console.ended and console.finished


def test_escape_sequences_are_swallowed() -> None:
    console = _shell()
    keys = b"\x1b[A\x1b[1;5C\x1bOP\x1bx"  # up, ctrl+right, F1, alt+x
    assert _type(console, keys + b"tty\r") == b"tty\r\n/dev/tty1\r\n" + PROMPT


def test_bytes_that_are_not_utf8_are_kept_as_they_are() -> None:
    console = _shell()
    assert _type(console, b"echo \xff\xfe\r") == b"echo \xff\xfe\r\n\xff\xfe\r\n" + PROMPT
    assert _type(console, b"\xff\r") == b"\xff\r\n-bash: \xff: command not found\r\n" + PROMPT


@pytest.mark.parametrize(
    ("line", "output"),
    [
        (b"hostname", b"ct1\r\n"),
        (b"echo  one   two ", b"one two\r\n"),
        (b"echo 'a  b' \"c\"", b"a  b c\r\n"),
        (b"echo -n hi", b"hi"),
        (b"uname", b"Linux\r\n"),
        (b"uname -r", b"6.8.12-4-pve\r\n"),
        (
            b"uname -a",
            b"Linux ct1 6.8.12-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-4 (2024-11-06T15:04Z)"
            b" x86_64 GNU/Linux\r\n",
        ),
        (b"uptime", b" 14:13:20 up  1:00,  1 user,  load average: 0.08, 0.03, 0.01\r\n"),
        (b"whoami", b"root\r\n"),
        (b"tty", b"/dev/tty1\r\n"),
        (b"stty size", b"20 80\r\n"),  # termproxy starts the pty at 80x20
        (b"seq 3", b"1\r\n2\r\n3\r\n"),
        (b"seq 9 11", b"9\r\n10\r\n11\r\n"),
        (b"seq 0", b""),
        (
            b"seq x",
            b"seq: invalid floating point argument: 'x'\r\n"
            b"Try 'seq --help' for more information.\r\n",
        ),
        (b"cat /nope", b"cat: /nope: No such file or directory\r\n"),
        (b"ls -l", b"-bash: ls: command not found\r\n"),
    ],
)
def test_commands(line: bytes, output: bytes) -> None:
    console = _shell()
    assert _type(console, line + b"\r") == line + b"\r\n" + output + PROMPT


def test_os_release_says_debian_12() -> None:
    out = _type(_shell(), b"cat /etc/os-release\r")
    assert b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\r\n' in out
    assert b"\nID=debian\r\n" in out and b"\n" not in out.replace(b"\r\n", b"")


def test_resize_changes_stty_size() -> None:
    console = _shell()
    console.resize(132, 43)
    assert _type(console, b"stty size\r") == b"stty size\r\n43 132\r\n" + PROMPT


def test_exit_and_logout_end_the_console() -> None:
    for word in (b"exit", b"logout"):
        console = _shell()
        assert _type(console, word + b"\r") == word + b"\r\nlogout\r\n"
        assert console.finished
        assert _type(console, b"hostname\r") == b""  # nothing runs after the end


def test_vm_serial_login_takes_any_user_without_password() -> None:
    console = ConsoleEmulator(_host(login=True))
    assert console.start() == b"ct1 login: "
    assert _type(console, b"\r") == b"\r\nct1 login: "  # an empty name asks again
    assert _type(console, b"alice\r") == b"alice\r\nalice@ct1:~$ "
    assert _type(console, b"whoami\r") == b"whoami\r\nalice\r\nalice@ct1:~$ "


def test_node_login_asks_for_a_password_it_does_not_echo() -> None:
    console = ConsoleEmulator(_host(login=True, password=True))
    assert console.start() == b"ct1 login: "
    assert _type(console, b"root\r") == b"root\r\nPassword: "
    assert _type(console, b"s3cr\x7fet\r") == b"\r\n" + PROMPT
    console = ConsoleEmulator(_host(login=True, password=True))
    console.start()
    assert _type(console, b"root\rpw\x03") == b"root\r\nPassword: ^C\r\nct1 login: "


def test_uptime_formats() -> None:
    assert uptime_line(EPOCH, 59) == " 14:13:20 up 0 min,  1 user,  load average: 0.08, 0.03, 0.01"
    assert uptime_line(EPOCH, 86400 + 600).startswith(" 14:13:20 up 1 day, 10 min,")
    assert uptime_line(EPOCH, 3 * 86400 + 7260).startswith(" 14:13:20 up 3 days,  2:01,")


def test_long_output_is_read_in_chunks_and_ctrl_c_stops_it() -> None:
    console = _shell()
    console.feed(b"seq 10000000\r")
    first = console.read(1000)
    assert len(first) == 1000 and first.startswith(b"seq 10000000\r\n1\r\n2\r\n")
    console.feed(b"hostname\r")  # typed ahead: waits for the prompt
    console.feed(b"\x03")  # ... and ctrl+c throws it away
    rest = b""
    while console.busy:
        rest += console.read()
    assert rest.endswith(b"^C\r\n" + PROMPT) and len(rest) < 300_000


def test_typeahead_runs_after_the_command() -> None:
    console = _shell()
    console.feed(b"seq 2\rhostname\r")
    out = b""
    while console.busy:
        out += console.read()
    assert out == b"seq 2\r\n1\r\n2\r\n" + PROMPT + b"hostname\r\nct1\r\n" + PROMPT


def test_seq_is_capped_at_ten_million() -> None:
    console = _shell()
    console.feed(b"seq 99999999\r")
    tail = b""
    while console.busy:
        tail = (tail + console.read())[-64:]
    assert tail.endswith(f"\r\n{SEQ_MAX}\r\n".encode() + PROMPT)


def test_syslog_is_deterministic_and_about_4_mib() -> None:
    first = b"".join(syslog("ct1"))
    assert first == b"".join(syslog("ct1"))
    assert SYSLOG_SIZE <= len(first) < SYSLOG_SIZE + 128 * 1024
    lines = first.split(b"\r\n")
    assert lines[-1] == b"" and all(b" ct1 " in line for line in lines[:-1])
    out = _type(_shell(), b"cat /var/log/syslog\r")
    assert out == b"cat /var/log/syslog\r\n" + first + PROMPT


def test_split_words() -> None:
    assert split_words(b"  a  'b c'd \"\" e\t") == [b"a", b"b cd", b"", b"e"]
    assert split_words(b"echo 'open") == [b"echo", b"open"]
