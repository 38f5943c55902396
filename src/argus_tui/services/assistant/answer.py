"""One streamed answer: its text so far, how it ended, a way to stop it, its journal entry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Literal

from argus_tui.errors import LlmEmptyAnswer, LlmError
from argus_tui.llm.prompt import Message
from argus_tui.llm.redact import Redactor
from argus_tui.services.assistant.context import AssistantContext
from argus_tui.store import ExchangeRecord

if TYPE_CHECKING:
    from argus_tui.llm.client import ChatStream

#: Questions are journaled up to this length.
QUESTION_RECORD_CHARS = 500
LENGTH_NOTE = "\n\n[the answer reached the model's length limit]"

Outcome = Literal["ok", "cancelled", "error"]


class Answer:
    """The streamed text of one answer. Iterate it in a worker thread; `cancel()` works
    from any thread.

    Nothing is sent until the first iteration calls `open_stream(messages)`. When the
    answer ends (completed, cancelled or failed) `on_finish(answer)` is called once, on
    the thread that iterated or closed it, with `outcome`, `error` and `duration` set.
    """

    def __init__(
        self,
        question: str,
        messages: Sequence[Message],
        context: AssistantContext | None,
        *,
        open_stream: Callable[[Sequence[Message]], ChatStream],
        on_finish: Callable[[Answer], None],
        model: str = "(none)",
        generation: int = 0,
    ) -> None:
        self.question = question  # as sent, redacted
        self.messages = tuple(messages)
        self.context = context  # None when the context went with an earlier question
        self.model = model  # for messages: the model's name, quoted
        self.generation = generation  # the conversation it belongs to
        self.outcome: Outcome | None = None  # once finished
        self.error: LlmError | None = None
        self.duration = 0.0  # seconds from creation to the end, once finished
        self._open_stream = open_stream
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self._cancelled = False
        self._stream: ChatStream | None = None
        self._noted_length = False
        self._started = time.monotonic()

    @property
    def text(self) -> str:
        """What has arrived so far."""
        return self._stream.text if self._stream is not None else ""

    @property
    def context_chars(self) -> int:
        return self.context.size if self.context is not None else 0

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.outcome is not None:
            raise StopIteration
        with self._lock:
            if self._cancelled:
                stream = None
            else:
                if self._stream is None:
                    self._stream = self._open_stream(self.messages)
                stream = self._stream
        if stream is None:
            self._finish("cancelled")
            raise StopIteration
        try:
            return next(stream)
        except StopIteration:
            if stream.cancelled:
                self._finish("cancelled")
                raise
            if stream.finish_reason == "length" and not self._noted_length:
                self._noted_length = True
                return LENGTH_NOTE
            if not stream.text.strip():
                error = LlmEmptyAnswer(
                    f"the model {self.model} returned an empty answer",
                    hint="ask again, or try another model",
                )
                self._finish("error", error)
                raise error from None
            self._finish("ok")
            raise
        except LlmError as exc:
            self._finish("error", exc)
            raise

    def cancel(self) -> None:
        """Stop the answer now; what arrived stays in `text`."""
        with self._lock:
            self._cancelled = True
            stream = self._stream
        if stream is not None:
            stream.cancel()

    def close(self) -> None:
        """Cancel if still running and finish; for callers that stop iterating early."""
        if self.outcome is None:
            self.cancel()
            self._finish("cancelled")

    def _finish(self, outcome: Outcome, error: LlmError | None = None) -> None:
        with self._lock:
            if self.outcome is not None:
                return
            self.outcome = outcome
            self.error = error
            self.duration = time.monotonic() - self._started
        self._on_finish(self)


def exchange_record(
    answer: Answer, *, ts: float, profile: str, model: str, subject: str, redactor: Redactor
) -> ExchangeRecord:
    """What the journal keeps of a finished answer: sizes and outcome, never the texts
    (the question is already redacted, and cut short)."""
    error = answer.error
    return ExchangeRecord(
        ts=ts,
        profile=profile,
        model=model,
        subject=subject,
        question=answer.question[:QUESTION_RECORD_CHARS],
        context_chars=answer.context_chars,
        answer_chars=len(answer.text),
        outcome=answer.outcome or "error",
        error=redactor.text(error.message) if error else "",
        duration=round(answer.duration, 3),
    )
