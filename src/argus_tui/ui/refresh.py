"""The refresh loop's parts that need no event loop: one poll, and what follows from it.

A one-shot timer re-armed after each poll has finished, so polls never overlap (the
pattern of dolphie); failures back off (services' `Backoff`) and keep the last good data
on screen while the status line counts down to the retry.
"""

from __future__ import annotations

import time

from textual.message import Message

from argus_tui.errors import ArgusError
from argus_tui.services.session import Session
from argus_tui.ui.messages import Refreshed, RefreshFailed
from argus_tui.ui.widgets.bars import Status


def poll(session: Session, *, with_tasks: bool) -> Message:
    """Blocking (a worker's body): one refresh of `session`, as the message for its result."""
    try:
        return Refreshed(session, session.refresh(with_tasks=with_tasks))
    except ArgusError as exc:
        return RefreshFailed(session, str(exc))
    except Exception as exc:  # a bug or an unmapped failure: keep running, say what
        return RefreshFailed(session, f"unexpected error: {type(exc).__name__}: {exc}")


def after_poll(status: Status, error: str | None, delay: float | None) -> Status:
    """The status once a poll is in: its error, and when a failed one is tried again
    (`delay` None: paused, no retry is due)."""
    retry_at = time.monotonic() + delay if error is not None and delay is not None else None
    return Status(error, status.message, retry_at)
