"""Scenario files: sizes, defaults, and a clear message for every kind of mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argus_tui.sim.demo import demo_scenario, generated_scenario, parse_generate
from argus_tui.sim.scenario import ScenarioError, load_scenario, parse_size, scenario_from_dict


def base() -> dict[str, Any]:
    return {
        "cluster": {"name": "acme", "version": "8.2.4", "seed": 3},
        "node": [{"name": "pve-a", "cpus": 16, "memory": "64G", "disk": "500G"}],
        "guest": [{"vmid": 201, "type": "qemu", "name": "db", "node": "pve-a"}],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8G", 8 * 1024**3), ("512M", 512 * 1024**2), ("1.5T", int(1.5 * 1024**4)), (4096, 4096)],
)
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text, "x") == expected


def test_minimal_scenario_defaults() -> None:
    sc = scenario_from_dict(base())
    assert sc.pve_major == 8
    assert [u.id for u in sc.users] == ["root@pam"]
    guest = sc.guests[0]
    assert (guest.status, guest.template, guest.ha, guest.pool) == ("stopped", False, False, None)
    assert "PVEVMUser" in sc.roles and "VM.Monitor" in sc.roles["PVEVMAdmin"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["guest"][0].update(node="nope"), "node 'nope' is not a [[node]]"),
        (lambda d: d["guest"][0].update(type="vz"), "type must be qemu or lxc"),
        (lambda d: d["guest"][0].update(vmid=99), "vmid must be between"),
        (lambda d: d["guest"].append(dict(d["guest"][0])), "vmid 201 is used twice"),
        (lambda d: d["guest"][0].update(memory="lots"), "expected a size"),
        (lambda d: d["guest"][0].update(colour="red"), "unknown key(s) colour"),
        (lambda d: d["guest"][0].update(fail={"explode": "x"}), "fail.explode is not"),
        (
            lambda d: d.update(acl=[{"path": "/", "subject": "x@pve", "role": "PVEAuditor"}]),
            "subject 'x@pve' is not a user or token",
        ),
        (lambda d: d.update(role=[{"id": "R", "privs": ["VM.Fly"]}]), "unknown privilege"),
        (lambda d: d.update(token=[{"id": "ghost@pve!tt", "secret": "s"}]), "is not a [[user]]"),
        (lambda d: d["node"].append({"name": "pve-b"}) or d.pop("cluster"), "[cluster] table"),
        (lambda d: d.update(faults={"error_rate": 2}), "error_rate must be between 0 and 1"),
        (
            lambda d: d["cluster"].update(permissions_listing="flat"),
            "permissions_listing must be one of pve, root-only, got 'flat'",
        ),
    ],
)
def test_mistakes_are_named(mutate: Any, message: str) -> None:
    data = base()
    mutate(data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert message in str(err.value)


def test_bad_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[cluster\nname=1")
    with pytest.raises(ScenarioError, match="is not valid TOML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.toml")


def test_demo_has_what_the_issue_promises() -> None:
    sc = demo_scenario()
    guests = sc.guests
    assert len(sc.nodes) == 3 and 20 <= len(guests) <= 30
    assert {g.type for g in guests} == {"qemu", "lxc"}
    assert {g.status for g in guests} == {"running", "stopped", "paused"}
    assert any(g.template for g in guests)
    assert any(g.lock == "backup" for g in guests)
    assert any(g.ha for g in guests)
    assert len(sc.pools) == 2 and all(any(g.pool == p for g in guests) for p in sc.pools)
    assert any(t.error for t in sc.tasks)


def test_generate() -> None:
    assert parse_generate("nodes=50,guests=10000") == {"nodes": 50, "guests": 10000}
    with pytest.raises(ScenarioError):
        parse_generate("nodes=many")
    sc = generated_scenario(nodes=5, guests=300, seed=1)
    assert len(sc.nodes) == 5 and len(sc.guests) == 300
    assert generated_scenario(nodes=5, guests=300, seed=1).guests[7] == sc.guests[7]
