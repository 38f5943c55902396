"""Screen 6: every storage per node with its usage, type and content types.

Rows come from the refresh's `/cluster/resources` (the snapshot's storages), so showing
them costs no request of its own; Enter opens a storage's content, which is read on demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from argus_tui.domain.format import bytes_, pct_style, percent
from argus_tui.domain.models import ClusterSnapshot
from argus_tui.domain.storage import Storage
from argus_tui.domain.text import printable
from argus_tui.services.views import filter_rows
from argus_tui.ui.messages import ShowGuestBackups
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.content import ContentScreen
from argus_tui.ui.screens.content_rows import backup_storages_for
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.filter import TableFilter
from argus_tui.ui.widgets.table import Cell, Column, VirtualTable
from argus_tui.ui.widgets.usage import bar

BAR = 12
COLUMNS = (
    Column("storage", "STORAGE", 0, min_width=12, priority=10, max_width=28),
    Column("node", "NODE", 10, priority=9),
    Column("type", "TYPE", 8, priority=7),
    Column("content", "CONTENT", 0, min_width=14, priority=6, max_width=34),
    Column("shared", "SHARED", 6, priority=4),
    Column("status", "STATUS", 9, priority=8),
    Column("bar", "USAGE", BAR, priority=8),
    Column("pct", "USE%", 4, "right", priority=8),
    Column("used", "USED / TOTAL", 15, "right", priority=7),
)


def storage_cells(storage: Storage) -> tuple[Cell, ...]:
    fraction = storage.fraction
    style = "" if storage.active else "dim"
    status = storage.status or "unknown"
    if storage.used is None and storage.total is None:
        used = "-"
    else:
        used = f"{bytes_(storage.used)} / {bytes_(storage.total)}"
    return (
        (storage.storage, "accent" if storage.active else "dim"),
        (storage.node, style),
        (storage.type or "?", style),
        (",".join(storage.content), "dim"),
        ("shared" if storage.shared else "", style),
        (status, "ok" if storage.active else "warn"),
        (bar(fraction, BAR), ""),
        (percent(fraction), pct_style(fraction) if storage.active else "dim"),
        (used, style),
    )


def storage_haystack(storage: Storage) -> str:
    parts = (storage.storage, storage.node, storage.type or "", *storage.content)
    return " ".join(parts).lower() + (" shared" if storage.shared else "")


class StorageScreen(ArgusScreen):
    """Storages by node; `/` filters; Enter opens the content of the one under the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "table_filter", "Filter", id="storage.filter", priority=True),
        Binding("escape", "clear_table_filter", "Clear filter", show=False, id="storage.clear"),
        Binding("enter", "open", "Content", id="storage.content"),
    ]

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__(mode, tabs)
        self._storages: dict[str, Storage] = {}
        self._notice = ""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="storage-title")
        yield TableFilter(id="storage-filter")
        yield Static("", id="storage-notice")
        yield VirtualTable(COLUMNS, empty_text="Loading storages…", id="storages")

    def on_mount(self) -> None:
        self.query_one("#storage-notice", Static).display = False
        self.set_focus(self.table)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#storages", VirtualTable)

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        ordered = sorted(snapshot.storages, key=lambda s: (s.node, s.storage))
        self._storages = {s.key: s for s in ordered}
        notice = ""
        if not snapshot.storages and "Datastore.Audit" not in snapshot.privileges.effective(
            "/storage"
        ):
            notice = "no Datastore.Audit on /storage: storages are hidden; see `argus doctor`"
        if notice != self._notice:
            self._notice = notice
            box = self.query_one("#storage-notice", Static)
            box.update(Text(notice, style="yellow"))
            box.display = bool(notice)
        self._render_rows()
        nodes = len({s.node for s in snapshot.storages})
        title = Text("Storage", style="bold")
        title.append(f"  ·  {len(snapshot.storages)} on {nodes} node{'s' if nodes != 1 else ''}")
        title.append("  Enter: content · /: filter", style="dim")
        self.query_one("#storage-title", Static).update(title)

    def render_filtered(self) -> None:
        self._render_rows()

    def _render_rows(self) -> None:
        rows = filter_rows(list(self._storages.values()), self.filter_text, storage_haystack)
        table = self.table
        if self.filter_text and self._storages:
            table.empty_text = f"No storage matches {self.filter_text!r} (Esc clears the filter)."
        else:
            table.empty_text = "No storages visible to this token."
        storages = self._storages
        table.set_keys([s.key for s in rows], lambda key: storage_cells(storages[str(key)]))

    @property
    def selected(self) -> Storage | None:
        key = self.table.cursor_key
        return self._storages.get(key) if isinstance(key, str) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return self.selected is not None
        return True

    @on(VirtualTable.Selected, "#storages")
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        storage, session = self.selected, self.session
        if storage is None or session is None:
            return
        title = f"{storage.storage} on {storage.node}"
        self._open(ContentScreen([storage], session, self.snapshot, title=title, **self._place))

    def on_show_guest_backups(self, message: ShowGuestBackups) -> None:
        """`B` on the guests screen: the guest's backups over every backup storage."""
        guest, snapshot, session = message.guest, self.snapshot, self.session
        storages = backup_storages_for(snapshot.storages if snapshot else (), guest)
        if not storages or session is None:
            self.say("no storage visible to this token takes backups")
            return
        title = f"backups of {printable(guest.label)} ({guest.vmid})"
        self._open(
            ContentScreen(storages, session, snapshot, vmid=guest.vmid, title=title, **self._place)
        )

    @property
    def _place(self) -> dict[str, Any]:
        """The content screen sits in this screen's mode: the header shows Storage."""
        return {"mode": self.mode, "tabs": self.tabs}

    def _open(self, screen: ContentScreen) -> None:
        self.app.push_screen(screen)
