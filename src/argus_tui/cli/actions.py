"""What every command that starts a task shares: refusals as exit codes, the question
before a destructive action, and the journal's warnings.

A refusal known before sending is raised here, so nothing reaches the server: a missing
privilege is PermissionDenied (exit 4, naming privilege and path), the guest's state is
OperationFailed (exit 1).
"""

from __future__ import annotations

from argus_tui.cli.output import warn
from argus_tui.cli.prompts import can_ask, confirm
from argus_tui.domain.models import Guest
from argus_tui.domain.operations import Denial
from argus_tui.domain.text import printable
from argus_tui.errors import ConfigError, OperationFailed, PermissionDenied


def guest_label(guest: Guest, *, node: bool = True) -> str:
    """`web01 (101) on pve-a`, safe to print."""
    text = f"{printable(guest.label)} ({guest.vmid})"
    return f"{text} on {printable(guest.node)}" if node else text


def refuse_if_read_only(read_only: bool, doing: str) -> None:
    """A read-only profile may do nothing: a permission refusal (exit 4), as for power."""
    if read_only:
        raise PermissionDenied(f"cannot {doing}: the profile is read-only")


def refuse(denial: Denial, doing: str) -> None:
    """Raise the exit code of a denial: 4 for a privilege, 1 for the guest's state."""
    message = f"cannot {doing}: {denial.text}"
    if denial.permission:
        raise PermissionDenied(
            message,
            path=denial.path or "",
            privilege=denial.privilege or "",
            hint="see 'argus doctor' for the pveum command that grants it",
        )
    raise OperationFailed(message)


def ask(action: str, question: str, *, yes: bool) -> bool:
    """Whether to go ahead: --yes, or an explicit yes at the terminal. Without a terminal
    there is no one to ask: a usage error (exit 2) that names --yes."""
    if yes:
        return True
    if not can_ask():
        raise ConfigError(f"{action} needs confirmation", hint="pass --yes")
    return confirm(question)


def journal_warnings(errors: list[str]) -> None:
    """The action ran; only its journal entry is missing. Said, never fatal."""
    for error in errors:
        warn(f"the action was not journaled: {error}")
