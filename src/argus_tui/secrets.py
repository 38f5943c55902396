"""The OS keyring behind one small interface: token secrets and API keys live only there.

Every failure becomes a `SecretStoreError` whose one-line text says what failed, why, and
what to do. There is deliberately no file fallback: with no usable keyring (the normal case
on an SSH jump host, where there is no D-Bus session) the caller is told to export
ARGUS_TOKEN_SECRET for the session or to start an unlocked Secret Service. Backends that
keep secrets in a file (keyrings.alt) are refused. A secret value never appears in an
error message.
"""

from __future__ import annotations

import os
from typing import Protocol, cast

from argus_tui.domain.secret import Secret
from argus_tui.errors import SecretStoreError

SERVICE = "argus-tui"
FALLBACK_ENV_VAR = "ARGUS_TOKEN_SECRET"

# A throwaway account read by check(): reading opens (and, on a desktop, unlocks) the
# keyring without writing anything.
_PROBE_ACCOUNT = "check:probe"
_FALLBACK = f"or set {FALLBACK_ENV_VAR} for this session"
_UNLOCKED_SESSION = (
    "start a shell with an unlocked gnome-keyring: `dbus-run-session -- bash`, then "
    '`read -rs PW; printf %s "$PW" | gnome-keyring-daemon --unlock --components=secrets`, '
    "and run argus in that shell"
)
_DBUS_PACKAGES = frozenset({"secretstorage", "jeepney", "dbus"})
_DBUS_BACKENDS = frozenset(
    {"keyring.backends.SecretService", "keyring.backends.kwallet", "keyring.backends.libsecret"}
)
_FILE_BACKEND_PACKAGES = ("keyrings.alt", "keyrings.cryptfile")
_DETAIL_LIMIT = 200


def token_account(profile: str) -> str:
    """The keyring account holding the Proxmox API token secret of `profile`."""
    return f"token:{profile}"


def llm_account(profile: str) -> str:
    """The keyring account holding the LLM API key of `profile`."""
    return f"llm-key:{profile}"


def history_account(identity: str) -> str:
    """The keyring account holding the team history's database password, by who connects
    where (`user@host:port/dbname`): one entry per database login, whatever the profile."""
    return f"history:{identity}"


class _Backend(Protocol):
    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


class SecretStore:
    """The OS keyring behind one small interface; every failure becomes SecretStoreError."""

    def __init__(self, backend: object | None = None) -> None:
        # None: keyring's default backend, looked up on first use, never at import.
        self._backend = backend

    def get(self, account: str) -> Secret | None:
        """The secret stored for `account`, or None when there is no entry."""
        what = f"Cannot read {account} from the OS keyring"
        backend = self._resolve(what)
        try:
            value = backend.get_password(SERVICE, account)
        except Exception as exc:
            raise _failure(exc, what, backend) from exc
        return None if value is None else Secret(value)

    def set(self, account: str, secret: Secret) -> None:
        """Store (or replace) the secret for `account`."""
        what = f"Cannot store {account} in the OS keyring"
        backend = self._resolve(what)
        try:
            backend.set_password(SERVICE, account, secret.reveal())
            return
        except Exception as exc:
            error = _failure(exc, what, backend, secret)
        # Raised outside the except block so that neither __cause__ nor __context__ links
        # to the backend frames, whose locals hold the plain secret.
        raise error

    def delete(self, account: str) -> bool:
        """Remove the entry for `account`; False when there was nothing to delete."""
        from keyring import errors as keyring_errors  # loaded by _resolve already

        what = f"Cannot delete {account} from the OS keyring"
        backend = self._resolve(what)
        try:
            backend.delete_password(SERVICE, account)
        except keyring_errors.PasswordDeleteError as exc:
            # Backends raise this both for "no such entry" and for real failures.
            try:
                missing = backend.get_password(SERVICE, account) is None
            except Exception as probe_exc:
                raise _failure(probe_exc, what, backend) from probe_exc
            if missing:
                return False
            raise _failure(exc, what, backend) from exc
        except Exception as exc:
            raise _failure(exc, what, backend) from exc
        return True

    def describe(self) -> str:
        """The backend's name, e.g. "SecretService Keyring", or why there is none."""
        try:
            backend = self._resolve("No usable OS keyring")
        except SecretStoreError as err:
            return err.message
        return _name(backend)

    def check(self) -> None:
        """Raise SecretStoreError unless the keyring can be opened and read right now."""
        what = "The OS keyring is not usable"
        backend = self._resolve(what)
        try:
            backend.get_password(SERVICE, _PROBE_ACCOUNT)
        except Exception as exc:
            raise _failure(exc, what, backend) from exc

    def _resolve(self, what: str) -> _Backend:
        # keyring is imported here, on first use, not with this module: its import and
        # backend discovery cost tens of milliseconds at every start, and a token given in
        # the environment never needs it.
        import keyring
        from keyring.backends import chainer, fail, null

        backend = self._backend
        if backend is None:
            try:
                backend = keyring.get_keyring()
            except Exception as exc:
                raise _load_failure(what, exc) from exc
        chained = list(backend.backends) if isinstance(backend, chainer.ChainerBackend) else []
        if isinstance(backend, fail.Keyring) or (
            isinstance(backend, chainer.ChainerBackend) and not chained
        ):
            raise _no_keyring(what)
        if isinstance(backend, null.Keyring):
            raise SecretStoreError(
                f"{what}: keyring is disabled (the null backend discards every secret)",
                hint="remove PYTHON_KEYRING_BACKEND or the `default-keyring` line in "
                f"keyringrc.cfg (see `python -m keyring diagnose`), {_FALLBACK}",
            )
        file_backed = [b for b in [backend, *chained] if _stores_in_file(b)]
        if file_backed:
            raise SecretStoreError(
                f"{what}: the keyring backend {_name(file_backed[0])} keeps secrets in a "
                "file, and argus stores secrets only in an OS keyring",
                hint="uninstall keyrings.alt (or unset PYTHON_KEYRING_BACKEND) so that the "
                f"Secret Service is used, {_FALLBACK}",
            )
        return cast(_Backend, backend)


def _name(backend: object) -> str:
    name = getattr(backend, "name", None)
    return name if isinstance(name, str) and name else type(backend).__qualname__


def _stores_in_file(backend: object) -> bool:
    return type(backend).__module__.startswith(_FILE_BACKEND_PACKAGES)


def _no_keyring(what: str) -> SecretStoreError:
    bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if bus:
        why = f"no Secret Service answers on the D-Bus session bus at {bus}"
    else:
        why = "DBUS_SESSION_BUS_ADDRESS is unset: no D-Bus session bus, as usual over SSH"
    return SecretStoreError(
        f"{what}: no OS keyring is available in this session ({why})",
        hint=f"set {FALLBACK_ENV_VAR} for this session, or run argus inside a desktop session, "
        f"or {_UNLOCKED_SESSION}; argus never falls back to storing secrets in a file",
    )


def _load_failure(what: str, exc: Exception) -> SecretStoreError:
    configured = os.environ.get("PYTHON_KEYRING_BACKEND")
    if configured is not None:
        return SecretStoreError(
            f"{what}: PYTHON_KEYRING_BACKEND={configured} cannot be used ({_detail(exc)})",
            hint="unset PYTHON_KEYRING_BACKEND or name an available backend "
            f"(see `python -m keyring --list-backends`), {_FALLBACK}",
        )
    return SecretStoreError(
        f"{what}: the configured keyring backend cannot be loaded ({_detail(exc)})",
        hint="fix or remove the `default-keyring` line in keyringrc.cfg "
        f"(see `python -m keyring diagnose`), {_FALLBACK}",
    )


def _failure(
    exc: Exception, what: str, backend: object, secret: Secret | None = None
) -> SecretStoreError:
    """Translate an exception from a backend call; never echo `secret`."""
    from keyring import errors as keyring_errors  # a backend call failed: keyring is loaded

    name = _name(backend)
    if isinstance(exc, keyring_errors.NoKeyringError):
        return _no_keyring(what)
    if isinstance(exc, keyring_errors.KeyringLocked):
        return SecretStoreError(
            f"{what}: the {name} is locked and could not be unlocked "
            "(no unlock prompt can be shown here, or it was dismissed)",
            hint="unlock it in your desktop session and retry; or, with the keyring's password, "
            f"{_UNLOCKED_SESSION}; {_FALLBACK}",
        )
    if isinstance(exc, keyring_errors.InitError):
        return SecretStoreError(
            f"{what}: the {name} cannot open or create its keyring ({_detail(exc, secret)}); "
            "it needs a password prompt, which cannot be shown without a display",
            hint=f"{_UNLOCKED_SESSION}, {_FALLBACK}",
        )
    if _is_dbus_error(exc, backend):
        bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS") or "unset"
        return SecretStoreError(
            f"{what}: D-Bus error talking to the {name} ({_detail(exc, secret)})",
            hint=f"check that the session bus (DBUS_SESSION_BUS_ADDRESS={bus}) is still "
            f"running and a Secret Service such as gnome-keyring is on it, {_FALLBACK}",
        )
    # Unknown text from an unknown backend may quote what it was given: on a write, name
    # only the exception type.
    detail = type(exc).__name__ if secret is not None else _detail(exc)
    return SecretStoreError(
        f"{what}: the {name} failed ({detail})",
        hint=f"run `argus doctor` to check the keyring, {_FALLBACK}",
    )


def _is_dbus_error(exc: Exception, backend: object) -> bool:
    package = type(exc).__module__.partition(".")[0]
    if package in _DBUS_PACKAGES:
        return True
    # A stale or dead bus socket surfaces as a plain OSError from the D-Bus client.
    return isinstance(exc, OSError) and type(backend).__module__ in _DBUS_BACKENDS


def _detail(exc: Exception, secret: Secret | None = None) -> str:
    text = " ".join(str(exc).split())
    if secret:
        value = secret.reveal()
        for form in {value, repr(value)[1:-1]}:
            text = text.replace(form, "****")
    if len(text) > _DETAIL_LIMIT:
        text = text[: _DETAIL_LIMIT - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
