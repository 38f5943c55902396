"""The first snapshot, fetched while the TUI is still importing and drawing.

A start spends most of its time on the CPU: Textual and the screens to import, the first
frames to lay out, and, for the snapshot, the HTTP stack to import (requests and urllib3,
about 60 ms), a TLS handshake, four calls to decode and map. In a thread these take turns
with the drawing under the interpreter's lock; in a forked child they run on another
core. So on Linux, while the process has no other thread yet (forking then is safe), the
snapshot is fetched by a child that sends it back pickled over a pipe and exits; anywhere
else, or when that fails, by a thread. See docs/PERFORMANCE.md, "Start-up".
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.errors import ArgusError


class Prefetch:
    """One snapshot on its way; `result` waits for it."""

    def __init__(self, fetch: Callable[[], ClusterSnapshot]) -> None:
        self._fetch = fetch
        self._snapshot: ClusterSnapshot | None = None
        self._error: ArgusError | None = None
        self._done_at = 0.0
        self._child = 0  # the forked child's pid while it runs
        if sys.platform == "linux" and threading.active_count() == 1:
            target = self._from_child(self._fork())
        else:
            target = self._here
        # A daemon: a hung server must not keep the process alive after the user quits.
        self._thread = threading.Thread(target=target, name="argus-prefetch", daemon=True)
        self._thread.start()

    def result(self, *, max_age: float) -> ClusterSnapshot | None:
        """The snapshot (waiting for it); None when it is older than `max_age` seconds or
        the child could not deliver it (then the caller fetches it itself)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if time.monotonic() - self._done_at > max_age:
            return None
        return self._snapshot

    def cancel(self) -> None:
        """The session is closing: a child still fetching is stopped."""
        if self._child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._child, signal.SIGKILL)

    # -- in this process -------------------------------------------------------------------

    def _here(self) -> None:
        try:
            self._snapshot = self._fetch()
        except ArgusError as exc:
            self._error = exc
        except Exception as exc:  # a bug: said by the poll that takes it, as any other
            self._error = ArgusError(f"unexpected error: {type(exc).__name__}: {exc}")
        self._done_at = time.monotonic()

    # -- in a child ------------------------------------------------------------------------

    def _fork(self) -> int:
        """The read end of the pipe the child answers on."""
        readable, writable = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: fetch, answer, and leave without running anything else
            os.close(readable)
            _child_main(self._fetch, writable)
        os.close(writable)
        self._child = pid
        return readable

    def _from_child(self, readable: int) -> Callable[[], None]:
        def receive() -> None:
            with os.fdopen(readable, "rb") as pipe:
                data = pipe.read()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._child, 0)
            self._child = 0
            try:
                kind, value = pickle.loads(data)  # noqa: S301 (our own child's answer)
            except Exception:
                kind, value = "lost", None
            if kind == "ok" and isinstance(value, ClusterSnapshot):
                self._snapshot = value
                self._done_at = time.monotonic()
            elif kind == "error" and isinstance(value, ArgusError):
                self._error = value
            else:  # the child died or sent nothing usable: fetch here, in this thread
                self._here()

        return receive


def _child_main(fetch: Callable[[], ClusterSnapshot], writable: int) -> None:
    """The forked child's whole life: it must not touch the terminal, nor return into the
    caller's code (os._exit, no cleanup handlers of the parent's)."""
    code = 0
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        try:
            answer: tuple[str, object] = ("ok", fetch())
        except ArgusError as exc:
            answer = ("error", exc)
        payload = pickle.dumps(answer)
        pickle.loads(payload)  # noqa: S301 (what the parent will do: fail here, not there)
        with os.fdopen(writable, "wb") as pipe:
            pipe.write(payload)
    except BaseException:  # the parent fetches again, in its thread
        code = 1
    finally:
        os._exit(code)
