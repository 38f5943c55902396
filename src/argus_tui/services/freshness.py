"""When the data on screen is STALE although no refresh has failed yet.

A network that goes silent (packets dropped, no reset) fails a refresh only at the read
timeout (30 s by default), and until then the screen would go on looking live. So a
refresh (a poll: its calls to the server and the recording of what they brought, started
and not finished) that has been outstanding for longer than `LATE_AFTER` refresh
intervals calls the data stale at once; the badge goes when the refresh lands, and a
refresh that finally fails shows its error as any other.
The clock is injected so that tests can step it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

LATE_AFTER = 3  # intervals a refresh may be outstanding before the data is called stale


@dataclass(slots=True)
class RefreshWatch:
    """The start of the refresh on its way (monotonic seconds), to tell when it is late."""

    clock: Callable[[], float] = time.monotonic
    since: float | None = None  # None: no refresh on its way

    def started(self) -> None:
        self.since = self.clock()

    def landed(self) -> None:
        """The refresh ended (its data arrived, or it failed)."""
        self.since = None

    def outstanding(self) -> float | None:
        """Seconds the refresh on its way has taken so far; None when there is none."""
        return None if self.since is None else self.clock() - self.since

    def late(self, interval: float) -> float | None:
        """Seconds outstanding, once longer than `LATE_AFTER` intervals; else None."""
        waited = self.outstanding()
        return waited if waited is not None and waited > LATE_AFTER * interval else None

    def late_in(self, interval: float) -> float | None:
        """Seconds until the refresh on its way turns late (0 if it is); None if none."""
        waited = self.outstanding()
        return None if waited is None else max(0.0, LATE_AFTER * interval - waited)
