"""`HistoryStore`: everything the rest of Argus asks of the history, whatever keeps it.

A backend (store/sqlite/, later others) implements this protocol; callers depend only on
it and on the record types in `records`, so a new backend changes nothing outside store/.
Every method blocks: call them from worker threads, never from the UI thread. Failures
are `argus_tui.errors.StoreError` (the message says what to do, Argus runs on without
history); a bad argument (an unknown field, a bad `agg`) is a ValueError.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from argus_tui.domain.models import ClusterSnapshot, Task

from .records import (
    ActionRecord,
    Backlog,
    Change,
    ExchangeRecord,
    Export,
    Policy,
    Probe,
    Retention,
    Stats,
)


class HistoryStore(Protocol):
    """The local history: samples, derived changes, tasks and the journals, per profile."""

    @property
    def writes(self) -> int:
        """Write transactions this store has committed so far (a recorded refresh, a
        journal row, each chunk of a prune): a refresh that changed nothing adds none."""
        ...

    def policy(self, size: int, base: Retention | None = None) -> Policy:
        """The sample interval and retention for a cluster of `size` nodes + guests."""
        ...

    def describe(self) -> str:
        """The backend and where it is, for people: "SQLite /home/u/.local/share/argus/
        history.db", "PostgreSQL argus@db.example:5432/argus". Never a password; opens
        nothing."""
        ...

    # -- recording -------------------------------------------------------------------------

    def record_snapshot(
        self, snapshot: ClusterSnapshot, profile: str, ts: float | None = None
    ) -> None:
        """Record one refresh: samples (at most one per sample interval) and changes.

        The first snapshot of a profile is the baseline, not news; an empty answer (no
        nodes) records nothing. May prune (at most hourly) when the store does so itself.
        """
        ...

    def record_tasks(self, tasks: Iterable[Task], profile: str) -> None:
        """Upsert the tasks seen, by UPID."""
        ...

    def record_action(self, record: ActionRecord) -> None:
        """Journal one power action."""
        ...

    def record_exchange(self, record: ExchangeRecord) -> None:
        """Journal one assistant exchange (see ExchangeRecord for what is kept)."""
        ...

    # -- reading ---------------------------------------------------------------------------

    def tasks(self, profile: str, since: float = 0.0) -> list[dict[str, Any]]:
        """Tasks started at or after `since`: upid node type id user starttime endtime status."""
        ...

    def actions(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        """Journaled actions since `since` (every profile unless one is given), oldest first."""
        ...

    def exchanges(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        """Journaled assistant exchanges since `since`, oldest first."""
        ...

    def guest_series(
        self,
        profile: str,
        vmid: int,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        """(ts, value) oldest first, across every resolution kept.

        Units match rrddata: cpu as a fraction, mem and disk in bytes, netin, netout,
        diskread and diskwrite in bytes per second. Downsampled points are stamped with
        the start of their bucket; `agg="max"` gives the bucket maxima instead.
        """
        ...

    def node_series(
        self,
        profile: str,
        node: str,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        """Like `guest_series`, for a node's cpu, mem or disk."""
        ...

    def changes(
        self, profile: str, since: float, until: float | None = None, limit: int | None = None
    ) -> list[Change]:
        """Derived events in [since, until), oldest first (the newest `limit` if given)."""
        ...

    def last_seen(self, profile: str) -> float | None:
        """When the user last looked at the changes of `profile` (None: never)."""
        ...

    def mark_seen(self, profile: str, ts: float | None = None) -> None:
        """Remember that the user looked at the changes now (or at `ts`)."""
        ...

    def export(self, profile: str, since: float, until: float | None = None) -> Export:
        """Everything recorded for `profile` in [since, until), decoded to plain units."""
        ...

    def profiles(self) -> list[str]:
        """Every profile with anything recorded, sorted."""
        ...

    def stats(self) -> Stats:
        """Sizes, row counts, time spans per profile and resolution, the policy."""
        ...

    # -- moving and checking ---------------------------------------------------------------

    def import_rows(self, profile: str, rows: Export) -> dict[str, int]:
        """Add rows shaped as `export()` returns them to `profile`, skipping what is there.

        Samples of every resolution, events, tasks, actions and exchanges; returns how
        many rows of each section were added. Importing the same rows twice adds nothing
        the second time (`argus history copy` may be run again). A row is "the same" by
        samples (step, kind, key, ts; a raw sample in a taken sample bucket is skipped),
        events (ts, kind, subject), tasks (upid), actions (ts, vmid, action, upid) and
        exchanges (ts, model, question), each within the profile.
        """
        ...

    def diagnose(self) -> list[Probe]:
        """`argus doctor`'s checks of the history, in order: reachable, tls (a networked
        backend), schema, write (a test write, rolled back). Never raises StoreError: a
        failure is a Probe with ok=False and a hint; nothing follows a failed reachable."""
        ...

    # -- upkeep ----------------------------------------------------------------------------

    def prune(self, now: float | None = None, retention: Retention | None = None) -> dict[str, int]:
        """Downsample and expire now; how many rows each step consumed or deleted.

        Keys: raw_downsampled, mid_downsampled, rollups_expired, events, tasks, actions,
        exchanges. `retention` overrides the store's for this call.
        """
        ...

    def vacuum(self) -> int:
        """Give free space back to the file system; returns bytes saved."""
        ...

    def take_warnings(self) -> list[str]:
        """Problems the user should hear about once (e.g. a corrupt file moved aside)."""
        ...

    def close(self) -> None:
        """Release the connections; the store reopens them if used again."""
        ...


@runtime_checkable
class Spooling(Protocol):
    """A history that keeps writes locally while its database is away (the team history)."""

    def backlog(self) -> Backlog:
        """What is kept back, whether the database was reachable at the last call."""
        ...
