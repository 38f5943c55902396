"""The header (cluster at a glance) and the status line (profile, data age, badges).

Both follow the app's state (its `session`, `snapshot`, `status`, `paused`, `unseen` and
`history_state` reactives) by watching it, on whichever screen they sit, and repaint only while that
screen is on view: a screen coming back into view repaints its bars.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.geometry import Region
from textual.visual import VisualType
from textual.widgets import Static

from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.text import printable
from argus_tui.services.session import Session


class Tab(NamedTuple):
    key: str
    mode: str
    title: str


@dataclass(frozen=True, slots=True)
class Status:
    """What the status line says about the refresh besides the session's badges."""

    error: str | None = None  # the last refresh failed: why (the data shown is stale)
    message: str = ""  # progress and results of what the user did
    retry_at: float | None = None  # monotonic time of the next try after a failure
    late: bool = False  # the refresh on its way is overdue: the data shown is stale


def profile_label(session: Session) -> str:
    return session.profile or ("demo" if session.demo else session.address)


class AppBar(Static):
    """A one-line bar that keeps the app's session and snapshot, as it watches them.

    Every main screen has its own bars; those of screens out of view skip the repaint
    (each refresh would otherwise redraw all of them) and catch up on `repaint` when
    their screen resumes. A new line repaints only up to its last changed cell, and not
    at all when it is the line on show: over SSH each redrawn cell costs bytes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._session: Session | None = None
        self._snapshot: ClusterSnapshot | None = None
        self._painted: Text | None = None  # the line on show

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        if not isinstance(content, Text):
            self._painted = None
            super().update(content, layout=layout)
            return
        old, self._painted = self._painted, content
        if old is not None and old == content:
            return
        width = self.content_region.width
        if old is None or not width:
            self.refresh()
        elif end := changed_end(old, content, width, self.app.console):
            self.refresh(Region(0, 0, end, 1))

    def render(self) -> RenderResult:
        return self._painted if self._painted is not None else super().render()

    def on_mount(self) -> None:
        self.follow_app()

    def follow_app(self) -> None:
        """Start watching the app; a bar that shows more of its state extends this."""
        self.watch(self.app, "session", self._new_session)
        self.watch(self.app, "snapshot", self._new_snapshot)

    def _new_session(self, session: Session) -> None:
        self._session = session
        self.changed()

    def _new_snapshot(self, snapshot: ClusterSnapshot | None) -> None:
        self._snapshot = snapshot
        self.changed()

    def changed(self) -> None:
        if self.screen.is_current:  # also under a dialog, where the bar shows through
            self.repaint()

    def repaint(self) -> None:
        """Show the state kept; called while the bar's screen is on view."""


def changed_end(old: Text, new: Text, width: int, console: Console) -> int:
    """The column after the last of `width` cells that differs between two one-line
    texts (0: none); the cells after it look the same, so they need no repaint."""
    before, after = _cells(old, width, console), _cells(new, width, console)
    for column in range(width, 0, -1):
        if before[column - 1] != after[column - 1]:
            return column
    return 0


def _cells(text: Text, width: int, console: Console) -> list[tuple[str, Style | None]]:
    """(character, style) per cell as a one-line bar shows `text`: cut with an ellipsis,
    padded to `width`; a wide character's second cell is ("", style)."""
    fitted = text.copy()
    fitted.truncate(width, overflow="ellipsis", pad=True)
    cells: list[tuple[str, Style | None]] = []
    for segment in fitted.render(console):
        for character in segment.text:
            cells.append((character, segment.style))
            if cell_len(character) == 2:
                cells.append(("", segment.style))
    cells.extend([(" ", None)] * (width - len(cells)))
    return cells[:width]


class ClusterHeader(AppBar):
    """Cluster name, quorum, nodes online/total, guests running/total, PVE version, and
    the screens' tabs with the one it sits on highlighted."""

    DEFAULT_CSS = """
    ClusterHeader { height: 1; background: $boost; padding: 0 1; }
    """

    def __init__(self, mode: str = "", tabs: Sequence[Tab] = ()) -> None:
        super().__init__()
        self.mode = mode
        self.tabs = tuple(tabs)
        self._unseen = 0

    def follow_app(self) -> None:
        super().follow_app()
        self.watch(self.app, "unseen", self._new_unseen)

    def _new_unseen(self, unseen: int) -> None:
        self._unseen = unseen
        self.changed()

    def on_resize(self) -> None:
        self.repaint()

    def repaint(self) -> None:
        session = self._session
        if session is not None:
            label = profile_label(session)
            self.show(self._snapshot, label, session.colour, self.mode, self._unseen, self.tabs)

    def show(
        self,
        snapshot: ClusterSnapshot | None,
        profile: str,
        colour: str,
        current: str = "",
        unseen: int = 0,
        tabs: Sequence[Tab] = (),
    ) -> None:
        text = self._summary(snapshot, profile, colour)
        tabs_text = screen_tabs(tabs, current, unseen)
        room = self.size.width - 2 - text.cell_len - tabs_text.cell_len
        if current and room >= 2:  # the screens on the right, where there is room
            text.append(" " * room)
            text.append_text(tabs_text)
        self.update(text, layout=False)  # always one line: no relayout

    def _summary(self, snapshot: ClusterSnapshot | None, profile: str, colour: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if colour:
            text.append(f" {profile} ", style=f"bold reverse {colour}")
            text.append(" ")
        if snapshot is None:
            text.append("connecting…", style="italic")
            return text
        cluster = snapshot.cluster
        name = (
            printable(cluster.name)
            if cluster.name
            else ("standalone" if cluster.standalone else "cluster ?")
        )
        text.append(name, style="bold")
        if cluster.quorate is True:
            text.append("  quorate", style="green")
        elif cluster.quorate is False:
            text.append("  NO QUORUM", style="bold red")
        online = sum(1 for n in snapshot.nodes if n.online)
        running, guests = _guest_counts(snapshot.guests)
        node_style = "green" if online == len(snapshot.nodes) else "bold yellow"
        text.append(f"  nodes {online}/{len(snapshot.nodes)}", style=node_style)
        text.append(f"  guests {running}/{guests} running")
        if cluster.version:
            text.append(f"  PVE {cluster.version}", style="dim")
        return text


_STATUS = attrgetter("status")
_TEMPLATE = attrgetter("template")


def _guest_counts(guests: Sequence[Guest]) -> tuple[int, int]:
    """(running, not templates): counted in C, as this runs on the event loop for every
    refresh of every header, over 10,000 guests (docs/PERFORMANCE.md)."""
    running = list(map(_STATUS, guests)).count("running")
    return running, len(guests) - sum(map(_TEMPLATE, guests))


def screen_tabs(tabs: Sequence[Tab], current: str, unseen: int = 0) -> Text:
    """`1 Nodes 2 Guests …` with the screen on view highlighted (the keys to switch), and
    the count of changes not looked at yet beside Changes."""
    text = Text(no_wrap=True)
    for key, mode, label in tabs:
        style = "bold reverse" if mode == current else ""
        text.append(f" {key}", style=style + " bold" if style else "bold")
        text.append(f" {label} ", style=style or "dim")
        if mode == "changes" and unseen and current != "changes":
            text.append(f"({unseen}) ", style="bold yellow")
    return text


class StatusLine(AppBar):
    """Profile, data age, refresh state; stale/offline badges when refreshes fail, and
    the history's state when it is not fine (a team database away)."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._status = Status()
        self._paused = False
        self._history = ""

    def follow_app(self) -> None:
        super().follow_app()
        self.watch(self.app, "status", self._new_status)
        self.watch(self.app, "paused", self._new_paused)
        self.watch(self.app, "history_state", self._new_history)
        self.set_interval(1.0, self.changed)  # the data's age, the countdown to a retry

    def _new_status(self, status: Status) -> None:
        self._status = status
        self.changed()

    def _new_paused(self, paused: bool) -> None:
        self._paused = paused
        self.changed()

    def _new_history(self, state: str) -> None:
        self._history = state
        self.changed()

    def repaint(self) -> None:
        session, status = self._session, self._status
        if session is None:
            return
        self.show(
            profile=profile_label(session),
            address=session.address,
            fetched_at=self._snapshot.fetched_at if self._snapshot else None,
            error=status.error,
            paused=self._paused,
            demo=session.demo,
            insecure=session.insecure,
            read_only=session.read_only,
            message=status.message,
            retry_in=status.retry_at - time.monotonic() if status.retry_at else None,
            history=self._history,
            late=status.late,
        )

    def show(
        self,
        *,
        profile: str,
        address: str,
        fetched_at: float | None,
        error: str | None,
        paused: bool,
        demo: bool,
        insecure: bool,
        read_only: bool,
        message: str = "",
        retry_in: float | None = None,
        history: str = "",
        late: bool = False,
    ) -> None:
        now = time.time()
        text = Text(no_wrap=True, overflow="ellipsis")
        if demo:
            text.append(" DEMO ", style="bold reverse magenta")
            text.append(" ")
        if insecure:
            text.append(" TLS NOT VERIFIED ", style="bold reverse red")
            text.append(" ")
        if read_only:
            text.append(" READ-ONLY ", style="bold reverse blue")
            text.append(" ")
        text.append(f"{profile} ", style="bold")
        if address != profile:
            text.append(f"{address} ", style="dim")
        if fetched_at is None:
            text.append("· loading…" if error is None else "· no data yet", style="italic")
        else:
            age = max(0, int(now - fetched_at))
            text.append(f"· data {age}s old")
        if error is not None or (late and fetched_at is not None):
            badge = " OFFLINE " if fetched_at is None else " STALE "
            text.append(" ")
            text.append(
                badge, style="bold reverse red" if fetched_at is None else "bold reverse yellow"
            )
        if late:  # a refresh (or the retry) is on its way, overdue: no countdown
            text.append(" no answer from the server yet", style="dim")
        elif error is not None and retry_in is not None and not paused:
            text.append(f" retry in {max(0, round(retry_in))}s (ctrl+r now)", style="dim")
        if error is not None:
            text.append(f" {printable(error)}", style="yellow")
        if history:
            text.append("  ")
            text.append(f" history: {printable(history)} ", style="bold reverse yellow")
        if paused:
            text.append("  ")
            text.append(" PAUSED ", style="bold reverse")
        if message:
            text.append(f"  {printable(message)}", style="cyan")
        self.update(text, layout=False)  # always one line: no relayout
