"""Start-up's objects leave the cyclic GC's generations once the first snapshot is shown,
so that a full collection walks only what came after (services/heap.py)."""

from __future__ import annotations

import gc

from argus_tui.services.heap import BACKSTOP, FULL_EVERY, collect_when_idle, freeze_startup
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from tests.ui.conftest import session_for, settle


def test_freezing_happens_once_per_process() -> None:
    gc.unfreeze()  # an earlier app in this process may have frozen already
    assert gc.get_freeze_count() == 0
    assert freeze_startup() is True
    frozen = gc.get_freeze_count()
    assert frozen > 0 and gc.get_threshold()[1:] == (BACKSTOP, BACKSTOP)
    assert freeze_startup() is False
    # Not frozen again (no growth); a thread left by an earlier test may free a frozen object.
    assert gc.get_freeze_count() <= frozen
    gc.unfreeze()


def test_idle_passes_take_the_middle_generation_and_everything_when_due() -> None:
    gc.collect()
    passes = [g["collections"] for g in gc.get_stats()]
    assert collect_when_idle() == 1  # a full pass just ran: only the middle generation
    assert gc.get_stats()[1]["collections"] == passes[1] + 1
    assert gc.get_stats()[2]["collections"] == passes[2]
    for _ in range(FULL_EVERY):
        gc.collect(1)  # each pass over the middle generation counts towards a full one
    assert collect_when_idle() == 2
    assert gc.get_stats()[2]["collections"] == passes[2] + 1
    assert gc.get_count()[2] == 0


async def test_the_app_freezes_after_its_first_snapshot(sim: Simulator) -> None:
    gc.unfreeze()
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        assert gc.get_freeze_count() == 0 or app.refreshes > 0
        await settle(pilot)
        assert app.refreshes >= 1 and app.snapshot is not None
        assert gc.get_freeze_count() > 0
        # what start-up built is out of the collector's view: the app object among it
        assert not any(obj is app for obj in gc.get_objects())
    gc.unfreeze()
