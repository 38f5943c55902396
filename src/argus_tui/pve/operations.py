"""The client's calls for snapshots, backups and storage content (`PveClient` has them).

Kept apart from the transport in `client.py`; every call goes through its one request
path. Task-starting calls return the UPID; vzdump and volume deletion may answer without
a task (PVE's `"OK"` for a guest on another node, `null` for a finished `delay`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from argus_tui.domain.models import Entity
from argus_tui.errors import ApiError
from argus_tui.pve.paths import snapshot_path, storage_path


class _Requests(Protocol):
    def request(self, method: str, path: str, /, **params: Any) -> Any: ...

    def get(self, path: str, /, **params: Any) -> Any: ...


class OperationsApi:
    """Mixed into PveClient: snapshots, vzdump, storages and their content."""

    # -- snapshots ----------------------------------------------------------------------

    def snapshots(self: _Requests, guest: Entity) -> list[Any]:
        """`GET .../snapshot` (VM.Audit): the snapshots in no order, then `current`."""
        return _list(self.get(snapshot_path(guest)), "snapshot list")

    def snapshot_create(
        self: _Requests,
        guest: Entity,
        name: str,
        *,
        description: str | None = None,
        vmstate: bool | None = None,
    ) -> str:
        """Take a snapshot (VM.Snapshot); `vmstate` saves the RAM of a running VM."""
        params: dict[str, Any] = {"snapname": name, "description": description}
        if vmstate and guest.kind == "qemu":
            params["vmstate"] = True
        return _upid(self.request("POST", snapshot_path(guest), **params).data, "snapshot")

    def snapshot_rollback(
        self: _Requests, guest: Entity, name: str, *, start: bool | None = None
    ) -> str:
        """Roll back (VM.Snapshot or VM.Snapshot.Rollback); `start` starts it afterwards."""
        path = f"{snapshot_path(guest, name)}/rollback"
        return _upid(self.request("POST", path, start=start or None).data, "rollback")

    def snapshot_delete(self: _Requests, guest: Entity, name: str) -> str:
        """Delete a snapshot (VM.Snapshot); its children move to its parent."""
        return _upid(self.request("DELETE", snapshot_path(guest, name)).data, "snapshot delete")

    # -- vzdump -------------------------------------------------------------------------

    def vzdump(
        self: _Requests,
        node: str,
        vmids: Iterable[int],
        *,
        storage: str,
        mode: str = "snapshot",
        notes: str | None = None,
        protected: bool = False,
        compress: str = "zstd",
    ) -> str | None:
        """Back up guests of `node` now, as the web UI's "Backup now" does (`remove=0`:
        older backups are not pruned by a one-off). None: PVE answered "OK" without a task,
        which it does when none of the guests is on `node`."""
        data = self.request(
            "POST",
            f"/nodes/{quote(node)}/vzdump",
            vmid=",".join(str(v) for v in vmids),
            storage=storage,
            mode=mode,
            compress=compress,
            remove=False,
            **{"notes-template": notes or None, "protected": protected or None},
        ).data
        if data == "OK" or data is None:
            return None
        return _upid(data, "backup")

    # -- storage --------------------------------------------------------------------------

    def storage_config(self: _Requests) -> list[Any]:
        """`GET /storage`: storage.cfg entries the token may see (no usage figures)."""
        return _list(self.get("/storage"), "storage list")

    def storage_status(self: _Requests, node: str, storage: str) -> dict[str, Any]:
        data = self.get(f"{storage_path(node, storage)}/status")
        if not isinstance(data, Mapping):
            raise ApiError("storage status answered something other than an object")
        return dict(data)

    def storage_content(
        self: _Requests,
        node: str,
        storage: str,
        *,
        content: str | None = None,
        vmid: int | None = None,
    ) -> list[Any]:
        """The volumes of a storage the token may see (PVE filters per item)."""
        data = self.get(f"{storage_path(node, storage)}/content", content=content, vmid=vmid)
        return _list(data, "storage content")

    def delete_volume(self: _Requests, node: str, volid: str) -> str | None:
        """Delete a volume (a backup: Datastore.AllocateSpace and VM.Backup on its guest).
        None when the server finished without a task."""
        storage = volid.partition(":")[0]
        path = f"{storage_path(node, storage)}/content/{quote(volid, safe='')}"
        data = self.request("DELETE", path).data
        return None if data is None else _upid(data, "volume delete")


def _upid(data: Any, what: str) -> str:
    if not isinstance(data, str) or not data.startswith("UPID:"):
        raise ApiError(f"{what} answered {str(data)[:60]!r} where a task id was expected")
    return data


def _list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise ApiError(f"{what} answered {type(data).__name__} where a list was expected")
    return data
