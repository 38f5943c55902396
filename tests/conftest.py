"""Shared fixtures: simulators over real HTTPS, and a proxmoxer client for them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ProxmoxAPI

from argus_tui.sim import certs
from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.scenario import Scenario, scenario_from_dict
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock

# The real PVE contract lives beside the repository when available.
SHARED_PVE = Path(
    os.environ.get("ARGUS_PVE_API_DIR", Path(__file__).parents[2] / "shared" / "pve-api")
)
FROZEN_EPOCH = 1_790_000_000.0  # a fixed "now" for deterministic tests


@pytest.fixture(autouse=True, scope="session")
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """In-process code never writes to the user's own data directory (the history, what a
    server refused): a refusal remembered there would change what later runs show."""
    path = tmp_path_factory.mktemp("data")
    old = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = old


@pytest.fixture(scope="session")
def cert_bundle() -> certs.CertBundle:
    """One certificate for the whole run: generating RSA keys is the slow part of a start."""
    return certs.generate("pve-a", ["127.0.0.1"])


@pytest.fixture
def make_sim(cert_bundle: certs.CertBundle) -> Iterator[Callable[..., Simulator]]:
    """Start simulators on free loopback ports; all are stopped at the end of the test."""
    started: list[Simulator] = []

    def factory(
        scenario: Scenario | dict[str, Any] | None = None, *, frozen: bool = True
    ) -> Simulator:
        if scenario is None:
            scenario = demo_scenario()
        elif isinstance(scenario, dict):
            scenario = scenario_from_dict(scenario)
        clock = SimClock(FROZEN_EPOCH, frozen=True) if frozen else SimClock()
        sim = Simulator(scenario, port=0, clock=clock, bundle=cert_bundle).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """The demo cluster, clock frozen."""
    return make_sim()


def client_for(sim: Simulator, token_id: str | None = None, secret: str | None = None) -> Any:
    """A proxmoxer client that verifies the simulator's certificate against its cluster CA."""
    token_id = token_id or sim.token_id
    secret = secret or sim.token_secret
    user, _, name = token_id.partition("!")
    return ProxmoxAPI(
        "127.0.0.1",
        port=sim.port,
        user=user,
        token_name=name,
        token_value=secret,
        verify_ssl=ca_file_for(sim),
        timeout=10,
    )


@pytest.fixture
def pve(sim: Simulator) -> Any:
    return client_for(sim)


_CA_FILES: dict[bytes, str] = {}


def ca_file_for(sim: Simulator) -> str:
    """A file holding the simulator's cluster CA, for clients that verify TLS properly."""
    pem = sim.bundle.ca_pem
    if pem not in _CA_FILES:
        import tempfile

        handle = tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False)  # noqa: SIM115
        handle.write(pem)
        handle.close()
        _CA_FILES[pem] = handle.name
    return _CA_FILES[pem]
