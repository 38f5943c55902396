"""`argus storage` (every storage with its usage) and `argus storage content ID`.

Usage comes from the one `/cluster/resources` call of a refresh; content is listed as
the token may see it: PVE leaves out each backup whose guest lacks VM.Backup, and every
backup without Datastore.AllocateSpace on the storage, without saying so. Argus says so.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json, warn
from argus_tui.domain.format import bytes_, percent
from argus_tui.domain.models import ClusterSnapshot
from argus_tui.domain.operations import ALLOCATE_SPACE
from argus_tui.domain.storage import Storage, Volume
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_OK
from argus_tui.services.storage import find_storage, storage_json, volume_json


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    session = ctx.session(record=False)
    snapshot = session.snapshot()
    as_json = bool(getattr(args, "json", False))
    if args.storage_command == "content":
        storage = find_storage(snapshot.storages, args.storage, args.node)
        found = session.storage_content(storage, kind=args.content, vmid=args.vmid)
        for problem in found.problems:
            warn(problem)
        if as_json:
            print_json([volume_json(v) for v in found.volumes])
        elif found.volumes:
            print_content(snapshot, found.volumes)
        else:
            print(f"(nothing on {printable(storage.storage)} that this token may see)")
        if args.content in (None, "backup"):
            _hidden_backups(snapshot, storage)
        return EXIT_OK
    if as_json:
        print_json([storage_json(s) for s in snapshot.storages])
        return EXIT_OK
    print_storages(snapshot.storages)
    if not snapshot.storages:
        print("(no storages visible: the token needs Datastore.Audit on /storage)")
    return EXIT_OK


def storage_rows(storages: Sequence[Storage]) -> list[tuple[Storage, str]]:
    """(storage, node column) per row: a shared storage whose figures are the same on every
    node is one row marked "(shared)", otherwise one row per node."""
    rows: list[tuple[Storage, str]] = []
    done: set[str] = set()
    for storage in sorted(storages, key=lambda s: (s.storage, s.node)):
        if storage.storage in done:
            continue
        if storage.shared:
            same = [s for s in storages if s.storage == storage.storage]
            figures = {(s.used, s.total, s.status) for s in same}
            if len(same) > 1 and len(figures) == 1:
                rows.append((storage, "(shared)"))
                done.add(storage.storage)
                continue
        rows.append((storage, printable(storage.node)))
    return rows


def print_storages(storages: Sequence[Storage]) -> None:
    rows = storage_rows(storages)
    width = max([len("STORAGE"), *(len(printable(s.storage)) for s, _ in rows)])
    node_width = max([len("NODE"), *(len(node) for _, node in rows)])
    print(
        f"{'STORAGE':<{width}}  {'NODE':<{node_width}}  {'TYPE':<8}  {'CONTENT':<28}"
        f"  {'SHARED':<6}  {'USED / TOTAL':>22}  ACTIVE"
    )
    for storage, node in rows:
        usage = f"{bytes_(storage.used)} / {bytes_(storage.total)}"
        if storage.fraction is not None:
            usage += f" ({percent(storage.fraction)})"
        content = printable(",".join(storage.content)) or "-"
        print(
            f"{printable(storage.storage):<{width}}  {node:<{node_width}}"
            f"  {printable(storage.type) or '-':<8}  {content:<28}"
            f"  {'yes' if storage.shared else 'no':<6}  {usage:>22}"
            f"  {'yes' if storage.active else 'no'}"
        )


def print_content(snapshot: ClusterSnapshot, volumes: Sequence[Volume]) -> None:
    names = {g.vmid: g.label for g in snapshot.guests}
    rows = []
    for volume in volumes:
        guest = "-"
        if volume.vmid is not None:
            name = names.get(volume.vmid)
            guest = f"{printable(name)} ({volume.vmid})" if name else str(volume.vmid)
        when = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(volume.ctime)) if volume.ctime else "-"
        )
        rows.append(
            (
                printable(volume.volid),
                guest,
                when,
                bytes_(volume.size),
                printable(volume.notes) or "-",
                "yes" if volume.protected else "",
            )
        )
    widths = [
        max([len(title), *(len(row[i]) for row in rows)])
        for i, title in enumerate(("VOLID", "GUEST", "TIME", "SIZE", "NOTES"))
    ]
    header = ("VOLID", "GUEST", "TIME", "SIZE", "NOTES", "PROTECTED")
    for row in (header, *rows):
        cells = [
            f"{cell:>{width}}" if i == 3 else f"{cell:<{width}}"  # sizes align right
            for i, (cell, width) in enumerate(zip(row[:5], widths, strict=True))
        ]
        print("  ".join([*cells, row[5]]).rstrip())


def _hidden_backups(snapshot: ClusterSnapshot, storage: Storage) -> None:
    """PVE hides backups silently without Datastore.AllocateSpace on the storage."""
    if not storage.holds("backup"):
        return
    privileges = snapshot.privileges
    if privileges.holds(storage.path, ALLOCATE_SPACE) or privileges.holds(
        storage.path, "Datastore.Allocate"
    ):
        return
    warn(
        f"backups on {printable(storage.storage)} are not listed: Proxmox shows them only with"
        f" {ALLOCATE_SPACE} on {printable(storage.path)} (and VM.Backup on their guest)"
    )
