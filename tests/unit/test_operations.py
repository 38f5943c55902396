"""The pure rules behind snapshots, backups and storage: trees, names, who may do what."""

from __future__ import annotations

import pytest

from argus_tui.domain.models import Guest, Privileges
from argus_tui.domain.operations import allowed_operations, backup_storages, why_not
from argus_tui.domain.snapshots import GuestSnapshot, SnapshotTree, config_disks, name_problem
from argus_tui.domain.storage import Storage, volume_can_snapshot
from argus_tui.pve.mapping import resources_from
from argus_tui.pve.ops_mapping import snapshot_tree_from, volumes_from

WEB = Guest(vmid=101, type="qemu", node="pve-a", status="running", name="web01")
NFS = Storage("backup-nfs", "pve-a", "nfs", ("backup", "iso"), True, 10, 100, "available")
ARCHIVE = Storage("archive", "pve-a", "nfs", ("backup",), True, 1, 100, "available")
LVM = Storage("local-lvm", "pve-a", "lvmthin", ("images", "rootdir"), False, 1, 9, "available")


def privs(**paths: list[str]) -> Privileges:
    """Paths as keyword names: vms_101 -> /vms/101, root -> /."""
    out = {}
    for name, held in paths.items():
        path = "/" if name == "root" else "/" + name.replace("__", "-").replace("_", "/")
        out[path] = {p: True for p in held}
    return Privileges(out)


def test_a_tree_is_built_from_parents_whatever_the_order() -> None:
    items = [
        {"name": "c", "parent": "b", "snaptime": 30},
        {"name": "a", "snaptime": 10},
        {"name": "current", "parent": "c", "running": 1, "digest": "x"},
        {"name": "b", "parent": "a", "snaptime": 20},
        {"name": "side", "parent": "a", "snaptime": 25, "snapstate": "prepare"},
    ]
    tree, problems = snapshot_tree_from(items)
    assert problems == []
    walked = [(depth, s.name) for depth, s in tree.walk()]
    assert walked == [(0, "a"), (1, "b"), (2, "c"), (3, "current"), (1, "side")]
    assert tree.current is not None and tree.current.running
    assert tree.get("side") is not None and not tree.get("side").complete  # type: ignore[union-attr]
    assert tree.latest is not None and tree.latest.name == "c"


def test_an_unknown_parent_or_a_cycle_loses_nothing() -> None:
    # an edited capture: parents that name no snapshot; and a cycle in bad data
    tree, _ = snapshot_tree_from(
        [
            {"name": "s1", "parent": "gone"},
            {"name": "x", "parent": "y"},
            {"name": "y", "parent": "x"},
            {"name": "current", "parent": "nowhere"},
        ]
    )
    names = [s.name for _, s in tree.walk()]
    assert sorted(names) == ["current", "s1", "x", "y"]


def test_malformed_snapshot_entries_are_skipped_and_said() -> None:
    tree, problems = snapshot_tree_from([{"name": ""}, "junk", {"name": "ok", "snaptime": "12"}])
    assert [s.name for s in tree.snapshots] == ["ok"] and tree.snapshots[0].snaptime == 12
    assert len(problems) == 2


@pytest.mark.parametrize(
    ("name", "gtype", "bad"),
    [
        ("pre-upgrade", "qemu", False),
        ("a1", "lxc", False),
        ("a", "qemu", True),  # at least two characters
        ("1abc", "qemu", True),  # a letter first
        ("with space", "qemu", True),
        ("x" * 41, "qemu", True),
        ("current", "lxc", True),
        ("PENDING", "qemu", True),
        ("pending", "lxc", False),
        ("vzdump", "lxc", True),
        ("vzdump", "qemu", False),
    ],
)
def test_snapshot_names_follow_pve(name: str, gtype: str, bad: bool) -> None:
    assert (name_problem(name, gtype) is not None) is bad


def test_disks_of_a_config() -> None:
    config = {
        "scsi0": "local-lvm:vm-101-disk-0,iothread=1,size=32G",
        "ide2": "local:iso/debian.iso,media=cdrom",
        "efidisk0": "nfs-raw:101/vm-101-disk-1.raw,size=4M",
        "net0": "virtio=AA:BB,bridge=vmbr0",
        "unused0": "local-lvm:vm-101-disk-9",
        "ide0": "none,media=cdrom",
    }
    assert config_disks(config) == [
        ("scsi0", "local-lvm", "vm-101-disk-0"),
        ("efidisk0", "nfs-raw", "101/vm-101-disk-1.raw"),
    ]
    assert config_disks({"rootfs": "local-zfs:subvol-103-disk-0,size=8G"}) == [
        ("rootfs", "local-zfs", "subvol-103-disk-0")
    ]


def test_which_volumes_can_snapshot() -> None:
    assert volume_can_snapshot("lvmthin", "vm-1-disk-0")
    assert volume_can_snapshot("zfspool", "subvol-1-disk-0")
    assert not volume_can_snapshot("nfs", "1/vm-1-disk-0.raw")
    assert volume_can_snapshot("nfs", "1/vm-1-disk-0.qcow2")
    assert not volume_can_snapshot("lvm", "vm-1-disk-0")
    assert volume_can_snapshot(None, "whatever")  # unknown: the server decides


def test_why_not_names_the_privilege_and_path() -> None:
    nothing = privs(vms=["VM.Audit"])
    denial = why_not("snapshot", WEB, nothing)
    assert denial is not None and denial.permission
    assert denial.text == "needs VM.Snapshot on /vms/101"
    rollback = why_not("rollback", WEB, nothing)
    assert rollback is not None and "VM.Snapshot or VM.Snapshot.Rollback" in rollback.text
    assert why_not("rollback", WEB, privs(vms_101=["VM.Snapshot.Rollback"])) is None
    assert why_not("snapshot", WEB, privs(vms=["VM.Snapshot"]), read_only=True) is not None


def test_state_that_forbids_a_snapshot() -> None:
    held = privs(vms=["VM.Snapshot", "VM.Backup"])
    template = Guest(vmid=9000, type="qemu", node="pve-a", status="stopped", template=True)
    locked = Guest(vmid=105, type="qemu", node="pve-a", status="running", lock="backup")
    assert "template" in why_not("snapshot", template, held).text  # type: ignore[union-attr]
    locked_why = why_not("snapshot", locked, held)
    assert locked_why is not None and "locked (backup)" in locked_why.text
    assert not locked_why.permission


def test_backup_needs_a_storage_with_allocate_space() -> None:
    storages = (NFS, ARCHIVE, LVM)
    only_vm = privs(vms=["VM.Backup"])
    denial = why_not("backup", WEB, only_vm, storages=storages)
    assert denial is not None and denial.privilege == "Datastore.AllocateSpace"
    assert "archive, backup-nfs" in denial.text
    one = privs(vms=["VM.Backup"], storage_backup__nfs=["Datastore.AllocateSpace"])
    assert why_not("backup", WEB, one, storages=storages) is None
    assert backup_storages(storages, one, "pve-a") == [NFS]
    assert backup_storages(storages, one, "pve-b") == []  # NFS as seen from pve-a only
    no_storage = why_not("backup", WEB, one, storages=(LVM,))
    assert no_storage is not None and "no storage on pve-a takes backups" in no_storage.text
    assert allowed_operations(WEB, one, storages) == ("backup",)


def test_storages_come_from_cluster_resources() -> None:
    found = resources_from(
        [
            {"id": "node/pve-a", "type": "node", "node": "pve-a", "status": "online"},
            {
                "id": "storage/pve-a/backup-nfs",
                "type": "storage",
                "storage": "backup-nfs",
                "node": "pve-a",
                "plugintype": "nfs",
                "content": "backup,iso",
                "shared": 1,
                "disk": "600",
                "maxdisk": 2000,
                "status": "available",
            },
            {"id": "storage/pve-b/local", "type": "storage", "status": "unknown"},
            {"id": "storage/broken", "type": "storage"},
        ]
    )
    first, second = found.storages
    assert first == Storage(
        "backup-nfs", "pve-a", "nfs", ("backup", "iso"), True, 600, 2000, "available"
    )
    assert (second.storage, second.node, second.active) == ("local", "pve-b", False)
    assert len(found.problems) == 1 and "storage entry" in found.problems[0]


def test_volumes_tolerate_what_pve_versions_send() -> None:
    volumes, problems = volumes_from(
        [
            {"volid": "nfs:backup/vzdump-qemu-101-2026_05_01-02_00_03.vma.zst", "size": "10",
             "ctime": 5, "vmid": "101", "protected": 1, "notes": "first\nsecond"},
            {"volid": "local:iso/debian.iso", "format": "iso", "approximate-size": 99},
            {"volid": "no-colon"},
            None,
        ]
    )  # fmt: skip
    backup, iso = volumes
    assert (backup.content, backup.size, backup.vmid, backup.protected) == ("backup", 10, 101, True)
    assert backup.notes == "first" and backup.storage == "nfs"
    assert (iso.content, iso.size, iso.protected) == ("iso", 99, False)
    assert len(problems) == 2


def test_current_is_not_a_snapshot() -> None:
    tree = SnapshotTree((GuestSnapshot("a"),), GuestSnapshot("current", parent="a", current=True))
    assert tree.get("current") is None
