"""Where the server is and how to trust it: plain values, no HTTP library.

Kept apart from `pve.client` so that reading config.toml and listing profiles does not
load `requests`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from argus_tui.domain.secret import Secret

TlsMode = Literal["system", "ca", "fingerprint", "insecure"]


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """How to trust the server: system CAs, a CA file, a pinned fingerprint, or nothing."""

    mode: TlsMode = "system"
    ca_file: str | None = None
    fingerprint: str | None = None

    def describe(self) -> str:
        if self.mode == "fingerprint":
            return f"pinned certificate {self.fingerprint}"
        if self.mode == "ca":
            return f"CA file {self.ca_file}"
        if self.mode == "insecure":
            return "NOT VERIFIED (--insecure)"
        return "system CA store"


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    host: str
    port: int
    token_id: str
    secret: Secret = field(repr=False)
    tls: TlsConfig = TlsConfig()
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}/api2/json"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def normalise_fingerprint(text: str) -> str:
    """`aa:bb..`, `AABB..` or with spaces -> PVE's `AA:BB:..` form; ValueError if not SHA-256."""
    digits = re.sub(r"[^0-9a-fA-F]", "", text)
    if len(digits) != 64 or re.search(r"[^0-9a-fA-F:\s]", text.strip()):
        raise ValueError(f"not a SHA-256 fingerprint: {text!r}")
    digits = digits.upper()
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))
