"""The Proxmox VE client: a proxmoxer token session, TLS as configured, PVE errors mapped.

proxmoxer builds the session (token header, verify flag, timeouts); requests go through
that session here so that Argus sees what proxmoxer hides: the envelope's `total`,
PVE's reason phrase and JSON `message`, and bodies that are not JSON at all (its own
parser turns those into `{"errors": ...}` data).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from argus_tui.domain.models import Entity
from argus_tui.errors import (
    ApiError,
    ArgusError,
    AuthFailed,
    ConnectionFailed,
    PermissionDenied,
    TLSFailure,
)
from argus_tui.pve.console import ConsoleApi
from argus_tui.pve.decode import decode_resources
from argus_tui.pve.maintenance import MaintenanceApi
from argus_tui.pve.mapping import Resources, resources_from
from argus_tui.pve.operations import OperationsApi
from argus_tui.pve.paths import entity_path
from argus_tui.pve.settings import ConnectionSettings, normalise_fingerprint

if TYPE_CHECKING:  # loaded with the first request: see pve/http.py
    import requests

_PERM_RE = re.compile(r"Permission check failed \(([^,]+), ([^)]+)\)")
_FP_MISMATCH_RE = re.compile(
    r"Expected \"?([0-9a-fA-F:]+)\"?, got \"?([0-9a-fA-F:]+)\"?", re.IGNORECASE
)


@dataclass(slots=True)
class Response:
    data: Any
    total: int | None


class PveClient(OperationsApi, MaintenanceApi, ConsoleApi):
    """Synchronous; call it from worker threads, never from the UI event loop."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        user, sep, token_name = settings.token_id.partition("!")
        if not sep or "@" not in user or not token_name:
            from argus_tui.errors import ConfigError

            raise ConfigError(
                f"token id {settings.token_id!r} is not of the form USER@REALM!TOKENNAME",
                hint="for example argus@pve!tui",
            )
        self._user, self._token_name = user, token_name
        self._http: requests.Session | None = None
        self._http_lock = threading.Lock()
        self.calls = 0  # requests made, for tests and benchmarks

    def __repr__(self) -> str:
        return f"PveClient({self.settings.address}, {self.settings.token_id})"

    @property
    def _session(self) -> requests.Session:
        """The HTTPS session, made by the first request (importing requests then)."""
        if self._http is None:
            with self._http_lock:
                if self._http is None:
                    from argus_tui.pve.http import new_session

                    self._http = new_session(self.settings, self._user, self._token_name)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # -- the one request path -------------------------------------------------------------

    def request(self, method: str, path: str, /, **params: Any) -> Response:
        return self._parse(method, path, self._send(method, path, **params))

    def _send(self, method: str, path: str, /, **params: Any) -> requests.Response:
        """One HTTPS request, its failures to connect mapped; the answer still unread."""
        import requests  # with the session (pve/http.py): at hand once it is made

        url = self.settings.base_url + path
        clean = {k: _wire(v) for k, v in params.items() if v is not None}
        self.calls += 1
        try:
            resp = self._session.request(
                method,
                url,
                params=clean if method in ("GET", "DELETE") else None,
                data=clean if method in ("POST", "PUT") else None,
            )
        except requests.exceptions.SSLError as exc:
            raise self._tls_error(exc) from None
        except requests.exceptions.ConnectTimeout:
            raise ConnectionFailed(
                f"cannot reach {self.settings.address}: connection timed out",
                hint="check the host and port, and that a firewall lets you reach port 8006",
            ) from None
        except requests.exceptions.ReadTimeout:
            raise ConnectionFailed(
                f"{self.settings.address} did not answer {method} {path} within "
                f"{self.settings.read_timeout:g} s",
                hint="the server may be overloaded; try again",
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise ConnectionFailed(
                f"cannot reach {self.settings.address}: {_reason(exc)}",
                hint="check the host and port, and that pveproxy is running",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise ConnectionFailed(f"request to {self.settings.address} failed: {exc}") from None
        return resp

    def _parse(self, method: str, path: str, resp: requests.Response) -> Response:
        status = resp.status_code
        reason = resp.reason or ""
        body: Any = None
        content = resp.content or b""
        is_json = True
        if content:
            try:
                body = decode_json(content)
            except ValueError:
                is_json = False
        text = content.decode("utf-8", "replace") if not is_json or status >= 400 else ""
        if status >= 400:
            message = reason
            if isinstance(body, Mapping) and isinstance(body.get("message"), str):
                message = body["message"].strip() or reason
            errors = body.get("errors") if isinstance(body, Mapping) else None
            raise self._http_error(method, path, status, message, errors, is_json, text)
        if not is_json or not isinstance(body, Mapping) or "data" not in body:
            what = "an HTML page" if text.lstrip().startswith("<") else "malformed JSON"
            raise ApiError(
                f"{self.settings.address} answered {method} {path} with {what} instead of PVE's"
                " JSON",
                status=status,
                hint="is a reverse proxy or another service answering on this port?",
            )
        total = body.get("total")
        return Response(body["data"], total if isinstance(total, int) else None)

    def _http_error(
        self,
        method: str,
        path: str,
        status: int,
        message: str,
        errors: Any,
        is_json: bool,
        text: str,
    ) -> ArgusError:
        where = self.settings.address
        if status == 401:
            why = message or "authentication failed"
            return AuthFailed(
                f"{where} refused token {self.settings.token_id}: {why}"
                " (wrong secret, unknown, expired or disabled token)",
                hint="check the token id and secret, or log in again with 'argus login'",
            )
        if status == 403:
            match = _PERM_RE.search(message)
            if match:
                path_, priv = match.group(1), match.group(2)
                return PermissionDenied(
                    f"token {self.settings.token_id} lacks {priv} on {path_}",
                    path=path_,
                    privilege=priv,
                    hint="see 'argus doctor' for what the token can do and how to grant more",
                )
            return PermissionDenied(f"permission denied: {message}")
        if status in (595, 596):
            return ConnectionFailed(
                f"{where} could not reach the node for {path}: {message or 'node unreachable'}",
                hint="the node may be offline; the cluster view shows which",
            )
        if not is_json and text.lstrip().startswith("<"):
            return ApiError(
                f"{where} answered {method} {path} with HTTP {status} and an HTML page"
                f" ({message or 'no reason given'})",
                status=status,
                hint="a reverse proxy in front of Proxmox may be failing",
            )
        if status == 400 and isinstance(errors, Mapping) and errors:
            detail = "; ".join(f"{k}: {str(v).strip()}" for k, v in errors.items())
            return ApiError(f"invalid request {method} {path}: {detail}", status=status)
        return ApiError(f"{method} {path} failed: {message or f'HTTP {status}'}", status=status)

    def _tls_error(self, exc: requests.exceptions.SSLError) -> TLSFailure:
        text = str(exc)
        match = _FP_MISMATCH_RE.search(text)
        if match or "Fingerprints did not match" in text:
            expected = self.settings.tls.fingerprint or "?"
            got = match.group(2) if match else "?"
            with contextlib.suppress(ValueError):
                got = normalise_fingerprint(got)
            return TLSFailure(
                f"the certificate of {self.settings.address} has changed: pinned {expected},"
                f" server presents {got}",
                hint="if the change is expected (renewed certificate), run 'argus login' again to"
                " pin the new one; otherwise someone may be intercepting the connection",
            )
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return TLSFailure(
                f"cannot verify the certificate of {self.settings.address}"
                f" ({_verify_reason(text)})",
                hint="Proxmox uses a self-signed certificate: pin it with 'argus login' (which"
                " shows its fingerprint) or pass --fingerprint or --ca-file",
            )
        return TLSFailure(f"TLS handshake with {self.settings.address} failed: {_reason(exc)}")

    # -- API calls Argus uses ------------------------------------------------------------

    def get(self, path: str, /, **params: Any) -> Any:
        return self.request("GET", path, **params).data

    def version(self) -> dict[str, Any]:
        data = self.get("/version")
        if not isinstance(data, Mapping):
            raise ApiError("/version answered something other than an object")
        return dict(data)

    def cluster_status(self) -> list[Any]:
        return _list(self.get("/cluster/status"), "/cluster/status")

    def resources(self, type_: str | None = None) -> list[Any]:
        return _list(self.get("/cluster/resources", type=type_), "/cluster/resources")

    def cluster_resources(self) -> Resources:
        """Every node, guest and storage, mapped: the body goes straight into typed
        structures (pve/decode.py) unless it does not fit them, then the tolerant way."""
        return self._resources_of(self._send("GET", "/cluster/resources"))

    def _resources_of(self, resp: requests.Response) -> Resources:
        if resp.status_code < 400 and resp.content:
            found = decode_resources(resp.content)
            if found is not None:
                return found
        data = self._parse("GET", "/cluster/resources", resp).data
        return resources_from(_list(data, "/cluster/resources"))

    def permissions(self, path: str | None = None) -> Any:
        return self.get("/access/permissions", path=path)

    def node_tasks(self, node: str, *, limit: int = 50, **filters: Any) -> tuple[list[Any], int]:
        """One page of a node's tasks and the total (proxmoxer would drop it)."""
        resp = self.request("GET", f"/nodes/{quote(node)}/tasks", limit=limit, **filters)
        items = _list(resp.data, "tasks")
        return items, resp.total if resp.total is not None else len(items)

    def task_status(self, node: str, upid: str) -> dict[str, Any]:
        data = self.get(f"/nodes/{quote(node)}/tasks/{quote(upid, safe='')}/status")
        if not isinstance(data, Mapping):
            raise ApiError("task status answered something other than an object")
        return dict(data)

    def task_log(
        self, node: str, upid: str, start: int = 0, limit: int = 500
    ) -> tuple[list[str], int]:
        """Log lines from `start` (0-based) and the total number of lines so far."""
        resp = self.request(
            "GET",
            f"/nodes/{quote(node)}/tasks/{quote(upid, safe='')}/log",
            start=start,
            limit=limit,
        )
        lines = []
        for item in _list(resp.data, "task log"):
            if isinstance(item, Mapping):
                lines.append(str(item.get("t", "")))
        total = resp.total if resp.total is not None else start + len(lines)
        return lines, total

    def power(self, node: str, guest_type: str, vmid: int, action: str, **params: Any) -> str:
        data = self.request(
            "POST", f"/nodes/{quote(node)}/{guest_type}/{vmid}/status/{action}", **params
        ).data
        if not isinstance(data, str):
            raise ApiError(f"{action} of {vmid} answered no task id")
        return data

    def node_status(self, node: str) -> dict[str, Any]:
        """`/nodes/{node}/status`: load, memory, kernel and PVE versions (Sys.Audit)."""
        return _object(self.get(f"/nodes/{quote(node)}/status"), "node status")

    def guest_status(self, guest: Entity) -> dict[str, Any]:
        """`status/current` of a guest (VM.Audit)."""
        return _object(self.get(f"{entity_path(guest)}/status/current"), "guest status")

    def guest_config(self, guest: Entity) -> dict[str, Any]:
        """The guest's current configuration (VM.Audit)."""
        return _object(self.get(f"{entity_path(guest)}/config"), "guest config")

    def rrddata(self, entity: Entity, timeframe: str, cf: str = "AVERAGE") -> list[Any]:
        """rrddata rows of a node or a guest for `hour`, `day`, `week`, ..."""
        data = self.get(f"{entity_path(entity)}/rrddata", timeframe=timeframe, cf=cf)
        return _list(data, "rrddata")

    def cluster_log(self, limit: int = 100) -> list[Any]:
        """The cluster log, newest first."""
        return _list(self.get("/cluster/log", max=limit), "cluster log")

    def ha_status(self) -> list[Any]:
        """HA manager status: one entry per service, plus the quorum and master."""
        return _list(self.get("/cluster/ha/status/current"), "HA status")

    def syslog(self, node: str, start: int = 0, limit: int = 500) -> tuple[list[str], int | None]:
        """Syslog lines from `start` (0 is the oldest) and the total, when the server says it."""
        resp = self.request("GET", f"/nodes/{quote(node)}/syslog", start=start, limit=limit)
        rows = resp.data if isinstance(resp.data, list) else []
        return [str(r.get("t", "")) for r in rows if isinstance(r, Mapping)], resp.total


def decode_json(content: bytes) -> Any:
    """JSON bytes as `json.loads` of their UTF-8 text (bad bytes replaced) would give them,
    several times faster on the large bodies of big clusters. msgspec accepts a subset of
    what json accepts (no invalid UTF-8, lone surrogates, NaN or out-of-range floats) and
    gives the same values for it; anything else goes to json. Raises ValueError."""
    try:
        return msgspec.json.decode(content)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return json.loads(content.decode("utf-8", "replace"))


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ApiError(f"{what} answered {type(data).__name__} where an object was expected")
    return dict(data)


def _list(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise ApiError(f"{what} answered {type(data).__name__} where a list was expected")
    return data


def _wire(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return value


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker, friendly in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "unknown host name"),
        ("Temporary failure in name resolution", "host name lookup failed"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("timed out", "timed out"),
        ("Connection reset", "connection reset"),
        ("RemoteDisconnected", "the server closed the connection"),
    ):
        if marker in text:
            return friendly
    return text.split(": ")[-1][:200]


def _verify_reason(text: str) -> str:
    for marker in (
        "self-signed certificate",
        "unable to get local issuer certificate",
        "Hostname mismatch",
        "certificate has expired",
    ):
        if marker.lower() in text.lower():
            return marker
    return "certificate verify failed"
