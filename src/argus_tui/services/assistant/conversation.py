"""The one conversation with the assistant: what the model is sent, and what the user sees.

`Assistant.ask` streams an answer; follow-up questions continue the conversation, and
the context goes along only with the first question and when it changed. Every exchange
is journaled in the history store (sizes and outcome, never the texts).

A UI shows the conversation as `turns`: `begin` adds a question while its context is
gathered, `answer` sends it, and the UI's worker reports the streamed text, which the
event loop applies with `turn_started`, `turn_text` and `turn_ended`. Each turn carries
the generation of its conversation, so text of a turn cancelled or of a conversation
started over is dropped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.errors import ConfigError, StoreError
from argus_tui.llm.prompt import MAX_CONTEXT_CHARS, SYSTEM_PROMPT, Message, user_message
from argus_tui.llm.redact import Redactor
from argus_tui.llm.settings import HOW_TO_CONFIGURE, LlmSettings, not_configured
from argus_tui.services.assistant.answer import Answer, Outcome, exchange_record
from argus_tui.services.assistant.context import AssistantContext, gather_context
from argus_tui.services.assistant.suggestions import SuggestedAction
from argus_tui.services.assistant.target import Target, target_key
from argus_tui.services.assistant.turns import Turn, TurnLog
from argus_tui.services.session import Session

if TYPE_CHECKING:
    from argus_tui.llm.client import ChatClient, ChatStream

#: The whole conversation sent with a question stays under this many characters: the
#: oldest exchanges go first, and the context is sent again once its message has gone.
MAX_CONVERSATION_CHARS = 48_000
#: Seconds a gathered context is reused for the same selection.
CONTEXT_FRESH = 30.0


@dataclass(frozen=True, slots=True)
class _Cached:
    key: str
    at: float
    context: AssistantContext


class Assistant:
    """One conversation with the configured model about one session's cluster.

    Safe to share between threads: the worker that streams, the event loop that shows
    the turns and a caller that cancels may all use it at once.
    """

    def __init__(
        self,
        session: Session,
        *,
        max_context_chars: int = MAX_CONTEXT_CHARS,
        max_conversation_chars: int = MAX_CONVERSATION_CHARS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.settings: LlmSettings | None = session.llm
        self.max_context_chars = max_context_chars
        self.max_conversation_chars = max_conversation_chars
        self.clock = clock
        key = self.settings.api_key if self.settings else None
        url_password = self.settings.url_password if self.settings else None
        self.redactor = Redactor([session.client.settings.secret, key, url_password])
        self._lock = threading.Lock()
        self._warnings: list[str] = []  # problems the user should hear about once
        self._chat_client: ChatClient | None = None
        self._generation = 0  # bumped by reset(): answers of an older conversation stay out
        self._messages: list[Message] = [Message("system", SYSTEM_PROMPT)]
        self._sent_facts: str | None = None  # the context the model has, without its stamp
        self._subject = ""
        self._log = TurnLog()
        self._current: Answer | None = None
        self._cached: _Cached | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.settings is not None

    @property
    def howto(self) -> str:
        """How to turn the assistant on: environment variables and config keys."""
        return HOW_TO_CONFIGURE

    def describe(self) -> str:
        return self.settings.describe() if self.settings else "not configured"

    def describe_model(self) -> str:
        return repr(self.settings.model) if self.settings else "(none)"

    @property
    def system_prompt(self) -> str:
        return SYSTEM_PROMPT

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def turns(self) -> tuple[Turn, ...]:
        """The questions begun in this conversation, oldest first."""
        with self._lock:
            return tuple(self._log.turns)

    @property
    def busy(self) -> bool:
        """A question is being prepared or answered."""
        return any(t.open for t in self.turns)

    @property
    def offered(self) -> SuggestedAction | None:
        """The action the last finished answer suggested, if Argus may offer it."""
        turns = self.turns
        if turns and turns[-1].state == "done" and turns[-1].actions:
            return turns[-1].actions[0]
        return None

    def take_warnings(self) -> list[str]:
        with self._lock:
            out, self._warnings = self._warnings, []
        return out

    def reset(self) -> None:
        """Start a new conversation (cancels the question in progress)."""
        self.cancel()
        with self._lock:
            self._generation += 1
            self._messages = [Message("system", SYSTEM_PROMPT)]
            self._sent_facts = None
            self._subject = ""
            self._log = TurnLog()

    def cancel(self) -> None:
        """Stop the question in progress, whether its context is still being gathered or
        its answer streams; safe from any thread. Its turn ends as cancelled at once."""
        with self._lock:
            self._log.cancel()
            current = self._current
        if current is not None:
            current.cancel()

    # -- context -----------------------------------------------------------------------------

    def gather_context(
        self,
        snapshot: ClusterSnapshot | None,
        *,
        guest: Guest | None = None,
        node: Node | None = None,
        task: Task | None = None,
    ) -> AssistantContext:
        """Collect, redact, fence and cap the context for the selection (see
        `context.gather_context`). Blocks."""
        target = guest or task or node
        return gather_context(
            self.session, snapshot, target, self.redactor, self.clock, self.max_context_chars
        )

    def context_for(
        self, snapshot: ClusterSnapshot | None, target: Target | None
    ) -> AssistantContext:
        """Blocking: the context last gathered for the same selection while it is fresh,
        else a new one."""
        key, now = target_key(target), time.monotonic()
        with self._lock:
            cached = self._cached
        if cached is not None and cached.key == key and now - cached.at < CONTEXT_FRESH:
            return cached.context
        context = gather_context(
            self.session, snapshot, target, self.redactor, self.clock, self.max_context_chars
        )
        with self._lock:
            self._cached = _Cached(key, now, context)
        return context

    # -- asking ------------------------------------------------------------------------------

    def message_for(self, question: str, context: AssistantContext | None) -> Message:
        """The user message `ask` would send now: new context (if any) and the question."""
        with self._lock:
            return self._message(question, context)[0]

    def ask(self, question: str, context: AssistantContext | None = None) -> Answer:
        """Start an answer (sent on first iteration). The context goes with the first
        question and again only when it changed; follow-ups carry the conversation."""
        self._check(question)
        with self._lock:
            return self._start(question, context)

    def begin(self, question: str) -> Turn:
        """A new question on show while its context is gathered; `answer` sends it."""
        self._check(question)
        with self._lock:
            return self._log.begin(question, self._generation)

    def answer(self, turn: Turn, context: AssistantContext | None) -> Answer | None:
        """The answer to a question from `begin`; None when it was cancelled or the
        conversation started over meanwhile (nothing is sent then)."""
        with self._lock:
            if turn.generation != self._generation or not self._log.take(turn):
                return None
            return self._start(turn.question, context)

    def _check(self, question: str) -> None:
        if self.settings is None:
            raise not_configured()
        if not question.strip():
            raise ConfigError("the question is empty", hint="type a question first")

    def _start(self, question: str, context: AssistantContext | None) -> Answer:
        """Hold `_lock`. Stop the answer before, then build the next one."""
        if self._current is not None:
            self._current.cancel()
        self._bound_conversation(len(question) + (context.size if context else 0))
        message, attach = self._message(question, context)
        answer = Answer(
            self.redactor.text(question.strip()),
            [*self._messages, message],
            context if attach else None,
            open_stream=self._open_stream,
            on_finish=self._finished,
            model=self.describe_model(),
            generation=self._generation,
        )
        if context is not None:
            self._subject = self.redactor.text(context.subject)
        self._current = answer
        return answer

    def _message(self, question: str, context: AssistantContext | None) -> tuple[Message, bool]:
        """Hold `_lock`. The context is attached when it differs from the last one sent."""
        attach = context is not None and context.facts != self._sent_facts
        data = context.text if attach and context is not None else None
        return Message("user", user_message(self.redactor.text(question.strip()), data)), attach

    def _bound_conversation(self, incoming: int) -> None:
        """Hold `_lock`. Drop the oldest exchanges until the next request fits the cap."""

        def size() -> int:
            return incoming + sum(len(m.content) for m in self._messages)

        while size() > self.max_conversation_chars and len(self._messages) > 2:
            del self._messages[1:3]  # the oldest question and its answer
            self._sent_facts = None  # the context went with it: attach it again

    def _open_stream(self, messages: Sequence[Message]) -> ChatStream:
        from argus_tui.llm.client import ChatClient  # openai loads on first use only

        with self._lock:
            if self._chat_client is None:
                if self.settings is None:
                    raise not_configured()
                self._chat_client = ChatClient(self.settings)
            client = self._chat_client
        return client.stream(messages)

    def _finished(self, answer: Answer) -> None:
        """Once per answer: join the conversation if complete, then journal it."""
        text = answer.text
        with self._lock:
            if self._current is answer:
                self._current = None
            if answer.outcome == "ok" and answer.generation == self._generation:
                self._messages = [*answer.messages, Message("assistant", self.redactor.text(text))]
                if answer.context is not None:
                    self._sent_facts = answer.context.facts
            subject = self._subject
        self._record(answer, subject)

    def _record(self, answer: Answer, subject: str) -> None:
        store = self.session.history
        if store is None or self.settings is None:
            return
        record = exchange_record(
            answer,
            ts=self.clock(),
            profile=self.session.history_profile,
            model=self.settings.model,
            subject=subject,
            redactor=self.redactor,
        )
        try:
            store.record_exchange(record)
        except StoreError as exc:  # the history must never break asking
            with self._lock:
                self._warnings.append(f"the assistant exchange was not journaled: {exc}")

    # -- the turns on show: the event loop applies what its worker reports -------------------

    def turn_started(self, generation: int, turn_id: int, context_chars: int) -> bool:
        """The question went out; False when the turn is gone or ended."""
        with self._lock:
            return generation == self._generation and self._log.started(turn_id, context_chars)

    def turn_text(self, generation: int, turn_id: int, text: str) -> bool:
        """More of the answer arrived; False (dropped) when the turn is gone or ended."""
        with self._lock:
            return generation == self._generation and self._log.text(turn_id, text)

    def turn_ended(
        self,
        generation: int,
        turn_id: int,
        outcome: Outcome,
        *,
        error: str = "",
        actions: Sequence[SuggestedAction] = (),
    ) -> bool:
        """The answer ended; False when the turn is gone or ended already."""
        with self._lock:
            return generation == self._generation and self._log.ended(
                turn_id, outcome, error, tuple(actions)
            )
