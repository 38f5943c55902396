"""The simulator's clock: wall time that tests can freeze and move forward."""

from __future__ import annotations

import threading
import time


class SimClock:
    """Wall time plus an offset that tests move forward; optionally frozen."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._frozen = frozen
        self._base = time.time() if start is None else start
        self._wall0 = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            if self._frozen:
                return self._base + self._offset
            return self._base + (time.time() - self._wall0) + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
