"""One refusal list decides the plan's text, the pre-send check and the CLI's exit code."""

from __future__ import annotations

import pytest

from argus_tui.domain.models import Guest, Privileges, exit_ok
from argus_tui.services.power import Refusal, explain

CAN = Privileges({"/vms": {"VM.PowerMgmt": True}})
CANNOT = Privileges({"/vms": {"VM.Audit": True}})


def vm(status: str = "running", lock: str | None = None) -> Guest:
    return Guest(vmid=101, type="qemu", node="pve-a", status=status, name="web", lock=lock)


@pytest.mark.parametrize(
    ("guest", "action", "privileges", "read_only", "expected", "text"),
    [
        (vm(), "stop", CAN, True, Refusal.READ_ONLY, "skipped: the profile is read-only"),
        (
            vm(),
            "stop",
            CANNOT,
            False,
            Refusal.NOT_PERMITTED,
            "skipped: not permitted (needs VM.PowerMgmt on /vms/101)",
        ),
        (
            Guest(vmid=200, type="lxc", node="pve-a", status="running"),
            "reset",
            CAN,
            False,
            Refusal.CONTAINER,
            "skipped: containers cannot reset",
        ),
        (
            vm(lock="backup"),
            "stop",
            CAN,
            False,
            Refusal.LOCKED,
            "skipped: locked (backup); Proxmox refuses it until the lock goes",
        ),
        (
            vm("stopped"),
            "stop",
            CAN,
            False,
            Refusal.INVALID_STATE,
            "skipped: not valid while stopped",
        ),
        (vm(), "stop", CAN, False, None, "will stop"),
    ],
)
def test_refusals(
    guest: Guest,
    action: str,
    privileges: Privileges,
    read_only: bool,
    expected: Refusal | None,
    text: str,
) -> None:
    item = explain(guest, action, privileges, read_only=read_only)
    assert item.refusal is expected and item.reason == text
    assert item.runs is (expected is None)


def test_only_privilege_refusals_are_denials() -> None:
    assert {r for r in Refusal if r.denied} == {Refusal.READ_ONLY, Refusal.NOT_PERMITTED}


@pytest.mark.parametrize(
    ("status", "ok"),
    [("OK", True), ("WARNINGS: 2", True), ("start failed: QEMU exited with code 1", False)],
)
def test_task_outcome(status: str, ok: bool) -> None:
    assert exit_ok(status) is ok
