"""The assistant pane's text: the subject line, a turn's status line, the context preview.

Everything from the server or the model is data: it goes into `Text` literally (never
as markup), with control characters escaped.
"""

from __future__ import annotations

from rich.text import Text

from argus_tui.domain.models import Guest, Node, Task
from argus_tui.domain.text import printable
from argus_tui.services.assistant import Target, Turn


def reflow(text: str) -> str:
    """Join the lines of each prose paragraph (indented lines stay as they are), so text
    written for an 88-column terminal wraps cleanly in a narrower pane."""
    paragraphs = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if any(line.startswith(" ") for line in lines):
            paragraphs.append(block)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def subject(target: Target | None) -> Text:
    """What the pane is about, under its title."""
    if isinstance(target, Guest):
        return Text(f"{target.type} {target.vmid} {printable(target.label)} on {target.node}")
    if isinstance(target, Node):
        return Text(f"node {printable(target.name)}")
    if isinstance(target, Task):
        what = f"task {target.type} {target.id}" if target.id else f"task {target.type}"
        return Text(printable(f"{what} on {target.node}"))
    return Text("the cluster")


def status(turn: Turn) -> Text:
    """The line under an answer: progress, the outcome, and any action on offer."""
    if turn.state == "gathering":
        return Text("gathering context…", style="italic")
    if turn.state == "streaming":
        sent = (
            f"context {turn.context_chars:,} chars"
            if turn.context_chars
            else "a follow-up: the context went earlier"
        )
        return Text(f"answering… ({sent}; Esc cancels)")
    if turn.state == "cancelled":
        return Text("cancelled")
    if turn.state == "error":
        text = Text(printable(turn.error))
        if turn.answer:
            text.append("\n(the part that arrived is kept above)")
        return text
    text = Text(f"context {turn.context_chars:,} chars" if turn.context_chars else "")
    for action in turn.actions:
        text.append("\nsuggested: ", style="bold")
        text.append(f"{printable(action.describe())} · ctrl+g to do it (asks first)")
    return text


def preview(sent: str, cap: int) -> Text:
    """What goes with the next question, exactly, for the context toggle."""
    text = Text(
        f"Sent with your next question ({len(sent):,} characters; context cap {cap:,}):\n\n",
        style="bold",
    )
    if len(sent) < 200:
        text.append(
            "(the context went with an earlier question; follow-ups carry the"
            " conversation, and a new selection sends its own)\n\n",
            style="dim",
        )
    text.append(printable(sent, keep_newlines=True))
    return text
