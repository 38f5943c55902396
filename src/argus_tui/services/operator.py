"""Who is at the keyboard: the name the journal records beside the token.

A team shares tokens less often than it shares a history, and when it does the token
alone cannot say who stopped VM 105. `ARGUS_OPERATOR` names the person when set;
otherwise the login name and the host, as `getpass.getuser()` and the host name give them.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping


def operator_name(environ: Mapping[str, str] | None = None) -> str:
    """`ARGUS_OPERATOR`, or `login@host`; never empty, never over 200 characters."""
    env = os.environ if environ is None else environ
    named = "".join(ch for ch in env.get("ARGUS_OPERATOR", "") if ch.isprintable()).strip()
    if named:
        return named[:200]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"[:200]
