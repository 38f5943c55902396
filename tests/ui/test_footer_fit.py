"""The footer fits its width: the power keys group when the labelled keys would overflow,
so `? Help` and `q Quit` stay on screen, and the labels come back when there is room."""

from __future__ import annotations

from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from tests.ui.conftest import screen_lines, session_for, settle


def footer(app: ArgusApp) -> str:
    return screen_lines(app)[-1]


async def test_power_keys_group_when_narrow_and_label_when_wide(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim, demo=True), interval=3600)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        line = footer(app)
        assert "Power n Snapshots" in line and "Shutdown" not in line, line
        assert "? Help" in line and "q Quit" in line and "^p palette" in line, line
        assert "▏" not in line.split("q Quit")[0], line  # nothing drawn over the keys
        await pilot.resize_terminal(240, 45)
        await pilot.pause(0.3)
        line = footer(app)
        assert "D Shutdown K Stop" in line and "Power" not in line, line
        assert "? Help" in line and "q Quit" in line, line
        await pilot.resize_terminal(160, 45)
        await pilot.pause(0.3)
        assert "Power n Snapshots" in footer(app), footer(app)
