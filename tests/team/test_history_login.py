"""`argus history login` with a real Secret Service and a database that checks
passwords: a wrong one is refused and not stored, the right one is stored for
user@host:port/db and used, logout removes it; a locked keyring stops nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import one_clear_line
from tests.keyring_env import keyring_session, lookup
from tests.pg_server import PgServer
from tests.team.conftest import PASSWORD

from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]
pytestmark = pytest.mark.secretservice


@pytest.fixture(scope="module")
def keyring_env() -> Iterator[dict[str, str]]:
    with keyring_session("unlocked") as env:
        yield env


def argus(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARGUS, *args], env=env, cwd=cwd, input=stdin or "",
                          capture_output=True, text=True, timeout=90)  # fmt: skip


def team_env(base: dict[str, str], sim: Simulator, tmp_path: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(("ARGUS_", "PG"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        ARGUS_HOST=f"127.0.0.1:{sim.port}",
        ARGUS_TOKEN_ID=sim.token_id,
        ARGUS_TOKEN_SECRET=sim.token_secret,
        ARGUS_FINGERPRINT=sim.fingerprint,
        ARGUS_HISTORY_URL=url,
    )
    return env


def test_login_checks_stores_and_logout_removes(
    sim: Simulator,
    pg_server: PgServer,
    role: tuple[str, str],
    keyring_env: dict[str, str],
    tmp_path: Path,
) -> None:
    name, db = role
    url = f"postgresql://{name}@127.0.0.1:{pg_server.port}/{db}"
    env = team_env(keyring_env, sim, tmp_path, url)
    account = f"history:{name}@127.0.0.1:{pg_server.port}/{db}"

    wrong = argus(["history", "login", "--password-stdin"], env, tmp_path, "not-it-1234\n")
    one_clear_line(wrong, 3, "password authentication failed", never=("not-it-1234", PASSWORD))
    assert lookup(env, account) is None  # refused: nothing stored

    stored = argus(["history", "login", "--password-stdin"], env, tmp_path, PASSWORD + "\n")
    assert stored.returncode == 0, stored.stderr
    assert f"Stored the password of {account.removeprefix('history:')}" in stored.stdout
    assert PASSWORD not in stored.stdout + stored.stderr
    assert lookup(env, account) == PASSWORD

    status = argus(["status"], env, tmp_path)
    assert status.returncode == 0 and status.stderr == "", status.stderr  # recorded
    stats = argus(["history", "stats", "--json"], env, tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert PASSWORD not in stats.stdout

    gone = argus(["history", "logout"], env, tmp_path)
    assert gone.returncode == 0 and "Removed the password" in gone.stdout
    assert lookup(env, account) is None
    status = argus(["status"], env, tmp_path)
    line = one_clear_line(status, 0, "unreachable", "the snapshot was kept locally")
    assert PASSWORD not in line


def test_a_locked_keyring_leaves_libpq_to_find_the_password(
    sim: Simulator, pg_server: PgServer, role: tuple[str, str], tmp_path: Path
) -> None:
    name, db = role
    url = f"postgresql://{name}@127.0.0.1:{pg_server.port}/{db}"
    with keyring_session("locked") as locked:
        env = dict(team_env(locked, sim, tmp_path, url), PGPASSWORD=PASSWORD)
        status = argus(["status"], env, tmp_path)
        assert status.returncode == 0 and status.stderr == "", status.stderr
        env.pop("PGPASSWORD")
        pgpass = tmp_path / "pgpass"
        pgpass.write_text(f"127.0.0.1:{pg_server.port}:{db}:{name}:{PASSWORD}\n")
        pgpass.chmod(0o600)
        stats = argus(["history", "stats"], dict(env, PGPASSFILE=str(pgpass)), tmp_path)
        assert stats.returncode == 0, stats.stderr
