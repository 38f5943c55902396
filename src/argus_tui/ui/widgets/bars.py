"""The header (cluster at a glance) and the status line (profile, data age, badges)."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.domain.text import printable


class ClusterHeader(Static):
    """Cluster name, quorum, nodes online/total, guests running/total, PVE version."""

    DEFAULT_CSS = """
    ClusterHeader { height: 1; background: $boost; padding: 0 1; }
    """

    def show(
        self,
        snapshot: ClusterSnapshot | None,
        profile: str,
        colour: str,
        current: str = "",
        unseen: int = 0,
    ) -> None:
        text = self._summary(snapshot, profile, colour)
        tabs = screen_tabs(current, unseen)
        room = self.size.width - 2 - text.cell_len - tabs.cell_len
        if current and room >= 2:  # the screens on the right, where there is room
            text.append(" " * room)
            text.append_text(tabs)
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
        running = sum(1 for g in snapshot.guests if g.status == "running")
        guests = sum(1 for g in snapshot.guests if not g.template)
        node_style = "green" if online == len(snapshot.nodes) else "bold yellow"
        text.append(f"  nodes {online}/{len(snapshot.nodes)}", style=node_style)
        text.append(f"  guests {running}/{guests} running")
        if cluster.version:
            text.append(f"  PVE {cluster.version}", style="dim")
        return text


SCREENS = (
    ("1", "nodes", "Nodes"),
    ("2", "guests", "Guests"),
    ("3", "utilisation", "Usage"),
    ("4", "tasks", "Tasks"),
    ("5", "changes", "Changes"),
)


def screen_tabs(current: str, unseen: int = 0) -> Text:
    """`1 Nodes 2 Guests …` with the screen on view highlighted (the keys to switch), and
    the count of changes not looked at yet beside Changes."""
    text = Text(no_wrap=True)
    for key, mode, label in SCREENS:
        style = "bold reverse" if mode == current else ""
        text.append(f" {key}", style=style + " bold" if style else "bold")
        text.append(f" {label} ", style=style or "dim")
        if mode == "changes" and unseen and current != "changes":
            text.append(f"({unseen}) ", style="bold yellow")
    return text


class StatusLine(Static):
    """Profile, data age, refresh state; stale/offline badges when refreshes fail."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; padding: 0 1; }
    """

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
        now: float | None = None,
    ) -> None:
        now = time.time() if now is None else now
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
            text.append("· loading…" if error is None else "· OFFLINE", style="italic")
        else:
            age = max(0, int(now - fetched_at))
            text.append(f"· data {age}s old")
        if error is not None:
            badge = " OFFLINE " if fetched_at is None else " STALE "
            text.append(" ")
            text.append(
                badge, style="bold reverse red" if fetched_at is None else "bold reverse yellow"
            )
            if retry_in is not None and not paused:
                text.append(f" retry in {max(0, round(retry_in))}s (ctrl+r now)", style="dim")
            text.append(f" {printable(error)}", style="yellow")
        if paused:
            text.append("  ")
            text.append(" PAUSED ", style="bold reverse")
        if message:
            text.append(f"  {printable(message)}", style="cyan")
        self.update(text, layout=False)  # always one line: no relayout
