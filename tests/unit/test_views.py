"""Filtering and sorting of table rows (services.views)."""

from __future__ import annotations

from argus_tui.domain.models import Guest
from argus_tui.services.views import filter_rows, guest_haystack, matcher, sort_rows

GUESTS = [
    Guest(vmid=105, type="qemu", node="pve-c", status="stopped", name="ledger-batch",
          tags=("batch",)),
    Guest(vmid=109, type="qemu", node="pve-c", status="paused", name="win11-helpdesk",
          tags=("windows",)),
    Guest(vmid=1050, type="lxc", node="pve-a", status="running", name="web-105",
          tags=("web", "prod")),
]  # fmt: skip


def names(text: str) -> list[str]:
    return [g.label for g in filter_rows(GUESTS, text, guest_haystack)]


def test_substring_is_case_insensitive_over_every_field() -> None:
    assert names("PVE-C") == ["ledger-batch", "win11-helpdesk"]
    assert names("prod") == ["web-105"]
    assert names("") == ["ledger-batch", "win11-helpdesk", "web-105"]


def test_regex_anchors_apply_to_each_field() -> None:
    assert names("/^10[59]$/") == ["ledger-batch", "win11-helpdesk"]  # vmid, not web-105
    assert names("/^web$/") == ["web-105"]  # the tag, not the name's prefix
    assert names("^win|^ledger") == ["ledger-batch", "win11-helpdesk"]


def test_a_bad_regex_falls_back_to_substring_and_says_why() -> None:
    match = matcher("/[unclosed/")
    assert match.error and "invalid regular expression" in match.error
    assert names("/[unclosed/") == []


def test_sort_puts_missing_values_last() -> None:
    rows = sort_rows(GUESTS, lambda g: None if g.vmid == 109 else -g.vmid)
    assert [g.vmid for g in rows] == [1050, 105, 109]
