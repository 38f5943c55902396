"""PostgreSQL failures as one-line StoreErrors that say what happened and what to do.

The text is Argus's own, built from the exception's class, its SQLSTATE and the
database's name: libpq's messages can repeat the connection string, and with it a
password, so they are never passed on. Failures that mean "the database is away" (refused,
timed out, name not resolved, connection lost, login refused) are StoreUnavailable: the
call wrote nothing, and what it was to write can be kept and sent later.
"""

from __future__ import annotations

import psycopg

from argus_tui.errors import StoreError, StoreUnavailable

from .target import HINT

#: libpq's own failures carry no SQLSTATE (nor do the server's refusals while logging
#: in, as psycopg reports them); these words in its message say which one it was
#: (matched only, never repeated): a reason, or the SQLSTATE it stands for.
_LIBPQ = (
    ("password authentication failed", "28P01"),
    ("no pg_hba.conf entry", "28000"),
    ("too many clients", "53300"),
    ("the database system is", "57P03"),
    ("connection refused", "connection refused"),
    ("timeout expired", "timed out"),
    ("timed out", "timed out"),
    ("failed to resolve host", "could not resolve the host name"),
    ("could not translate host name", "could not resolve the host name"),
    ("name or service not known", "could not resolve the host name"),
    ("no such file or directory", "no server on the local socket"),
    ("no password supplied", "no password was given"),
    ("ssl syscall error", "connection lost"),
    ("eof detected", "connection lost"),
    ("certificate", "the server's TLS certificate was not accepted"),
    ("ssl", "TLS failed"),
    ("does not exist", "3D000"),
    ("server closed the connection", "connection lost"),
    ("terminating connection", "connection lost"),
    ("connection is lost", "connection lost"),
    ("connection is bad", "connection lost"),
    ("consuming input failed", "connection lost"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "no route to the host"),
)

#: SQLSTATE -> (reason, hint, unavailable)
_STATES: dict[str, tuple[str, str, bool]] = {
    "28P01": (
        "password authentication failed",
        "store the password with `argus history login`, or in ~/.pgpass or PGPASSWORD",
        True,
    ),
    "28000": (
        "the server refused the login",
        "the server's pg_hba.conf has no entry for this user, host and database",
        True,
    ),
    "3D000": ("the database does not exist", "create it (createdb) or fix the URL", True),
    "53300": ("the server has too many connections", "try again later", True),
    "57P03": ("the server is starting up or shutting down", "try again shortly", True),
    "57P01": ("connection lost (the server ended it)", "it is reopened on the next call", True),
    "57P02": ("connection lost (the server crashed)", "it is reopened on the next call", True),
    "42501": (
        "permission denied",
        "GRANT the role SELECT, INSERT, UPDATE, DELETE on the history's tables"
        " (and CREATE on the schema for the first start)",
        False,
    ),
    "25006": (
        "the server is read-only (a standby?)",
        "point the URL at the primary, e.g. add target_session_attrs=read-write",
        False,
    ),
    "53100": ("the server's disk is full", "free space on the database server", False),
    "40P01": ("two writers deadlocked", "the next refresh tries again", False),
    "40001": ("a concurrent write conflicted", "the next refresh tries again", False),
    "55P03": ("the database is busy (a lock was not granted in time)", "try again", False),
    "57014": ("the statement was cancelled (timeout)", "try again", False),
}


def reason_of(exc: psycopg.Error, *, broken: bool = False) -> tuple[str, str, bool]:
    """(reason, hint, unavailable) for `exc`; `broken`: the connection died with it."""
    state = exc.sqlstate or ""
    if state in _STATES:
        return _STATES[state]
    if state.startswith("08") or (not state and isinstance(exc, psycopg.OperationalError)):
        text = str(exc).lower()
        for needle, reason in _LIBPQ:
            if needle in text:
                return _STATES[reason] if reason in _STATES else (reason, _hint_for(reason), True)
        if broken or state:
            return "connection lost", "it is reopened on the next call", True
        return "could not connect", "check the URL and that the server is running", True
    if broken:
        return "connection lost", "it is reopened on the next call", True
    label = type(exc).__name__
    return (f"failed ({label}, SQLSTATE {state})" if state else f"failed ({label})"), "", False


def _hint_for(reason: str) -> str:
    if reason in ("connection refused", "timed out", "no server on the local socket"):
        return "is the server running, and does the URL name the right host and port?"
    if reason == "could not resolve the host name":
        return "check the host in the URL"
    if reason == "no password was given":
        return "store it with `argus history login`, or in ~/.pgpass or PGPASSWORD"
    if reason.startswith(("TLS", "the server's TLS")):
        return "check the server's certificate, or set sslmode and sslrootcert=FILE in the URL"
    return "it is reopened on the next call"


def failure(where: str, what: str, exc: psycopg.Error, *, broken: bool = False) -> StoreError:
    """One line for `exc` while doing `what` on the database `where` names."""
    reason, hint, unavailable = reason_of(exc, broken=broken)
    message = f"history database {where}: {what}: {reason}"
    hint = f"{hint}; {HINT}" if hint else HINT
    if unavailable:
        return StoreUnavailable(message, hint=hint, reason=reason)
    return StoreError(message, hint=hint)
