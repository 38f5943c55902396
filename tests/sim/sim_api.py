"""Raw HTTPS access to a running simulator for the sim tests: status, reason, body, tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from tests.conftest import ca_file_for

from argus_tui.domain.upid import UPID
from argus_tui.sim.server import Simulator


@dataclass(frozen=True, slots=True)
class Api:
    """One simulator seen through one API token."""

    sim: Simulator
    token_id: str = ""
    secret: str = ""

    def call(self, method: str, path: str, **params: Any) -> requests.Response:
        token = self.token_id or self.sim.token_id
        secret = self.secret or self.sim.token_secret
        return requests.request(
            method,
            f"{self.sim.api_url}{path}",
            params=params if method in ("GET", "DELETE") else None,
            data=params if method in ("POST", "PUT") else None,
            headers={"Authorization": f"PVEAPIToken={token}={secret}"},
            verify=ca_file_for(self.sim),
            timeout=10,
        )

    def data(self, method: str, path: str, **params: Any) -> Any:
        """`data` of a call that must succeed."""
        resp = self.call(method, path, **params)
        assert resp.status_code == 200, f"{method} {path}: {resp.status_code} {resp.reason}"
        return resp.json()["data"]

    def get(self, path: str, **params: Any) -> Any:
        return self.data("GET", path, **params)

    def post(self, path: str, **params: Any) -> Any:
        return self.data("POST", path, **params)

    def status(self, upid: str) -> dict[str, Any]:
        node = UPID.parse(upid).node
        status: dict[str, Any] = self.get(f"/nodes/{node}/tasks/{upid}/status")
        return status

    def log(self, upid: str) -> list[str]:
        node = UPID.parse(upid).node
        return [line["t"] for line in self.get(f"/nodes/{node}/tasks/{upid}/log", limit=0)]

    def finish(self, upid: str, step: float = 1.0, limit: int = 2000) -> dict[str, Any]:
        """Move the clock until the task has stopped; its status."""
        for _ in range(limit):
            status = self.status(upid)
            if status["status"] == "stopped":
                return status
            self.sim.advance(step)
        raise AssertionError(f"{upid} never finished")

    def guest(self, vmid: int) -> dict[str, Any]:
        entry: dict[str, Any] = next(
            r for r in self.get("/cluster/resources", type="vm") if r["vmid"] == vmid
        )
        return entry

    def tasks(self, node: str, **params: Any) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.get(f"/nodes/{node}/tasks", source="all", **params)
        return listed


def text_of(log: list[str]) -> list[str]:
    """The log lines without AbstractMigrate's `YYYY-MM-DD HH:MM:SS ` prefix."""
    out = []
    for line in log:
        head = line[:20]
        stamped = len(head) == 20 and head[4] == "-" and head[13] == ":" and head[19] == " "
        out.append(line[20:] if stamped else line)
    return out
