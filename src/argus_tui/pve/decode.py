"""`/cluster/resources` bytes -> domain models, fast: typed structures instead of dicts.

At 10,000 guests the body is 3.4 MB of JSON. Decoding it into dicts and mapping each dict
field by field (pve/mapping.py) costs about 120 ms per refresh, some of it in single C
calls that hold the GIL while the UI waits. Here msgspec decodes the bytes into `_Entry`
structs whose field types are those PVE sends (so the decoder has already checked every
value), and one loop settles what PVE leaves loose (`""` for none, 0/1 for booleans, tags
as `a;b`) while it builds each `Guest` from positional arguments, in C. Neither the
structs nor the guests are tracked by the cyclic GC, and the loop is plain Python, so the
worker gives up the GIL at every switch interval. A large body is parsed in pieces of
about 128 KB (cut between two entries, `_spans`), so that no single C call holds the GIL
for the whole 3.4 MB either: a key pressed during a refresh waits for one piece, not for
the body.

A body that does not fit those types (a string where a number belongs, an entry that is
neither an object nor null, invalid UTF-8, a number out of range, ...) is refused:
`decode_resources` returns None and the caller decodes it generically and maps it the
tolerant way. An entry that fits the types but not the fast loop (a guest without a vmid
or node, a node, a storage) is mapped here by pve/mapping.py's own functions, so both
ways give the same domain objects and the same problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from argus_tui.domain.models import Guest, Node
from argus_tui.domain.storage import Storage
from argus_tui.pve.mapping import (
    MappingError,
    Resources,
    as_bool,
    guest_from,
    node_from,
    split_tags,
    storage_from,
)


class _Entry(msgspec.Struct, gc=False):
    """Every field of a node, guest or storage entry that Argus reads, as PVE types it.

    Fields whose absence differs from null for the mapping (`maxcpu` falls back to `cpus`,
    a storage's `disk` to `used`) are UNSET when absent.
    """

    type: str | None = None
    id: str | None = None
    node: str | None = None
    name: str | None = None
    status: str | None = None
    vmid: int | None = None
    template: int | bool | str | None = None
    tags: str | tuple[str, ...] | None = None
    pool: str | None = None
    lock: str | None = None
    hastate: str | None = None
    qmpstatus: str | None = None
    cpu: float | None = None
    maxcpu: float | UnsetType | None = UNSET  # msgspec makes an int a float, as Guest has it
    cpus: float | None = None
    mem: int | None = None
    maxmem: int | None = None
    disk: int | UnsetType | None = UNSET
    maxdisk: int | UnsetType | None = UNSET
    uptime: int | None = None
    netin: int | None = None
    netout: int | None = None
    diskread: int | None = None
    diskwrite: int | None = None
    level: str | None = None
    storage: str | None = None
    plugintype: str | None = None
    content: str | None = None
    shared: int | bool | str | None = None
    used: int | None = None
    total: int | None = None
    active: int | bool | str | None = None


class _Body(msgspec.Struct, gc=False):
    data: list[_Entry | None]


_DECODER = msgspec.json.Decoder(_Body)
_ENTRIES = msgspec.json.Decoder(list[_Entry | None])
_REFUSED = (msgspec.MsgspecError, ValueError, RecursionError)  # ValueError: bad UTF-8

PIECE = 128 * 1024  # bytes parsed per msgspec call: about 1 ms of GIL on a slow machine
SLICE = 400  # entries mapped at a time when a body is parsed whole (about PIECE bytes)
_HEAD = re.compile(rb'\s*\{\s*"data"\s*:\s*\[')  # the body opens its one key, `data`
_TAIL = re.compile(rb"\]\s*\}\s*\Z")  # and closes it at its end
_BETWEEN = re.compile(rb"\}\s*,\s*\{")  # one entry's end and the next one's start


def decode_resources(body: bytes) -> Resources | None:
    """The body of `/cluster/resources` mapped as `mapping.resources_from` would map its
    decoded JSON; None when the body does not fit the typed fast path."""
    spans = _spans(body)
    if spans:
        try:
            return _mapped(_pieces(body, spans))
        except _REFUSED:
            pass  # a cut that was not between two entries: the body is parsed whole
    try:
        return _mapped(_slices(_DECODER.decode(body).data))
    except _REFUSED:
        return None


def _mapped(pieces: Iterator[list[_Entry | None]]) -> Resources:
    found = _Found()
    for entries in pieces:
        found.add(entries)
    return Resources(found.nodes, found.guests, found.storages, found.problems)


def _spans(body: bytes) -> list[tuple[int, int]]:
    """Where the pieces of a large `{"data": [...]}` lie: (start, end) of runs of whole
    entries, about PIECE bytes each; none for a small body or any other shape.

    Each piece is parsed as `[` + run + `]`. A cut is a guess (`},{` may sit inside a
    string or a nested value), but a wrong one leaves a piece that is not a valid list (an
    unterminated string, unbalanced brackets, a value after the list), so msgspec refuses
    it and the body is parsed whole. If every piece is a valid list, the runs joined by
    commas are a valid list too, and as the body opens `{"data": [` and ends `]}`, it is
    exactly the object whose one key `data` holds that list: the pieces give what parsing
    the body whole gives (tests/pve/test_decode.py, CUT_BADLY)."""
    if len(body) < 2 * PIECE:
        return []
    head = _HEAD.match(body)
    tail = _TAIL.search(body, len(body) - 64)  # more trailing space than that: not cut
    if head is None or tail is None:
        return []
    spans = []
    start, end = head.end(), tail.start()
    while (cut := _BETWEEN.search(body, start + PIECE, end)) is not None:
        spans.append((start, cut.start() + 1))
        start = cut.end() - 1
    spans.append((start, end))
    return spans if len(spans) > 1 else []


def _pieces(body: bytes, spans: list[tuple[int, int]]) -> Iterator[list[_Entry | None]]:
    """The entries of `data`, a piece at a time: no single call holds the GIL for the
    whole body, and each piece's structs are freed before the next is parsed."""
    view = memoryview(body)
    for start, end in spans:
        yield _ENTRIES.decode(b"".join((b"[", view[start:end], b"]")))


def _slices(entries: list[_Entry | None]) -> Iterator[list[_Entry | None]]:
    """A body parsed whole, a slice at a time, each slice's structs freed once mapped."""
    for start in range(0, len(entries), SLICE):
        piece = entries[start : start + SLICE]
        entries[start : start + SLICE] = [None] * len(piece)
        yield piece


class _Found:
    """What one body maps to so far, in its order, and the tag sets seen in it."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.guests: list[Guest] = []
        self.storages: list[Storage] = []
        self.problems: list[str] = []
        self.tags: dict[str, tuple[str, ...]] = {}  # clusters reuse a few tag sets

    def add(self, entries: list[_Entry | None]) -> None:
        """Map the entries in order: guests here, what the loop cannot take in `slow`."""
        guests = self.guests.append
        tags = self.tags
        for entry in entries:
            if entry is None:
                self.problems.append("ignored a resource entry that is not an object: None")
                continue
            kind = entry.type
            if kind == "qemu" or kind == "lxc":
                if entry.vmid is None or not entry.node:
                    self.slow(entry)
                    continue
                # What mapping.guest_from does, inline: this runs 10,000 times a refresh.
                raw = entry.tags
                if raw.__class__ is str:
                    found = tags.get(raw)
                    if found is None:
                        found = tags[raw] = split_tags(raw)
                else:
                    found = ()
                flag = entry.template
                status = entry.status
                if not status:
                    status = "unknown"
                elif status == "running" and entry.qmpstatus and entry.qmpstatus != "running":
                    status = entry.qmpstatus  # a paused VM says running; qmpstatus knows
                maxcpu = entry.maxcpu
                disk = entry.disk
                maxdisk = entry.maxdisk
                guests(
                    Guest(  # positional, in Guest's field order: built in C
                        entry.vmid,
                        kind,  # type: ignore[arg-type]  # "qemu" or "lxc", tested above
                        entry.node,
                        status,
                        entry.name or None,
                        flag != 0 if flag.__class__ is int else as_bool(flag),
                        found,
                        entry.pool or None,
                        entry.lock or None,
                        entry.hastate or None,
                        entry.cpu,
                        entry.cpus if maxcpu is UNSET else maxcpu,
                        entry.mem,
                        entry.maxmem,
                        None if disk is UNSET else disk,
                        None if maxdisk is UNSET else maxdisk,
                        entry.uptime,
                        entry.netin,
                        entry.netout,
                        entry.diskread,
                        entry.diskwrite,
                    )
                )
            elif kind == "node" or kind == "storage":
                self.slow(entry)

    def slow(self, entry: _Entry) -> None:
        """A node, a storage, or a guest the loop cannot take: pve/mapping.py maps it."""
        kind = entry.type
        try:
            if kind == "node":
                self.nodes.append(node_from(_fields(entry)))
            elif kind == "storage":
                self.storages.append(storage_from(_fields(entry)))
            else:
                self.guests.append(guest_from(_fields(entry)))
        except MappingError as exc:
            self.problems.append(f"ignored a malformed resource entry: {exc}")


def _fields(entry: _Entry) -> dict[str, Any]:
    """The entry as the dict pve/mapping.py reads: an absent field is null, except those
    whose absence the mapping tells apart (UNSET)."""
    return {
        name: value
        for name in entry.__struct_fields__
        if (value := getattr(entry, name)) is not UNSET
    }
