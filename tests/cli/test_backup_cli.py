"""`argus backup` through the real binary, against the simulator of tests/ops_scenario.py.

Note the limited token: an ACL on /vms/101 (SnapshotOnly) replaces, for that guest, what
/vms grants (BackupOnly), as in Proxmox; so it may back up every guest but 101.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import one_clear_line
from tests.cli.ops_helpers import env_for, journal, row_of, run, run_advancing
from tests.ops_scenario import TOKENS, ops_scenario

from argus_tui.sim.server import Simulator

VOLUME = re.compile(r"^  (backup-nfs:backup/vzdump-(qemu|lxc)-(\d+)-[\d_-]+\.(vma|tar)\.zst) \(")


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(ops_scenario())


def backups(sim: Simulator, tmp_path: Path, vmid: int, storage: str = "backup-nfs") -> list[Any]:
    args = ["storage", "content", storage, "--vmid", str(vmid), "--json"]
    result = run(args, env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    data: list[Any] = json.loads(result.stdout)
    return data


def test_backup_waits_and_the_volume_is_listed(sim: Simulator, tmp_path: Path) -> None:
    before = backups(sim, tmp_path, 102)
    args = ["backup", "102", "--wait", "--notes", "{{guestname}} before the fix"]
    result = run_advancing(sim, args, env_for(sim, tmp_path, "limited"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    upid, done, volume = result.stdout.splitlines()
    assert f":vzdump:102:{TOKENS['limited']}:" in upid and upid.startswith("UPID:pve-a:")
    assert done == "Backup db01 (102) to backup-nfs: OK"  # the one storage it may use
    match = VOLUME.match(volume)
    assert match is not None and match.group(2, 3) == ("qemu", "102"), volume
    after = backups(sim, tmp_path, 102)
    [made] = [v for v in after if v not in before]
    assert after[0] == made  # newest first
    assert made["volid"] == match.group(1)
    assert (made["notes"], made["content"], made["vmid"], made["protected"]) == (
        "db01 before the fix",
        "backup",
        102,
        False,
    )
    [row] = journal(tmp_path)
    assert row_of(row) == (102, "backup", "backup-nfs", "OK")
    assert (row["upid"], row["token_id"]) == (upid, TOKENS["limited"])


def test_guests_of_two_nodes_are_two_tasks(sim: Simulator, tmp_path: Path) -> None:
    args = ["backup", "101", "102", "103", "--storage", "backup-nfs", "--mode", "stop", "--wait"]
    result = run_advancing(sim, args, env_for(sim, tmp_path), tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    first, second = lines[:2]
    assert first.startswith("UPID:pve-a:") and ":vzdump::" in first  # two guests: no id
    assert second.startswith("UPID:pve-b:") and ":vzdump:103:" in second
    done = [line for line in lines[2:] if not line.startswith("  ")]
    assert done == [
        "Backup web01 (101) to backup-nfs: OK",
        "Backup db01 (102) to backup-nfs: OK",
        "Backup cache01 (103) to backup-nfs: OK",
    ]
    made = [VOLUME.match(line) for line in lines if line.startswith("  ")]
    assert [(m.group(2), m.group(3)) for m in made if m] == [
        ("qemu", "101"),
        ("qemu", "102"),
        ("lxc", "103"),
    ]
    rows = journal(tmp_path)
    assert [row_of(r) for r in rows] == [
        (101, "backup", "backup-nfs", "OK"),
        (102, "backup", "backup-nfs", "OK"),
        (103, "backup", "backup-nfs", "OK"),
    ]
    assert rows[0]["upid"] == rows[1]["upid"] == first and rows[2]["upid"] == second
    assert sim.state.guests[101].status == "running"  # stop mode starts it again


def test_without_wait_one_upid_per_node_journaled_as_sent(sim: Simulator, tmp_path: Path) -> None:
    before = set(sim.state.tasks)
    args = ["backup", "102", "104", "--storage", "local"]
    result = run(args, env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    upids = result.stdout.splitlines()
    assert set(sim.state.tasks) - before == set(upids) and len(upids) == 2
    assert [row_of(r) for r in journal(tmp_path)] == [
        (102, "backup", "local", "sent; task not followed"),
        (104, "backup", "local", "sent; task not followed"),
    ]


# -- refusals before anything is sent ---------------------------------------------------

REFUSALS: list[tuple[list[str], str, int, list[str]]] = [
    (["101"], "auditor", 4, ["cannot back up web01 (101): needs VM.Backup on /vms/101"]),
    (["101"], "limited", 4, ["needs VM.Backup on /vms/101"]),
    (["102", "--storage", "archive-nfs"], "limited", 4,
     ["cannot back up to archive-nfs: needs Datastore.AllocateSpace on /storage/archive-nfs"]),
    (["102"], "nobackup", 4,
     ["cannot back up db01 (102): needs Datastore.AllocateSpace on a backup storage",
      "archive-nfs, backup-nfs, local"]),
    (["102"], "root", 2,
     ["more than one backup storage may be used: archive-nfs, backup-nfs, local",
      "choose one with --storage ID"]),
    (["102", "--storage", "local-lvm"], "root", 2,
     ["storage local-lvm does not take backups (it holds images, rootdir)"]),
    (["102", "--storage", "nope"], "root", 1, ["no storage 'nope' visible to this token"]),
    (["105", "--storage", "backup-nfs"], "root", 1,
     ["cannot back up locked01 (105): it is locked (backup)"]),
    (["101", "105", "--storage", "backup-nfs"], "root", 1, ["locked01 (105)", "locked"]),
    (["999"], "root", 1, ["no guest 999 visible"]),
    (["102", "--mode", "hot"], "root", 2, ["invalid choice: 'hot'"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "who", "code", "texts"), REFUSALS)
def test_refusals_send_nothing(
    sim: Simulator, tmp_path: Path, args: list[str], who: str, code: int, texts: list[str]
) -> None:
    before = set(sim.state.tasks)
    result = run(["backup", *args], env_for(sim, tmp_path, who), tmp_path)
    one_clear_line(result, code, *texts)
    assert result.stdout == ""
    assert set(sim.state.tasks) == before and journal(tmp_path) == []


def test_a_template_may_be_backed_up(sim: Simulator, tmp_path: Path) -> None:
    args = ["backup", "9000", "--storage", "local", "--wait"]
    result = run_advancing(sim, args, env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == "Backup tmpl-debian (9000) to local: OK"


# -- task errors --------------------------------------------------------------------------


def lab_with_a_capped_storage() -> dict[str, Any]:
    """A backup storage that keeps one backup per guest: a backup now (which never prunes)
    fails for a guest that has one, as Proxmox's vzdump does."""
    data = ops_scenario()
    data["storage"].append(
        {"id": "capped", "type": "nfs", "content": ["backup"], "shared": True, "size": "1T",
         "prune_backups": "keep-last=1"}
    )  # fmt: skip
    for guest in data["guest"]:
        if guest["vmid"] == 104:
            guest["backups"] = [{"storage": "capped", "ago": 3600}]
    return data


def test_a_failed_backup_exits_1_with_the_reason(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    """One job for both guests: it ends "job errors"; its log says which one failed, why,
    and that the other was backed up. The journal records each guest's own result."""
    sim = make_sim(lab_with_a_capped_storage())
    args = ["backup", "103", "104", "--storage", "capped", "--wait"]
    result = run_advancing(sim, args, env_for(sim, tmp_path), tmp_path)
    limit = (
        "There is a max backup limit of 1 enforced by the target storage or the vzdump"
        " parameters. Either increase the limit or delete old backups."
    )
    line = one_clear_line(result, 1)
    assert line == f"argus: backup of batch01 (104) to capped failed: {limit}"
    upid, done, volume = result.stdout.splitlines()
    assert upid.startswith("UPID:pve-b:") and ":vzdump::" in upid
    assert done == "Backup cache01 (103) to capped: OK"
    assert volume.startswith("  capped:backup/vzdump-lxc-103-")
    assert [row_of(r) for r in journal(tmp_path)] == [
        (103, "backup", "capped", "OK"),
        (104, "backup", "capped", limit),
    ]
