"""What a shared history shows in the TUI: who did what on the changes screen, and the
status line's word while the team database is away."""

from __future__ import annotations

import time
from pathlib import Path

from argus_tui.sim.server import Simulator
from argus_tui.store import ActionRecord, open_history
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.changes import ChangesScreen
from argus_tui.ui.widgets.bars import StatusLine
from argus_tui.ui.widgets.table import VirtualTable
from tests.ui.conftest import session_for, settle


def rows(app: ArgusApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one("#changes", VirtualTable)
    return [tuple(text for text, _ in table.cells(k) or ()) for k in table.keys]


async def test_the_changes_screen_lists_the_teams_actions_with_who(
    sim: Simulator, tmp_path: Path
) -> None:
    store = open_history(tmp_path / "history.db")
    now = time.time()
    for ts, who, vmid, action in ((now - 120, "alice@jump1", 101, "stop"),
                                  (now - 60, "bob@jump2", 0, "node-reboot")):  # fmt: skip
        guest = "dc-ad-01" if vmid else ""
        upid = f"UPID:pve-a:{vmid}"
        record = ActionRecord(ts, "test", "argus@pve!tui", vmid, guest, "pve-a", action, upid,
                              "OK", 2.0, operator=who)  # fmt: skip
        store.record_action(record)
    app = ArgusApp(session_for(sim, history=store), interval=3600)
    async with app.run_test(size=(180, 30)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, ChangesScreen)
        assert [r[1:] for r in rows(app)] == [
            ("node-reboot", "node pve-a", "OK", "bob@jump2"),
            ("stop", "dc-ad-01 (101)", "OK", "alice@jump1"),
        ]
        title = str(app.screen.query_one("#changes-title").render())
        assert "and 2 actions" in title
    store.close()


async def test_the_status_line_says_the_team_database_is_away(
    sim: Simulator, tmp_path: Path
) -> None:
    store = open_history(url="postgresql://argus@127.0.0.1:9/argus", spool_dir=tmp_path, timeout=2)
    app = ArgusApp(session_for(sim, history=store), interval=3600)
    async with app.run_test(size=(180, 30)) as pilot:
        await settle(pilot)
        line = str(app.screen.query_one(StatusLine).render())
        # the refresh and its recent tasks, kept
        assert "history: team database unreachable, 2 kept" in line
        assert app.history_state == "team database unreachable, 2 kept"
    store.close()
    assert (tmp_path / "history-spool-snapshots.json").exists()  # for the next run
