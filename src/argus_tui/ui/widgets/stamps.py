"""Times of snapshots and backups as a table shows them: local time, then how long ago."""

from __future__ import annotations

import time


def ago(seconds: float) -> str:
    """`45s`, `12m`, `5h`, `3d`: the largest whole unit."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def stamp(ts: int | None, now: float | None = None) -> str:
    """`2026-09-20 14:03 (1d ago)` in local time; `-` when the time is unknown."""
    if not ts:
        return "-"
    current = time.time() if now is None else now
    local = time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))
    return f"{local} ({ago(current - ts)} ago)"
