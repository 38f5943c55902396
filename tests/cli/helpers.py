"""What every CLI failure must look like, shared by the CLI tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from argus_tui.sim.server import Simulator


def one_clear_line(
    result: subprocess.CompletedProcess[str], code: int, *texts: str, never: tuple[str, ...] = ()
) -> str:
    """The exit code, and one `argus: ...` line on stderr holding `texts`, no traceback,
    and none of `never` (secrets)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("argus: "), lines[0]
    for text in texts:
        assert text in lines[0], lines[0]
    for secret in never:
        assert secret not in result.stderr
    return lines[0]


def sim_env(sim: Simulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment for `argus`: no real config, keyring, history or model
    settings from the developer's shell; the simulator's token; then `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGUS_", "DBUS_", "OPENAI_"))}
    env.update(
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        ARGUS_HOST=f"127.0.0.1:{sim.port}",
        ARGUS_TOKEN_ID=sim.token_id,
        ARGUS_TOKEN_SECRET=sim.token_secret,
        ARGUS_FINGERPRINT=sim.fingerprint,
    )
    env.update(extra)
    return env
