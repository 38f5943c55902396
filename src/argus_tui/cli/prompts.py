"""Questions to the person at the terminal; without a terminal, a clear error instead."""

from __future__ import annotations

import getpass
import sys

from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError


def read_secret(prompt: str, *, from_stdin: bool, what: str, flag: str) -> Secret:
    """A secret from the first line of stdin (`flag` given) or typed unseen at the terminal.

    `what` names it in the errors ("the token secret"); `flag` is the option that reads
    stdin, offered when there is no terminal to ask at.
    """
    if from_stdin:
        value = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        value = getpass.getpass(prompt).strip()
    else:
        raise ConfigError(f"no terminal to ask for {what}", hint=f"pipe it in with {flag}")
    if not value:
        raise ConfigError(f"{what} is empty")
    return Secret(value)


def can_ask() -> bool:
    """Whether a question can be answered: stdin is a terminal."""
    return sys.stdin.isatty()


def confirm(question: str) -> bool:
    """`question [y/N]`; only an explicit yes counts."""
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
