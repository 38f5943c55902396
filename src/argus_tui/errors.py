"""The ArgusError tree: every expected failure, with a user-facing message and exit code.

A message says what happened, why, and what to do, in one line. The CLI prints it and
exits with `exit_code`; the TUI shows it as a notification. Anything that is not an
ArgusError is a bug and may show a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_DENIED = 4


class ArgusError(Exception):
    """Base class; `title` is a short heading for notifications."""

    exit_code = EXIT_FAILED
    title = "Error"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class ConfigError(ArgusError):
    """Bad flags, settings, profile or .env content."""

    exit_code = EXIT_USAGE
    title = "Configuration"


class SecretStoreError(ArgusError):
    """The OS keyring is missing, locked or failing."""

    exit_code = EXIT_USAGE
    title = "Keyring"


class StoreError(ArgusError):
    """The history database is unavailable; Argus runs on without it."""

    title = "History"


class StoreUnavailable(StoreError):
    """The history's database cannot be reached or refused the login (refused, timed
    out, name not resolved, connection dropped, authentication failed): nothing was
    written, and what was to be written can be kept and sent later."""

    exit_code = EXIT_UNREACHABLE
    title = "History"

    def __init__(self, message: str, *, hint: str = "", reason: str = "") -> None:
        super().__init__(message, hint=hint)
        self.reason = reason  # a few words for one line: "connection refused", "timed out"


class ConnectionFailed(ArgusError):
    """The server cannot be reached: refused, timed out, DNS, node unreachable."""

    exit_code = EXIT_UNREACHABLE
    title = "Connection"


class TLSFailure(ConnectionFailed):
    """The certificate could not be verified or does not match the pinned fingerprint."""

    title = "TLS"


class AuthFailed(ArgusError):
    """The server refused the token (401)."""

    exit_code = EXIT_UNREACHABLE
    title = "Authentication"


class PermissionDenied(ArgusError):
    """The token lacks a privilege (403); `path` and `privilege` name what is missing."""

    exit_code = EXIT_DENIED
    title = "Permission denied"

    def __init__(
        self, message: str, *, path: str = "", privilege: str = "", hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.privilege = privilege


class ApiError(ArgusError):
    """The server answered with an error (400, 500, 501, malformed data)."""

    title = "Proxmox API"

    def __init__(self, message: str, *, status: int = 0, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status


class OperationFailed(ArgusError):
    """An operation ran and failed, e.g. a task that ended with an error."""

    title = "Failed"


class LlmError(ArgusError):
    """The assistant's language model failed; `partial` holds any answer text received.

    Kept apart from ConnectionFailed and AuthFailed, which mean the Proxmox server:
    an unreachable model must never mark the cluster view offline.
    """

    title = "Assistant"

    def __init__(self, message: str, *, hint: str = "", partial: str = "", status: int = 0) -> None:
        super().__init__(message, hint=hint)
        self.partial = partial
        self.status = status


class LlmNotConfigured(ConfigError):
    """No base URL or model for the assistant; the message says how to set them."""

    title = "Assistant"


class LlmAuthFailed(LlmError):
    """The model server refused the API key (401/403)."""

    exit_code = EXIT_UNREACHABLE


class LlmNotFound(LlmError):
    """404: the base URL or the model name is wrong."""

    exit_code = EXIT_USAGE


class LlmRateLimited(LlmError):
    """429: too many requests or the quota is used up."""


class LlmServerError(LlmError):
    """The model server answered 5xx, or refused the request for another reason."""


class LlmUnreachable(LlmError):
    """The model server cannot be reached: refused, DNS, no route."""

    exit_code = EXIT_UNREACHABLE


class LlmTimeout(LlmUnreachable):
    """The model server did not answer (or went silent) within the timeout."""


class LlmCutOff(LlmError):
    """The answer stopped midway; `partial` is what arrived before."""


class LlmEmptyAnswer(LlmError):
    """The model finished without a word: nothing to show, nothing to keep."""


class ConsoleRefused(OperationFailed):
    """The server's console does not accept API tokens (an older Proxmox build)."""

    title = "Console"
