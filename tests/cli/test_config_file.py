"""config.toml as a user writes it: unknown settings are named on stderr, never fatal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.helpers import sim_env

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]

WITH_TYPOS = """\
# hand-written
colour = "red"

[profiles.prod]
host = "pve.example.com"
token_id = "argus@pve!tui"
llm_modle = "gpt-4o-mini"

[ui]
intervall = 3

[history]
sample_intervall = "30s"
"""


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--json"],
        ["tasks", "--json"],
        ["profiles", "--json"],
        ["history", "stats", "--json"],
        ["ask", "--context-only", "--vmid", "102", "why?"],
    ],
)
def test_each_unknown_setting_is_one_warning_line(
    sim: Simulator, tmp_path: Path, args: list[str]
) -> None:
    config = tmp_path / "config" / "argus" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(WITH_TYPOS)
    result = run(args, sim_env(sim, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert args[0] == "ask" or json.loads(result.stdout) is not None
    lines = result.stderr.splitlines()
    assert [line.partition(": unknown setting ")[2].split()[0] for line in lines] == [
        "'colour'",
        "'llm_modle'",
        "'intervall'",
        "'sample_intervall'",
    ], result.stderr
    assert all(line.startswith(f"argus: warning: {config}") for line in lines)
    assert all("(known: " in line for line in lines)
    assert config.read_text() == WITH_TYPOS  # reading never rewrites the file
