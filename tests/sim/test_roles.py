"""The built-in role tables against PVE's own (pve-access-control's create_roles)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import client_for
from tests.contract.pve_schema import require_shared

from argus_tui.sim.roles import builtin_roles
from argus_tui.sim.server import Simulator


def _pve_roles(table: str) -> dict[str, frozenset[str]]:
    data = json.loads(require_shared("builtin-roles.json").read_text("utf-8"))
    return {role: frozenset(privs) for role, privs in data[table]["roles"].items()}


@pytest.mark.parametrize(("table", "major"), [("pve9", 9), ("pve8", 8)])
def test_builtin_roles_match_pve(table: str, major: int) -> None:
    """PVE 9's table is written out; PVE 8's is derived from it and must still be exact."""
    assert builtin_roles(major) == _pve_roles(table)


def test_versions_differ_only_in_guest_agent_monitor_and_replicate() -> None:
    """The derivation changes only the privileges PVE 9 introduced or retired."""
    changed = {
        priv for role, privs in builtin_roles(9).items() for priv in privs ^ builtin_roles(8)[role]
    }
    assert changed == {
        "VM.GuestAgent.Audit",
        "VM.GuestAgent.FileRead",
        "VM.GuestAgent.FileSystemMgmt",
        "VM.GuestAgent.FileWrite",
        "VM.GuestAgent.Unrestricted",
        "VM.Monitor",
        "VM.Replicate",
    }


@pytest.mark.parametrize("version", ["9.1.2", "8.2.4"])
def test_access_roles_lists_builtin_roles_as_special(
    make_sim: Callable[..., Simulator], version: str
) -> None:
    """/access/roles: the version's built-in roles flagged `special`, custom ones not."""
    sim = make_sim(
        {
            "cluster": {"name": "lab", "version": version},
            "node": [{"name": "pve1"}],
            "role": [{"id": "Watcher", "privs": ["VM.Audit", "Sys.Audit"]}],
        }
    )
    roles: list[dict[str, Any]] = client_for(sim).access.roles.get()
    builtin = builtin_roles(int(version.split(".")[0]))
    assert {r["roleid"]: frozenset(r["privs"].split(",")) - {""} for r in roles} == {
        **builtin,
        "Watcher": frozenset({"Sys.Audit", "VM.Audit"}),
    }
    assert {r["roleid"] for r in roles if r.get("special") == 1} == set(builtin)
