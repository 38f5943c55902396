"""`argus ask` through the real binary: the demo simulator over HTTPS, the fake model
server over HTTP with SSE. Output, what was sent, exit codes and one-line errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.helpers import one_clear_line as shared_one_clear_line
from tests.cli.helpers import sim_env
from tests.llm.fake_llm import DEFAULT_ANSWER, FakeLLM, closed_port

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]
LLM_KEY = "sk-cli-test-0123456789abcdefghij"
FAILED_LOG_LINE = "Could not open '/dev/pve/vm-105-disk-0': No such file or directory"


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def env_for(sim: Simulator, tmp_path: Path, fake: FakeLLM | None, **extra: str) -> dict[str, str]:
    """No real config, keyring or history; the simulator's token; the fake model."""
    if fake is not None:
        extra = {"ARGUS_LLM_BASE_URL": fake.url, "ARGUS_LLM_MODEL": fake.model,
                 "ARGUS_LLM_API_KEY": LLM_KEY, **extra}  # fmt: skip
    return sim_env(sim, tmp_path, **extra)


def one_clear_line(result: subprocess.CompletedProcess[str], code: int, text: str) -> str:
    return shared_one_clear_line(result, code, text, never=(LLM_KEY,))


def test_ask_streams_the_answer_about_the_failed_guest(
    sim: Simulator, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    env = env_for(sim, tmp_path, fake_llm)
    result = run(["ask", "--vmid", "105", "Why won't ledger-batch start?"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == DEFAULT_ANSWER and result.stderr == ""
    sent = fake_llm.sent_text()
    assert FAILED_LOG_LINE in sent and "Question: Why won't ledger-batch start?" in sent
    bodies = str(fake_llm.requests)
    assert sim.token_secret not in bodies and LLM_KEY not in bodies
    assert fake_llm.auth == [f"Bearer {LLM_KEY}"]
    # journaled without texts or secrets
    db = tmp_path / "data" / "argus" / "history.db"
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT profile, model, question, context_chars, answer_chars, outcome FROM exchanges"
        ).fetchall()
        dump = "\n".join(conn.iterdump())
    assert len(rows) == 1
    profile, model, question, context_chars, answer_chars, outcome = rows[0]
    assert (model, question, outcome) == (fake_llm.model, "Why won't ledger-batch start?", "ok")
    assert profile == "default"
    assert context_chars > 1000 and answer_chars == len(DEFAULT_ANSWER)
    for never in (sim.token_secret, LLM_KEY, FAILED_LOG_LINE):
        assert never not in dump


def test_not_configured_says_how_and_exits_2(sim: Simulator, tmp_path: Path) -> None:
    result = run(["ask", "--vmid", "105", "why?"], env_for(sim, tmp_path, None), tmp_path)
    line = one_clear_line(result, 2, "the assistant is not configured")
    assert "ARGUS_LLM_BASE_URL" in line and "llm_base_url" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("mode", "code", "words"),
    [
        ("401", 3, "rejected the API key (HTTP 401"),
        ("404", 2, "has no model 'fake-model'"),
        ("429", 1, "is rate limiting requests (HTTP 429"),
        ("500", 1, "failed with HTTP 500"),
        ("hang", 3, "did not answer within 1 s"),
    ],
)
def test_each_model_failure_is_one_clear_line_with_its_exit_code(
    sim: Simulator, fake_llm: FakeLLM, tmp_path: Path, mode: str, code: int, words: str
) -> None:
    fake_llm.mode = mode
    env = env_for(sim, tmp_path, fake_llm, ARGUS_LLM_TIMEOUT="1")
    result = run(["ask", "--vmid", "105", "why?"], env, tmp_path)
    one_clear_line(result, code, words)
    assert result.stdout == ""


def test_a_cut_stream_prints_the_partial_answer_then_the_error(
    sim: Simulator, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    fake_llm.mode = "cut"
    result = run(["ask", "--vmid", "105", "why?"], env_for(sim, tmp_path, fake_llm), tmp_path)
    one_clear_line(result, 1, "the answer was cut off")
    partial = "".join(fake_llm.chunks()[: fake_llm.cut_after])
    assert result.stdout == partial + "\n"


def test_unreachable_model_exits_3(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(
        sim, tmp_path, None, ARGUS_LLM_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1",
        ARGUS_LLM_MODEL="m",
    )  # fmt: skip
    result = run(["ask", "why?"], env, tmp_path)
    one_clear_line(result, 3, "cannot reach the assistant")
    assert "connection refused" in result.stderr


def test_show_context_prints_exactly_what_is_sent(
    sim: Simulator, fake_llm: FakeLLM, tmp_path: Path
) -> None:
    env = env_for(sim, tmp_path, fake_llm)
    result = run(["ask", "--node", "pve-c", "--show-context", "Is it healthy?"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    context, _, rest = result.stdout.partition("\n--- ")
    assert context.startswith("Context from Argus about node pve-c")
    assert rest.split("\n", 1)[1] == DEFAULT_ANSWER
    assert (
        fake_llm.last_request["messages"][1]["content"] == f"{context}\n\nQuestion: Is it healthy?"
    )


def test_context_only_sends_nothing(sim: Simulator, fake_llm: FakeLLM, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, fake_llm)
    result = run(["ask", "--vmid", "105", "--context-only", "x"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert FAILED_LOG_LINE in result.stdout and fake_llm.requests == []
    # works before the assistant is configured, too: see what would be sent
    result = run(["ask", "--context-only", "x"], env_for(sim, tmp_path, None), tmp_path)
    assert result.returncode == 0 and "Context from Argus about the cluster" in result.stdout


def test_ask_about_a_task(sim: Simulator, fake_llm: FakeLLM, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, fake_llm)
    listing = run(["tasks", "--failed", "--json"], env, tmp_path)
    upid = next(t["upid"] for t in json.loads(listing.stdout) if t["id"] == "105")
    result = run(["ask", "--task", upid, "Why did it fail?"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert FAILED_LOG_LINE in fake_llm.sent_text()
    assert "task qmstart 105 on node pve-c" in fake_llm.sent_text()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--vmid", "4242", "why?"], 1, "no guest 4242 visible"),
        (["--node", "nope", "why?"], 1, "no node 'nope'"),
        (["--task", "UPID:bogus", "why?"], 2, "not a Proxmox task id"),
        (["--vmid", "105", "--node", "pve-a", "why?"], 2, "not allowed with argument"),
        (["--vmid", "105", " "], 2, "the question is empty"),
    ],
)
def test_bad_targets(
    sim: Simulator, fake_llm: FakeLLM, tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    result = run(["ask", *args], env_for(sim, tmp_path, fake_llm), tmp_path)
    one_clear_line(result, code, words)
    assert fake_llm.requests == []


def test_llm_key_without_a_keyring_is_a_clear_error(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, None, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    result = subprocess.run(
        [*ARGUS, "llm-key", "--stdin"],
        env=env,
        cwd=tmp_path,
        input="sk-should-not-appear\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    one_clear_line(result, 2, "keyring")
    assert "sk-should-not-appear" not in result.stderr + result.stdout
