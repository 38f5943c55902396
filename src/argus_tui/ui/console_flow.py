"""A console after its key: checked with the server, the terminal handed over, and what
to say once the TUI is back.

The app's part that runs consoles (the app extends it, as it extends the refresh loop).
`prepare` runs in a worker, so a refusal is said without the screen flickering away;
the step that suspends the TUI and joins the terminal to the console runs on the event
loop, because it must run in the main thread (where SIGWINCH, SIGTERM and SIGHUP
arrive) and nothing may draw while the console owns the terminal; `finish` makes a call,
so it runs in a worker again. The step is `console_step`, one plain callable: headless
Textual cannot suspend, so tests put another terminal in its place and keep the rest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from textual import work
from textual.app import App, SuspendNotSupported
from textual.message import Message

from argus_tui.domain.console import ConsoleTarget, escape_byte
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError, ConsoleRefused, OperationFailed
from argus_tui.services.console import ConsoleEnd, ConsolePlan, ConsoleService, OpenConsole
from argus_tui.services.console_bridge import BridgeEnd, bridge
from argus_tui.services.session import Session
from argus_tui.ui.messages import ConsoleRequested, QuitRequested
from argus_tui.ui.refresh import RefreshingApp


@dataclass(frozen=True, slots=True)
class Escape:
    """The key that leaves a console (`console.leave` in [ui.keymap]) and its byte."""

    key: str
    byte: int

    @classmethod
    def of(cls, key: str) -> Escape:
        return cls(key, escape_byte(key))


@dataclass(frozen=True, slots=True)
class Attached:
    """A console that was open: what `finish` needs to name how it ended."""

    opened: OpenConsole
    end: BridgeEnd


#: Opens the plan's console, runs it until it ends, and gives the terminal back.
ConsoleStep = Callable[[App[Any], ConsoleService, ConsolePlan, Escape], Attached]


def in_terminal(
    app: App[Any], console: ConsoleService, plan: ConsolePlan, escape: Escape
) -> Attached:
    """The TUI suspended, the user's terminal in raw mode joined to the console."""
    if not (os.isatty(0) and os.isatty(1)):  # the bridge's terminal is fds 0 and 1
        raise OperationFailed(
            "a console needs the terminal on standard input and output",
            hint=f"run 'argus {'shell' if plan.target.is_node else 'console'}' in a terminal",
        )
    attached: Attached | None = None
    failure: BaseException | None = None
    with app.suspend():
        # Textual resumes only when this block ends normally: a failure is kept and
        # raised once the TUI is back.
        try:
            out = sys.stdout
            out.write(f"[argus] connecting to {printable(plan.target.what)}…\n")
            if plan.notice:
                out.write(f"[argus] {printable(plan.notice)}\n")
            out.flush()
            with console.open(plan) as opened:
                banner = printable(plan.banner(escape.key))
                attached = Attached(
                    opened, bridge(opened.socket, escape=escape.byte, banner=banner)
                )
        except BaseException as exc:  # raised again below, once the TUI is back
            failure = exc
    if failure is not None:
        raise failure
    assert attached is not None
    return attached


@dataclass
class ConsolePrepared(Message):
    """The server would let the console open: hand the terminal over now."""

    session: Session
    plan: ConsolePlan


@dataclass
class ConsoleFailed(Message):
    """Refused before the terminal was handed over, or the console did not open."""

    session: Session
    target: ConsoleTarget
    error: str


@dataclass
class ConsoleFinished(Message):
    """How the console ended, journaled (the journal's own failures with it)."""

    session: Session
    end: ConsoleEnd
    journal_errors: tuple[str, ...] = ()


class ConsoleApp(RefreshingApp):
    """Opens consoles on request; `console_step` is the part that owns the terminal."""

    def __init__(self, session: Session, *, interval: float, escape: Escape) -> None:
        super().__init__(session, interval=interval)
        self.console_escape = escape
        self.console_step: ConsoleStep = in_terminal
        self.console_open = False  # a console is being prepared, is open, or is finishing
        self._refusals_said: set[tuple[str, bool]] = set()  # (server, shell) said once

    def on_console_requested(self, message: ConsoleRequested) -> None:
        if self.console_open:
            return  # one console at a time: the terminal has one user
        self.console_open = True
        self.say(f"opening {message.target.what}…")
        self._prepare_console(self.session, message.target)

    @work(thread=True, group="console", exit_on_error=False)
    def _prepare_console(self, session: Session, target: ConsoleTarget) -> None:
        try:
            plan = session.console.prepare(target)
        except ArgusError as exc:
            self.post_message(ConsoleFailed(session, target, str(exc)))
        except Exception as exc:  # a bug or an unmapped failure: keep running, say what
            self.post_message(ConsoleFailed(session, target, f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(ConsolePrepared(session, plan))

    def on_console_prepared(self, message: ConsolePrepared) -> None:
        session, plan = message.session, message.plan
        if session is not self.session:
            self.console_open = False  # prepared for the cluster before a profile switch
            self.say("")
            return
        try:
            attached = self.console_step(self, session.console, plan, self.console_escape)
        except ConsoleRefused as exc:
            self._refused(session, plan.target, exc)
            return
        except ArgusError as exc:
            self._failed(plan.target, str(exc))
            return
        except SuspendNotSupported:
            self._failed(plan.target, "this terminal cannot be handed to a console")
            return
        except Exception as exc:  # a bug or an unmapped failure: keep running, say what
            self._failed(plan.target, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.refresh_now()  # refreshes resume at once, whatever happened
        self.say(f"{plan.target.what}: closing…")
        self._finish_console(session, attached)

    @work(thread=True, group="console", exit_on_error=False)
    def _finish_console(self, session: Session, attached: Attached) -> None:
        try:
            end = session.console.finish(attached.opened, attached.end)
        except Exception as exc:  # a bug or an unmapped failure: keep running, say what
            target = attached.opened.plan.target
            end = ConsoleEnd("failed", f"{target.what} ended: {type(exc).__name__}: {exc}")
        errors = tuple(session.runner.take_journal_errors())
        self.post_message(ConsoleFinished(session, end, errors))

    def on_console_finished(self, message: ConsoleFinished) -> None:
        self.console_open = False
        end = message.end
        for error in message.journal_errors:
            self.notify(error, title="Console not journaled", severity="warning")
        self.say(printable(end.message))
        if end.error:
            self.notify(printable(end.message), title="Console", severity="error", timeout=15)
        if end.kind == "signal":
            self.post_message(QuitRequested(end.exit_code))  # a SIGTERM or SIGHUP meant Argus

    def on_console_failed(self, message: ConsoleFailed) -> None:
        if message.session is self.session:
            self._failed(message.target, message.error)
        else:
            self.console_open = False

    def _failed(self, target: ConsoleTarget, error: str) -> None:
        self.console_open = False
        title = "Shell" if target.is_node else "Console"
        self.say(f"{printable(target.what)}: {printable(error)}")
        self.notify(printable(error), title=f"{title} not opened", severity="error", timeout=15)

    def _refused(self, session: Session, target: ConsoleTarget, exc: ConsoleRefused) -> None:
        """The server's console does not take API tokens: the service remembered it, so
        the key goes away, and the reason (with the versions that fix it) is said once."""
        self.console_open = False
        shell = target.is_node
        refusals = self.console_refused
        self.console_refused = (
            replace(refusals, shells=True) if shell else replace(refusals, guests=True)
        )
        self.say(f"{printable(target.what)}: refused by this Proxmox build (w says why)")
        said = (session.console.address, shell)
        if said not in self._refusals_said:
            self._refusals_said.add(said)
            title = "Shells" if shell else "Consoles"
            self.notify(
                printable(exc.message), title=f"{title} unavailable", severity="error", timeout=30
            )
