"""What the assistant pane's worker reports, and what the pane tells the app.

The worker never touches the conversation: it posts these, and the pane applies them on
the event loop. Each carries the generation and the id of its turn, so a report for a
turn cancelled meanwhile, or of a conversation started over, is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from argus_tui.services.assistant import Outcome, SuggestedAction


class ChatUpdated(Message):
    """The conversation changed: every pane on view shows it again."""


class _TurnMessage(Message):
    """A report about one turn; handled by the pane that started it, never bubbled."""

    bubble = False

    def __init__(self, generation: int, turn_id: int) -> None:
        super().__init__()
        self.generation = generation
        self.turn_id = turn_id


class AnswerStarted(_TurnMessage):
    """The question went out, with `context_chars` of context (0: a follow-up)."""

    def __init__(self, generation: int, turn_id: int, context_chars: int) -> None:
        super().__init__(generation, turn_id)
        self.context_chars = context_chars


class AnswerChunk(_TurnMessage):
    """More of the answer arrived."""

    def __init__(self, generation: int, turn_id: int, text: str) -> None:
        super().__init__(generation, turn_id)
        self.text = text


class AnswerDone(_TurnMessage):
    """The answer ended (completed or cancelled), with the actions Argus may offer."""

    def __init__(
        self,
        generation: int,
        turn_id: int,
        outcome: Outcome,
        actions: Sequence[SuggestedAction] = (),
    ) -> None:
        super().__init__(generation, turn_id)
        self.outcome = outcome
        self.actions = tuple(actions)


class AnswerFailed(_TurnMessage):
    """Gathering or answering failed; `error` says why in one line."""

    def __init__(self, generation: int, turn_id: int, error: str) -> None:
        super().__init__(generation, turn_id)
        self.error = error
