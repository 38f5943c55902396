"""A few SVG snapshots of the real screens: fixed seed, frozen clock, fixed size and port.

Regenerate after an intended visual change with `pytest tests/ui/test_snapshots.py
--snapshot-update` and review the SVGs in the diff.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from argus_tui.sim import certs
from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock
from argus_tui.ui.app import ArgusApp
from tests.conftest import FROZEN_EPOCH
from tests.ui.conftest import session_for, settle

PORT = 28_006  # fixed: the address appears in the status line
# One xdist worker runs them all: they share the fixed port.
pytestmark = pytest.mark.xdist_group("fixed-port-snapshots")


@pytest.fixture
def fixed_sim(
    cert_bundle: certs.CertBundle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Simulator]:
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", PORT))
    except OSError:
        pytest.skip(f"port {PORT} is busy; snapshots need a fixed address")
    finally:
        probe.close()
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    # Data age and task times are computed from the wall clock: pin it to the sim's.
    monkeypatch.setattr(time, "time", lambda: FROZEN_EPOCH)
    sim = Simulator(
        demo_scenario(), port=PORT, clock=SimClock(FROZEN_EPOCH, frozen=True), bundle=cert_bundle
    ).start()
    yield sim
    sim.stop()
    os.environ.pop("TZ", None)
    time.tzset()


def make_app(sim: Simulator) -> ArgusApp:
    return ArgusApp(session_for(sim, demo=True), interval=3600)


def test_guests_screen(snap_compare: Any, fixed_sim: Simulator) -> None:
    assert snap_compare(make_app(fixed_sim), run_before=settle, terminal_size=(160, 40))


def test_guests_filtered_at_80x24(snap_compare: Any, fixed_sim: Simulator) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("slash", "w", "e", "b", "enter")

    assert snap_compare(make_app(fixed_sim), run_before=run_before, terminal_size=(80, 24))


def test_tasks_screen(snap_compare: Any, fixed_sim: Simulator) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)

    assert snap_compare(make_app(fixed_sim), run_before=run_before, terminal_size=(120, 30))


def test_nodes_screen(snap_compare: Any, fixed_sim: Simulator) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)

    assert snap_compare(make_app(fixed_sim), run_before=run_before, terminal_size=(120, 24))


async def _open_snapshots_of_102(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("down", "down")  # 100, 101, 102: pg-primary, a tree with a branch
    await pilot.press("n")
    await settle(pilot)


def test_snapshots_view(snap_compare: Any, fixed_sim: Simulator) -> None:
    assert snap_compare(
        make_app(fixed_sim), run_before=_open_snapshots_of_102, terminal_size=(120, 24)
    )


def test_storage_screen(snap_compare: Any, fixed_sim: Simulator) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)

    assert snap_compare(make_app(fixed_sim), run_before=run_before, terminal_size=(120, 24))


def test_backups_of_a_guest(snap_compare: Any, fixed_sim: Simulator) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("down", "down", "B")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(make_app(fixed_sim), run_before=run_before, terminal_size=(140, 24))
