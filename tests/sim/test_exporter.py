"""The real prometheus-pve-exporter scrapes the simulator without errors.

The exporter is a Proxmox VE client nobody here wrote: if its collectors can read the
simulator and the figures it exports match the demo cluster, the simulator's wire format
is close enough to PVE's for third-party tools, not just for our own client.

It runs as it does in production: its own gunicorn HTTP server in a subprocess, token
auth, and TLS verified against the simulator's cluster CA (`verify_ssl` is handed to
requests as `verify`, so a CA bundle path works).

Collectors turned off, because each calls an endpoint outside the simulator's route table
(`argus_tui.sim.api`); they are chosen by asking the route table, so one comes back on by itself
when the simulator learns its endpoint:

* backup-info  - GET /cluster/backup-info/not-backed-up (a 501 fails the whole scrape)
* qdevice      - GET /cluster/config/qdevice (it swallows the error, but would test nothing)
* subscription - GET /nodes/{node}/subscription
* replication  - GET /nodes/{node}/replication (and /nodes/{node}/replication/{id}/status)

Still on: status, version, node, cluster, resources (cluster/status, cluster/resources,
version) and config (nodes/{node}/qemu|lxc and their /config).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from tests.conftest import client_for

from argus_tui.sim.server import Simulator

EXPORTER = Path(sys.executable).with_name("pve_exporter")

# collector flag name -> the endpoint it needs ({node} is the node marked "local")
OPTIONAL_COLLECTORS = {
    "backup-info": "/cluster/backup-info/not-backed-up",
    "qdevice": "/cluster/config/qdevice",
    "subscription": "/nodes/{node}/subscription",
    "replication": "/nodes/{node}/replication",
}
LOG_PROBLEMS = ("[ERROR]", "[CRITICAL]", "Traceback", "Exception", "Warning")

pytestmark = pytest.mark.skipif(
    not EXPORTER.exists(), reason="prometheus-pve-exporter is not installed in this venv"
)


@dataclass
class Exporter:
    url: str
    log: Path
    disabled: list[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _local_node(sim: Simulator) -> str:
    """The node the exporter's node collectors ask about: cluster/status's `local` one."""
    status = client_for(sim).cluster.status.get()
    return str(next(e["name"] for e in status if e["type"] == "node" and e["local"]))


@pytest.fixture
def exporter(sim: Simulator, tmp_path: Path) -> Iterator[Exporter]:
    """pve_exporter's own HTTP server, configured for the simulator's token and CA."""
    ca = tmp_path / "pve-root-ca.pem"
    ca.write_bytes(sim.bundle.ca_pem)
    user, _, token_name = sim.token_id.partition("!")
    config = tmp_path / "pve.yml"
    config.write_text(
        "default:\n"
        f"  user: '{user}'\n"
        f"  token_name: '{token_name}'\n"
        f"  token_value: '{sim.token_secret}'\n"
        f"  verify_ssl: '{ca}'\n"
        "  timeout: 10\n",
        encoding="utf-8",
    )
    node = _local_node(sim)
    disabled = [
        name
        for name, path in OPTIONAL_COLLECTORS.items()
        if sim.api.find("GET", path.format(node=node)) is None
    ]
    port = _free_port()
    log = tmp_path / "exporter.log"
    cmd = [
        str(EXPORTER),
        "--config.file",
        str(config),
        "--web.listen-address",
        f"127.0.0.1:{port}",
        *(f"--no-collector.{name}" for name in disabled),
    ]
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"pve_exporter exited with {proc.returncode}:\n{log.read_text()}")
            try:
                requests.get(f"{url}/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail(f"pve_exporter did not listen:\n{log.read_text()}")
                time.sleep(0.1)
        yield Exporter(url, log, disabled)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Sample name -> {sorted label pairs: value}, from the Prometheus text format."""
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            out.setdefault(sample.name, {})[labels] = sample.value
    return out


def _by_id(samples: dict[tuple[tuple[str, str], ...], float]) -> dict[str, float]:
    return {dict(labels)["id"]: value for labels, value in samples.items()}


def _labels_by_id(samples: dict[tuple[tuple[str, str], ...], float]) -> dict[str, dict[str, str]]:
    return {dict(labels)["id"]: dict(labels) for labels in samples}


def test_pve_exporter_scrapes_the_demo_cluster(sim: Simulator, exporter: Exporter) -> None:
    # `node` is a flag (run the node collectors), not a node name; they ask cluster/status
    # which node is local.
    resp = requests.get(
        f"{exporter.url}/pve",
        params={"target": f"127.0.0.1:{sim.port}", "cluster": "1", "node": "1"},
        timeout=60,
    )
    log = exporter.log.read_text(encoding="utf-8", errors="replace")
    assert resp.status_code == 200, log
    assert resp.headers["content-type"].startswith("text/plain")
    metrics = _samples(resp.text)

    scenario = sim.scenario
    guests = {f"{g.type}/{g.vmid}": g for g in scenario.guests}
    nodes = {f"node/{n.name}": n for n in scenario.nodes}
    assert len(guests) == 25

    # StatusCollector: cluster/status and cluster/resources?type=vm|storage
    up = _by_id(metrics["pve_up"])
    assert up[f"cluster/{scenario.cluster_name}"] == 1
    assert {k: v for k, v in up.items() if k.startswith("node/")} == {k: 1 for k in nodes}
    assert up["qemu/100"] == 1
    assert up["qemu/105"] == 0  # stopped
    assert {k: v for k, v in up.items() if k in guests} == {
        key: float(g.status == "running") for key, g in guests.items()
    }
    storages = [k for k in up if k.startswith("storage/")]
    assert storages and all(up[k] == 1 for k in storages)

    # VersionCollector, ClusterNodeCollector, ClusterInfoCollector
    (version,) = metrics["pve_version_info"]
    assert dict(version)["version"] == scenario.version
    node_info = _labels_by_id(metrics["pve_node_info"])
    assert set(node_info) == set(nodes)
    assert node_info["node/pve-a"]["name"] == "pve-a"
    (cluster,) = metrics["pve_cluster_info"]
    assert dict(cluster)["nodes"] == str(len(nodes))
    assert dict(cluster)["quorate"] == "1"

    # ClusterResourcesCollector: info labels from the scenario, figures from the API
    guest_info = _labels_by_id(metrics["pve_guest_info"])
    assert set(guest_info) == set(guests)
    for key, g in guests.items():
        assert guest_info[key]["name"] == g.name
        assert guest_info[key]["node"] == g.node
        assert guest_info[key]["type"] == g.type
        assert guest_info[key]["template"] == str(int(g.template))
    cpu = _by_id(metrics["pve_cpu_usage_ratio"])
    assert set(guests) | set(nodes) <= set(cpu)
    assert _by_id(metrics["pve_cpu_usage_limit"])["qemu/102"] == guests["qemu/102"].cores
    mem_size = _by_id(metrics["pve_memory_size_bytes"])
    assert {k: mem_size[k] for k in guests} == {k: g.memory for k, g in guests.items()}
    resources: list[dict[str, Any]] = client_for(sim).cluster.resources.get()
    for res in resources:  # the clock is frozen: the exporter saw these very figures
        if "cpu" in res:
            assert cpu[res["id"]] == pytest.approx(res["cpu"]), res["id"]
    assert _by_id(metrics["pve_network_receive_bytes_total"])
    lock = metrics["pve_lock_state"]
    assert lock[(("id", "qemu/104"), ("state", "backup"))] == 1
    ha = [(dict(k), v) for k, v in metrics["pve_ha_state"].items()]
    ha_started = {lb["id"] for lb, v in ha if v == 1 and lb["state"] == "started"}
    assert ha_started == {k for k, g in guests.items() if g.ha and g.status == "running"}

    # NodeConfigCollector: the local node's guests and their config
    local = _local_node(sim)
    onboot = _by_id(metrics["pve_onboot_status"])
    assert set(onboot) == {k for k, g in guests.items() if g.node == local and g.onboot}
    assert onboot and set(onboot.values()) == {1}

    # The exporter logged no errors, warnings or tracebacks.
    problems = [line for line in log.splitlines() if any(p in line for p in LOG_PROBLEMS)]
    assert not problems, log
