"""How the command line speaks: a failure or a warning is one `argus: ...` line on stderr.

Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration error, 3 cannot reach
or authenticate to the server, 4 permission denied (see `argus_tui.errors`).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def fail(message: str, code: int) -> int:
    """Say why on stderr; return the exit code to leave with."""
    print(f"argus: {message}", file=sys.stderr)
    return code


def note(message: str) -> None:
    """Something the user should know that is neither a failure nor a warning."""
    print(f"argus: {message}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"argus: warning: {message}", file=sys.stderr)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))
