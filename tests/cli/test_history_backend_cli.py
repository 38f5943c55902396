"""The history's backend from the command line without a database server: a URL Argus
refuses, the local history in `doctor` and `history stats`, and what `copy`, `login` and
`logout` say when there is nothing to work with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.helpers import one_clear_line, sim_env

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]
SECRET = "url-pw-0b7d1e"


def argus(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARGUS, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip


def test_a_password_in_the_url_is_refused_and_never_echoed(sim: Simulator, tmp_path: Path) -> None:
    url = f"postgresql://argus:{SECRET}@db.example/argus"
    env = sim_env(sim, tmp_path, ARGUS_HISTORY_URL=url)
    for args in (["history", "stats"], ["status"], ["power", "start", "207"]):
        result = argus(args, env, tmp_path)
        one_clear_line(result, 2, "ARGUS_HISTORY_URL carries a password", never=(SECRET,))
        assert SECRET not in result.stdout
    config = tmp_path / "config" / "argus"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'[history]\nurl = "{url}"\n')
    result = argus(["history", "stats"], sim_env(sim, tmp_path), tmp_path)
    one_clear_line(result, 2, "[history]: 'url' carries a password", never=(SECRET,))
    assert not (tmp_path / "data" / "argus").exists()  # nothing recorded anywhere


def test_doctor_and_stats_name_the_local_history(sim: Simulator, tmp_path: Path) -> None:
    env = sim_env(sim, tmp_path)
    path = tmp_path / "data" / "argus" / "history.db"
    doctor = argus(["doctor"], env, tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    assert f"History: SQLite {path}" in doctor.stdout
    assert "[ok] reachable: " in doctor.stdout and "does not exist yet" in doctor.stdout
    assert not path.exists()  # the doctor looked, and created nothing
    assert argus(["status"], env, tmp_path).returncode == 0
    doctor = argus(["doctor"], env, tmp_path)
    assert "[ok] schema: schema " in doctor.stdout and "[ok] write: " in doctor.stdout
    stats = argus(["history", "stats"], env, tmp_path)
    assert stats.stdout.startswith(f"History database SQLite {path} (schema ")
    assert "spool" not in stats.stdout  # the local history keeps nothing aside


def test_copy_login_and_logout_without_what_they_need(sim: Simulator, tmp_path: Path) -> None:
    env = sim_env(sim, tmp_path)
    copy = argus(["history", "copy", "--to", "postgresql://argus@db.example/argus"], env,
                 tmp_path)  # fmt: skip
    one_clear_line(copy, 1, "no local history to copy")
    for command in ("login", "logout"):
        result = argus(["history", command], env, tmp_path)
        one_clear_line(result, 2, "no team history is set", "--url")
    bad = argus(["history", "copy", "--to", "mysql://db.example/argus"], env, tmp_path)
    one_clear_line(bad, 2, "--to is not a PostgreSQL URL")
