"""The refresh loop: the app's part that polls the cluster and holds what it brought.

A one-shot timer is re-armed after each poll has finished, so polls never overlap (the
pattern of dolphie); failures back off (services' `Backoff`) and keep the last good data
on screen while the status line counts down to the retry. A poll on its way while the
data is more than three intervals old (a network gone silent fails only at the read
timeout) marks the data STALE at once, until it lands (services/freshness.py). Each poll
carries the session it polled: one of a session switched away from is dropped, and that
session is closed once nothing of it is on its way.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from textual import work
from textual.app import App
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import Initialize, var
from textual.timer import Timer

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.errors import ArgusError
from argus_tui.services.freshness import RefreshWatch
from argus_tui.services.recorder import Recorded
from argus_tui.services.session import RecentTasks, Session
from argus_tui.ui.messages import (
    ChangesSeen,
    ConsoleRefusals,
    Refreshed,
    RefreshFailed,
    RefreshRequested,
)
from argus_tui.ui.widgets.bars import Status


def poll(session: Session, *, with_tasks: bool) -> Message:
    """Blocking (a worker's body): one refresh of `session`, as the message for its result."""
    try:
        refresh = session.refresh(with_tasks=with_tasks)
        return Refreshed(session, refresh, console_refusals(session, refresh.snapshot))
    except ArgusError as exc:
        return RefreshFailed(session, str(exc))
    except Exception as exc:  # a bug or an unmapped failure: keep running, say what
        return RefreshFailed(session, f"unexpected error: {type(exc).__name__}: {exc}")


def console_refusals(session: Session, snapshot: ClusterSnapshot) -> ConsoleRefusals:
    """Blocking (it reads a small file): whether consoles were seen refused at this version.

    Read with every poll, so a refusal learnt elsewhere (`argus console`) or forgotten
    after an upgrade shows at the next refresh.
    """
    version = snapshot.cluster.version
    guests, shells = (session.console.refused(version, shell=node) for node in (False, True))
    return ConsoleRefusals(guests=guests, shells=shells)


class RefreshingApp(App[int]):
    """Polls `session` and holds the results as reactives the screens watch."""

    def _given_session(self) -> Session:
        return self._first_session

    session: var[Session] = var(Initialize(_given_session))
    snapshot: var[ClusterSnapshot | None] = var(None, always_update=True)
    tasks: var[RecentTasks | None] = var(None, always_update=True)  # None: not in the last poll
    status: var[Status] = var(Status())
    paused: var[bool] = var(False)
    unseen: var[int] = var(0)  # changes since the user last looked at them
    history_state: var[str] = var("")  # the history when it is not fine (a team db away)
    console_refused: var[ConsoleRefusals] = var(ConsoleRefusals())  # `c` hidden where True

    def __init__(self, session: Session, *, interval: float) -> None:
        self._first_session = session
        super().__init__()
        session.backoff.interval = interval
        self.refreshes = 0  # polls shown so far
        self._polling: Session | None = None  # the session whose poll is on its way
        self._polled = asyncio.Event()  # set while no poll is on its way
        self._timer: Timer | None = None  # the next poll
        self.in_flight = RefreshWatch()  # when the poll on its way began (its clock: tests)
        self._late_timer: Timer | None = None  # when the poll on its way turns late
        self._retired: list[Session] = []  # switched away from mid-poll: closed once it is in
        self._seen_at: float | None = None  # when the user last looked at the changes

    def refresh_now(self) -> None:
        """Poll now, unless a poll of this session is on its way (polls never overlap)."""
        if self._polling is self.session:
            return
        self._stop_timer()
        self._polling = self.session
        self._polled.clear()
        self.in_flight.started()
        self._arm_late_check()
        self._poll(self.session, self.current_mode == "tasks")

    def check_late(self) -> None:
        """Call the data STALE if the poll on its way has been outstanding too long
        (run by a timer set for the moment it would turn late)."""
        if self.in_flight.late(self.session.backoff.interval) is not None:
            if not self.status.late:
                self.status = replace(self.status, late=True)
        else:
            self._arm_late_check()

    def _arm_late_check(self) -> None:
        if self._late_timer is not None:
            self._late_timer.stop()
        due = self.in_flight.late_in(self.session.backoff.interval)
        # Just past the moment: late means longer than 3 intervals.
        self._late_timer = None if due is None else self.set_timer(due + 0.01, self.check_late)

    async def refreshed(self) -> None:
        """Wait until no poll is on its way: the last one is shown and in the history."""
        await self._polled.wait()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification, as plain text by default: what Argus notifies (PVE's errors,
        setting names such as `[ui]`, task text) is data, and `[/x]` in it taken as
        markup would not show literally or would stop the app."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def say(self, text: str) -> None:
        """A short message in the status line (progress, results)."""
        self.status = replace(self.status, message=text)

    def switch_session(self, session: Session) -> None:
        """Poll another cluster from now on: its data replaces the old session's."""
        old = self.session
        self._stop_timer()
        session.backoff.interval = old.backoff.interval
        if self._polling is old:
            self._retired.append(old)
        else:
            self._close_session(old)
        self._seen_at = None
        self.unseen = 0
        self.history_state = ""
        self.tasks = None
        self.snapshot = None
        self.console_refused = ConsoleRefusals()
        self.status = Status(message=f"profile {session.profile}")
        self.session = session
        self.refresh_now()

    @work(thread=True, group="refresh", exit_on_error=False)
    def _poll(self, session: Session, with_tasks: bool) -> None:
        self.post_message(poll(session, with_tasks=with_tasks))

    def on_refreshed(self, message: Refreshed) -> None:
        if self._stale(message.session):
            return
        refresh = message.refresh
        self.refreshes += 1
        self.session.backoff.success()
        if refresh.recorded is not None:
            self._recorded(refresh.recorded)
        self.console_refused = message.consoles  # before the snapshot: its keys use both
        self.tasks = refresh.tasks  # before the snapshot: the tasks screen's alerts use both
        self.snapshot = refresh.snapshot
        self._after_poll(None)

    def _recorded(self, recorded: Recorded) -> None:
        self.history_state = recorded.state
        for warning in (recorded.error, *recorded.warnings):
            if warning:
                self.notify(warning, title="History", severity="warning", timeout=10)
        # A count made before the user's latest look at the changes is stale.
        if recorded.unseen is not None and (recorded.seen or 0.0) >= (self._seen_at or 0.0):
            self.unseen = recorded.unseen

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        if self._stale(message.session):
            return
        if message.error != self.status.error:  # the status line cuts long errors
            self.notify(message.error, title="Refresh failed", severity="error", timeout=8)
        self.session.backoff.failure()
        self._after_poll(message.error)

    def _stale(self, session: Session) -> bool:
        if not self.is_running:
            return True
        if session is self.session:
            self._polling = None
            return False
        if session in self._retired:
            self._retired.remove(session)
            self._close_session(session)
        return True

    @work(thread=True, group="close-session", exit_on_error=False)
    def _close_session(self, session: Session) -> None:
        """Worker: closing the history may checkpoint its database, never on the loop."""
        session.close()

    def _after_poll(self, error: str | None) -> None:
        self.in_flight.landed(fresh=error is None)
        if self._late_timer is not None:
            self._late_timer.stop()
            self._late_timer = None
        delay = None if self.paused else self.session.backoff.next_delay()
        if delay is not None:
            self._timer = self.set_timer(delay, self.refresh_now)
        retry_at = time.monotonic() + delay if error is not None and delay is not None else None
        self.status = Status(error, self.status.message, retry_at)
        self._polled.set()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()

    def on_changes_seen(self, message: ChangesSeen) -> None:
        self._seen_at = message.at
        self.unseen = 0

    def on_refresh_requested(self, _message: RefreshRequested) -> None:
        self.refresh_now()

    def action_refresh_now(self) -> None:
        self.refresh_now()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._stop_timer()
        else:
            self.refresh_now()
