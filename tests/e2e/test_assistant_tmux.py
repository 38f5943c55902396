"""The assistant pane in the real `argus --demo`, in tmux, against a local
OpenAI-compatible server (tests/llm/fake_llm.py, real HTTP with SSE streaming).

A new user's path: open the tasks screen, show failed tasks only (`f`), press `a`,
take the suggested first question, read the answer, ask a follow-up."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.test_tui_tmux import TASKS, Pane, clean_env, on_screen, quit_cleanly, run_tui
from tests.llm.fake_llm import FakeLLM, fake_llm

__all__ = ["clean_env", "fake_llm", "run_tui"]  # fixtures used below

FAILED_LOG_LINE = "Could not open '/dev/pve/vm-105-disk-0': No such file or directory"


def test_ask_why_the_failed_task_failed_and_follow_up(
    run_tui: Callable[..., Pane],
    fake_llm: FakeLLM,
) -> None:
    env = {"ARGUS_LLM_BASE_URL": fake_llm.url, "ARGUS_LLM_MODEL": fake_llm.model}
    pane = run_tui("--demo", env=env)
    pane.wait("DEMO", what="the demo")
    pane.keys("4")
    pane.wait(on_screen(TASKS, "qmstart"), what="tasks")
    pane.keys("f")  # failed tasks only: the cursor is on the failed start of 105
    pane.wait(lambda s: "start failed" in s and "vzdump" not in s, what="failed only")
    pane.keys("a")
    pane.wait("Why did task qmstart 105 on pve-c fail?", what="the suggested question")
    pane.keys("Tab")
    pane.keys("Enter")
    screen = pane.wait("QEMU could not open its disk", timeout=15, what="the answer")
    assert "suggested: Start ledger-batch (105)" in screen
    sent = fake_llm.sent_text()
    assert FAILED_LOG_LINE in sent
    assert "d3m0" not in sent  # the demo token's secret never leaves

    fake_llm.answer = "Restore vm-105-disk-0 from last night's backup, then start it."
    pane.type("How do I fix it?")
    pane.keys("Enter")
    pane.wait("last night's backup", timeout=15, what="the follow-up answer")
    roles = [m["role"] for m in fake_llm.last_request["messages"]]
    assert roles[:4] == ["system", "user", "assistant", "user"]
    pane.keys("Escape")  # closes the pane
    pane.wait(lambda s: "How do I fix it?" not in s, what="pane closed")
    quit_cleanly(pane)


def test_a_bad_assistant_setting_turns_only_the_assistant_off(
    run_tui: Callable[..., Pane],
) -> None:
    env = {
        "ARGUS_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "ARGUS_LLM_MODEL": "m",
        "ARGUS_LLM_TIMEOUT": "soon",
    }
    pane = run_tui("--demo", env=env)
    pane.wait("DEMO", what="the demo runs")
    pane.keys("a")
    screen = pane.wait("ARGUS_LLM_TIMEOUT", what="the problem, in the pane")
    assert "Assistant  off" in screen
    pane.keys("Escape")  # wait for it to close: Esc then a key at once reads as alt+key
    pane.wait(lambda s: "Assistant  off" not in s, what="the pane closed")
    quit_cleanly(pane)
