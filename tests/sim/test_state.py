"""ClusterState's public API: tasks started, finished and stopped; state-held objects.

What the API answers comes from these objects, so a test that changes them and reads
the answer over HTTPS shows the state, not the handler, is the source of truth.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import FROZEN_EPOCH, client_for

from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.model import Snapshot
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import ClusterState, SimClock


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
        "interrupted by signal",
        int(FROZEN_EPOCH) + 3,
        [],
    )
    assert task.visible_lines(state.now())[-1] == "TASK ERROR: interrupted by signal"


def _snapshots(sim: Simulator, node: str, gtype: str, vmid: int) -> list[dict[str, Any]]:
    pve = client_for(sim)
    answer: list[dict[str, Any]] = getattr(pve.nodes(node), gtype)(vmid).snapshot.get()
    return answer


def test_snapshot_list_shows_the_guests_snapshots(sim: Simulator) -> None:
    guest = next(g for g in sim.state.guests.values() if g.type == "qemu" and not g.snapshots)
    assert _snapshots(sim, guest.node, "qemu", guest.vmid) == [
        {"name": "current", "description": "You are here!", "running": int(guest.running)}
    ]
    guest.snapshots += [
        Snapshot("base", "", 1_700_000_000),
        Snapshot("tuned", "after tuning", 1_700_000_100, vmstate=True, parent="base"),
    ]
    guest.parent = "tuned"
    assert _snapshots(sim, guest.node, "qemu", guest.vmid) == [
        {"name": "base", "description": "", "snaptime": 1_700_000_000, "vmstate": 0},
        {
            "name": "tuned",
            "description": "after tuning",
            "snaptime": 1_700_000_100,
            "vmstate": 1,
            "parent": "base",
        },
        {
            "name": "current",
            "description": "You are here!",
            "running": int(guest.running),
            "parent": "tuned",
        },
    ]


def test_storage_answers_come_from_the_storage_objects(sim: Simulator) -> None:
    storage = sim.state.storages[("pve-a", "local")]
    storage.used = storage.total // 4
    pve = client_for(sim)
    (entry,) = pve.nodes("pve-a").storage.get(storage="local")
    assert (entry["total"], entry["used"], entry["used_fraction"]) == (
        storage.total,
        storage.total // 4,
        0.25,
    )
    resources = pve.cluster.resources.get(type="storage")
    (listed,) = [r for r in resources if r["id"] == "storage/pve-a/local"]
    assert (listed["disk"], listed["maxdisk"], listed["content"]) == (
        storage.total // 4,
        storage.total,
        "iso,vztmpl,backup",
    )
