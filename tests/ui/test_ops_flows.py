"""Snapshots and backups from the keyboard: the tree, the forms, the tasks followed in
the status line, the journal; the storage screen and a storage's content.

Against the ops cluster on a frozen clock: a task only moves when the test advances it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Checkbox, Input

from argus_tui.domain.snapshots import GuestSnapshot, SnapshotTree
from argus_tui.services.assistant import SuggestedAction
from argus_tui.services.guest_snapshots import SnapshotView
from argus_tui.sim.server import Simulator
from argus_tui.store import open_history
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.keymap import keymap_problems
from argus_tui.ui.messages import OfferSuggested, ProfileOpened
from argus_tui.ui.screens.backup_form import BackupForm
from argus_tui.ui.screens.content import ContentScreen
from argus_tui.ui.screens.power import ConfirmAction
from argus_tui.ui.screens.snapshot_forms import ConfirmRollback, NewSnapshotForm
from argus_tui.ui.screens.snapshots import (
    snapshot_rows,
    tree_prefixes,
)
from argus_tui.ui.screens.storage import StorageScreen
from tests.conftest import FROZEN_EPOCH
from tests.ui.conftest import settle, until, watch_notifications
from tests.ui.ops_pilot import (
    CONTENT_KEYS,
    driving,
    guests_screen,
    keys_shown,
    new_tasks,
    open_backups,
    open_snapshots,
    ops_app,
    ops_sim,
    select,
    status_text,
)
from tests.ui.test_power import rendered, shown

# -- the tree -----------------------------------------------------------------------------


def test_tree_prefixes_draw_branches_and_their_ends() -> None:
    assert tree_prefixes([0, 1, 2, 1, 0]) == ["", "├─ ", "│  └─ ", "└─ ", ""]
    assert tree_prefixes([0, 1, 1, 2]) == ["", "├─ ", "└─ ", "   └─ "]
    deep = tree_prefixes(list(range(30)))[-1]
    assert deep.startswith("…") and deep.endswith("└─ ") and len(deep) == 24


def test_snapshot_rows_in_tree_order_with_now_under_its_parent() -> None:
    day = 86400
    tree = SnapshotTree(
        (  # PVE lists them in no order
            GuestSnapshot("hotfix", "base", FROZEN_EPOCH - 2 * day, "one-off"),
            GuestSnapshot("pre-upgrade", "base", FROZEN_EPOCH - day, "before 9.1", vmstate=True),
            GuestSnapshot("base", None, FROZEN_EPOCH - 30 * day, "fresh\ninstall"),
            GuestSnapshot("nightly", "pre-upgrade", FROZEN_EPOCH - 60, snapstate="prepare"),
        ),
        GuestSnapshot("current", "pre-upgrade", current=True, running=True),
    )
    rows = snapshot_rows(SnapshotView(None, tree), FROZEN_EPOCH)  # type: ignore[arg-type]
    assert [key for key, _ in rows] == ["base", "hotfix", "pre-upgrade", "nightly", "current"]
    names = [cells[0][0] for _, cells in rows]
    assert names == ["base", "├─ hotfix", "└─ pre-upgrade", "   ├─ nightly", "   └─ NOW"]
    by_key = dict(rows)
    assert by_key["base"][3] == ("fresh install", "")  # one line per row
    assert by_key["pre-upgrade"][1][0].endswith("(1d ago)")
    assert by_key["pre-upgrade"][2] == ("yes", "")
    assert by_key["nightly"][4] == ("prepare", "warn")
    assert by_key["current"][3:] == (("You are here", "dim"), ("running", "dim"))


# -- snapshots: take, roll back, delete ---------------------------------------------------


async def test_take_a_snapshot_and_see_it_in_the_tree(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = ops_sim(make_sim)
    history = open_history(tmp_path / "h.db")
    app = ops_app(sim, history=history)
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        screen = await open_snapshots(pilot, 101)
        before = set(sim.state.tasks)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, NewSnapshotForm)
        assert form.query("#snap-ram")  # a running VM: RAM may be saved with it
        await pilot.press(*"9lives")
        assert "invalid snapshot name '9lives'" in str(
            form.query_one("#snap-name-problem").render()
        )
        await pilot.press("enter")  # refused in the form: nothing is sent
        assert app.screen is form and new_tasks(sim, before) == []
        form.query_one("#snap-name", Input).value = "base"
        await pilot.pause()
        assert "snapshot name 'base' already used" in str(
            form.query_one("#snap-name-problem").render()
        )
        form.query_one("#snap-name", Input).value = "before-deploy"
        form.query_one("#snap-description", Input).value = "release 42"
        form.query_one("#snap-ram", Checkbox).value = True
        await pilot.pause()
        assert str(form.query_one("#snap-name-problem").render()) == ""
        await pilot.press("enter")
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the snapshot task")
        assert new_tasks(sim, before) == [("qmsnapshot", "101")]
        assert app.screen is screen
        await until(
            pilot, lambda: "Snapshot web01 as before-deploy" in status_text(app), "progress"
        )
        sim.advance(60)
        await until(pilot, lambda: "Snapshot web01 as before-deploy: done" in status_text(app),
                    "done")  # fmt: skip
        assert ("Task finished", "Snapshot web01 as before-deploy: done", "information") in notes
        await until(pilot, lambda: "before-deploy" in screen.table.keys, "the new snapshot")
        await settle(pilot)
        names = [screen.table.cells(k)[0][0] for k in screen.table.keys]  # type: ignore[index]
        assert names == ["base", "└─ pre-upgrade", "   └─ before-deploy", "      └─ NOW"]
        cells = screen.table.cells("before-deploy")
        assert cells is not None and cells[2][0] == "yes" and cells[3][0] == "release 42"
        rows = history.actions()
        assert [(r["vmid"], r["action"], r["target"], r["result"]) for r in rows] == [
            (101, "snapshot", "before-deploy", "OK")
        ]


async def test_roll_back_with_start_afterwards_and_delete(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = ops_sim(make_sim)
    history = open_history(tmp_path / "h.db")
    app = ops_app(sim, history=history)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        screen = await open_snapshots(pilot, 103)  # a container: no RAM state
        assert screen.table.cursor_key == "clean"
        before = set(sim.state.tasks)
        await pilot.press("R")
        confirm = app.screen
        assert isinstance(confirm, ConfirmRollback)
        lines = await shown(pilot, "#question")
        assert lines[0] == "Rollback cache01 (103) on node pve-b to snapshot clean?", lines
        await pilot.press("n")
        assert app.screen is screen and "cancelled" in status_text(app)
        await pilot.press("R", "s")
        assert rendered(app.screen.query_one("#start-option")) == [  # type: ignore[arg-type]
            "[x] Start the guest afterwards (s)"
        ]
        await pilot.press("y")
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the rollback task")
        assert new_tasks(sim, before) == [("vzrollback", "103")]
        sim.advance(60)
        await until(pilot, lambda: "Rollback cache01 to clean: done" in status_text(app), "done")
        await settle(pilot)
        assert sim.state.guests[103].status == "running"

        before = set(sim.state.tasks)
        screen.table.move_to("clean")
        await pilot.pause()
        await pilot.press("X")
        confirm = app.screen
        assert isinstance(confirm, ConfirmAction)
        assert confirm.question.plain.startswith(
            "Delete snapshot clean of cache01 (103) on node pve-b?"
        )
        await pilot.press("y")
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the delete task")
        assert new_tasks(sim, before) == [("vzdelsnapshot", "103")]
        sim.advance(60)
        await until(pilot, lambda: "clean" not in screen.table.keys, "the snapshot gone")
        assert screen.table.keys == ["current"]
        await settle(pilot)
        rows = history.actions()
        assert [(r["action"], r["target"], r["result"]) for r in rows] == [
            ("rollback", "clean", "OK"),
            ("snapshot-delete", "clean", "OK"),
        ]


async def test_a_running_task_hides_the_keys_of_its_guest(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        screen = await open_snapshots(pilot, 101)
        await pilot.press("n", *"quick", "enter")
        await until(pilot, lambda: app.session.runner.busy(101), "101 busy")
        await until(pilot, lambda: screen.guest.lock == "snapshot", "the lock seen")
        labels = {"New snapshot": "n", "Rollback": "R", "Delete snapshot": "X"}
        assert await keys_shown(pilot, labels) == frozenset()
        await until(pilot, lambda: "quick" in screen.table.keys, "the snapshot in prepare")
        cells = screen.table.cells("quick")
        assert cells is not None and cells[4] == ("prepare", "warn")
        assert "locked (snapshot)" in str(screen.query_one("#snap-title").render())
        sim.advance(60)
        await until(pilot, lambda: not app.session.runner.busy(101), "101 free")
        await until(pilot, lambda: screen.guest.lock is None, "the lock gone")
        await settle(pilot)
        assert await keys_shown(pilot, labels) == frozenset(labels)


# -- backups ------------------------------------------------------------------------------


async def test_back_up_now_followed_in_the_status_line(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = ops_sim(make_sim)
    history = open_history(tmp_path / "h.db")
    app = ops_app(sim, "limited", history=history)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await select(pilot, 102)
        before = set(sim.state.tasks)
        await pilot.press("b")
        form = app.screen
        assert isinstance(form, BackupForm)
        assert form.query_one("#backup-notes", Input).value == "{{guestname}}"
        await pilot.press("enter")  # the storage list has the focus: Enter backs up now
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the vzdump task")
        assert new_tasks(sim, before) == [("vzdump", "102")]
        assert isinstance(app.screen, type(guests_screen(app)))
        seen: set[str] = set()
        for _ in range(40):
            sim.advance(1)
            await pilot.pause(0.15)
            seen.add(status_text(app))
            if any("%" in text for text in seen):
                break
        assert any("Backup db01: INFO:" in text and "%" in text for text in seen), seen
        sim.advance(600)
        await until(pilot, lambda: "Backup db01: done" in status_text(app), "done")
        await settle(pilot)
        rows = history.actions()
        assert [(r["vmid"], r["action"], r["target"], r["result"]) for r in rows] == [
            (102, "backup", "backup-nfs", "OK")
        ]
        backups = await open_backups(pilot, 102)
        assert len(backups.rows) == 4  # three nightly, one new
        newest = backups.table.cells(backups.table.keys[0])
        assert newest is not None and newest[6][0] == "db01"  # {{guestname}}


# -- the storage screen and content -------------------------------------------------------


async def test_storage_screen_rows_and_bars(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, StorageScreen)
        table = screen.table
        assert table.keys == [
            f"{node}/{sid}"
            for node in ("pve-a", "pve-b")
            for sid in ("archive-nfs", "backup-nfs", "local", "local-lvm", "nfs-raw")
        ]
        cells = table.cells("pve-a/backup-nfs")
        assert cells is not None
        storage, node, kind, content, shared, status, bar, pct, used = cells
        assert (storage[0], node[0], kind[0], content[0], shared[0], status[0]) == (
            "backup-nfs", "pve-a", "nfs", "backup,iso", "shared", "available",
        )  # fmt: skip
        assert pct[0] == "29%" and used[0] == "600.0G / 2.0T"
        assert str(bar[0]) == "███▌░░░░░░░░"  # 600G of 2T in eighths of 12 cells
        table.move_to("pve-b/local")
        keys, refreshes = table.keys, app.refreshes
        await pilot.press("ctrl+r")  # reconciled by key: same rows, the cursor stays
        await settle(pilot)
        assert app.refreshes == refreshes + 1
        assert table.keys == keys and table.cursor_key == "pve-b/local"
        await pilot.press("slash", *"lvm")
        await pilot.pause()
        assert table.keys == ["pve-a/local-lvm", "pve-b/local-lvm"]


async def test_content_view_and_its_filter(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        storage = app.screen
        assert isinstance(storage, StorageScreen)
        storage.table.move_to("pve-a/backup-nfs")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContentScreen), "the content")
        content = app.screen
        assert isinstance(content, ContentScreen)
        await until(pilot, lambda: content.loaded, "content loaded")
        await pilot.pause()
        # 101: seven nightly and one golden; 102: three; 103: two; and the ISOs
        kinds = [row.volume.content for row in content.rows.values()]
        assert kinds.count("backup") == 13 and set(kinds) == {"backup", "iso"}
        total = len(content.rows)
        first = content.table.cells(content.table.keys[0])
        assert first is not None
        name, where, kind, guest, when, size, notes, protected = first
        # newest first; the nightly ones of one night by name
        assert name[0].startswith("vzdump-lxc-103-") and where[0] == "backup-nfs"
        assert (kind[0], guest[0], notes[0], protected[0]) == (
            "backup",
            "103 cache01",
            "nightly 0",
            "",
        )
        ctime = content.rows[content.table.keys[0]].volume.ctime or 0
        local = time.strftime("%Y-%m-%d %H:%M", time.localtime(ctime))
        assert when[0].startswith(f"{local} (") and when[0].endswith(" ago)")
        assert size[0][-1] in "KMGT" and size[0][:-1].replace(".", "").isdigit()
        await pilot.press("slash", *"golden", "enter")
        await pilot.pause()
        assert len(content.table.keys) == 1
        golden = content.table.cells(content.table.keys[0])
        assert golden is not None and golden[7][0] == "protected"
        await pilot.press("escape")  # clears the filter first
        await pilot.pause()
        assert len(content.table.keys) == total and app.screen is content
        await pilot.press("escape")  # then goes back
        await pilot.pause()
        assert app.screen is storage


async def test_deleting_a_protected_backup_is_refused_with_proxmox_reason(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        content = await open_backups(pilot, 101)
        golden = next(k for k, r in content.rows.items() if r.volume.protected)
        content.table.move_to(golden)
        await pilot.pause()
        assert await keys_shown(pilot, CONTENT_KEYS) == {"Delete backup"}
        before = set(sim.state.tasks)
        await pilot.press("X")
        await pilot.pause()
        assert app.screen is content and new_tasks(sim, before) == []
        volume = content.rows[golden].volume
        reason = f"cannot remove protected volume '{volume.name}' on 'backup-nfs'"
        assert notes[-1][0] == f"Delete backup {volume.name}" and notes[-1][2] == "error"
        assert notes[-1][1].startswith(reason), notes[-1]
        assert f"Delete backup {volume.name}: refused" in status_text(app)
        await pilot.press("w")
        rows = rendered(app.screen.query_one("#why-ops"), width=200)  # type: ignore[arg-type]
        assert rows == [f"Delete backup protected: {reason}; remove the protection first"]


async def test_delete_a_backup_after_confirmation(make_sim: Callable[..., Simulator]) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, "operator")
    async with driving(app, sim) as pilot:
        await settle(pilot)
        content = await open_backups(pilot, 103)
        assert len(content.rows) == 2
        key = content.table.keys[0]
        volume = content.rows[key].volume
        before = set(sim.state.tasks)
        await pilot.press("X")
        confirm = app.screen
        assert isinstance(confirm, ConfirmAction)
        assert confirm.question.plain.startswith(
            f"Delete backup {volume.name}\nof cache01 (103) on backup-nfs?"
        )
        await pilot.press("y")
        await until(pilot, lambda: bool(new_tasks(sim, before)), "the delete task")
        assert new_tasks(sim, before) == [("imgdel", "103@backup-nfs")]
        sim.advance(60)
        await until(pilot, lambda: key not in content.rows, "the backup gone from the list")
        assert len(content.rows) == 1


async def test_auditor_sees_no_backups_and_is_told_why(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim, "auditor")
    async with driving(app, sim) as pilot:
        await settle(pilot)
        content = await open_backups(pilot, 101)
        assert content.rows == {}
        assert "Datastore.AllocateSpace" in content.table.empty_text
        assert await keys_shown(pilot, CONTENT_KEYS) == frozenset()


async def test_snapshot_first_suggested_by_the_assistant_opens_the_form(
    make_sim: Callable[..., Simulator],
) -> None:
    """Offered as the usual key: the snapshots view with its form; nothing is taken until
    the user names it and presses Enter, and a token that may not is told why."""
    sim = ops_sim(make_sim)
    app = ops_app(sim, "limited")
    async with driving(app, sim) as pilot:
        await settle(pilot)
        assert app.snapshot is not None
        guests = {g.vmid: g for g in app.snapshot.guests}
        before = set(sim.state.tasks)
        app.post_message(OfferSuggested(SuggestedAction("snapshot", 101, "Snapshot", guests[101])))
        await until(pilot, lambda: isinstance(app.screen, NewSnapshotForm), "the form")
        title = " ".join(await shown(pilot, "#snap-form-title"))
        assert "Suggested by the assistant." in title
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert new_tasks(sim, before) == []
        app.post_message(OfferSuggested(SuggestedAction("snapshot", 102, "Snapshot", guests[102])))
        await until(pilot, lambda: "New snapshot db01: needs VM.Snapshot" in status_text(app),
                    "refused")  # fmt: skip
        guests_screen(app)


async def test_another_profile_closes_the_views_of_the_old_cluster(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        await open_snapshots(pilot, 101)
        other = ops_app(sim, "auditor").session  # a session of another profile
        app.post_message(ProfileOpened(other))
        await until(pilot, lambda: app.session is other, "the switch")
        await settle(pilot)
        guests_screen(app)  # back on the guests, of the new session
        content = await open_backups(pilot, 101)
        app.post_message(ProfileOpened(ops_app(sim).session))
        await until(pilot, lambda: app.screen is not content, "the content view gone")
        await settle(pilot)
        assert app.screen.mode == "storage" and not isinstance(app.screen, ContentScreen)


def test_keys_of_the_sub_screens_can_be_remapped() -> None:
    from tests.ui.test_screens import session_for_nothing

    groups = ArgusApp(session_for_nothing()).binding_ids()  # type: ignore[arg-type]
    assert groups["guests"]["guests.snapshots"] == "n"
    assert groups["guests"]["guests.backup"] == "b" and groups["guests"]["guests.backups"] == "B"
    assert groups["storage"]["storage.filter"] == "slash"
    assert groups["snapshots"] == {
        "snapshots.new": "n",
        "snapshots.rollback": "R",
        "snapshots.delete": "X",
        "snapshots.why": "w",
        "snapshots.back": "escape",
    }
    assert groups["content"]["content.delete-backup"] == "X"
    assert keymap_problems({"snapshots.new": "N", "content.delete-backup": "d"}, groups) == []


async def test_back_up_marked_guests_one_task_per_node(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = ops_sim(make_sim)
    app = ops_app(sim)
    notes = watch_notifications(app)
    async with driving(app, sim) as pilot:
        await settle(pilot)
        for vmid in (101, 103, 105):  # pve-a, pve-b, and one locked by a backup
            await select(pilot, vmid)
            await pilot.press("space")
        before = set(sim.state.tasks)
        await pilot.press("b")
        form = app.screen
        assert isinstance(form, BackupForm)
        assert [g.vmid for g in form.guests] == [101, 103]
        title = rendered(form.query_one("#backup-title"), width=200)  # type: ignore[arg-type]
        assert title == [
            "Back up now: web01 (101), cache01 (103)",
            "skipped 105 locked01: it is locked (backup); Proxmox refuses it until the lock goes",
        ]
        await pilot.press("enter")
        await until(pilot, lambda: len(new_tasks(sim, before)) == 2, "two vzdump tasks")
        assert sorted(new_tasks(sim, before)) == [("vzdump", "101"), ("vzdump", "103")]
        assert guests_screen(app).table.marked == set()
        sim.advance(600)
        for name in ("web01", "cache01"):
            await until(
                pilot,
                lambda name=name: ("Task finished", f"Backup {name}: done", "information") in notes,
                f"{name} done",
            )
