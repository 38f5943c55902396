"""Screen 1: nodes with status, CPU, load, memory, disk, uptime and version.

Usage comes from the shared snapshot; load and version need each node's own status,
fetched in a worker while this screen is shown (a handful of calls, one per node).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from argus_tui.domain.console import ConsoleTarget, login_notice, shell_denial
from argus_tui.domain.format import bytes_, pct_style, percent, uptime
from argus_tui.domain.migration import EvacuationPlan
from argus_tui.domain.models import ClusterSnapshot, Node
from argus_tui.domain.operations import node_power_denial, why_not
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.session import Session
from argus_tui.services.views import filter_rows, node_haystack
from argus_tui.ui.messages import (
    ConsoleRefusals,
    ConsoleRequested,
    EvacuateRequested,
    NodePowerRequested,
    ShowNodeGuests,
)
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.node_ops import EvacuationModal, TypeNodeName
from argus_tui.ui.screens.power import ConfirmAction, Verdict, WhyNot
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.filter import TableFilter
from argus_tui.ui.widgets.table import Cell, Column, VirtualTable

COLUMNS = (
    Column("name", "NODE", 0, min_width=12, priority=10, max_width=28),
    Column("status", "STATUS", 8, priority=9),
    Column("cpu", "CPU", 6, "right", priority=8),
    Column("load", "LOAD", 14, "right", priority=5),
    Column("mem", "MEMORY", 20, "right", priority=7),
    Column("disk", "DISK", 20, "right", priority=6),
    Column("uptime", "UPTIME", 8, "right", priority=4),
    Column("version", "VERSION", 12, priority=3),
)


EVACUATE = "Evacuate"
POWER_LABELS = {"reboot": "Reboot node", "shutdown": "Shutdown node"}
SHELL = "Shell"


def node_verdicts(
    node: Node, snapshot: ClusterSnapshot, read_only: bool, *, shell_refused: bool = False
) -> list[Verdict]:
    """`w` on the nodes screen, and whether each key is offered: the maintenance keys,
    then the shell (a read-only profile may open one: a shell changes nothing by itself)."""
    denied = shell_denial(node.name, snapshot.privileges, online=node.online, refused=shell_refused)
    shell = (SHELL, denied.text if denied is not None else None)
    return [*_maintenance_verdicts(node, snapshot, read_only), shell]


def _maintenance_verdicts(node: Node, snapshot: ClusterSnapshot, read_only: bool) -> list[Verdict]:
    if read_only:
        return [(label, "the profile is read-only") for label in (EVACUATE, *POWER_LABELS.values())]
    offline = None if node.online else f"the node is {node.status}"
    evacuate = offline
    if evacuate is None and not any(n.online and n.name != node.name for n in snapshot.nodes):
        evacuate = "no other node is online"
    if evacuate is None:
        running = [
            g for g in snapshot.guests if g.node == node.name and g.status in ("running", "paused")
        ]
        if not running:
            evacuate = "no guest is running on it"
        elif all(why_not("migrate", g, snapshot.privileges) for g in running):
            evacuate = f"needs VM.Migrate on the guests (/vms/{running[0].vmid})"
    denied = node_power_denial(node.name, snapshot.privileges)
    power = offline or (denied.text if denied is not None else None)
    return [(EVACUATE, evacuate), *((label, power) for label in POWER_LABELS.values())]


def node_cells(node: Node, extra: dict[str, Any] | None) -> tuple[Cell, ...]:
    status_style = {"online": "ok", "offline": "bad"}.get(node.status, "warn")
    mem_ratio = node.mem / node.maxmem if node.mem is not None and node.maxmem else None
    disk_ratio = node.disk / node.maxdisk if node.disk is not None and node.maxdisk else None
    load = "-"
    version = ""
    if extra:
        loadavg = extra.get("loadavg")
        if isinstance(loadavg, list):
            load = " ".join(str(x) for x in loadavg[:3])
        pveversion = str(extra.get("pveversion", ""))
        version = pveversion.split("/")[1] if pveversion.count("/") >= 1 else pveversion
    dim = "" if node.online else "dim"
    return (
        (node.name, "accent" if node.online else "dim"),
        (node.status, status_style),
        (percent(node.cpu), pct_style(node.cpu) or dim),
        (load, dim),
        (_pair(node.mem, node.maxmem, mem_ratio), pct_style(mem_ratio) or dim),
        (_pair(node.disk, node.maxdisk, disk_ratio), pct_style(disk_ratio) or dim),
        (uptime(node.uptime), dim),
        (version, "dim"),
    )


def _pair(used: int | None, total: int | None, ratio: float | None) -> str:
    if used is None and total is None:
        return "-"
    return f"{bytes_(used)}/{bytes_(total)} {percent(ratio)}"


class NodeStatusReady(Message):
    def __init__(self, session: Session, status: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.session = session
        self.status = status


class NodesScreen(ArgusScreen):
    """Offline nodes stay in the list, marked offline, never dropped."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("E", "evacuate", "Evacuate", id="nodes.evacuate"),
        Binding("R", "node_power('reboot')", "Reboot node", id="nodes.reboot"),
        Binding("D", "node_power('shutdown')", "Shutdown node", id="nodes.shutdown"),
        Binding("c", "shell", SHELL, id="nodes.shell"),
        Binding("w", "why", "Why not?", show=False, id="nodes.why"),
        Binding("slash", "table_filter", "Filter", id="nodes.filter", priority=True),
        Binding("escape", "clear_table_filter", "Clear filter", show=False, id="nodes.clear"),
    ]

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__(mode, tabs)
        self._node_list: list[Node] = []
        self._status: dict[str, dict[str, Any]] = {}
        self._consoles = ConsoleRefusals()  # the app's: servers seen refusing shells

    def compose_body(self) -> ComposeResult:
        yield TableFilter()
        yield Static("", id="node-notice")
        yield VirtualTable(COLUMNS, empty_text="Loading nodes…", id="nodes")

    def on_mount(self) -> None:
        self.query_one("#node-notice", Static).display = False
        self.set_focus(self.query_one(VirtualTable))
        self.watch(self.app, "console_refused", self._new_refusals)

    def _new_refusals(self, refusals: ConsoleRefusals) -> None:
        self._consoles = refusals
        self.refresh_bindings()

    def session_changed(self) -> None:
        self._status = {}

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._node_list = list(snapshot.nodes)
        hidden = [n.name for n in snapshot.nodes if n.online and n.maxmem is None]
        notice = self.query_one("#node-notice", Static)
        if hidden:
            notice.update(
                Text(
                    f"no Sys.Audit on /nodes/{hidden[0]}: node usage is hidden; see `argus doctor`",
                    style="yellow",
                )
            )
        notice.display = bool(hidden)
        self._render_rows()
        self.refresh_bindings()
        online = [n.name for n in snapshot.nodes if n.online and n.name not in hidden]
        if online and self.session is not None:
            self._fetch_status(self.session, online)

    def assistant_target(self) -> Node | None:
        key = self.query_one(VirtualTable).cursor_key
        return next((n for n in self._node_list if n.name == key), None)

    # -- maintenance --------------------------------------------------------------------------

    @property
    def selected(self) -> Node | None:
        return self.assistant_target()

    def _verdicts(self, node: Node) -> list[Verdict]:
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None:
            return []
        return node_verdicts(node, snapshot, session.read_only, shell_refused=self._consoles.shells)

    def _offers(self, label: str) -> bool:
        node = self.selected
        return node is not None and dict(self._verdicts(node)).get(label, "") is None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Maintenance keys the token may not use on the selected node are absent."""
        if action == "evacuate":
            return self._offers(EVACUATE)
        if action == "node_power":
            return self._offers(POWER_LABELS.get(str(parameters[0]) if parameters else "", ""))
        if action == "shell":
            return self._offers(SHELL)
        return True

    def action_evacuate(self) -> None:
        node, snapshot, session = self.selected, self.snapshot, self.session
        if node is None or snapshot is None or session is None or not self._offers(EVACUATE):
            return  # hidden keys do nothing, even if pressed

        def answered(plan: EvacuationPlan | None) -> None:
            if plan is None:
                self.say("cancelled")
            else:
                self.post_message(EvacuateRequested(plan))

        self.app.push_screen(EvacuationModal(node.name, session, snapshot), answered)

    def action_node_power(self, command: str) -> None:
        node, snapshot = self.selected, self.snapshot
        if node is None or snapshot is None or not self._offers(POWER_LABELS.get(command, "")):
            return
        running = sum(1 for g in snapshot.guests if g.node == node.name and g.status == "running")

        def answered(ok: bool | None) -> None:
            if ok:
                self.post_message(NodePowerRequested(node.name, command))
            else:
                self.say("cancelled")

        self.app.push_screen(TypeNodeName(command, node.name, running), answered)

    def action_shell(self) -> None:
        """Said before connecting: a node's shell asks most users for a local login."""
        node = self.selected
        if node is None or not self._offers(SHELL):
            return
        question = Text("Open the shell of node ", style="bold")
        question.append(printable(node.name), style="bold cyan")
        question.append("?\n\n")
        question.append(printable(login_notice(node.name)), style="yellow")

        def answered(ok: bool | None) -> None:
            if ok:
                self.post_message(ConsoleRequested(ConsoleTarget.of_node(node.name)))
            else:
                self.say("cancelled")

        self.app.push_screen(ConfirmAction(question), answered)

    def action_why(self) -> None:
        node = self.selected
        if node is not None:
            self.app.push_screen(WhyNot(f"node {node.name}", (), self._verdicts(node)))

    @on(VirtualTable.Highlighted, "#nodes")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def _render_rows(self) -> None:
        nodes = filter_rows(self._node_list, self.filter_text, node_haystack)
        table = self.query_one(VirtualTable)
        table.empty_text = "No node matches the filter." if self.filter_text else "No nodes."
        table.set_rows((n.name, node_cells(n, self._status.get(n.name))) for n in nodes)

    def render_filtered(self) -> None:
        self._render_rows()

    @on(VirtualTable.Selected)
    def _open_node(self, event: VirtualTable.Selected) -> None:
        """Enter on a node: its guests."""
        self.post_message(ShowNodeGuests(str(event.key)))

    @work(thread=True, exclusive=True, group="node-status", exit_on_error=False)
    def _fetch_status(self, session: Session, names: list[str]) -> None:
        status: dict[str, dict[str, Any]] = {}
        for name in names:
            try:
                status[name] = session.node_status(name)
            except ArgusError:
                continue
        self.post_message(NodeStatusReady(session, status))

    def on_node_status_ready(self, message: NodeStatusReady) -> None:
        if message.session is not self.session:
            return  # nodes of the cluster before a profile switch
        self._status.update(message.status)
        self._render_rows()
