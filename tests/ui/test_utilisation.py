"""Pilot tests of the utilisation screen (3), against the simulator over HTTPS."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Sparkline, Static

from argus_tui.domain.models import Entity
from argus_tui.services.session import Session
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens import utilisation
from argus_tui.ui.screens.utilisation import GuestUsage, NodeUsage, UtilisationScreen
from argus_tui.ui.widgets.usage import UsageRow, bar
from tests.ui.conftest import screen_lines, screen_text, session_for, settle


async def open_usage(pilot: Pilot[int]) -> UtilisationScreen:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, UtilisationScreen)
    return screen


def static_text(widget: Static) -> str:
    return str(widget.render())


def blocks(screen: UtilisationScreen) -> dict[str, NodeUsage]:
    return {static_text(b.title).split()[0]: b for b in screen.query(NodeUsage)}


def row_text(row: UsageRow) -> str:
    return static_text(row.value) + " | " + static_text(row.peak)


BAR = r"[█▏▎▍▌▋▊▉░]{12}"  # a fraction bar, 12 cells
PERCENT = r"\d{1,3}%"
RATE = r"[\d.]+[KMG]?/s"


async def test_nodes_totals_and_history(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_usage(pilot)
        totals = static_text(screen.query_one("#usage-totals", Static))
        assert "3/3 nodes online" in totals and "history: hour (60 samples)" in totals
        assert "of 80 CPUs" in totals  # 32 + 32 + 16, weighted CPU over online nodes
        lines = totals.splitlines()[1:]
        assert re.fullmatch(rf"CPU +{BAR} +{PERCENT} of 80 CPUs", lines[0]), lines
        assert re.fullmatch(rf"MEM +{BAR} +{PERCENT} [\d.]+G/320\.0G", lines[1]), lines
        assert re.fullmatch(rf"DISK +{BAR} +{PERCENT} [\d.]+G/2\.5T", lines[2]), lines
        nodes = blocks(screen)
        assert list(nodes) == ["pve-a", "pve-b", "pve-c"]
        pve_a = nodes["pve-a"]
        assert static_text(pve_a.title).startswith("pve-a  online  up ")
        cpu, mem = row_text(pve_a.rows["cpu"]), row_text(pve_a.rows["mem"])
        assert re.fullmatch(rf"CPU +{BAR} +{PERCENT} of 32 \| max {PERCENT}", cpu), cpu
        assert re.fullmatch(rf"MEM +{BAR} +{PERCENT} [\d.]+G/128\.0G \| max {PERCENT}", mem), mem
        net = row_text(pve_a.rows["netin"])
        assert re.fullmatch(rf"NET IN +{RATE} \| max {RATE}", net), net
        for row in pve_a.rows.values():
            assert row.spark.data is not None and len(row.spark.data) == 60
        assert all(0.0 <= v <= 1.0 for v in pve_a.rows["mem"].spark.data or [])
        assert len(screen.history(Entity.of_node("pve-a")) or []) == 60
        shown = screen_lines(app)
        assert any(line.startswith("pve-a  online  up ") for line in shown), shown
        assert any(re.match(rf"CPU +{BAR} +{PERCENT} of 32", line) for line in shown), shown


async def test_timeframe_key_cycles_and_refetches(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_usage(pilot)
        assert screen.timeframe == "hour"
        assert any(b.key == "t" and b.id == "usage.timeframe" for b in screen.BINDINGS)  # type: ignore[union-attr]
        assert "t Timeframe" in screen_lines(app)[-1]  # in the footer
        await pilot.press("t")
        await settle(pilot)
        assert screen.timeframe == "day"
        assert len(screen.history(Entity.of_node("pve-b")) or []) == 1440
        assert "history: day (1440 samples)" in static_text(
            screen.query_one("#usage-totals", Static)
        )
        assert len(blocks(screen)["pve-b"].rows["cpu"].spark.data or []) == 1440
        await pilot.press("t")
        await settle(pilot)
        assert screen.timeframe == "week"
        assert len(screen.history(Entity.of_node("pve-b")) or []) == 336
        await pilot.press("t")
        await settle(pilot)
        assert screen.timeframe == "hour"
        assert len(screen.history(Entity.of_node("pve-b")) or []) == 60


def count_rrd_calls(monkeypatch: pytest.MonkeyPatch) -> list[Entity]:
    """The node or guest of every rrddata call the session makes."""
    calls: list[Entity] = []
    rrd = Session.rrd

    def counting(self: Session, entity: Entity, timeframe: str) -> list[dict[str, float]]:
        calls.append(entity)
        return rrd(self, entity, timeframe)

    monkeypatch.setattr(Session, "rrd", counting)
    return calls


async def test_refetch_is_rate_limited(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_rrd_calls(monkeypatch)
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_usage(pilot)
        first = len(calls)
        assert first == 3 + (app.selected_guest is not None)  # nodes + the selected guest only
        for _ in range(3):
            await pilot.press("ctrl+r")
            await settle(pilot)
        assert app.refreshes >= 3 and len(calls) == first
        # 30 s later the next refresh fetches history again, once
        now = utilisation.clock()
        monkeypatch.setattr(utilisation, "clock", lambda: now + utilisation.REFETCH)
        for _ in range(2):
            await pilot.press("ctrl+r")
            await settle(pilot)
        assert len(calls) == 2 * first


async def test_selected_guest_graphs(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # guest 102, pg-primary on the guests screen
        await settle(pilot)
        assert app.selected_guest is not None
        vmid = app.selected_guest.vmid
        screen = await open_usage(pilot)
        panel = screen.query_one(GuestUsage)
        assert vmid == 102
        assert static_text(panel.title) == "102 pg-primary  qemu on pve-a  running"
        assert set(panel.rows) == {"cpu", "mem", "netin", "netout", "diskread", "diskwrite"}
        guest = app.selected_guest
        assert len(screen.history(Entity.of_guest(guest)) or []) == 60
        assert len(panel.rows["cpu"].spark.data or []) == 60
        read = row_text(panel.rows["diskread"])
        assert re.fullmatch(rf"READ +{RATE} \| max {RATE}", read), read


async def test_no_guest_selected(make_sim: Callable[..., Simulator]) -> None:
    """A token that sees no guest: the guests screen has nothing to select."""
    data = demo_data()
    data["user"].append({"id": "fresh@pve"})
    data["token"].append({"id": "fresh@pve!t1", "secret": "fresh", "privsep": True})
    sim = make_sim(data)
    app = ArgusApp(session_for(sim, "fresh@pve!t1", "fresh"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_usage(pilot)
        assert app.selected_guest is None
        notice = static_text(screen.query_one(GuestUsage).notice)
        assert notice == "none selected: highlight a guest on the guests screen (2)"


async def test_offline_node(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["node"][2]["status"] = "offline"
    sim = make_sim(data)
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_usage(pilot)
        totals = static_text(screen.query_one("#usage-totals", Static))
        assert "2/3 nodes online" in totals and "of 64 CPUs" in totals
        pve_c = blocks(screen)["pve-c"]
        assert "offline" in static_text(pve_c.title)
        cpu = row_text(pve_c.rows["cpu"])
        assert cpu.startswith("CPU") and " -" in cpu and "█" not in cpu  # nothing invented
        assert pve_c.rows["cpu"].has_class("-stale")
        assert any(line.startswith("pve-c  offline") for line in screen_lines(app))


async def test_usage_hidden_without_sys_audit(
    make_sim: Callable[..., Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = demo_data()
    data["user"].append({"id": "vmadmin@pve"})
    data["token"].append({"id": "vmadmin@pve!tui", "secret": "vm-secret", "privsep": False})
    data["acl"].append({"path": "/vms", "subject": "vmadmin@pve", "role": "PVEVMAdmin"})
    sim = make_sim(data)
    calls = count_rrd_calls(monkeypatch)
    app = ArgusApp(session_for(sim, "vmadmin@pve!tui", "vm-secret"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_usage(pilot)
        pve_a = blocks(screen)["pve-a"]
        assert static_text(pve_a.notice) == "usage hidden (no Sys.Audit on /nodes/pve-a)"
        assert not pve_a.rows["cpu"].display
        assert not any(e.kind == "node" for e in calls)  # no node rrddata asked for
        totals = static_text(screen.query_one("#usage-totals", Static))
        assert "usage of 3 online node(s) hidden" in totals
        assert "usage hidden (no Sys.Audit on /nodes/pve-a)" in screen_lines(app)


async def test_server_text_is_literal(make_sim: Callable[..., Simulator]) -> None:
    """Node names are validated by the simulator; a guest name carries the hostile text."""
    data = demo_data()
    data["guest"][0]["name"] = "[bold red]x[/]\x1b[2J"
    sim = make_sim(data)
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.selected_guest is not None and app.selected_guest.vmid == 100
        screen = await open_usage(pilot)
        title = static_text(screen.query_one(GuestUsage).title)
        assert "[bold red]x[/]\\x1b[2J" in title
        assert "\x1b" not in screen_text(app)


async def test_renders_at_80x24_and_200x50(sim: Simulator) -> None:
    for size in ((80, 24), (200, 50)):
        app = ArgusApp(session_for(sim))
        async with app.run_test(size=size) as pilot:
            screen = await open_usage(pilot)
            await pilot.press("t")
            await settle(pilot)
            shown = screen_lines(app)
            assert any(line.startswith("Cluster  3/3 nodes online") for line in shown), shown
            assert any(line.startswith("CPU ") for line in shown), shown
            row = blocks(screen)["pve-a"].rows["cpu"]
            assert row.spark.size.width >= 15
            assert row.region.right <= size[0]
            await pilot.press("pagedown", "end")
            await settle(pilot)
            assert isinstance(app.screen, UtilisationScreen)
        assert app.return_code in (None, 0)


def test_bar_thresholds() -> None:
    assert bar(None, 4).plain == "····"
    assert bar(0.5, 4).plain == "██░░"
    assert bar(1.5, 4).plain == "████"
    assert str(bar(0.85, 4).spans[0].style) == "yellow"
    assert str(bar(0.95, 4).spans[0].style) == "bold red"
    assert str(bar(0.10, 4).spans[0].style) == "green"
    assert len(bar(0.33, 12).plain) == 12


def test_sparkline_is_textual() -> None:
    assert issubclass(type(UsageRow("CPU").spark), Sparkline)


async def test_graphs_draw_levels_on_screen(sim: Simulator) -> None:
    """gw-edge-01 runs at 2-3 % CPU: its graph is the lowest block, not full blocks; the
    nodes' memory at 34-58 % sits in the middle rows; a rate never fills the row flat."""
    app = ArgusApp(session_for(sim))
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await open_usage(pilot)
        panel = screen.query_one(GuestUsage)
        assert static_text(panel.title).startswith("100 gw-edge-01")
        lines = screen_lines(app)
        start = next(n for n, line in enumerate(lines) if line.startswith("100 gw-edge-01"))
        cpu = lines[start + 1]
        assert re.fullmatch(rf"CPU +{BAR} +2% of 2 +▁+ max 3%", cpu), cpu
        for node in ("pve-a", "pve-b", "pve-c"):
            at = next(n for n, line in enumerate(lines) if line.startswith(f"{node}  online"))
            mem = lines[at + 2].split()[-3]  # the graph, before "max NN%"
            assert set(mem) <= set("▃▄▅"), (node, lines[at + 2])
        for line in lines:
            if line.startswith(("NET IN", "NET OUT", "READ", "WRITE")):
                graph = line.split()[-3]
                assert len(graph) > 40 and set(graph) != {"█"}, line
