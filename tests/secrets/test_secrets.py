"""SecretStore against a real Secret Service (gnome-keyring on a private D-Bus), against no
keyring at all (the SSH jump host case), and against misbehaving backends.

The real-service tests need dbus-daemon, gnome-keyring-daemon and secret-tool. Without
them they skip, except under CI (CI=1), where they fail so that CI cannot skip silently.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import secretstorage
from keyring import errors as keyring_errors
from keyring.backends import SecretService, fail, null
from tests.keyring_env import BUS, keyring_session

from argus_tui.domain.secret import Secret
from argus_tui.errors import EXIT_USAGE, SecretStoreError
from argus_tui.secrets import SERVICE, SecretStore, llm_account, token_account

secretservice = pytest.mark.secretservice

VALUE = "pve-tok-3f9c1a77-0b1e-4c2d-9e55-hunter2"  # distinctive, to grep for leaks


@pytest.fixture(scope="session")
def secret_service_env() -> Iterator[dict[str, str]]:
    """One unlocked gnome-keyring for the session; tests use distinct accounts."""
    with keyring_session("unlocked") as env:
        yield env


@pytest.fixture
def store(secret_service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> SecretStore:
    """A SecretStore on the real Secret Service (secretstorage reads the bus from the env)."""
    monkeypatch.setenv(BUS, secret_service_env[BUS])
    return SecretStore(SecretService.Keyring())


def secret_tool(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["secret-tool", *args], input=stdin, env=env, capture_output=True, text=True, timeout=10
    )


def lookup(env: dict[str, str], account: str) -> str | None:
    """The value in the Secret Service itself; keyring's attributes are service/username."""
    result = secret_tool(env, "lookup", "service", SERVICE, "username", account)
    return result.stdout if result.returncode == 0 else None


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An SSH-like environment: no D-Bus, no keyring override, everything under `home`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {BUS, "PYTHON_KEYRING_BACKEND"}
        and not k.startswith(("XDG_", "KEYRING_PROPERTY_"))
    }
    env.update(HOME=str(home), **extra)
    return env


# Runs every SecretStore method and prints, per method, the result or the error text.
PROBE = """
import json, sys
import keyring.core
import argus_tui.secrets as s
from argus_tui.domain.secret import Secret
from argus_tui.errors import SecretStoreError
assert keyring.core._keyring_backend is None, "backend resolved at import"
store = s.SecretStore()
assert keyring.core._keyring_backend is None, "backend resolved at construction"
out = {"describe": store.describe()}
calls = {
    "set": lambda: store.set(s.token_account("lab"), Secret(sys.argv[1])),
    "get": lambda: store.get(s.token_account("lab")),
    "delete": lambda: store.delete(s.token_account("lab")),
    "check": store.check,
}
for name, call in calls.items():
    try:
        out[name] = repr(call())
    except SecretStoreError as err:
        out[name] = {"error": str(err), "exit_code": err.exit_code}
print(json.dumps(out))
"""


def run_probe(env: dict[str, str]) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, VALUE],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert VALUE not in result.stdout + result.stderr
    out: dict[str, object] = json.loads(result.stdout)
    return out


def errors_of(out: dict[str, object]) -> list[str]:
    texts = []
    for name in ("set", "get", "delete", "check"):
        entry = out[name]
        assert isinstance(entry, dict), f"{name} did not fail: {entry}"
        assert entry["exit_code"] == EXIT_USAGE
        texts.append(entry["error"])
    return texts


def test_account_names() -> None:
    assert token_account("lab") == "token:lab"
    assert llm_account("lab") == "llm-key:lab"
    assert SERVICE == "argus-tui"


# --- a real Secret Service -------------------------------------------------------------


@secretservice
def test_store_and_read_back(
    store: SecretStore, secret_service_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store.set(token_account("rt"), Secret(VALUE))
    assert store.get(token_account("rt")) == Secret(VALUE)
    assert lookup(secret_service_env, "token:rt") == VALUE
    assert VALUE not in caplog.text


@secretservice
def test_missing_entry_reads_as_none(store: SecretStore) -> None:
    assert store.get(token_account("never-stored")) is None


@secretservice
def test_overwrite_keeps_one_entry(store: SecretStore, secret_service_env: dict[str, str]) -> None:
    store.set(token_account("ow"), Secret("first"))
    store.set(token_account("ow"), Secret("second"))
    assert store.get(token_account("ow")) == Secret("second")
    assert lookup(secret_service_env, "token:ow") == "second"
    found = secret_tool(
        secret_service_env, "search", "--all", "service", SERVICE, "username", "token:ow"
    )
    assert found.stdout.count("secret = ") == 1, found.stdout


@secretservice
def test_delete(store: SecretStore, secret_service_env: dict[str, str]) -> None:
    store.set(token_account("del"), Secret(VALUE))
    assert store.delete(token_account("del")) is True
    assert store.get(token_account("del")) is None
    assert lookup(secret_service_env, "token:del") is None


@secretservice
def test_delete_missing_returns_false(store: SecretStore) -> None:
    assert store.delete(token_account("nothing-here")) is False


@secretservice
def test_profiles_are_isolated(store: SecretStore, secret_service_env: dict[str, str]) -> None:
    store.set(token_account("iso-a"), Secret("secret-a"))
    store.set(token_account("iso-b"), Secret("secret-b"))
    store.set(llm_account("iso-a"), Secret("llm-a"))
    assert store.get(token_account("iso-a")) == Secret("secret-a")
    assert store.get(token_account("iso-b")) == Secret("secret-b")
    assert store.get(llm_account("iso-a")) == Secret("llm-a")
    assert store.delete(token_account("iso-a")) is True
    assert store.get(token_account("iso-a")) is None
    assert lookup(secret_service_env, "token:iso-b") == "secret-b"
    assert lookup(secret_service_env, "llm-key:iso-a") == "llm-a"


@secretservice
def test_reads_an_entry_made_by_secret_tool(
    store: SecretStore, secret_service_env: dict[str, str]
) -> None:
    made = secret_tool(
        secret_service_env,
        *("store", "--label", "argus test", "service", SERVICE, "username", "token:ext"),
        stdin="from-secret-tool",
    )
    assert made.returncode == 0, made.stderr
    assert store.get(token_account("ext")) == Secret("from-secret-tool")


@secretservice
def test_check_and_describe_on_a_working_service(store: SecretStore) -> None:
    store.check()
    assert store.describe() == "SecretService Keyring"


@secretservice
def test_default_backend_is_the_secret_service(
    secret_service_env: dict[str, str], tmp_path: Path
) -> None:
    """SecretStore() finds the Secret Service by itself (in a fresh process)."""
    env = dict(clean_env(tmp_path), **{BUS: secret_service_env[BUS]})
    out = run_probe(env)
    assert out["describe"] == "SecretService Keyring"
    assert out["set"] == "None"
    assert out["get"] == "Secret('****')"
    assert out["delete"] == "True"
    assert out["check"] == "None"


# keyring's SecretService backend leaves its D-Bus connection open when unlocking fails;
# collect it here so the ResourceWarning lands (ignored) in the test that caused it.
leaks_dbus_socket = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


@secretservice
@leaks_dbus_socket
def test_locked_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    with keyring_session("locked") as env:
        monkeypatch.setenv(BUS, env[BUS])
        store = SecretStore(SecretService.Keyring())
        for call in (
            store.check,
            lambda: store.get(token_account("lab")),
            lambda: store.set(token_account("lab"), Secret(VALUE)),
        ):
            with pytest.raises(SecretStoreError) as caught:
                call()
            text = str(caught.value)
            assert "SecretService Keyring is locked and could not be unlocked" in text
            assert "ARGUS_TOKEN_SECRET" in text
            assert VALUE not in text
        assert lookup(env, "token:lab") is None
        gc.collect()


@secretservice
@leaks_dbus_socket
def test_keyring_that_was_never_unlocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """gnome-keyring runs but has no login keyring; creating one needs a prompt."""
    with keyring_session("no-unlock") as env:
        monkeypatch.setenv(BUS, env[BUS])
        store = SecretStore(SecretService.Keyring())
        with pytest.raises(SecretStoreError) as caught:
            store.set(token_account("lab"), Secret(VALUE))
        text = str(caught.value)
        assert "cannot open or create its keyring" in text
        assert "Prompt dismissed" in text
        assert "gnome-keyring-daemon --unlock" in text
        assert VALUE not in text
        assert caught.value.__cause__ is None and caught.value.__context__ is None
        del caught
        gc.collect()


# --- no keyring, misconfigured keyring -----------------------------------------------------


def test_no_backend_on_an_ssh_host(tmp_path: Path) -> None:
    out = run_probe(clean_env(tmp_path))
    assert "no OS keyring is available in this session" in str(out["describe"])
    for text in errors_of(out):
        assert "no OS keyring is available in this session" in text
        assert "DBUS_SESSION_BUS_ADDRESS is unset: no D-Bus session bus" in text
        assert "set ARGUS_TOKEN_SECRET for this session" in text
        assert "dbus-run-session" in text and "gnome-keyring-daemon --unlock" in text
        assert "never falls back to storing secrets in a file" in text
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert written == [], f"files written under HOME: {written}"


@pytest.mark.parametrize(
    ("backend", "cause"),
    [
        ("no.such.Backend", "ModuleNotFoundError"),
        ("keyring.backends.SecretService.Keyring", "RuntimeError"),
    ],
)
def test_misconfigured_backend_variable(tmp_path: Path, backend: str, cause: str) -> None:
    out = run_probe(clean_env(tmp_path, PYTHON_KEYRING_BACKEND=backend))
    assert f"PYTHON_KEYRING_BACKEND={backend} cannot be used ({cause}" in str(out["describe"])
    for text in errors_of(out):
        assert f"PYTHON_KEYRING_BACKEND={backend} cannot be used ({cause}" in text
        assert "unset PYTHON_KEYRING_BACKEND" in text
        assert "ARGUS_TOKEN_SECRET" in text


def test_dead_bus_is_a_dbus_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A stale DBUS_SESSION_BUS_ADDRESS (e.g. from an ended session in tmux)."""
    monkeypatch.setenv(BUS, f"unix:path={tmp_path}/gone")
    store = SecretStore(SecretService.Keyring())
    with pytest.raises(SecretStoreError) as caught:
        store.set(token_account("lab"), Secret(VALUE))
    text = str(caught.value)
    assert text.startswith("Cannot store token:lab in the OS keyring: D-Bus error")
    assert f"DBUS_SESSION_BUS_ADDRESS=unix:path={tmp_path}/gone" in text
    assert VALUE not in text


# --- backends that misbehave (fakes) -------------------------------------------------------


class FakeBackend:
    """An in-memory backend; `error` is raised from every call when set."""

    def __init__(self, error: Exception | None = None) -> None:
        self.entries: dict[tuple[str, str], str] = {}
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        if self.error:
            raise self.error
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.error:
            raise self.error
        self.entries[service, username] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.error:
            raise self.error
        if self.entries.pop((service, username), None) is None:
            raise keyring_errors.PasswordDeleteError("No such password!")


def test_fake_backend_round_trip() -> None:
    backend = FakeBackend()
    store = SecretStore(backend)
    store.set(token_account("a"), Secret(VALUE))
    assert backend.entries == {(SERVICE, "token:a"): VALUE}
    assert store.get(token_account("a")) == Secret(VALUE)
    assert store.delete(token_account("a")) is True
    assert store.delete(token_account("a")) is False
    assert store.describe() == "FakeBackend"


def test_default_backend_is_looked_up_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def get_keyring() -> FakeBackend:
        calls.append(1)
        return FakeBackend()

    monkeypatch.setattr("keyring.get_keyring", get_keyring)
    store = SecretStore()
    assert calls == []
    store.check()
    assert calls == [1]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (keyring_errors.NoKeyringError("none"), "no OS keyring is available in this session"),
        (keyring_errors.KeyringLocked("Failed to unlock"), "is locked and could not be unlocked"),
        (keyring_errors.InitError("Prompt dismissed"), "cannot open or create its keyring"),
        (secretstorage.exceptions.SecretServiceNotAvailableException("gone"), "D-Bus error"),
        (RuntimeError("boom"), "the FakeBackend failed (RuntimeError: boom)"),
    ],
    ids=["no-keyring", "locked", "init", "dbus", "other"],
)
def test_backend_errors_become_secret_store_errors(error: Exception, expected: str) -> None:
    store = SecretStore(FakeBackend(error))
    with pytest.raises(SecretStoreError) as caught:
        store.get(token_account("lab"))
    assert caught.value.message.startswith("Cannot read token:lab from the OS keyring: ")
    assert expected in str(caught.value)
    assert "ARGUS_TOKEN_SECRET" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == EXIT_USAGE


def test_a_failed_write_never_shows_the_secret() -> None:
    store = SecretStore(FakeBackend(ValueError(f"cannot encode {VALUE!r}")))
    with pytest.raises(SecretStoreError) as caught:
        store.set(token_account("lab"), Secret(VALUE))
    assert str(caught.value).startswith(
        "Cannot store token:lab in the OS keyring: the FakeBackend failed (ValueError)"
    )
    # No link to the backend frames, whose locals hold the plain value.
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert VALUE not in repr(caught.value) + str(caught.value.args)


def test_dbus_error_text_is_scrubbed_of_the_secret() -> None:
    error = secretstorage.exceptions.SecretStorageException(f"bad value {VALUE}")
    with pytest.raises(SecretStoreError) as caught:
        SecretStore(FakeBackend(error)).set(token_account("lab"), Secret(VALUE))
    assert "bad value ****" in str(caught.value)
    assert VALUE not in str(caught.value)


def test_delete_failure_of_an_existing_entry_is_an_error() -> None:
    class Stuck(FakeBackend):
        def delete_password(self, service: str, username: str) -> None:
            raise keyring_errors.PasswordDeleteError("Can't delete password in keychain")

    backend = Stuck()
    backend.entries[SERVICE, "token:lab"] = VALUE
    with pytest.raises(SecretStoreError, match="Can't delete password in keychain"):
        SecretStore(backend).delete(token_account("lab"))


def test_fail_backend_means_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BUS, raising=False)
    store = SecretStore(fail.Keyring())
    assert store.describe().startswith("No usable OS keyring: no OS keyring is available")
    with pytest.raises(SecretStoreError, match="set ARGUS_TOKEN_SECRET for this session"):
        store.check()


def test_null_backend_is_refused() -> None:
    with pytest.raises(SecretStoreError, match="keyring is disabled"):
        SecretStore(null.Keyring()).set(token_account("lab"), Secret(VALUE))


def test_file_backend_is_refused() -> None:
    plaintext = type("PlaintextKeyring", (FakeBackend,), {"__module__": "keyrings.alt.file"})
    backend = plaintext()
    with pytest.raises(SecretStoreError, match="keeps secrets in a file"):
        SecretStore(backend).set(token_account("lab"), Secret(VALUE))
    assert backend.entries == {}


# --- the Secret wrapper ------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    secret = Secret(VALUE)
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>60}", format(secret)]
    assert all(VALUE not in text for text in shown), shown
    assert VALUE not in repr([secret]) + repr({"k": secret})
    assert secret.reveal() == VALUE


def test_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(VALUE))
