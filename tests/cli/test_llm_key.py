"""`argus llm-key` with a real Secret Service: the key lands in the keyring, `argus ask`
sends it, the environment overrides it, and --delete and logout remove it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import sim_env
from tests.keyring_env import keyring_session, lookup
from tests.llm.fake_llm import DEFAULT_ANSWER, FakeLLM

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]
KEY = "sk-keyring-0123456789abcdefghijkl"
pytestmark = pytest.mark.secretservice


@pytest.fixture(scope="module")
def keyring_env() -> Iterator[dict[str, str]]:
    with keyring_session("unlocked") as env:
        yield env


def argus(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, *args], env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_llm_key_is_stored_used_overridden_and_removed(
    sim: Simulator, fake_llm: FakeLLM, keyring_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in keyring_env.items() if not k.startswith(("ARGUS_", "OPENAI_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    login = argus(
        ["login", "--profile", "lab", "--host", f"127.0.0.1:{sim.port}", "--token-id",
         sim.token_id, "--secret-stdin", "--fingerprint", sim.fingerprint],
        env, tmp_path, stdin=sim.token_secret + "\n",
    )  # fmt: skip
    assert login.returncode == 0, login.stderr

    stored = argus(["llm-key", "--stdin"], env, tmp_path, stdin=KEY + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "profile 'lab'" in stored.stdout and KEY not in stored.stdout + stored.stderr
    assert lookup(env, "llm-key:lab") == KEY
    config = (tmp_path / "config" / "argus" / "config.toml").read_text()
    assert KEY not in config

    asking = dict(env, ARGUS_LLM_BASE_URL=fake_llm.url, ARGUS_LLM_MODEL=fake_llm.model)
    answer = argus(["ask", "--vmid", "105", "why?"], asking, tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout == DEFAULT_ANSWER
    assert fake_llm.auth[-1] == f"Bearer {KEY}"
    assert KEY not in str(fake_llm.requests)

    override = argus(["ask", "why?"], dict(asking, ARGUS_LLM_API_KEY="sk-from-env-xyz"), tmp_path)
    assert override.returncode == 0 and fake_llm.auth[-1] == "Bearer sk-from-env-xyz"

    removed = argus(["llm-key", "--delete"], env, tmp_path)
    assert removed.returncode == 0 and "Removed" in removed.stdout
    assert lookup(env, "llm-key:lab") is None
    again = argus(["llm-key", "--delete"], env, tmp_path)
    assert again.returncode == 0 and "No assistant API key" in again.stdout

    assert argus(["llm-key", "--stdin"], env, tmp_path, stdin=KEY).returncode == 0
    assert argus(["logout", "--profile", "lab"], env, tmp_path).returncode == 0
    assert lookup(env, "llm-key:lab") is None and lookup(env, "token:lab") is None


def test_ask_without_any_key_sends_the_placeholder(
    sim: Simulator, fake_llm: FakeLLM, keyring_env: dict[str, str], tmp_path: Path
) -> None:
    env = sim_env(
        sim,
        tmp_path,
        DBUS_SESSION_BUS_ADDRESS=keyring_env["DBUS_SESSION_BUS_ADDRESS"],
        ARGUS_LLM_BASE_URL=fake_llm.url,
        ARGUS_LLM_MODEL=fake_llm.model,
    )
    result = argus(["ask", "why?"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake_llm.auth[-1] == "Bearer not-needed"  # a local server needs no key
