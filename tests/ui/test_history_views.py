"""Pilot tests of what the local history adds to the TUI: the changes screen (5) and
utilisation graphs that fall back to, and reach back with, Argus's own samples."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import msgspec
from textual.widgets import Static

from argus_tui.sim.scenario import FaultRule, Faults
from argus_tui.sim.server import Simulator
from argus_tui.store import open_history
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.changes import ChangesScreen
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.utilisation import GuestUsage, UtilisationScreen
from argus_tui.ui.widgets.bars import ClusterHeader
from argus_tui.ui.widgets.table import VirtualTable
from tests.ui.conftest import session_for, settle


def rows(app: ArgusApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one("#changes", VirtualTable)
    return [tuple(text for text, _ in table.cells(k) or ()) for k in table.keys]


def header(app: ArgusApp) -> str:
    return str(app.screen.query_one(ClusterHeader).render())


def title(app: ArgusApp) -> str:
    return str(app.screen.query_one("#changes-title", Static).render())


async def test_changes_screen_since_last_look(sim: Simulator, tmp_path: Path) -> None:
    store = open_history(tmp_path / "history.db")
    app = ArgusApp(session_for(sim, history=store), interval=3600)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, ChangesScreen)
        assert "first look" in title(app)
        assert rows(app) == []  # the first refresh is the baseline, not 25 "created"
        assert "Nothing changed" in app.screen.query_one(VirtualTable).empty_text

        sim.state.set_running(sim.state.guests[100], False)
        await pilot.press("ctrl+r")
        await settle(pilot)
        changes = rows(app)
        assert len(changes) == 1
        # WHO is empty: Argus saw the change, nobody did it through Argus
        assert changes[0][1:] == ("stopped", "VM 100 (gw-edge-01)", "on pve-a", "")

        # Leaving marks what was on screen as seen; coming back shows only what is new.
        await pilot.press("2")
        await settle(pilot)
        assert "Changes (" not in header(app)
        sim.state.set_running(sim.state.guests[101], False)
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "5 Changes (1)" in header(app)  # one change not looked at yet
        await pilot.press("5")
        await settle(pilot)
        assert "since you last looked" in title(app)
        assert [r[2] for r in rows(app)] == ["VM 101 (dc-ad-01)"]
        # A chosen window shows both.
        await pilot.press("t")  # 1h
        await settle(pilot)
        assert "last 1h" in title(app)
        assert [r[2] for r in rows(app)] == ["VM 101 (dc-ad-01)", "VM 100 (gw-edge-01)"]
        # Enter jumps to the guest.
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, GuestsScreen)
        assert app.screen.table.cursor_key == 100
    assert store.last_seen("test") is not None
    store.close()


async def test_changes_screen_without_history(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim), interval=3600)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"changes", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChangesScreen)
        assert "history is off" in title(app)


async def test_guest_graph_falls_back_to_local_history(sim: Simulator, tmp_path: Path) -> None:
    """rrddata fails for the guest: its curve comes from the samples Argus recorded."""
    store = open_history(tmp_path / "history.db")
    snapshot = session_for(sim).snapshot()
    base = next(g for g in snapshot.guests if g.vmid == 102)
    now = time.time()
    for i in range(6):  # the last 50 minutes, one sample each 10 minutes
        guest = msgspec.structs.replace(base, cpu=0.1 * (i + 1))
        store.record_snapshot(
            dataclasses.replace(snapshot, guests=(guest,)), "test", ts=now - 3000 + 600 * i
        )
    sim.set_faults(Faults(rules=[FaultRule(path="/nodes/pve-a/qemu/102/rrddata",
                                           error_rate=1.0, error_status=500)]))  # fmt: skip
    app = ArgusApp(session_for(sim, history=store), interval=3600)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # 102, pg-primary
        await settle(pilot)
        assert app.selected_guest is not None and app.selected_guest.vmid == 102
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, UtilisationScreen)
        panel = screen.query_one(GuestUsage)
        notice = str(panel.notice.render())
        assert "showing Argus's local history" in notice
        spark = panel.rows["cpu"].spark.data or []
        assert len(spark) >= 6 and [round(v, 1) for v in spark[:6]] == [
            0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
        ]  # fmt: skip
    store.close()


async def test_a_visit_keeps_its_window_across_refreshes(sim: Simulator, tmp_path: Path) -> None:
    """Refreshes while the changes screen is on view do not start a new visit."""
    store = open_history(tmp_path / "history.db")
    app = ArgusApp(session_for(sim, history=store), interval=3600)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        sim.state.set_running(sim.state.guests[100], False)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("3")  # another screen first, as a user would wander
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        for _ in range(3):
            assert "first look" in title(app)
            assert [r[2] for r in rows(app)] == ["VM 100 (gw-edge-01)"]
            await pilot.press("ctrl+r")
            await settle(pilot)
    store.close()


async def test_changes_command_opens_the_window_it_names(sim: Simulator, tmp_path: Path) -> None:
    """`:changes 24h` on a first visit: the visit's own read does not win over the window."""
    store = open_history(tmp_path / "history.db")
    app = ArgusApp(session_for(sim, history=store), interval=3600)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"changes 24h", "enter")
        await settle(pilot)
        await settle(pilot)  # the visit's read, then the window's
        assert isinstance(app.screen, ChangesScreen)
        assert "Changes last 24h" in title(app)
        await pilot.press("colon", *"changes 2h", "enter")
        await settle(pilot)
        assert "Changes last 24h" in title(app)  # an unknown window changes nothing
    store.close()
