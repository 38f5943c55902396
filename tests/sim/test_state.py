"""ClusterState's public API: tasks started, finished and stopped; state-held objects.

What the API answers comes from these objects, so a test that changes them and reads
the answer over HTTPS shows the state, not the handler, is the source of truth.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tests.conftest import FROZEN_EPOCH, client_for

from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.model import Snapshot
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import ClusterState, SimClock
from argus_tui.sim.storage import Volume


def _state() -> ClusterState:
    return ClusterState(demo_scenario(), SimClock(FROZEN_EPOCH, frozen=True))


def test_a_started_task_runs_until_its_time_then_finishes_once() -> None:
    state = _state()
    ended: list[str] = []
    task = state.start_task(
        "pve-a",
        "qmsnapshot",
        "100",
        "argus@pve!demo",
        lines=[(0.0, "first"), (4.0, "later")],
        duration=5.0,
        on_end=lambda: ended.append("done"),
    )
    assert task.key in state.tasks and state.task_order[-1] == task.key
    assert str(task.upid).startswith("UPID:pve-a:") and task.upid.starttime == int(FROZEN_EPOCH)
    assert state.cluster_log[-1]["msg"] == f"<argus@pve!demo> starting task {task.upid}"
    assert (task.finished, task.outcome, task.visible_lines(state.now())) == (
        False,
        "unknown",
        ["first"],
    )
    state.clock.advance(4.9)
    state.tick()
    assert not task.finished and ended == []
    state.clock.advance(0.1)
    state.tick()
    state.tick()
    assert (task.finished, task.exitstatus, task.endtime) == (True, "OK", int(FROZEN_EPOCH) + 5)
    assert task.visible_lines(state.now()) == ["first", "later", "TASK OK"]
    assert ended == ["done"]
    assert state.cluster_log[-1]["msg"] == f"<argus@pve!demo> end task {task.upid} OK"


def test_task_errors_and_warnings_end_the_log() -> None:
    state = _state()
    failed = state.start_task(
        "pve-a", "qmstart", "100", "root@pam", lines=[], duration=1, error="boom"
    )
    warned = state.start_task(
        "pve-a", "vzdump", "100", "root@pam", lines=[], duration=1, error="WARNINGS: 2"
    )
    state.finish_task(failed)
    state.finish_task(warned)
    assert (failed.outcome, failed.visible_lines(state.now())) == ("error", ["TASK ERROR: boom"])
    assert (warned.outcome, warned.visible_lines(state.now())) == ("warning", ["TASK WARNINGS: 2"])
    assert state.cluster_log[-1]["pri"] == 3


def test_stopping_a_task_interrupts_it_without_its_effect() -> None:
    state = _state()
    ended: list[str] = []
    task = state.start_task(
        "pve-a",
        "qmstart",
        "100",
        "root@pam",
        lines=[],
        duration=10,
        on_end=lambda: ended.append("x"),
    )
    state.clock.advance(3)
    state.stop_task(task)
    state.stop_task(task)  # a finished task stays as it ended
    assert (task.exitstatus, task.endtime, ended) == (
        "received interrupt",  # fork_worker's handler; vzdump has its own (below)
        int(FROZEN_EPOCH) + 3,
        [],
    )
    assert task.visible_lines(state.now())[-1] == "TASK ERROR: received interrupt"
    backup = state.start_task("pve-a", "vzdump", "100", "root@pam", lines=[], duration=10)
    state.stop_task(backup)
    assert backup.exitstatus == "interrupted by signal"


def _snapshots(sim: Simulator, node: str, gtype: str, vmid: int) -> list[dict[str, Any]]:
    pve = client_for(sim)
    answer: list[dict[str, Any]] = getattr(pve.nodes(node), gtype)(vmid).snapshot.get()
    return answer


def test_snapshot_list_comes_from_the_guest_with_current_last(sim: Simulator) -> None:
    state = sim.state
    guest = next(g for g in state.guests.values() if g.type == "qemu" and not g.snapshots)
    (before,) = _snapshots(sim, guest.node, "qemu", guest.vmid)
    assert re.fullmatch(r"[0-9a-f]{40}", before.pop("digest"))
    assert before == {"name": "current", "description": "You are here!", "running": 1}
    state.put_snapshot(guest, Snapshot("base", "", 1_700_000_000))
    state.put_snapshot(guest, Snapshot("tuned", "after tuning", 1_700_000_100, True, "base"))
    state.set_parent(guest, "tuned")
    *snaps, current = _snapshots(sim, guest.node, "qemu", guest.vmid)
    assert sorted(snaps, key=lambda s: s["name"]) == [
        {"name": "base", "description": "", "snaptime": 1_700_000_000, "vmstate": 0},
        {
            "name": "tuned",
            "description": "after tuning",
            "snaptime": 1_700_000_100,
            "vmstate": 1,
            "parent": "base",
        },
    ]
    assert current["parent"] == "tuned" and current["name"] == "current"
    assert current["digest"] != before.get("digest")  # the config file was written


def test_storage_usage_comes_from_its_volumes(sim: Simulator) -> None:
    state = sim.state
    local = state.storages["local"]
    before = local.on("pve-a").used
    backup = Volume(
        "local:backup/vzdump-qemu-101-2026_09_21-02_00_00.vma.zst",
        "backup",
        "vma.zst",
        10 * 1024**3,
        1_789_956_000,
        101,
        "qemu",
    )
    state.add_volume(local, "pve-a", backup)
    pve = client_for(sim)
    (entry,) = pve.nodes("pve-a").storage.get(storage="local")
    assert (entry["total"], entry["used"]) == (local.on("pve-a").total, before + 10 * 1024**3)
    resources = {r["id"]: r for r in pve.cluster.resources.get(type="storage")}
    assert resources["storage/pve-a/local"]["disk"] == before + 10 * 1024**3
    assert resources["storage/pve-b/local"]["disk"] == local.on("pve-b").used  # its own set
    assert resources["storage/pve-a/local"]["content"] == "iso,vztmpl,backup"
    state.remove_volume(local, "pve-a", backup.volid)
    assert pve.nodes("pve-a").storage.get(storage="local")[0]["used"] == before


def test_steps_run_in_time_order_with_task_ends() -> None:
    state = _state()
    seen: list[str] = []
    task = state.start_task(
        "pve-a",
        "qmstart",
        "100",
        "root@pam",
        lines=[],
        duration=2,
        on_end=lambda: seen.append("end"),
    )
    start = task.upid.starttime
    state.schedule(start + 3, lambda at: seen.append(f"late@{at - start:g}"))
    state.schedule(start + 1, lambda at: seen.append(f"early@{at - start:g}"))
    state.clock.advance(10)
    state.tick()
    assert seen == ["early@1", "end", "late@3"]


def test_a_node_lock_is_handed_to_the_next_waiter() -> None:
    state = _state()
    first = state.start_task("pve-a", "vzdump", "", "root@pam", lines=[], duration=math.inf)
    second = state.start_task("pve-a", "vzdump", "", "root@pam", lines=[], duration=math.inf)
    granted: list[float] = []
    assert state.flock("vzdump@pve-a", first, granted.append)
    assert not state.flock("vzdump@pve-a", second, granted.append)
    state.funlock("vzdump@pve-a", first, FROZEN_EPOCH + 7)
    state.tick()
    assert granted == []  # handed over at the release time, not before
    state.clock.advance(7)
    state.tick()
    assert granted == [FROZEN_EPOCH + 7]
    state.stop_task(second)  # a killed holder releases it too
    assert state.flock("vzdump@pve-a", first, granted.append)
