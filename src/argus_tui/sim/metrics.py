"""Deterministic, realistic-looking utilisation for simulated nodes and guests.

Every value is a pure function of (seed, entity key, time), so two runs with the same
seed agree, rrddata for the past can be computed on demand, and nothing needs a
background thread.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping

from argus_tui.sim.model import Guest, Node

# (rows, step seconds) per timeframe: PVE 9's RRD layout.
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


class Usage:
    """Utilisation of one cluster's nodes and guests at any time, from its seed."""

    def __init__(self, seed: int, start_time: float, guests: Mapping[int, Guest]) -> None:
        self.seed = seed
        self.start_time = start_time  # disks of containers grow from here
        self.guests = guests  # the cluster's own dict: guests added later count too

    def guest_cpu(self, guest: Guest, t: float) -> float:
        if guest.status == "paused":
            return 0.0
        return Profile(self.seed, guest.key, 0.02, 0.6).at(t)

    def guest_mem(self, guest: Guest, t: float) -> int:
        frac = Profile(self.seed, guest.key + "/mem", 0.25, 0.85).at(t, "m")
        return int(guest.memory * frac)

    def guest_disk(self, guest: Guest, t: float) -> int:
        if guest.type == "qemu":
            return 0  # QEMU cannot see filesystem usage
        frac = 0.1 + 0.7 * unit(self.seed, guest.key, "disk")
        growth = (t - self.start_time) / (86400 * 365) * 0.05
        return int(guest.disk * min(0.98, frac + max(0.0, growth)))

    def guest_counters(self, guest: Guest, t: float) -> dict[str, int]:
        """Cumulative bytes since the guest started, as status and resources report."""
        if not guest.running or guest.started is None:
            return {"netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0}
        up = max(0.0, t - guest.started)
        out = {}
        for what, scale in (
            ("netin", 40_000),
            ("netout", 25_000),
            ("diskread", 80_000),
            ("diskwrite", 60_000),
        ):
            avg = scale * (0.2 + unit(self.seed, guest.key, what))
            out[what] = int(avg * up)
        return out

    def guest_rates(self, guest: Guest, t: float) -> dict[str, float]:
        return {
            what: rate(self.seed, guest.key, what, t, scale)
            for what, scale in (
                ("netin", 60_000.0),
                ("netout", 40_000.0),
                ("diskread", 120_000.0),
                ("diskwrite", 90_000.0),
            )
        }

    def node(self, node: Node, t: float) -> dict[str, float]:
        """cpu fraction, mem bytes and root disk bytes of a node at time t."""
        cpu = 0.01 + 0.02 * unit(self.seed, node.name, "os")
        mem = node.memory * (0.06 + 0.04 * unit(self.seed, node.name, "osmem"))
        for guest in self.guests.values():
            if guest.node != node.name or not guest.running_at(t):
                continue
            cpu += self.guest_cpu(guest, t) * guest.cores / max(1, node.cpus)
            mem += self.guest_mem(guest, t)
        base_disk = 0.08 + 0.3 * unit(self.seed, node.name, "root")
        return {
            "cpu": min(1.0, cpu),
            "mem": float(min(node.memory * 0.98, mem)),
            "disk": node.disk * base_disk,
            "iowait": 0.002 + 0.03 * Profile(self.seed, node.name + "/io", 0.0, 1.0).at(t),
        }

    def uptime(self, guest: Guest, now: float) -> int:
        if not guest.running or guest.started is None:
            return 0
        return int(now - guest.started)
