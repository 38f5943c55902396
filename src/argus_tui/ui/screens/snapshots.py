"""One guest's snapshots as a tree by parent, with keys to take, roll back and delete.

Opened with `n` on the guests screen for anyone who may see the guest. The tree is read
in a worker (`session.snapshots.view`) when the screen opens, when the guest's lock
comes or goes (a task of anyone's works on it) and when an action of Argus's on it ends.
Under the title a line says what would make a new snapshot fail (a lock, a template, a
disk on a storage that cannot snapshot); the key is not offered then, and `w` says why.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.operations import OPERATIONS, why_not
from argus_tui.domain.snapshots import GuestSnapshot
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.guest_snapshots import SnapshotView
from argus_tui.services.session import Session
from argus_tui.ui.action_flow import Ended
from argus_tui.ui.messages import SnapshotRequested
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.power import ConfirmAction, Verdict, WhyNot
from argus_tui.ui.screens.snapshot_forms import (
    ConfirmRollback,
    NewSnapshot,
    NewSnapshotForm,
    RollbackAnswer,
)
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.stamps import stamp
from argus_tui.ui.widgets.table import Cell, Column, VirtualTable

COLUMNS = (
    Column("name", "SNAPSHOT", 0, min_width=20, priority=10, max_width=48),
    Column("time", "TAKEN", 28, priority=8),
    Column("ram", "RAM", 4, priority=6),
    Column("description", "DESCRIPTION", 0, min_width=16, priority=7, max_width=60),
    Column("state", "STATE", 10, priority=9),
)
NOW = "NOW"
HERE = "You are here"
MAX_INDENT = 24  # a long chain of snapshots keeps its names readable
OPS = ("snapshot", "rollback", "snapshot-delete")


def tree_prefixes(depths: Sequence[int]) -> list[str]:
    """Tree lines (`├─ `, `└─ `, `│  `) for rows in depth-first order at these depths."""
    out: list[str] = []
    for i, depth in enumerate(depths):
        parts: list[str] = []
        for level in range(1, depth + 1):
            more = False  # a later sibling at this level before the branch closes
            for later in depths[i + 1 :]:
                if later < level:
                    break
                if later == level:
                    more = True
                    break
            if level == depth:
                parts.append("├─ " if more else "└─ ")
            else:
                parts.append("│  " if more else "   ")
        prefix = "".join(parts)
        if len(prefix) > MAX_INDENT:
            prefix = "…" + prefix[-(MAX_INDENT - 1) :]
        out.append(prefix)
    return out


def snapshot_rows(view: SnapshotView, now: float) -> list[tuple[str, tuple[Cell, ...]]]:
    """(row key, cells) of the tree, depth first; `current` as NOW under its parent."""
    walked = view.tree.walk()
    prefixes = tree_prefixes([depth for depth, _ in walked])
    rows: list[tuple[str, tuple[Cell, ...]]] = []
    for prefix, (_, snap) in zip(prefixes, walked, strict=True):
        rows.append((snap.name, snapshot_cells(snap, prefix, now)))
    return rows


def snapshot_cells(snap: GuestSnapshot, prefix: str, now: float) -> tuple[Cell, ...]:
    if snap.current:
        state = "running" if snap.running else "stopped"
        return ((prefix + NOW, "ok"), ("", ""), ("", ""), (HERE, "dim"), (state, "dim"))
    state = snap.snapstate or ""
    return (
        (prefix + snap.name, "accent" if snap.complete else "warn"),
        (stamp(snap.snaptime, now), ""),
        ("yes" if snap.vmstate else "", ""),
        (" ".join(snap.description.split()), ""),
        (state, "warn" if state else ""),
    )


class SnapshotsLoaded(Message):
    def __init__(
        self, session: Session, vmid: int, view: SnapshotView | None, error: str | None
    ) -> None:
        super().__init__()
        self.session = session
        self.vmid = vmid
        self.view = view
        self.error = error


class SnapshotsScreen(ArgusScreen):
    """The tree of one guest's snapshots; Esc goes back to the guests."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", OPERATIONS["snapshot"].label, id="snapshots.new"),
        Binding("R", "rollback", OPERATIONS["rollback"].label, id="snapshots.rollback"),
        Binding("X", "delete", OPERATIONS["snapshot-delete"].label, id="snapshots.delete"),
        Binding("w", "why", "Why not?", show=False, id="snapshots.why"),
        Binding("escape", "back", "Back", id="snapshots.back"),
    ]

    def __init__(
        self,
        guest: Guest,
        session: Session,
        snapshot: ClusterSnapshot | None = None,
        *,
        mode: str = "",
        tabs: Sequence[Tab] = (),
        offer_new: str | None = None,
    ) -> None:
        super().__init__(mode, tabs)
        self.offer_new = offer_new  # why a new snapshot is suggested: its form opens once
        self.session = session  # the app's, whose guest this is
        self.snapshot = snapshot
        self.guest = guest
        self.view: SnapshotView | None = None
        self.error: str | None = None
        self._lock = guest.lock
        self._placed = False  # the cursor was put on the snapshot NOW derives from
        self.gone = False  # another profile was opened: nothing here is of its cluster

    def compose_body(self) -> ComposeResult:
        yield Static("", id="snap-title")
        yield Static("", id="snap-blockers")
        yield VirtualTable(COLUMNS, empty_text="Loading snapshots…", id="snapshots")

    def on_mount(self) -> None:
        self.set_focus(self.table)
        self.watch(self.app, "ended", self._action_ended, init=False)
        self._paint_title()
        self.reload()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#snapshots", VirtualTable)

    # -- loading ----------------------------------------------------------------------------

    def reload(self) -> None:
        if self.session is not None:
            self._load(self.session, self.guest, self.snapshot)

    @work(thread=True, exclusive=True, group="snapshots", exit_on_error=False)
    def _load(self, session: Session, guest: Guest, snapshot: ClusterSnapshot | None) -> None:
        try:
            view = session.snapshots.view(guest, snapshot)
        except ArgusError as exc:
            self.post_message(SnapshotsLoaded(session, guest.vmid, None, str(exc)))
        else:
            self.post_message(SnapshotsLoaded(session, guest.vmid, view, None))

    def on_snapshots_loaded(self, message: SnapshotsLoaded) -> None:
        if message.session is not self.session or message.vmid != self.guest.vmid:
            return
        self.view, self.error = message.view, message.error
        self._paint_title()
        self._render_rows()
        self.refresh_bindings()
        if self.offer_new is not None and self.view is not None:
            why, self.offer_new = self.offer_new, None
            denied = self.denial("snapshot")
            if denied is None:
                self._open_form(why)
            else:
                self.say(f"New snapshot {self.guest.label}: {denied}")

    def session_changed(self) -> None:
        """Another cluster: this guest is not its guest; the screen goes once it is on top
        (dismissing pops the top screen, which may be another one now)."""
        self.gone = True
        if self.is_current:
            self.dismiss()

    def on_screen_resume(self) -> None:
        if self.gone:
            self.dismiss()

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        """The guest's fresh state (its lock above all); a lock that comes or goes means a
        task changed the snapshots."""
        fresh = next((g for g in snapshot.guests if g.vmid == self.guest.vmid), None)
        if fresh is None:
            return
        self.guest = fresh
        if fresh.lock != self._lock:
            self._lock = fresh.lock
            self.reload()
        self._paint_title()
        self.refresh_bindings()

    def _action_ended(self, ended: Ended | None) -> None:
        if ended is not None and self.guest.vmid in ended.vmids:
            self.reload()

    # -- rendering --------------------------------------------------------------------------

    def _paint_title(self) -> None:
        guest = self.guest
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Snapshots of ", style="bold")
        title.append(printable(guest.label), style="bold cyan")
        title.append(f" ({guest.vmid}, {guest.type}) on {printable(guest.node)}")
        if guest.lock:
            title.append(f"  locked ({printable(guest.lock)})", style="bold yellow")
        view = self.view
        if view is None and self.error is None:
            title.append("  loading…", style="italic")
        elif view is not None:
            count = len(view.tree.snapshots)
            title.append(f"  ·  {count} snapshot{'s' if count != 1 else ''}", style="bold")
        title.append("  Esc: back", style="dim")
        self.query_one("#snap-title", Static).update(title)
        lines = Text()
        if self.error is not None:
            lines.append(printable(self.error), style="bold red")
        elif view is not None:
            for blocker in view.blockers:
                lines.append(("\n" if lines else "") + "New snapshot: " + printable(blocker),
                             style="yellow")  # fmt: skip
            for problem in view.problems:
                lines.append(("\n" if lines else "") + printable(problem), style="dim")
        box = self.query_one("#snap-blockers", Static)
        box.update(lines)
        box.display = bool(lines)

    def _render_rows(self) -> None:
        table = self.table
        if self.view is None:
            table.empty_text = "Could not read the snapshots." if self.error else "Loading…"
            table.set_rows([])
            return
        now = self.snapshot.fetched_at if self.snapshot is not None else time.time()
        table.empty_text = "No snapshots."
        table.set_rows(snapshot_rows(self.view, now))
        if not self._placed:
            self._placed = True
            current = self.view.tree.current
            start = current.parent if current is not None and current.parent else None
            table.move_to(start or (current.name if current is not None else ""))

    @property
    def selected(self) -> GuestSnapshot | None:
        """The real snapshot under the cursor (None on NOW)."""
        key = self.table.cursor_key
        if self.view is None or not isinstance(key, str):
            return None
        return self.view.tree.get(key)

    # -- which keys, and why not ------------------------------------------------------------

    def denial(self, action: str) -> str | None:
        """Why `action` is not offered now, or None."""
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None or self.view is None:
            return "the snapshots are not loaded yet"
        denied = why_not(action, self.guest, snapshot.privileges, read_only=session.read_only)
        if denied is not None:
            return denied.text
        if session.runner.busy(self.guest.vmid):
            return "a task of Argus's is still running on it"
        if action == "snapshot":
            return "; ".join(self.view.blockers) or None
        snap = self.selected
        if snap is None:
            return f"select a snapshot ({NOW} is where the guest is now)"
        if action == "rollback" and not snap.complete:
            return f"snapshot {snap.name} is incomplete ({snap.snapstate}): Proxmox refuses it"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        op = {"new": "snapshot", "rollback": "rollback", "delete": "snapshot-delete"}.get(action)
        if op is not None:
            return self.denial(op) is None
        return True

    def on_virtual_table_highlighted(self) -> None:
        self.refresh_bindings()  # (the base class's handler runs too: the assistant pane)

    def verdicts(self) -> list[Verdict]:
        return [(OPERATIONS[op].label, self.denial(op)) for op in OPS]

    def action_why(self) -> None:
        guest = self.guest
        title = f"{guest.label} ({guest.vmid}) on {guest.node}"
        self.app.push_screen(WhyNot(title, operations=self.verdicts()))

    # -- the actions ------------------------------------------------------------------------

    def action_new(self) -> None:
        if self.denial("snapshot") is None:
            self._open_form()  # hidden keys do nothing, even if pressed

    def _open_form(self, why: str = "") -> None:
        if self.view is None:
            return
        guest = self.guest
        taken = [s.name for s in self.view.tree.snapshots]
        ram = guest.type == "qemu" and guest.status == "running"
        self.app.push_screen(NewSnapshotForm(guest, taken, ram=ram, why=why), self._take)

    def _take(self, answer: NewSnapshot | None) -> None:
        if answer is None:
            self.say("cancelled")
            return
        self.post_message(
            SnapshotRequested(
                self.guest, "snapshot", answer.name, answer.description, answer.vmstate
            )
        )

    def action_rollback(self) -> None:
        snap = self.selected
        if snap is None or self.denial("rollback") is not None or self.snapshot is None:
            return
        guest = self.guest
        may_start = "VM.PowerMgmt" in self.snapshot.privileges.on_guest(guest.vmid)
        name = snap.name

        def answered(answer: RollbackAnswer | None) -> None:
            if answer is None:
                self.say("cancelled")
                return
            self.post_message(
                SnapshotRequested(guest, "rollback", name, start_after=answer.start_after)
            )

        modal = ConfirmRollback(guest, name, ram=snap.vmstate, may_start=may_start)
        self.app.push_screen(modal, answered)

    def action_delete(self) -> None:
        snap = self.selected
        if snap is None or self.denial("snapshot-delete") is not None:
            return
        guest, name = self.guest, snap.name
        question = Text()
        question.append("Delete snapshot ", style="bold red")
        question.append(printable(name), style="bold")
        question.append(" of ")
        question.append(printable(guest.label), style="bold")
        question.append(f" ({guest.vmid}) on node {printable(guest.node)}?\n\n")
        question.append("Its children keep their place under its parent; the snapshot cannot "
                        "be rolled back to afterwards.", style="yellow")  # fmt: skip

        def answered(ok: bool | None) -> None:
            if ok:
                self.post_message(SnapshotRequested(guest, "snapshot-delete", name))
            else:
                self.say("cancelled")

        self.app.push_screen(ConfirmAction(question), answered)

    def action_back(self) -> None:
        self.dismiss()

    def assistant_target(self) -> Guest:
        return self.guest
