"""A real Secret Service for tests: gnome-keyring on a private D-Bus session bus."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest
import secretstorage

TOOLS = ("dbus-daemon", "gnome-keyring-daemon", "secret-tool")
BUS = "DBUS_SESSION_BUS_ADDRESS"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    message = (
        f"Secret Service tests need {', '.join(missing)}: "
        "apt-get install -y gnome-keyring dbus-daemon libsecret-tools"
    )
    if _in_ci():
        pytest.fail(f"{message} (CI=1 is set, so these tests may not be skipped)")
    pytest.skip(message)


@contextmanager
def keyring_session(mode: str) -> Iterator[dict[str, str]]:
    """A private session bus with gnome-keyring in a temp HOME; yields the environment.

    mode "unlocked": the login keyring is created and unlocked (the working setup);
    "locked": created, unlocked, then locked again over D-Bus;
    "no-unlock": the daemon runs but was never given a password.
    """
    _require_tools()
    home = tempfile.mkdtemp(prefix="argus-kr-")
    env = dict(os.environ, HOME=home, XDG_DATA_HOME=f"{home}/.local/share", XDG_RUNTIME_DIR=home)
    env.pop(BUS, None)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    try:
        assert bus.stdout is not None
        address = bus.stdout.readline().strip()
        if not address:
            pytest.fail("dbus-daemon --session printed no bus address")
        env[BUS] = address
        args = ["--start"] if mode == "no-unlock" else ["--unlock"]
        subprocess.run(
            ["gnome-keyring-daemon", *args, "--components=secrets"],
            input="" if mode == "no-unlock" else "test-keyring-pw",
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        if mode == "locked":
            with _bus_env(address), closing(secretstorage.dbus_init()) as conn:
                collection = secretstorage.get_default_collection(conn)
                collection.lock()
                assert collection.is_locked()
        yield env
    finally:
        bus.terminate()  # gnome-keyring-daemon exits with its bus
        bus.wait(10)
        if bus.stdout is not None:
            bus.stdout.close()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _bus_env(address: str) -> Iterator[None]:
    saved = os.environ.get(BUS)
    os.environ[BUS] = address
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(BUS, None)
        else:
            os.environ[BUS] = saved


def lookup(env: dict[str, str], account: str) -> str | None:
    """What Argus stored for `account`, read back with secret-tool (None when nothing)."""
    result = subprocess.run(
        ["secret-tool", "lookup", "service", "argus-tui", "username", account],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return result.stdout if result.returncode == 0 else None
