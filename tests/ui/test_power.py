"""Power control in the TUI: which keys each ACL shows, and the flows behind the keys.

Everything runs against the simulator over HTTPS with a frozen clock: a task only ends
when the test calls `sim.advance(...)`, so "while it runs" is a state a test can hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._toast import Toast

from argus_tui.sim.demo import demo_data
from argus_tui.sim.permissions import PermissionEngine
from argus_tui.sim.server import Simulator
from argus_tui.store import open_history
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.help import HelpScreen
from argus_tui.ui.screens.power import BulkPlan, ConfirmAction, WhyNot
from argus_tui.ui.widgets.bars import StatusLine
from tests.ui.conftest import session_for, settle, until, watch_notifications
from tests.ui.ops_pilot import guests_screen, select

# Footer label -> key, in the order of the bindings.
POWER_KEYS = {
    "Start": "S",
    "Shutdown": "D",
    "Stop": "K",
    "Reboot": "R",
    "Reset": "X",
    "Suspend": "Z",
    "Hibernate": "H",
    "Resume": "U",
}
POWER = frozenset(POWER_KEYS)
NONE: frozenset[str] = frozenset()
RUNNING_QEMU = frozenset({"Shutdown", "Stop", "Reboot", "Reset", "Suspend", "Hibernate"})
RUNNING_LXC = frozenset({"Shutdown", "Stop", "Reboot", "Suspend"})
STOPPED = frozenset({"Start"})
PAUSED = frozenset({"Stop", "Resume"})

# -- the ACL scenarios: one simulator, one token per case ---------------------------------


def acl_scenario() -> dict[str, Any]:
    """The demo cluster plus one token per ACL case; see `secret_of` for the secrets."""
    data = demo_data()
    users = ["aud", "vmu", "one", "pool", "sep", "noac"]
    data["user"] += [{"id": f"{u}@pve"} for u in users]
    data["token"] += [
        {"id": f"{u}@pve!tui", "secret": f"{u}-secret", "privsep": u == "sep"} for u in users
    ]
    data["acl"] += [
        # (a) auditor only
        {"path": "/", "subject": "aud@pve", "role": "PVEAuditor"},
        # (b) PVEVMUser on /vms
        {"path": "/vms", "subject": "vmu@pve", "role": "PVEVMUser"},
        # (c) auditor everywhere, PVEVMUser on one guest
        {"path": "/", "subject": "one@pve", "role": "PVEAuditor"},
        {"path": "/vms/102", "subject": "one@pve", "role": "PVEVMUser"},
        # (d) auditor everywhere, PVEVMUser through the finance pool (102-105)
        {"path": "/", "subject": "pool@pve", "role": "PVEAuditor"},
        {"path": "/pool/finance", "subject": "pool@pve", "role": "PVEVMUser"},
        # (e) privilege-separated token: the token may, its user may not
        {"path": "/", "subject": "sep@pve", "role": "PVEAuditor"},
        {"path": "/vms", "subject": "sep@pve!tui", "role": "PVEVMUser"},
        # (f) PVEVMUser on /vms, NoAccess on 103
        {"path": "/vms", "subject": "noac@pve", "role": "PVEVMUser"},
        {"path": "/vms/103", "subject": "noac@pve", "role": "NoAccess"},
    ]
    return data


# case -> (token id, expected power keys by vmid, guests that must be invisible).
# Hidden keys are pressed on the first guest listed.
ACL_CASES: dict[str, tuple[str, dict[int, frozenset[str]], frozenset[int]]] = {
    "auditor": ("aud@pve!tui", {101: NONE, 109: NONE, 110: NONE, 200: NONE}, frozenset()),
    "vmuser_on_vms": (
        "vmu@pve!tui",
        {101: RUNNING_QEMU, 109: PAUSED, 110: STOPPED, 200: RUNNING_LXC, 207: STOPPED, 9000: NONE},
        frozenset(),
    ),
    "one_guest": ("one@pve!tui", {101: NONE, 102: RUNNING_QEMU, 103: NONE}, frozenset()),
    "pool": (
        "pool@pve!tui",
        {
            101: NONE,
            102: RUNNING_QEMU,
            103: RUNNING_QEMU,
            104: NONE,  # locked (backup): Proxmox would refuse every action
            105: STOPPED,
            110: NONE,
            200: NONE,
        },
        frozenset(),
    ),
    "privsep_user_lacks": ("sep@pve!tui", {101: NONE, 105: NONE, 200: NONE}, frozenset()),
    "noaccess_on_one": (
        "noac@pve!tui",
        {102: RUNNING_QEMU, 101: RUNNING_QEMU, 104: NONE, 110: STOPPED},
        frozenset({103}),
    ),
}


def secret_of(token_id: str) -> str:
    return token_id.split("@", 1)[0] + "-secret"


# -- helpers ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def driving(app: ArgusApp, sim: Simulator) -> AsyncIterator[Pilot[int]]:
    """`app.run_test`, and at the end every task ends on the frozen clock.

    PowerService.follow cannot be cancelled (see test_quitting_stops_following_the_task):
    a test failing while Argus follows a task would otherwise hang at loop shutdown.
    """
    async with app.run_test(size=(200, 45)) as pilot:
        try:
            yield pilot
        finally:
            sim.advance(3600)
            # Let the last refresh land before the app closes: a snapshot arriving while
            # the screen is being torn down crashes show_snapshot.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.workers.wait_for_complete(), 3)
            await pilot.pause()


def active_power(app: ArgusApp) -> frozenset[str]:
    """Power actions among the screen's active bindings (check_action not False)."""
    labels = {active.binding.description for active in app.screen.active_bindings.values()}
    return frozenset(labels & POWER)


def footer_power(app: ArgusApp) -> frozenset[str]:
    """Power actions as the footer shows them."""
    labels = {str(key.description) for key in app.screen.query("FooterKey")}  # type: ignore[attr-defined]
    return frozenset(labels & POWER)


def help_power(app: ArgusApp) -> frozenset[str]:
    """Power actions the help would list for the current screen (built as `?` builds it)."""
    return _help_labels(HelpScreen(app.screen).rows)


async def pushed_help_power(pilot: Pilot[int]) -> frozenset[str]:
    """Power actions in the help that `?` really opens."""
    await pilot.press("question_mark")
    help_screen = pilot.app.screen
    assert isinstance(help_screen, HelpScreen)
    found = _help_labels(help_screen.rows)
    await pilot.press("escape")
    assert isinstance(pilot.app.screen, GuestsScreen)
    return found


def _help_labels(rows: list[tuple[str, str]]) -> frozenset[str]:
    by_key = dict(rows)
    found = frozenset(d for _, d in rows if d in POWER)
    for label in found:  # the help names the real key for each action
        assert by_key.get(POWER_KEYS[label]) == label, rows
    return found


def status_text(app: ArgusApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


async def shown(pilot: Pilot[int], selector: str) -> list[str]:
    """The lines of a Static on the current (modal) screen, once it has been composed."""
    screen = pilot.app.screen
    await until(pilot, lambda: bool(screen.query(selector)), f"{selector} composed")
    return rendered(screen.query_one(selector, Static))


def rendered(static: Static, width: int = 100) -> list[str]:
    """What a Static holding a rich renderable shows: its non-empty lines, spaces collapsed."""
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    console.print(static.content)
    return [" ".join(line.split()) for line in console.export_text().splitlines() if line.strip()]


def task_types(sim: Simulator, keys: set[str]) -> list[tuple[str, str, str]]:
    """(type, id, user) of the given tasks, in creation order."""
    order = [k for k in sim.state.task_order if k in keys]
    return [
        (sim.state.tasks[k].upid.type, sim.state.tasks[k].upid.id, sim.state.tasks[k].upid.user)
        for k in order
    ]


def new_tasks(sim: Simulator, before: set[str]) -> set[str]:
    return set(sim.state.tasks) - before


def fast(app: ArgusApp) -> ArgusApp:
    app.session.runner.poll = 0.05  # the runner follows every task
    return app


async def press_hidden(pilot: Pilot[int], sim: Simulator, hidden: frozenset[str]) -> None:
    """Pressing keys the footer does not offer changes nothing: no modal, no task, no move."""
    app = pilot.app
    screen = guests_screen(app)  # type: ignore[arg-type]
    cursor = screen.table.cursor_key
    before = set(sim.state.tasks)
    await pilot.press(*(POWER_KEYS[label] for label in sorted(hidden)))
    for _ in range(3):  # bounded: a worker following a task would never complete
        try:
            await asyncio.wait_for(app.workers.wait_for_complete(), 3)
        except TimeoutError:
            raise AssertionError("a hidden key started a worker that is still running") from None
        await pilot.pause()
    assert app.screen is screen, f"a hidden key opened {type(app.screen).__name__}"
    assert set(sim.state.tasks) == before
    assert screen.table.cursor_key == cursor


# -- 1. which keys each ACL shows ---------------------------------------------------------


@pytest.mark.parametrize("case", list(ACL_CASES))
async def test_power_keys_follow_the_acl(make_sim: Callable[..., Simulator], case: str) -> None:
    token_id, expected, invisible = ACL_CASES[case]
    sim = make_sim(acl_scenario())
    app = ArgusApp(session_for(sim, token_id, secret_of(token_id)))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        table = guests_screen(app).table
        assert table.row_count > 10, case
        assert not invisible & set(table.keys)
        for vmid, keys in expected.items():
            await select(pilot, vmid)
            assert active_power(app) == keys, (case, vmid)
            assert footer_power(app) == keys, (case, vmid)
            assert help_power(app) == keys, (case, vmid)
        first, keys = next(iter(expected.items()))
        await select(pilot, first)
        assert await pushed_help_power(pilot) == keys, (case, first)
        await press_hidden(pilot, sim, POWER - keys)


async def test_read_only_profile_hides_every_power_key(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim, read_only=True))  # the demo token is an Administrator
    async with driving(app, sim) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in status_text(app)
        for vmid in (110, 101, 109, 200, 207):
            await select(pilot, vmid)
            assert active_power(app) == NONE, vmid
            assert footer_power(app) == NONE, vmid
            assert help_power(app) == NONE, vmid
        assert await pushed_help_power(pilot) == NONE
        await press_hidden(pilot, sim, POWER)
        await pilot.press("w")
        why = app.screen
        assert isinstance(why, WhyNot)
        assert await shown(pilot, "#why") == [
            f"{label} the profile is read-only" for label in POWER_KEYS
        ]


async def test_marks_offer_a_key_valid_for_at_least_one_marked_guest(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid in (110, 9000):  # stopped qemu, template
            await select(pilot, vmid)
            await pilot.press("space")
        await select(pilot, 101)  # the cursor row does not count once there are marks
        assert active_power(app) == STOPPED and footer_power(app) == STOPPED
        await select(pilot, 109)
        await pilot.press("space")  # + paused
        await pilot.pause()
        assert active_power(app) == STOPPED | PAUSED and footer_power(app) == STOPPED | PAUSED


# -- 2. flows -----------------------------------------------------------------------------


async def test_stop_confirms_runs_follows_and_journals(sim: Simulator, tmp_path: Path) -> None:
    history = open_history(tmp_path / "h.db")
    app = fast(ArgusApp(session_for(sim, history=history)))
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 101)
        before = set(sim.state.tasks)

        await pilot.press("K")
        confirm = app.screen
        assert isinstance(confirm, ConfirmAction)
        question = confirm.question.plain
        assert question.startswith("Stop dc-ad-01 (101) on node pve-a?"), question
        lines = await shown(pilot, "#question")
        assert lines[0] == "Stop dc-ad-01 (101) on node pve-a?", lines
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, GuestsScreen)
        assert "cancelled" in status_text(app)
        assert new_tasks(sim, before) == set()

        started = time.time()
        await pilot.press("K")
        assert isinstance(app.screen, ConfirmAction)
        await pilot.press("y")
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the stop task")
        assert task_types(sim, new_tasks(sim, before)) == [("qmstop", "101", sim.token_id)]
        upid = next(iter(new_tasks(sim, before)))

        # While it runs, no second action is offered for 101, and pressing does nothing.
        await until(pilot, lambda: app.session.power.busy(101), "101 busy")
        assert active_power(app) == NONE
        await until(pilot, lambda: footer_power(app) == NONE, "power keys hidden while busy")
        await until(pilot, lambda: "Stop dc-ad-01: qmstop running" in status_text(app), "progress")
        await pilot.press("K", "D", "R")
        await pilot.pause(0.1)
        assert isinstance(app.screen, GuestsScreen)
        assert new_tasks(sim, before) == {upid}

        sim.advance(10)
        await until(pilot, lambda: "Stop dc-ad-01: done" in status_text(app), "done")
        assert ("Task finished", "Stop dc-ad-01: done", "information") in notes
        await until(pilot, lambda: not app.session.power.busy(101), "101 free")
        await until(pilot, lambda: footer_power(app) == STOPPED, "Start offered for 101")
        cells = guests_screen(app).table.cells(101)
        assert cells is not None and cells[4][0] == "stopped"
        assert sim.state.guests[101].status == "stopped"

        rows = history.actions()
        assert len(rows) == 1
        row = rows[0]
        assert started - 1 <= row["ts"] <= time.time() + 1
        assert {k: row[k] for k in ("profile", "token_id", "vmid", "guest", "node", "action")} == {
            "profile": "test",
            "token_id": sim.token_id,
            "vmid": 101,
            "guest": "dc-ad-01",
            "node": "pve-a",
            "action": "stop",
        }
        assert row["upid"] == upid and row["result"] == "OK"
        assert isinstance(row["duration"], float) and 0 <= row["duration"] < 10


async def test_start_of_a_container_needs_no_confirmation(sim: Simulator) -> None:
    app = fast(ArgusApp(session_for(sim)))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 207)
        assert footer_power(app) == STOPPED
        before = set(sim.state.tasks)
        await pilot.press("S")
        assert isinstance(app.screen, GuestsScreen)  # no confirmation for start
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the start task")
        assert task_types(sim, new_tasks(sim, before)) == [("vzstart", "207", sim.token_id)]
        sim.advance(10)
        await until(pilot, lambda: "Start backup-proxy: done" in status_text(app), "done")
        await until(pilot, lambda: footer_power(app) == RUNNING_LXC, "running keys for 207")
        assert sim.state.guests[207].status == "running"


async def test_ha_guest_shutdown_goes_through_the_ha_manager(sim: Simulator) -> None:
    app = fast(ArgusApp(session_for(sim)))
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 100)
        before = set(sim.state.tasks)
        await pilot.press("D")
        assert isinstance(app.screen, GuestsScreen)
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the HA task")
        assert task_types(sim, new_tasks(sim, before)) == [("hastop", "100", sim.token_id)]
        sim.advance(10)
        note = "the HA manager was asked to stop it; HA does the rest"
        await until(pilot, lambda: "HA manager" in status_text(app), "the HA note")
        assert f"Shutdown gw-edge-01: done ({note})" in status_text(app)
        assert ("Task finished", f"Shutdown gw-edge-01: done ({note})", "information") in notes
        # The LRM's own shutdown task follows, run by root@pam.
        assert task_types(sim, new_tasks(sim, before)) == [
            ("hastop", "100", sim.token_id),
            ("qmshutdown", "100", "root@pam"),
        ]


@pytest.mark.parametrize(
    ("vmid", "key", "action", "label", "error"),
    [
        (105, "S", "start", "Start ledger-batch", "start failed: QEMU exited with code 1"),
    ],
)
async def test_failed_task_is_notified_and_journaled(
    sim: Simulator, tmp_path: Path, vmid: int, key: str, action: str, label: str, error: str
) -> None:
    history = open_history(tmp_path / "h.db")
    app = fast(ArgusApp(session_for(sim, history=history)))
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, vmid)
        before = set(sim.state.tasks)
        await pilot.press(key)
        assert isinstance(app.screen, GuestsScreen)
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the task")
        sim.advance(10)
        await until(pilot, lambda: f"{label}: FAILED" in status_text(app), "FAILED")
        assert (f"{label} failed", error, "error") in notes
        await until(pilot, lambda: not app.session.power.busy(vmid), "guest free")
        await settle(pilot)
        rows = history.actions()
        assert [(r["vmid"], r["action"], r["result"]) for r in rows] == [(vmid, action, error)]


async def test_proxmox_text_in_a_notification_is_shown_literally(
    make_sim: Callable[..., Simulator],
) -> None:
    """A task error with `[/dev/x]` in it: the toast shows it as written, never as markup
    (which would not show literally, or would stop the app)."""
    data = demo_data()
    error = "start failed: disk [/dev/x] missing [b]not bold[/b]"
    next(g for g in data["guest"] if g["vmid"] == 105)["fail"] = {"start": error}
    sim = make_sim(data)
    app = fast(ArgusApp(session_for(sim)))
    async with app.run_test(size=(200, 45), notifications=True) as pilot:
        try:
            await settle(pilot)
            await select(pilot, 105)
            before = set(sim.state.tasks)
            await pilot.press("S")
            await until(pilot, lambda: bool(new_tasks(sim, before)), "the task")
            sim.advance(10)
            await until(pilot, lambda: "Start ledger-batch: FAILED" in status_text(app), "FAILED")
            await until(pilot, lambda: bool(app.screen.query(Toast)), "the notification")
            await pilot.pause(0.1)
            shown = [toast.render().plain for toast in app.screen.query(Toast)]
            assert any(error in text for text in shown), shown
            assert app.is_running
        finally:
            sim.advance(3600)
            await settle(pilot)


async def test_a_settings_warning_keeps_its_table_name(sim: Simulator) -> None:
    warning = "config.toml [ui]: unknown setting 'intervall' ignored (known: interval)"
    app = ArgusApp(session_for(sim), warnings=[warning, "[/x]: unknown setting"])
    async with app.run_test(size=(200, 45), notifications=True) as pilot:
        await until(pilot, lambda: len(app.screen.query(Toast)) == 2, "the notifications")
        shown = [toast.render().plain for toast in app.screen.query(Toast)]
        assert any(warning in text for text in shown) and any("[/x]" in t for t in shown)
        await settle(pilot)


async def test_bulk_plan_runs_only_what_is_valid(sim: Simulator) -> None:
    app = fast(ArgusApp(session_for(sim)))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid in (101, 110, 9000):  # running, stopped, template
            await select(pilot, vmid)
            await pilot.press("space")
        table = guests_screen(app).table
        assert set(table.marked) == {101, 110, 9000}
        assert footer_power(app) == RUNNING_QEMU | STOPPED
        before = set(sim.state.tasks)

        await pilot.press("D")
        bulk = app.screen
        assert isinstance(bulk, BulkPlan)
        assert [(i.guest.vmid, i.runs, i.reason) for i in bulk.items] == [
            (101, True, "will shutdown"),
            (110, False, "skipped: not valid while stopped"),
            (9000, False, "skipped: not valid while a template"),
        ]
        assert await shown(pilot, "#plan") == [
            "101 dc-ad-01 will shutdown",
            "110 ci-runner-03 skipped: not valid while stopped",
            "9000 tmpl-debian-13 skipped: not valid while a template",
        ]
        await pilot.press("y")
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the shutdown task")
        await pilot.pause(0.2)
        assert task_types(sim, new_tasks(sim, before)) == [("qmshutdown", "101", sim.token_id)]
        assert set(table.marked) == set()
        sim.advance(10)
        await until(pilot, lambda: "Shutdown dc-ad-01: done" in status_text(app), "done")
        assert task_types(sim, new_tasks(sim, before)) == [("qmshutdown", "101", sim.token_id)]


async def test_bulk_plan_cancel_runs_nothing(sim: Simulator) -> None:
    app = fast(ArgusApp(session_for(sim)))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid in (101, 102):
            await select(pilot, vmid)
            await pilot.press("space")
        before = set(sim.state.tasks)
        await pilot.press("K")
        assert isinstance(app.screen, BulkPlan)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, GuestsScreen) and "cancelled" in status_text(app)
        assert new_tasks(sim, before) == set()


async def test_why_not_names_privilege_path_and_state(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(acl_scenario())
    app = ArgusApp(session_for(sim, "one@pve!tui", secret_of("one@pve!tui")))
    async with driving(app, sim) as pilot:
        await settle(pilot)

        async def why(vmid: int) -> list[str]:
            await select(pilot, vmid)
            await pilot.press("w")
            screen = app.screen
            assert isinstance(screen, WhyNot)
            lines = await shown(pilot, "#why")
            title = str(screen.query(Static).first().render())
            await pilot.press("escape")
            assert isinstance(app.screen, GuestsScreen)
            return [title, *lines]

        needs = "not permitted (needs VM.PowerMgmt on /vms/101)"
        assert await why(101) == ["dc-ad-01 (101) on pve-a"] + [
            f"{label} {needs}" for label in POWER_KEYS
        ]
        assert await why(102) == [
            "pg-primary (102) on pve-a",
            "Start not valid while running",
            "Shutdown allowed",
            "Stop allowed",
            "Reboot allowed",
            "Reset allowed",
            "Suspend allowed",
            "Hibernate allowed",
            "Resume not valid while running",
        ]


async def test_why_not_for_a_container_and_a_template(sim: Simulator) -> None:
    app = ArgusApp(session_for(sim))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 207)
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, WhyNot)
        verdicts = {i.action: (i.runs, i.reason) for i in screen.items}
        assert verdicts["start"] == (True, "will start")
        assert verdicts["reset"] == (False, "skipped: containers cannot reset")
        assert verdicts["stop"] == (False, "skipped: not valid while stopped")
        await pilot.press("escape")
        await select(pilot, 9000)
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, WhyNot)
        assert {i.reason for i in screen.items} == {"skipped: not valid while a template"}
        # A locked guest (erp-app, backup running): no key, and `w` says why.
        await pilot.press("escape")
        await select(pilot, 104)
        assert footer_power(app) == NONE
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, WhyNot)
        locked = "skipped: locked (backup); Proxmox refuses it until the lock goes"
        assert {i.reason for i in screen.items if i.action != "start"} == {locked}


def revoke(sim: Simulator, path: str, subject: str) -> None:
    """Remove an ACL entry from the running simulator, as `pveum acl delete` would."""
    scenario = sim.state.scenario
    kept = [a for a in scenario.acls if (a.path, a.subject) != (path, subject)]
    assert len(kept) == len(scenario.acls) - 1
    scenario.acls = kept
    sim.state.permissions = PermissionEngine(
        roles=scenario.roles,
        users=scenario.users,
        tokens=scenario.tokens,
        acls=kept,
        pool_members=sim.state.pool_members(),
    )


async def test_a_shown_key_is_not_authorisation(make_sim: Callable[..., Simulator]) -> None:
    """The grant goes away after the last refresh: the service asks the server, sends nothing."""
    sim = make_sim(acl_scenario())
    app = fast(ArgusApp(session_for(sim, "one@pve!tui", secret_of("one@pve!tui"))))
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 102)
        assert footer_power(app) == RUNNING_QEMU
        revoke(sim, "/vms/102", "one@pve")
        before = set(sim.state.tasks)
        await pilot.press("D")
        await until(pilot, lambda: "Shutdown pg-primary: refused" in status_text(app), "refused")
        assert notes[-1] == (
            "Shutdown pg-primary",
            "token one@pve!tui lacks VM.PowerMgmt on /vms/102; see 'argus doctor' for how to"
            " grant it",
            "error",
        )
        # The refusal reloads permissions: the keys go away.
        await until(pilot, lambda: footer_power(app) == NONE, "keys hidden after the reload")
        assert new_tasks(sim, before) == set()
        assert not app.session.power.busy(102)


async def test_quitting_stops_following_the_task(sim: Simulator) -> None:
    app = fast(ArgusApp(session_for(sim)))
    try:
        async with app.run_test(size=(200, 45)) as pilot:
            await settle(pilot)
            await select(pilot, 101)
            before = set(sim.state.tasks)
            await pilot.press("K", "y")
            await until(pilot, lambda: bool(new_tasks(sim, before)), "the stop task")
            assert app.session.power.busy(101)
            await pilot.press("q")

        def follower_ended() -> bool:
            deadline = time.monotonic() + 1
            while app.session.power.busy(101) and time.monotonic() < deadline:
                time.sleep(0.05)
            return not app.session.power.busy(101)

        assert await asyncio.to_thread(follower_ended), "still following 101 after quitting"
    finally:
        sim.advance(10)  # let the follower end either way, or the event loop never closes
