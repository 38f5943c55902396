"""`c` on the guests screen (Console) and on the nodes screen (Shell): offered only where
the server would open one, `w` saying why not; and the flow around the step that hands
the terminal over, with a terminal of pipes in its place (headless Textual cannot
suspend) but the real console of the simulator behind it.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from argus_tui.domain.console import (
    ConsoleTarget,
    login_notice,
    no_serial_text,
    tokens_refused_text,
)
from argus_tui.services.console import ConsoleMemo
from argus_tui.sim.server import Simulator
from argus_tui.store import open_history
from argus_tui.ui.keymap import keymap_problems
from argus_tui.ui.screens.nodes import NodesScreen
from argus_tui.ui.screens.power import ConfirmAction
from argus_tui.ui.widgets.guest_details import GuestDetails
from tests.ui.con_pilot import (
    CT,
    GUEST_KEYS,
    NODE_KEYS,
    SERIAL_VM,
    con_app,
    con_sim,
    why_console,
)
from tests.ui.conftest import settle, until, watch_notifications
from tests.ui.ops_pilot import driving, guests_screen, keys_shown, press_hidden, select, status_text

WIDE = (200, 45)  # the details panel is open: a VM's config is known once it loads
NARROW = (120, 40)  # no details panel: a VM's serial port is known only to `prepare`


async def details_loaded(pilot: Pilot[int], vmid: int) -> None:
    panel = pilot.app.screen.query_one(GuestDetails)
    await until(pilot, lambda: panel.config(vmid) is not None, f"the config of {vmid}")
    await pilot.pause()


async def why(pilot: Pilot[int], label: str) -> str | None:
    """What `w` says about `label` (None: allowed), then the modal closed."""
    await pilot.press("w")
    reason = why_console(pilot.app, label)
    await pilot.press("escape")
    return reason


# -- which guests and nodes offer the key -------------------------------------------------


async def test_console_offered_on_running_guests_with_a_console(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    app, _ = con_app(sim, tmp_path / "console.json")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await select(pilot, CT)
        assert await keys_shown(pilot, GUEST_KEYS) == {"Console"}
        assert await why(pilot, "Console") is None

        await select(pilot, SERIAL_VM)
        await details_loaded(pilot, SERIAL_VM)
        assert await keys_shown(pilot, GUEST_KEYS) == {"Console"}

        await select(pilot, 104)  # stopped
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
        assert await why(pilot, "Console") == "it is stopped: only a running guest has a console"

        await select(pilot, 9000)
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
        assert "template" in (await why(pilot, "Console") or "")


async def test_a_vm_without_a_serial_port_loses_the_key_once_its_config_is_known(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    app, terminal = con_app(sim, tmp_path / "console.json")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await select(pilot, 101)
        await details_loaded(pilot, 101)
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
        reason = await why(pilot, "Console")
        assert reason == no_serial_text(101)
        assert "qm set 101 --serial0 socket" in reason and "getty" in reason
        await press_hidden(pilot, sim, ["c"], app.screen)
        assert terminal.plans == []
        # A closed panel keeps nothing current: the key is offered, `prepare` decides.
        await pilot.press("d")
        assert await keys_shown(pilot, GUEST_KEYS) == {"Console"}


async def test_console_absent_without_vm_console(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    app, terminal = con_app(sim, tmp_path / "console.json", "operator")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await select(pilot, CT)
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
        assert await why(pilot, "Console") == f"needs VM.Console on /vms/{CT}"
        await press_hidden(pilot, sim, ["c"], app.screen)
        assert terminal.plans == []


async def test_shell_offered_with_sys_console_only(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    for who, offered in (("console", {"Shell"}), ("operator", set())):
        app, _ = con_app(sim, tmp_path / f"{who}.json", who, read_only=True)
        async with app.run_test(size=WIDE) as pilot:
            await settle(pilot)
            await pilot.press("1")
            await settle(pilot)
            assert isinstance(app.screen, NodesScreen)
            # A read-only profile may open a shell: it changes nothing by itself.
            assert await keys_shown(pilot, NODE_KEYS) == offered, who
            reason = await why(pilot, "Shell")
            assert reason == (None if offered else "needs Sys.Console on /nodes/pve-a")


# -- the flow around the step that hands the terminal over -------------------------------


async def test_a_console_session_comes_back_where_it_was(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    history = open_history(tmp_path / "h.db")
    app, terminal = con_app(sim, tmp_path / "console.json", history=history)
    terminal.typed = b"hostname\rexit\r"
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, CT)
        refreshes = app.refreshes
        await pilot.press("c")
        await until(pilot, lambda: "ended" in status_text(app), "the console to end")
        await settle(pilot)
        [plan] = terminal.plans
        assert plan.target == ConsoleTarget("lxc", "pve-b", CT, "cache01")
        assert b"press ctrl+] to return" in terminal.shown
        assert b"root@cache01:~# hostname\r\ncache01" in terminal.shown
        screen = guests_screen(app)
        assert screen.table.cursor_key == CT  # exactly where the user was
        assert "the console of CT 103 (cache01) ended" in status_text(app)
        assert app.refreshes > refreshes  # refreshed at once (the interval is an hour)
        [row] = [r for r in history.actions() if r["action"] == "console"]
        assert (row["vmid"], row["guest"], row["node"]) == (CT, "cache01", "pve-b")
        assert row["result"].startswith("ended")
        assert row["upid"].startswith("UPID:pve-b:")


async def test_prepare_refusing_is_said_without_handing_the_terminal_over(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    """Without the details panel a VM's serial port is unknown: the key is offered, and
    the server's answer (no serial socket) is said; the TUI never suspends for it."""
    sim = con_sim(make_sim)
    app, terminal = con_app(sim, tmp_path / "console.json")
    notes = watch_notifications(app)
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await select(pilot, 101)
        assert await keys_shown(pilot, GUEST_KEYS) == {"Console"}
        await pilot.press("c")
        await until(pilot, lambda: "serial" in status_text(app), "the refusal")
        await settle(pilot)
        assert terminal.plans == []
        assert ("Console not opened", no_serial_text(101), "error") in notes
        guests_screen(app)  # still there: nothing was suspended or pushed


async def test_a_console_that_fails_says_why_in_an_error_toast(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    """The VM loses its serial socket between the checks and the console: `qm terminal`
    says so and the console closes at once; that is an error, not a session that ended."""
    sim = con_sim(make_sim)
    app, terminal = con_app(sim, tmp_path / "console.json")
    notes = watch_notifications(app)

    def unplug() -> None:
        with sim.state.lock:
            sim.state.guests[SERIAL_VM].serial = ""

    terminal.before = unplug
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, SERIAL_VM)
        await details_loaded(pilot, SERIAL_VM)
        await pilot.press("c")
        await until(pilot, lambda: "closed" in status_text(app), "the console to close")
        await settle(pilot)
        text = f"the console of VM {SERIAL_VM} (db01) closed: {no_serial_text(SERIAL_VM)}"
        assert text in status_text(app)
        assert ("Console", text, "error") in notes
        assert b"unable to find a serial interface" in terminal.shown
        guests_screen(app)
        assert not app.console_open  # the next console may open
        # The refresh at once brings the config without the port: the key goes.
        panel = app.screen.query_one(GuestDetails)
        await until(pilot, lambda: "serial0" not in (panel.config(SERIAL_VM) or {}), "config")
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()


async def test_a_server_refusing_tokens_hides_the_key_and_says_so_once(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim, console_tokens=False)
    memo = tmp_path / "console.json"
    app, terminal = con_app(sim, memo)
    notes = watch_notifications(app)
    target = ConsoleTarget("lxc", "pve-b", CT, "cache01")
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await select(pilot, CT)
        assert await keys_shown(pilot, GUEST_KEYS) == {"Console"}  # not known yet
        await pilot.press("c")
        await until(pilot, lambda: "refused" in status_text(app), "the refusal")
        await settle(pilot)
        assert len(terminal.plans) == 1  # it was tried once
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
        assert await why(pilot, "Console") == tokens_refused_text(target)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await select(pilot, SERIAL_VM)  # every guest: it is the server's build
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
        said = [n for n in notes if n[0] == "Consoles unavailable"]
        assert said == [("Consoles unavailable", tokens_refused_text(target), "error")]
        assert "qemu-server >= 9.1.7" in said[0][1]

    # Remembered per server and version: the next run does not offer it either.
    again, _ = con_app(sim, memo)
    async with again.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await select(pilot, CT)
        assert await keys_shown(pilot, GUEST_KEYS) == frozenset()
    assert ConsoleMemo(memo).refused(again.session.console.address, "9.1.2", shell=False)


async def test_the_node_shell_asks_first_naming_the_login_prompt(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    history = open_history(tmp_path / "h.db")
    app, terminal = con_app(sim, tmp_path / "console.json", history=history)
    terminal.typed = b"\x1d"  # ctrl+] at the login prompt: back to the TUI
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        nodes = app.screen
        await pilot.press("c")
        modal = app.screen
        assert isinstance(modal, ConfirmAction)
        question = modal.question.plain
        assert "pve-a" in question and login_notice("pve-a") in question
        assert "Linux login prompt" in question and "root@pam" in question
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is nodes and terminal.plans == []
        assert "cancelled" in status_text(app)

        await pilot.press("c", "y")
        await until(pilot, lambda: "left" in status_text(app), "the shell to end")
        await settle(pilot)
        [plan] = terminal.plans
        assert plan.target == ConsoleTarget.of_node("pve-a")
        assert b"pve-a login: " in terminal.shown
        assert app.screen is nodes
        assert "left the shell of node pve-a" in status_text(app)
        [row] = [r for r in history.actions() if r["action"] == "shell"]
        assert (row["node"], row["target"], row["result"]) == (
            "pve-a",
            "pve-a",
            "left: left the shell of node pve-a",
        )


async def test_a_shell_refused_by_the_build_loses_its_key(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim, console_tokens=False)
    app, terminal = con_app(sim, tmp_path / "console.json")
    notes = watch_notifications(app)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("c", "y")
        await until(pilot, lambda: "refused" in status_text(app), "the refusal")
        await settle(pilot)
        assert await keys_shown(pilot, NODE_KEYS) == frozenset()
        shell = ConsoleTarget.of_node("pve-a")
        assert await why(pilot, "Shell") == tokens_refused_text(shell)
        assert [n[0] for n in notes].count("Shells unavailable") == 1
        # Guests' consoles are a different package: their key stays until refused too.
        await pilot.press("2")
        await settle(pilot)
        await select(pilot, CT)
        assert await keys_shown(pilot, GUEST_KEYS) == {"Console"}
        assert len(terminal.plans) == 1


async def test_the_leave_key_comes_from_the_keymap(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    app, terminal = con_app(sim, tmp_path / "console.json", keymap={"console.leave": "ctrl+x"})
    terminal.typed = b"\x1d\x18"  # ctrl+] is the guest's now; ctrl+x leaves
    async with driving(app, sim) as pilot:
        await settle(pilot)
        assert app.startup_warnings == []
        await select(pilot, CT)
        await pilot.press("c")
        await until(pilot, lambda: "left" in status_text(app), "the console to be left")
        assert b"press ctrl+x to return" in terminal.shown
        assert "left the console of CT 103 (cache01)" in status_text(app)


def test_keymap_checks_the_leave_key() -> None:
    groups = {"app": {"app.quit": "q"}, "guests": {"guests.console": "c"}}
    assert keymap_problems({"console.leave": "ctrl+x"}, groups) == []
    [problem] = keymap_problems({"console.leave": "x"}, groups)
    assert "'console.leave'" in problem and "ctrl+" in problem and "ctrl+] is used" in problem


async def test_a_signal_during_the_console_exits_once_the_terminal_is_back(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = con_sim(make_sim)
    history = open_history(tmp_path / "h.db")
    app, terminal = con_app(sim, tmp_path / "console.json", history=history)
    terminal.signal = signal.SIGTERM
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await select(pilot, CT)
        await pilot.press("c")
        await until(pilot, lambda: not app.is_running, "the app to exit")
    assert app.return_value == 128 + signal.SIGTERM  # what `argus` exits with
    assert b"press ctrl+] to return" in terminal.shown
    [row] = [r for r in history.actions() if r["action"] == "console"]
    assert row["result"].startswith("signal")
