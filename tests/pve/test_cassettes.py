"""The client's calls replayed from vcrpy cassettes recorded against the simulator.

Replay (the default) never touches the network: `record_mode="none"`. To re-record after
changing the simulator or the client, run with ARGUS_RECORD_CASSETTES=1; the recording
goes against a fresh simulator and the Authorization header is scrubbed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr
from tests.conftest import FROZEN_EPOCH

from argus_tui.domain.secret import Secret
from argus_tui.errors import AuthFailed, PermissionDenied
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import privileges_from, resources_from, task_from
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.snapshot import collect
from argus_tui.sim.demo import demo_data
from argus_tui.sim.scenario import scenario_from_dict
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock

CASSETTES = Path(__file__).parents[2] / "cassettes"
RECORD = os.environ.get("ARGUS_RECORD_CASSETTES") == "1"
DEMO_SECRET = "d3m0d3m0-0000-4000-8000-000000000001"
VIEWER_SECRET = "viewer-secret-0000"

recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="all" if RECORD else "none",
    filter_headers=["Authorization"],
    match_on=["method", "scheme", "host", "path", "query", "body"],
    decode_compressed_response=True,
)


def scenario() -> dict[str, Any]:
    data = demo_data()
    data["user"].append({"id": "viewer@pve"})
    data["token"].append({"id": "viewer@pve!ro", "secret": VIEWER_SECRET, "privsep": False})
    data["acl"].append({"path": "/", "subject": "viewer@pve", "role": "PVEAuditor"})
    return data


@pytest.fixture(scope="module")
def server() -> Iterator[Simulator | None]:
    if not RECORD:
        yield None
        return
    sim = Simulator(
        scenario_from_dict(scenario()), port=0, clock=SimClock(FROZEN_EPOCH, frozen=True)
    ).start()
    yield sim
    sim.stop()


def client(
    server: Simulator | None,
    token_id: str = "argus@pve!demo",  # noqa: S107 - an id
    secret: str = DEMO_SECRET,
) -> PveClient:
    port = server.port if server else 8006
    fingerprint = server.fingerprint if server else ":".join(["00"] * 32)
    return PveClient(
        ConnectionSettings(
            "127.0.0.1",
            port,
            token_id,
            Secret(secret),
            TlsConfig("fingerprint", fingerprint=fingerprint),
        )
    )


def test_snapshot_calls(server: Simulator | None) -> None:
    with recorder.use_cassette("snapshot.yaml", allow_playback_repeats=True) as cassette:
        snapshot = collect(client(server))
    assert len(snapshot.guests) == 25 and snapshot.cluster.name == "acme-prod"
    assert "VM.PowerMgmt" in snapshot.privileges.on_guest(101)
    if not RECORD:
        assert cassette.all_played


def test_tasks_and_logs(server: Simulator | None) -> None:
    with recorder.use_cassette("tasks.yaml"):
        pve = client(server)
        items, total = pve.node_tasks("pve-c", limit=10, source="all")
        assert total == len(items) >= 1
        failed = [task_from(i) for i in items if task_from(i).failed]
        assert failed and failed[0].status == "start failed: QEMU exited with code 1"
        lines, _ = pve.task_log("pve-c", failed[0].upid)
        assert lines[-1] == "TASK ERROR: start failed: QEMU exited with code 1"


def test_power_and_status(server: Simulator | None) -> None:
    with recorder.use_cassette("power.yaml"):
        pve = client(server)
        upid = pve.power("pve-b", "qemu", 110, "start")
        assert upid.startswith("UPID:pve-b:") and ":qmstart:110:argus@pve!demo:" in upid
        if server is not None:
            server.advance(10)
        status = pve.task_status("pve-b", upid)
        assert status["status"] == "stopped" and status["exitstatus"] == "OK"


def test_errors(server: Simulator | None) -> None:
    with recorder.use_cassette("errors.yaml"):
        viewer = client(server, "viewer@pve!ro", VIEWER_SECRET)
        with pytest.raises(PermissionDenied) as err:
            viewer.power("pve-a", "qemu", 101, "stop")
        assert (err.value.path, err.value.privilege) == ("/vms/101", "VM.PowerMgmt")
        found = resources_from(viewer.resources())
        nodes, guests = found.nodes, found.guests
        assert len(guests) == 25 and nodes
        assert privileges_from(viewer.permissions("/vms/101")).at("/vms/101") >= {"VM.Audit"}
        with pytest.raises(AuthFailed):
            client(server, "argus@pve!demo", "wrong-secret").version()


def test_cassettes_hold_no_secret() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert len(files) >= 4
    for path in files:
        text = path.read_text()
        for secret in (DEMO_SECRET, VIEWER_SECRET, "wrong-secret"):
            assert secret not in text, path
        assert "PVEAPIToken" not in text, path
