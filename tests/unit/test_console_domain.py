"""termproxy's framing, the escape key, the modes a console leaves set, and who may open
a console (pure rules of domain/console.py)."""

from __future__ import annotations

import pytest

from argus_tui.domain.console import (
    ConsoleTarget,
    TerminalModes,
    console_denial,
    escape_byte,
    input_frame,
    resize_frame,
    serial_ports,
    shell_denial,
    tokens_refused_text,
)
from argus_tui.domain.models import Guest, Privileges


def test_input_counts_bytes_not_characters() -> None:
    assert input_frame(b"ls\r") == b"0:3:ls\r"
    assert input_frame("é".encode()) == b"0:2:\xc3\xa9"
    assert input_frame(b"\xff\xfe") == b"0:2:\xff\xfe"  # not UTF-8: sent as it is


def test_resize_has_the_trailing_colon() -> None:
    assert resize_frame(120, 40) == b"1:120:40:"
    assert resize_frame(0, 0) == b"1:1:1:"


@pytest.mark.parametrize(
    ("key", "byte"),
    [("ctrl+]", 0x1D), ("ctrl+a", 1), ("CTRL+X", 0x18), ("ctrl+\\", 0x1C), ("ctrl+^", 0x1E)],
)
def test_escape_keys(key: str, byte: int) -> None:
    assert escape_byte(key) == byte


@pytest.mark.parametrize("key", ["]", "alt+x", "ctrl+1", "ctrl+", "f1", "ctrl+ab"])
def test_escape_key_must_be_a_control_key(key: str) -> None:
    with pytest.raises(ValueError, match="ctrl"):
        escape_byte(key)


def test_modes_undo_only_what_the_guest_set() -> None:
    modes = TerminalModes()
    modes.feed(b"plain text\r\n")
    assert modes.restore() == b"\x1b[0m\x1b[?25h\r\n"  # nothing was set: nothing undone
    modes.feed(b"\x1b[?1049h\x1b[?25l\x1b[?1000;1006h\x1b=")
    restore = modes.restore()
    for undo in (b"\x1b[?1049l", b"\x1b[?1000l", b"\x1b[?1006l", b"\x1b>", b"\x1b[?25h"):
        assert undo in restore
    modes.feed(b"\x1b[?1049l\x1b[?25h\x1b[?1000;1006l\x1b>")
    assert modes.restore() == b"\x1b[0m\x1b[?25h\r\n"


def test_modes_follow_a_sequence_cut_between_chunks() -> None:
    modes = TerminalModes()
    modes.feed(b"vim\x1b[?10")
    modes.feed(b"49h")
    assert b"\x1b[?1049l" in modes.restore()


def test_serial_ports_are_sockets_only() -> None:
    config = {"serial0": "socket", "serial1": "/dev/ttyS0", "serial3": "socket", "net0": "x"}
    assert serial_ports(config) == ["serial0", "serial3"]
    assert serial_ports({"scsi0": "local:vm-1-disk-0"}) == []


# As /access/permissions lists them: /vms and /nodes whenever anything is held there.
_ALL = {"VM.Console": True, "Sys.Console": True, "VM.Audit": True}
ROOT = Privileges({"/": _ALL, "/vms": _ALL, "/nodes": _ALL})
_AUDIT = {"VM.Audit": True, "Sys.Audit": True}
AUDITOR = Privileges({"/": _AUDIT, "/vms": _AUDIT, "/nodes": _AUDIT})


def vm(status: str = "running", **kw: object) -> Guest:
    return Guest(vmid=105, type="qemu", node="pve1", status=status, name="db01", **kw)  # type: ignore[arg-type]


def test_console_denials() -> None:
    assert console_denial(vm(), ROOT) is None
    denial = console_denial(vm(), AUDITOR)
    assert denial is not None and denial.permission
    assert denial.text == "needs VM.Console on /vms/105" and denial.path == "/vms/105"
    stopped = console_denial(vm("stopped"), ROOT)
    assert stopped is not None and "stopped" in stopped.text and not stopped.permission
    template = console_denial(vm("stopped", template=True), ROOT)
    assert template is not None and "template" in template.text
    no_serial = console_denial(vm(), ROOT, config={"scsi0": "x"})
    assert no_serial is not None and "qm set 105 --serial0 socket" in no_serial.text
    assert console_denial(vm(), ROOT, config={"serial0": "socket"}) is None
    refused = console_denial(vm(), ROOT, refused=True)
    assert refused is not None and "does not accept API tokens" in refused.text
    assert "9.1.7" in refused.text and "ssh root@pve1" in refused.text


def test_shell_denials() -> None:
    assert shell_denial("pve1", ROOT) is None
    denial = shell_denial("pve1", AUDITOR)
    assert denial is not None and denial.text == "needs Sys.Console on /nodes/pve1"
    offline = shell_denial("pve1", ROOT, online=False)
    assert offline is not None and "offline" in offline.text
    refused = tokens_refused_text(ConsoleTarget.of_node("pve1"))
    assert "node shells" in refused and "9.0.13" in refused


def test_targets() -> None:
    guest = ConsoleTarget.of_guest(vm())
    assert (guest.label, guest.path, guest.privilege, guest.action) == (
        "VM 105 (db01)",
        "/vms/105",
        "VM.Console",
        "console",
    )
    node = ConsoleTarget.of_node("pve1")
    assert (node.label, node.path, node.privilege, node.action) == (
        "node pve1",
        "/nodes/pve1",
        "Sys.Console",
        "shell",
    )
