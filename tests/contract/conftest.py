"""Fixtures for the contract tests: one read-only demo simulator per module, raw HTTPS access.

The contract tests talk to the simulator with plain `requests` (not proxmoxer) because
proxmoxer drops the envelope (`total`) and turns error responses into exceptions; here the
raw status line, body and envelope are what is being checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from argus_tui.sim import certs
from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock
from tests.conftest import FROZEN_EPOCH


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """verify=False is deliberate here (the brief's raw view); keep its warning out of the log."""
    for item in items:
        if "tests/contract/" in item.nodeid.replace("\\", "/"):
            item.add_marker(
                pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
            )


@dataclass(frozen=True, slots=True)
class Wire:
    """Raw HTTPS requests against one simulator, authenticated with one API token."""

    sim: Simulator
    token_id: str
    secret: str

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One request; `headers=None` sends the token header, `{}` sends no credentials."""
        if headers is None:
            headers = {"Authorization": f"PVEAPIToken={self.token_id}={self.secret}"}
        query = params if method in ("GET", "DELETE") else None
        form = params if method in ("POST", "PUT") else None
        return requests.request(
            method,
            f"{self.sim.api_url}{path}",
            params=query,
            data=form,
            headers=headers,
            verify=False,
            timeout=10,
        )

    def envelope(self, method: str, path: str, /, **params: Any) -> dict[str, Any]:
        """The whole JSON body of a request that must succeed."""
        resp = self.request(method, path, params)
        status = f"{resp.status_code} {resp.reason}"
        assert resp.status_code == 200, f"{method} {path} {params}: {status}"
        body: dict[str, Any] = resp.json()
        return body

    def get(self, path: str, /, **params: Any) -> Any:
        """Just `data` of a GET that must succeed."""
        return self.envelope("GET", path, **params)["data"]


def start_demo(bundle: certs.CertBundle) -> Simulator:
    """The demo cluster with the clock frozen, as every contract module uses it."""
    clock = SimClock(FROZEN_EPOCH, frozen=True)
    return Simulator(demo_scenario(), port=0, clock=clock, bundle=bundle).start()


@pytest.fixture(scope="module")
def demo_sim(cert_bundle: certs.CertBundle) -> Iterator[Simulator]:
    """One demo simulator per module, for tests that only read."""
    sim = start_demo(cert_bundle)
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def wire(demo_sim: Simulator) -> Wire:
    """Raw access with the demo token (privileged: every route answers)."""
    return Wire(demo_sim, demo_sim.token_id, demo_sim.token_secret)
