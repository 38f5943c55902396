"""A server that lists only `/` in /access/permissions (as some third-party PVE servers do):
a root token is offered its power keys, the guests screen does not claim VM.Audit is
missing, and an action passes the server-side check whose answer is keyed `/`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Static

from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.screens.guests import GuestsScreen
from tests.ui.conftest import session_for, settle, until
from tests.ui.ops_pilot import guests_screen, select
from tests.ui.test_power import (
    NONE,
    PAUSED,
    RUNNING_LXC,
    RUNNING_QEMU,
    STOPPED,
    active_power,
    driving,
    fast,
    footer_power,
    new_tasks,
    status_text,
    task_types,
)

ROOT = "root@pam!third"
ROOT_SECRET = "6f1c1c2e-0000-4000-8000-00000000000a"
AUDITOR = "aud@pve!tui"
AUDITOR_SECRET = "aud-secret"


def root_only_demo() -> dict[str, Any]:
    """The demo cluster served with a `/`-only listing, a root token and an auditor's."""
    data = demo_data()
    data["cluster"]["permissions_listing"] = "root-only"
    data["user"].append({"id": "aud@pve"})
    data["token"][:0] = [
        {"id": ROOT, "secret": ROOT_SECRET, "privsep": False},
        {"id": AUDITOR, "secret": AUDITOR_SECRET, "privsep": False},
    ]
    data["acl"].append({"path": "/", "subject": "aud@pve", "role": "PVEAuditor"})
    return data


def notice(app: ArgusApp) -> str:
    return str(app.screen.query_one("#guest-notice", Static).render())


async def test_a_root_token_gets_its_power_keys_and_no_audit_warning(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(root_only_demo())
    assert sim.token_id == ROOT
    assert set(sim.state.permissions.listing(ROOT, None, "root-only")) == {"/"}
    app = fast(ArgusApp(session_for(sim, ROOT, ROOT_SECRET)))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        assert guests_screen(app).table.row_count == 25
        assert "VM.Audit" not in notice(app)
        for vmid, keys in {101: RUNNING_QEMU, 109: PAUSED, 200: RUNNING_LXC, 207: STOPPED}.items():
            await select(pilot, vmid)
            assert active_power(app) == keys, vmid
            assert footer_power(app) == keys, vmid
        # The server-side check before sending reads the answer keyed `/` as /vms/207's.
        before = set(sim.state.tasks)
        await pilot.press("S")
        assert isinstance(app.screen, GuestsScreen)
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the start task")
        assert task_types(sim, new_tasks(sim, before)) == [("vzstart", "207", ROOT)]
        sim.advance(10)
        await until(pilot, lambda: "Start backup-proxy: done" in status_text(app), "done")


async def test_an_auditor_on_slash_sees_every_guest_and_no_power_key(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(root_only_demo())
    app = ArgusApp(session_for(sim, AUDITOR, AUDITOR_SECRET))
    async with driving(app, sim) as pilot:
        await settle(pilot)
        assert guests_screen(app).table.row_count == 25
        assert "VM.Audit" not in notice(app)
        for vmid in (101, 207):
            await select(pilot, vmid)
            assert footer_power(app) == NONE, vmid
