"""`argus sim` as a user runs it: a real process, its printed credentials, and curl."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGUS = [sys.executable, "-m", "argus_tui"]


def start_sim(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `argus sim --port 0` and parse what it prints."""
    proc = subprocess.Popen(
        [*ARGUS, "sim", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    info: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        match = re.match(r"\s+(URL|API|Token id|Token secret|Fingerprint):\s+(\S+)", line)
        if match:
            info[match.group(1)] = match.group(2)
        if line.strip().startswith("export ARGUS_"):
            info["export"] = line.strip()
        if line.startswith("Press Ctrl+C"):
            break
    return proc, info


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(10)


def test_sim_prints_credentials_and_serves_curl() -> None:
    started = time.monotonic()
    proc, info = start_sim()
    try:
        assert set(info) == {"URL", "API", "Token id", "Token secret", "Fingerprint", "export"}
        assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", info["Fingerprint"])
        if shutil.which("curl") is None:
            pytest.skip("curl is not installed")
        header = f"Authorization: PVEAPIToken={info['Token id']}={info['Token secret']}"
        out = subprocess.run(
            ["curl", "-sk", "-H", header, f"{info['API']}/cluster/resources"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        elapsed = time.monotonic() - started
        assert '"name":"pg-primary"' in out.stdout and '"type":"lxc"' in out.stdout
        # The fingerprint printed is the one the server presents.
        cert = subprocess.run(
            ["curl", "-sk", "-v", f"{info['URL']}", "-o", "/dev/null"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert "Proxmox Virtual Environment" in cert.stderr
        print(f"argus sim answered curl {elapsed:.2f}s after start")
    finally:
        assert stop(proc) == 0


def test_sim_scenario_file_and_seed(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        '[[node]]\nname = "solo"\n\n[[guest]]\nvmid = 150\nname = "lonely"\nnode = "solo"\n'
    )
    proc, info = start_sim("--scenario", str(scenario), "--seed", "5")
    try:
        assert info["Token id"] == "root@pam!argus"
        assert re.fullmatch(r"[0-9a-f-]{36}", info["Token secret"])
    finally:
        assert stop(proc) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "/nonexistent.toml"], "cannot read scenario /nonexistent.toml"),
        (["--generate", "nodes=lots"], "--generate expects nodes=N,guests=M"),
        (["--cert", "/tmp/x.pem"], "--cert and --key go together"),
        (["--host", "203.0.113.99"], "cannot listen on 203.0.113.99"),
    ],
)
def test_sim_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(
        [*ARGUS, "sim", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_printed_export_line_connects_argus(tmp_path: Path) -> None:
    """Pasted into a shell, the line `argus sim` prints is all `argus` needs."""
    proc, info = start_sim()
    try:
        script = f"{info['export']}; exec {shlex.join(ARGUS)} status --json --no-history"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path / "c")}  # fmt: skip
        out = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["cluster"]["name"] == "acme-prod"
    finally:
        stop(proc)
