"""What one or more storages hold: backups with their guest, time, size, notes, protection.

Opened from the storage screen (Enter: one storage) or from the guests screen (`B`: one
guest's backups over every backup storage). Content is read in a worker, storage by
storage, as the token may see it: PVE lists a backup only with Datastore.AllocateSpace on
the storage and VM.Backup on its guest, so a short list is not an error.
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
from argus_tui.domain.storage import Storage
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.backups import owner_of
from argus_tui.services.session import Session
from argus_tui.services.views import filter_rows
from argus_tui.ui.action_flow import Ended
from argus_tui.ui.messages import BackupDeleteRequested, RefreshRequested, ShowGuestBackups
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.content_rows import (
    COLUMNS,
    DELETE,
    Row,
    backup_storages_for,
    delete_denial,
    protected_reason,
    volume_cells,
    volume_haystack,
)
from argus_tui.ui.screens.power import ConfirmAction, WhyNot
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.filter import TableFilter
from argus_tui.ui.widgets.table import VirtualTable


class ContentLoaded(Message):
    def __init__(
        self, session: Session, request: int, rows: list[Row], problems: list[str]
    ) -> None:
        super().__init__()
        self.session = session
        self.request = request  # which load this answers; an older one is dropped
        self.rows = rows
        self.problems = problems


class ContentScreen(ArgusScreen):
    """Volumes newest first; `/` filters; `X` deletes a backup where the token may."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "table_filter", "Filter", id="content.filter", priority=True),
        Binding("X", "delete_backup", DELETE, id="content.delete-backup"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="content.reload"),
        Binding("w", "why", "Why not?", show=False, id="content.why"),
        Binding("escape", "back", "Back", id="content.back"),
    ]

    def __init__(
        self,
        storages: Sequence[Storage],
        session: Session,
        snapshot: ClusterSnapshot | None = None,
        *,
        vmid: int | None = None,
        title: str = "",
        mode: str = "",
        tabs: Sequence[Tab] = (),
    ) -> None:
        super().__init__(mode, tabs)
        self.session = session  # the app's, whose storages these are
        self.snapshot = snapshot
        self.storages = list(storages)
        self.vmid = vmid
        self.title_text = title
        self.rows: dict[str, Row] = {}
        self.loaded = False
        self._problems: list[str] = []
        self._guests: dict[int, Guest] = {}
        self._request = 0
        self.gone = False  # another profile was opened: nothing here is of its cluster

    def compose_body(self) -> ComposeResult:
        yield Static("", id="content-title")
        yield TableFilter(id="content-filter")
        yield VirtualTable(COLUMNS, empty_text="Loading content…", id="content")

    def on_mount(self) -> None:
        self.set_focus(self.table)
        self.watch(self.app, "ended", self._action_ended, init=False)
        self._paint_title()
        self.reload()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#content", VirtualTable)

    # -- loading ----------------------------------------------------------------------------

    def show_for(self, storages: Sequence[Storage], vmid: int | None, title: str) -> None:
        """Show other storages (or another guest's backups) in this screen."""
        self.storages, self.vmid, self.title_text = list(storages), vmid, title
        self.rows, self.loaded = {}, False
        self._render_rows()
        self.reload()

    def reload(self) -> None:
        if self.session is None:
            return
        self._request += 1
        self._paint_title()
        kind = "backup" if self.vmid is not None else None
        self._load(self.session, self._request, list(self.storages), kind, self.vmid)

    @work(thread=True, group="content", exit_on_error=False)
    def _load(
        self,
        session: Session,
        request: int,
        storages: list[Storage],
        kind: str | None,
        vmid: int | None,
    ) -> None:
        rows: list[Row] = []
        problems: list[str] = []
        for storage in storages:
            try:
                content = session.storage_content(storage, kind=kind, vmid=vmid)
            except ArgusError as exc:
                problems.append(f"{storage.storage} on {storage.node}: {exc}")
                continue
            rows += [Row(volume, storage.node) for volume in content.volumes]
            problems += [f"{storage.storage}: {p}" for p in content.problems]
        rows.sort(key=lambda r: (-(r.volume.ctime or 0), r.volume.volid))
        self.post_message(ContentLoaded(session, request, rows, problems))

    def on_content_loaded(self, message: ContentLoaded) -> None:
        if message.session is not self.session or message.request != self._request:
            return  # a cluster switched away from, or an older load
        self.rows = {row.key: row for row in message.rows}
        self._problems = message.problems
        self.loaded = True
        self._paint_title()
        self._render_rows()
        self.refresh_bindings()

    def session_changed(self) -> None:
        """Another cluster: these storages are not its storages; the screen goes once it
        is on top (dismissing pops the top screen, which may be another one now)."""
        self.gone = True
        if self.is_current:
            self.dismiss()

    def on_screen_resume(self) -> None:
        if self.gone:
            self.dismiss()

    def _action_ended(self, ended: Ended | None) -> None:
        if ended is None or ended.action not in ("backup", "backup-delete"):
            return
        storage = ended.target.partition(":")[0]
        if any(s.storage == storage for s in self.storages):
            self.reload()

    def action_reload(self) -> None:
        self.reload()
        self.post_message(RefreshRequested())

    # -- rendering --------------------------------------------------------------------------

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._guests = {g.vmid: g for g in snapshot.guests}
        self._render_rows()
        self.refresh_bindings()

    def render_filtered(self) -> None:
        self._render_rows()

    def on_resize(self) -> None:
        self._paint_title()  # the first line is cut to the width

    def _paint_title(self) -> None:
        text = Text()
        text.append(printable(self.title_text) or "Content", style="bold")
        if not self.loaded:
            text.append("  loading…", style="italic")
        else:
            count = len(self.rows)
            what = "backup" if self.vmid is not None else "volume"
            text.append(f"  ·  {count} {what}{'s' if count != 1 else ''}", style="bold")
        if len(self.storages) > 1:
            where = (s.storage if s.shared else f"{s.storage} ({s.node})" for s in self.storages)
            text.append("  on " + ", ".join(where), style="dim")
        text.append("  /: filter · Esc: back", style="dim")
        text.truncate(max(20, self.size.width - 2), overflow="ellipsis")
        if self._problems:
            problem = Text(printable(self._problems[0]), style="yellow")
            if len(self._problems) > 1:
                problem.append(f" (and {len(self._problems) - 1} more)")
            text.append("\n")
            text.append_text(problem)
        self.query_one("#content-title", Static).update(text)

    def _render_rows(self) -> None:
        guests = self._guests
        rows = filter_rows(list(self.rows.values()), self.filter_text,
                           lambda r: volume_haystack(r, guests))  # fmt: skip
        table = self.table
        if not self.loaded:
            table.empty_text = "Loading content…"
        elif self.filter_text and self.rows:
            table.empty_text = f"Nothing matches {self.filter_text!r} (Esc clears the filter)."
        elif self.vmid is not None:
            table.empty_text = (
                "No backups visible to this token (Proxmox lists a backup only with"
                " Datastore.AllocateSpace on the storage and VM.Backup on its guest)."
            )
        else:
            table.empty_text = "Nothing on this storage that the token may see."
        by_key = self.rows
        now = self.snapshot.fetched_at if self.snapshot is not None else time.time()
        table.set_keys(
            [r.key for r in rows], lambda key: volume_cells(by_key[str(key)].volume, guests, now)
        )

    @property
    def selected(self) -> Row | None:
        key = self.table.cursor_key
        return self.rows.get(key) if isinstance(key, str) else None

    # -- deleting a backup ------------------------------------------------------------------

    def delete_denial(self, row: Row | None) -> str | None:
        """Why `Delete backup` is not offered on `row`, or None (a protected backup is
        offered and then refused with Proxmox's reason)."""
        snapshot, session = self.snapshot, self.session
        if row is None:
            return "select a backup"
        volume = row.volume
        if volume.content != "backup":
            return f"{volume.name} is not a backup ({volume.content})"
        if session is None or snapshot is None:
            return "no data yet"
        if session.read_only:
            return "the profile is read-only"
        denied = delete_denial(volume, snapshot.privileges)
        if denied is not None:
            return denied
        if volume.vmid is not None and session.runner.busy(volume.vmid):
            return "a task of Argus's is still running on its guest"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete_backup":
            return self.delete_denial(self.selected) is None
        return True

    def on_virtual_table_highlighted(self) -> None:
        self.refresh_bindings()  # (the base class's handler runs too: the assistant pane)

    def action_delete_backup(self) -> None:
        row = self.selected
        if row is None or self.delete_denial(row) is not None or self.snapshot is None:
            return  # hidden keys do nothing, even if pressed
        volume = row.volume
        owner = owner_of(volume, self.snapshot.guests, row.node)
        if volume.protected:
            reason = protected_reason(volume)
            self.say(f"{DELETE} {volume.name}: refused")
            self.notify(
                f"{reason}; remove the protection first (the web UI's Edit Notes/Protection)",
                title=f"{DELETE} {volume.name}",
                severity="error",
                timeout=15,
            )
            return
        question = Text()
        question.append(f"{DELETE} ", style="bold red")
        question.append(printable(volume.name), style="bold")
        question.append(f"\nof {printable(owner.label)} ({owner.vmid}) on ")
        question.append(printable(volume.storage), style="bold")
        question.append("?\n\n")
        question.append("The backup is removed from the storage: it cannot be restored "
                        "afterwards.", style="yellow")  # fmt: skip

        def answered(ok: bool | None) -> None:
            if ok:
                self.post_message(BackupDeleteRequested(volume, row.node, owner))
            else:
                self.say("cancelled")

        self.app.push_screen(ConfirmAction(question), answered)

    def action_why(self) -> None:
        row = self.selected
        reason = self.delete_denial(row)
        if reason is None and row is not None and row.volume.protected:
            reason = f"protected: {protected_reason(row.volume)}; remove the protection first"
        title = row.volume.volid if row is not None else self.title_text
        self.app.push_screen(WhyNot(title, operations=[(DELETE, reason)]))

    def action_back(self) -> None:
        box = self.query_one(TableFilter)
        if box.value or box.display:
            self.action_clear_table_filter()
            return
        self.dismiss()

    def on_show_guest_backups(self, message: ShowGuestBackups) -> None:
        """`B` on the guests screen while this screen is on top of the storage screen."""
        guest = message.guest
        storages = backup_storages_for(self.snapshot.storages if self.snapshot else (), guest)
        if not storages:
            self.say("no storage visible to this token takes backups")
            return
        self.show_for(storages, guest.vmid, f"backups of {printable(guest.label)} ({guest.vmid})")
