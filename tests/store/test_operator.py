"""Who acted is journaled beside the token, on every backend."""

from __future__ import annotations

from argus_tui.services.operator import operator_name
from argus_tui.store import ActionRecord, HistoryStore


def action(operator: str) -> ActionRecord:
    return ActionRecord(
        ts=1000.0, profile="p", token_id="argus@pve!tui", vmid=105, guest="db01",
        node="pve-a", action="stop", upid="UPID:x", result="OK", duration=1.0,
        operator=operator,
    )  # fmt: skip


def test_the_operator_is_kept_and_exported(history: HistoryStore) -> None:
    history.record_action(action("alice@jump1"))
    history.record_action(action("bob@jump2"))
    assert [a["operator"] for a in history.actions(0, "p")] == ["alice@jump1", "bob@jump2"]
    exported = history.export("p", 0)["actions"]
    assert [(a["operator"], a["token_id"]) for a in exported] == [
        ("alice@jump1", "argus@pve!tui"),
        ("bob@jump2", "argus@pve!tui"),
    ]


def test_operator_name() -> None:
    assert operator_name({"ARGUS_OPERATOR": "  alice \x1b[31m"}) == "alice [31m"
    default = operator_name({})
    user, _, host = default.partition("@")
    assert user and host
