"""The conversation as the user sees it: each question, its state and the answer so far."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from argus_tui.services.assistant.answer import Outcome
from argus_tui.services.assistant.suggestions import SuggestedAction

TurnState = Literal["gathering", "streaming", "done", "cancelled", "error"]
ENDED: dict[Outcome, TurnState] = {"ok": "done", "cancelled": "cancelled", "error": "error"}
_ids = itertools.count(1)  # unique in the process: a turn is never mistaken for another


@dataclass(frozen=True, slots=True)
class Turn:
    """One question of the conversation and its answer, as far as it got."""

    id: int
    generation: int  # the conversation it belongs to
    question: str  # as the user typed it
    state: TurnState = "gathering"
    answer: str = ""  # the text shown, as it streams
    error: str = ""
    context_chars: int = 0  # 0: a follow-up, the context went with an earlier question
    actions: tuple[SuggestedAction, ...] = ()  # what Argus may offer (finished answers)

    @property
    def open(self) -> bool:
        return self.state in ("gathering", "streaming")


class TurnLog:
    """The turns of one conversation and the one begun but not sent yet.

    Not locked itself: its owner (`Assistant`) calls it holding its own lock, so that
    taking the pending turn and starting its answer happen at once, with no cancel
    between them.
    """

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.pending: int | None = None

    def begin(self, question: str, generation: int) -> Turn:
        turn = Turn(next(_ids), generation, question)
        self.turns.append(turn)
        self.pending = turn.id
        return turn

    def take(self, turn: Turn) -> bool:
        """Whether `turn` is still waiting to be sent; it no longer is afterwards."""
        if self.pending != turn.id:
            return False
        self.pending = None
        return True

    def cancel(self) -> None:
        """Nothing pending any more, and every open turn ends as cancelled."""
        self.pending = None
        self.turns = [replace(t, state="cancelled") if t.open else t for t in self.turns]

    def started(self, turn_id: int, context_chars: int) -> bool:
        """The question went out (see `_advance` for the result)."""
        return self._advance(
            turn_id, lambda t: replace(t, state="streaming", context_chars=context_chars)
        )

    def text(self, turn_id: int, text: str) -> bool:
        return self._advance(turn_id, lambda t: replace(t, answer=t.answer + text))

    def ended(
        self, turn_id: int, outcome: Outcome, error: str, actions: tuple[SuggestedAction, ...]
    ) -> bool:
        state = ENDED[outcome]
        return self._advance(
            turn_id, lambda t: replace(t, state=state, error=error, actions=actions)
        )

    def _advance(self, turn_id: int, change: Callable[[Turn], Turn]) -> bool:
        """Apply `change` to an open turn; False (nothing changed) if it ended or is gone."""
        for index, turn in enumerate(self.turns):
            if turn.id == turn_id:
                if not turn.open:
                    return False
                self.turns[index] = change(turn)
                return True
        return False
