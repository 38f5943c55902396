"""One action after its key: send it, follow its tasks, and what to say about it.

`run_job` and `follow_task` run in the app's thread workers and report only by posting
messages; the `*_notice` functions turn those messages into the status line's text and a
toast. Power actions, snapshots and backups all go this one way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from textual.notifications import SeverityLevel

from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.ui.jobs import Job, Tracked
from argus_tui.ui.messages import (
    ActionDone,
    ActionFailed,
    ActionProgress,
    FollowRequested,
    RefreshRequested,
)

Post = Callable[[Message], object]


def run_job(post: Post, job: Job, journal_errors: Callable[[], list[str]]) -> None:
    """Blocking: send the job's request, refresh once its tasks exist, follow the first
    (the others are handed back to the app, each to be followed by its own worker)."""
    try:
        tracked = job.start()
    except ArgusError as exc:
        post(ActionFailed(job, job.title, str(exc)))
        return
    except Exception as exc:  # a bug or an unmapped failure: keep running, say what
        post(ActionFailed(job, job.title, f"{type(exc).__name__}: {exc}"))
        return
    post(ActionProgress(f"{job.title}: task started" if tracked else f"{job.title}: sent"))
    post(RefreshRequested())  # the guest's lock and status change at once
    if not tracked:
        post(ActionDone(job, job.title, None, tuple(journal_errors())))
        return
    for extra in tracked[1:]:
        post(FollowRequested(job, extra))
    follow_task(post, job, tracked[0], journal_errors)


def follow_task(
    post: Post, job: Job, tracked: Tracked, journal_errors: Callable[[], list[str]]
) -> None:
    """Blocking: follow one task to its end, its progress in the status line."""

    def progress(text: str) -> None:
        post(ActionProgress(f"{tracked.title}: {text}"))

    try:
        outcome = tracked.follow(progress)
    except ArgusError as exc:
        post(ActionFailed(job, tracked.title, str(exc), started=True))
    except Exception as exc:  # a bug or an unmapped failure: keep running, say what
        post(ActionFailed(job, tracked.title, f"{type(exc).__name__}: {exc}", started=True))
    else:
        post(ActionDone(job, tracked.title, outcome, tuple(journal_errors())))


@dataclass(frozen=True, slots=True)
class Ended:
    """An action of Argus's came to an end (done, failed or refused): views of what it
    touched (a guest's snapshots, a storage's content) load again."""

    action: str
    vmids: tuple[int, ...]
    target: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """The status line's text and a toast (its title, text, severity and timeout)."""

    status: str
    title: str
    text: str
    severity: SeverityLevel = "information"
    timeout: float | None = None


def done_notice(message: ActionDone) -> Notice:
    title = printable(message.title)
    outcome = message.outcome
    if outcome is None or outcome.ok:
        note = outcome.note if outcome is not None else ""
        text = f"{title}: done" + (f" ({note})" if note else "")
        return Notice(text, "Task finished", text)
    status = printable(outcome.status)
    return Notice(f"{title}: FAILED", f"{title} failed", status, "error", 15)


def failed_notice(message: ActionFailed) -> Notice:
    """Refused before anything was sent, or lost track of after its task started."""
    title = printable(message.title)
    status = f"{title}: FAILED" if message.started else f"{title}: refused"
    return Notice(status, title, printable(message.error), "error", 15)
