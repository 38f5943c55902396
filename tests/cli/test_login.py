"""`argus login/logout/profiles` as a new user runs them, with a real Secret Service.

The secret goes into gnome-keyring (checked with secret-tool), never into config.toml;
wrong secrets and untrusted certificates store nothing; a host without any keyring
gets a clear message before the secret is even asked for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.keyring_env import keyring_session, lookup

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]
pytestmark = pytest.mark.secretservice


@pytest.fixture(scope="module")
def keyring_env() -> Iterator[dict[str, str]]:
    with keyring_session("unlocked") as env:
        yield env


@pytest.fixture
def user_env(keyring_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The keyring's bus, a fresh config dir, and no ARGUS_* settings."""
    env = {k: v for k, v in keyring_env.items() if not k.startswith("ARGUS_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def argus(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def config_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "argus" / "config.toml"


def login_args(sim: Simulator, *extra: str) -> list[str]:
    return ["login", "--host", f"127.0.0.1:{sim.port}", "--token-id", sim.token_id,
            "--secret-stdin", *extra]  # fmt: skip


def test_login_status_profiles_logout(
    sim: Simulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    result = argus(
        login_args(sim, "--profile", "lab", "--fingerprint", sim.fingerprint, "--colour", "red"),
        user_env, tmp_path, stdin=sim.token_secret + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "profile 'lab' saved" in result.stdout and sim.token_secret not in result.stdout
    assert lookup(user_env, "token:lab") == sim.token_secret
    text = config_file(user_env).read_text()
    assert sim.token_secret not in text
    profile = tomllib.loads(text)["profiles"]["lab"]
    assert profile["tls"] == "fingerprint" and profile["fingerprint"] == sim.fingerprint
    assert profile["colour"] == "red"

    status = argus(["status", "--json"], user_env, tmp_path)
    assert status.returncode == 0, status.stderr
    assert len(json.loads(status.stdout)["guests"]) == 25
    doctor = json.loads(argus(["doctor", "--json"], user_env, tmp_path).stdout)
    assert doctor["profile"] == "lab" and doctor["secret_source"] == "keyring"

    listing = json.loads(argus(["profiles", "--json"], user_env, tmp_path).stdout)
    assert [(p["name"], p["default"]) for p in listing] == [("lab", True)]

    out = argus(["logout", "--profile", "lab"], user_env, tmp_path)
    assert out.returncode == 0 and "and its stored secret" in out.stdout
    assert lookup(user_env, "token:lab") is None
    assert "lab" not in tomllib.loads(config_file(user_env).read_text()).get("profiles", {})


def test_trust_on_first_use(sim: Simulator, user_env: dict[str, str], tmp_path: Path) -> None:
    refused = argus(login_args(sim, "--profile", "tofu"), user_env, tmp_path,
                    stdin=sim.token_secret)  # fmt: skip
    assert refused.returncode == 2
    assert sim.fingerprint in refused.stderr  # shown so the user can compare it
    assert "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("argus: refusing to trust")
    assert lookup(user_env, "token:tofu") is None and not config_file(user_env).exists()

    accepted = argus(login_args(sim, "--profile", "tofu", "--yes"), user_env, tmp_path,
                     stdin=sim.token_secret)  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    profile = tomllib.loads(config_file(user_env).read_text())["profiles"]["tofu"]
    assert profile["fingerprint"] == sim.fingerprint


def test_wrong_secret_stores_nothing(
    sim: Simulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    result = argus(login_args(sim, "--profile", "bad", "--fingerprint", sim.fingerprint),
                   user_env, tmp_path, stdin="not-the-secret")  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.startswith("argus: ") and "refused token" in result.stderr
    assert "not-the-secret" not in result.stderr
    assert lookup(user_env, "token:bad") is None and not config_file(user_env).exists()


def test_changed_certificate_after_login(
    make_sim: Callable[..., Simulator], user_env: dict[str, str], tmp_path: Path
) -> None:
    from argus_tui.sim.demo import demo_scenario

    first = make_sim()
    assert argus(login_args(first, "--fingerprint", first.fingerprint), user_env, tmp_path,
                 stdin=first.token_secret).returncode == 0  # fmt: skip
    # The same address now presents another certificate (a re-installed node, or a MITM).
    port = first.port
    first.stop()
    second = Simulator(demo_scenario(), port=port).start()
    try:
        result = argus(["status"], user_env, tmp_path)
        assert result.returncode == 3
        line = result.stderr.strip()
        assert "has changed" in line and first.fingerprint in line and second.fingerprint in line
        assert len(line.splitlines()) == 1
    finally:
        second.stop()


def test_no_keyring_on_an_ssh_host(sim: Simulator, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "DBUS_"))}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    env.pop("PYTHON_KEYRING_BACKEND", None)
    result = argus(login_args(sim, "--fingerprint", sim.fingerprint), env, tmp_path,
                   stdin=sim.token_secret)  # fmt: skip
    assert result.returncode == 2
    assert "no OS keyring is available" in result.stderr and "ARGUS_TOKEN_SECRET" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not config_file(env).exists()
    # What works instead: the secret from the environment.
    env.update(
        ARGUS_HOST=f"127.0.0.1:{sim.port}",
        ARGUS_TOKEN_ID=sim.token_id,
        ARGUS_TOKEN_SECRET=sim.token_secret,
        ARGUS_FINGERPRINT=sim.fingerprint,
    )
    assert argus(["status"], env, tmp_path).returncode == 0


HAND_WRITTEN = """\
# Production first; ask before adding profiles here.
default = "prod"

[profiles.prod]
host = "pve.example.com"   # the VIP
token_id = "argus@pve!tui"
llm_modle = "gpt-4o-mini"

[ui]
interval = 10
intervall = 3   # typo, kept

[history]
raw = "48h"
keep = "forever"
"""


def test_login_and_logout_keep_a_hand_written_file(
    sim: Simulator, user_env: dict[str, str], tmp_path: Path
) -> None:
    path = config_file(user_env)
    path.parent.mkdir(parents=True)
    path.write_text(HAND_WRITTEN)
    result = argus(login_args(sim, "--profile", "lab", "--fingerprint", sim.fingerprint),
                   user_env, tmp_path, stdin=sim.token_secret)  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = result.stderr.splitlines()
    assert len(warnings) == 3 and all(w.startswith("argus: warning: ") for w in warnings)
    assert ["llm_modle" in warnings[0], "intervall" in warnings[1], "keep" in warnings[2]] == [
        True,
        True,
        True,
    ]
    text = path.read_text()
    assert text.startswith(HAND_WRITTEN.split("[ui]")[0])  # comments, order, the typo
    for line in ("intervall = 3   # typo, kept", 'keep = "forever"', 'raw = "48h"'):
        assert line in text
    lab = tomllib.loads(text)["profiles"]["lab"]
    assert lab["host"] == "127.0.0.1" and lab["fingerprint"] == sim.fingerprint

    out = argus(["logout", "--profile", "lab"], user_env, tmp_path)
    assert out.returncode == 0, out.stderr
    assert path.read_text() == HAND_WRITTEN  # back to exactly what the user wrote
