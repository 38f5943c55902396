"""`SpooledHistory`: the team history, which keeps Argus running while its database is away.

It wraps a networked HistoryStore (PostgreSQL). When the database cannot be reached
(StoreUnavailable), a journal record (action, assistant exchange, tasks) goes to the
local spool file instead and the last refresh of each profile is kept; the next call
that reaches the database sends them, oldest first, before anything newer, and then
records the kept refresh with its own time, so the changes of the gap (a VM stopped
meanwhile) are derived and written once. Samples missed in the gap stay missing. Reads
while away raise StoreError as ever. A database that does not even refuse (a host that
is down: every call waits for the timeout) is left alone for half a minute after such a
failure, so the refreshes go on at their pace. `backlog()` says what is kept, for the
status line and for the one line a command prints.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from argus_tui.domain.models import ClusterSnapshot, Task
from argus_tui.errors import StoreError, StoreUnavailable

from .protocol import HistoryStore
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
from .spool_file import (
    LIMIT,
    Entry,
    Pending,
    SpoolFile,
    action_entry,
    action_of,
    exchange_entry,
    exchange_of,
    tasks_entry,
    tasks_of,
)

T = TypeVar("T")

#: A failure that took this long (seconds: a host that does not answer, rather than one
#: that refuses) is not tried again for REST seconds: every refresh would wait for it.
SLOW = 1.0
REST = 30.0


class SpooledHistory:
    """A HistoryStore over `inner` that keeps writes in `folder` while it is away.

    `name` names the database in a few words ("db.example:5432/argus") for messages.
    Thread-safe: writes and the replay are serialised (so records keep their order);
    reads run alongside.
    """

    def __init__(self, inner: HistoryStore, folder: Path, *, name: str, limit: int = LIMIT):
        self.inner = inner
        self.name = name
        self.spool = SpoolFile(folder, limit)
        self._lock = threading.RLock()
        self._reachable: bool | None = None
        self._reason = ""
        self._error: StoreUnavailable | None = None  # the last "away", said again to reads
        self._rest_until = 0.0  # monotonic time until which the database is not tried
        self._kept_here: list[str] = []
        self._pending: dict[str, Pending] = {}
        self._loaded = False
        self._warnings: list[str] = []

    # -- what is kept ------------------------------------------------------------------------

    def backlog(self) -> Backlog:
        if not self._loaded:
            with self._lock:
                self._load()  # the refreshes an earlier run kept count too
        return Backlog(
            name=self.name,
            reachable=self._reachable,
            kept=self.spool.count() + len(self._pending),
            path=str(self.spool.path),
            reason=self._reason,
            kept_here=tuple(self._kept_here),
        )

    def _attempt(self, call: Callable[[], T]) -> T:
        """One call to the database; its failure to answer is noted, and a slow one rests."""
        started = time.monotonic()
        try:
            return call()
        except StoreUnavailable as exc:
            self._away(exc)
            if time.monotonic() - started >= SLOW:
                self._rest_until = time.monotonic() + REST
            raise

    def _away(self, exc: StoreUnavailable) -> None:
        self._reachable = False
        self._reason = exc.reason or exc.message
        self._error = exc

    def _resting(self) -> bool:
        return time.monotonic() < self._rest_until

    def _ready(self) -> bool:
        """Whether the database may be called now: not resting after a slow failure, and
        everything kept before is in (sent now if need be). Hold the lock."""
        return not self._resting() and self._replay()

    def _reached(self) -> None:
        self._reachable = True
        self._kept_here.clear()

    def _kept(self, what: str) -> None:
        if what not in self._kept_here:
            self._kept_here.append(what)

    def _call(self, call: Callable[[], T]) -> T:
        """Any other call to the database: what was kept goes first (a read then sees it;
        unless another thread is sending it already), and whether it answered is noted."""
        if self._lock.acquire(blocking=False):
            try:
                if not self._ready():
                    raise self._unavailable()  # away: the call would fail the same way
            finally:
                self._lock.release()
        elif self._resting():
            raise self._unavailable()
        result = self._attempt(call)
        self._reached()
        return result

    def _unavailable(self) -> StoreUnavailable:
        last = self._error
        if last is None:
            return StoreUnavailable(f"team history {self.name} unreachable")
        return StoreUnavailable(last.message, hint=last.hint, reason=last.reason)

    def _replay(self) -> bool:
        """Send the spool, then the kept refreshes; True when nothing is left (nothing
        was waiting, or all of it is in). Hold the lock."""
        self._load()
        if not self._pending and not self.spool.has_entries():
            return True
        if self.spool.has_entries():
            try:
                done, warnings = self.spool.drain(self._send)
            except OSError as exc:  # nothing can be sent from it: the database is not to blame
                self._warnings.append(f"the team history spool cannot be read: {exc}")
                done, warnings = True, []
            self._warnings += warnings
            if not done:
                return False
        for profile, (ts, snapshot) in sorted(self._pending.items(), key=lambda p: p[1][0]):
            try:
                self._attempt(partial(self.inner.record_snapshot, snapshot, profile, ts))
            except StoreUnavailable:
                return False
            except StoreError as exc:
                self._warnings.append(f"a kept refresh could not be recorded: {exc}")
            del self._pending[profile]
        self._reached()
        return True

    def _send(self, entry: Entry) -> None:
        """One kept record to the database; StoreUnavailable stops the replay."""
        self._attempt(lambda: self._send_entry(entry))

    def _send_entry(self, entry: Entry) -> None:
        kind = entry["kind"]
        if kind == "action":
            self.inner.record_action(action_of(entry))
        elif kind == "exchange":
            self.inner.record_exchange(exchange_of(entry))
        elif kind == "tasks":
            tasks, profile = tasks_of(entry)
            self.inner.record_tasks(tasks, profile)
        else:
            raise ValueError(f"unknown record kind {kind!r}")

    def _load(self) -> None:
        """Adopt the refreshes another run kept (once; theirs are older than ours)."""
        if self._loaded:
            return
        self._loaded = True
        try:
            taken = self.spool.take_snapshots()
        except OSError as exc:
            self._warnings.append(f"the kept refreshes cannot be read: {exc}")
            return
        for profile, pending in taken.items():
            self._pending.setdefault(profile, pending)

    def _write(self, entry: Entry, what: str, send: Callable[[], None]) -> None:
        """A journal write: straight through when nothing waits before it, else kept."""
        with self._lock:
            if self._ready():
                try:
                    self._attempt(send)
                except StoreUnavailable:
                    pass
                else:
                    self._reached()
                    return
            try:
                self.spool.append(entry)
            except (OSError, ValueError) as exc:
                raise StoreError(
                    f"team history {self.name} unreachable ({self._reason}) and the local"
                    f" spool {self.spool.path} cannot be written ({exc}): the {what} was"
                    " not kept",
                    hint="free the disk or fix the folder's rights; Argus runs on",
                ) from None
            self._kept(what)

    # -- recording ---------------------------------------------------------------------------

    def record_snapshot(
        self, snapshot: ClusterSnapshot, profile: str, ts: float | None = None
    ) -> None:
        if not snapshot.nodes:
            return
        when = float(ts if ts is not None else (snapshot.fetched_at or time.time()))
        with self._lock:
            if self._ready():
                try:
                    self._attempt(lambda: self.inner.record_snapshot(snapshot, profile, when))
                except StoreUnavailable:
                    pass
                else:
                    self._reached()
                    return
            self._pending[profile] = (when, snapshot)
            self._kept("snapshot")

    def record_tasks(self, tasks: Iterable[Task], profile: str) -> None:
        batch = list(tasks)
        if batch:
            entry = tasks_entry(batch, profile)
            self._write(entry, "tasks", lambda: self.inner.record_tasks(batch, profile))

    def record_action(self, record: ActionRecord) -> None:
        self._write(action_entry(record), "action", lambda: self.inner.record_action(record))

    def record_exchange(self, record: ExchangeRecord) -> None:
        entry = exchange_entry(record)
        self._write(entry, "exchange", lambda: self.inner.record_exchange(record))

    def mark_seen(self, profile: str, ts: float | None = None) -> None:
        self._call(lambda: self.inner.mark_seen(profile, ts))

    # -- everything else goes to the database as it is ----------------------------------------

    @property
    def writes(self) -> int:
        return self.inner.writes

    def policy(self, size: int, base: Retention | None = None) -> Policy:
        return self.inner.policy(size, base)

    def describe(self) -> str:
        return self.inner.describe()

    def tasks(self, profile: str, since: float = 0.0) -> list[dict[str, Any]]:
        return self._call(lambda: self.inner.tasks(profile, since))

    def actions(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        return self._call(lambda: self.inner.actions(since, profile))

    def exchanges(self, since: float = 0.0, profile: str | None = None) -> list[dict[str, Any]]:
        return self._call(lambda: self.inner.exchanges(since, profile))

    def guest_series(
        self,
        profile: str,
        vmid: int,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        return self._call(lambda: self.inner.guest_series(profile, vmid, field, since, until, agg))

    def node_series(
        self,
        profile: str,
        node: str,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        return self._call(lambda: self.inner.node_series(profile, node, field, since, until, agg))

    def changes(
        self, profile: str, since: float, until: float | None = None, limit: int | None = None
    ) -> list[Change]:
        return self._call(lambda: self.inner.changes(profile, since, until, limit))

    def last_seen(self, profile: str) -> float | None:
        return self._call(lambda: self.inner.last_seen(profile))

    def export(self, profile: str, since: float, until: float | None = None) -> Export:
        return self._call(lambda: self.inner.export(profile, since, until))

    def profiles(self) -> list[str]:
        return self._call(self.inner.profiles)

    def stats(self) -> Stats:
        return self._call(self.inner.stats)

    def import_rows(self, profile: str, rows: Export) -> dict[str, int]:
        return self._call(lambda: self.inner.import_rows(profile, rows))

    def diagnose(self) -> list[Probe]:
        probes = self.inner.diagnose()
        kept = self.backlog().kept
        detail = "nothing kept locally"
        if kept:
            detail = f"{kept:,} kept in {self.spool.path}, sent when the database answers"
        return [*probes, Probe("spool", True, detail)]

    def prune(self, now: float | None = None, retention: Retention | None = None) -> dict[str, int]:
        return self._call(lambda: self.inner.prune(now, retention))

    def vacuum(self) -> int:
        return self._call(self.inner.vacuum)

    def take_warnings(self) -> list[str]:
        out = self.inner.take_warnings() + self.spool.take_notices()
        if self.spool.dropped:
            out.append(
                f"the team history spool {self.spool.path} is full ({self.spool.limit:,}"
                f" records): the oldest {self.spool.dropped:,} were dropped"
            )
            self.spool.dropped = 0
        out += self._warnings
        self._warnings = []
        return out

    def close(self) -> None:
        """Keep the refreshes not yet recorded for the next run, then close the database."""
        with self._lock:
            try:
                self.spool.keep_snapshots(self._pending)
                self._pending.clear()
            except (OSError, ValueError) as exc:
                self._warnings.append(f"the refreshes kept for the team history are lost: {exc}")
        self.inner.close()
