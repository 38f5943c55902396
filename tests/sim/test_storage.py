"""Storage through the real HTTPS simulator: storage.cfg, status, content and who sees what."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests
from proxmoxer import ResourceException
from tests.conftest import ca_file_for, client_for

from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]
WHO = ("who@pve!tt", "who-secret")


def _as(make_sim: MakeSim, acls: list[tuple[str, str]]) -> tuple[Simulator, Any]:
    """The demo with `who@pve!tt` holding `acls` ([(path, role)]); its proxmoxer client."""
    data = demo_data()
    data["role"] = [
        {"id": "SpaceOnly", "privs": ["Datastore.AllocateSpace"]},
        {"id": "AuditOnly", "privs": ["Datastore.Audit"]},
        {"id": "Backup", "privs": ["VM.Backup"]},
        {"id": "Disks", "privs": ["VM.Config.Disk"]},
    ]
    data["user"].append({"id": "who@pve"})
    data["token"].append({"id": WHO[0], "secret": WHO[1], "privsep": False})
    data["acl"] += [{"path": p, "subject": "who@pve", "role": r} for p, r in acls]
    sim = make_sim(data)
    return sim, client_for(sim, *WHO)


def _kinds(pve: Any, node: str, storage: str) -> dict[str, set[int | None]]:
    """content type -> owners of what the caller sees."""
    out: dict[str, set[int | None]] = {}
    for item in pve.nodes(node).storage(storage).content.get():
        out.setdefault(item["content"], set()).add(item.get("vmid"))
    return out


# -- storage.cfg and usage -------------------------------------------------------------


def test_storage_cfg_entries_and_filters(pve: Any) -> None:
    entries = {e["storage"]: e for e in pve.storage.get()}
    assert list(entries) == ["local", "local-lvm", "nas-backup", "san-lvm"]
    nfs = entries["nas-backup"]
    assert (nfs["type"], nfs["content"], nfs["shared"]) == ("nfs", "backup,iso", 1)
    assert nfs["prune-backups"] == "keep-daily=7,keep-weekly=4"
    assert "shared" not in entries["local-lvm"] and "nodes" not in entries["local-lvm"]
    assert len({e["digest"] for e in entries.values()}) == 1
    assert [e["storage"] for e in pve.storage.get(type="lvm")] == ["san-lvm"]
    assert pve.storage("san-lvm").get()["vgname"] == "vg-san-lvm"


def test_a_shared_storage_is_one_set_of_volumes_seen_from_every_node(pve: Any) -> None:
    per_node = {
        n: {i["volid"] for i in pve.nodes(n).storage("nas-backup").content.get()}
        for n in ("pve-a", "pve-b", "pve-c")
    }
    assert per_node["pve-a"] == per_node["pve-b"] == per_node["pve-c"]
    used = {n: pve.nodes(n).storage("nas-backup").status.get()["used"] for n in per_node}
    assert len(set(used.values())) == 1
    local = {
        n: {i["volid"] for i in pve.nodes(n).storage("local-lvm").content.get()}
        for n in ("pve-a", "pve-b")
    }
    assert not local["pve-a"] & local["pve-b"]  # a local storage holds each node's own disks
    assert "local-lvm:vm-102-disk-0" in local["pve-a"]


def test_status_of_one_storage(pve: Any) -> None:
    answer = pve.nodes("pve-b").storage("san-lvm").status.get()
    assert set(answer) == {"type", "content", "shared", "active", "enabled", "total", "used"} | {
        "avail"
    }
    assert answer["avail"] == answer["total"] - answer["used"]
    assert answer["used"] == 1.1 * 1024**4 // 1  # the scenario's `used`


def test_a_restricted_storage_exists_only_on_its_nodes(make_sim: MakeSim) -> None:
    data = demo_data()
    data["storage"].append(
        {"id": "fast", "type": "zfspool", "content": ["images"], "nodes": ["pve-c"]}
    )
    data["storage"].append(
        {"id": "ceph", "type": "cephfs", "content": ["iso"], "nodes": ["pve-a", "pve-b"]}
    )
    sim = make_sim(data)
    pve = client_for(sim)
    ceph = {r["node"] for r in pve.cluster.resources.get(type="storage") if r["storage"] == "ceph"}
    assert ceph == {"pve-a", "pve-b"}  # shared, but mounted on two nodes only
    assert pve.storage("fast").get()["nodes"] == "pve-c"
    assert "fast" in {s["storage"] for s in pve.nodes("pve-c").storage.get()}
    assert "fast" not in {s["storage"] for s in pve.nodes("pve-a").storage.get()}
    resources = [
        r["id"] for r in pve.cluster.resources.get(type="storage") if r["storage"] == "fast"
    ]
    assert resources == ["storage/pve-c/fast"]
    answer = requests.get(
        f"{sim.api_url}/nodes/pve-a/storage/fast/status",
        headers={"Authorization": f"PVEAPIToken={sim.token_id}={sim.token_secret}"},
        verify=ca_file_for(sim),
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["errors"] == {"storage": "No such storage."}
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-a").storage("fast").content.get()
    assert err.value.content == "storage 'fast' is not available on node 'pve-a'"


# -- content ---------------------------------------------------------------------------


def test_content_items_as_pve_lists_them(pve: Any) -> None:
    items = pve.nodes("pve-a").storage("nas-backup").content.get(vmid=102)
    assert len(items) == 7 and all(i["vmid"] == 102 and i["subtype"] == "qemu" for i in items)
    assert [i["volid"] for i in items] == sorted(i["volid"] for i in items)
    protected = [i for i in items if "protected" in i]
    assert [i["notes"] for i in protected] == ["before the PostgreSQL 17 upgrade - keep"]
    assert {i["notes"] for i in items if i not in protected} == {"pg-primary"}
    isos = pve.nodes("pve-a").storage("nas-backup").content.get(content="iso")
    assert {i["format"] for i in isos} == {"iso"} and all("vmid" not in i for i in isos)
    disks = pve.nodes("pve-a").storage("local-lvm").content.get(content="images", vmid=102)
    assert [d["volid"] for d in disks] == ["local-lvm:vm-102-disk-0", "local-lvm:vm-102-state-pg17"]
    info = pve.nodes("pve-a").storage("nas-backup").content(quote(items[0]["volid"], safe="")).get()
    assert info["path"].startswith("/mnt/pve/nas-backup/dump/vzdump-qemu-102-")
    assert info["protected"] in (0, 1) and info["size"] == items[0]["size"]


@pytest.mark.parametrize(
    ("acls", "expected"),
    [
        # Datastore.Allocate (PVEDatastoreAdmin) sees everything.
        (
            [("/storage", "PVEDatastoreAdmin")],
            {"backup": True, "iso": True, "images": True},
        ),
        # PVEAuditor: Datastore.Audit and VM.Audit - the call works, backups and disks
        # (which need VM.Config.Disk) stay hidden.
        ([("/", "PVEAuditor")], {"backup": False, "iso": True, "images": False}),
        # Backups need AllocateSpace on the storage AND VM.Backup on the guest.
        ([("/storage", "SpaceOnly")], {"backup": False, "iso": True, "images": False}),
        (
            [("/storage", "SpaceOnly"), ("/vms/102", "Backup")],
            {"backup": {102}, "iso": True, "images": False},
        ),
        # Disks need Datastore.Audit and VM.Config.Disk on the guest.
        (
            [("/storage", "AuditOnly"), ("/vms/106", "Disks")],
            {"backup": False, "iso": True, "images": {106}},
        ),
    ],
    ids=["allocate", "auditor", "space-only", "space-and-backup", "audit-and-disks"],
)
def test_content_visibility_per_privilege(
    make_sim: MakeSim, acls: list[tuple[str, str]], expected: dict[str, Any]
) -> None:
    _, pve = _as(make_sim, acls)
    seen = {**_kinds(pve, "pve-a", "nas-backup"), **_kinds(pve, "pve-a", "local-lvm")}
    for kind, wanted in expected.items():
        owners = seen.get(kind, set())
        if wanted is True:
            assert owners, f"{kind} should be visible"
        elif wanted is False:
            assert not owners, f"{kind} should be hidden, got {owners}"
        else:
            assert owners == wanted, kind


def test_no_storage_privilege_no_listing(make_sim: MakeSim) -> None:
    _, pve = _as(make_sim, [("/vms", "PVEVMAdmin")])
    assert pve.storage.get() == []
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-a").storage("nas-backup").content.get()
    assert err.value.status_code == 403


def test_deleting_a_backup_needs_space_and_vm_backup(make_sim: MakeSim) -> None:
    sim, pve = _as(make_sim, [("/storage", "SpaceOnly"), ("/vms/106", "Backup")])
    admin = client_for(sim)
    mine = admin.nodes("pve-a").storage("nas-backup").content.get(vmid=106)[0]["volid"]
    theirs = admin.nodes("pve-a").storage("nas-backup").content.get(vmid=101)[0]["volid"]
    content = pve.nodes("pve-a").storage("nas-backup").content
    with pytest.raises(ResourceException) as err:
        content(quote(theirs, safe="")).delete()
    assert err.value.content == "Permission check failed (/vms/101, VM.Backup)"
    with pytest.raises(ResourceException) as err:
        content(quote("nas-backup:iso/debian-13.2.0-amd64-netinst.iso", safe="")).delete()
    assert err.value.content == "Permission check failed (/storage/nas-backup, Datastore.Allocate)"
    used = admin.nodes("pve-a").storage("nas-backup").status.get()["used"]
    size = next(
        i["size"]
        for i in admin.nodes("pve-a").storage("nas-backup").content.get(vmid=106)
        if i["volid"] == mine
    )
    assert content(quote(mine, safe="")).delete(delay=5) is None  # done within the delay
    assert mine not in {
        i["volid"] for i in admin.nodes("pve-a").storage("nas-backup").content.get()
    }
    assert admin.nodes("pve-a").storage("nas-backup").status.get()["used"] == used - size


def test_notes_and_protection_can_be_changed(pve: Any) -> None:
    volid = pve.nodes("pve-a").storage("nas-backup").content.get(vmid=106)[0]["volid"]
    one = pve.nodes("pve-a").storage("nas-backup").content(quote(volid, safe=""))
    assert one.put(notes="first line\nsecond line", protected=1) is None
    (item,) = [
        i
        for i in pve.nodes("pve-a").storage("nas-backup").content.get(vmid=106)
        if i["volid"] == volid
    ]
    assert (item["notes"], item["protected"]) == ("first line", 1)
    assert one.get()["notes"] == "first line\nsecond line"
