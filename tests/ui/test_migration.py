"""Migration, evacuation, node power, stopping a task and addresses in the TUI, against
the migration cluster (tests/mig_scenario.py) on the simulator's frozen clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from argus_tui.sim.server import Simulator
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.node_ops import EvacuationModal, TypeNodeName
from argus_tui.ui.screens.nodes import NodesScreen
from argus_tui.ui.screens.power import ConfirmAction, WhyNot
from argus_tui.ui.screens.tasks import TasksScreen
from argus_tui.ui.widgets.table import VirtualTable
from tests.ui.conftest import screen_text, settle, until
from tests.ui.mig_pilot import (
    GUEST_KEYS,
    NODE_KEYS,
    TASK_KEYS,
    mig_app,
    mig_sim,
    open_picker,
)
from tests.ui.ops_pilot import driving, keys_shown, press_hidden, select, status_text
from tests.ui.test_power import shown

BOTH = frozenset(GUEST_KEYS)
MIGRATE = frozenset({"Migrate"})
NONE: frozenset[str] = frozenset()

GUEST_CASES: dict[str, dict[int, frozenset[str]]] = {
    # 202 is HA-managed: PVE refuses to hibernate it; 205 is stopped; 9001 a template
    "operator": {201: BOTH, 202: MIGRATE, 203: MIGRATE, 205: MIGRATE, 9001: NONE},
    "auditor": {201: NONE, 202: NONE, 203: NONE},
    "nomig": {201: frozenset({"Hibernate"}), 202: NONE, 205: NONE},
}


@pytest.mark.parametrize("who", list(GUEST_CASES))
async def test_guest_keys_follow_the_token(make_sim: Callable[..., Simulator], who: str) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim, who)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid, expected in GUEST_CASES[who].items():
            await select(pilot, vmid)
            assert await keys_shown(pilot, GUEST_KEYS) == expected, (who, vmid)
        await select(pilot, 202)
        hidden = [GUEST_KEYS[k] for k in GUEST_KEYS if k not in GUEST_CASES[who][202]]
        await press_hidden(pilot, sim, hidden, app.screen)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("operator", frozenset(NODE_KEYS)),
        ("auditor", NONE),
        ("nomig", NONE),
    ],
)
async def test_node_keys_follow_the_token(
    make_sim: Callable[..., Simulator], who: str, expected: frozenset[str]
) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim, who)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, NodesScreen)
        assert await keys_shown(pilot, NODE_KEYS) == expected
        if not expected:
            await press_hidden(pilot, sim, ["E", "R", "D"], app.screen)
            await pilot.press("w")
            assert isinstance(app.screen, WhyNot)
            lines = await shown(pilot, "#why-ops")
            if who == "nomig":
                assert "Reboot node needs Sys.PowerMgmt on /nodes/pve-a" in lines


async def test_picker_lists_allowed_nodes_and_says_why_not(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        picker = await open_picker(pilot, 206)  # huge01: 40G, no node has the room
        assert picker.allowed == []
        text = screen_text(app)
        assert "online (live, the VM keeps running)" in text
        assert "the guest needs 40.0G" in text
        await pilot.press("escape")
        picker = await open_picker(pilot, 204)  # usb01: a local device
        assert picker.allowed == []
        assert "usb0" in screen_text(app)
        await pilot.press("escape")
        picker = await open_picker(pilot, 203)  # a running container
        assert picker.allowed == ["pve-b", "pve-c"]  # most free memory first
        assert "restart (shut down, moved, started again)" in screen_text(app)
        await pilot.press("escape")
        assert isinstance(app.screen, GuestsScreen)
        assert "cancelled" in status_text(app)


async def test_migrate_a_guest_and_its_row_moves(make_sim: Callable[..., Simulator]) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await open_picker(pilot, 201)
        await pilot.press("enter")  # pve-b: the most free memory
        await until(pilot, lambda: any(
            t.upid.type == "qmigrate" for t in sim.state.tasks.values()), "qmigrate")  # fmt: skip
        await until(pilot, lambda: "Migrate web01 to pve-b" in status_text(app), "progress")
        sim.advance(600)
        await until(pilot, lambda: "done" in status_text(app), "the migration's end")
        await settle(pilot)
        guests = app.screen
        assert isinstance(guests, GuestsScreen)
        await select(pilot, 201)
        assert guests.selected is not None and guests.selected.node == "pve-b"


async def test_evacuation_plan_runs_each_move(make_sim: Callable[..., Simulator]) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EvacuationModal), "the plan")
        modal = app.screen
        assert isinstance(modal, EvacuationModal)
        await until(pilot, lambda: modal.loaded, "the plan loaded")
        plan = modal.plan
        assert plan is not None
        moved = {m.guest.vmid for m in plan.moves}
        skipped = {s.guest.vmid: s.reason for s in plan.skipped}
        assert {201, 202, 203, 207} <= moved
        assert 204 in skipped and "usb0" in skipped[204]
        assert 206 in skipped and "overcommit" in skipped[206]
        text = screen_text(app)
        assert "through HA" in text and "restart (shut down" in text
        await pilot.press("enter")
        for _ in range(60):
            sim.advance(120)
            await pilot.pause(0.1)
            if "Evacuate pve-a: done" in status_text(app):
                break
        assert "Evacuate pve-a: done" in status_text(app)
        await settle(pilot)
        left = {g.vmid for g in app.snapshot.guests if g.node == "pve-a"} if app.snapshot else set()
        assert not (moved & left)


async def test_node_reboot_goes_offline_and_back(make_sim: Callable[..., Simulator]) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("down")  # pve-b
        await pilot.press("R")
        modal = app.screen
        assert isinstance(modal, TypeNodeName)
        await pilot.press(*"pve-a", "enter")  # the wrong name: nothing happens
        assert app.screen is modal
        await pilot.press(*(["backspace"] * 5), *"pve-b", "enter")
        await until(pilot, lambda: "Reboot node pve-b: done" in status_text(app), "sent")
        await settle(pilot)
        for _ in range(4):  # stopall, then the node powers off a few seconds later
            sim.advance(3)
        app.refresh_now()
        await settle(pilot)

        def status(name: str) -> str:
            snap = app.snapshot
            return next(n.status for n in snap.nodes if n.name == name) if snap else ""

        assert status("pve-b") == "offline"
        assert "offline" in screen_text(app)
        for _ in range(12):  # back within a minute
            sim.advance(5)
        app.refresh_now()
        await settle(pilot)
        assert status("pve-b") == "online"
        assert "offline" not in screen_text(app)


@pytest.mark.parametrize(("who", "may"), [("operator", True), ("other", False), ("admin", True)])
async def test_stop_task_for_its_owner_or_with_sys_modify(
    make_sim: Callable[..., Simulator], who: str, may: bool
) -> None:
    sim = mig_sim(make_sim)
    starter = mig_app(sim, "operator")
    upid = starter.session.migration.start(
        next(g for g in starter.session.snapshot().guests if g.vmid == 201), "pve-b", "online"
    )
    app = mig_app(sim, who)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        tasks = app.screen
        assert isinstance(tasks, TasksScreen)
        await until(pilot, lambda: tasks.find_task(upid) is not None, "the migration task")
        tasks.query_one("#tasks", VirtualTable).move_to(upid)
        await pilot.pause()
        assert (await keys_shown(pilot, TASK_KEYS) == frozenset(TASK_KEYS)) is may
        if not may:
            await pilot.press("w")
            assert isinstance(app.screen, WhyNot)
            assert any(
                "Sys.Modify on /nodes/pve-a" in line for line in await shown(pilot, "#why-ops")
            )
            return
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmAction)
        await pilot.press("y")
        await until(pilot, lambda: "Stop task qmigrate 201: done" in status_text(app), "sent")
        await until(pilot, lambda: sim.state.tasks[upid].finished, "the task ends")


async def test_details_show_addresses_or_why_none(make_sim: Callable[..., Simulator]) -> None:
    sim = mig_sim(make_sim)
    app = mig_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 202)  # the agent runs: its address
        await until(pilot, lambda: "10.0.0.21/24" in screen_text(app), "the agent's address")
        await select(pilot, 203)  # a container: the node's view
        await until(pilot, lambda: "10.0.0.31/24" in screen_text(app), "the CT's address")
        await select(pilot, 207)  # no agent configured
        await until(pilot, lambda: "agent" in screen_text(app).split("addresses")[-1], "why")
