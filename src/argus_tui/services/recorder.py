"""What each refresh leaves in the local history: samples and changes, and the recent tasks.

The TUI's refresh worker calls `Recorder.record` once per refresh, with the snapshot
and, when they came with it, the recent tasks. The store keeps at most one sample per
sample interval and a change whenever one happened; the tasks are upserted by UPID.
A refresh asks for the tasks when the tasks view shows them, and otherwise once per
sample interval (`tasks_due`), so a quiet cluster costs one node-tasks call per node and
interval, not per refresh. Blocking: call from a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from argus_tui.domain.models import ClusterSnapshot, Task
from argus_tui.errors import ArgusError
from argus_tui.services.history import unseen_changes
from argus_tui.store import HistoryStore, Spooling


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one refresh found out, for the event loop to show."""

    unseen: int | None = None  # changes since the user last looked; None: not counted
    seen: float | None = None  # when the user last looked, as that count read it
    warnings: tuple[str, ...] = ()  # to be said once each (a corrupt file moved aside)
    error: str = ""  # the first failure of a run of them; later ones are not repeated
    state: str = ""  # the history's state when it is not fine, for the status line


class Recorder:
    """Records the refreshes of one profile into its history; one worker at a time."""

    def __init__(
        self,
        history: HistoryStore,
        profile: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.history = history
        self.profile = profile
        self._clock = clock
        self._tasks_at: float | None = None  # when tasks were last recorded
        self._failing = False  # the last recording failed (its error was said)

    def tasks_due(self, snapshot: ClusterSnapshot) -> bool:
        """Whether the history wants this refresh's recent tasks: once per sample
        interval (the large-cluster interval for a large cluster)."""
        if self._tasks_at is None:
            return True
        size = len(snapshot.nodes) + len(snapshot.guests)
        interval = self.history.policy(size).sample_interval
        return self._clock() - self._tasks_at >= interval

    def record(self, snapshot: ClusterSnapshot, tasks: Sequence[Task] | None) -> Recorded:
        """Write the refresh; count the changes the user has not looked at yet.

        A failure (a locked or read-only database) is reported once and the next
        refresh tries again: the history is optional, the refresh is not.
        """
        try:
            self.history.record_snapshot(snapshot, self.profile)
            if tasks:
                self.history.record_tasks(tasks, self.profile)
            if tasks is not None:
                self._tasks_at = self._clock()
            seen = self.history.last_seen(self.profile)
            # Read after `seen`: a look saved in between only makes the count smaller.
            unseen = unseen_changes(self.history, self.profile)
            warnings = tuple(self.history.take_warnings())
        except ArgusError as exc:
            said = self._failing
            self._failing = True
            error = "" if said else f"{exc} (Argus keeps trying)"
            return Recorded(error=error, state=history_state(self.history))
        self._failing = False
        return Recorded(unseen, seen, warnings, state=history_state(self.history))


def history_state(history: HistoryStore) -> str:
    """The status line's words about the history when it is not fine ("team database
    unreachable, 3 kept"), "" while it is."""
    if isinstance(history, Spooling):
        return history.backlog().summary
    return ""
