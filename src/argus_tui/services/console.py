"""Consoles as an action: checked, opened, bridged to the terminal, journaled.

`prepare` asks the server what it would refuse (the privilege on the exact path, a
stopped guest, a VM without a serial socket) before termproxy is started; `open` starts
termproxy and connects within its 10 s; `finish` names how the session ended and
journals it (who, which guest, when, how long, how it ended; never what was typed or
shown). A server whose console refuses API tokens is remembered per server and version
(`ConsoleMemo`), so the TUI stops offering the key until the server changes.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from argus_tui.domain.console import (
    ConsoleTarget,
    login_notice,
    no_serial_text,
    serial_ports,
)
from argus_tui.domain.models import Entity
from argus_tui.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    ArgusError,
    ConnectionFailed,
    ConsoleRefused,
    OperationFailed,
    PermissionDenied,
)
from argus_tui.pve.console import ConsoleSocket, ConsoleTicket
from argus_tui.pve.mapping import MappingError, task_from
from argus_tui.services.checks import require
from argus_tui.services.console_bridge import BridgeEnd
from argus_tui.services.runner import TaskRunner
from argus_tui.store.private import FOLDER_MODE, data_dir, write_private
from argus_tui.store.records import ActionRecord

# What termproxy's command prints when it cannot attach (then the console closes).
_FAILURES = re.compile(
    r"unable to find a serial interface|wrong serial type on interface '\w+'"
    r"|VM \d+ not running|\d+ is not running"
)

EndKind = Literal["left", "ended", "failed", "lost", "signal"]


@dataclass(frozen=True, slots=True)
class ConsolePlan:
    """A console that passed the checks: what to open and what to say before it."""

    target: ConsoleTarget
    serial: str | None = None
    notice: str = ""  # said before connecting (a node shell's login prompt)

    def banner(self, escape_key: str) -> str:
        """The one line printed on the terminal as the console opens."""
        where = "" if self.target.is_node else f" on {self.target.node}"
        return f"[argus] connected to {self.target.what}{where}; press {escape_key} to return"


@dataclass(slots=True)
class OpenConsole:
    plan: ConsolePlan
    ticket: ConsoleTicket
    socket: ConsoleSocket
    started: float


@dataclass(frozen=True, slots=True)
class ConsoleEnd:
    """How a session ended, in one line for the user, and the CLI's exit code."""

    kind: EndKind
    message: str
    signal: int | None = None

    @property
    def exit_code(self) -> int:
        if self.kind == "signal" and self.signal is not None:
            return 128 + self.signal
        if self.kind == "failed":
            return EXIT_FAILED
        if self.kind == "lost":
            return EXIT_UNREACHABLE
        return EXIT_OK

    @property
    def error(self) -> bool:
        return self.kind in ("failed", "lost")


class ConsoleMemo:
    """Servers seen refusing API tokens for consoles, by address and PVE version.

    A file of its own under the data directory: a refusal learnt in one run keeps the
    key hidden in the next, until the server reports another version.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "console.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def knows(self, address: str) -> bool:
        return address in self._load()

    def refused(self, address: str, version: str | None, *, shell: bool) -> bool:
        entry = self._load().get(address)
        if not isinstance(entry, dict) or entry.get("version") != (version or ""):
            return False
        return bool(entry.get("shell" if shell else "guests"))

    def remember(self, address: str, version: str | None, *, shell: bool, refused: bool) -> None:
        data = self._load()
        entry = data.get(address)
        if not isinstance(entry, dict) or entry.get("version") != (version or ""):
            entry = {"version": version or ""}
        if bool(entry.get("shell" if shell else "guests")) == refused and address in data:
            return
        entry["shell" if shell else "guests"] = refused
        data[address] = entry
        with contextlib.suppress(OSError):  # 0600 in a 0700 folder: it names servers
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
            write_private(self.path, json.dumps(data, indent=1, sort_keys=True))


class ConsoleService:
    """One per session; blocking calls, for worker threads and the CLI."""

    def __init__(self, runner: TaskRunner, memo: ConsoleMemo | None = None) -> None:
        self.runner = runner
        self.memo = memo or ConsoleMemo()

    @property
    def address(self) -> str:
        return self.runner.client.settings.address

    def refused(self, version: str | None, *, shell: bool) -> bool:
        """Whether this server (at `version`) was seen refusing tokens for consoles."""
        return self.memo.refused(self.address, version, shell=shell)

    def prepare(self, target: ConsoleTarget, *, serial: str | None = None) -> ConsolePlan:
        """Check with the server what it would refuse; ArgusError names the reason."""
        client = self.runner.client
        require(client, target.path, [target.privilege], doing=f"open {target.what}")
        if target.is_node:
            return ConsolePlan(target, notice=login_notice(target.node))
        assert target.vmid is not None
        entity = Entity(target.kind, target.node, target.vmid)
        status = client.guest_status(entity)
        state = str(status.get("status") or "unknown")
        if status.get("template") in (1, "1", True):
            raise OperationFailed(f"{target.label} is a template: templates have no console")
        if state != "running":
            raise OperationFailed(
                f"{target.label} is {state}: only a running guest has a console",
                hint=f"start it first ('argus power start {target.vmid}')",
            )
        if target.kind == "qemu":
            ports = serial_ports(client.guest_config(entity))
            if not ports:
                raise OperationFailed(no_serial_text(target.vmid))
            if serial is not None and serial not in ports:
                raise OperationFailed(
                    f"{target.label} has no serial socket {serial} (it has {', '.join(ports)})"
                )
        elif serial is not None:
            raise OperationFailed("--serial is for VMs: a container has one console")
        return ConsolePlan(target, serial)

    @contextlib.contextmanager
    def open(self, plan: ConsolePlan) -> Iterator[OpenConsole]:
        """termproxy, then its WebSocket; a refusal of tokens is remembered."""
        client = self.runner.client
        target = plan.target
        started = time.time()
        try:
            ticket = client.termproxy(target, plan.serial)
            with client.console(target, ticket) as sock:
                self._remember(target, refused=False)
                yield OpenConsole(plan, ticket, sock, started)
        except ConsoleRefused as exc:
            self._remember(target, refused=True)
            self.journal(target, "", f"refused: {exc.message}", time.time() - started)
            raise
        except ArgusError as exc:
            if not isinstance(exc, PermissionDenied | ConnectionFailed | OperationFailed):
                raise
            self.journal(target, "", f"failed: {exc.message}", time.time() - started)
            raise

    def finish(self, opened: OpenConsole, end: BridgeEnd) -> ConsoleEnd:
        """Name how the session ended (asking the server when the connection closed) and
        journal it."""
        target = opened.plan.target
        result = self._classify(opened, end)
        duration = time.time() - opened.started
        self.journal(target, opened.ticket.upid, f"{result.kind}: {result.message}", duration)
        return result

    def _classify(self, opened: OpenConsole, end: BridgeEnd) -> ConsoleEnd:
        target = opened.plan.target
        if end.how == "left":
            return ConsoleEnd("left", f"left {target.what}")
        if end.how == "signal":
            return ConsoleEnd("signal", f"{target.what} closed by signal {end.signal}", end.signal)
        failure = _FAILURES.search(end.tail or end.last_line)
        if failure is not None:
            text = failure.group(0)
            if text.startswith("unable to find") and target.vmid is not None:
                text = no_serial_text(target.vmid)
            return ConsoleEnd("failed", f"{target.what} closed: {text}")
        if "lost" in end.reason:
            return ConsoleEnd("lost", f"{target.what} ended: {end.reason}")
        try:
            task = self._task(opened)
        except ConnectionFailed as exc:
            return ConsoleEnd("lost", f"{target.what} ended: lost the connection ({exc.message})")
        except ArgusError:
            task = None
        if task is not None and task.failed:
            return ConsoleEnd("failed", f"{target.what} ended: {task.status}")
        return ConsoleEnd("ended", f"{target.what} ended")

    def _task(self, opened: OpenConsole) -> Any:
        upid = opened.ticket.upid
        if not upid:
            return None
        client = self.runner.client
        status = client.task_status(opened.plan.target.node, upid)
        try:
            return task_from({**status, "upid": upid})
        except MappingError:
            return None

    def _remember(self, target: ConsoleTarget, *, refused: bool) -> None:
        if not refused and not self.memo.knows(self.address):
            return  # nothing to forget: spare the console a round trip before it opens
        try:
            version = str(self.runner.client.version().get("version") or "")
        except ArgusError:
            return
        self.memo.remember(self.address, version, shell=target.is_node, refused=refused)

    def journal(self, target: ConsoleTarget, upid: str, result: str, duration: float) -> None:
        """One journal row per console: who (the token), what, when, how long, how it ended."""
        history = self.runner.history
        if history is None:
            return
        try:
            history.record_action(
                ActionRecord(
                    ts=time.time(),
                    profile=self.runner.profile,
                    token_id=self.runner.client.settings.token_id,
                    vmid=target.vmid or 0,
                    guest=target.name if not target.is_node else "",
                    node=target.node,
                    action=target.action,
                    upid=upid,
                    result=result,
                    duration=round(duration, 3),
                    target=target.node if target.is_node else "",
                    operator=self.runner.operator,
                )
            )
        except ArgusError as exc:
            self.runner.journal_failed(str(exc))
