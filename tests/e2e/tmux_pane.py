"""One tmux session on a private server running one command: the e2e tests' terminal.

Shared by the end-to-end tests that drive the real `argus` in tmux with send-keys and
capture-pane.
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
from collections.abc import Callable
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
_SCRIPT = Path(sys.executable).with_name("argus")
ARGUS = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "argus_tui"]


def require_tmux() -> str:
    """tmux's path. Without tmux an e2e module is skipped, and fails under CI=1, where a
    skip would hide the tests."""
    if TMUX is None:
        if os.environ.get("CI") == "1":
            raise RuntimeError(
                "tmux is required for the e2e tests when CI=1 (apt-get install tmux)"
            )
        pytest.skip(
            "tmux is not installed (apt-get install tmux); e2e tests skipped",
            allow_module_level=True,
        )
    return TMUX


class Pane:
    """One tmux session on a private server, running one command."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        workdir: Path,
        name: str = "e2e",
        after: str = "",
    ) -> None:
        """`after` is a shell command run in the same terminal once `command` has exited
        (after `echo EXIT=$?`), e.g. `stty -a` to see the state it left the terminal in."""
        self.socket = f"argus-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.config = workdir / f"{self.socket}.conf"
        self.config.write_text("set -g remain-on-exit on\nset -g history-limit 5000\n")
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
        then = f"; {after}" if after else ""
        shell = f"env -i {assignments} {shlex.join(command)}; echo EXIT=$?{then}; sleep 5"
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

    def resize(self, columns: int, rows: int) -> None:
        """Resize the window, as a user resizing their terminal would."""
        self._tmux("resize-window", "-t", "argus", "-x", str(columns), "-y", str(rows))

    def pid(self) -> int:
        """The process id of the command (the child of the pane's shell)."""
        shell = int(self._tmux("display-message", "-p", "-t", "argus", "#{pane_pid}"))
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == shell:
                return int(stat.parent.name)
        raise AssertionError(f"no process runs under the pane's shell {shell}")

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


_LABELLED_POWER = re.compile(
    r"(?<!\S)([A-Z]) (?:Start|Shutdown|Stop|Reboot|Reset|Suspend|Hibernate|Resume)\b"
)
_GROUPED_POWER = re.compile(r"((?:(?<!\S)[A-Z] )+)Power\b")


def power_keys(footer: str) -> set[str]:
    """The power keys a footer line offers, labelled (`K Stop`) or, on a narrow terminal,
    grouped (`D K R Power`)."""
    keys = set(_LABELLED_POWER.findall(footer))
    for group in _GROUPED_POWER.findall(footer):
        keys.update(group.split())
    return keys
