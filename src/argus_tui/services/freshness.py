"""When the data on screen is STALE although no refresh has failed yet.

A network that goes silent (packets dropped, no reset) fails a refresh only at the read
timeout (30 s by default), and until then the screen would go on looking live. So a
refresh (a poll: its calls to the server and the recording of what they brought, started
and not finished) that is on its way while the data on screen is more than `LATE_AFTER`
intervals old calls the data stale at once. The next poll starts one interval after the
last one landed, so the badge comes at most `LATE_AFTER` intervals after the network went
silent, whenever in the cycle that happened. A poll is given at least one interval of its
own (the first poll after a pause or a failure starts with old data and must not flash
the badge), and one with no data before it has `LATE_AFTER` intervals. The badge goes
when the refresh lands; one that finally fails shows its error as any other.
The clock is injected so that tests can step it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

LATE_AFTER = 3  # the data's age, in intervals, past which a poll on its way is late


@dataclass(slots=True)
class RefreshWatch:
    """When the poll on its way began and when data last arrived (monotonic seconds)."""

    clock: Callable[[], float] = time.monotonic
    since: float | None = None  # None: no refresh on its way
    data_at: float | None = None  # the last poll that brought data landed then

    def started(self) -> None:
        self.since = self.clock()

    def landed(self, *, fresh: bool = True) -> None:
        """The refresh ended: with its data (`fresh`), or it failed."""
        self.since = None
        if fresh:
            self.data_at = self.clock()

    def outstanding(self) -> float | None:
        """Seconds the refresh on its way has taken so far; None when there is none."""
        return None if self.since is None else self.clock() - self.since

    def _deadline(self, interval: float) -> float | None:
        if self.since is None:
            return None
        if self.data_at is None:
            return self.since + LATE_AFTER * interval
        return max(self.since + interval, self.data_at + LATE_AFTER * interval)

    def late(self, interval: float) -> float | None:
        """Seconds outstanding, once the poll on its way is late; else None."""
        deadline = self._deadline(interval)
        if deadline is None or self.clock() <= deadline:
            return None
        return self.outstanding()

    def late_in(self, interval: float) -> float | None:
        """Seconds until the refresh on its way turns late (0 if it is); None if none."""
        deadline = self._deadline(interval)
        return None if deadline is None else max(0.0, deadline - self.clock())
