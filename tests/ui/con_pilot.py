"""Pilot helpers for the console tests: the ops cluster with consoles (a VM with a serial
port, a token that may open consoles and node shells), and a terminal made of pipes for
the step that would suspend the TUI (headless Textual cannot suspend)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from argus_tui.services.console import ConsoleMemo, ConsolePlan, ConsoleService
from argus_tui.services.console_bridge import bridge
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.console_flow import Attached, Escape
from argus_tui.ui.screens.power import WhyNot
from tests.ops_scenario import TOKENS, ops_scenario, secret_of
from tests.ui.conftest import session_for

#: Footer label -> key, per screen.
GUEST_KEYS = {"Console": "c"}
NODE_KEYS = {"Shell": "c"}
CONSOLE_TOKEN = "con@pve!tui"  # VM.Console and Sys.Console on /, nothing else to change
WHO = {**TOKENS, "console": CONSOLE_TOKEN}
SERIAL_VM = 102  # web01 (101) has no serial port; db01 (102) has serial0 = socket
CT = 103  # cache01, a running container on pve-b


def con_scenario(*, console_tokens: bool = True) -> dict[str, Any]:
    """The ops cluster; `console_tokens=False` is a Proxmox build whose consoles refuse
    API tokens."""
    data = ops_scenario()
    if not console_tokens:
        data["cluster"]["console_tokens"] = False
    for guest in data["guest"]:
        if guest["vmid"] == SERIAL_VM:
            guest["serial"] = True
    data["user"].append({"id": "con@pve"})
    data["token"].append({"id": CONSOLE_TOKEN, "secret": secret_of(CONSOLE_TOKEN)})
    privs = ["VM.Audit", "VM.Console", "Sys.Audit", "Sys.Console"]
    data["role"].append({"id": "ConsoleUser", "privs": privs})
    data["acl"] += [
        {"path": "/", "subject": "con@pve", "role": "ConsoleUser"},
        {"path": "/", "subject": CONSOLE_TOKEN, "role": "ConsoleUser"},
    ]
    return data


def con_sim(make_sim: Callable[..., Simulator], *, console_tokens: bool = True) -> Simulator:
    return make_sim(con_scenario(console_tokens=console_tokens))


def con_app(
    sim: Simulator, memo: Path, who: str = "console", **options: Any
) -> tuple[ArgusApp, PipeTerminal]:
    """An app on `who`'s token, its console memo in `memo` (never the user's), polling only
    when asked (so a refresh after a console is the flow's), and its console step a
    `PipeTerminal` (given its keys by each test)."""
    token = WHO[who]
    keymap = options.pop("keymap", None)
    session = session_for(sim, token, secret_of(token), **options)
    session.console.memo = ConsoleMemo(memo)
    app = ArgusApp(session, interval=3600, keymap=keymap)
    terminal = PipeTerminal()
    app.console_step = terminal
    return app, terminal


class PipeTerminal:
    """The console step with pipes for the terminal: the real console opened on the
    simulator, the real bridge run with `typed` as the user's keys (`signal` arrives once
    the console is on, as a SIGTERM would; `before` runs as the step starts, after the
    checks); what the terminal showed is kept in `shown`."""

    def __init__(self) -> None:
        self.typed = b""
        self.signal: int | None = None
        self.before: Callable[[], None] | None = None
        self.plans: list[ConsolePlan] = []
        self.shown = b""

    def __call__(
        self, app: App[Any], console: ConsoleService, plan: ConsolePlan, escape: Escape
    ) -> Attached:
        self.plans.append(plan)
        if self.before is not None:
            self.before()
        keys_r, keys_w = os.pipe()
        screen_r, screen_w = os.pipe()
        shown = bytearray()
        banner = plan.banner(escape.key)

        def terminal() -> None:
            sent = False
            while data := os.read(screen_r, 65536):
                shown.extend(data)
                if self.signal is not None and not sent and banner.encode() in shown:
                    sent = True  # the banner is written once the bridge's handlers are in
                    os.kill(os.getpid(), self.signal)

        reader = threading.Thread(target=terminal, daemon=True)
        reader.start()
        os.write(keys_w, self.typed)
        try:
            with console.open(plan) as opened:
                end = bridge(
                    opened.socket, escape=escape.byte, banner=banner, fd_in=keys_r, fd_out=screen_w
                )
        finally:
            for fd in (keys_r, keys_w, screen_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            reader.join(5)
            os.close(screen_r)
            self.shown = bytes(shown)
        return Attached(opened, end)


def why_console(app: App[Any], label: str) -> str | None:
    """What the open `w` modal says about `label` (None: allowed)."""
    why = app.screen
    assert isinstance(why, WhyNot), type(why).__name__
    verdicts = dict(why.operations)
    assert label in verdicts, verdicts
    return verdicts[label]
