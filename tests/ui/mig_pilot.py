"""Pilot helpers for the migration and maintenance tests: the migration cluster
(tests/mig_scenario.py), one app per token."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.migrate import MigratePicker
from tests.mig_scenario import TOKENS, mig_scenario, secret_of
from tests.ui.conftest import session_for, until
from tests.ui.ops_pilot import select

#: Footer label -> key, per screen.
GUEST_KEYS = {"Migrate": "m", "Hibernate": "H"}
NODE_KEYS = {"Evacuate": "E", "Reboot node": "R", "Shutdown node": "D"}
TASK_KEYS = {"Stop task": "x"}


def mig_sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(mig_scenario())


def mig_app(sim: Simulator, who: str = "operator", **options: object) -> ArgusApp:
    token = TOKENS[who]
    app = ArgusApp(session_for(sim, token, secret_of(token), **options))
    app.session.runner.poll = 0.05
    return app


async def open_picker(pilot: Pilot[int], vmid: int) -> MigratePicker:
    await select(pilot, vmid)
    await pilot.press("m")
    await until(pilot, lambda: isinstance(pilot.app.screen, MigratePicker), "the picker")
    picker = pilot.app.screen
    assert isinstance(picker, MigratePicker)
    await until(pilot, lambda: picker.loaded, "the migration plan")
    await pilot.pause()
    return picker
