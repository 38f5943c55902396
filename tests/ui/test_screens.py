"""Pilot tests of the main screens and flows, against the simulator over HTTPS."""

from __future__ import annotations

import re
from collections.abc import Callable

from textual.widgets import Input, Static

from argus_tui.errors import ConfigError
from argus_tui.services.session import Session
from argus_tui.sim.demo import demo_data
from argus_tui.sim.scenario import FaultRule, Faults
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.help import HelpScreen
from argus_tui.ui.screens.nodes import NodesScreen
from argus_tui.ui.screens.task_log import TaskLogScreen
from argus_tui.ui.screens.tasks import TasksScreen
from argus_tui.ui.widgets.bars import StatusLine
from argus_tui.ui.widgets.table import VirtualTable
from tests.ui.conftest import session_for, settle, watch_notifications


def table(app: ArgusApp, selector: str) -> VirtualTable:
    return app.screen.query_one(selector, VirtualTable)


def names(app: ArgusApp) -> list[str]:
    t = table(app, "#guests")
    return [t.cells(k)[1][0] for k in t.keys]  # type: ignore[index]


def status_text(app: ArgusApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


async def test_guests_screen_populates(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim, demo=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, GuestsScreen)
        guests = table(app, "#guests")
        assert guests.row_count == 25
        assert guests.keys[:3] == [100, 101, 102]  # sorted by vmid
        assert "tmpl-debian-13 [template]" in names(app)
        # fresh data: its age is a second or two at most, however busy the machine is
        assert "DEMO" in status_text(app) and re.search(r"data [0-2]s old", status_text(app))
        header = str(app.screen.query_one("ClusterHeader", Static).render())
        assert "acme-prod" in header and "quorate" in header and "nodes 3/3" in header


async def test_filter_sort_marks_and_cursor_survive_refresh(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "p", "g")
        assert names(app) == ["pg-primary", "pg-replica"]
        await pilot.press("enter")
        assert app.screen.query_one("#guest-filter", Input).value == "pg"
        await pilot.press("escape")
        assert table(app, "#guests").row_count == 25
        # a regex matches each field: ^web finds web-* names and guests tagged web
        await pilot.press("slash", *"/^web|k8s/")
        assert set(names(app)) == {"web-frontend-01", "web-frontend-02", "k8s-cp-1",
                                   "k8s-worker-1", "k8s-worker-2", "nginx-lb-01",
                                   "redis-cache"}  # fmt: skip
        await pilot.press("escape")
        # cursor and marks are kept by key across a refresh
        guests = table(app, "#guests")
        await pilot.press("home", "down", "down", "space")
        marked = set(guests.marked)
        cursor = guests.cursor_key
        assert marked == {102} and cursor == 103
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.refreshes >= 2
        assert set(guests.marked) == marked and guests.cursor_key == cursor
        # sort by the next column (name), then back
        await pilot.press("s")
        assert guests.sort_key == "name" and names(app)[0] == "backup-proxy"
        assert guests.cursor_key == cursor  # the cursor follows the row, not the index


async def test_details_panel_loads_lazily(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        await pilot.pause(0.4)
        await settle(pilot)
        text = str(app.screen.query_one("#guest-details-text").render())
        assert "pg-primary" in text and "scsi0" in text and "qmpstatus" in text


async def test_nodes_screen_shows_offline_nodes(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["node"][2]["status"] = "offline"
    sim = make_sim(data)
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, NodesScreen)
        nodes = table(app, "#nodes")
        assert nodes.keys == ["pve-a", "pve-b", "pve-c"]
        row = nodes.cells("pve-c")
        assert row is not None and row[1] == ("offline", "bad")
        loaded = nodes.cells("pve-a")
        assert loaded is not None and loaded[3][0] != "-" and loaded[7][0] == "9.1.2"


async def test_tasks_screen_and_log(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(frozen=False)  # "failed in the last 24 h" is measured against real time
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, TasksScreen)
        tasks = table(app, "#tasks")
        assert tasks.row_count >= 7
        alerts = str(app.screen.query_one("#alerts", Static).render())
        assert "1 failed task in 24 h" in alerts and "locked: erp-app (backup)" in alerts
        await pilot.press("f")
        assert tasks.row_count == 1
        failed = tasks.cells(tasks.keys[0])
        assert failed is not None and failed[6] == ("start failed: QEMU exited with code 1", "bad")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TaskLogScreen)
        log = app.screen.query_one("#log")
        lines = [str(line.text) for line in log.lines]  # type: ignore[attr-defined]
        assert lines[-1] == "TASK ERROR: start failed: QEMU exited with code 1"
        await pilot.press("escape")
        assert isinstance(app.screen, TasksScreen)


async def test_running_task_log_tails_to_its_end(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(frozen=False)
    from tests.conftest import client_for

    client_for(sim).nodes("pve-a").qemu(106).status.shutdown.post()
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        tasks = table(app, "#tasks")
        first = tasks.cells(tasks.keys[0])
        assert first is not None and first[6] == ("running", "accent")  # running tasks first
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TaskLogScreen)
        for _ in range(100):
            await pilot.pause(0.1)
            if screen.finished:
                break
        await settle(pilot)
        lines = [str(line.text) for line in screen.query_one("#log").lines]  # type: ignore[attr-defined]
        assert lines[0].startswith("requesting shutdown") and lines[-1] == "TASK OK"


async def test_help_is_built_from_the_live_key_map(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_screen = app.screen
        text = " ".join(d for _, d in help_screen.rows)
        for word in ("Filter", "Sort", "Mark", "Nodes", "Tasks", "Quit"):
            assert word in text
        # The screen's own keys lead; Textual's generic keys (palette) come last.
        descriptions = [d for _, d in help_screen.rows]
        assert help_screen.rows[0] == help_screen.groups["screen"][0]
        assert descriptions.index("Filter") < descriptions.index("Nodes")
        assert descriptions.index("Filter") < descriptions.index("Up")
        if "terminal" in help_screen.groups:
            generic = help_screen.groups["terminal"][0][1]
            assert descriptions.index(generic) > descriptions.index("Quit")
        await pilot.press("escape")
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(d for _, d in app.screen.rows)
        assert "Failed only" in text and "Filter" in text and "Mark" not in text


async def test_command_line_aliases(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"nodes", "enter")
        assert isinstance(app.screen, NodesScreen)
        await pilot.press("colon", *"ct", "enter")
        await settle(pilot)
        assert isinstance(app.screen, GuestsScreen)
        assert set(table(app, "#guests").keys) == set(range(200, 210))
        notice = str(app.screen.query_one("#guest-notice", Static).render())
        assert "showing containers only" in notice
        await pilot.press("escape")  # back to every guest
        await settle(pilot)
        assert table(app, "#guests").row_count == 25
        assert not app.screen.query_one("#guest-notice", Static).display
        await pilot.press("colon", *"bogus", "enter")
        await pilot.press("colon", *"quit", "enter")
    assert app.return_code == 0


async def test_stale_badge_keeps_last_data_and_recovers(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim), interval=1)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert table(app, "#guests").row_count == 25
        sim.set_faults(Faults(rules=[FaultRule(error_rate=1.0, error_status=500)]))
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "STALE" in status_text(app) and "fault injection" in status_text(app)
        assert "retry in " in status_text(app) and "(ctrl+r now)" in status_text(app)
        assert table(app, "#guests").row_count == 25  # last good data stays
        assert app.session.backoff.failures == 1
        sim.set_faults(Faults())
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "STALE" not in status_text(app) and app.session.backoff.failures == 0


async def test_first_connect_failure_shows_offline(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    session = session_for(sim)
    sim.stop()
    app = ArgusApp(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "OFFLINE" in status_text(app) and "connection refused" in status_text(app)
        assert table(app, "#guests").row_count == 0


async def test_permission_gap_is_said_in_place(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["user"].append({"id": "fresh@pve"})
    data["token"].append({"id": "fresh@pve!t1", "secret": "fresh", "privsep": True})
    sim = make_sim(data)
    app = ArgusApp(session_for(sim, "fresh@pve!t1", "fresh"))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        notice = str(app.screen.query_one("#guest-notice", Static).render())
        assert "no VM.Audit on /vms: guests are hidden; see `argus doctor`" in notice


async def test_hostile_names_render_literally(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["guest"][0]["name"] = "[bold red]x[/]\x1b[2J"
    sim = make_sim(data)
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(200, 45)) as pilot:
        await settle(pilot)
        assert names(app)[0] == "[bold red]x[/]\x1b[2J"  # the model keeps the data
        strip = table(app, "#guests").render_line(1)
        rendered = "".join(segment.text for segment in strip)
        assert "[bold red]x[/]\\x1b[2J" in rendered and "\x1b" not in rendered


async def test_usable_at_80x24(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("2", "1", "3", "4", "2"):
            await pilot.press(key)
            await settle(pilot)
        assert table(app, "#guests").row_count == 25


async def test_keys_can_be_remapped(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim), keymap={"power.stop": "ctrl+k", "guests.filter": "f"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        keys = {active.binding.id: key for key, active in app.screen.active_bindings.items()}
        assert keys["power.stop"] == "ctrl+k" and keys["guests.filter"] == "f"
        await pilot.press("f")
        assert app.screen.query_one("#guest-filter", Input).has_focus


async def test_profile_command_switches_cluster(make_sim: Callable[..., Simulator]) -> None:
    first = make_sim()
    data = demo_data()
    data["cluster"]["name"] = "lab"
    second = make_sim(data)

    def open_profile(name: str) -> Session:
        if name != "lab":
            raise ConfigError(f"no profile named {name!r}")
        return session_for(second)

    app = ArgusApp(session_for(first), open_profile=open_profile)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.snapshot is not None and app.snapshot.cluster.name == "acme-prod"
        await pilot.press("colon", *"profile nope", "enter")
        await settle(pilot)
        assert app.snapshot.cluster.name == "acme-prod"  # a bad name changes nothing
        await pilot.press("colon", *"profile lab", "enter")
        await settle(pilot)
        await settle(pilot)
        assert app.snapshot is not None and app.snapshot.cluster.name == "lab"
        assert app.session.address == f"127.0.0.1:{second.port}"


async def test_slash_filters_the_nodes_and_tasks_tables_too(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        nodes = table(app, "#nodes")
        await pilot.press("slash", *"pve-c")
        assert nodes.keys == ["pve-c"]
        await pilot.press("escape")
        assert nodes.keys == ["pve-a", "pve-b", "pve-c"]
        # Enter on a node: the guests screen, filtered to that node's guests.
        nodes.move_to("pve-c")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, GuestsScreen)
        guests = table(app, "#guests")
        assert guests.row_count and all(str(guests.cells(k)[3][0]) == "pve-c" for k in guests.keys)  # type: ignore[index]
        await pilot.press("escape", "4")
        await settle(pilot)
        await pilot.press("slash", *"qmstart")
        await settle(pilot)
        tasks = table(app, "#tasks")
        assert tasks.row_count >= 1
        assert all(str(tasks.cells(k)[2][0]) == "qmstart" for k in tasks.keys)  # type: ignore[index]
        await pilot.press("escape")
        await settle(pilot)
        assert tasks.row_count > 1


def test_keymap_problems_name_unknown_ids_and_stolen_keys() -> None:
    from argus_tui.ui.keymap import keymap_problems

    groups = ArgusApp(session_for_nothing()).binding_ids()  # type: ignore[arg-type]
    assert groups["guests"]["power.start"] == "S"
    problems = keymap_problems({"nope.x": "ctrl+x", "power.stop": "S"}, groups)
    assert problems[0].startswith("[ui.keymap] 'nope.x' is not a binding id")
    assert any("'power.stop' = 'S' takes S from 'power.start'" in p for p in problems)
    assert keymap_problems({"power.stop": "ctrl+k"}, groups) == []


def session_for_nothing() -> object:
    """The app's binding table needs no connection: a Session is only stored."""
    from argus_tui.domain.secret import Secret
    from argus_tui.pve.client import PveClient
    from argus_tui.pve.settings import ConnectionSettings, TlsConfig

    client = PveClient(ConnectionSettings("127.0.0.1", 9, "a@pve!t", Secret("x"), TlsConfig()))
    return Session(client)


async def test_settings_warnings_are_shown_at_start(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim), keymap={"nope.x": "ctrl+x"}, warnings=["config: odd"])
    notes = watch_notifications(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert notes[:2] == [
            ("Settings", "config: odd", "warning"),
            ("Settings", "[ui.keymap] 'nope.x' is not a binding id; see the README", "warning"),
        ]


def test_command_words_come_from_the_screen_registry() -> None:
    from argus_tui.ui.messages import OpenProfile, OpenScreen, QuitRequested, RefreshRequested
    from argus_tui.ui.screens.command import parse_command

    assert parse_command(":vm") == OpenScreen("guests", "vm", "")
    assert parse_command("changes  24h ") == OpenScreen("changes", "changes", "24h")
    assert parse_command("usage") == OpenScreen("utilisation", "usage", "")
    assert parse_command("profile lab") == OpenProfile("lab")
    assert parse_command("profile") == "Usage: :profile NAME (see 'argus profiles')"
    assert isinstance(parse_command("q"), QuitRequested)
    assert isinstance(parse_command("r"), RefreshRequested)
    unknown = str(parse_command("bogus"))
    assert unknown.startswith("Unknown command 'bogus'")
    assert ":guests" in unknown and ":profile NAME" in unknown
