"""A task's log, tailing live while the task runs and stopping at its last line."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, RichLog, Static

from argus_tui.domain.models import Task
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.session import Session

POLL_SECONDS = 1.0


class LogChunk(Message):
    def __init__(self, lines: list[str], total: int, task: Task, error: str | None) -> None:
        super().__init__()
        self.lines = lines
        self.total = total
        self.log_task = task
        self.error = error


class TaskLogScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="log.close"),
        Binding("f", "follow", "Follow", id="log.follow"),
    ]
    DEFAULT_CSS = """
    TaskLogScreen { align: center middle; }
    TaskLogScreen > #log-box {
        width: 95%; height: 90%; border: round $accent; background: $surface;
    }
    TaskLogScreen #log-title { height: 1; padding: 0 1; background: $boost; }
    TaskLogScreen RichLog { height: 1fr; }
    """

    def __init__(self, task: Task, session: Session) -> None:
        super().__init__()
        self.log_task = task
        self.session = session
        self.seen = 0
        self.follow = True
        self._timer: Timer | None = None
        self.finished = not task.running

    def compose(self) -> ComposeResult:
        with Vertical(id="log-box"):
            yield Static("", id="log-title")
            yield RichLog(id="log", markup=False, highlight=False, wrap=True, max_lines=20000)
        yield Footer()

    def on_mount(self) -> None:
        self._paint_title()
        self._poll()

    def _paint_title(self, error: str | None = None) -> None:
        task = self.log_task
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f"{printable(task.type)} {printable(task.id)} on {printable(task.node)}  ",
                     style="bold")  # fmt: skip
        if task.running:
            title.append("running", style="cyan")
            if self.follow:
                title.append("  (following)", style="dim")
        elif task.failed:
            title.append(f"failed: {printable(task.status)}", style="bold red")
        else:
            title.append(printable(task.status or "finished"), style="green")
        title.append(f"   {task.upid}", style="dim")
        if error:
            title.append(f"  {printable(error)}", style="yellow")
        self.query_one("#log-title", Static).update(title)

    @work(thread=True, exclusive=True, group="task-log", exit_on_error=False)
    def _poll(self) -> None:
        try:
            lines, total, task = self.session.task_log(self.log_task, self.seen)
        except ArgusError as exc:
            self.post_message(LogChunk([], self.seen, self.log_task, str(exc)))
        else:
            self.post_message(LogChunk(lines, total, task, None))

    def on_log_chunk(self, message: LogChunk) -> None:
        log = self.query_one("#log", RichLog)
        for line in message.lines:
            style = "bold red" if line.startswith("TASK ERROR") else (
                "green" if line == "TASK OK" else ""
            )  # fmt: skip
            log.write(Text(printable(line), style=style), scroll_end=self.follow)
        self.seen += len(message.lines)
        self.log_task = message.log_task
        self.finished = not message.log_task.running
        self._paint_title(message.error)
        if not self.finished or self.seen < message.total:
            self._timer = self.set_timer(POLL_SECONDS, self._poll)

    def action_follow(self) -> None:
        self.follow = not self.follow
        if self.follow:
            self.query_one("#log", RichLog).scroll_end(animate=False)
        self._paint_title()

    def action_close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.dismiss(None)
