"""`argus history copy --to URL`: the local history moved into the team database.

Through the HistoryStore protocol only: each profile is exported a day at a time (so a
year of a large cluster never sits in memory at once) and imported into the target,
which skips what it already holds, so a second run adds nothing. Blocking.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from argus_tui.store import DAY, HistoryStore

#: The sections of an export, in the order they are reported.
TABLES = ("samples", "events", "tasks", "actions", "exchanges")


@dataclass(slots=True)
class Copied:
    """Per table: rows read from the source and rows the target did not have yet."""

    read: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))

    def add(self, other: Copied) -> None:
        for table in TABLES:
            self.read[table] += other.read[table]
            self.added[table] += other.added[table]

    def line(self) -> str:
        """`samples 1,440 read, 1,440 added; events 3 read, 0 added; ...`"""
        return "; ".join(f"{t} {self.read[t]:,} read, {self.added[t]:,} added" for t in TABLES)


def windows(start: float, now: float, step: float = DAY) -> list[tuple[float, float | None]]:
    """[since, until) windows covering all time: what is older than `start` (journal rows
    that outlived their samples), then `step`-long windows, the last one open-ended."""
    first = math.floor(start)
    out: list[tuple[float, float | None]] = [(0.0, float(first))] if first > 0 else []
    edge = float(first)
    while edge + step <= now:
        out.append((edge, edge + step))
        edge += step
    out.append((edge, None))
    return out


def copy_history(
    source: HistoryStore,
    target: HistoryStore,
    progress: Callable[[str], None],
    *,
    now: float | None = None,
) -> Copied:
    """Copy every profile of `source` into `target`; `progress` hears one line per
    profile (per table, counts). StoreErrors pass through (the caller's exit code)."""
    current = time.time() if now is None else now
    stats = source.stats()
    total = Copied()
    for profile in source.profiles():
        info = stats.profiles.get(profile)
        spans = info.resolutions.values() if info is not None else ()
        oldest = [s.oldest for s in spans if s.oldest is not None]
        copied = Copied()
        for since, until in windows(min(oldest, default=current), current):
            rows = source.export(profile, since, until)
            added = target.import_rows(profile, rows)
            for table in TABLES:
                copied.read[table] += len(rows.get(table, []))
                copied.added[table] += int(added.get(table, 0))
        progress(f"profile {profile}: {copied.line()}")
        total.add(copied)
    return total
