"""The OpenAI-compatible client over real HTTP with SSE: streaming, errors, cancellation."""

from __future__ import annotations

import threading

import pytest

from argus_tui.errors import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    LlmAuthFailed,
    LlmCutOff,
    LlmError,
    LlmNotFound,
    LlmRateLimited,
    LlmServerError,
    LlmTimeout,
    LlmUnreachable,
)
from argus_tui.llm.client import NO_KEY, ChatClient
from argus_tui.llm.prompt import Message
from argus_tui.llm.settings import LlmSettings
from tests.llm.conftest import LLM_KEY, llm_settings
from tests.llm.fake_llm import DEFAULT_ANSWER, FakeLLM, closed_port

MESSAGES = [Message("system", "be brief"), Message("user", "why?")]


def _ask(settings: LlmSettings) -> str:
    return "".join(ChatClient(settings).stream(MESSAGES))


def _error(settings: LlmSettings) -> LlmError:
    with pytest.raises(LlmError) as info:
        _ask(settings)
    error = info.value
    assert "\n" not in str(error) and LLM_KEY not in str(error)
    return error


def test_streams_the_answer_and_sends_the_key_and_messages(fake_llm: FakeLLM) -> None:
    stream = ChatClient(llm_settings(fake_llm)).stream(MESSAGES)
    chunks = list(stream)
    assert len(chunks) > 3  # streamed, not in one piece
    assert "".join(chunks) == DEFAULT_ANSWER == stream.text
    assert stream.finish_reason == "stop"
    body = fake_llm.last_request
    assert body["stream"] is True and body["model"] == fake_llm.model
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "why?"},
    ]
    assert fake_llm.auth[-1] == f"Bearer {LLM_KEY}"


def test_nothing_is_sent_until_iterated(fake_llm: FakeLLM) -> None:
    ChatClient(llm_settings(fake_llm)).stream(MESSAGES)
    assert fake_llm.requests == []


def test_local_servers_need_no_key(fake_llm: FakeLLM) -> None:
    assert _ask(llm_settings(fake_llm, key=None)) == DEFAULT_ANSWER
    assert fake_llm.auth[-1] == f"Bearer {NO_KEY}"


def test_401_says_the_key_was_rejected(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "401"
    error = _error(llm_settings(fake_llm))
    assert isinstance(error, LlmAuthFailed) and error.exit_code == EXIT_UNREACHABLE
    assert "rejected the API key (HTTP 401: Incorrect API key provided.)" in str(error)
    assert "from environment is wrong" in str(error)


def test_401_without_a_key_says_none_was_sent(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "401"
    error = _error(llm_settings(fake_llm, key=None))
    assert "no API key was sent" in str(error) and "argus llm-key" in str(error)


def test_403_is_a_rejected_key_too(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "403"
    error = _error(llm_settings(fake_llm))
    assert isinstance(error, LlmAuthFailed) and "HTTP 403" in str(error)


def test_404_names_the_model_and_the_url(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "404"
    error = _error(llm_settings(fake_llm))
    assert isinstance(error, LlmNotFound) and error.exit_code == EXIT_USAGE
    assert f"no model {fake_llm.model!r}" in str(error) and fake_llm.url in str(error)
    assert "ARGUS_LLM_MODEL" in str(error)


def test_429_says_rate_limited_and_when_to_retry(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "429"
    error = _error(llm_settings(fake_llm))
    assert isinstance(error, LlmRateLimited) and error.exit_code == EXIT_FAILED
    assert "rate limiting" in str(error) and "wait 20 s and ask again" in str(error)
    assert len(fake_llm.requests) == 1  # no retries


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_is_a_server_error_with_its_status(fake_llm: FakeLLM, status: int) -> None:
    fake_llm.mode = str(status)
    error = _error(llm_settings(fake_llm))
    assert isinstance(error, LlmServerError) and error.status == status
    assert f"failed with HTTP {status}" in str(error) and "try again later" in str(error)
    assert len(fake_llm.requests) == 1


def test_a_silent_server_times_out(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "hang"
    error = _error(llm_settings(fake_llm, timeout=1.0))
    assert isinstance(error, LlmTimeout) and error.exit_code == EXIT_UNREACHABLE
    assert "did not answer within 1 s" in str(error)


def test_unreachable_says_connection_refused() -> None:
    settings = LlmSettings(f"http://127.0.0.1:{closed_port()}/v1", "m", timeout=2.0)
    error = _error(settings)
    assert isinstance(error, LlmUnreachable) and error.exit_code == EXIT_UNREACHABLE
    assert "cannot reach the assistant" in str(error) and "connection refused" in str(error)
    assert "ARGUS_LLM_BASE_URL" in str(error)


def test_a_stream_cut_midway_keeps_the_partial_answer(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "cut"
    stream = ChatClient(llm_settings(fake_llm)).stream(MESSAGES)
    received: list[str] = []
    with pytest.raises(LlmCutOff) as info:
        for chunk in stream:
            received.append(chunk)
    error = info.value
    assert len(received) == fake_llm.cut_after
    assert error.partial == "".join(received) == stream.text and error.partial
    assert DEFAULT_ANSWER.startswith(error.partial)
    assert "the answer was cut off" in str(error) and "what arrived is kept" in str(error)
    assert error.exit_code == EXIT_FAILED


def test_a_stream_that_goes_silent_midway_is_cut_off_by_the_timeout(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "stall"
    stream = ChatClient(llm_settings(fake_llm, timeout=1.0)).stream(MESSAGES)
    with pytest.raises(LlmCutOff) as info:
        list(stream)
    assert info.value.partial and "no data for 1 s" in str(info.value)


def test_cancel_from_another_thread_stops_a_stalled_answer(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "stall"
    fake_llm.hang_seconds = 30.0
    stream = ChatClient(llm_settings(fake_llm, timeout=20.0)).stream(MESSAGES)
    received: list[str] = []
    finished = threading.Event()

    def consume() -> None:
        for chunk in stream:
            received.append(chunk)
            if len(received) == fake_llm.cut_after:
                threading.Thread(target=stream.cancel).start()
        finished.set()

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    # far less than the 20 s read timeout or the 30 s stall: only cancel() can end it
    assert finished.wait(5.0), "cancel() did not stop the iteration"
    assert stream.cancelled and len(received) == fake_llm.cut_after
    assert stream.text == "".join(received)
    assert list(stream) == []  # stays finished


def test_cancel_before_the_first_chunk(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "hang"
    stream = ChatClient(llm_settings(fake_llm, timeout=20.0)).stream(MESSAGES)
    threading.Timer(0.2, stream.cancel).start()
    assert list(stream) == [] and stream.cancelled


def test_an_error_message_never_echoes_the_key(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "401"
    key = "sk-echo-ABCDEFGHIJKLMNOPQRSTUVWX"
    from tests.llm import fake_llm as module

    original = module._ERRORS[401]
    module._ERRORS[401] = (f"Incorrect API key provided: {key}.", "invalid_request_error", None)
    try:
        error = _error(llm_settings(fake_llm, key=key))
    finally:
        module._ERRORS[401] = original
    assert key not in str(error) and "[redacted]" in str(error)


def test_a_password_in_the_base_url_never_shows(fake_llm: FakeLLM) -> None:
    url = fake_llm.url.replace("http://", "http://bob:hunter2pw@")
    settings = LlmSettings(base_url=url, model="no-such-model", timeout=2.0)
    assert "hunter2pw" not in settings.describe() and "hunter2pw" not in settings.host
    assert "hunter2pw" not in repr(ChatClient(settings)) and settings.url_password == "hunter2pw"
    fake_llm.mode = "404"
    assert "hunter2pw" not in str(_error(settings))
    gone = LlmSettings(base_url=f"http://bob:hunter2pw@127.0.0.1:{closed_port()}/v1", model="m")
    assert "hunter2pw" not in str(_error(gone))


def test_a_proxy_error_page_is_summed_up_not_printed(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "html502"
    error = _error(llm_settings(fake_llm))
    assert "HTTP 502" in str(error) and "502 Bad Gateway" in str(error)
    assert "<html>" not in str(error) and "<title>" not in str(error)


def test_an_answer_that_is_not_openai_format_says_so(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "garbage"
    error = _error(llm_settings(fake_llm))
    assert "not an OpenAI-style answer" in str(error) and error.partial


def test_an_error_event_in_the_stream_gives_the_servers_words(fake_llm: FakeLLM) -> None:
    fake_llm.mode = "error-event"
    error = _error(llm_settings(fake_llm))
    assert "model overloaded" in str(error) and "broke midway" not in str(error)
    assert error.partial
