"""Migration in a real terminal: the TUI on the migration cluster (tests/e2e/mig_app.py,
the simulator's clock in real time) in tmux; migrate a guest with `m` and evacuate a node
with `E`, each followed to its end.

Same approach as test_tui_tmux.py: a private tmux server per test (`tmux -L`), the
command run as `CMD; echo EXIT=$?; sleep 5`, skipped without tmux unless CI=1.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.tmux_pane import Pane, require_tmux

pytestmark = pytest.mark.e2e

TMUX = require_tmux()

ROOT = str(Path(__file__).resolve().parents[2])
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
        # The code under test (a checkout on PYTHONPATH) and the tests' scenario.
        "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), ROOT) if p),
    }
    pane = Pane([sys.executable, "-m", "tests.e2e.mig_app"], env, tmp_path, "mig")
    yield pane
    pane.kill()


def footer(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-1]


def status_line(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-2]


def row_of(screen: str, vmid: int) -> str:
    """The table row of `vmid` (without the details panel beside it), or "" when it is
    not on screen."""
    for line in screen.splitlines():
        match = GUEST_ROW.match(line)
        if match and match.group(1) == str(vmid):
            return line.split("▏")[0]
    return ""


def node_row(screen: str, node: str) -> str:
    return next((line for line in screen.splitlines() if line.strip().startswith(node)), "")


def test_migrate_a_guest_then_evacuate_a_node(demo: Pane) -> None:
    demo.wait(lambda s: GUESTS.search(s) is not None and "agentless01" in s, "guests")
    demo.keys("/")
    demo.wait(lambda s: "filter: text" in s, "the filter input")
    demo.type("ct02")
    demo.wait(lambda s: "web01" not in s and "pve-b" in row_of(s, 209), "only 209")
    demo.keys("Enter")
    demo.wait(lambda s: "m Migrate" in footer(s), "Migrate in the footer")
    demo.keys("m")
    screen = demo.wait(lambda s: "Enter: migrate" in s and "free of" in s, "the picker")
    assert "offline (it is not running)" in screen, screen
    demo.keys("Enter")
    screen = demo.wait(lambda s: "Migrate ct02 to" in status_line(s) and "done" in
                       status_line(s), "the migration's end", 60)  # fmt: skip
    demo.wait(lambda s: "pve-b" not in row_of(s, 209) and row_of(s, 209), "209 moved", 15)

    demo.keys("1")
    demo.wait(lambda s: "E Evacuate" in footer(s) and node_row(s, "pve-a"), "the nodes screen")
    demo.keys("E")
    screen = demo.wait(lambda s: "Enter: run the plan" in s and "moves" in s, "the plan", 20)
    assert "Evacuate pve-a" in screen and "-> pve-b" in screen, screen
    assert "usb0" in screen and "overcommit" in screen, screen
    demo.keys("Enter")
    demo.wait(lambda s: "Evacuate pve-a" in status_line(s), "the evacuation running")
    demo.wait(lambda s: "Evacuate pve-a: done" in status_line(s), "the evacuation's end", 180)
    demo.keys("2")
    demo.wait(lambda s: "ct02" in row_of(s, 209), "the guests screen")
    demo.keys("Escape")  # clears the filter
    screen = demo.wait(lambda s: "web01" in s and "pve-a" not in row_of(s, 201), "201 moved", 15)
    assert "pve-a" not in row_of(screen, 203), row_of(screen, 203)
    demo.keys("q")
    screen = demo.wait(lambda s: "EXIT=" in s, "exit")
    assert "EXIT=0" in screen, screen
