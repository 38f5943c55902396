"""Screen 4: recent tasks (running first, failures highlighted), alerts, and the cluster log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import RichLog, Static

from argus_tui.domain.models import ClusterSnapshot, Task
from argus_tui.domain.operations import task_stop_denial
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.session import RecentTasks, Session
from argus_tui.services.views import filter_rows, task_haystack
from argus_tui.ui.messages import RefreshRequested, TaskStopRequested
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.power import ConfirmAction, WhyNot
from argus_tui.ui.screens.task_log import TaskLogScreen
from argus_tui.ui.widgets.bars import Tab
from argus_tui.ui.widgets.filter import TableFilter
from argus_tui.ui.widgets.table import Cell, Column, VirtualTable

COLUMNS = (
    Column("start", "STARTED", 14, priority=9),
    Column("node", "NODE", 10, priority=7),
    Column("type", "TYPE", 11, priority=9),
    Column("id", "ID", 7, priority=8),
    Column("user", "USER", 22, priority=4),
    Column("duration", "TIME", 7, "right", priority=5),
    Column("status", "STATUS", 0, min_width=16, priority=10),
)
HIGH_USAGE = 0.9


def task_cells(task: Task, now: float) -> tuple[Cell, ...]:
    started = time.strftime("%m-%d %H:%M:%S", time.localtime(task.starttime))
    end = task.endtime if task.endtime else now
    seconds = max(0, int(end - task.starttime))
    duration = f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
    if task.running:
        status: Cell = ("running", "accent")
    elif task.failed:
        status = (task.status or "failed", "bad")
    elif task.status and task.status.startswith("WARNINGS"):
        status = (task.status, "warn")
    else:
        status = (task.status or "", "ok")
    base = "bad" if task.failed else ""
    return (
        (started, base),
        (task.node, base),
        (task.type, base),
        (task.id, base),
        (task.user, base or "dim"),
        (duration if task.endtime or task.running else "-", base),
        status,
    )


def alerts(snapshot: ClusterSnapshot | None, tasks: list[Task], now: float) -> Text:
    """Failed tasks in 24 h, offline nodes, locked guests, high utilisation."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if snapshot is None:
        return text
    parts: list[tuple[str, str]] = []
    failed = [t for t in tasks if t.failed and now - t.starttime < 86400]
    if failed:
        parts.append(
            (f"{len(failed)} failed task{'s' if len(failed) > 1 else ''} in 24 h", "bold red")
        )
    offline = [n.name for n in snapshot.nodes if not n.online]
    if offline:
        parts.append((f"offline: {', '.join(offline)}", "bold red"))
    locked = [g for g in snapshot.guests if g.lock]
    if locked:
        names = ", ".join(f"{g.label} ({g.lock})" for g in locked[:3])
        parts.append((f"locked: {names}" + (" …" if len(locked) > 3 else ""), "yellow"))
    hot = [
        n.name
        for n in snapshot.nodes
        if (n.cpu or 0) >= HIGH_USAGE or (n.mem and n.maxmem and n.mem / n.maxmem >= HIGH_USAGE)
    ]
    if hot:
        parts.append((f"high usage: {', '.join(hot)}", "yellow"))
    if not parts:
        parts.append(("no alerts", "green"))
    for index, (label, style) in enumerate(parts):
        if index:
            text.append("  │  ", style="dim")
        text.append(printable(label), style=style)
    return text


class ClusterLogLoaded(Message):
    def __init__(self, entries: list[dict[str, Any]]) -> None:
        super().__init__()
        self.entries = entries


class TasksScreen(ArgusScreen):
    """Enter opens a task's log, which tails while the task runs.

    The tasks come with each refresh while this screen is on view (the app's `tasks`);
    coming back to it asks for a refresh when the newest one did not bring them.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "failed", "Failed only", id="tasks.failed"),
        Binding("l", "cluster_log", "Cluster log", id="tasks.cluster_log"),
        Binding("enter", "open", "Log", id="tasks.open"),
        Binding("x", "stop_task", "Stop task", id="tasks.stop"),
        Binding("w", "why", "Why not?", show=False, id="tasks.why"),
        Binding("slash", "table_filter", "Filter", id="tasks.filter", priority=True),
        Binding("escape", "clear_table_filter", "Clear filter", show=False, id="tasks.clear"),
    ]

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__(mode, tabs)
        self._tasks: list[Task] = []
        self._fresh = False  # the newest refresh brought the tasks
        self.failed_only = False

    def compose_body(self) -> ComposeResult:
        yield TableFilter()
        yield Static("", id="alerts")
        yield VirtualTable(COLUMNS, empty_text="Loading tasks…", id="tasks")
        yield RichLog(id="cluster-log", markup=False, highlight=False, wrap=False)

    def on_mount(self) -> None:
        self.query_one("#cluster-log").display = False
        self.set_focus(self.query_one("#tasks", VirtualTable))
        self.watch(self.app, "tasks", self._new_tasks)

    def session_changed(self) -> None:
        self._tasks = []
        self._fresh = False

    def on_screen_resume(self) -> None:
        self._render_rows()
        self._paint_alerts()
        if not self._fresh:
            self.post_message(RefreshRequested())

    def _new_tasks(self, recent: RecentTasks | None) -> None:
        self._fresh = recent is not None
        if recent is None:
            if self.is_active:  # a poll begun before this screen came into view
                self.post_message(RefreshRequested())
            return
        if recent.tasks or not recent.warnings:  # a failed fetch keeps the last list
            self._tasks = list(recent.tasks)
        if self.is_active:
            if recent.warnings:
                self.say(recent.warnings[0])
            self._render_rows()
            self._paint_alerts()

    def show_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self._paint_alerts()
        if self.query_one("#cluster-log").display:
            self._load_cluster_log()

    def _render_rows(self) -> None:
        now = time.time()
        rows = [t for t in self._tasks if t.failed] if self.failed_only else self._tasks
        rows = filter_rows(rows, self.filter_text, task_haystack)
        rows = sorted(rows, key=lambda t: (t.running, t.starttime), reverse=True)
        table = self.query_one("#tasks", VirtualTable)
        table.empty_text = "No failed tasks." if self.failed_only else "No tasks."
        if self.filter_text:
            table.empty_text = "No task matches the filter."
        table.set_rows((t.upid, task_cells(t, now)) for t in rows)
        self.refresh_bindings()

    def _paint_alerts(self) -> None:
        self.query_one("#alerts", Static).update(alerts(self.snapshot, self._tasks, time.time()))

    def render_filtered(self) -> None:
        self._render_rows()

    def assistant_target(self) -> Task | None:
        return self.find_task(self.query_one("#tasks", VirtualTable).cursor_key)

    def find_task(self, upid: object) -> Task | None:
        return next((t for t in self._tasks if t.upid == upid), None)

    # -- stopping a task ----------------------------------------------------------------------

    @property
    def selected(self) -> Task | None:
        return self.assistant_target()

    def stop_denial(self, task: Task) -> str | None:
        """Why `x` is not offered on `task`: finished, read-only, or neither its owner nor
        Sys.Modify on its node."""
        snapshot, session = self.snapshot, self.session
        if snapshot is None or session is None:
            return "not loaded yet"
        if not task.running:
            return "the task has finished"
        if session.read_only:
            return "the profile is read-only"
        denied = task_stop_denial(task.user, task.node, session.token_id, snapshot.privileges)
        return denied.text if denied is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_task":
            task = self.selected
            return task is not None and self.stop_denial(task) is None
        return True

    def action_stop_task(self) -> None:
        task = self.selected
        if task is None or self.stop_denial(task) is not None:
            return  # hidden keys do nothing, even if pressed
        question = Text("Stop task ", style="bold red")
        question.append(printable(f"{task.type} {task.id}".strip()), style="bold")
        question.append(f" on node {printable(task.node)}?\n\n")
        question.append(f"started by {printable(task.user)}\n{printable(task.upid)}", style="dim")

        def answered(ok: bool | None) -> None:
            if ok:
                self.post_message(TaskStopRequested(task))
            else:
                self.say("cancelled")

        self.app.push_screen(ConfirmAction(question), answered)

    def action_why(self) -> None:
        task = self.selected
        if task is not None:
            title = f"task {task.type} {task.id} on {task.node}".replace("  ", " ")
            self.app.push_screen(WhyNot(title, (), [("Stop task", self.stop_denial(task))]))

    @on(VirtualTable.Highlighted, "#tasks")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    def action_failed(self) -> None:
        self.failed_only = not self.failed_only
        self.say("failed tasks only" if self.failed_only else "")
        self._render_rows()

    def action_open(self) -> None:
        self._open_log(self.query_one("#tasks", VirtualTable).cursor_key)

    @on(VirtualTable.Selected, "#tasks")
    def _selected(self, event: VirtualTable.Selected) -> None:
        self._open_log(event.key)

    def _open_log(self, upid: object) -> None:
        task = self.find_task(upid)
        if task is not None and self.session is not None:
            self.app.push_screen(TaskLogScreen(task, self.session))

    def action_cluster_log(self) -> None:
        log = self.query_one("#cluster-log", RichLog)
        log.display = not log.display
        if log.display:
            self._load_cluster_log()

    def _load_cluster_log(self) -> None:
        if self.session is not None:
            self._fetch_cluster_log(self.session)

    @work(thread=True, exclusive=True, group="cluster-log", exit_on_error=False)
    def _fetch_cluster_log(self, session: Session) -> None:
        try:
            entries = session.cluster_log(100)
        except ArgusError as exc:
            entries = [{"time": time.time(), "node": "", "user": "", "msg": str(exc), "pri": 3}]
        self.post_message(ClusterLogLoaded(entries))

    def on_cluster_log_loaded(self, message: ClusterLogLoaded) -> None:
        log = self.query_one("#cluster-log", RichLog)
        log.clear()
        for entry in sorted(message.entries, key=lambda e: e.get("time", 0)):
            stamp = time.strftime("%m-%d %H:%M:%S", time.localtime(float(entry.get("time", 0))))
            style = "red" if int(entry.get("pri", 6) or 6) <= 3 else ""
            line = Text(f"{stamp} ", style="dim")
            line.append(printable(str(entry.get("node", ""))) + " ", style="cyan")
            line.append(printable(str(entry.get("msg", ""))), style=style)
            log.write(line)
