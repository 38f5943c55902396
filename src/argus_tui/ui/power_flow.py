"""One power action after its key: send it, follow its task, and what to say about it.

`follow_action` runs in the app's thread worker and reports only by posting messages;
the `*_notice` functions turn those messages into the status line's text and a toast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from textual.notifications import SeverityLevel

from argus_tui.domain.models import Guest
from argus_tui.domain.permissions import ACTIONS
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.power import Outcome, PowerService
from argus_tui.ui.messages import PowerDone, PowerFailed, PowerProgress, RefreshRequested


def follow_action(
    post: Callable[[Message], object], power: PowerService, guest: Guest, action: str
) -> None:
    """Blocking: start the action, refresh once its task exists, follow it to the end."""
    verb = ACTIONS[action].label
    try:
        upid = power.start(guest, action)
        post(PowerProgress(f"{verb} {guest.label}: task started"))
        post(RefreshRequested())  # the guest's lock and status change at once

        def progress(kind: str) -> None:
            post(PowerProgress(f"{verb} {guest.label}: {kind} running…"))

        outcome = power.follow(guest, action, upid, on_progress=progress)
    except ArgusError as exc:
        post(PowerFailed(guest.label, action, str(exc)))
    except Exception as exc:  # a bug or an unmapped failure: keep running, say what
        post(PowerFailed(guest.label, action, f"{type(exc).__name__}: {exc}"))
    else:
        post(PowerDone(outcome, tuple(power.take_journal_errors())))


@dataclass(frozen=True, slots=True)
class Notice:
    """The status line's text and a toast (its title, text, severity and timeout)."""

    status: str
    title: str
    text: str
    severity: SeverityLevel = "information"
    timeout: float | None = None


def done_notice(outcome: Outcome) -> Notice:
    verb = ACTIONS[outcome.action].label
    name = printable(outcome.guest.label)
    if outcome.ok:
        text = f"{verb} {name}: done" + (f" ({outcome.note})" if outcome.note else "")
        return Notice(text, "Task finished", text)
    status = printable(outcome.status)
    return Notice(f"{verb} {name}: FAILED", f"{verb} {name} failed", status, "error", 15)


def failed_notice(message: PowerFailed) -> Notice:
    verb, name = ACTIONS[message.action].label, printable(message.label)
    return Notice(
        f"{verb} {name}: refused", f"{verb} {name}", printable(message.error), "error", 15
    )
