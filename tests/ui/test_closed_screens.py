"""Closed widgets are freed: the keys the footer replaces, and closed snapshots and
content views with their rows (Textual keeps a closed widget's watcher until the watched
attribute changes again)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

from argus_tui.sim.server import Simulator
from argus_tui.ui.screens.content import ContentScreen
from argus_tui.ui.screens.snapshots import SnapshotsScreen
from tests.ui.conftest import settle
from tests.ui.ops_pilot import (
    driving,
    guests_screen,
    open_backups,
    open_snapshots,
    ops_app,
    ops_sim,
)

OPENS = 4


def alive(kind: type | str) -> int:
    """Live instances of `kind` (a class, or a class name)."""
    gc.collect()
    if isinstance(kind, str):
        return sum(1 for obj in gc.get_objects() if type(obj).__name__ == kind)
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)


async def test_closed_views_are_freed(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        before = alive(SnapshotsScreen) + alive(ContentScreen)  # of other tests, if any
        for _ in range(OPENS):
            await open_snapshots(pilot, 101)
            await pilot.press("escape")
            await settle(pilot)
            await open_backups(pilot, 101)
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("2")
            await settle(pilot)
        # An idle worker thread still holds the last worker it ran, and that worker its
        # screen; nothing else may.
        pool = [t for t in threading.enumerate() if t.name.startswith("asyncio_")]
        left = alive(SnapshotsScreen) + alive(ContentScreen) - before
        assert left <= len(pool) < 2 * OPENS


async def test_the_footer_keeps_only_the_keys_it_shows(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        screen = guests_screen(app)
        before = alive("FooterKey") - len(screen.query("FooterKey"))  # of other tests, if any
        for vmid in (101, 104, 9000, 101, 104, 9000):  # running, stopped, a template
            screen.table.move_to(vmid)
            await settle(pilot)
        assert alive("FooterKey") - before == len(screen.query("FooterKey"))
