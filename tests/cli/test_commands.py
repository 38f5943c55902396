"""The real `argus` binary against the simulator: output, JSON schema, exit codes, stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import one_clear_line, sim_env

from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator

ARGUS = [sys.executable, "-m", "argus_tui"]


def run(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARGUS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def env_for(sim: Simulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no real config, no keyring, the simulator's token."""
    return sim_env(sim, tmp_path, **extra)


def test_status_json_schema(sim: Simulator, tmp_path: Path) -> None:
    result = run(["status", "--json"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"cluster", "nodes", "guests", "warnings"}
    assert data["cluster"] == {"name": "acme-prod", "quorate": True, "version": "9.1.2"}
    node_keys = {"name", "status", "cpu", "maxcpu", "mem", "maxmem", "disk", "maxdisk", "uptime"}
    assert all(set(n) == node_keys for n in data["nodes"]) and len(data["nodes"]) == 3
    guest_keys = {
        "vmid",
        "name",
        "type",
        "node",
        "status",
        "template",
        "tags",
        "pool",
        "lock",
        "hastate",
        "cpu",
        "mem",
        "maxmem",
        "uptime",
        "allowed_actions",
    }
    assert all(set(g) == guest_keys for g in data["guests"]) and len(data["guests"]) == 25
    by_id = {g["vmid"]: g for g in data["guests"]}
    assert by_id[102]["tags"] == ["db", "prod"] and by_id[102]["pool"] == "finance"
    # the power actions valid in the state, then snapshot and backup
    ops = ["snapshot", "backup"]
    running_vm = ["shutdown", "stop", "reboot", "reset", "suspend", "hibernate"]
    # then the console of a running guest
    assert by_id[101]["allowed_actions"] == [*running_vm, *ops, "migrate", "console"]
    assert by_id[200]["allowed_actions"] == [
        "shutdown",
        "stop",
        "reboot",
        "suspend",
        *ops,
        "migrate",
        "console",
    ]
    assert by_id[110]["allowed_actions"] == ["start", *ops, "migrate"]
    assert by_id[109]["allowed_actions"] == ["stop", "resume", *ops, "migrate"]
    # a template is backed up, never snapshotted or powered; a locked guest takes no task
    assert by_id[9000]["allowed_actions"] == ["backup"] and by_id[9000]["template"] is True
    assert by_id[104]["allowed_actions"] == ["console"]  # a lock stops tasks, not consoles
    assert by_id[104]["lock"] == "backup" and by_id[100]["hastate"] == "started"
    assert isinstance(by_id[102]["cpu"], float) and 0 <= by_id[102]["cpu"] <= 1
    assert by_id[110]["uptime"] == 0 and data["warnings"] == []


def scenario_with_operator_and_auditor() -> dict[str, Any]:
    data = demo_data()
    data["user"] += [{"id": "ops@pve"}, {"id": "audit@pve"}, {"id": "fresh@pve"}]
    data["token"] += [
        {"id": "ops@pve!tui", "secret": "ops-secret", "privsep": False},
        {"id": "audit@pve!ro", "secret": "audit-secret", "privsep": False},
        {"id": "fresh@pve!new", "secret": "fresh-secret", "privsep": True},
    ]
    data["acl"] += [
        {"path": "/", "subject": "ops@pve", "role": "PVEAuditor"},
        {"path": "/vms/102", "subject": "ops@pve", "role": "PVEVMUser"},
        {"path": "/", "subject": "audit@pve", "role": "PVEAuditor"},
        {"path": "/", "subject": "fresh@pve", "role": "PVEAdmin"},
    ]
    return data


def test_allowed_actions_follow_the_acl(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim(scenario_with_operator_and_auditor())
    env = env_for(sim, tmp_path, ARGUS_TOKEN_ID="ops@pve!tui", ARGUS_TOKEN_SECRET="ops-secret")
    data = json.loads(run(["status", "--json"], env, tmp_path).stdout)
    allowed = {g["vmid"]: g["allowed_actions"] for g in data["guests"]}
    power = ["shutdown", "stop", "reboot", "reset", "suspend", "hibernate"]
    assert allowed[102] == [*power, "console"]  # PVEVMUser holds VM.Console
    assert all(actions == [] for vmid, actions in allowed.items() if vmid != 102)


def test_fresh_privsep_token_explained(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim(scenario_with_operator_and_auditor())
    env = env_for(sim, tmp_path, ARGUS_TOKEN_ID="fresh@pve!new", ARGUS_TOKEN_SECRET="fresh-secret")
    status = run(["status", "--json"], env, tmp_path)
    assert status.returncode == 0
    data = json.loads(status.stdout)
    assert data["guests"] == [] and data["cluster"]["name"] is None
    assert any("holds no privileges at all" in w for w in data["warnings"])
    doctor = run(["doctor"], env, tmp_path)
    assert doctor.returncode == 0, doctor.stderr
    assert "privilege separation" in doctor.stdout
    assert "pveum acl modify / --tokens 'fresh@pve!new' --roles PVEAuditor" in doctor.stdout
    report = json.loads(run(["doctor", "--json"], env, tmp_path).stdout)
    assert report["ok"] is True and not any(f["ok"] for f in report["features"])
    power = next(f for f in report["features"] if f["feature"] == "power")
    assert (power["privilege"], power["path"]) == ("VM.PowerMgmt", "/vms")


def test_doctor_for_an_auditor(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim(scenario_with_operator_and_auditor())
    env = env_for(sim, tmp_path, ARGUS_TOKEN_ID="audit@pve!ro", ARGUS_TOKEN_SECRET="audit-secret")
    report = json.loads(run(["doctor", "--json"], env, tmp_path).stdout)
    features = {f["feature"]: f for f in report["features"]}
    assert features["guests"]["ok"] and features["nodes"]["ok"] and features["task_logs"]["ok"]
    assert not features["power"]["ok"] and not features["syslog"]["ok"]
    assert features["syslog"]["grant"] == (
        "pveum acl modify /nodes/pve-a --tokens 'audit@pve!ro' --roles PVESysAdmin"
    )
    assert any("ArgusOperator" in line for line in report["recommended_roles"])
    assert [c["name"] for c in report["checks"]] == ["reachable", "tls", "authenticated", "version"]
    assert report["assistant"] == "not configured"
    env |= {"ARGUS_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "ARGUS_LLM_MODEL": "llama3.1",
            "ARGUS_LLM_API_KEY": "sk-doctor-secret-123456"}  # fmt: skip
    text = run(["doctor"], env, tmp_path).stdout
    assert "Assistant: llama3.1 at http://127.0.0.1:11434/v1 (key from environment)" in text
    assert "sk-doctor-secret" not in text


@pytest.mark.parametrize(
    ("extra", "code", "text"),
    [
        ({"ARGUS_TOKEN_SECRET": "wrong"}, 3, "refused token argus@pve!demo"),
        ({"ARGUS_FINGERPRINT": ":".join(["00"] * 32)}, 3, "has changed"),
        ({"ARGUS_FINGERPRINT": "", "ARGUS_VERIFY_TLS": ""}, 3, "cannot verify the certificate"),
        ({"ARGUS_TOKEN_ID": "nonsense"}, 2, "is not of the form USER@REALM!TOKENNAME"),
        ({"ARGUS_HOST": ""}, 2, "not configured"),
    ],
)
def test_failures_are_one_line_with_exit_code(
    sim: Simulator, tmp_path: Path, extra: dict[str, str], code: int, text: str
) -> None:
    env = env_for(sim, tmp_path, **extra)
    for key, value in extra.items():
        if value == "":
            env.pop(key, None)
    one_clear_line(run(["status"], env, tmp_path), code, text)


def test_server_stopped(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim()
    env = env_for(sim, tmp_path)
    sim.stop()
    one_clear_line(run(["status", "--json"], env, tmp_path), 3, "connection refused")
    doctor = run(["doctor", "--json"], env, tmp_path)
    assert doctor.returncode == 3 and json.loads(doctor.stdout)["checks"][0]["ok"] is False


def test_tasks_and_failed_filter(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    tasks = json.loads(run(["tasks", "--json"], env, tmp_path).stdout)
    assert len(tasks) >= 7 and tasks == sorted(tasks, key=lambda t: -t["starttime"])
    failed = json.loads(run(["tasks", "--failed", "--json"], env, tmp_path).stdout)
    assert [(t["type"], t["id"], t["status"]) for t in failed] == [
        ("qmstart", "105", "start failed: QEMU exited with code 1")
    ]
    text = run(["tasks", "--failed"], env, tmp_path).stdout
    assert "start failed: QEMU exited with code 1" in text
    assert failed[0]["upid"] in text  # to paste into `argus task-log`


def test_task_log(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    failed = json.loads(run(["tasks", "--failed", "--json"], env, tmp_path).stdout)[0]
    result = run(["task-log", failed["upid"]], env, tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "TASK ERROR: start failed: QEMU exited with code 1"
    bad = run(["task-log", "UPID:nope"], env, tmp_path)
    one_clear_line(bad, 2, "not a Proxmox task id")


def test_task_log_follow_tails_to_the_end(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim(frozen=False)
    env = env_for(sim, tmp_path)
    from tests.conftest import client_for

    upid = client_for(sim).nodes("pve-a").qemu(106).status.shutdown.post()
    result = run(["task-log", "--follow", upid], env, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("requesting shutdown of VM 106") and lines[-1] == "TASK OK"


def test_hostile_names_are_printed_literally(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    data = demo_data()
    data["guest"][0]["name"] = "evil\x1b[31mred\x1b]0;title\x07[bold]x[/bold]"
    sim = make_sim(data)
    result = run(["status"], env_for(sim, tmp_path), tmp_path)
    assert result.returncode == 0
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "evil\\x1b[31mred" in result.stdout and "[bold]x[/bold]" in result.stdout


def test_status_records_history_and_export(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    assert run(["status", "--json", "--no-history"], env, tmp_path).returncode == 0
    assert not (tmp_path / "data" / "argus" / "history.db").exists()
    assert run(["status", "--json"], env, tmp_path).returncode == 0
    exported = run(["history", "export", "--since", "365d", "--format", "json",
                    "--profile", "default"], env, tmp_path)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    keys = {s["key"] for s in data["samples"]}
    assert {"pve-a", "102", "110"} <= {str(k) for k in keys}
    stats = run(["history", "stats", "--json"], env, tmp_path)
    assert stats.returncode == 0 and json.loads(stats.stdout)
    one_clear_line(run(["history", "export", "--since", "soon"], env, tmp_path), 2, "--since")
    assert sim.token_secret not in (tmp_path / "data" / "argus" / "history.db").read_bytes().decode(
        "latin-1"
    )


def test_history_settings_from_config(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path)
    config = tmp_path / "config" / "argus" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[history]\nenabled = false\n")
    assert run(["status", "--json"], env, tmp_path).returncode == 0
    assert not (tmp_path / "data" / "argus" / "history.db").exists()  # recording is off
    config.write_text('[history]\nraw = "6h"\nmid = "7d"\nlong = "90d"\n')
    assert run(["status", "--json"], env, tmp_path).returncode == 0
    stats = json.loads(run(["history", "stats", "--json"], env, tmp_path).stdout)
    retention = stats["profiles"]["default"]["retention"]
    assert (retention["raw"], retention["mid"], retention["long"]) == (
        6 * 3600,
        7 * 86400,
        90 * 86400,
    )
    config.write_text('[history]\nraw = "later"\n')
    one_clear_line(run(["status"], env, tmp_path), 2, "'raw' must be a duration")
