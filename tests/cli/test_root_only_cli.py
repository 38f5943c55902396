"""The real `argus` against a server whose /access/permissions lists only `/`: a root
token's allowed actions, a passing doctor, and a power action checked and sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.test_commands import env_for, run
from tests.ui.test_power import new_tasks, task_types
from tests.ui.test_root_only_listing import ROOT, ROOT_SECRET, root_only_demo

from argus_tui.sim.server import Simulator


def test_a_root_token_is_allowed_its_actions_and_doctor_passes(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(root_only_demo())
    env = env_for(sim, tmp_path, ARGUS_TOKEN_ID=ROOT, ARGUS_TOKEN_SECRET=ROOT_SECRET)

    status = run(["status", "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["warnings"] == []  # no "no VM.Audit on /vms"
    by_id = {g["vmid"]: g for g in data["guests"]}
    assert len(by_id) == 25
    ops = ["snapshot", "backup"]
    running_vm = ["shutdown", "stop", "reboot", "reset", "suspend", "hibernate"]
    assert by_id[101]["allowed_actions"] == [*running_vm, *ops, "migrate", "console"]
    assert by_id[110]["allowed_actions"] == ["start", *ops, "migrate"]

    doctor = run(["doctor", "--json"], env, tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["ok"] is True
    failing = [f["feature"] for f in report["features"] if not f["ok"]]
    assert failing == [], failing

    before = set(sim.state.tasks)
    started = run(["power", "start", "207"], env, tmp_path)
    assert started.returncode == 0, started.stderr
    assert task_types(sim, new_tasks(sim, before)) == [("vzstart", "207", ROOT)]
