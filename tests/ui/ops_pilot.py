"""Pilot helpers for the snapshot, backup and storage tests: the ops cluster, one app per
token, and the operation keys as the footer, the help and the key map show them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from textual.pilot import Pilot
from textual.screen import Screen

from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.content import ContentScreen
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.help import HelpScreen
from argus_tui.ui.screens.snapshots import SnapshotsScreen
from argus_tui.ui.widgets.bars import StatusLine
from tests.ops_scenario import TOKENS, ops_scenario, secret_of
from tests.ui.conftest import session_for, settle, until

#: Footer label -> key, on the screen each belongs to.
GUEST_KEYS = {"Snapshots": "n", "Backup": "b", "Backups": "B"}
SNAPSHOT_KEYS = {"New snapshot": "n", "Rollback": "R", "Delete snapshot": "X"}
CONTENT_KEYS = {"Delete backup": "X"}
ALL_KEYS = {**GUEST_KEYS, **SNAPSHOT_KEYS, **CONTENT_KEYS}


def ops_sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(ops_scenario())


def ops_app(sim: Simulator, who: str = "root", **options: object) -> ArgusApp:
    token = TOKENS[who]
    app = ArgusApp(session_for(sim, token, secret_of(token), **options))
    app.session.runner.poll = 0.05  # follow tasks briskly; the clock is frozen anyway
    return app


@contextlib.asynccontextmanager
async def driving(app: ArgusApp, sim: Simulator) -> AsyncIterator[Pilot[int]]:
    """`app.run_test`; at the end every task ends on the frozen clock, so no follower is
    left waiting when the loop closes."""
    async with app.run_test(size=(200, 45)) as pilot:
        try:
            yield pilot
        finally:
            sim.advance(3600)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.workers.wait_for_complete(), 5)
            await pilot.pause()


def guests_screen(app: ArgusApp) -> GuestsScreen:
    screen = app.screen
    assert isinstance(screen, GuestsScreen), type(screen).__name__
    return screen


async def select(pilot: Pilot[int], vmid: int) -> None:
    table = guests_screen(pilot.app).table  # type: ignore[arg-type]
    table.move_to(vmid)
    await pilot.pause()
    await pilot.pause()  # the footer recomposes after the bindings change
    assert table.cursor_key == vmid


def offered(app: ArgusApp, labels: dict[str, str]) -> frozenset[str]:
    """The operation keys among the screen's active bindings (check_action not False)."""
    found = {a.binding.description for a in app.screen.active_bindings.values() if a.enabled}
    return frozenset(found & set(labels))


def footer(app: ArgusApp, labels: dict[str, str]) -> frozenset[str]:
    keys = app.screen.query("FooterKey")
    return frozenset({str(key.description) for key in keys} & set(labels))  # type: ignore[attr-defined]


def in_help(screen: Screen[object], labels: dict[str, str]) -> frozenset[str]:
    """Operation keys as `?` lists them, each with its real key."""
    rows = HelpScreen(screen).rows
    by_key = dict(rows)
    found = frozenset(d for _, d in rows if d in labels)
    for label in found:
        assert by_key.get(labels[label]) == label, rows
    return found


async def keys_shown(pilot: Pilot[int], labels: dict[str, str]) -> frozenset[str]:
    """The offered operation keys, the same in the key map, the footer and the help."""
    app = pilot.app
    assert isinstance(app, ArgusApp)
    await pilot.pause()
    active = offered(app, labels)
    await until(pilot, lambda: footer(app, labels) == active, f"footer shows {set(active)}")
    assert in_help(app.screen, labels) == active
    return active


async def press_hidden(
    pilot: Pilot[int], sim: Simulator, keys: list[str], screen: Screen[object]
) -> None:
    """Hidden keys change nothing: no modal, no task."""
    app = pilot.app
    before = set(sim.state.tasks)
    await pilot.press(*keys)
    for _ in range(3):
        try:
            await asyncio.wait_for(app.workers.wait_for_complete(), 3)
        except TimeoutError:
            raise AssertionError("a hidden key started a worker that keeps running") from None
        await pilot.pause()
    assert app.screen is screen, f"a hidden key opened {type(app.screen).__name__}"
    assert set(sim.state.tasks) == before


async def open_snapshots(pilot: Pilot[int], vmid: int) -> SnapshotsScreen:
    await select(pilot, vmid)
    await pilot.press("n")
    screen = pilot.app.screen
    assert isinstance(screen, SnapshotsScreen)
    await until(pilot, lambda: screen.view is not None or screen.error is not None, "snapshots")
    await settle(pilot)
    return screen


async def open_backups(pilot: Pilot[int], vmid: int) -> ContentScreen:
    await select(pilot, vmid)
    await pilot.press("B")
    await until(pilot, lambda: isinstance(pilot.app.screen, ContentScreen), "the backups view")
    screen = pilot.app.screen
    assert isinstance(screen, ContentScreen)
    await until(pilot, lambda: screen.loaded, "backups loaded")
    await pilot.pause()
    return screen


def status_text(app: ArgusApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def new_tasks(sim: Simulator, before: set[str]) -> list[tuple[str, str]]:
    """(type, id) of the tasks started since `before`, in creation order."""
    order = [k for k in sim.state.task_order if k not in before]
    return [(sim.state.tasks[k].upid.type, sim.state.tasks[k].upid.id) for k in order]
