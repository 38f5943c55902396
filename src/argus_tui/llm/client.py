"""Streaming chat completions against any OpenAI-compatible server, cancellable at once.

OpenAI, Ollama, llama.cpp's server, vLLM and LM Studio all speak the same
`/v1/chat/completions` with `stream: true`. Local servers need no key; the openai client
insists on one, so a placeholder is sent. Retries are off: a failure is reported at once
as an `LlmError` whose one line says what happened and what to do, and an answer that
stops midway keeps the text that arrived (`LlmCutOff.partial`).

The HTTP exchange runs in a reader thread feeding a queue, so `ChatStream.cancel()` from
any thread ends the iteration within one poll interval even while the server is silent.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import openai

from argus_tui.domain.text import printable
from argus_tui.errors import (
    LlmAuthFailed,
    LlmCutOff,
    LlmError,
    LlmNotFound,
    LlmRateLimited,
    LlmServerError,
    LlmTimeout,
    LlmUnreachable,
)
from argus_tui.llm.prompt import Message
from argus_tui.llm.redact import Redactor
from argus_tui.llm.settings import CONNECT_TIMEOUT, LlmSettings

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

#: Sent when no key is configured: local servers ignore it, the openai client needs one.
NO_KEY = "not-needed"
_POLL = 0.05
_DETAIL_LIMIT = 160


class ChatClient:
    """One configured server; `stream()` starts an answer. Safe to share between threads."""

    def __init__(self, settings: LlmSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None

    def __repr__(self) -> str:
        return f"ChatClient({self.settings.model} at {self.settings.url})"

    def _openai(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                key = self.settings.api_key
                self._client = openai.OpenAI(
                    base_url=self.settings.base_url,
                    api_key=key.reveal() if key else NO_KEY,
                    timeout=openai.Timeout(
                        self.settings.timeout, connect=min(CONNECT_TIMEOUT, self.settings.timeout)
                    ),
                    max_retries=0,
                )
            return self._client

    def stream(self, messages: Sequence[Message]) -> ChatStream:
        """An iterator of answer text; nothing is sent until it is first iterated."""
        return ChatStream(self, [m.to_wire() for m in messages])

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class ChatStream:
    """Answer text chunks, in order; `cancel()` (any thread) stops it at once.

    Raises an LlmError subclass when the server fails; `text` always holds what arrived.
    A stream that ends without a finish reason was cut off (LlmCutOff).
    """

    def __init__(self, client: ChatClient, messages: list[dict[str, str]]) -> None:
        self._client = client
        self._messages = messages
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._response: Any = None
        self._thread: threading.Thread | None = None
        self._parts: list[str] = []
        self._done = False
        self.finish_reason: str | None = None

    @property
    def text(self) -> str:
        """Everything received so far."""
        return "".join(self._parts)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, name="llm-stream", daemon=True)
            self._thread.start()
        while True:
            if self._cancel.is_set():
                self._done = True
                raise StopIteration
            try:
                kind, value = self._queue.get(timeout=_POLL)
            except queue.Empty:
                continue
            if kind == "text":
                self._parts.append(value)
                return str(value)
            self._done = True
            if self._cancel.is_set():
                raise StopIteration
            if kind == "error":
                raise map_error(value, self._client.settings, self.text) from None
            if self.finish_reason is None:
                raise _cut_off(self._client.settings, self.text, "it ended without finishing")
            raise StopIteration

    def cancel(self) -> None:
        """Stop now: iteration ends, the connection is dropped in the background."""
        self._cancel.set()
        with self._lock:
            response = self._response
        if response is not None:
            # Closing can wait on the reader's socket; never make the caller wait.
            threading.Thread(target=_close_quietly, args=(response,), daemon=True).start()

    def _read(self) -> None:
        """The reader thread: one request, chunks into the queue, then end or error."""
        try:
            response = self._client._openai().chat.completions.create(
                model=self._client.settings.model,
                messages=cast("list[ChatCompletionMessageParam]", self._messages),
                stream=True,
            )
            with self._lock:
                self._response = response
            if self._cancel.is_set():
                _close_quietly(response)
                return
            for chunk in response:
                if self._cancel.is_set():
                    break
                for choice in chunk.choices or ():
                    content = choice.delta.content if choice.delta is not None else None
                    if content:
                        self._queue.put(("text", content))
                    if choice.finish_reason:
                        self.finish_reason = str(choice.finish_reason)
            self._queue.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it mapped
            self._queue.put(("error", exc))
        finally:
            with self._lock:
                response, self._response = self._response, None
            if response is not None:
                _close_quietly(response)


def _close_quietly(response: Any) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail; fine
        response.close()


# -- error mapping -------------------------------------------------------------------------


def map_error(exc: BaseException, settings: LlmSettings, partial: str = "") -> LlmError:
    """Turn anything the openai client raised into one clear LlmError."""
    host = settings.host
    if isinstance(exc, LlmError):
        return exc
    if isinstance(exc, ValueError) and not isinstance(exc, openai.OpenAIError):
        # JSONDecodeError and the like: the stream was not the OpenAI format
        return LlmServerError(
            f"the assistant at {host} sent something that is not an OpenAI-style answer"
            f" ({type(exc).__name__})",
            hint="is ARGUS_LLM_BASE_URL an OpenAI-compatible endpoint (usually ending in /v1)?",
            partial=partial,
        )
    if partial and not isinstance(exc, openai.APIStatusError):
        if isinstance(exc, openai.APITimeoutError):
            reason = f"no data for {settings.timeout:g} s"
        elif isinstance(exc, openai.APIConnectionError):
            reason = _reason(exc)
        else:  # an error event inside the stream: the server's own words
            detail = _detail(exc, settings) or type(exc).__name__
            return LlmServerError(
                f"the assistant at {host} stopped with an error: {detail}",
                hint="what arrived is kept; ask again",
                partial=partial,
            )
        return _cut_off(settings, partial, reason)
    if isinstance(exc, openai.APITimeoutError):
        return LlmTimeout(
            f"the assistant at {host} did not answer within {settings.timeout:g} s",
            hint="the model may still be loading or the server is busy; ask again, or raise"
            " ARGUS_LLM_TIMEOUT",
        )
    if isinstance(exc, openai.APIConnectionError):
        return LlmUnreachable(
            f"cannot reach the assistant at {settings.url}: {_reason(exc)}",
            hint="check ARGUS_LLM_BASE_URL (or llm_base_url in the profile) and that the"
            " server is running",
        )
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, settings)
    if isinstance(exc, openai.APIError):
        detail = _detail(exc, settings)
        return LlmServerError(
            f"the assistant at {host} reported an error: {detail or 'no reason given'}",
            hint="try again later",
        )
    return LlmServerError(
        f"unexpected answer from the assistant at {host} ({type(exc).__name__})",
        hint="is ARGUS_LLM_BASE_URL an OpenAI-compatible server?",
    )


def _cut_off(settings: LlmSettings, partial: str, reason: str) -> LlmCutOff:
    what = "the answer was cut off" if partial else "no answer arrived"
    return LlmCutOff(
        f"{what}: the connection to {settings.host} broke midway ({reason})",
        hint="what arrived is kept; ask again" if partial else "ask again",
        partial=partial,
    )


def _status_error(exc: openai.APIStatusError, settings: LlmSettings) -> LlmError:
    status = exc.status_code
    host = settings.host
    detail = _detail(exc, settings)
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        if settings.api_key:
            hint = (
                f"the key from {settings.key_source or 'the settings'} is wrong, expired or"
                " lacks access to the model; set ARGUS_LLM_API_KEY or store a new key with"
                " 'argus llm-key'"
            )
        else:
            hint = "no API key was sent: set ARGUS_LLM_API_KEY (or OPENAI_API_KEY), or store"
            hint += " one with 'argus llm-key'"
            if settings.key_problem:
                hint += f" (the keyring could not be read: {settings.key_problem})"
        return LlmAuthFailed(
            f"the assistant at {host} rejected the API key (HTTP {status}{said})",
            hint=hint,
            status=status,
        )
    if status == 404:
        return LlmNotFound(
            f"the assistant at {host} has no model {settings.model!r} or no chat endpoint at"
            f" {settings.url} (HTTP 404{said})",
            hint="check ARGUS_LLM_MODEL and ARGUS_LLM_BASE_URL (it usually ends in /v1, e.g."
            " http://127.0.0.1:11434/v1 for Ollama)",
            status=status,
        )
    if status == 429:
        after = exc.response.headers.get("retry-after") if exc.response is not None else None
        wait = f"wait {after} s" if after and after.isdigit() else "wait a minute"
        return LlmRateLimited(
            f"the assistant at {host} is rate limiting requests (HTTP 429{said})",
            hint=f"{wait} and ask again; if it persists, check the account's quota",
            status=status,
        )
    if status >= 500:
        return LlmServerError(
            f"the assistant at {host} failed with HTTP {status}{said}",
            hint="the model server has a problem; try again later",
            status=status,
        )
    return LlmServerError(
        f"the assistant at {host} refused the request with HTTP {status}{said}",
        hint="the context may be too large for this model; select something narrower",
        status=status,
    )


_ERRNO = re.compile(r"\[Errno -?\d+\]\s*(.+)")
_TAG = re.compile(r"<[^>]*>")


def _plain(body: str) -> str:
    """An HTML error page (a proxy's 502) as its text: the title, not the markup."""
    if "<" not in body:
        return body
    title = re.search(r"<title>(.*?)</title>", body, re.I | re.S)
    text = title.group(1) if title else _TAG.sub(" ", body)
    return " ".join(text.split())


def _reason(exc: BaseException) -> str:
    """The innermost readable cause of a connection failure, e.g. "connection refused"."""
    seen: set[int] = set()
    current: BaseException | None = exc
    text = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror[0].lower() + current.strerror[1:]
        message = str(current)
        match = _ERRNO.search(message)
        if match:
            found = match.group(1).strip().rstrip(")'\"")
            return found[0].lower() + found[1:] if found else message
        if message and message not in ("Connection error.", "Request timed out."):
            text = message
        current = current.__cause__ or current.__context__
    if "incomplete chunked read" in text or "peer closed" in text:
        return "the server closed the connection"
    return printable(text)[:_DETAIL_LIMIT] or "connection failed"


def _detail(exc: BaseException, settings: LlmSettings) -> str:
    """The server's own error message, cleaned: one line, printable, no key in it."""
    body = getattr(exc, "body", None)
    message: Any = None
    if isinstance(body, Mapping):
        message = body.get("message")
        error = body.get("error")
        if message is None and isinstance(error, Mapping):
            message = error.get("message")
        elif message is None and isinstance(error, str):
            message = error
    elif isinstance(body, str):
        message = _plain(body)
    if not isinstance(message, str) or not message.strip():
        message = getattr(exc, "message", "") or ""
        message = re.sub(r"^Error code: \d+( - )?", "", str(message))
        if message.startswith("{"):
            return ""
        message = _plain(message)
    secrets = [settings.api_key.reveal()] if settings.api_key else []
    text = " ".join(Redactor(secrets).text(str(message)).split())
    text = printable(text)
    if len(text) > _DETAIL_LIMIT:
        text = text[: _DETAIL_LIMIT - 3] + "..."
    return text
