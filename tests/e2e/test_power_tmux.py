"""Power control in a real terminal: `argus --demo` in tmux, start a stopped guest.

Same approach as test_tui_tmux.py: a private tmux server per test (`tmux -L`), the
command run as `CMD; echo EXIT=$?; sleep 5`, skipped without tmux unless CI=1.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

TMUX = shutil.which("tmux")
if TMUX is None:
    if os.environ.get("CI") == "1":
        raise RuntimeError("tmux is required for the e2e tests when CI=1 (apt-get install tmux)")
    pytest.skip(
        "tmux is not installed (apt-get install tmux); e2e tests skipped", allow_module_level=True
    )

_SCRIPT = Path(sys.executable).with_name("argus")
ARGUS = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "argus_tui"]
GUEST_ROW = re.compile(r"^[ ●]\s+(\d{3,4}) (\S+)")
GUESTS = re.compile(r"(?m)^\s*VMID\b.*\bNAME\b")


class Pane:
    """One tmux session on a private server, running one command."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.socket = f"argus-power-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.config = workdir / f"{self.socket}.conf"
        self.config.write_text("set -g remain-on-exit on\nset -g history-limit 5000\n")
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
        shell = f"env -i {assignments} {shlex.join(command)}; echo EXIT=$?; sleep 5"
        self._tmux("new-session", "-d", "-s", "argus", "-x", "160", "-y", "45", shell)

    def _tmux(self, *args: str) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args[:2])} failed: {result.stderr.strip()}")
        return result.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "argus")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "argus", *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", "argus", "-l", text)

    def wait(self, check: Callable[[str], bool], what: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if check(screen):
                return screen
            time.sleep(0.05)
        if "EXIT=" in screen:
            screen = self._tmux("capture-pane", "-p", "-S", "-", "-t", "argus")
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run(
            [str(TMUX), "-L", self.socket, "kill-server"], capture_output=True, timeout=10
        )


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
    pane = Pane([*ARGUS, "--demo"], env, tmp_path)
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

    screen = demo.wait(lambda s: "S Start" in footer(s), "Start in the footer")
    keys = footer(screen)
    assert "Stop" not in keys and "Shutdown" not in keys and "Resume" not in keys, keys

    demo.keys("S")
    screen = demo.wait(
        lambda s: "Start ci-runner-03: done" in status_line(s), "done in the status line"
    )
    screen = demo.wait(lambda s: "running" in row_of(s, 110), "110 running", timeout=8)
    screen = demo.wait(lambda s: "K Stop" in footer(s), "Stop in the footer")
    assert "S Start" not in footer(screen), footer(screen)

    demo.keys("q")
    screen = demo.wait(lambda s: "EXIT=" in s, "exit")
    assert "EXIT=0" in screen, screen
