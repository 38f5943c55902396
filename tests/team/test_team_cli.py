"""The team history through the real binary: two operators on one database and one
simulator, the one line a command prints while the database is away, `history copy`,
and `history stats` and `doctor` naming the database but never the password."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.helpers import one_clear_line, sim_env
from tests.pg_server import PgServer
from tests.team.conftest import PASSWORD, TeamDb

from argus_tui.services.history import read_csv_export
from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]


def argus(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def exported(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ok(argus(["history", "export", "--format", "json",
                                              "--since", "0"], env, cwd)).stdout)  # fmt: skip
    return doc


def test_two_operators_share_one_history(
    make_sim: Callable[..., Simulator], team_db: TeamDb, tmp_path: Path
) -> None:
    sim = make_sim(frozen=False)
    url = team_db.url(direct=True)
    homes = {name: tmp_path / name for name in ("alice", "bob")}
    for home in homes.values():
        home.mkdir()
    envs = {
        name: sim_env(sim, home, ARGUS_HISTORY_URL=url, ARGUS_OPERATOR=name, **team_db.env())
        for name, home in homes.items()
    }
    for name in ("alice", "bob"):
        ok(argus(["status"], envs[name], homes[name]))  # the baseline, from both
    ok(argus(["power", "stop", "101", "--yes", "--wait"], envs["alice"], homes["alice"]))
    ok(argus(["power", "start", "207", "--wait"], envs["bob"], homes["bob"]))
    for name in ("alice", "bob", "alice"):
        ok(argus(["status"], envs[name], homes[name]))  # both see both changes

    docs = {name: exported(envs[name], homes[name]) for name in ("alice", "bob")}
    assert docs["alice"] == docs["bob"]  # one history, the same from each side
    doc = docs["alice"]
    assert [(a["operator"], a["action"], a["vmid"]) for a in doc["actions"]] == [
        ("alice", "stop", 101),
        ("bob", "start", 207),
    ]
    events = Counter((e["kind"], e["vmid"]) for e in doc["events"])
    assert events == {("stopped", 101): 1, ("started", 207): 1}  # once, whoever saw it first
    samples = [(s["entity"], s["key"], s["ts"] // 60) for s in doc["samples"] if s["step"] == 0]
    assert samples and len(samples) == len(set(samples))  # one sample per entity and minute
    csv = read_csv_export(ok(argus(["history", "export", "--since", "0"], envs["bob"],
                                   homes["bob"])).stdout)  # fmt: skip
    assert [(a["operator"], a["action"]) for a in csv["actions"]] == [
        ("alice", "stop"),
        ("bob", "start"),
    ]
    for home in homes.values():  # a team URL writes no local history file
        assert not (home / "data" / "argus" / "history.db").exists()


def test_a_command_says_in_one_line_what_was_kept_and_it_is_sent_later(
    sim: Simulator, team_db: TeamDb, tmp_path: Path
) -> None:
    env = sim_env(sim, tmp_path, ARGUS_HISTORY_URL=team_db.url(), ARGUS_OPERATOR="carol",
                  **team_db.env())  # fmt: skip
    ok(argus(["status"], env, tmp_path))
    team_db.relay.cut()
    started = argus(["power", "start", "207"], env, tmp_path)
    line = one_clear_line(started, 0)
    name = f"127.0.0.1:{team_db.relay.port}/{team_db.name}"
    assert line == (
        f"argus: team history {name} unreachable (connection refused); the action was kept"
        " locally and will be sent when it is back"
    )
    upid = started.stdout.strip()
    status = argus(["status", "--json"], env, tmp_path)
    assert one_clear_line(status, 0).endswith(
        "unreachable (connection refused); the snapshot was kept locally and will be sent"
        " when it is back"
    )
    data = tmp_path / "data" / "argus"
    spool = data / "history-spool.jsonl"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert not (data / "history.db").exists()
    stats = argus(["history", "stats"], env, tmp_path)
    assert stats.returncode == 3 and "spool: 2 kept" in stats.stdout

    team_db.relay.restore()
    doc = exported(env, tmp_path)  # the first call that reaches it sends what was kept
    assert [(a["operator"], a["upid"]) for a in doc["actions"]] == [("carol", upid)]
    assert not spool.exists()
    assert team_db.count("SELECT count(*) FROM actions") == 1
    exported(env, tmp_path)
    assert team_db.count("SELECT count(*) FROM actions") == 1  # sent once


def test_copy_the_local_history_twice(sim: Simulator, team_db: TeamDb, tmp_path: Path) -> None:
    local = sim_env(sim, tmp_path, ARGUS_OPERATOR="dave", **team_db.env())
    ok(argus(["status"], local, tmp_path))
    ok(argus(["power", "start", "207"], local, tmp_path))
    sim.state.set_running(sim.state.guests[101], False)
    ok(argus(["status"], local, tmp_path))
    before = exported(local, tmp_path)
    assert before["actions"] and before["events"] and before["samples"]

    url = team_db.url(direct=True)
    first = ok(argus(["history", "copy", "--to", url], local, tmp_path))
    assert "Traceback" not in first.stderr
    samples, actions = len(before["samples"]), len(before["actions"])
    assert f"profile default: samples {samples:,} read, {samples:,} added" in first.stderr
    assert f"actions {actions} read, {actions} added" in first.stderr
    counts = {t: team_db.count(f"SELECT count(*) FROM {t}") for t in ("actions", "events")}  # noqa: S608 (constants)
    second = ok(argus(["history", "copy", "--to", url], local, tmp_path))
    assert f"samples {samples:,} read, 0 added" in second.stderr
    events = len(before["events"])
    assert f"events {events} read, 0 added" in second.stderr
    assert {t: team_db.count(f"SELECT count(*) FROM {t}") for t in counts} == counts  # noqa: S608

    team = exported(dict(local, ARGUS_HISTORY_URL=url), tmp_path)
    for section in ("actions", "events", "tasks", "exchanges"):
        assert team[section] == before[section], section
    assert len(team["samples"]) == samples


def test_copy_to_an_unreachable_database_exits_3(sim: Simulator, tmp_path: Path) -> None:
    env = sim_env(sim, tmp_path)
    ok(argus(["status"], env, tmp_path))
    result = argus(["history", "copy", "--to", "postgresql://argus@127.0.0.1:9/argus"], env,
                   tmp_path)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "connection refused" in result.stderr.splitlines()[-1]


def test_stats_and_doctor_name_the_database_never_the_password(
    sim: Simulator, pg_server: PgServer, role: tuple[str, str], tmp_path: Path
) -> None:
    name, db = role
    url = f"postgresql://{name}@127.0.0.1:{pg_server.port}/{db}"
    env = sim_env(sim, tmp_path, ARGUS_HISTORY_URL=url, PGPASSWORD=PASSWORD)
    ok(argus(["status"], env, tmp_path))
    stats = ok(argus(["history", "stats"], env, tmp_path))
    where = f"PostgreSQL {name}@127.0.0.1:{pg_server.port}/{db}"
    assert stats.stdout.startswith(f"History database {where} (schema ")
    assert "spool: nothing kept" in stats.stdout
    as_json = json.loads(ok(argus(["history", "stats", "--json"], env, tmp_path)).stdout)
    assert as_json["backend"] == where and as_json["spool"]["kept"] == 0
    doctor = ok(argus(["doctor"], env, tmp_path))
    assert f"History: {where}" in doctor.stdout
    for check in ("reachable", "schema", "write"):
        assert f"[ok] {check}: " in doctor.stdout, doctor.stdout
    assert "[ok] tls: " in doctor.stdout  # a local server: no TLS needed, and said
    report = json.loads(ok(argus(["doctor", "--json"], env, tmp_path)).stdout)
    assert [c["name"] for c in report["history"]["checks"]][:2] == ["reachable", "tls"]
    for result in (stats, doctor):
        assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD not in json.dumps(as_json) + json.dumps(report)

    wrong = argus(["doctor"], dict(env, PGPASSWORD="not-it-0000"), tmp_path)
    assert wrong.returncode == 3 and "[FAIL] reachable: " in wrong.stdout
    assert "not-it-0000" not in wrong.stdout + wrong.stderr and PASSWORD not in wrong.stdout
