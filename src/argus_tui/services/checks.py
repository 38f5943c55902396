"""The server's word on a privilege, asked just before an action is sent.

Hiding a key is not authorisation: the token's privileges on the exact path are read
again (`/access/permissions?path=...`) and a missing one becomes PermissionDenied naming
the privilege and the path (exit code 4).
"""

from __future__ import annotations

from collections.abc import Sequence

from argus_tui.errors import PermissionDenied
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import privileges_from


def held(client: PveClient, path: str) -> frozenset[str]:
    """What the token holds on `path` now, as the server says: its answer is read as the
    privileges on `path` however it is keyed (see `Privileges.answer`)."""
    return privileges_from(client.permissions(path)).answer(path)


def require(client: PveClient, path: str, privileges: Sequence[str], *, doing: str) -> None:
    """Raise PermissionDenied unless the token holds one of `privileges` on `path`."""
    if any(p in held(client, path) for p in privileges):
        return
    wanted = " or ".join(privileges)
    raise PermissionDenied(
        f"cannot {doing}: token {client.settings.token_id} needs {wanted} on {path}",
        path=path,
        privilege=wanted,
        hint="see 'argus doctor' for the pveum command that grants it",
    )
