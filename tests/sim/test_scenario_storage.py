"""Scenario storage keys: `[[storage]]`, a guest's disks, snapshots and backups, defaults,
every mistake named, and the generator's `backups=` and `snapshots=`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import client_for

from argus_tui.sim.demo import generated_scenario, parse_generate
from argus_tui.sim.scenario import ScenarioError, scenario_from_dict
from argus_tui.sim.server import Simulator


def base() -> dict[str, Any]:
    return {
        "cluster": {"name": "lab", "seed": 1},
        "node": [{"name": "pve1"}, {"name": "pve2"}],
        "storage": [
            {"id": "local", "type": "dir", "content": ["iso", "backup"], "size": "100G"},
            {"id": "thin", "type": "lvmthin", "content": ["images", "rootdir"]},
            {"id": "nfs", "type": "nfs", "content": ["backup"], "size": "2T", "used": "600G"},
            {"id": "only1", "type": "zfspool", "content": ["images"], "nodes": ["pve1"]},
        ],
        "guest": [
            {"vmid": 100, "type": "qemu", "node": "pve1"},
            {"vmid": 200, "type": "lxc", "node": "pve2"},
        ],
    }


def storage(data: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in data["storage"] if s["id"] == sid)


def test_defaults() -> None:
    sc = scenario_from_dict(base())
    by_id = {s.id: s for s in sc.storages}
    assert (by_id["nfs"].shared, by_id["thin"].shared, by_id["local"].shared) == (
        True,
        False,
        False,
    )
    assert (by_id["thin"].snapshots, by_id["local"].snapshots, by_id["only1"].snapshots) == (
        True,
        False,
        True,
    )
    assert by_id["nfs"].used == 600 * 1024**3 and by_id["only1"].nodes == ["pve1"]
    assert [g.disk_storage for g in sc.guests] == ["thin", "thin"]  # first with images/rootdir


def test_without_storage_tables_the_old_storages_remain() -> None:
    """...plus a shared Ceph pool, where the disks are unless `local_disks` says local."""
    data = base()
    del data["storage"]
    data["guest"][1]["local_disks"] = True
    sc = scenario_from_dict(data)
    assert [(s.id, s.type, s.shared) for s in sc.storages] == [
        ("local", "dir", False),
        ("local-lvm", "lvmthin", False),
        ("nas-backup", "nfs", True),
        ("ceph-vm", "rbd", True),
    ]
    assert [g.disk_storage for g in sc.guests] == ["ceph-vm", "local-lvm"]


def test_snapshots_and_backups_of_a_guest(make_sim: Callable[..., Simulator]) -> None:
    data = base()
    data["guest"][0].update(
        status="running",
        snapshots=[
            {"name": "base", "description": "fresh install", "ago": 7200},
            {"name": "tuned", "ago": 3600, "vmstate": True},
            {"name": "try", "ago": 60, "parent": "base"},
        ],
        backups=[
            {"storage": "nfs", "ago": 86400, "protected": True, "notes": "weekly"},
            {"storage": "local", "ago": 3600},
        ],
    )
    sim = make_sim(data)
    pve = client_for(sim)
    listed = {s["name"]: s for s in pve.nodes("pve1").qemu(100).snapshot.get()}
    assert listed["base"]["description"] == "fresh install" and "parent" not in listed["base"]
    assert (listed["tuned"]["parent"], listed["tuned"]["vmstate"]) == ("base", 1)
    assert listed["try"]["parent"] == "base" and listed["current"]["parent"] == "try"
    assert listed["tuned"]["snaptime"] == listed["try"]["snaptime"] - 3540
    on_nfs = pve.nodes("pve2").storage("nfs").content.get(content="backup")
    assert [(b["vmid"], b.get("protected"), b.get("notes")) for b in on_nfs] == [(100, 1, "weekly")]
    assert pve.nodes("pve2").storage("local").content.get(content="backup") == []  # pve1's
    (local,) = pve.nodes("pve1").storage("local").content.get(content="backup")
    assert local["volid"].startswith("local:backup/vzdump-qemu-100-")
    assert "notes" not in local and "protected" not in local
    status = pve.nodes("pve1").storage("nfs").status.get()
    assert (status["total"], status["used"]) == (2 * 1024**4, 600 * 1024**3)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["storage"][0].update(colour="red"), "[[storage]] #1: unknown key(s) colour"),
        (lambda d: d["storage"][0].pop("id"), "[[storage]] #1: missing required key 'id'"),
        (lambda d: d["storage"][0].update(id="1st"), "'1st' is not a valid storage id"),
        (lambda d: d["storage"][0].update(type="floppy"), "type must be one of dir, nfs"),
        (lambda d: d["storage"][1].update(content=["iso"]), "content of a lvmthin storage"),
        (lambda d: d["storage"][1].update(content=[]), "content of a lvmthin storage"),
        (lambda d: d["storage"][2].update(shared=False), "a nfs storage is always shared"),
        (lambda d: d["storage"][1].update(shared=True), "a lvmthin storage cannot be shared"),
        (lambda d: d["storage"][3].update(nodes=["pve9"]), "nodes must name [[node]]s"),
        (lambda d: d["storage"][2].update(used="3T"), "used is larger than size"),
        (lambda d: d["storage"][2].update(size="lots"), "[[storage]] #3 size: expected a size"),
        (lambda d: d["storage"].append(dict(d["storage"][0])), "storage id 'local' is used twice"),
        (lambda d: d["storage"][1].update(prune_backups="keep-last=3"), "needs backup content"),
        (lambda d: d["storage"][2].update(prune_backups="keep-most=3"), "invalid prune-backups"),
        (lambda d: d["storage"][1].update(snapshots="yes"), "'snapshots' must be bool"),
    ],
)
def test_storage_mistakes_are_named(mutate: Any, message: str) -> None:
    data = base()
    mutate(data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert message in str(err.value)


G1 = "[[guest]] #1"
G2 = "[[guest]] #2"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["guest"][0].update(disk_storage="nope"), f"{G1}: disk_storage 'nope' is not"),
        (
            lambda d: d["guest"][0].update(disk_storage="local"),
            f"{G1}: disk_storage 'local' has no images content",
        ),
        (
            lambda d: d["guest"][1].update(disk_storage="only1"),
            f"{G2}: disk_storage 'only1' has no rootdir content",
        ),
        (
            lambda d: (
                d["guest"][0].update(node="pve2"),
                d["guest"][0].update(disk_storage="only1"),
            ),
            f"{G1}: disk_storage 'only1' is not available on pve2",
        ),
        (
            lambda d: d.update(storage=[s for s in d["storage"] if s["id"] != "thin"]),
            f"{G2}: no storage with rootdir content on pve2",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "1x"}]),
            "'1x' is not a usable snapshot",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "current"}]),
            "'current' is not a usable",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "Pending"}]),
            "'Pending' is not a usable",
        ),
        (
            lambda d: d["guest"][1].update(snapshots=[{"name": "vzdump"}]),
            "'vzdump' is not a usable",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "a" * 41}]),
            "is not a usable snapshot",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "aa"}, {"name": "aa"}]),
            f"{G1} snapshots #2: snapshot 'aa' is listed twice",
        ),
        (
            lambda d: d["guest"][0].update(
                snapshots=[{"name": "aa", "ago": 5}, {"name": "bb", "ago": 9}]
            ),
            "list the snapshots oldest first",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "aa", "parent": "zz"}]),
            "parent 'zz' is not a snapshot listed before it",
        ),
        (
            lambda d: d["guest"][1].update(snapshots=[{"name": "aa", "vmstate": True}]),
            "only qemu snapshots can include the RAM",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"description": "x"}]),
            f"{G1} snapshots #1: missing required key 'name'",
        ),
        (
            lambda d: d["guest"][0].update(snapshots=[{"name": "aa", "size": 1}]),
            "snapshots #1: unknown key(s) size",
        ),
        (lambda d: d["guest"][0].update(snapshots="aa"), f"{G1}: 'snapshots' must be an array"),
        (
            lambda d: (
                d["storage"][1].update(snapshots=False),
                d["guest"][0].update(snapshots=[{"name": "aa"}]),
            ),
            f"{G1}: its disks on 'thin' cannot have snapshots",
        ),
        (
            lambda d: d["guest"][0].update(backups=[{"storage": "zz"}]),
            f"{G1} backups #1: storage 'zz' is not a [[storage]]",
        ),
        (
            lambda d: d["guest"][0].update(backups=[{"storage": "thin"}]),
            "storage 'thin' has no backup content",
        ),
        (
            lambda d: (
                d["storage"][0].update(nodes=["pve2"]),
                d["guest"][0].update(backups=[{"storage": "local"}]),
            ),
            "storage 'local' is not available on pve1",
        ),
        (
            lambda d: d["guest"][0].update(backups=[{"storage": "nfs"}, {"storage": "nfs"}]),
            "a backup on 'nfs' with ago = 0 is listed twice",
        ),
        (
            lambda d: d["guest"][0].update(backups=[{"storage": "nfs", "mode": "fast"}]),
            "mode must be snapshot, suspend or stop",
        ),
        (lambda d: d["guest"][0].update(backups=[{"ago": 5}]), "missing required key 'storage'"),
        (
            lambda d: d["guest"][0].update(backups=[{"storage": "nfs", "ago": -1}]),
            "ago must be >= 0",
        ),
    ],
)
def test_guest_storage_mistakes_are_named(mutate: Any, message: str) -> None:
    data = base()
    mutate(data)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data)
    assert message in str(err.value)


def test_generator_backups_and_snapshots(make_sim: Callable[..., Simulator]) -> None:
    assert parse_generate("nodes=2,guests=10,backups=35,snapshots=4") == {
        "nodes": 2,
        "guests": 10,
        "backups": 35,
        "snapshots": 4,
    }
    with pytest.raises(ScenarioError, match=r"backups=K\]"):
        parse_generate("nodes=2,guests=10,snaps=4")
    sc = generated_scenario(nodes=2, guests=10, backups=35, snapshots=4)
    assert sum(len(g.backups) for g in sc.guests) == 35
    assert [len(g.backups) for g in sc.guests] == [4] * 5 + [3] * 5
    assert [s.name for s in sc.guests[0].snapshots] == [f"snap-{n:05d}" for n in range(4)]
    pve = client_for(make_sim(sc))
    listed = pve.nodes("pve01").storage("nas-backup").content.get(content="backup")
    assert len(listed) == 35
    first = sc.guests[0]
    names = [
        s["name"] for s in getattr(pve.nodes(first.node), first.type)(first.vmid).snapshot.get()
    ]
    assert len(names) == 5 and names[-1] == "current"
    with pytest.raises(ScenarioError):
        generated_scenario(nodes=1, guests=0, backups=3)
