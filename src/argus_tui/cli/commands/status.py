"""`argus status`: one snapshot of cluster, nodes and guests, recorded in the history."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json, warn
from argus_tui.domain.format import bytes_, percent
from argus_tui.domain.models import ClusterSnapshot
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_OK, StoreError
from argus_tui.services.session import history_profile
from argus_tui.services.snapshot import collect, guest_actions, guest_ips, snapshot_json


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    client = ctx.client()
    snapshot = collect(client)
    resolved = ctx.resolved
    store = None if args.no_history else ctx.history()
    if store is not None:
        try:
            store.record_snapshot(snapshot, history_profile(resolved.profile))
            for warning in store.take_warnings():
                warn(warning)
            store.close()
        except StoreError as exc:
            warn(str(exc))
    ips = guest_ips(client, snapshot.guests) if args.ips else None
    if args.json:
        print_json(snapshot_json(snapshot, read_only=resolved.read_only, ips=ips))
        return EXIT_OK
    _print_table(snapshot, read_only=resolved.read_only, ips=ips)
    for warning in snapshot.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _print_table(
    snapshot: ClusterSnapshot, *, read_only: bool, ips: Mapping[int, list[str]] | None
) -> None:
    cluster = snapshot.cluster
    quorum = {True: "quorate", False: "NOT QUORATE", None: "quorum unknown"}[cluster.quorate]
    print(
        f"Cluster {printable(cluster.name) or '(standalone)'}: {quorum},"
        f" Proxmox VE {cluster.version or '?'}"
    )
    print(f"{'NODE':<16} {'STATUS':<8} {'CPU':>5} {'MEM':>16} {'UPTIME':>9}")
    for node in snapshot.nodes:
        mem = f"{bytes_(node.mem)}/{bytes_(node.maxmem)}"
        uptime = "-"
        if node.uptime is not None:
            uptime = f"{node.uptime // 86400}d{node.uptime % 86400 // 3600}h"
        cpu = percent(node.cpu)
        print(f"{printable(node.name):<16} {node.status:<8} {cpu:>5} {mem:>16} {uptime:>9}")
    print()
    header = ("VMID", "NAME", "TYPE", "NODE", "STATUS", "CPU", "MEM")
    print("{:>6} {:<24} {:<4} {:<12} {:<9} {:>5} {:>16}  ACTIONS".format(*header))
    for guest in snapshot.guests:
        mem = f"{bytes_(guest.mem)}/{bytes_(guest.maxmem)}"
        allowed = guest_actions(guest, snapshot.privileges, snapshot.storages, snapshot.nodes)
        actions = "" if read_only else ",".join(allowed)
        name = printable(guest.label) + (" (template)" if guest.template else "")
        print(
            f"{guest.vmid:>6} {name:<24} {guest.type:<4} {printable(guest.node):<12}"
            f" {printable(guest.status):<9} {percent(guest.cpu):>5} {mem:>16}  {actions}"
        )
        if ips and ips.get(guest.vmid):
            print(f"{'':>6} addresses: {printable(', '.join(ips[guest.vmid]))}")
