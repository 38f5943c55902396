"""The lines of a vzdump log that describe one guest, and when they appear.

Shapes follow PVE's real logs: `INFO: VM Name: web01`, `INFO: include disk 'scsi0'
'local-lvm:vm-100-disk-0' 32G`, qemu's progress lines (`INFO:  20% (3.2 GiB of 16.0 GiB)
in 2s, read: ..., write: ...`), tar's `Total bytes written` for containers, and the
archive size as vzdump's format_size prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argus_tui.sim.metrics import unit
from argus_tui.sim.model import Guest
from argus_tui.sim.storage import Storage, format_size, render_bytes


@dataclass(slots=True)
class Plan:
    """Lines and effects of one guest's run, by seconds since the run started."""

    lines: list[tuple[float, str]] = field(default_factory=list)
    effects: list[tuple[float, str]] = field(default_factory=list)

    def say(self, offset: float, *texts: str) -> None:
        self.lines.extend((offset, text) for text in texts)

    def act(self, offset: float, effect: str, *texts: str) -> None:
        """An effect on the guest (stop, start, pause, resume, snapshot) with its lines."""
        self.effects.append((offset, effect))
        self.say(offset, *texts)


def name_lines(disks: Storage, guest: Guest) -> list[str]:
    """What the guest plugin's prepare prints: its name and what goes into the archive."""
    if guest.type == "lxc":
        return [
            f"INFO: CT Name: {guest.name}",
            "INFO: including mount point rootfs ('/') in backup",
        ]
    volid, _ = disks.disk_volume(guest.vmid, guest.type, guest.template)
    size = max(1, guest.disk // 1024**3)
    return [f"INFO: VM Name: {guest.name}", f"INFO: include disk 'scsi0' '{volid}' {size}G"]


def archive_lines(storage: Storage, guest: Guest, volid: str) -> list[str]:
    """`creating vzdump archive '/path'`, or the PBS snapshot name for PBS."""
    name = volid.split(":backup/", 1)[1]
    if storage.type == "pbs":
        lines = [f"INFO: creating Proxmox Backup Server archive '{name}'"]
    else:
        lines = [f"INFO: creating vzdump archive '{storage.path}/dump/{name}'"]
    if guest.template:
        lines.append("INFO: starting template backup")
    return lines


def copy_lines(
    storage: Storage, guest: Guest, data: int, size: int, span_at: tuple[float, float]
) -> list[tuple[float, str]]:
    """The copy of `data` bytes (an archive of `size`) over [begin, end] of the run."""
    begin, end = span_at
    span = max(1.0, end - begin)
    out: list[tuple[float, str]] = []
    if guest.type == "lxc":
        total = render_bytes(data).replace(" ", "")
        rate = render_bytes(data / span).replace(" ", "")
        out.append((end, f"INFO: Total bytes written: {data} ({total}, {rate}/s)"))
    else:
        disk = guest.disk
        pct = 0
        for step in range(1, 6):
            grow = int(20 * (0.6 + 0.8 * unit(0, guest.key, f"progress{step}")))
            pct = 100 if step == 5 else min(99, pct + max(1, grow))
            secs = max(1, int(span * pct / 100))
            shown = f"{render_bytes(disk * pct / 100)} of {render_bytes(disk)}"
            read = render_bytes(disk * pct / 100 / secs)
            write = render_bytes(data * pct / 100 / secs)
            text = f"INFO: {pct:3d}% ({shown}) in {secs}s, read: {read}/s, write: {write}/s"
            out.append((begin + span * pct / 100, text))
        zero = disk - data
        share = zero * 100 // disk
        out.append(
            (end, f"INFO: backup is sparse: {render_bytes(zero)} ({share}%) total zero data")
        )
        rate = render_bytes(disk / span)
        out.append(
            (end, f"INFO: transferred {render_bytes(disk)} in {int(span)} seconds ({rate}/s)")
        )
    if storage.type != "pbs":
        out.append((end + 0.3, f"INFO: archive file size: {format_size(size)}"))
    return out
