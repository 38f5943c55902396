"""Screen 2: every VM and container in one table, filterable, sortable, with details."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Static

from argus_tui.domain.console import ConsoleTarget
from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.permissions import ACTION_ORDER, ACTIONS
from argus_tui.services.power import PlanItem, Refusal, plan
from argus_tui.services.views import filter_rows, guest_haystack, sort_rows
from argus_tui.ui.messages import (
    BackupRequested,
    ConsoleRefusals,
    ConsoleRequested,
    FilterToNode,
    GuestSelected,
    MigrateRequested,
    OfferPower,
    PowerRequested,
    ScreenWords,
    SelectGuest,
    ShowBackups,
)
from argus_tui.ui.screens import guest_ops
from argus_tui.ui.screens.backup_form import BackupChoice, BackupForm
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.guest_rows import COLUMNS, SORT_KEYS, TYPE_WORDS, guest_cells
from argus_tui.ui.screens.migrate import Choice, MigratePicker
from argus_tui.ui.screens.power import BulkPlan, ConfirmAction, WhyNot, confirm_text
from argus_tui.ui.screens.snapshots import SnapshotsScreen
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.filter import TableFilter
from argus_tui.ui.widgets.guest_details import GuestDetails
from argus_tui.ui.widgets.table import Cell, VirtualTable


class GuestsScreen(ArgusScreen):
    """VMs and containers; `/` filters, `s`/`S` sort, space marks, `d` toggles details."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("S", "power('start')", "Start", id="power.start"),
        Binding("D", "power('shutdown')", "Shutdown", id="power.shutdown"),
        Binding("K", "power('stop')", "Stop", id="power.stop"),
        Binding("R", "power('reboot')", "Reboot", id="power.reboot"),
        Binding("X", "power('reset')", "Reset", id="power.reset"),
        Binding("Z", "power('suspend')", "Suspend", id="power.suspend"),
        Binding("H", "power('hibernate')", "Hibernate", id="power.hibernate"),
        Binding("U", "power('resume')", "Resume", id="power.resume"),
        Binding("n", "snapshots", "Snapshots", id="guests.snapshots"),
        Binding("b", "backup", "Backup", id="guests.backup"),
        Binding("B", "backups", "Backups", id="guests.backups"),
        Binding("m", "migrate", "Migrate", id="guests.migrate"),
        Binding("c", "console", "Console", id="guests.console"),
        # Priority: keys typed right after `/` (a fast typist, a paste) reach the filter.
        Binding("slash", "table_filter", "Filter", id="guests.filter", priority=True),
        Binding("escape", "clear_table_filter", "Clear filter", show=False, id="guests.clear"),
        Binding("s", "sort(1)", "Sort", id="guests.sort"),
        Binding("r", "reverse", "Reverse sort", show=False, id="guests.reverse"),
        Binding("space", "mark", "Mark", id="guests.mark"),
        Binding("d", "details", "Details", id="guests.details"),
        Binding("w", "why", "Why not?", show=False, id="power.why"),
    ]

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__(mode, tabs)
        self.confirm: frozenset[str] = frozenset()  # the actions that ask first (the app's)
        self._guests: dict[int, Guest] = {}
        self._type: str | None = None
        self._details_timer: Timer | None = None
        self._announced = False  # the app has been told the selection of this session
        self._last_offer: tuple[str, ...] | None = None
        self._cell_cache: dict[int, tuple[Cell, ...]] = {}
        self._hay_cache: dict[int, str] = {}
        self._empty = "Loading guests…"
        self._perm_notice = ""
        self._consoles = ConsoleRefusals()  # the app's: servers seen refusing consoles

    def compose_body(self) -> ComposeResult:
        yield TableFilter(id="guest-filter")
        yield Static("", id="guest-notice")
        with Horizontal(id="guest-body"):
            yield VirtualTable(COLUMNS, empty_text="Loading guests…", id="guests")
            yield GuestDetails()

    def on_mount(self) -> None:
        self._paint_notice()  # none yet: the line takes no room
        # The details panel starts open only where the table still has room beside it.
        self.query_one(GuestDetails).display = self.app.size.width >= 140
        table = self.table
        table.sort_key = "vmid"
        self.set_focus(table)
        self.watch(self.app, "confirm", self._new_confirm)
        self.watch(self.app, "console_refused", self._new_refusals)

    def _new_confirm(self, confirm: frozenset[str]) -> None:
        self.confirm = confirm

    def _new_refusals(self, refusals: ConsoleRefusals) -> None:
        self._consoles = refusals
        self._update_keys()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#guests", VirtualTable)

    # -- data -------------------------------------------------------------------------------

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._guests = {g.vmid: g for g in snapshot.guests}
        self._cell_cache = {}
        self._hay_cache = {}
        notice = ""
        if "VM.Audit" not in snapshot.privileges.effective("/vms"):
            notice = (
                "no VM.Audit on /vms: guests without it are hidden; see `argus doctor`"
                if snapshot.guests
                else "no VM.Audit on /vms: guests are hidden; see `argus doctor`"
            )
        if notice != self._perm_notice:
            self._perm_notice = notice
            self._paint_notice()
        self._empty = "No guests." if not notice else "No guests visible to this token."
        self._render_rows()
        self._refresh_details(force=True)
        self._update_keys()

    def render_filtered(self) -> None:
        self._render_rows()

    def _render_rows(self) -> None:
        table = self.table
        rows = list(self._guests.values())
        if self._type:
            rows = [g for g in rows if g.type == self._type]
        rows = filter_rows(rows, self.filter_text, self._haystack)
        key = table.sort_key or "vmid"
        if key != "vmid" or table.sort_reverse:  # snapshots already come in vmid order
            rows = sort_rows(rows, SORT_KEYS[key], reverse=table.sort_reverse)
        table.empty_text = (
            f"No guests match {self.filter_text!r} (Esc clears the filter)."
            if self.filter_text and self._guests
            else self._empty
        )
        table.set_keys([g.vmid for g in rows], self._cells)
        if not self._announced and self.selected is not None:
            # The cursor kept its row across a profile switch: no Highlighted comes, yet
            # the app cleared its selection, and the usage screen shows the app's.
            self._announced = True
            self.post_message(GuestSelected(self.selected))

    def session_changed(self) -> None:
        self._announced = False

    def _cells(self, vmid: object) -> tuple[Cell, ...]:
        """Cells per guest, built on first draw and kept for the snapshot."""
        assert isinstance(vmid, int)
        cells = self._cell_cache.get(vmid)
        if cells is None:
            cells = self._cell_cache[vmid] = guest_cells(self._guests[vmid])
        return cells

    def _haystack(self, guest: Guest) -> str:
        text = self._hay_cache.get(guest.vmid)
        if text is None:
            text = self._hay_cache[guest.vmid] = guest_haystack(guest)
        return text

    def only_type(self, guest_type: str | None) -> None:
        """`:vm` / `:ct`: one kind of guest; said above the table until Esc or `:guests`."""
        self._type = guest_type
        self._render_rows()
        self._paint_notice()

    def on_screen_words(self, message: ScreenWords) -> None:
        self.only_type(TYPE_WORDS.get(message.word))

    def clear_narrowing(self) -> bool:
        """Esc with no filter: back from :vm / :ct to every guest."""
        if not self._type:
            return False
        self.only_type(None)
        return True

    def _paint_notice(self) -> None:
        text = Text(self._perm_notice, style="yellow")
        label = {"qemu": "VMs", "lxc": "containers"}.get(self._type or "")
        if label:
            if text:
                text.append("  ·  ")
            text.append(f"showing {label} only", style="bold cyan")
            text.append(" (Esc or :guests shows all)", style="dim")
        notice = self.query_one("#guest-notice", Static)
        notice.update(text)
        notice.display = bool(text)

    def on_filter_to_node(self, message: FilterToNode) -> None:
        """The filter box holding the node's name, anchored (the rows follow the box)."""
        box = self.query_one(TableFilter)
        box.display = True
        box.value = f"/^{re.escape(message.node.lower())}$/"

    def on_select_guest(self, message: SelectGuest) -> None:
        if not self.select_guest(message.vmid):
            self.say(f"guest {message.vmid} is not in the current list")

    def select_guest(self, vmid: int) -> bool:
        """Put the cursor on a guest, clearing a filter or type view that hides it."""
        if vmid not in self._guests:
            return False
        if vmid not in self.table.keys:
            self._type = None
            self.query_one(TableFilter).value = ""
            self._render_rows()
        self.table.move_to(vmid)
        return True

    @property
    def selected(self) -> Guest | None:
        key = self.table.cursor_key
        return self._guests.get(key) if isinstance(key, int) else None

    def marked_guests(self) -> list[Guest]:
        marked = [self._guests[k] for k in self.table.marked if k in self._guests]
        return sorted(marked, key=lambda g: g.vmid)

    # -- power ------------------------------------------------------------------------------

    def _targets(self) -> list[Guest]:
        marked = self.marked_guests()
        if marked:
            return marked
        selected = self.selected
        return [selected] if selected is not None else []

    def _plan(self, action: str, guests: list[Guest]) -> list[PlanItem]:
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None:
            return []
        items = plan(guests, action, snapshot.privileges, read_only=session.read_only)
        return [
            PlanItem(i.guest, i.action, "skipped: a task of Argus's is still running", Refusal.BUSY)
            if i.runs and session.power.busy(i.guest.vmid)
            else i
            for i in items
        ]

    def _offer(self) -> tuple[str, ...]:
        targets = self._targets()
        power = tuple(a for a in ACTION_ORDER if any(i.runs for i in self._plan(a, targets)))
        others = ("snapshots", "backup", "backups", "migrate", "console")
        return power + tuple(name for name in others if self._offers(name))

    def _offers(self, name: str) -> bool:
        """Whether the snapshots view, a backup now or the guest's backups are offered."""
        snapshot, session, selected = self.snapshot, self.session, self.selected
        if snapshot is None or session is None:
            return False
        if name == "backup":
            return bool(guest_ops.backup_offer(self._targets(), snapshot, session)[1])
        if name == "backups":
            return selected is not None and guest_ops.has_backup_storage(snapshot)
        if name == "migrate":
            candidates = guest_ops.migrate_candidates(self._targets(), snapshot, session)
            return any(reason is None for _, reason in candidates)
        if name == "console":
            return selected is not None and self._console_reason(selected, snapshot) is None
        return selected is not None

    def _console_reason(self, guest: Guest, snapshot: ClusterSnapshot) -> str | None:
        config, refused = self.query_one(GuestDetails).config(guest.vmid), self._consoles.guests
        return guest_ops.console_reason(guest, snapshot, refused=refused, config=config)

    def _update_keys(self) -> None:
        """Rebuild the footer only when the set of offered power keys changes (it is costly)."""
        offer = self._offer()
        if offer != self._last_offer:
            self._last_offer = offer
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A power key the token may not use, or that is invalid in the state, is absent."""
        if action == "power":
            name = str(parameters[0]) if parameters else ""
            return any(item.runs for item in self._plan(name, self._targets()))
        if action in ("snapshots", "backup", "backups", "migrate", "console"):
            return self._offers(action)
        return True

    def action_power(self, action: str) -> None:
        targets = self._targets()
        items = self._plan(action, targets)
        runnable = [item for item in items if item.runs]
        if not runnable:
            return  # hidden keys do nothing, even if pressed
        if self.table.marked:
            self.app.push_screen(BulkPlan(action, items), lambda ok: self._go(ok, runnable))
            return
        item = runnable[0]
        if action in self.confirm or action == "hibernate":  # always: its memory goes to disk
            question = confirm_text(action, item.guest.label, item.guest.vmid, item.guest.node)
            self.app.push_screen(ConfirmAction(question), lambda ok: self._go(ok, [item]))
        else:
            self._go(True, [item])

    def _go(self, confirmed: bool | None, items: list[PlanItem]) -> None:
        if not confirmed:
            self.say("cancelled")
            return
        if self.table.marked:
            self.table.clear_marks()
        for item in items:
            self.post_message(PowerRequested(item.guest, item.action))
        self._update_keys()

    def assistant_target(self) -> Guest | None:
        return self.selected

    def make_room_for_pane(self) -> None:
        if self.app.size.width < 160:  # the table keeps its columns; `d` brings details back
            self.query_one(GuestDetails).display = False

    def on_offer_power(self, message: OfferPower) -> None:
        """An action suggested elsewhere: checked like a key press, always confirmed."""
        vmid, action = message.vmid, message.action
        guest = self._guests.get(vmid)
        if guest is None or not self.select_guest(vmid):
            self.say(f"guest {vmid} is not in the current list")
            return
        if action == "snapshot":
            self._offer_snapshot(guest, message.why)
            return
        [item] = self._plan(action, [guest])
        if not item.runs:
            self.say(f"{ACTIONS[action].label} {guest.label}: {item.reason}")
            return
        question = confirm_text(action, guest.label, guest.vmid, guest.node)
        question.append(f"\n{message.why}", style="dim")

        def answered(ok: bool | None) -> None:
            if ok:
                self.post_message(PowerRequested(item.guest, item.action))
                self._update_keys()
            else:
                self.say("cancelled")

        self.app.push_screen(ConfirmAction(question), answered)

    def action_why(self) -> None:
        guest, snapshot, session = self.selected, self.snapshot, self.session
        if guest is None or snapshot is None or session is None:
            return
        items = self._plan_all(guest)
        console = self._console_reason(guest, snapshot)
        verdicts = guest_ops.verdicts(guest, snapshot, session, console=console)
        self.app.push_screen(
            WhyNot(f"{guest.label} ({guest.vmid}) on {guest.node}", items, verdicts)
        )

    # -- snapshots and backups --------------------------------------------------------------

    def action_snapshots(self) -> None:
        guest = self.selected
        if guest is None or self.session is None or not self._offers("snapshots"):
            return
        screen = SnapshotsScreen(guest, self.session, self.snapshot, mode=self.mode, tabs=self.tabs)
        self.app.push_screen(screen)

    def _offer_snapshot(self, guest: Guest, why: str) -> None:
        """ "Snapshot first": the snapshots view, its New snapshot form open (if offered)."""
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None:
            return
        denied = guest_ops.denial("snapshot", guest, snapshot, session)
        if denied is not None:
            self.say(f"New snapshot {guest.label}: {denied}")
            return
        screen = SnapshotsScreen(
            guest, session, snapshot, mode=self.mode, tabs=self.tabs, offer_new=why
        )
        self.app.push_screen(screen)

    def action_backup(self) -> None:
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None:
            return
        candidates, storages = guest_ops.backup_offer(self._targets(), snapshot, session)
        if not storages:
            return  # hidden keys do nothing, even if pressed
        guests = tuple(guest for guest, reason in candidates if reason is None)

        def answered(choice: BackupChoice | None) -> None:
            if choice is None:
                self.say("cancelled")
                return
            if self.table.marked:
                self.table.clear_marks()
            self.post_message(
                BackupRequested(guests, choice.storage, choice.mode, choice.notes, choice.protected)
            )
            self._update_keys()

        self.app.push_screen(BackupForm(candidates, storages), answered)

    def action_migrate(self) -> None:
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None:
            return
        candidates = guest_ops.migrate_candidates(self._targets(), snapshot, session)
        guests = [guest for guest, reason in candidates if reason is None]
        if not guests:
            return  # hidden keys do nothing, even if pressed
        skipped = [f"{g.label}: {reason}" for g, reason in candidates if reason is not None]

        def answered(choice: Choice | None) -> None:
            if choice is None:
                self.say("cancelled")
                return
            if self.table.marked:
                self.table.clear_marks()
            for one in choice.plans:
                if one.guest.node == choice.target:
                    continue  # already there
                local = bool(one.precondition.local_disks)
                self.post_message(MigrateRequested(one.guest, choice.target, one.mode, local))
            self._update_keys()

        if skipped:
            self.say("skipped " + "; ".join(skipped))
        self.app.push_screen(MigratePicker(guests, session, snapshot), answered)

    def action_console(self) -> None:
        guest = self.selected
        if guest is not None and self._offers("console"):
            self.post_message(ConsoleRequested(ConsoleTarget.of_guest(guest)))

    def action_backups(self) -> None:
        guest = self.selected
        if guest is not None and self._offers("backups"):
            self.post_message(ShowBackups(guest))

    def _plan_all(self, guest: Guest) -> list[PlanItem]:
        return [item for action in ACTION_ORDER for item in self._plan(action, [guest])]

    # -- actions ----------------------------------------------------------------------------

    def action_sort(self, step: int) -> None:
        keys = [c.key for c in COLUMNS]
        current = keys.index(self.table.sort_key) if self.table.sort_key in keys else 0
        self.table.sort_key = keys[(current + step) % len(keys)]
        self.table.sort_reverse = self.table.sort_key in ("cpu", "mem", "disk", "uptime")
        self._render_rows()
        self.table.refresh()

    def action_reverse(self) -> None:
        self.table.sort_reverse = not self.table.sort_reverse
        self._render_rows()
        self.table.refresh()

    def action_mark(self) -> None:
        self.table.toggle_mark()
        self._update_keys()
        count = len(self.table.marked)
        self.say(f"{count} marked" if count else "")
        self.table.action_cursor(1)

    def action_details(self) -> None:
        panel = self.query_one(GuestDetails)
        panel.display = not panel.display
        if panel.display:
            self._refresh_details(force=True)
        self._update_keys()  # the console's key follows the VM's config only while shown

    @on(VirtualTable.Highlighted, "#guests")
    def _highlighted(self) -> None:
        self._announced = True
        self.post_message(GuestSelected(self.selected))
        self._update_keys()
        if self._details_timer is not None:
            self._details_timer.stop()
        self._details_timer = self.set_timer(0.25, self._refresh_details)

    def _refresh_details(self, force: bool = False) -> None:
        self.query_one(GuestDetails).show(self.selected, force=force)

    def on_guest_details_loaded(self, _message: GuestDetails.Loaded) -> None:
        self._update_keys()  # a VM's config says whether it has a serial console
