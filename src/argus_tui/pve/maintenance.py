"""The client's calls for migration, node power, stopping tasks and guest addresses
(`PveClient` has them). Paths come from `paths.py`; see docs/proxmox.md, Migration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from argus_tui.domain.models import Entity
from argus_tui.errors import ApiError
from argus_tui.pve.paths import entity_path


class _Requests(Protocol):
    def request(self, method: str, path: str, /, **params: Any) -> Any: ...

    def get(self, path: str, /, **params: Any) -> Any: ...


class MaintenanceApi:
    """Mixed into PveClient: migrate, migrateall, node reboot/shutdown, task stop, agent."""

    def migrate_precondition(self: _Requests, guest: Entity, target: str | None = None) -> Any:
        """`GET .../migrate` (VM.Migrate): where the guest may go and what holds it back.
        Containers have it from PVE 9 on (older servers answer 501)."""
        return self.get(f"{entity_path(guest)}/migrate", target=target)

    def migrate(
        self: _Requests,
        guest: Entity,
        target: str,
        *,
        online: bool = False,
        restart: bool = False,
        with_local_disks: bool = False,
        timeout: int | None = None,
    ) -> str:
        """Start a migration; a running VM needs `online`, a running container `restart`."""
        params: dict[str, Any] = {"target": target}
        if guest.kind == "qemu":
            params["online"] = online or None
            params["with-local-disks"] = with_local_disks or None
        else:
            params["restart"] = restart or None
            params["timeout"] = timeout if restart else None
        data = self.request("POST", f"{entity_path(guest)}/migrate", **params).data
        return _upid(data, "migration")

    def migrate_all(
        self: _Requests,
        node: str,
        target: str,
        *,
        vms: Iterable[int] | None = None,
        max_workers: int = 1,
        with_local_disks: bool = False,
    ) -> str:
        """`POST /nodes/N/migrateall` (VM.Migrate on / or on each listed guest)."""
        listed = ",".join(str(v) for v in vms) if vms is not None else None
        data = self.request(
            "POST",
            f"/nodes/{quote(node)}/migrateall",
            target=target,
            vms=listed,
            **{"max-workers": max_workers, "with-local-disks": with_local_disks or None},
        ).data
        return _upid(data, "migrate all")

    def node_power(self: _Requests, node: str, command: str) -> None:
        """Reboot or shut down a node (Sys.PowerMgmt); no task: the node goes away."""
        if command not in ("reboot", "shutdown"):
            raise ValueError(f"unknown node command {command!r}")
        self.request("POST", f"/nodes/{quote(node)}/status", command=command)

    def stop_task(self: _Requests, node: str, upid: str) -> None:
        """`DELETE .../tasks/UPID`: the task's owner, or Sys.Modify on the node."""
        self.request("DELETE", f"/nodes/{quote(node)}/tasks/{quote(upid, safe='')}")

    def guest_interfaces(self: _Requests, guest: Entity) -> list[Any]:
        """A VM's interfaces from its guest agent, or a container's from the node."""
        if guest.kind == "lxc":
            data = self.get(f"{entity_path(guest)}/interfaces")
            return data if isinstance(data, list) else []
        data = self.get(f"{entity_path(guest)}/agent/network-get-interfaces")
        result = data.get("result") if isinstance(data, Mapping) else None
        if not isinstance(result, list):
            raise ApiError("the guest agent answered no interface list")
        return result


def _upid(data: Any, what: str) -> str:
    if not isinstance(data, str) or not data.startswith("UPID:"):
        raise ApiError(f"{what} answered {str(data)[:60]!r} where a task id was expected")
    return data
