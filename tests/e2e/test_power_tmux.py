"""Power control in a real terminal: `argus --demo` in tmux, start a stopped guest.

Same approach as test_tui_tmux.py: a private tmux server per test (`tmux -L`), the
command run as `CMD; echo EXIT=$?; sleep 5`, skipped without tmux unless CI=1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.tmux_pane import ARGUS, Pane, power_keys, require_tmux

pytestmark = pytest.mark.e2e

TMUX = require_tmux()

GUEST_ROW = re.compile(r"^[ ●]\s+(\d{3,4}) (\S+)")
GUESTS = re.compile(r"(?m)^\s*VMID\b.*\bNAME\b")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Pane]:
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The code under test, when it is not the installed copy (a checkout on PYTHONPATH).
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }
    pane = Pane([*ARGUS, "--demo"], env, tmp_path, "power")
    yield pane
    pane.kill()


def footer(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-1]


def status_line(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-2]


def row_of(screen: str, vmid: int) -> str:
    """The table row of `vmid`, or "" when it is not on screen."""
    for line in screen.splitlines():
        match = GUEST_ROW.match(line)
        if match and match.group(1) == str(vmid):
            return line
    return ""


def test_start_a_stopped_guest(demo: Pane) -> None:
    demo.wait(lambda s: GUESTS.search(s) is not None and "ci-runner-03" in s, "guests")
    demo.keys("/")
    demo.wait(lambda s: "filter: text" in s, "the filter input")
    demo.type("ci-runner")
    demo.wait(lambda s: "gw-edge-01" not in s and "stopped" in row_of(s, 110), "only 110")
    demo.keys("Enter")  # keeps the filter, focus back on the table

    screen = demo.wait(lambda s: "S" in power_keys(footer(s)), "Start in the footer")
    keys = power_keys(footer(screen))
    assert not keys & {"K", "D", "U"}, footer(screen)  # no Stop, Shutdown, Resume

    demo.keys("S")
    screen = demo.wait(
        lambda s: "Start ci-runner-03: done" in status_line(s), "done in the status line"
    )
    screen = demo.wait(lambda s: "running" in row_of(s, 110), "110 running", timeout=8)
    screen = demo.wait(lambda s: "K" in power_keys(footer(s)), "Stop in the footer")
    assert "S" not in power_keys(footer(screen)), footer(screen)

    demo.keys("q")
    screen = demo.wait(lambda s: "EXIT=" in s, "exit")
    assert "EXIT=0" in screen, screen
