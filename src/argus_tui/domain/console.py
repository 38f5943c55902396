"""Text consoles: what one is opened on, who may open it, and termproxy's framing.

Proxmox's xterm.js console (termproxy behind `vncwebsocket`) carries the user's input as
`0:LEN:DATA` (LEN in bytes), a resize as `1:COLS:ROWS:` and a keepalive as `2`; the server
sends raw terminal bytes. docs/proxmox.md (Consoles) has the whole protocol.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from argus_tui.domain.models import Guest, Privileges
from argus_tui.domain.operations import Denial

ConsoleKind = Literal["qemu", "lxc", "node"]

VM_CONSOLE = "VM.Console"
SYS_CONSOLE = "Sys.Console"
#: The key that leaves a console, as telnet's; `console.leave` in [ui.keymap] remaps it.
DEFAULT_ESCAPE = "ctrl+]"
#: The keepalive the web UI sends every 30 s.
PING = b"2"
PING_INTERVAL = 30.0

#: Package versions whose console accepts API tokens (docs/proxmox.md, Consoles).
CONSOLE_VERSIONS = (
    "qemu-server >= 9.1.7 and pve-container >= 6.1.3 on PVE 9, "
    "qemu-server >= 8.4.7 and pve-container >= 5.3.4 on PVE 8"
)
SHELL_VERSIONS = "pve-manager >= 9.0.13 (PVE 9.1); no PVE 8 release"


@dataclass(frozen=True, slots=True)
class ConsoleTarget:
    """A guest's console or a node's shell."""

    kind: ConsoleKind
    node: str
    vmid: int | None = None
    name: str = ""

    @classmethod
    def of_guest(cls, guest: Guest) -> ConsoleTarget:
        return cls(guest.type, guest.node, guest.vmid, guest.name or "")

    @classmethod
    def of_node(cls, node: str) -> ConsoleTarget:
        return cls("node", node, None, node)

    @property
    def is_node(self) -> bool:
        return self.kind == "node"

    @property
    def label(self) -> str:
        """`CT 101 (web01)`, `VM 100 (db01)` or `node pve1`."""
        if self.is_node:
            return f"node {self.node}"
        kind = "VM" if self.kind == "qemu" else "CT"
        return f"{kind} {self.vmid} ({self.name})" if self.name else f"{kind} {self.vmid}"

    @property
    def path(self) -> str:
        """The ACL path the console's privilege is checked on."""
        return f"/nodes/{self.node}" if self.is_node else f"/vms/{self.vmid}"

    @property
    def privilege(self) -> str:
        return SYS_CONSOLE if self.is_node else VM_CONSOLE

    @property
    def action(self) -> str:
        """The journal's action name."""
        return "shell" if self.is_node else "console"

    @property
    def what(self) -> str:
        """`the console of CT 101 (web01)` / `the shell of node pve1`."""
        return f"the shell of {self.label}" if self.is_node else f"the console of {self.label}"


# -- framing -----------------------------------------------------------------------------


def input_frame(data: bytes) -> bytes:
    """Input for the console: LEN counts bytes, so UTF-8 and raw bytes both arrive whole."""
    return b"0:%d:" % len(data) + data


def resize_frame(cols: int, rows: int) -> bytes:
    """A window size change; termproxy needs the trailing colon."""
    return b"1:%d:%d:" % (max(1, cols), max(1, rows))


_CTRL_KEYS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def escape_byte(key: str) -> int:
    """The control byte of a `ctrl+X` key (`ctrl+]` -> 0x1d); ValueError for other keys.

    Only control keys can leave a raw console: any other byte is the guest's input.
    """
    text = key.strip().lower()
    prefix, _, rest = text.partition("+")
    if prefix != "ctrl" or len(rest) != 1:
        raise ValueError(f"{key!r} is not a ctrl+KEY key (for example ctrl+] or ctrl+x)")
    if "a" <= rest <= "z":
        return ord(rest) - ord("a") + 1
    if rest in _CTRL_KEYS:
        return _CTRL_KEYS[rest]
    raise ValueError(f"{key!r} has no control character; use ctrl+a..ctrl+z or ctrl+]")


# -- who may open what ----------------------------------------------------------------------


def serial_ports(config: Mapping[str, Any]) -> list[str]:
    """The VM's `serialN: socket` ports, the only kind `qm terminal` can attach to."""
    return sorted(
        key
        for key, value in config.items()
        if re.fullmatch(r"serial[0-3]", key) and str(value).strip() == "socket"
    )


def no_serial_text(vmid: int) -> str:
    """Why a VM without a serial socket has no text console, and how to give it one."""
    return (
        f"VM {vmid} has no serial port: add one with 'qm set {vmid} --serial0 socket' "
        "(it takes effect at the next VM start), and have the guest run a getty on ttyS0 "
        "(for example 'systemctl enable --now serial-getty@ttyS0'), or nothing will answer"
    )


def tokens_refused_text(target: ConsoleTarget) -> str:
    """The one message for a Proxmox build whose console does not accept API tokens."""
    versions = SHELL_VERSIONS if target.is_node else CONSOLE_VERSIONS
    instead = (
        f"ssh root@{target.node}"
        if target.is_node
        else f"ssh root@{target.node}, then "
        + ("qm terminal" if target.kind == "qemu" else "pct console")
        + f" {target.vmid}"
    )
    return (
        f"this Proxmox build does not accept API tokens for "
        f"{'node shells' if target.is_node else 'consoles'}: that needs {versions}; "
        f"meanwhile use SSH to the node ({instead})"
    )


def login_notice(node: str) -> str:
    """Said before a node shell opens: PVE logs in only root@pam itself."""
    return (
        f"{node} will show a Linux login prompt: Proxmox logs in only root@pam itself, and "
        f"asks everyone else, API tokens included, for a local account on {node}"
    )


def console_denial(
    guest: Guest,
    privileges: Privileges,
    *,
    read_only: bool = False,
    refused: bool = False,
    config: Mapping[str, Any] | None = None,
) -> Denial | None:
    """Why `c` is not offered on `guest`, or None when it is.

    `refused` says the server was seen refusing tokens for consoles; `config`, when the
    guest's config is known, lets a VM without a serial socket be explained up front.
    """
    del read_only  # a console changes nothing: a read-only profile may open one
    path = f"/vms/{guest.vmid}"
    if VM_CONSOLE not in privileges.on_guest(guest.vmid):
        return Denial(f"needs {VM_CONSOLE} on {path}", VM_CONSOLE, path)
    if refused:
        return Denial(tokens_refused_text(ConsoleTarget.of_guest(guest)))
    if guest.template:
        return Denial("it is a template: templates never run, so they have no console")
    if guest.status != "running":
        return Denial(f"it is {guest.status}: only a running guest has a console")
    if guest.type == "qemu" and config is not None and not serial_ports(config):
        return Denial(no_serial_text(guest.vmid))
    return None


def shell_denial(
    node: str, privileges: Privileges, *, online: bool = True, refused: bool = False
) -> Denial | None:
    """Why `c` (Shell) is not offered on a node, or None when it is."""
    path = f"/nodes/{node}"
    if not privileges.holds(path, SYS_CONSOLE):
        return Denial(f"needs {SYS_CONSOLE} on {path}", SYS_CONSOLE, path)
    if refused:
        return Denial(tokens_refused_text(ConsoleTarget.of_node(node)))
    if not online:
        return Denial(f"{node} is offline")
    return None


# -- giving the terminal back ------------------------------------------------------------------

# DEC private modes a guest's program may leave set when the console ends: the alternate
# screen, a hidden cursor, mouse reporting, bracketed paste, application cursor keys.
_TRACKED = {"1", "25", "47", "1000", "1002", "1003", "1004", "1006", "1015", "1047", "1049", "2004"}
_MODE_RE = re.compile(rb"\x1b\[\?([0-9;]+)([hl])")
_KEYPAD_RE = re.compile(rb"\x1b([=>])")


class TerminalModes:
    """Follows the modes the console's output sets, to undo exactly those at the end.

    Writing a blanket reset would clear the user's screen or move their cursor; undoing
    only what the guest turned on gives the terminal back as it was before.
    """

    def __init__(self) -> None:
        self.set: set[str] = set()
        self.keypad = False
        self._tail = b""

    def feed(self, data: bytes) -> None:
        chunk = self._tail + data
        for match in _MODE_RE.finditer(chunk):
            on = match.group(2) == b"h"
            for mode in match.group(1).decode().split(";"):
                if mode in _TRACKED:
                    if on != (mode == "25"):  # ?25l hides the cursor: that is what to undo
                        self.set.add(mode)
                    else:
                        self.set.discard(mode)
        for match in _KEYPAD_RE.finditer(chunk):
            self.keypad = match.group(1) == b"="
        # A sequence may be cut between two chunks: keep the end of this one.
        cut = chunk.rfind(b"\x1b")
        self._tail = chunk[cut:] if cut >= 0 and len(chunk) - cut < 16 else b""

    def restore(self) -> bytes:
        """The bytes that undo what is still set, plus plain attributes and a new line."""
        out = [b"\x1b[0m"]
        for mode in sorted(self.set - {"25"}, key=int, reverse=True):
            out.append(b"\x1b[?%sl" % mode.encode())
        if self.keypad:
            out.append(b"\x1b>")
        out.append(b"\x1b[?25h\r\n")
        return b"".join(out)
