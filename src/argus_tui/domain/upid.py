"""Proxmox task ids (UPIDs): parsing and formatting as `PVE::UPID` does."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$"
)


class UPIDError(ValueError):
    """A string that is not a well-formed PVE task id."""


@dataclass(frozen=True, slots=True)
class UPID:
    """The fields a UPID carries; `str()` gives back the wire form."""

    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str

    @classmethod
    def parse(cls, text: str) -> UPID:
        match = _UPID_RE.match(text)
        if match is None:
            raise UPIDError(f"not a Proxmox task id: {text!r}")
        return cls(
            node=match.group(1),
            pid=int(match.group(3), 16),
            pstart=int(match.group(4), 16),
            starttime=int(match.group(5), 16),
            type=match.group(6),
            id=match.group(7),
            user=match.group(8),
        )

    def __str__(self) -> str:
        return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (  # noqa: UP031 - PVE's own format string
            self.node,
            self.pid,
            self.pstart,
            self.starttime,
            self.type,
            self.id,
            self.user,
        )

    @property
    def tokenid(self) -> str | None:
        """The token part of `user@realm!token`, as task lists report it separately."""
        return self.user.split("!", 1)[1] if "!" in self.user else None

    @property
    def userid(self) -> str:
        """The owning user without the token part."""
        return self.user.split("!", 1)[0]
