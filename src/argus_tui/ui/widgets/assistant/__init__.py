"""The assistant pane (`pane`), what its worker reports (`messages`), and its text
(`render`)."""

from argus_tui.ui.widgets.assistant.messages import (
    AnswerChunk,
    AnswerDone,
    AnswerFailed,
    AnswerStarted,
    ChatUpdated,
)
from argus_tui.ui.widgets.assistant.pane import AssistantPane

__all__ = [
    "AnswerChunk",
    "AnswerDone",
    "AnswerFailed",
    "AnswerStarted",
    "AssistantPane",
    "ChatUpdated",
]
