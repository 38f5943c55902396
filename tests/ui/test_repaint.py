"""What a refresh writes to the terminal: only what changed, and never a screen that
differs from a full redraw (checked on a terminal emulator fed the app's bytes)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.widgets.guest_details import GuestDetails
from tests.conftest import FROZEN_EPOCH
from tests.ui.conftest import session_for, settle
from tests.ui.terminal import Cell, Terminal, cells_of, full_redraw

SIZE = (200, 50)


@pytest.fixture(autouse=True)
def frozen_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The data's age on the status line is computed from the wall clock."""
    monkeypatch.setattr(time, "time", lambda: FROZEN_EPOCH)


def differences(shown: list[list[Cell]], expected: list[list[Cell]]) -> list[str]:
    """The lines that differ, as text, for the failure message."""
    return [
        f"line {y}:\n  shown    {''.join(c[0] for c in a).rstrip()!r}\n"
        f"  expected {''.join(c[0] for c in b).rstrip()!r}"
        for y, (a, b) in enumerate(zip(shown, expected, strict=True))
        if a != b
    ]


async def refresh(pilot: Pilot[None], sim: Simulator, seconds: float) -> None:
    """One refresh, `seconds` of simulated time after the last (the figures move)."""
    sim.clock.advance(seconds)
    await pilot.press("ctrl+r")
    await settle(pilot)


async def select_next(pilot: Pilot[None], key: str = "down") -> None:
    await pilot.press(key)
    await pilot.pause(0.4)  # the details panel waits 0.25 s for the cursor to rest
    await settle(pilot)


async def test_many_refreshes_leave_the_screen_a_full_redraw_shows(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim()
    app = ArgusApp(session_for(sim, demo=True), interval=3600)
    terminal = Terminal(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for step in range(6):
            await refresh(pilot, sim, 47)
            if step in (1, 3):
                await select_next(pilot)
        shown = terminal.cells()
        assert "pg-primary" in "\n".join(terminal.text())  # 102: the details on show
        redrawn = cells_of(full_redraw(app))
        assert shown == redrawn, "\n".join(differences(shown, redrawn))

    fresh = ArgusApp(session_for(sim, demo=True), interval=3600)
    async with fresh.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_next(pilot)
        await select_next(pilot)
        first = cells_of(full_redraw(fresh))
    assert shown == first, "\n".join(differences(shown, first))


async def test_a_scrolled_table_repaints_the_rows_that_changed(
    make_sim: Callable[..., Simulator],
) -> None:
    """Rows below the first screenful change on screen too, once the table has scrolled."""
    sim = make_sim()
    app = ArgusApp(session_for(sim, demo=True), interval=3600)
    terminal = Terminal(app, (80, 16))
    async with app.run_test(size=(80, 16)) as pilot:
        await settle(pilot)
        await select_next(pilot, "end")  # the last row: the table scrolls
        for _ in range(3):
            await refresh(pilot, sim, 61)
        shown = terminal.cells()
        assert "tmpl-debian-13" in "\n".join(terminal.text())
        redrawn = cells_of(full_redraw(app))
        assert shown == redrawn, "\n".join(differences(shown, redrawn))


async def test_a_refresh_with_unchanged_data_writes_nothing(
    make_sim: Callable[..., Simulator],
) -> None:
    """Same figures, same age: the details panel, the table and the bars stay as they are
    on the terminal (the panel's details are fetched again all the same)."""
    sim = make_sim()
    app = ArgusApp(session_for(sim, demo=True), interval=3600)
    terminal = Terminal(app, SIZE)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_next(pilot)
        panel = app.screen.query_one(GuestDetails)
        assert panel.display and "config" in "\n".join(terminal.text())
        terminal.reset_counts()
        fetched = app.refreshes
        for _ in range(3):
            await refresh(pilot, sim, 0)
        assert app.refreshes == fetched + 3
        assert terminal.wrote_in(panel.region) == []
        assert terminal.spans == [] and terminal.full_frames == 0
        assert terminal.bytes == 0
