"""The pure rules every backend shares: changes from two pictures, sample values, policy."""

from __future__ import annotations

from msgspec import structs

from argus_tui.store import DAY, GUEST_FIELDS, Change, Retention
from argus_tui.store.changes import State, diff, observe, subject
from argus_tui.store.records import choose_policy
from argus_tui.store.samples import MAX_RATE_GAP, decode, guest_values, node_values

from .helpers import T0, guest, node, snapshot


def test_an_unknown_status_or_name_keeps_the_last_known_one() -> None:
    last = observe(snapshot([guest(101, name="web")]), State())
    offline = [node("pve1"), node("pve2", "unknown")]
    nameless = structs.replace(guest(101, "unknown"), name=None)
    now = observe(snapshot([nameless], offline), last)
    assert now.guests[101] == ("running", "pve1", "web", "qemu")
    assert now.nodes["pve2"] == "online"  # "unknown" is not news either


def test_diff_names_each_change_once_nodes_first() -> None:
    old = State(
        {101: ("running", "pve1", "web", "qemu"), 102: ("paused", "pve1", None, "lxc")},
        {"pve1": "online", "pve2": "online"},
    )
    new = State(
        {101: ("stopped", "pve2", "www", "qemu"), 102: ("running", "pve1", None, "lxc")},
        {"pve1": "online", "pve2": "offline", "pve3": "online"},
    )
    assert diff(old, new, T0) == [
        Change(T0, "node-offline", "node pve2", "online → offline", None, "pve2"),
        Change(T0, "node-added", "node pve3", "online", None, "pve3"),
        Change(T0, "migrated", "VM 101 (www)", "pve1 → pve2", 101, "pve2"),
        Change(T0, "stopped", "VM 101 (www)", "on pve2", 101, "pve2"),
        Change(T0, "renamed", "VM 101 (www)", "web → www", 101, "pve2"),
        Change(T0, "resumed", "CT 102", "on pve1", 102, "pve1"),
    ]
    assert diff(new, new, T0) == []
    assert subject(7, ("stopped", "pve1", None, "lxc")) == "CT 7"


def test_sample_values_and_rates_from_counters() -> None:
    status, cpu, mem, disk, *rates = node_values(node("pve1", cpu=0.25, mem=8 << 20))
    assert (status, cpu, mem, disk, rates) == (1, 2500, 8192, 100 << 20, [None] * 4)
    first, basis = guest_values(guest(101, counters=1000), T0, None, MAX_RATE_GAP)
    assert first[4:] == (None, None, None, None) and basis == (T0, 1000, 2000, 3000, 4000)
    later, _ = guest_values(guest(101, counters=7000), T0 + 60, basis, MAX_RATE_GAP)
    assert later[4:] == (100, 200, 300, 400)
    restarted, _ = guest_values(guest(101, counters=10), T0 + 60, basis, MAX_RATE_GAP)
    assert restarted[4:] == (None, None, None, None)
    stale, _ = guest_values(guest(101, counters=7000), T0 + 2 * MAX_RATE_GAP, basis, MAX_RATE_GAP)
    assert stale[4:] == (None, None, None, None)
    row = {"ts": T0, "kind": "guest", "key": "101", "status": first[0]}
    row |= dict(zip(GUEST_FIELDS, later[1:], strict=True))
    plain = decode(row, 0)
    assert plain["status"] == "running" and plain["cpu"] == 0.5 and plain["netin"] == 100.0


def test_the_large_cluster_policy_samples_and_keeps_less() -> None:
    ret = Retention()
    assert choose_policy(500, 60.0, ret, 500).sample_interval == 60.0
    large = choose_policy(501, 60.0, ret, 500)
    assert large.large and large.sample_interval == 300.0
    assert (large.retention.mid_step, large.retention.long_step) == (3600, 86400)
    assert large.retention.raw == DAY
    assert not choose_policy(10**6, 60.0, ret, None).large
