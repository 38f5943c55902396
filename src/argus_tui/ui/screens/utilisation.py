"""Screen 3: cluster totals, per-node usage with history, and the selected guest's graphs.

Current values come from the shared snapshot. History is rrddata, fetched in thread
workers while this screen is shown: one call per node whose usage is visible and one for
the selected guest (never one per guest), at most once per REFETCH seconds for each
timeframe and node or guest, so a timeframe not loaded yet is fetched at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from argus_tui.domain.format import bytes_, uptime
from argus_tui.domain.models import ClusterSnapshot, Entity, Guest, Node
from argus_tui.domain.text import printable
from argus_tui.services.session import TIMEFRAMES, Session
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.usage import UsageRow, fraction_line, rate_line, ratio

REFETCH = 30.0  # seconds between rrddata fetches of one node or guest in one timeframe
clock = time.monotonic  # replaced in tests
Rows = list[dict[str, float]]
Key = tuple[str, Entity]  # (timeframe, node or guest)
Totals = dict[Entity, dict[str, float]]  # capacities from the snapshot, per node or guest


def usage_hidden(node: Node) -> bool:
    """Online but without any usage: the token lacks Sys.Audit on /nodes/<node>."""
    return node.online and node.cpu is None and node.maxmem is None


def series(rows: Rows | None, field: str, total: str | None = None) -> list[float] | None:
    """One field over time (as a fraction of `total` if given); rows missing it are skipped."""
    if rows is None:
        return None
    out: list[float] = []
    for row in rows:
        value = row.get(field)
        if value is None:
            continue
        if total is not None:
            whole = row.get(total)
            if not whole:
                continue
            value /= whole
        out.append(value)
    return out


def latest(rows: Rows | None, field: str) -> float | None:
    """The newest bucket's value, only if the newest bucket has one."""
    return rows[-1].get(field) if rows else None


def _pair(used: int | None, total: int | None) -> str:
    return "" if used is None or total is None else f"{bytes_(used)}/{bytes_(total)}"


def totals_text(snapshot: ClusterSnapshot, timeframe: str, samples: int | None) -> Text:
    """Header line plus CPU (weighted by maxcpu), memory and disk over online nodes."""
    online = [n for n in snapshot.nodes if n.online]
    text = Text("Cluster", style="bold", no_wrap=True, overflow="ellipsis")
    text.append(
        f"  {len(online)}/{len(snapshot.nodes)} nodes online",
        style="green" if len(online) == len(snapshot.nodes) else "bold yellow",
    )
    text.append(f"  ·  history: {timeframe}")
    if samples:
        text.append(f" ({samples} samples)", style="dim")
    text.append("  t: change", style="dim")
    cpus = sum(n.maxcpu or 0 for n in online if n.cpu is not None)
    busy = sum((n.cpu or 0.0) * (n.maxcpu or 0) for n in online)
    text.append("\n")
    text.append_text(fraction_line("CPU", busy / cpus if cpus else None, f"of {cpus} CPUs"))
    for label, used, total in (
        ("MEM", [n.mem for n in online], [n.maxmem for n in online]),
        ("DISK", [n.disk for n in online], [n.maxdisk for n in online]),
    ):
        pairs = [(u, t) for u, t in zip(used, total, strict=True) if u is not None and t]
        u_sum = sum(u for u, _ in pairs)
        t_sum = sum(t for _, t in pairs if t)
        text.append("\n")
        text.append_text(
            fraction_line(label, ratio(u_sum, t_sum), _pair(u_sum, t_sum) if pairs else "")
        )
    hidden = sum(1 for n in online if usage_hidden(n))
    if hidden:
        text.append(f"\nusage of {hidden} online node(s) hidden (no Sys.Audit)", style="yellow")
    return text


class UsageBlock(Vertical):
    """A title, an optional notice, then one UsageRow per entry of LABELS."""

    DEFAULT_CSS = """
    UsageBlock { height: auto; margin-bottom: 1; }
    UsageBlock > Static { height: auto; }
    """

    LABELS: ClassVar[tuple[tuple[str, str, bool], ...]] = ()  # (rrd field, label, is_rate)

    def __init__(self) -> None:
        super().__init__()
        self.title = Static("")
        self.notice = Static("")
        self.rows = {key: UsageRow(label, is_rate=r) for key, label, r in self.LABELS}

    def compose(self) -> ComposeResult:
        yield self.title
        yield self.notice
        yield from self.rows.values()

    def _frame(self, title: Text, notice: Text | None, show_rows: bool) -> None:
        self.title.update(title)
        self.notice.update(notice or "")
        self.notice.display = notice is not None
        for row in self.rows.values():
            row.display = show_rows


class NodeUsage(UsageBlock):
    """One node: CPU, memory, root disk and network in/out."""

    LABELS: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("cpu", "CPU", False),
        ("mem", "MEM", False),
        ("disk", "DISK", False),
        ("netin", "NET IN", True),
        ("netout", "NET OUT", True),
    )

    def show(self, node: Node, rows: Rows | None, error: str | None) -> None:
        title = Text(printable(node.name), style="bold cyan", no_wrap=True, overflow="ellipsis")
        hidden = usage_hidden(node)
        live = node.online and not hidden
        if not node.online:
            title.append(f"  {printable(node.status)}", style="bold red")
            title.append("  no current values; history up to its last report", style="dim")
        else:
            title.append("  online", style="green")
            if node.uptime:
                title.append(f"  up {uptime(node.uptime)}", style="dim")
        notice = None
        if hidden:
            notice = Text(f"usage hidden (no Sys.Audit on /nodes/{printable(node.name)})")
            notice.stylize("yellow")
        elif error is not None:
            notice = Text(f"history unavailable: {printable(error)}", style="yellow")
        self._frame(title, notice, not hidden)
        if hidden:
            return
        mem = ratio(node.mem, node.maxmem) if live else None
        disk = ratio(node.disk, node.maxdisk) if live else None
        cpus = f"of {node.maxcpu}" if live and node.maxcpu else ""
        stale = not live
        self.rows["cpu"].show(
            fraction_line("CPU", node.cpu if live else None, cpus), series(rows, "cpu"), stale=stale
        )
        self.rows["mem"].show(
            fraction_line("MEM", mem, _pair(node.mem, node.maxmem) if live else ""),
            series(rows, "memused", "memtotal"),
            stale=stale,
        )
        self.rows["disk"].show(
            fraction_line("DISK", disk, _pair(node.disk, node.maxdisk) if live else ""),
            series(rows, "rootused", "roottotal"),
            stale=stale,
        )
        for key, label, _ in self.LABELS[3:]:
            current = latest(rows, key) if live else None
            self.rows[key].show(rate_line(label, current), series(rows, key), stale=stale)


class GuestUsage(UsageBlock):
    """The guest selected on the guests screen: CPU, memory, network and disk I/O."""

    LABELS: ClassVar[tuple[tuple[str, str, bool], ...]] = (
        ("cpu", "CPU", False),
        ("mem", "MEM", False),
        ("netin", "NET IN", True),
        ("netout", "NET OUT", True),
        ("diskread", "READ", True),
        ("diskwrite", "WRITE", True),
    )

    def show_guest(self, guest: Guest | None, rows: Rows | None, error: str | None) -> None:
        if guest is None:
            hint = Text("none selected: highlight a guest on the guests screen (2)", style="dim")
            self._frame(Text("Selected guest", style="bold"), hint, False)
            return
        title = Text(f"{guest.vmid} ", style="bold", no_wrap=True, overflow="ellipsis")
        title.append(printable(guest.label), style="bold cyan")
        title.append(f"  {guest.type} on {printable(guest.node)}", style="dim")
        running = guest.status == "running"
        title.append(f"  {printable(guest.status)}", style="green" if running else "yellow")
        notice = None
        if error is not None:
            notice = Text(f"history unavailable: {printable(error)}", style="yellow")
        self._frame(title, notice, True)
        cpus = f"of {guest.maxcpu:g}" if running and guest.maxcpu else ""
        cpu = guest.cpu if running else None
        self.rows["cpu"].show(fraction_line("CPU", cpu, cpus), series(rows, "cpu"))
        mem = ratio(guest.mem, guest.maxmem) if running else None
        self.rows["mem"].show(
            fraction_line("MEM", mem, _pair(guest.mem, guest.maxmem) if running else ""),
            series(rows, "mem", "maxmem"),
        )
        for key, label, _ in self.LABELS[2:]:
            self.rows[key].show(rate_line(label, latest(rows, key)), series(rows, key))


class HistoryReady(Message):
    def __init__(
        self,
        session: Session,
        timeframe: str,
        rows: dict[Entity, Rows],
        errors: dict[Entity, str],
    ) -> None:
        super().__init__()
        self.session = session
        self.timeframe = timeframe
        self.rows = rows
        self.errors = errors


class UtilisationScreen(ArgusScreen):
    """Totals, the selected guest, then every node (offline ones marked, never dropped)."""

    DEFAULT_CSS = """
    #usage { padding: 0 1; }
    #usage-totals { height: auto; margin-bottom: 1; }
    #usage-nodes { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "timeframe", "Timeframe", id="usage.timeframe"),
    ]

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__(mode, tabs)
        self.timeframe: str = TIMEFRAMES[0]
        self._snapshot: ClusterSnapshot | None = None
        self._selected: Guest | None = None  # the guests screen's selection (the app's)
        self._rrd: dict[Key, Rows] = {}
        self._errors: dict[Key, str] = {}
        self._requested: dict[Key, float] = {}
        self._pending: dict[Worker[None], list[Key]] = {}
        self._blocks: dict[str, NodeUsage] = {}

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="usage"):
            yield Static(Text("Loading…", style="italic"), id="usage-totals")
            yield GuestUsage()
            yield Vertical(id="usage-nodes")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#usage", VerticalScroll))
        self.watch(self.app, "selected_guest", self._new_selection)

    def _new_selection(self, guest: Guest | None) -> None:
        self._selected = guest

    def session_changed(self) -> None:
        self._snapshot = None
        self._rrd, self._errors, self._requested, self._pending = {}, {}, {}, {}

    # -- data -------------------------------------------------------------------------------

    def history(self, entity: Entity) -> Rows | None:
        """rrddata rows of a node or guest for the current timeframe; None until fetched."""
        return self._rrd.get((self.timeframe, entity))

    def selected_guest(self) -> Guest | None:
        """The app's selection, refreshed from the latest snapshot when it is still there."""
        chosen = self._selected
        if chosen is None:
            return None
        if self._snapshot is not None:
            for guest in self._snapshot.guests:
                if guest.vmid == chosen.vmid:
                    return guest
        return chosen

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._snapshot = snapshot
        self._redraw()
        self._fetch_due()

    def action_timeframe(self) -> None:
        index = TIMEFRAMES.index(self.timeframe)
        self.timeframe = TIMEFRAMES[(index + 1) % len(TIMEFRAMES)]
        self.say(f"usage history: {self.timeframe}")
        self._redraw()
        self._fetch_due()

    def _due(self, entities: Iterable[Entity], now: float) -> list[Key]:
        keys = [(self.timeframe, e) for e in entities]
        return [k for k in keys if now - self._requested.get(k, -REFETCH) >= REFETCH]

    def _fetch_due(self) -> None:
        if self._snapshot is None:
            return
        now = clock()
        shown = (Entity.of_node(n) for n in self._snapshot.nodes if not usage_hidden(n))
        nodes = self._due(shown, now)
        guest = self.selected_guest()
        guests = self._due([Entity.of_guest(guest)] if guest else [], now)
        session = self.session
        if session is None:
            return
        for keys, fetch in ((nodes, self._fetch_nodes), (guests, self._fetch_guest)):
            if keys:
                self._requested.update(dict.fromkeys(keys, now))
                wanted = {e: self._totals(e) for _, e in keys}  # read here, not in the worker
                self._pending[fetch(session, self.timeframe, wanted)] = keys

    @work(thread=True, exclusive=True, group="usage-nodes", exit_on_error=False)
    def _fetch_nodes(self, session: Session, timeframe: str, wanted: Totals) -> None:
        self._load(session, timeframe, wanted)

    @work(thread=True, exclusive=True, group="usage-guest", exit_on_error=False)
    def _fetch_guest(self, session: Session, timeframe: str, wanted: Totals) -> None:
        self._load(session, timeframe, wanted)

    def _load(self, session: Session, timeframe: str, wanted: Totals) -> None:
        """Worker thread: blocking calls, then one message to the event loop."""
        rows: dict[Entity, Rows] = {}
        errors: dict[Entity, str] = {}
        for entity, totals in wanted.items():
            usage = session.usage(entity, timeframe, totals)
            if usage.rows is not None:
                rows[entity] = usage.rows
            if usage.error:
                errors[entity] = usage.error
        self.post_message(HistoryReady(session, timeframe, rows, errors))

    def _totals(self, entity: Entity) -> dict[str, float]:
        """Capacities from the snapshot, since the local history keeps used values only."""
        snapshot = self._snapshot
        if snapshot is None:
            return {}
        totals: dict[str, int | None]
        if entity.kind == "node":
            node = next((n for n in snapshot.nodes if n.name == entity.node), None)
            totals = {"memtotal": node.maxmem, "roottotal": node.maxdisk} if node else {}
        else:
            guest = next((g for g in snapshot.guests if g.vmid == entity.vmid), None)
            totals = {"maxmem": guest.maxmem, "maxdisk": guest.maxdisk} if guest else {}
        return {k: float(v) for k, v in totals.items() if v}

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A fetch superseded before it ran may be retried at once, not after REFETCH."""
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self._pending.pop(event.worker, None)
        elif event.state == WorkerState.CANCELLED:
            for key in self._pending.pop(event.worker, []):
                if key not in self._rrd:
                    self._requested.pop(key, None)

    def on_history_ready(self, message: HistoryReady) -> None:
        if message.session is not self.session:
            return  # graphs of the cluster before a profile switch
        for entity, rows in message.rows.items():
            self._rrd[(message.timeframe, entity)] = rows
            self._errors.pop((message.timeframe, entity), None)
        for entity, error in message.errors.items():
            self._errors[(message.timeframe, entity)] = error
        if message.timeframe == self.timeframe:
            self._redraw()

    # -- rendering --------------------------------------------------------------------------

    def _redraw(self) -> None:
        snapshot = self._snapshot
        if snapshot is None:
            return
        samples = next(
            (len(r) for n in snapshot.nodes if (r := self.history(Entity.of_node(n)))), None
        )
        totals = totals_text(snapshot, self.timeframe, samples)
        self.query_one("#usage-totals", Static).update(totals)
        guest = self.selected_guest()
        rows = error = None
        if guest is not None:
            entity = Entity.of_guest(guest)
            rows, error = self.history(entity), self._errors.get((self.timeframe, entity))
        self.query_one(GuestUsage).show_guest(guest, rows, error)
        names = [n.name for n in snapshot.nodes]
        if names != list(self._blocks):
            container = self.query_one("#usage-nodes", Vertical)
            container.remove_children()
            self._blocks = {name: NodeUsage() for name in names}
            container.mount_all(self._blocks.values())
        for node in snapshot.nodes:
            entity = Entity.of_node(node)
            error = self._errors.get((self.timeframe, entity))
            self._blocks[node.name].show(node, self.history(entity), error)
