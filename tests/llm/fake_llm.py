"""A local OpenAI-compatible chat server: real HTTP on 127.0.0.1, answers streamed as SSE.

It speaks `POST /v1/chat/completions` with `stream: true` the way OpenAI, Ollama,
llama.cpp and vLLM do (`data: {chunk}` events, then `data: [DONE]`), plus
`GET /v1/models`. Every request body and Authorization header is recorded, so tests can
assert exactly what was sent. `mode` switches behaviour at any time:

    normal   the answer, in small chunks, then finish_reason "stop" and [DONE]
    401 403 404 429 500 503
             that HTTP status with an OpenAI-style JSON error body
    hang     accept the request and never answer (until `hang_seconds` or stop())
    stall    send the first `cut_after` chunks, then go silent
    cut      send the first `cut_after` chunks, then drop the connection mid-body
    html502  a proxy's HTML error page with status 502
    garbage  `cut_after` chunks, then an event that is not JSON
    error-event  `cut_after` chunks, then an OpenAI-style error event in the stream

"Unreachable" needs no server: `closed_port()` returns a port nothing listens on.

As a pytest fixture (function scope, stopped after the test):

    def test_x(fake_llm: FakeLLM) -> None:
        fake_llm.answer = "..."; fake_llm.mode = "429"
        ... settings with base_url=fake_llm.url, model=fake_llm.model ...
        assert "..." in fake_llm.sent_text()

`tests/llm/conftest.py` and `tests/cli/conftest.py` import the fixture; a conftest
elsewhere makes it available with `from tests.llm.fake_llm import fake_llm`.

Standalone (e.g. for `argus --demo` by hand or a tmux test), from the repository root:

    python -m tests.llm.fake_llm [--port 0] [--mode normal] [--answer TEXT] [--delay S]

It prints `ARGUS_LLM_BASE_URL=...` and `ARGUS_LLM_MODEL=...` lines (export them) and
serves until interrupted. `--port 0` picks a free port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = (
    "normal", "401", "403", "404", "429", "500", "503", "hang", "stall", "cut",
    "html502", "garbage", "error-event",
)  # fmt: skip
DEFAULT_MODEL = "fake-model"
DEFAULT_ANSWER = (
    "Task qmstart for guest 105 failed because QEMU could not open its disk:"
    " `/dev/pve/vm-105-disk-0` does not exist.\n\n"
    "Check that the volume is present (`lvs pve`) and that the storage is active, then"
    " start the guest again.\n\n"
    "Suggested action: start 105\n"
)
_ERRORS = {
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to use this model.", "invalid_request_error", None),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    429: ("Rate limit reached for requests. Please try again in 20s.", "requests", None),
    500: ("The server had an error while processing your request.", "server_error", None),
    503: ("The engine is currently overloaded.", "server_error", None),
}


class FakeLLM:
    """The server; start() binds a loopback port, stop() ends it and any hanging answer."""

    def __init__(
        self,
        *,
        port: int = 0,
        mode: str = "normal",
        answer: str = DEFAULT_ANSWER,
        model: str = DEFAULT_MODEL,
        cut_after: int = 3,
        delay: float = 0.0,
        hang_seconds: float = 30.0,
    ) -> None:
        self.port = port
        self.mode = mode
        self.answer = answer
        self.model = model
        self.cut_after = cut_after
        self.delay = delay
        self.hang_seconds = hang_seconds
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL a client is configured with (ARGUS_LLM_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLM:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; one of {', '.join(MODES)}")
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what was sent ---------------------------------------------------------------------

    def record(self, body: dict[str, Any], auth: str | None) -> None:
        with self._lock:
            self.requests.append(body)
            self.auth.append(auth)

    @property
    def last_request(self) -> dict[str, Any]:
        with self._lock:
            return self.requests[-1]

    def sent_text(self, index: int = -1) -> str:
        """Every message content of one request, joined: what left the client."""
        with self._lock:
            body = self.requests[index]
        return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))

    def raw_requests(self) -> str:
        """All recorded bodies and headers as one string, to search for leaks."""
        with self._lock:
            return json.dumps({"bodies": self.requests, "auth": self.auth})

    # -- the answer -------------------------------------------------------------------------

    def chunks(self) -> list[str]:
        """The answer split into small pieces, as a model would stream it."""
        pieces: list[str] = []
        word = ""
        for ch in self.answer:
            word += ch
            if ch in " \n" and len(word) >= 4:
                pieces.append(word)
                word = ""
        if word:
            pieces.append(word)
        return pieces

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _chunk(model: str, content: str | None, finish: str | None, first: bool) -> bytes:
    delta: dict[str, Any] = {}
    if first:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


def _handler_for(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-llm/1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": fake.model, "object": "model"}]})
            else:
                self._json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._json(400, {"error": {"message": "body is not JSON"}})
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            fake.record(body, self.headers.get("Authorization"))
            mode = fake.mode
            if mode.isdigit():
                status = int(mode)
                message, kind, code = _ERRORS[status]
                headers = {"Retry-After": "20"} if status == 429 else {}
                self._json(
                    status, {"error": {"message": message, "type": kind, "code": code}}, headers
                )
                return
            if mode == "hang":
                fake.wait(fake.hang_seconds)
                self.close_connection = True
                return
            if mode == "html502":
                page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1>"
                page += b"<hr>nginx</body></html>"
                self.send_response(502)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)
                return
            self._stream(body, mode)

        def _stream(self, body: dict[str, Any], mode: str) -> None:
            model = str(body.get("model") or fake.model)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = fake.chunks()
            events: Iterator[bytes] = (
                _chunk(model, piece, None, i == 0) for i, piece in enumerate(pieces)
            )
            for sent, event in enumerate(events):
                if mode in ("cut", "stall", "garbage", "error-event") and sent >= fake.cut_after:
                    break
                self._write(event)
                if fake.delay:
                    fake.wait(fake.delay)
            else:
                self._write(_chunk(model, None, "stop", not pieces))
                self._write(b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            if mode == "garbage":
                self._write(b"data: {not json at all\n\n")
            elif mode == "error-event":
                error = {"error": {"message": "model overloaded", "type": "server_error"}}
                self._write(f"data: {json.dumps(error)}\n\n".encode())
            if mode in ("garbage", "error-event"):
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                return
            if mode == "stall":
                fake.wait(fake.hang_seconds)
            # cut (or a stall that ended): drop the connection without finishing the body
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _write(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def closed_port() -> int:
    """A loopback port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fixture(function: Any) -> Any:
    """pytest's fixture decorator, when pytest is there: the module also runs on its own
    (`python -m tests.llm.fake_llm`) where only the package's own dependencies are."""
    try:
        import pytest
    except ImportError:
        return function
    return pytest.fixture(function)


@_fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A started FakeLLM in normal mode; stopped (and any hang released) afterwards."""
    server = FakeLLM().start()
    yield server
    server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.llm.fake_llm",
        description="A local OpenAI-compatible chat server that streams a fixed answer.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--mode", choices=MODES, default="normal")
    parser.add_argument("--answer", default=DEFAULT_ANSWER, help="the text every answer streams")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds between chunks")
    parser.add_argument("--cut-after", type=int, default=3, help="chunks before cut/stall")
    args = parser.parse_args(argv)
    server = FakeLLM(
        port=args.port,
        mode=args.mode,
        answer=args.answer,
        model=args.model,
        delay=args.delay,
        cut_after=args.cut_after,
        hang_seconds=3600.0,
    ).start()
    print(f"ARGUS_LLM_BASE_URL={server.url}", flush=True)
    print(f"ARGUS_LLM_MODEL={server.model}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
