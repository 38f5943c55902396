"""Deterministic, realistic-looking utilisation for simulated nodes and guests.

Every value is a pure function of (seed, entity key, time), so two runs with the same
seed agree, rrddata for the past can be computed on demand, and nothing needs a
background thread.
"""

from __future__ import annotations

import math
import zlib

# (rows, step seconds) per timeframe, PVE 9 RRD layout (NOTES §f).
TIMEFRAMES: dict[str, tuple[int, int]] = {
    "hour": (60, 60),
    "day": (1440, 60),
    "week": (336, 1800),
    "month": (1440, 1800),
    "year": (1440, 21600),
    "decade": (570, 604800),
}
# PVE 8 (pve2-*) layout.
TIMEFRAMES_PVE8: dict[str, tuple[int, int]] = {
    "hour": (60, 60),
    "day": (70, 1800),
    "week": (70, 10800),
    "month": (70, 43200),
    "year": (70, 604800),
}


def unit(seed: int, key: str, salt: str = "") -> float:
    """A stable pseudo-random number in [0, 1) for this seed, key and salt."""
    return zlib.crc32(f"{seed}:{key}:{salt}".encode()) / 0x1_0000_0000


class Profile:
    """The shape of one entity's load: a baseline, a daily wave and per-minute noise."""

    __slots__ = ("amp", "base", "key", "period", "phase", "seed")

    def __init__(self, seed: int, key: str, low: float, high: float) -> None:
        self.seed = seed
        self.key = key
        self.base = low + (high - low) * unit(seed, key, "base")
        self.amp = self.base * (0.2 + 0.5 * unit(seed, key, "amp"))
        self.period = 3600.0 * (2 + 22 * unit(seed, key, "period"))
        self.phase = 2 * math.pi * unit(seed, key, "phase")

    def at(self, t: float, salt: str = "") -> float:
        """The value at time t, in [0, 1]."""
        wave = math.sin(2 * math.pi * t / self.period + self.phase)
        noise = unit(self.seed, self.key, f"{salt}{int(t) // 60}") - 0.5
        value = self.base + self.amp * wave + self.base * 0.3 * noise
        return min(1.0, max(0.0, value))

    def peak(self, t: float, step: int) -> float:
        """A plausible bucket maximum: a little above the average, never above 1."""
        return min(1.0, self.at(t) * (1.05 + 0.25 * unit(self.seed, self.key, f"max{int(t)}")))


def rate(seed: int, key: str, what: str, t: float, scale: float) -> float:
    """A bytes-per-second rate (network or disk) that wanders around `scale`."""
    profile = Profile(seed, f"{key}/{what}", 0.05, 1.0)
    return profile.at(t) * scale


def rrd_times(now: float, timeframe: str, pve_major: int) -> tuple[list[int], int]:
    """Bucket start times, oldest first, and the step, for an rrddata answer."""
    table = TIMEFRAMES if pve_major >= 9 else TIMEFRAMES_PVE8
    rows, step = table[timeframe]
    last = int(now) // step * step
    first = last - (rows - 1) * step
    return list(range(first, last + 1, step)), step
