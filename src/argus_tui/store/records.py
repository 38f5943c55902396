"""What the history keeps and hands out, independent of where it is kept.

Pure value types shared by every backend and by the callers: the journal records, the
derived changes, the retention and sampling policy, and the statistics. Nothing here
knows about SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

HOUR = 3600.0
DAY = 86400.0

#: Clusters with more nodes + guests than this get the "large" policy (see `choose_policy`).
LARGE_CLUSTER = 500

GUEST_FIELDS = ("cpu", "mem", "disk", "netin", "netout", "diskread", "diskwrite")
NODE_FIELDS = ("cpu", "mem", "disk")
#: An assistant exchange as the journal keeps it and an export lists it (beside its profile).
EXCHANGE_FIELDS = (
    "ts",
    "model",
    "subject",
    "question",
    "context_chars",
    "answer_chars",
    "outcome",
    "error",
    "duration",
)

#: `export()`: section name (samples, events, tasks, actions, exchanges) -> rows.
Export = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action as journaled: who, on what, the task it started and its result.

    `action` is a power action or an operation (snapshot, rollback, snapshot-delete,
    backup, backup-delete, migrate, console, shell, ...); `target` what it was about
    beyond the guest (the snapshot name, the backup volume, the storage a backup went to,
    the node of a shell).
    """

    ts: float
    profile: str
    token_id: str
    vmid: int
    guest: str
    node: str
    action: str
    upid: str
    result: str
    duration: float
    target: str = ""
    operator: str = ""  # the person: ARGUS_OPERATOR, else login name and host (user@host)


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """One question to the assistant: sizes and outcome only, never the texts exchanged."""

    ts: float
    profile: str
    model: str
    subject: str
    question: str  # already redacted by the caller
    context_chars: int
    answer_chars: int
    outcome: str  # ok | cancelled | error
    error: str = ""
    duration: float = 0.0


@dataclass(frozen=True, slots=True)
class Change:
    """One derived event for the changes view; `subject` reads like "VM 101 (web)"."""

    ts: float
    kind: str  # started stopped created gone migrated renamed status node-offline ...
    subject: str
    detail: str
    vmid: int | None = None
    node: str | None = None


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each resolution is kept (seconds) and the downsampling steps."""

    raw: float = DAY  # full resolution
    mid_step: int = 300  # 5-minute average and max ...
    mid: float = 30 * DAY  # ... kept 30 days
    long_step: int = 3600  # hourly ...
    long: float = 365 * DAY  # ... kept a year
    journal: float = 365 * DAY  # events, tasks and actions

    def __post_init__(self) -> None:
        if self.mid_step <= 0 or self.long_step % self.mid_step:
            raise ValueError("long_step must be a positive multiple of mid_step")
        if min(self.raw, self.mid, self.long, self.journal) < 0:
            raise ValueError("retention periods cannot be negative")

    def as_dict(self) -> dict[str, float]:
        """Every field as a float, in declaration order (for JSON)."""
        return {name: float(getattr(self, name)) for name in Retention.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Policy:
    """What one profile records: its sample interval and retention."""

    sample_interval: float
    retention: Retention
    large: bool = False


def choose_policy(
    size: int, sample_interval: float, retention: Retention, large_cluster: int | None
) -> Policy:
    """The sample interval and retention for a cluster of `size` nodes + guests.

    Up to `large_cluster` entities: as configured (default 60 s raw for 24 h, 5-minute
    avg+max for 30 days, hourly for a year: about 1.1 MiB per guest after a year).
    Above it the per-guest cost is cut about 14-fold: raw every 5 minutes (or the
    configured interval if longer), hourly rollups for 30 days, daily for a year. See
    docs/PERFORMANCE.md "History": 10,000 guests at the small policy would be ~10 GiB.
    """
    if large_cluster is not None and size > large_cluster:
        mid = max(retention.mid_step, 3600)
        long = max(retention.long_step, 86400)
        long = long + (-long) % mid  # keep it a multiple
        return Policy(
            max(sample_interval, 300.0),
            replace(retention, mid_step=mid, long_step=long),
            large=True,
        )
    return Policy(sample_interval, retention)


@dataclass(frozen=True, slots=True)
class Probe:
    """One check of the history for `argus doctor`: what was found, and what to do."""

    name: str  # reachable | tls | schema | write (a backend may add others)
    ok: bool
    detail: str  # what was found, e.g. "PostgreSQL 15.8 at db.example:5432, database argus"
    hint: str = ""  # what to do when not ok (a GRANT, sslmode=verify-full, ...)


@dataclass(frozen=True, slots=True)
class Backlog:
    """What a history that keeps writes locally while its database is away holds back.

    `reachable` is what the last call found (None: nothing tried yet); `kept` counts the
    journal records waiting in the spool plus the snapshots kept to be recorded;
    `kept_here` names what this process kept since the database was last reached
    (action, exchange, tasks, snapshot), for a command's one line on stderr.
    """

    name: str  # the database in a few words: "db.example:5432/argus"
    reachable: bool | None
    kept: int
    path: str  # the spool file
    reason: str = ""  # why it is unreachable: "connection refused"
    kept_here: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The status line's words while the database is away; "" while it is fine."""
        if self.reachable is not False:
            return ""
        return f"team database unreachable, {self.kept} kept"


# -- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableStats:
    """One table (or the backend's equivalent): its rows and the bytes it occupies."""

    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Span:
    """The points kept at one resolution and the time they cover."""

    points: int
    oldest: float | None
    newest: float | None


@dataclass(frozen=True, slots=True)
class ProfileStats:
    """What is kept for one profile, and the policy it is recorded with."""

    entities: int
    last_sample: float | None
    last_seen: float | None
    #: step in seconds (0 = raw samples) -> span, finest first
    resolutions: dict[int, Span]
    policy: Policy
    events: int


@dataclass(frozen=True, slots=True)
class Stats:
    """`stats()`: sizes, row counts, spans per profile and resolution, the policy.

    `location` names the database (a file path, a server); `size_bytes` is what it takes
    on disk. `extra` holds what only one backend has (SQLite: wal_bytes, page_size, pages,
    free_pages), in the order it should be shown.
    """

    location: str
    schema: int
    size_bytes: int
    tables: dict[str, TableStats]
    profiles: dict[str, ProfileStats]
    last_prune: float | None
    sample_interval: float
    retention: Retention
    large_cluster: int | None
    extra: dict[str, Any] = field(default_factory=dict)
