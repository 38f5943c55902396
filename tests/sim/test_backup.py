"""vzdump through the real HTTPS simulator: jobs, their lock, modes, archives and pruning."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests
from proxmoxer import ResourceException
from tests.conftest import ca_file_for, client_for

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]


def status(pve: Any, upid: str) -> dict[str, Any]:
    answer: dict[str, Any] = pve.nodes(UPID.parse(upid).node).tasks(upid).status.get()
    return answer


def finish(sim: Simulator, pve: Any, upid: str, step: float = 5) -> dict[str, Any]:
    for _ in range(100):
        if status(pve, upid)["status"] == "stopped":
            return status(pve, upid)
        sim.advance(step)
    raise AssertionError(f"{upid} did not finish")


def log(pve: Any, upid: str) -> list[str]:
    node = UPID.parse(upid).node
    return [line["t"] for line in pve.nodes(node).tasks(upid).log.get(limit=0)]


def backups(pve: Any, vmid: int, node: str = "pve-a", storage: str = "nas-backup") -> list[Any]:
    items: list[dict[str, Any]] = (
        pve.nodes(node).storage(storage).content.get(content="backup", vmid=vmid)
    )
    return items


def guest(pve: Any, vmid: int) -> dict[str, Any]:
    entry: dict[str, Any] = next(
        r for r in pve.cluster.resources.get(type="vm") if r["vmid"] == vmid
    )
    return entry


def raw(sim: Simulator, path: str, token: tuple[str, str] | None = None, **params: Any) -> Any:
    token_id, secret = token or (sim.token_id, sim.token_secret)
    return requests.post(
        f"{sim.api_url}{path}",
        data=params,
        headers={"Authorization": f"PVEAPIToken={token_id}={secret}"},
        verify=ca_file_for(sim),
        timeout=5,
    )


# -- a job -----------------------------------------------------------------------------


def test_a_backup_locks_the_guest_and_leaves_an_archive(sim: Simulator, pve: Any) -> None:
    before = len(backups(pve, 106))
    used = pve.nodes("pve-a").storage("nas-backup").status.get()["used"]
    upid = pve.nodes("pve-a").vzdump.post(
        vmid=106,
        storage="nas-backup",
        mode="snapshot",
        compress="zstd",
        remove=0,
        **{"notes-template": "{{guestname}} on {{node}} ({{cluster}}, {{vmid}})"},
    )
    assert (UPID.parse(upid).type, UPID.parse(upid).id) == ("vzdump", "106")
    sim.advance(1)
    assert guest(pve, 106)["lock"] == "backup"
    power = pve.nodes("pve-a").qemu(106).status.shutdown.post()
    assert finish(sim, pve, power, step=1)["exitstatus"] == "VM is locked (backup)"
    assert finish(sim, pve, upid)["exitstatus"] == "OK"
    assert "lock" not in guest(pve, 106) and guest(pve, 106)["status"] == "running"
    after = backups(pve, 106)
    assert len(after) == before + 1
    newest = max(after, key=lambda v: v["ctime"])
    assert newest["notes"] == "k8s-cp-1 on pve-a (acme-prod, 106)"
    assert newest["format"] == "vma.zst" and "protected" not in newest
    assert newest["volid"].startswith("nas-backup:backup/vzdump-qemu-106-")
    lines = log(pve, upid)
    assert lines[0] == (
        "INFO: starting new backup job: vzdump 106 --compress zstd --mode snapshot --node pve-a"
        " --notes-template '{{guestname}} on {{node}} ({{cluster}}, {{vmid}})' --remove 0"
        " --storage nas-backup"
    )
    assert lines[-2:] == ["INFO: Backup job finished successfully", "TASK OK"]
    assert (
        f"INFO: creating vzdump archive '/mnt/pve/nas-backup/dump/{newest['volid'].split('/')[-1]}'"
        in lines
    )
    grown = pve.nodes("pve-a").storage("nas-backup").status.get()["used"]
    assert grown == used + newest["size"]


@pytest.mark.parametrize(
    ("compress", "ext"),
    [(None, "vma"), ("0", "vma"), ("lzo", "vma.lzo"), ("gzip", "vma.gz"), ("zstd", "vma.zst")],
)
def test_archives_are_named_by_their_compression(
    sim: Simulator, pve: Any, compress: str | None, ext: str
) -> None:
    params = {"compress": compress} if compress else {}
    finish(sim, pve, pve.nodes("pve-a").vzdump.post(vmid=101, storage="local", **params))
    (made,) = backups(pve, 101, storage="local")
    assert made["format"] == ext and made["volid"].endswith(f".{ext}")
    assert re.fullmatch(
        r"local:backup/vzdump-qemu-101-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\." + ext.replace(".", r"\."),
        made["volid"],
    )


def test_progress_lines_appear_over_time(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=102, storage="nas-backup")  # 500G: a while
    sim.advance(3)
    early = log(pve, upid)
    sim.advance(20)
    later = log(pve, upid)
    assert len(later) > len(early) and later[: len(early)] == early
    assert any("% (" in line for line in later) and status(pve, upid)["status"] == "running"
    assert finish(sim, pve, upid)["exitstatus"] == "OK"


def test_a_second_job_on_the_node_waits_for_the_first(sim: Simulator, pve: Any) -> None:
    first = pve.nodes("pve-a").vzdump.post(vmid=106, storage="nas-backup")
    second = pve.nodes("pve-a").vzdump.post(vmid=203, storage="nas-backup")
    elsewhere = pve.nodes("pve-b").vzdump.post(vmid=201, storage="nas-backup")
    sim.advance(2)
    assert log(pve, second) == ["INFO: trying to get global lock - waiting..."]
    assert "lock" not in guest(pve, 203)
    assert log(pve, elsewhere)[0].startswith("INFO: starting new backup job")  # its own lock
    done = finish(sim, pve, first, step=1)
    lines = log(pve, second)
    assert lines[:3] == [
        "INFO: trying to get global lock - waiting...",
        "INFO: got global lock",
        "INFO: starting new backup job: vzdump 203 --node pve-a --storage nas-backup",
    ]
    assert done["exitstatus"] == "OK" and finish(sim, pve, second)["exitstatus"] == "OK"


def test_several_guests_run_in_vmid_order_under_one_empty_id(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid="203,106,101", storage="nas-backup")
    assert UPID.parse(upid).id == ""
    finish(sim, pve, upid)
    starts = [line for line in log(pve, upid) if line.startswith("INFO: Starting Backup")]
    assert starts == [
        "INFO: Starting Backup of VM 101 (qemu)",
        "INFO: Starting Backup of VM 106 (qemu)",
        "INFO: Starting Backup of VM 203 (lxc)",
    ]


def test_guests_elsewhere_get_ok_and_no_task(sim: Simulator, pve: Any) -> None:
    before = len(sim.state.tasks)
    assert pve.nodes("pve-b").vzdump.post(vmid=106, storage="nas-backup") == "OK"
    assert len(sim.state.tasks) == before
    mixed = pve.nodes("pve-a").vzdump.post(vmid="106,201", storage="nas-backup")
    finish(sim, pve, mixed)
    assert "INFO: skip external VMs: 201" in log(pve, mixed)


def test_stop_mode_stops_and_restarts_a_container(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=203, storage="nas-backup", mode="stop")
    sim.advance(1.5)
    assert guest(pve, 203)["status"] == "stopped"
    assert finish(sim, pve, upid)["exitstatus"] == "OK"
    assert guest(pve, 203)["status"] == "running"
    lines = log(pve, upid)
    assert "INFO: stopping virtual guest" in lines and "INFO: restarting vm" in lines


def test_stopped_guests_are_backed_up_in_stop_mode(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=207, storage="nas-backup", mode="snapshot")
    finish(sim, pve, upid)
    lines = log(pve, upid)
    assert "INFO: status = stopped" in lines and "INFO: backup mode: stop" in lines
    assert guest(pve, 207)["status"] == "stopped"


def test_snapshot_mode_gives_a_container_a_temporary_vzdump_snapshot(
    sim: Simulator, pve: Any
) -> None:
    upid = pve.nodes("pve-b").vzdump.post(vmid=201, storage="nas-backup")
    sim.advance(2)
    listed = {s["name"]: s for s in pve.nodes("pve-b").lxc(201).snapshot.get()}
    assert listed["vzdump"]["parent"] == "before-nginx-1-27"
    assert listed["current"]["parent"] == "vzdump"
    create = pve.nodes("pve-b").lxc(201).snapshot.post(snapname="meanwhile")
    assert finish(sim, pve, create, step=0.5)["exitstatus"] == "CT is locked (backup)"
    finish(sim, pve, upid)
    listed = {s["name"]: s for s in pve.nodes("pve-b").lxc(201).snapshot.get()}
    assert "vzdump" not in listed and listed["current"]["parent"] == "before-nginx-1-27"
    assert "INFO: cleanup temporary 'vzdump' snapshot" in log(pve, upid)


def test_a_container_without_snapshots_falls_back_to_suspend(make_sim: MakeSim) -> None:
    data = demo_data()
    ct = next(g for g in data["guest"] if g["vmid"] == 208)
    ct["status"] = "running"  # on san-lvm, which takes no snapshots
    sim = make_sim(data)
    pve = client_for(sim)
    upid = pve.nodes("pve-b").vzdump.post(vmid=208, storage="nas-backup")
    finish(sim, pve, upid)
    lines = log(pve, upid)
    assert "INFO: mode failure - some volumes do not support snapshots" in lines
    assert "INFO: backup mode: suspend" in lines


# -- pruning and protection ------------------------------------------------------------


def test_remove_prunes_by_the_storage_retention(sim: Simulator, pve: Any) -> None:
    # nas-backup keeps keep-daily=7,keep-weekly=4: today's nightly backup is replaced.
    before = {b["volid"] for b in backups(pve, 106)}
    upid = pve.nodes("pve-a").vzdump.post(vmid=106, storage="nas-backup")
    finish(sim, pve, upid)
    after = {b["volid"] for b in backups(pve, 106)}
    (removed,) = before - after
    (added,) = after - before
    lines = log(pve, upid)
    assert "INFO: prune older backups with retention: keep-daily=7, keep-weekly=4" in lines
    assert f"INFO: removing backup '{removed}'" in lines
    assert "INFO: pruned 1 backup(s) not covered by keep-retention policy" in lines
    assert added.startswith("nas-backup:backup/vzdump-qemu-106-")


def test_keep_last_from_the_request(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(
        vmid=102, storage="nas-backup", **{"prune-backups": "keep-last=2"}
    )
    finish(sim, pve, upid)
    left = backups(pve, 102)
    assert len([b for b in left if not b.get("protected")]) == 2
    assert len([b for b in left if b.get("protected")]) == 1  # never pruned


def test_remove_0_hits_the_retention_limit(make_sim: MakeSim) -> None:
    data = demo_data()
    data["storage"][2]["prune_backups"] = "keep-last=3"
    sim = make_sim(data)
    pve = client_for(sim)
    upid = pve.nodes("pve-a").vzdump.post(vmid=106, storage="nas-backup", remove=0)
    assert finish(sim, pve, upid)["exitstatus"] == "job errors"
    lines = log(pve, upid)
    assert lines[-4:] == [
        "ERROR: Backup of VM 106 failed - There is a max backup limit of 3 enforced by the"
        " target storage or the vzdump parameters. Either increase the limit or delete old"
        " backups.",
        lines[-3],
        "INFO: Backup job finished with errors",
        "TASK ERROR: job errors",
    ]
    assert lines[-3].startswith("INFO: Failed at ")


def test_protected_backups_refuse_deletion(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=106, storage="nas-backup", protected=1)
    finish(sim, pve, upid)
    assert "INFO: marking backup as protected" in log(pve, upid)
    newest = max(backups(pve, 106), key=lambda v: v["ctime"])
    assert newest["protected"] == 1
    content = pve.nodes("pve-a").storage("nas-backup").content(quote(newest["volid"], safe=""))
    deletion = content.delete()
    assert UPID.parse(deletion).type == "imgdel" and UPID.parse(deletion).id == "106@nas-backup"
    name = newest["volid"].split(":", 1)[1]
    error = f"cannot remove protected volume '{name}' on 'nas-backup'"
    assert finish(sim, pve, deletion, step=1)["exitstatus"] == error
    content.put(protected=0)
    assert finish(sim, pve, content.delete(), step=1)["exitstatus"] == "OK"
    assert newest["volid"] not in {b["volid"] for b in backups(pve, 106)}


# -- failures --------------------------------------------------------------------------


def test_a_storage_without_backup_content_fails_the_task(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=106, storage="local-lvm")
    error = (
        "could not get storage information for 'local-lvm': can't use storage 'local-lvm'"
        " for backups - wrong content type"
    )
    assert finish(sim, pve, upid, step=1)["exitstatus"] == error
    assert log(pve, upid) == [f"TASK ERROR: {error}"]


def test_unknown_vmids_fail_visibly(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=4242, storage="nas-backup")
    assert finish(sim, pve, upid)["exitstatus"] == "job errors"
    assert "ERROR: Backup of VM 4242 failed - unable to find VM '4242'" in log(pve, upid)


def test_ha_guests_refuse_stop_mode(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=100, storage="nas-backup", mode="stop")
    assert finish(sim, pve, upid)["exitstatus"] == "job errors"
    assert (
        "ERROR: Backup of VM 100 failed - Cannot execute a backup with stop mode on a HA managed"
        " and enabled Service. Use snapshot mode or disable the Service." in log(pve, upid)
    )


def test_a_locked_guest_fails_its_backup(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-b").vzdump.post(vmid=104, storage="nas-backup")
    assert finish(sim, pve, upid)["exitstatus"] == "job errors"
    assert "ERROR: Backup of VM 104 failed - VM is locked (backup)" in log(pve, upid)


def test_killing_a_job_puts_the_guest_back(sim: Simulator, pve: Any) -> None:
    upid = pve.nodes("pve-a").vzdump.post(vmid=203, storage="nas-backup", mode="stop")
    sim.advance(2)
    assert guest(pve, 203)["status"] == "stopped"
    pve.nodes("pve-a").tasks(upid).delete()
    assert status(pve, upid)["exitstatus"] == "interrupted by signal"
    assert guest(pve, 203)["status"] == "running" and "lock" not in guest(pve, 203)
    assert log(pve, upid)[-2:] == [
        "ERROR: Backup job failed - interrupted by signal",
        "TASK ERROR: interrupted by signal",
    ]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({}, {"vmid": "property is missing"}),
        ({"vmid": "106", "all": "1"}, {"all": "option conflicts with option 'vmid'"}),
        (
            {"vmid": "106", "stdout": "1"},
            {"stdout": "option is only allowed on the command line interface."},
        ),
        ({"vmid": "106", "tmpdir": "/tmp"}, {"tmpdir": "Only root may set this option."}),
        ({"vmid": "1x"}, {"vmid": "invalid format - value does not look like a valid VM ID\n"}),
        (
            {"vmid": "106", "mode": "fast"},
            {
                "mode": "value 'fast' does not have a value in the enumeration"
                " 'snapshot, suspend, stop'"
            },
        ),
    ],
)
def test_parameter_errors(sim: Simulator, params: dict[str, str], errors: dict[str, str]) -> None:
    answer = raw(sim, "/nodes/pve-a/vzdump", **params)
    assert (answer.status_code, answer.json().get("errors")) == (400, errors)


# -- privileges ------------------------------------------------------------------------


def _operator(make_sim: MakeSim, roles: dict[str, str]) -> Simulator:
    """The demo plus `op@pve!tt` holding `roles` ({path: role})."""
    data = demo_data()
    data["role"] = [{"id": "SpaceOnly", "privs": ["Datastore.AllocateSpace"]}]
    data["user"].append({"id": "op@pve"})
    data["token"].append({"id": "op@pve!tt", "secret": "op-secret", "privsep": False})
    data["acl"] += [{"path": p, "subject": "op@pve", "role": r} for p, r in roles.items()]
    return make_sim(data)


OP = ("op@pve!tt", "op-secret")


def test_allocate_space_is_checked_before_the_task(make_sim: MakeSim) -> None:
    sim = _operator(make_sim, {"/vms": "PVEVMUser"})
    before = len(sim.state.tasks)
    answer = raw(sim, "/nodes/pve-a/vzdump", OP, vmid=106, storage="nas-backup")
    reason = "Permission check failed (/storage/nas-backup, Datastore.AllocateSpace)"
    assert (answer.status_code, answer.reason) == (403, reason)
    assert len(sim.state.tasks) == before
    elsewhere = raw(sim, "/nodes/pve-b/vzdump", OP, vmid=106, storage="nas-backup")
    assert elsewhere.json()["data"] == "OK"  # the silent exit comes first


def test_vm_backup_is_checked_in_the_task(make_sim: MakeSim) -> None:
    sim = _operator(make_sim, {"/storage/nas-backup": "SpaceOnly", "/vms/106": "PVEVMUser"})
    pve = client_for(sim, *OP)
    upid = pve.nodes("pve-a").vzdump.post(vmid="106,203", storage="nas-backup")
    error = "Permission check failed (/vms/203, VM.Backup)"
    assert finish(sim, pve, upid, step=1)["exitstatus"] == error
    assert log(pve, upid)[0].startswith("INFO: starting new backup job: vzdump 106 203")
    assert "lock" not in guest(client_for(sim), 106)  # nothing was backed up


def test_the_pve_auditor_sees_no_backups(make_sim: MakeSim) -> None:
    sim = _operator(make_sim, {"/": "PVEAuditor"})
    pve = client_for(sim, *OP)
    content = pve.nodes("pve-a").storage("nas-backup").content.get()
    assert {item["content"] for item in content} == {"iso"}
    with pytest.raises(ResourceException) as err:
        pve.nodes("pve-a").vzdump.post(vmid=106, storage="nas-backup")
    assert err.value.status_code == 403
