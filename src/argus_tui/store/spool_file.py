"""The files the team history keeps writes in while its database is away.

`history-spool.jsonl`: one journal record (an action, an assistant exchange, a batch of
tasks) per line, oldest first, at most `limit` lines (the oldest are dropped, and that
is said). `history-spool-snapshots.json`: per profile, the last refresh that could not
be recorded, so the changes of the gap are recorded once the database is back. Both are
0600 in a 0700 folder, since journal rows name people and guests (looser ones are
tightened, and said); every change to them holds an exclusive lock on
`history-spool.lock`, so several Argus processes of one user share them. Records are
plain JSON: the dataclasses' fields.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from argus_tui.domain.models import ClusterInfo, ClusterSnapshot, Guest, Node, Privileges, Task
from argus_tui.errors import StoreError, StoreUnavailable

from .private import FILE_MODE, FOLDER_MODE, private_folder, tighten, write_private
from .records import ActionRecord, ExchangeRecord

SPOOL_NAME = "history-spool.jsonl"
SNAPSHOTS_NAME = "history-spool-snapshots.json"
LOCK_NAME = "history-spool.lock"
LIMIT = 10_000

Entry = dict[str, Any]
#: A kept refresh: (its time, the snapshot).
Pending = tuple[float, ClusterSnapshot]


class SpoolFile:
    """The bounded JSON-lines spool and the kept snapshots, in `folder`."""

    def __init__(self, folder: Path, limit: int = LIMIT) -> None:
        self.folder = folder
        self.path = folder / SPOOL_NAME
        self.snapshots_path = folder / SNAPSHOTS_NAME
        self.limit = limit
        self.lock_path = folder / LOCK_NAME
        #: Records dropped because the spool was full, not yet said.
        self.dropped = 0
        self._private = False  # the folder and files were checked
        self._notices: list[str] = []

    # -- the journal spool ---------------------------------------------------------------

    def has_entries(self) -> bool:
        """Cheap: whether anything waits (a stat, no read)."""
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def count(self) -> int:
        """Records waiting (lines in the file)."""
        try:
            with self.path.open("rb") as handle:
                return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        except OSError:
            return 0

    def append(self, entry: Entry) -> None:
        """Add one record at the end; drop the oldest beyond the limit. Raises OSError."""
        line = json.dumps(entry, separators=(",", ":"), allow_nan=False) + "\n"
        with self._locked():
            over = self.count() + 1 - self.limit
            if over > 0:
                lines = self._lines()
                self._rewrite(lines[over:])
                self.dropped += over
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line)

    def drain(self, send: Callable[[Entry], None]) -> tuple[bool, list[str]]:
        """Send the records oldest first until the database is away again.

        Returns (everything sent, warnings). A record the database refuses for another
        reason than being away (StoreError) would never get in: it is dropped and said.
        What was not sent stays, in order, even if `send` fails unexpectedly.
        """
        warnings: list[str] = []
        with self._locked():
            lines = self._lines()
            done = 0
            try:
                for line in lines:
                    try:
                        entry = json.loads(line)
                        if not isinstance(entry, dict):
                            raise ValueError("not an object")
                        send(entry)
                    except StoreUnavailable:
                        break
                    except StoreError as exc:
                        warnings.append(f"a kept history record was refused and dropped: {exc}")
                    except (ValueError, TypeError, KeyError) as exc:
                        warnings.append(f"an unreadable line of {self.path} was dropped ({exc})")
                    done += 1
            finally:
                if done:
                    self._rewrite(lines[done:])
        return done == len(lines), warnings

    def _lines(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line.strip()]

    def _rewrite(self, lines: list[str]) -> None:
        if not lines:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        write_private(self.path, "".join(f"{line}\n" for line in lines))

    # -- kept snapshots --------------------------------------------------------------------

    def take_snapshots(self) -> dict[str, Pending]:
        """The kept snapshots, removed from the file: this process records them now."""
        with self._locked():
            try:
                data = json.loads(self.snapshots_path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                return {}
            except (OSError, ValueError):
                data = {}  # a damaged file: its snapshots are lost, the next refresh derives
            with contextlib.suppress(FileNotFoundError):
                self.snapshots_path.unlink()
        out: dict[str, Pending] = {}
        if isinstance(data, dict):
            for profile, item in data.items():
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    out[str(profile)] = (float(item["ts"]), snapshot_from_json(item["snapshot"]))
        return out

    def keep_snapshots(self, pending: dict[str, Pending]) -> None:
        """Add this process's kept snapshots to the file (a newer one per profile wins)."""
        if not pending:
            return
        with self._locked():
            try:
                data = json.loads(self.snapshots_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if not isinstance(data, dict):
                data = {}
            for profile, (ts, snapshot) in pending.items():
                old = data.get(profile)
                if isinstance(old, dict) and float(old.get("ts", 0)) > ts:
                    continue
                data[profile] = {"ts": ts, "snapshot": snapshot_json(snapshot)}
            write_private(self.snapshots_path, json.dumps(data, allow_nan=False))

    # -- the lock ----------------------------------------------------------------------------

    def take_notices(self) -> list[str]:
        """What making the folder and its files private found (once per SpoolFile)."""
        out, self._notices = self._notices, []
        return out

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock shared by every process of the user (released on close).
        First the folder and the spool's files are made private (once), saying so."""
        if not self._private:
            self._notices += [str(n) for n in private_folder(self.folder)]
            for path in (self.path, self.snapshots_path, self.lock_path):
                notice = tighten(path)
                if notice:
                    self._notices.append(str(notice))
            self._private = True
        else:
            self.folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


# -- records as JSON ---------------------------------------------------------------------------


def action_entry(record: ActionRecord) -> Entry:
    return {"kind": "action", "record": dataclasses.asdict(record)}


def exchange_entry(record: ExchangeRecord) -> Entry:
    return {"kind": "exchange", "record": dataclasses.asdict(record)}


def tasks_entry(tasks: list[Task], profile: str) -> Entry:
    return {"kind": "tasks", "profile": profile, "tasks": [dataclasses.asdict(t) for t in tasks]}


def _known(cls: Any, data: Any) -> dict[str, Any]:
    """The fields of `cls` found in `data` (a newer Argus may have written more)."""
    if not isinstance(data, dict):
        raise ValueError(f"expected an object for {cls.__name__}")
    names = set(_field_names(cls))
    return {k: v for k, v in data.items() if k in names}


def _field_names(cls: Any) -> tuple[str, ...]:
    """A record's field names: a dataclass's, or a struct's (Guest, domain/models.py)."""
    if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
        return cls.__struct_fields__
    return tuple(f.name for f in dataclasses.fields(cls))


def action_of(entry: Entry) -> ActionRecord:
    return ActionRecord(**_known(ActionRecord, entry["record"]))


def exchange_of(entry: Entry) -> ExchangeRecord:
    return ExchangeRecord(**_known(ExchangeRecord, entry["record"]))


def tasks_of(entry: Entry) -> tuple[list[Task], str]:
    return [Task(**_known(Task, t)) for t in entry["tasks"]], str(entry["profile"])


def snapshot_json(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """What recording a refresh reads of it: the cluster, nodes and guests, its time."""
    return {
        "fetched_at": snapshot.fetched_at,
        "cluster": dataclasses.asdict(snapshot.cluster),
        "nodes": [dataclasses.asdict(n) for n in snapshot.nodes],
        "guests": [msgspec.structs.asdict(g) for g in snapshot.guests],
    }


def snapshot_from_json(data: Any) -> ClusterSnapshot:
    if not isinstance(data, dict):
        raise ValueError("expected an object for a snapshot")
    guests = []
    for raw in data["guests"]:
        fields = _known(Guest, raw)
        fields["tags"] = tuple(fields.get("tags", ()))
        guests.append(Guest(**fields))
    return ClusterSnapshot(
        cluster=ClusterInfo(**_known(ClusterInfo, data["cluster"])),
        nodes=tuple(Node(**_known(Node, n)) for n in data["nodes"]),
        guests=tuple(guests),
        privileges=Privileges(),
        fetched_at=float(data.get("fetched_at", 0.0)),
    )
