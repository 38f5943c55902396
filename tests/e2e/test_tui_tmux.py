"""The real `argus` binary in a real terminal: tmux runs it, we type keys and read the screen.

Each test starts its own tmux server on a private socket (`tmux -L`), so nothing here
touches a tmux the developer is running, and tears the server down afterwards. The
command runs as `env -i ... argus ...; echo EXIT=$?; sleep 5` with `remain-on-exit` on, so
the exit code (and any traceback) stays readable on the pane after the app has quit.
Waits poll the screen with a deadline; there are no fixed sleeps before assertions.

Skipped when tmux is missing, unless CI=1 is set: then a missing tmux is a failure.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.e2e.tmux_pane import ARGUS, require_tmux

pytestmark = pytest.mark.e2e

TMUX = require_tmux()

# Outside any tmux the developer may be running the tests in.
TMUX_ENV = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}

# The console script next to the interpreter running the tests (the venv's `argus`).

# Guest rows start with the mark column, then a right-aligned VMID.
GUEST_ROW = re.compile(r"^[ ●]\s+(\d{3,4}) (\S+)")
# Table headers tell the screens apart (the previous screen may still be showing).
# Columns give way on narrow terminals, so only the leading ones are relied on.
NODES = re.compile(r"(?m)^\s*NODE\s+STATUS\s+CPU")
GUESTS = re.compile(r"(?m)^\s*VMID\b.*\bNAME\b")
TASKS = re.compile(r"(?m)^\s*STARTED\s+NODE\b")
# A row of the help box: "│ key   description   │" (a scrollbar may follow the words).
HELP_ROW = re.compile(r"│ (\S+)\s{2,}(\S+(?: \S+)*)")


class Pane:
    """One tmux session running one command on a private tmux server."""

    def __init__(
        self, command: list[str], env: dict[str, str], width: int, height: int, workdir: Path
    ) -> None:
        self.socket = f"argus-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.name = "argus"
        # The pane stays after the command ends, so a crash can still be read.
        self.config = workdir / f"{self.socket}.conf"
        self.config.write_text("set -g remain-on-exit on\nset -g history-limit 5000\n")
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
        shell = f"env -i {assignments} {shlex.join(command)}; echo EXIT=$?; sleep 5"
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), shell)

    def _tmux(self, *args: str) -> str:
        assert TMUX is not None
        result = subprocess.run(
            [TMUX, "-L", self.socket, "-f", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=10,
            env=TMUX_ENV,
        )
        if result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args[:2])} failed: {result.stderr.strip()}")
        return result.stdout

    def screen(self, styled: bool = False) -> str:
        """The visible text; `styled` keeps the colour escape sequences (to see focus)."""
        return self._tmux("capture-pane", "-p", *(["-e"] if styled else []), "-t", self.name)

    def scrollback(self) -> str:
        """Everything the pane printed, history included (tracebacks after a crash)."""
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", self.name)

    def keys(self, *keys: str) -> None:
        """tmux key names: Enter, Escape, Down, C-r, or single characters."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        """Literal text, one key per character."""
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def wait(
        self,
        condition: Callable[[str], bool] | str,
        timeout: float = 8.0,
        what: str = "",
        styled: bool = False,
    ) -> str:
        """Poll the screen until `condition` holds (or the text appears); return that screen."""
        check = (lambda s: condition in s) if isinstance(condition, str) else condition
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen(styled)
            if check(screen):
                return screen
            time.sleep(0.05)
        label = what or (condition if isinstance(condition, str) else "condition")
        if "EXIT=" in screen:  # the app has ended: show what it printed on the way out
            screen = self.scrollback()
        raise AssertionError(f"timed out after {timeout}s waiting for {label!r}; screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run(
            [str(TMUX), "-L", self.socket, "kill-server"],
            capture_output=True,
            timeout=10,
            env=TMUX_ENV,
        )
        # tmux may leave the socket file behind.
        base = Path(TMUX_ENV.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (base / self.socket).unlink(missing_ok=True)


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """No real config, no keyring, no ARGUS_* from the developer's shell."""
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
    (tmp_path / "config").mkdir()
    return env


@pytest.fixture
def run_tui(clean_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    panes: list[Pane] = []

    def start(
        *args: str, width: int = 160, height: int = 45, env: dict[str, str] | None = None
    ) -> Pane:
        pane = Pane([*ARGUS, *args], {**clean_env, **(env or {})}, width, height, tmp_path)
        panes.append(pane)
        return pane

    yield start
    for pane in panes:
        pane.kill()


def guest_names(screen: str) -> list[str]:
    return [m.group(2) for line in screen.splitlines() if (m := GUEST_ROW.match(line))]


def status_line(screen: str) -> str:
    """The line above the footer."""
    lines = screen.rstrip("\n").splitlines()
    return lines[-2] if len(lines) >= 2 else ""


def filter_box(styled: str) -> str:
    """The line of the guests filter box, escape sequences included."""
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in styled.splitlines()]
    return next(
        (
            line
            for line, text in zip(styled.splitlines(), plain, strict=True)
            if re.match(r"\S?\s+pg\s", text)  # the box's left border, then the text
        ),
        "",
    )


def on_screen(pattern: re.Pattern[str], *texts: str) -> Callable[[str], bool]:
    return lambda s: pattern.search(s) is not None and all(t in s for t in texts)


def help_keys(screen: str) -> dict[str, str]:
    """Description by key, from the rows of the help box."""
    return {m.group(1): m.group(2) for line in screen.splitlines() if (m := HELP_ROW.search(line))}


def quit_cleanly(pane: Pane) -> None:
    pane.keys("q")
    pane.wait("EXIT=", timeout=8)
    assert "EXIT=0" in pane.screen(), pane.screen()


# -- (a) the demo at 160x45 -------------------------------------------------------------------


def test_demo_tour_160x45(run_tui: Callable[..., Pane]) -> None:
    pane = run_tui("--demo")
    screen = pane.wait(on_screen(GUESTS, "pg-primary", "DEMO"), timeout=10, what="guests")
    assert "DEMO" in status_line(screen)
    names = guest_names(screen)
    assert len(names) == 25 and {"pg-primary", "pg-replica", "ledger-batch"} <= set(names)
    assert any(name.startswith("tmpl-debian-1") for name in names), names
    footer = screen.rstrip("\n").splitlines()[-1]
    for label in ("/ Filter", "? Help", "q Quit"):
        assert label in footer, footer
    header = screen.splitlines()[0]  # the screens, as keys, on the right of the header
    for label in ("1 Nodes", "2 Guests", "4 Tasks", "5 Changes"):
        assert label in header, header

    pane.keys("1")
    screen = pane.wait(on_screen(NODES, "pve-a", "pve-b", "pve-c"), what="nodes screen")
    assert not GUESTS.search(screen)

    pane.keys("4")
    screen = pane.wait(on_screen(TASKS, "qmstart"), what="tasks screen")
    failed = next(ln for ln in screen.splitlines() if "qmstart" in ln)
    assert re.search(r"pve-c\s+qmstart\s+105\s.*start failed: QEMU exited", failed), failed
    assert "1 failed task in 24 h" in screen

    pane.keys("2")
    pane.wait(on_screen(GUESTS, "gw-edge-01"), what="guests again")
    pane.keys("/")
    pane.wait("filter: text", what="filter input")
    pane.type("pg")
    pane.wait(lambda s: sorted(guest_names(s)) == ["pg-primary", "pg-replica"], what="pg filter")
    # Enter keeps the filter and gives the focus back to the table. Only colours show the
    # focus move (the box loses its cursor), and keys typed before it lands would still go
    # into the box, so wait for it.
    box = filter_box(pane.screen(styled=True))
    pane.keys("Enter")
    pane.wait(lambda s: filter_box(s) != box, what="focus leaves the filter box", styled=True)
    pane.type("j")  # moves the table's cursor; the filter stays "pg"
    time.sleep(0.3)  # (a negative check: give a wrong re-filter time to show)
    assert sorted(guest_names(pane.screen())) == ["pg-primary", "pg-replica"]

    pane.type("?")
    screen = pane.wait("Keys on this screen", what="help")
    expected = {"/": "Filter", "s": "Sort", "space": "Mark", "d": "Details", "1": "Nodes"}
    expected |= {"4": "Tasks", ":": "Command", "?": "Help", "q": "Quit"}
    keys = help_keys(screen)
    pane.keys("End")  # the list can be longer than the box: read the rest too

    def collected(screen: str) -> bool:
        keys.update(help_keys(screen))
        return expected.keys() <= keys.keys()

    pane.wait(collected, what=f"keys {sorted(expected)} in the help")
    for key, description in expected.items():
        assert keys[key] == description, (key, keys)
    pane.keys("Escape")
    # Wait for the help to go before the next key: Esc followed at once by a key reads as
    # alt+key in a terminal.
    pane.wait(lambda s: not help_keys(s), what="help closed")

    pane.type(":")
    pane.wait(":nodes", what="command line")
    pane.type("nodes")
    pane.keys("Enter")
    pane.wait(on_screen(NODES, "pve-c"), what=":nodes")

    quit_cleanly(pane)


# -- (b) the demo at 80x24 --------------------------------------------------------------------


def test_demo_small_terminal_80x24(run_tui: Callable[..., Pane]) -> None:
    pane = run_tui("--demo", width=80, height=24)
    screen = pane.wait(on_screen(GUESTS, "pg-primary", "DEMO"), timeout=10, what="guests")
    assert len(guest_names(screen)) >= 15, screen

    pane.keys("1")
    pane.wait(on_screen(NODES, "pve-a", "pve-b", "pve-c", "online"), what="nodes")

    pane.keys("3")
    screen = pane.wait(
        lambda s: (
            not (NODES.search(s) or GUESTS.search(s) or TASKS.search(s))
            and "3/3 nodes online" in s
            and re.search(r"CPU .*\d+% of \d+", s) is not None
            and re.search(r"max \d+%", s) is not None
        ),  # rrddata history has arrived
        what="utilisation: cluster totals, usage bars and history",
    )
    assert "pve-a" in screen and "gw-edge-01" in screen  # a node, and the selected guest

    pane.keys("4")
    pane.wait(on_screen(TASKS, "qmstart", "105", "aptupdate"), what="tasks")

    pane.keys("2")
    pane.wait(on_screen(GUESTS, "pg-primary"), what="guests")
    pane.type("?")
    pane.wait("Keys on this screen", what="help at 80x24")
    pane.keys("Escape")
    # Wait for the help to go before the next key: Esc followed at once by a key reads as
    # alt+key in a terminal.
    pane.wait(lambda s: not help_keys(s), what="help closed")

    pane.type(":")
    pane.wait(":nodes", what="command line at 80x24")
    pane.keys("Escape")
    pane.wait(lambda s: ":nodes" not in s, what="command line closed")

    screen = pane.screen()
    assert "EXIT=" not in screen and "Traceback" not in screen
    assert "DEMO" in status_line(screen)
    quit_cleanly(pane)


# -- (c) against `argus sim` in another process -----------------------------------------------


def start_sim(env: dict[str, str], errors: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`argus sim --port 0` as its own process group; its printed credentials."""
    with errors.open("w") as sink:
        proc = subprocess.Popen(
            [*ARGUS, "sim", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
            env=env,
            start_new_session=True,
        )
    info: dict[str, str] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 15
    for line in proc.stdout:
        match = re.match(r"\s+(URL|Token id|Token secret|Fingerprint):\s+(\S+)", line)
        if match:
            info[match.group(1)] = match.group(2)
        if line.startswith("Press Ctrl+C") or time.monotonic() > deadline:
            break
    return proc, info


def test_live_sim_then_sim_dies(
    run_tui: Callable[..., Pane], clean_env: dict[str, str], tmp_path: Path
) -> None:
    errors = tmp_path / "sim.stderr"
    sim, info = start_sim(clean_env, errors)
    try:
        assert {"URL", "Token id", "Token secret", "Fingerprint"} <= set(info), errors.read_text()
        host = info["URL"].removeprefix("https://").rstrip("/")
        pane = run_tui(
            "--interval",
            "1",
            env={
                "ARGUS_HOST": host,
                "ARGUS_TOKEN_ID": info["Token id"],
                "ARGUS_TOKEN_SECRET": info["Token secret"],
                "ARGUS_FINGERPRINT": info["Fingerprint"],
            },
        )
        screen = pane.wait(
            on_screen(GUESTS, "pg-primary", "acme-prod", "data"), timeout=10, what="guests"
        )
        line = status_line(screen)
        assert host in line and "DEMO" not in line and "STALE" not in line, line
        before = guest_names(screen)
        assert len(before) >= 20, screen

        os.killpg(sim.pid, signal.SIGKILL)
        sim.wait(5)

        screen = pane.wait(
            lambda s: "STALE" in status_line(s) or "OFFLINE" in status_line(s),
            timeout=10,
            what="STALE/OFFLINE badge",
        )
        assert "STALE" in status_line(screen), status_line(screen)
        assert guest_names(screen) == before, "the last good data must stay on screen"
        assert "acme-prod" in screen
        # Still responsive while offline: other screens show the last snapshot too.
        pane.keys("1")
        screen = pane.wait(on_screen(NODES, "pve-a", "STALE"), what="nodes while stale")
        quit_cleanly(pane)
    finally:
        if sim.poll() is None:
            os.killpg(sim.pid, signal.SIGKILL)
            sim.wait(5)
        if sim.stdout is not None:
            sim.stdout.close()


# -- (d) task log -----------------------------------------------------------------------------


def test_task_log_modal(run_tui: Callable[..., Pane]) -> None:
    pane = run_tui("--demo")
    pane.wait(on_screen(GUESTS, "pg-primary", "DEMO"), timeout=10, what="guests")
    pane.keys("4")
    pane.wait(on_screen(TASKS, "qmstart", "aptupdate"), what="tasks")

    # A successful task: move down to the second row (aptupdate in the demo) and open it.
    pane.keys("Down")
    pane.keys("Enter")
    screen = pane.wait(
        lambda s: "TASK OK" in s or "TASK ERROR" in s, what="TASK OK / TASK ERROR in the log"
    )
    assert "UPID:" in screen
    pane.keys("Escape")
    pane.wait(lambda s: "UPID:" not in s, what="log closed")

    # The failed start of 105: `f` shows failed tasks only, Enter opens it.
    pane.keys("f")
    pane.wait(lambda s: "qmstart" in s and "aptupdate" not in s, what="failed only")
    pane.keys("Enter")
    screen = pane.wait("TASK ERROR", what="TASK ERROR")
    assert "TASK ERROR: start failed: QEMU exited with code 1" in screen
    assert "qmstart 105 on pve-c" in screen
    pane.keys("Escape")
    screen = pane.wait(lambda s: "TASK ERROR" not in s, what="log closed")
    assert "qmstart" in screen
    quit_cleanly(pane)
