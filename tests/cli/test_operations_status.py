"""What `argus status` and `argus doctor` say about snapshots and backups, per token of
tests/ops_scenario.py, through the real binary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.ops_helpers import env_for, run
from tests.conftest import FROZEN_EPOCH
from tests.ops_scenario import TOKENS, ops_scenario

from argus_tui.sim import certs
from argus_tui.sim.scenario import scenario_from_dict
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock

RUNNING_VM = ["shutdown", "stop", "reboot", "reset", "suspend", "hibernate"]
RUNNING_CT = ["shutdown", "stop", "reboot", "suspend"]
BOTH = ["snapshot", "backup"]

# vmid -> allowed_actions, per token
ALLOWED: dict[str, dict[int, list[str]]] = {
    "root": {
        101: [*RUNNING_VM, *BOTH],
        102: [*RUNNING_VM, *BOTH],  # its disk cannot snapshot: `snapshot create` says so
        103: [*RUNNING_CT, *BOTH],
        104: ["start", *BOTH],
        105: [],  # locked by a backup
        9000: ["backup"],  # a template: backed up, never snapshotted
    },
    # SnapshotOnly on /vms/101 replaces BackupOnly from /vms for that guest
    "limited": {
        101: ["snapshot"],
        102: ["backup"],
        103: ["backup"],
        104: ["backup"],
        105: [],
        9000: ["backup"],
    },
    "nobackup": {vmid: [] for vmid in (101, 102, 103, 104, 105, 9000)},
    "auditor": {vmid: [] for vmid in (101, 102, 103, 104, 105, 9000)},
}
# root may also migrate every guest that is not locked or a template (to pve-b or pve-a);
# the operator's role has no VM.Migrate.
ALLOWED["operator"] = {vmid: list(actions) for vmid, actions in ALLOWED["root"].items()}
for _vmid in (101, 102, 103, 104):
    ALLOWED["root"][_vmid] = [*ALLOWED["root"][_vmid], "migrate"]
# root may open the console of every running guest, a locked one included (a lock stops
# tasks, not the console); the operator's role has no VM.Console.
for _vmid in (101, 102, 103, 105):
    ALLOWED["root"][_vmid] = [*ALLOWED["root"][_vmid], "console"]


@pytest.fixture(scope="module")
def sim(cert_bundle: certs.CertBundle) -> Iterator[Simulator]:
    """One simulator for the module: these tests only read."""
    clock = SimClock(FROZEN_EPOCH, frozen=True)
    scenario = scenario_from_dict(ops_scenario())
    server = Simulator(scenario, port=0, clock=clock, bundle=cert_bundle).start()
    yield server
    server.stop()


@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_allowed_actions(sim: Simulator, tmp_path: Path, who: str) -> None:
    result = run(["status", "--json"], env_for(sim, tmp_path, who), tmp_path)
    assert result.returncode == 0, result.stderr
    got = {g["vmid"]: g["allowed_actions"] for g in json.loads(result.stdout)["guests"]}
    assert got == ALLOWED[who]


def test_status_text_lists_them(sim: Simulator, tmp_path: Path) -> None:
    result = run(["status", "--no-history"], env_for(sim, tmp_path, "limited"), tmp_path)
    assert result.returncode == 0
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line[:6].strip()}
    assert rows["101"].endswith("  snapshot") and rows["102"].endswith("  backup")
    assert rows["105"].endswith("1.0G  ")  # locked: no action at all


def doctor(sim: Simulator, tmp_path: Path, who: str) -> dict[str, Any]:
    result = run(["doctor", "--json"], env_for(sim, tmp_path, who), tmp_path)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def features(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for entry in report["features"]:
        key = entry["feature"]
        if key == "backup_storage":
            key += ":" + entry["path"].removeprefix("/storage/")
        out[key] = entry
    return out


def test_doctor_for_the_limited_token(sim: Simulator, tmp_path: Path) -> None:
    found = features(doctor(sim, tmp_path, "limited"))
    token = TOKENS["limited"]
    snapshot, rollback, backup = found["snapshot"], found["rollback"], found["backup"]
    assert (snapshot["ok"], snapshot["privilege"], snapshot["path"]) == (
        False,
        "VM.Snapshot",
        "/vms",
    )
    assert snapshot["grant"] == f"pveum acl modify /vms --tokens '{token}' --roles ArgusOperator"
    assert snapshot["held_on"] == ["/vms/101"] and rollback["held_on"] == ["/vms/101"]
    assert rollback["privilege"] == "VM.Snapshot.Rollback or VM.Snapshot"
    assert backup["ok"] and backup["except_on"] == ["/vms/101"] and backup["grant"] is None
    assert [k for k in found if k.startswith("backup_storage")] == [
        "backup_storage:archive-nfs",
        "backup_storage:backup-nfs",
        "backup_storage:local",
    ]
    assert found["backup_storage:backup-nfs"]["ok"]
    archive = found["backup_storage:archive-nfs"]
    assert (archive["ok"], archive["privilege"]) == (False, "Datastore.AllocateSpace")
    assert archive["grant"] == (
        f"pveum acl modify /storage/archive-nfs --tokens '{token}' --roles PVEDatastoreUser"
    )


def test_doctor_text_for_the_limited_token(sim: Simulator, tmp_path: Path) -> None:
    result = run(["doctor"], env_for(sim, tmp_path, "limited"), tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert "  [ok] Backups of guests (except on /vms/101)" in lines
    assert "  [ok] Backups: write to backup-nfs" in lines
    snapshot = next(line for line in lines if "Snapshots: take and delete" in line)
    assert snapshot.startswith("  [NO] ") and snapshot.endswith("(held on /vms/101 only)")
    archive = next(line for line in lines if "write to archive-nfs" in line)
    assert "needs Datastore.AllocateSpace on /storage/archive-nfs; grant with: pveum" in archive
    roles = lines[lines.index("Recommended roles (pveum on a node):") + 1 :]
    assert any("SnapshotOnly" in line and "VM.Snapshot.Rollback" in line for line in roles)
    assert any("ArgusOperator" in line and "VM.Backup" in line for line in roles)


@pytest.mark.parametrize(
    ("who", "ok"),
    [
        ("operator", {"snapshot", "rollback", "backup", "archive-nfs", "backup-nfs", "local"}),
        ("nobackup", {"backup"}),
        ("auditor", set()),
    ],
)
def test_doctor_per_token(sim: Simulator, tmp_path: Path, who: str, ok: set[str]) -> None:
    found = features(doctor(sim, tmp_path, who))
    ops = {k: v for k, v in found.items() if k in ("snapshot", "rollback", "backup")}
    ops |= {k.partition(":")[2]: v for k, v in found.items() if k.startswith("backup_storage")}
    assert {k for k, v in ops.items() if v["ok"]} == ok
    assert all((v["grant"] is None) == v["ok"] for v in ops.values())
