"""The refresh loop across a profile switch, and what every refresh leaves in the history."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from argus_tui.services.recorder import Recorder
from argus_tui.services.session import Session
from argus_tui.sim.demo import demo_data
from argus_tui.sim.scenario import FaultRule, Faults
from argus_tui.sim.server import Simulator
from argus_tui.store.sqlite import SqliteHistory
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.widgets.bars import ClusterHeader
from argus_tui.ui.widgets.table import VirtualTable
from tests.ui.conftest import screen_text, session_for, until

LATE_MS = 4000  # A's slow answer: longer than typing `:profile B` takes under the pilot


def header(app: ArgusApp) -> str:
    return str(app.screen.query_one(ClusterHeader).render())


def guest_names(app: ArgusApp) -> set[str]:
    table = app.screen.query_one("#guests", VirtualTable)
    return {str(cells[1][0]) for key in table.keys if (cells := table.cells(key))}


def two_clusters(make_sim: Callable[..., Simulator]) -> tuple[Simulator, Simulator]:
    data_a = demo_data()
    data_a["cluster"]["name"] = "cluster-A"
    data_b = demo_data()
    data_b["cluster"]["name"] = "cluster-B"
    for guest in data_b["guest"]:
        guest["name"] = "b-" + guest["name"]
    return make_sim(data_a), make_sim(data_b)


async def test_a_refresh_in_flight_at_a_profile_switch_is_dropped(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    """A's slow answer lands after `:profile B`: it is neither shown nor recorded as B."""
    sim_a, sim_b = two_clusters(make_sim)
    store = SqliteHistory(tmp_path / "h.db")
    session_a = session_for(sim_a, history=store, profile="A")
    session_b = session_for(sim_b, history=store, profile="B")
    opened: list[str] = []

    def open_profile(name: str) -> Session:
        opened.append(name)
        return session_b

    app = ArgusApp(session_a, open_profile=open_profile)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: "cluster-A" in header(app), "cluster A on screen")
        sim_a.set_faults(Faults(rules=[FaultRule(path="/cluster/resources", latency_ms=LATE_MS)]))
        await pilot.press("ctrl+r")  # A's refresh is now on its way, slowly
        started = time.monotonic()
        await pilot.press("colon", *"profile B", "enter")  # typing takes a second or two
        assert time.monotonic() - started < LATE_MS / 1000, "A answered before the switch"
        await until(pilot, lambda: "cluster-B" in header(app), "cluster B on screen", 2)
        await pilot.pause(LATE_MS / 1000 - (time.monotonic() - started) + 0.5)  # A is in
        assert opened == ["B"]
        assert "cluster-B" in header(app) and "cluster-A" not in header(app)
        names = guest_names(app)
        assert len(names) == 25 and all(name.startswith("b-") for name in names)
        assert session_a.closed and not session_b.closed
    assert [c.kind for c in store.changes("B", 0)] == []  # B's first refresh is its baseline
    assert [c.kind for c in store.changes("A", 0)] == []
    store.close()


async def test_a_profile_switch_closes_the_old_session(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim_a, sim_b = two_clusters(make_sim)
    session_a = session_for(sim_a, history=SqliteHistory(tmp_path / "a.db"), profile="A")
    session_b = session_for(sim_b, history=SqliteHistory(tmp_path / "b.db"), profile="B")
    app = ArgusApp(session_a, open_profile=lambda name: session_b)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: "cluster-A" in header(app), "cluster A on screen")
        assert (tmp_path / "a.db-wal").exists()  # A's history is open
        await pilot.press("colon", *"profile B", "enter")
        await until(pilot, lambda: "cluster-B" in header(app), "cluster B on screen")
        await until(pilot, lambda: session_a.closed, "A closed")
        assert not (tmp_path / "a.db-wal").exists()  # its database connections are closed
        assert not session_b.closed and (tmp_path / "b.db-wal").exists()
        # the guest under the cursor is the app's selection again, for the usage screen
        await until(pilot, lambda: app.selected_guest is not None, "a selection in B")
        await pilot.press("3")
        await until(pilot, lambda: "none selected" not in screen_text(app), "B's guest on screen 3")
    assert session_b.history is not None
    session_b.history.close()


async def test_every_refresh_records_the_tasks(sim: Simulator, tmp_path: Path) -> None:
    """On the guests screen alone, the recent tasks reach the history (by UPID)."""
    store = SqliteHistory(tmp_path / "h.db")
    app = ArgusApp(session_for(sim, history=store))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.refreshes >= 1, "the first refresh")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.refreshes >= 2, "the second refresh")
        await until(pilot, lambda: bool(store.tasks("test")), "tasks in the history")
        assert app.screen.query_one("#guests", VirtualTable).row_count == 25
    recorded = {t["upid"] for t in store.tasks("test")}
    assert recorded == set(sim.state.tasks)
    store.close()


def test_the_recorder_asks_for_tasks_once_per_sample_interval(
    sim: Simulator, tmp_path: Path
) -> None:
    store = SqliteHistory(tmp_path / "h.db", sample_interval=60)
    now = [1000.0]
    recorder = Recorder(store, "test", clock=lambda: now[0])
    snapshot = session_for(sim).snapshot()
    assert recorder.tasks_due(snapshot)
    recorder.record(snapshot, None)
    assert recorder.tasks_due(snapshot)  # a refresh without tasks leaves them due
    recorder.record(snapshot, [])
    assert not recorder.tasks_due(snapshot)
    now[0] += 59
    assert not recorder.tasks_due(snapshot)
    now[0] += 1
    assert recorder.tasks_due(snapshot)
    store.close()


def test_a_failing_history_is_said_once_and_tried_again(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("")  # the database's folder cannot be created
    recorder = Recorder(SqliteHistory(tmp_path / "blocker" / "h.db"), "test")
    snapshot = session_for(sim).snapshot()
    first, second = recorder.record(snapshot, None), recorder.record(snapshot, None)
    assert "cannot create its folder" in first.error and first.error.endswith(
        "(Argus keeps trying)"
    )
    assert second.error == "" and second.unseen is None
    (tmp_path / "blocker").unlink()
    recovered = recorder.record(snapshot, None)
    assert recovered.error == "" and recovered.unseen == 0 and recovered.seen is None
