"""`argus storage` and `argus storage content` through the real binary, against the
simulator of tests/ops_scenario.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import one_clear_line
from tests.cli.ops_helpers import env_for, run
from tests.conftest import FROZEN_EPOCH, client_for
from tests.ops_scenario import DAY, TOKENS, ops_scenario, secret_of

from argus_tui.sim.server import Simulator

STORAGE_KEYS = {"storage", "node", "type", "content", "shared", "used", "total", "active"}
VOLUME_KEYS = {"volid", "content", "format", "size", "ctime", "vmid", "notes", "protected"}


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(ops_scenario())


def as_json(sim: Simulator, tmp_path: Path, args: list[str], who: str = "root") -> Any:
    result = run(args, env_for(sim, tmp_path, who), tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_storage_json_matches_cluster_resources(sim: Simulator, tmp_path: Path) -> None:
    data = as_json(sim, tmp_path, ["storage", "--json"])
    assert all(set(entry) == STORAGE_KEYS for entry in data)
    resources = client_for(sim).cluster.resources.get(type="storage")
    expected = sorted(
        (
            {
                "storage": r["storage"],
                "node": r["node"],
                "type": r["plugintype"],
                "content": r["content"].split(","),
                "shared": bool(r["shared"]),
                "used": r["disk"],
                "total": r["maxdisk"],
                "active": r["status"] == "available",
            }
            for r in resources
        ),
        key=lambda e: (e["node"], e["storage"]),
    )
    assert data == expected
    # one entry per node and storage: shared ones on both nodes, with the same figures
    keys = [(e["node"], e["storage"]) for e in data]
    assert keys == [
        (node, sid)
        for node in ("pve-a", "pve-b")
        for sid in ("archive-nfs", "backup-nfs", "local", "local-lvm", "nfs-raw")
    ]
    backup_nfs = [e for e in data if e["storage"] == "backup-nfs"]
    assert backup_nfs[0] == {**backup_nfs[1], "node": "pve-a"}
    assert backup_nfs[0]["shared"] and backup_nfs[0]["content"] == ["backup", "iso"]
    assert backup_nfs[0]["total"] == 2 * 1024**4 and backup_nfs[0]["used"] >= 600 * 1024**3


def test_storage_table_shows_shared_storages_once(sim: Simulator, tmp_path: Path) -> None:
    result = run(["storage"], env_for(sim, tmp_path, "auditor"), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "STORAGE", "NODE", "TYPE", "CONTENT", "SHARED", "USED", "/", "TOTAL", "ACTIVE"
    ]  # fmt: skip
    cells = [row.split() for row in rows]
    assert [(c[0], c[1]) for c in cells] == [
        ("archive-nfs", "(shared)"),
        ("backup-nfs", "(shared)"),
        ("local", "pve-a"),
        ("local", "pve-b"),
        ("local-lvm", "pve-a"),
        ("local-lvm", "pve-b"),
        ("nfs-raw", "(shared)"),
    ]
    backup = cells[1]
    assert backup[2:5] == ["nfs", "backup,iso", "yes"] and backup[-1] == "yes"
    assert backup[6] == "/" and backup[7] == "2.0T" and backup[8].startswith("(")


def test_storage_without_datastore_audit(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    data = ops_scenario()
    data["user"].append({"id": "vmonly@pve"})
    data["token"].append({"id": "vmonly@pve!tui", "secret": "vmonly-secret", "privsep": False})
    data["acl"].append({"path": "/vms", "subject": "vmonly@pve", "role": "PVEVMUser"})
    sim = make_sim(data)
    env = env_for(sim, tmp_path)
    env.update(ARGUS_TOKEN_ID="vmonly@pve!tui", ARGUS_TOKEN_SECRET="vmonly-secret")
    result = run(["storage"], env, tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == (
        "(no storages visible: the token needs Datastore.Audit on /storage)"
    )
    assert json.loads(run(["storage", "--json"], env, tmp_path).stdout) == []
    one_clear_line(
        run(["storage", "content", "local"], env, tmp_path), 1, "no storage 'local' visible"
    )


# -- content --------------------------------------------------------------------------


def test_backups_of_one_guest(sim: Simulator, tmp_path: Path) -> None:
    args = ["storage", "content", "backup-nfs", "--vmid", "101", "--json"]
    data = as_json(sim, tmp_path, args, "limited")  # PVEDatastoreUser on backup-nfs
    # 101's own ACL gives the limited token no VM.Backup on it: Proxmox hides them
    assert data == []
    data = as_json(sim, tmp_path, args)
    assert all(set(v) == VOLUME_KEYS for v in data) and len(data) == 8
    assert [v["ctime"] for v in data] == sorted((v["ctime"] for v in data), reverse=True)
    assert all(v["vmid"] == 101 and v["content"] == "backup" for v in data)
    assert all(v["volid"].startswith("backup-nfs:backup/vzdump-qemu-101-") for v in data)
    assert all(v["format"] == "vma.zst" and v["size"] > 0 for v in data)
    assert [v["notes"] for v in data] == [f"nightly {d}" for d in range(7)] + ["golden"]
    assert [v["protected"] for v in data] == [False] * 7 + [True]
    assert data[0]["ctime"] == int(FROZEN_EPOCH - 3600)
    assert data[-1]["ctime"] == int(FROZEN_EPOCH - 20 * DAY)


def test_content_table(sim: Simulator, tmp_path: Path) -> None:
    result = run(["storage", "content", "backup-nfs"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["VOLID", "GUEST", "TIME", "SIZE", "NOTES", "PROTECTED"]
    backups = [r for r in rows if ":backup/" in r]
    assert len(backups) == 8 + 3 + 2  # 101, 102, 103
    golden = next(r for r in rows if "golden" in r)
    assert "web01 (101)" in golden and golden.endswith("yes")
    nightly = next(r for r in rows if "cache01 (103)" in r)
    assert nightly.split()[-2:] == ["nightly", "0"]  # not protected: nothing after the notes
    isos = [r for r in rows if ":iso/" in r]
    assert isos and all(r.split()[1] == "-" for r in isos)


@pytest.mark.parametrize(
    ("args", "volids"),
    [
        (["--content", "iso"], ":iso/"),
        (["--content", "backup", "--vmid", "103"], ":backup/vzdump-lxc-103-"),
    ],
)
def test_content_filters(sim: Simulator, tmp_path: Path, args: list[str], volids: str) -> None:
    data = as_json(sim, tmp_path, ["storage", "content", "backup-nfs", *args, "--json"])
    assert data and all(volids in v["volid"] for v in data)


def test_a_local_storage_on_each_node(sim: Simulator, tmp_path: Path) -> None:
    for node in ("pve-a", "pve-b"):
        args = ["storage", "content", "local", "--node", node, "--json"]
        data = as_json(sim, tmp_path, args)
        assert data and all(v["volid"].startswith("local:") for v in data)
    result = run(
        ["storage", "content", "local", "--node", "pve-z"], env_for(sim, tmp_path), tmp_path
    )
    one_clear_line(result, 1, "no storage 'local' visible to this token on pve-z")


def test_the_auditor_is_told_why_no_backup_is_listed(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, "auditor")
    result = run(["storage", "content", "backup-nfs", "--content", "backup"], env, tmp_path)
    assert result.returncode == 0
    assert result.stdout == "(nothing on backup-nfs that this token may see)\n"
    line = one_clear_line(result, 0, "backups on backup-nfs are not listed")
    assert "Datastore.AllocateSpace on /storage/backup-nfs" in line and "VM.Backup" in line
    # the ISOs are listed; backups are hidden without a word from Proxmox, so Argus warns
    isos = run(["storage", "content", "backup-nfs", "--json"], env, tmp_path)
    assert [v["content"] for v in json.loads(isos.stdout)] == ["iso", "iso"]
    assert "are not listed" in isos.stderr


def test_unknown_storage_and_content(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    one_clear_line(run(["storage", "content", "nope"], env, tmp_path), 1, "no storage 'nope'")
    bad = run(["storage", "content", "local", "--content", "films"], env, tmp_path)
    one_clear_line(bad, 2, "invalid choice: 'films'")


def test_connection_flags_work_on_the_subcommand(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    token = env.pop("ARGUS_TOKEN_ID")
    assert token == TOKENS["root"] and env["ARGUS_TOKEN_SECRET"] == secret_of(token)
    args = ["storage", "content", "local", "--token-id", token, "--json"]
    assert json.loads(run(args, env, tmp_path).stdout)
