"""The lines of a migration log whose number grows with the data: copies, mirrors, RAM.

Shapes follow qemu-server and pve-storage: `pvesm import`'s `N bytes (x GB, y GiB)
copied` lines for an offline copy, drive-mirror's `drive-scsi0: transferred 1.0 GiB of
32.0 GiB (3.12%) in 1s` (printed without a time stamp), QEMU's `migration active,
transferred 1.2 GiB of 8.0 GiB VM-state, 1.0 GiB/s`. Each function answers the lines with
their absolute times and whether AbstractMigrate's time stamp precedes them, and the
time the step ends.
"""

from __future__ import annotations

import math
import time

from argus_tui.sim.storage import render_bytes

GIB = 1024**3

Line = tuple[float, str, bool]  # (when, text, with a time stamp)


def stamp(at: float) -> str:
    """AbstractMigrate's log time (the simulated nodes keep UTC)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


def hms(seconds: float) -> str:
    """The `(duration 00:00:12)` of the last line."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def render_duration(seconds: float) -> str:
    """PVE::Tools::render_duration, as the drive-mirror progress lines print it."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def copy_lines(start: float, volid: str, new_volid: str, data: int, speed: float) -> list[Line]:
    """An offline copy of one local volume (`pvesm export | pvesm import`)."""
    seconds = max(0.5, data / speed)
    name = volid.split(":", 1)[1]
    out: list[Line] = [(start, f'  Logical volume "{name}" created.', True)]
    steps = max(1, min(10, int(seconds / 5)))
    for i in range(1, steps + 1):
        elapsed = seconds * i / steps
        done = int(data * i / steps)
        rate = done / max(1.0, elapsed) / 1e6
        text = (
            f"{done} bytes ({done / 1e9:.1f} GB, {done / GIB:.1f} GiB) copied,"
            f" {int(elapsed)} s, {rate:.0f} MB/s"
        )
        out.append((start + elapsed, text, True))
    out.append((start + seconds, f"new volume ID is '{new_volid}'", True))
    return out


def mirror_lines(
    start: float, vmid: int, drives: list[tuple[str, int, int]], speed: float
) -> list[Line]:
    """Live storage migration: drive-mirror of each (drive, size, data) to the target."""
    t = start
    out: list[Line] = [(t, "starting storage migration", True)]
    for drive, size, data in drives:
        job = f"drive-{drive}"
        uri = f"nbd:unix:/run/qemu-server/{vmid}_nbd.migrate:exportname={job}"
        out.append((t, f"{drive}: start migration to {uri}", True))
        out.append((t, f"drive mirror is starting for {job}", False))
        seconds = max(1.0, data / speed)
        steps = max(1, min(20, int(seconds)))
        for i in range(steps + 1):
            elapsed = seconds * i / steps
            ready = ", ready" if i == steps else ""
            text = (
                f"{job}: transferred {render_bytes(size * i / steps)} of {render_bytes(size)}"
                f" ({100 * i / steps:.2f}%) in {render_duration(elapsed)}{ready}"
            )
            out.append((t + elapsed, text, False))
        t += seconds
    out.append((t, "all 'mirror' jobs are ready", False))
    out.append((t, "switching mirror jobs to actively synced mode", True))
    for drive, _, _ in drives:
        out.append((t, f"drive-{drive}: switching to actively synced mode", False))
        out.append((t, f"drive-{drive}: successfully switched to actively synced mode", False))
    return out


def ram_lines(
    start: float, vmid: int, memory: int, speed: float, downtime: int, limited: bool
) -> list[Line]:
    """QEMU's part of a live migration: its parameters, progress and summary."""
    sock = f"unix:/run/qemu-server/{vmid}.migrate"
    t = start
    texts = [f"starting online/live migration on {sock}", "set migration capabilities"]
    if limited:
        texts.append(f"migration speed limit: {render_bytes(speed)}/s")
    cache = 1 << max(1, math.ceil(math.log2(max(2, memory // 10))))
    texts += [
        "migration downtime limit: 100 ms",
        f"migration cachesize: {render_bytes(cache)}",
        "set migration parameters",
        f"start migrate command to {sock}",
    ]
    out: list[Line] = [(t, text, True) for text in texts]
    seconds = memory / speed
    steps = max(1, min(30, int(seconds)))
    for i in range(1, steps):
        text = (
            f"migration active, transferred {render_bytes(memory * i / steps)} of"
            f" {render_bytes(memory)} VM-state, {render_bytes(speed)}/s"
        )
        out.append((t + seconds * i / steps, text, True))
    t += seconds
    out += [
        (t, f"average migration speed: {render_bytes(speed)}/s - downtime {downtime} ms", True),
        (t, f"migration completed, transferred {render_bytes(memory)} VM-state", True),
        (t, "migration status: completed", True),
    ]
    return out


def mirror_done_lines(at: float, drives: list[str]) -> list[Line]:
    """After the RAM: the mirror jobs complete and the target's NBD server stops."""
    out: list[Line] = [(at, "all 'mirror' jobs are ready", False)]
    for drive in drives:
        for text in ("Completing block job...", "Completed successfully.", "mirror-job finished"):
            out.append((at, f"drive-{drive}: {text}", False))
    out.append((at + 0.2, "stopping NBD storage migration server on target.", True))
    return out


def end_of(lines: list[Line], default: float) -> float:
    return max((at for at, _, _ in lines), default=default)
