"""Consoles in a real terminal: `argus console` in tmux against the simulator, typing into
the guest's shell, leaving it, and the terminal given back in cooked mode however the
session ended (escape key, server killed, SIGTERM); the refusals a user can meet; window
resizes followed into the guest, also through a tmux nested in another.

Same approach as test_tui_tmux.py: a private tmux server per test (`tmux -L`), the
command run as `CMD; echo EXIT=$?; ...; sleep 5`, skipped without tmux unless CI=1. The
simulator runs in the test process, except where a test kills it: then it is `argus sim`.
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
from typing import Any

import pytest
from tests.e2e.tmux_pane import ARGUS, Pane, power_keys, require_tmux

from argus_tui.sim import certs
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator

pytestmark = pytest.mark.e2e

TMUX = require_tmux()

BANNER = "[argus] connected to the console of CT 200 (nginx-lb-01) on pve-a; press ctrl+] to return"
PROMPT = "root@nginx-lb-01:~# "
# `stty -a` flags: a terminal left raw shows `-icanon -echo`.
COOKED = (re.compile(r"(?<![-\w])icanon\b"), re.compile(r"(?<![-\w])echo\b"))
SIZE = re.compile(r"(?m)^(\d+) (\d+)\s*$")


def base_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "TERM": "tmux-256color",
        "LANG": "C.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The code under test, when it is not the installed copy (a checkout on PYTHONPATH).
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }


def sim_env(home: Path, sim: Simulator, token: str = "", secret: str = "") -> dict[str, str]:
    """The environment `argus sim` tells the user to export, for this simulator."""
    return {
        **base_env(home),
        "ARGUS_HOST": f"127.0.0.1:{sim.port}",
        "ARGUS_TOKEN_ID": token or sim.token_id,
        "ARGUS_TOKEN_SECRET": secret or sim.token_secret,
        "ARGUS_FINGERPRINT": sim.fingerprint,
    }


@pytest.fixture
def panes(tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    """Start panes (`Pane(...)` arguments); every tmux server is killed at the end."""
    started: list[Pane] = []

    def start(command: list[str], env: dict[str, str], after: str = "") -> Pane:
        pane = Pane(command, env, tmp_path, "console", after=after)
        started.append(pane)
        return pane

    yield start
    for pane in started:
        pane.kill()


def cooked(screen: str) -> bool:
    """`stty -a` on the screen shows canonical mode and echo."""
    return all(flag.search(screen) for flag in COOKED)


def after_exit(screen: str) -> str:
    """What the shell printed once argus had exited (`EXIT=N` and after)."""
    return screen[screen.index("EXIT=") :]


def console_open(pane: Pane) -> str:
    return pane.wait(lambda s: BANNER in s and s.rstrip().endswith(PROMPT.rstrip()), "the prompt")


def run_in_console(pane: Pane, line: str, answer: Callable[[str], bool], what: str) -> str:
    pane.type(line)
    pane.keys("Enter")
    return pane.wait(answer, what)


# -- 1. a container's console, left with ctrl+] --------------------------------------------


def test_container_console_then_back_in_cooked_mode(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim()
    pane = panes([*ARGUS, "console", "200"], sim_env(tmp_path, sim), after="stty -a")
    screen = console_open(pane)
    assert screen.splitlines()[0] == BANNER, screen

    screen = run_in_console(
        pane, "hostname", lambda s: f"{PROMPT}hostname\nnginx-lb-01\n{PROMPT.rstrip()}" in s, "out"
    )
    # raw mode: ctrl+c goes to the guest's shell (a fresh prompt), argus stays
    pane.type("sleep")
    pane.keys("C-c")
    pane.wait(lambda s: f"{PROMPT}sleep^C\n{PROMPT.rstrip()}" in s, "^C in the guest")
    pane.keys("C-]")
    screen = pane.wait(lambda s: "EXIT=" in s and "speed" in s, "the shell's stty -a")
    assert "[argus] left the console of CT 200 (nginx-lb-01)" in screen, screen
    tail = after_exit(screen)
    assert tail.startswith("EXIT=0"), screen
    assert cooked(tail), tail


# -- 2. the same from the TUI: `c` on the guests screen -----------------------------------

GUESTS = re.compile(r"(?m)^\s*VMID\b.*\bNAME\b")
DETAILS_200 = "CT 200 on pve-a"  # the details panel's line for the selected guest


def footer(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-1]


def status_line(screen: str) -> str:
    return screen.rstrip("\n").splitlines()[-2]


def select_200(pane: Pane) -> str:
    """From the first row (100), down the 14 VMs to CT 200 with `j`."""
    pane.wait(lambda s: GUESTS.search(s) is not None and "nginx-lb-01" in s, "guests")
    pane.keys(*["j"] * 14)
    return pane.wait(lambda s: DETAILS_200 in s and "K" in power_keys(footer(s)), "CT 200 selected")


def test_console_from_the_tui(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim()
    pane = panes([*ARGUS], sim_env(tmp_path, sim))
    screen = select_200(pane)
    screen = pane.wait(lambda s: "c Console" in footer(s), "Console in the footer")

    pane.keys("c")
    screen = console_open(pane)
    assert "[argus] connecting to the console of CT 200 (nginx-lb-01)" in screen, screen
    run_in_console(pane, "hostname", lambda s: "hostname\nnginx-lb-01\n" in s, "the hostname")

    pane.keys("C-]")
    screen = pane.wait(
        lambda s: GUESTS.search(s) is not None and "left the console" in status_line(s),
        "the guests screen again",
    )
    assert "left the console of CT 200 (nginx-lb-01)" in status_line(screen), screen
    assert DETAILS_200 in screen, screen  # the same guest selected
    assert "c Console" in footer(screen), footer(screen)
    pane.keys("q")
    assert "EXIT=0" in pane.wait(lambda s: "EXIT=" in s, "exit")


# -- 3. the terminal restored when the server dies or argus is terminated --------------------


@pytest.fixture
def sim_process(
    tmp_path: Path, cert_bundle: certs.CertBundle
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """`argus sim` in its own process (a test kills it), and the exports it prints."""
    cert, key = tmp_path / "sim.pem", tmp_path / "sim.key"
    cert.write_bytes(cert_bundle.cert_pem)
    key.write_bytes(cert_bundle.key_pem)
    proc = subprocess.Popen(
        [*ARGUS, "sim", "--port", "0", "--cert", str(cert), "--key", str(key)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **base_env(tmp_path)},
    )
    try:
        exports: dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip().startswith("export "):
                words = shlex.split(line.strip())[1:]
                exports = dict(word.split("=", 1) for word in words)
                break
        assert exports, "argus sim printed no export line"
        yield proc, {**base_env(tmp_path), **exports}
    finally:
        proc.kill()
        proc.wait(5)


def test_server_killed_mid_session(
    sim_process: tuple[subprocess.Popen[str], dict[str, str]], panes: Callable[..., Pane]
) -> None:
    proc, env = sim_process
    pane = panes([*ARGUS, "console", "200"], env, after="stty -a")
    console_open(pane)
    proc.send_signal(signal.SIGKILL)
    screen = pane.wait(lambda s: "EXIT=" in s and "speed" in s, "the shell's stty -a")
    lines = [line for line in screen.splitlines() if line.startswith("[argus] ")]
    assert lines[0] == BANNER, screen
    assert "the console of CT 200 (nginx-lb-01) ended: lost the connection" in lines[1], screen
    tail = after_exit(screen)
    assert tail.startswith("EXIT=3"), screen
    assert cooked(tail), tail


def test_sigterm_mid_session(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim()
    pane = panes([*ARGUS, "console", "200"], sim_env(tmp_path, sim), after="stty -a")
    console_open(pane)
    os.kill(pane.pid(), signal.SIGTERM)
    screen = pane.wait(lambda s: "EXIT=" in s and "speed" in s, "the shell's stty -a")
    assert "[argus] the console of CT 200 (nginx-lb-01) closed by signal 15" in screen, screen
    tail = after_exit(screen)
    assert tail.startswith("EXIT=143"), screen
    assert cooked(tail), tail


def test_sigterm_in_a_console_from_the_tui(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    """A SIGTERM meant for argus ends the console and the TUI with it, terminal cooked."""
    sim = make_sim()
    pane = panes([*ARGUS], sim_env(tmp_path, sim), after="stty -a")
    select_200(pane)
    pane.wait(lambda s: "c Console" in footer(s), "Console in the footer")
    pane.keys("c")
    console_open(pane)
    os.kill(pane.pid(), signal.SIGTERM)
    screen = pane.wait(lambda s: "EXIT=" in s and "speed" in s, "the shell's stty -a")
    tail = after_exit(screen)
    assert tail.startswith("EXIT=143"), screen
    assert cooked(tail), tail


# -- 4-6. the refusals ----------------------------------------------------------------------


def power_only_scenario() -> dict[str, Any]:
    """The demo plus pow@pve!tui: PVEAuditor on / and a role with VM.PowerMgmt on /vms,
    so it may start and stop guests but not open their consoles."""
    data = demo_data()
    data["user"].append({"id": "pow@pve"})
    data["token"].append({"id": "pow@pve!tui", "secret": "pow-secret", "privsep": False})
    data["role"] = [{"id": "PowerOnly", "privs": ["VM.PowerMgmt", "VM.Audit"]}]
    data["acl"] += [
        {"path": "/", "subject": "pow@pve", "role": "PVEAuditor"},
        {"path": "/vms", "subject": "pow@pve", "role": "PowerOnly"},
    ]
    return data


def test_token_without_vm_console_in_the_tui(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim(power_only_scenario())
    pane = panes([*ARGUS], sim_env(tmp_path, sim, "pow@pve!tui", "pow-secret"))
    screen = select_200(pane)  # Stop in the footer: the token may power it
    screen = pane.wait(lambda s: "Snapshots" in footer(s), "the footer's other keys")
    assert "Console" not in footer(screen), footer(screen)
    pane.keys("w")
    screen = pane.wait(lambda s: "Esc closes" in s, "why")
    assert re.search(r"Console\s+needs VM\.Console on /vms/200", screen), screen
    pane.keys("Escape")
    pane.wait(lambda s: "Esc closes" not in s, "the box closed")
    pane.keys("c", "w")  # `c` is not offered: it does nothing, and `w` comes after it
    screen = pane.wait(lambda s: "Esc closes" in s, "why, again")
    assert "[argus]" not in screen and "console" not in status_line(screen), screen


def test_token_without_vm_console(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim(power_only_scenario())
    env = sim_env(tmp_path, sim, "pow@pve!tui", "pow-secret")
    # stdout thrown away: what is left on the screen came on stderr
    pane = panes(["sh", "-c", f"{shlex.join([*ARGUS, 'console', '200'])} >/dev/null"], env)
    screen = pane.wait(lambda s: "EXIT=" in s, "exit")
    assert "EXIT=4" in screen, screen
    message = " ".join(screen[: screen.index("EXIT=")].split())
    assert "VM.Console" in message and "/vms/200" in message, screen


def test_vm_without_serial_port(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim()
    pane = panes([*ARGUS, "console", "101"], sim_env(tmp_path, sim))
    screen = pane.wait(lambda s: "EXIT=" in s, "exit")
    assert "EXIT=1" in screen, screen
    message = " ".join(screen[: screen.index("EXIT=")].split())
    assert "VM 101 has no serial port" in message, screen
    assert "'qm set 101 --serial0 socket'" in message, screen


def test_build_that_refuses_tokens_for_consoles(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    data = demo_data()
    data["cluster"]["console_tokens"] = False
    sim = make_sim(data)
    pane = panes([*ARGUS, "console", "200"], sim_env(tmp_path, sim), after="stty -a")
    screen = pane.wait(lambda s: "EXIT=" in s and "speed" in s, "exit")
    message = " ".join(screen[: screen.index("EXIT=")].split())
    assert "this Proxmox build does not accept API tokens for consoles" in message, screen
    # the versions that do, for both majors, and SSH meanwhile
    for version in ("pve-container >= 6.1.3", "pve-container >= 5.3.4", "ssh root@pve-a"):
        assert version in message, message
    tail = after_exit(screen)
    assert tail.startswith("EXIT=1"), screen
    assert cooked(tail), tail


# -- 7. window resizes reach the guest -----------------------------------------------------


def guest_size(pane: Pane, rows: int, columns: int, timeout: float = 5.0) -> tuple[int, int]:
    """`stty size` in the guest, asked again until it answers `rows columns` or `timeout`
    passes: a resize travels on its own (SIGWINCH, then a frame to the server), so an
    answer may still be the old size. Returns the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        pane.type("clear")
        pane.keys("Enter")
        pane.wait(lambda s: "clear" not in s, "a clear screen")
        pane.type("stty size")
        pane.keys("Enter")
        screen = pane.wait(lambda s: SIZE.search(s) is not None, "the guest's stty size")
        found = SIZE.findall(screen)
        assert len(found) == 1, screen
        seen = int(found[0][0]), int(found[0][1])
        if seen == (rows, columns) or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def test_resize_reaches_the_guest(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    sim = make_sim()
    pane = panes([*ARGUS, "console", "200"], sim_env(tmp_path, sim))
    console_open(pane)
    assert guest_size(pane, 45, 160) == (45, 160)
    pane.resize(100, 30)
    assert guest_size(pane, 30, 100) == (30, 100)


def test_resize_through_nested_tmux(
    make_sim: Callable[..., Simulator], panes: Callable[..., Pane], tmp_path: Path
) -> None:
    """argus in a tmux that runs inside another one (as over SSH to a host where the user
    keeps a tmux): resizing the outer window resizes the inner, and the guest follows."""
    sim = make_sim()
    env = sim_env(tmp_path, sim)
    inner = f"argus-console-inner-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    config = tmp_path / f"{inner}.conf"
    config.write_text("set -g status off\nset -g window-size latest\n")
    assert TMUX is not None
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    command = f"env -i {assignments} {shlex.join([*ARGUS, 'console', '200'])}"
    pane = panes([TMUX, "-L", inner, "-f", str(config), "new-session", "-s", "in", command], env)
    try:
        console_open(pane)
        assert guest_size(pane, 45, 160) == (45, 160)
        pane.resize(90, 24)
        assert guest_size(pane, 24, 90) == (24, 90)
    finally:
        subprocess.run([TMUX, "-L", inner, "kill-server"], capture_output=True, timeout=10)
