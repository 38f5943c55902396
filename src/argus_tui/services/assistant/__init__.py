"""The troubleshooting assistant: context the token may see, a conversation, no actions.

- `context`: what is gathered about the selection over the API, redacted, fenced as data
  and capped (`lines` formats it);
- `conversation`: the `Assistant`, its `Turn`s and the journal; `answer`: one streamed
  `Answer`;
- `suggestions`: the selection's first questions, and the power actions an answer may
  have Argus offer (never run from here: the UI offers them as the usual checked key).
"""

from argus_tui.services.assistant.answer import Answer, Outcome
from argus_tui.services.assistant.context import AssistantContext, gather_context
from argus_tui.services.assistant.conversation import Assistant
from argus_tui.services.assistant.suggestions import (
    SuggestedAction,
    guest_of,
    suggested_actions,
    suggestions,
)
from argus_tui.services.assistant.target import Target
from argus_tui.services.assistant.turns import Turn, TurnState

__all__ = [
    "Answer",
    "Assistant",
    "AssistantContext",
    "Outcome",
    "SuggestedAction",
    "Target",
    "Turn",
    "TurnState",
    "gather_context",
    "guest_of",
    "suggested_actions",
    "suggestions",
]
