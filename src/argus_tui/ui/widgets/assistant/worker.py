"""What the assistant pane's worker threads do. They block, and they never touch a
widget or the conversation's turns: they post messages, which the pane applies on the
event loop."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.message import Message

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.errors import ArgusError
from argus_tui.services.assistant import Answer, Assistant, Target, Turn, guest_of
from argus_tui.services.assistant import suggested_actions as find_actions
from argus_tui.ui.widgets.assistant import render
from argus_tui.ui.widgets.assistant.messages import (
    AnswerChunk,
    AnswerDone,
    AnswerFailed,
    AnswerStarted,
)

STREAM_PAINT = 0.08  # seconds between posts (each one repaints) while an answer streams

Post = Callable[[Message], object]


def answer(
    post: Post,
    chat: Assistant,
    turn: Turn,
    target: Target | None,
    snapshot: ClusterSnapshot | None,
) -> None:
    """Gather the context, stream the answer, find the actions Argus may offer."""
    ids = (turn.generation, turn.id)
    try:
        context = chat.context_for(snapshot, target)
        streamed = chat.answer(turn, context)
        if streamed is None:  # cancelled, or a new chat, while the context was gathered
            return
        post(AnswerStarted(*ids, streamed.context_chars))
        shown = _stream(post, streamed, *ids)
        actions = []
        if streamed.outcome == "ok" and snapshot is not None:
            guest = guest_of(target, snapshot)
            actions = find_actions(shown, snapshot, guest, read_only=chat.session.read_only)
        post(AnswerDone(*ids, streamed.outcome or "cancelled", actions))
    except ArgusError as exc:
        post(AnswerFailed(*ids, str(exc)))
    except Exception as exc:  # keep the app running; say what went wrong
        post(AnswerFailed(*ids, f"unexpected error: {type(exc).__name__}: {exc}"))


def _stream(post: Post, streamed: Answer, generation: int, turn_id: int) -> str:
    """Post the text as it arrives, at most every STREAM_PAINT seconds; return all of it."""
    received: list[str] = []
    pending: list[str] = []
    last = 0.0
    try:
        for chunk in streamed:
            received.append(chunk)
            pending.append(chunk)
            now = time.monotonic()
            if now - last >= STREAM_PAINT:
                last = now
                post(AnswerChunk(generation, turn_id, "".join(pending)))
                pending.clear()
    finally:  # what arrived before an error is kept
        if pending:
            post(AnswerChunk(generation, turn_id, "".join(pending)))
    return "".join(received)


def preview(chat: Assistant, target: Target | None, snapshot: ClusterSnapshot | None) -> Text:
    """What the next question would send, for the context toggle."""
    try:
        context = chat.context_for(snapshot, target)
        sent = chat.message_for("(your question)", context).content
    except ArgusError as exc:
        return Text(str(exc), style="yellow")
    return render.preview(sent, chat.max_context_chars)
