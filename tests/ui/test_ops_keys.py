"""Snapshot and backup keys appear only where the token may use them, and `w` says why not.

One simulator of the ops cluster (tests/ops_scenario.py), one token per ACL case: the keys
in the key map, the footer and the help agree, and pressing a hidden key does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import OptionList

from argus_tui.sim.server import Simulator
from argus_tui.ui.screens.backup_form import BackupForm
from argus_tui.ui.screens.power import WhyNot
from argus_tui.ui.screens.snapshots import SnapshotsScreen
from tests.ui.conftest import settle, until
from tests.ui.ops_pilot import (
    GUEST_KEYS,
    SNAPSHOT_KEYS,
    driving,
    guests_screen,
    keys_shown,
    open_snapshots,
    ops_app,
    ops_sim,
    press_hidden,
    select,
)
from tests.ui.test_power import rendered, shown

ALL_GUEST = frozenset(GUEST_KEYS)
VIEWS = frozenset({"Snapshots", "Backups"})  # for anyone who sees the guest
ALL_SNAP = frozenset(SNAPSHOT_KEYS)
NONE: frozenset[str] = frozenset()

# who -> guests-screen keys by vmid
GUEST_CASES: dict[str, dict[int, frozenset[str]]] = {
    "root": {
        101: ALL_GUEST,
        102: ALL_GUEST,
        103: ALL_GUEST,
        104: ALL_GUEST,
        105: VIEWS,
        9000: ALL_GUEST,
    },
    "operator": {101: ALL_GUEST, 104: ALL_GUEST, 105: VIEWS},
    "auditor": {101: VIEWS, 102: VIEWS, 103: VIEWS, 9000: VIEWS},
    # /vms/101 has its own ACL (SnapshotOnly), which replaces BackupOnly from /vms
    "limited": {101: VIEWS, 102: ALL_GUEST, 103: ALL_GUEST, 105: VIEWS},
    "nobackup": {101: VIEWS, 102: VIEWS, 104: VIEWS},
}
# who -> snapshots-view keys by vmid (the cursor starts on the snapshot NOW comes from)
SNAP_CASES: dict[str, dict[int, frozenset[str]]] = {
    "root": {
        101: ALL_SNAP,
        102: NONE,
        103: ALL_SNAP,
        104: frozenset({"New snapshot"}),
        105: NONE,
        9000: NONE,
    },
    "auditor": {101: NONE, 103: NONE},
    "limited": {101: ALL_SNAP, 103: NONE, 102: NONE},
    "nobackup": {101: NONE},
}


@pytest.mark.parametrize("who", list(GUEST_CASES))
async def test_guest_screen_keys_follow_the_acl(
    make_sim: Callable[..., Simulator], who: str
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, who)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid, expected in GUEST_CASES[who].items():
            await select(pilot, vmid)
            assert await keys_shown(pilot, GUEST_KEYS) == expected, (who, vmid)
        vmid, expected = next(iter(GUEST_CASES[who].items()))
        await select(pilot, vmid)
        hidden = [GUEST_KEYS[label] for label in sorted(ALL_GUEST - expected)]
        await press_hidden(pilot, sim, hidden, guests_screen(app))


@pytest.mark.parametrize("who", list(SNAP_CASES))
async def test_snapshot_view_keys_follow_the_acl(
    make_sim: Callable[..., Simulator], who: str
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, who)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid, expected in SNAP_CASES[who].items():
            screen = await open_snapshots(pilot, vmid)
            assert await keys_shown(pilot, SNAPSHOT_KEYS) == expected, (who, vmid)
            hidden = [SNAPSHOT_KEYS[label] for label in sorted(ALL_SNAP - expected)]
            await press_hidden(pilot, sim, hidden, screen)
            await pilot.press("escape")
            await pilot.pause()
            guests_screen(app)


async def test_read_only_profile_offers_views_only(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, "root", read_only=True)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 101)
        assert await keys_shown(pilot, GUEST_KEYS) == VIEWS
        screen = await open_snapshots(pilot, 101)
        assert await keys_shown(pilot, SNAPSHOT_KEYS) == NONE
        await press_hidden(pilot, sim, ["n", "R", "X"], screen)


async def test_the_cursor_on_now_offers_no_rollback_or_delete(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        screen = await open_snapshots(pilot, 101)
        assert screen.table.cursor_key == "pre-upgrade"
        screen.table.move_to("current")
        assert await keys_shown(pilot, SNAPSHOT_KEYS) == {"New snapshot"}
        await press_hidden(pilot, sim, ["R", "X"], screen)
        await pilot.press("w")
        assert isinstance(app.screen, WhyNot)
        assert await shown(pilot, "#why-ops") == [
            "New snapshot allowed",
            "Rollback select a snapshot (NOW is where the guest is now)",
            "Delete snapshot select a snapshot (NOW is where the guest is now)",
        ]


async def test_a_disk_on_a_storage_that_cannot_snapshot(
    make_sim: Callable[..., Simulator],
) -> None:
    """102 has its disk on nfs-raw: the view says so under the title, offers no New
    snapshot, and `w` names the disk and the storage."""
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        screen = await open_snapshots(pilot, 102)
        assert screen.view is not None and screen.view.blockers
        blocker = screen.view.blockers[0]
        assert "nfs-raw" in blocker and "cannot snapshot" in blocker, blocker
        line = rendered(screen.query_one("#snap-blockers"), width=200)  # type: ignore[arg-type]
        assert line == [f"New snapshot: {blocker}"]
        assert await keys_shown(pilot, SNAPSHOT_KEYS) == NONE
        await press_hidden(pilot, sim, ["n"], screen)
        await pilot.press("w")
        await shown(pilot, "#why-ops")
        rows = rendered(app.screen.query_one("#why-ops"), width=200)  # type: ignore[arg-type]
        assert rows[0] == f"New snapshot {blocker}", rows


async def test_why_not_on_the_guests_screen(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, "limited")
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 101)
        await pilot.press("w")
        assert isinstance(app.screen, WhyNot)
        assert await shown(pilot, "#why-ops") == [
            "Snapshots allowed",
            "New snapshot allowed",
            "Rollback allowed",
            "Delete snapshot allowed",
            "Backup needs VM.Backup on /vms/101",
            "Backups allowed",
            "Migrate needs VM.Migrate on /vms/101",
            "Console needs VM.Console on /vms/101",
        ]
        await pilot.press("escape")
        await select(pilot, 102)
        await pilot.press("w")
        assert await shown(pilot, "#why-ops") == [
            "Snapshots allowed",
            "New snapshot needs VM.Snapshot on /vms/102",
            "Rollback needs VM.Snapshot or VM.Snapshot.Rollback on /vms/102",
            "Delete snapshot needs VM.Snapshot on /vms/102",
            "Backup allowed",
            "Backups allowed",
            "Migrate needs VM.Migrate on /vms/102",
            "Console needs VM.Console on /vms/102",
        ]
        await pilot.press("escape")
        await select(pilot, 105)
        await pilot.press("w")
        rows = await shown(pilot, "#why-ops")
        locked = "it is locked (backup); Proxmox refuses it until the lock goes"
        assert f"Backup {locked}" in rows, rows


async def test_why_not_names_the_missing_storage_privilege(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, "nobackup")
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 102)
        await pilot.press("w")
        rows = await shown(pilot, "#why-ops")
        assert (
            "Backup needs Datastore.AllocateSpace on a backup storage"
            " (archive-nfs, backup-nfs, local)"
        ) in rows, rows


async def test_template_and_lock_in_the_snapshots_view(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid, text in (
            (9000, "it is a template: templates have no snapshots"),
            (105, "it is locked (backup); Proxmox refuses it until the lock goes"),
        ):
            screen = await open_snapshots(pilot, vmid)
            assert isinstance(screen, SnapshotsScreen)
            await pilot.press("w")
            rows = await shown(pilot, "#why-ops")
            assert rows[0] == f"New snapshot {text}", rows
            await pilot.press("escape", "escape")
            await pilot.pause()


async def test_backup_picker_lists_only_permitted_storages(
    make_sim: Callable[..., Simulator],
) -> None:
    for who, expected in (("limited", ["backup-nfs"]),
                          ("root", ["local", "backup-nfs", "archive-nfs"])):  # fmt: skip
        sim = ops_sim(make_sim)
        app = ops_app(sim, who)
        async with driving(app, sim) as pilot:
            await settle(pilot)
            await select(pilot, 102)
            await pilot.press("b")
            await until(pilot, lambda: isinstance(pilot.app.screen, BackupForm), "the form")
            form = app.screen
            options = form.query_one("#backup-storage", OptionList)
            ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
            assert sorted(ids) == sorted(expected), who  # type: ignore[type-var]
            assert "free of" in str(options.get_option_at_index(0).prompt)
            await pilot.press("escape")
            await pilot.pause()
            guests_screen(app)
