"""The simulator's HTTPS front end: token auth, faults and PVE's wire format.

`Simulator` is what tests and `argus sim` use: it owns the cluster state, the
certificate and a threaded HTTPS server on a loopback port (0 picks a free one).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import ssl
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from argus_tui.sim import certs, websocket
from argus_tui.sim.api import Api
from argus_tui.sim.console import Consoles
from argus_tui.sim.scenario import FaultRule, Faults, Scenario
from argus_tui.sim.state import ClusterState, SimClock, SimError

API_PREFIX = "/api2/json"
_HTML_ERROR = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    simulator: Simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that drop TLS or the connection are normal here; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    # TCP_NODELAY: headers and body go out in separate writes; with Nagle on, the body
    # waits for the client's delayed ACK and every response costs ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.simulator.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ---------------------------------------------------------------------------

    def _read_params(self) -> dict[str, str]:
        parsed = urllib.parse.urlsplit(self.path)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            raw = self.rfile.read(length)
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                body = json.loads(raw or b"{}")
                for key, value in body.items():
                    if isinstance(value, bool):
                        value = int(value)
                    if isinstance(value, list):  # an array parameter: items NUL-separated
                        value = "\0".join(str(item) for item in value)
                    params[key] = str(value)
            else:
                for key, values in urllib.parse.parse_qs(raw.decode(), True).items():
                    params[key] = values[-1]
        return params

    def _send(
        self,
        status: int,
        reason: str,
        body: bytes,
        content_type: str = "application/json;charset=UTF-8",
    ) -> None:
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        compress = accepts_gzip and len(body) > 1024
        if compress:
            body = gzip.compress(body, compresslevel=1)
        self.send_response(status, reason)
        self.send_header("Cache-Control", "max-age=0")
        self.send_header("Pragma", "no-cache")
        if body or content_type != "application/json;charset=UTF-8":
            self.send_header("Content-Type", content_type)
        if compress:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, exc: SimError) -> None:
        if not exc.body:
            self._send(exc.status, exc.reason, b"")
            return
        payload: dict[str, Any] = {"data": None}
        if exc.errors:
            payload["errors"] = exc.errors
        payload["message"] = exc.reason + "\n"
        self._send(exc.status, exc.reason.split("\n", 1)[0], json.dumps(payload).encode())

    def _dispatch(self, method: str) -> None:
        sim = self.server.simulator
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        if not path.startswith(API_PREFIX + "/") and path != API_PREFIX:
            self._error(SimError(501, f"Method '{method} {path}' not implemented"))
            return
        api_path = path[len(API_PREFIX) :] or "/"
        rule = sim.fault_for(api_path)
        if rule is not None and rule.latency_ms:
            time.sleep(rule.latency_ms / 1000)
        if rule is not None and rule.hang:
            sim.stopping.wait(300)
            self.close_connection = True
            return
        try:
            params = self._read_params()
        except (ValueError, UnicodeDecodeError):
            self._error(
                SimError(
                    400, "Parameter verification failed.", errors={"body": "malformed request body"}
                )
            )
            return
        authid = sim.authenticate(self.headers.get("Authorization"))
        if authid is None or authid.startswith("!"):
            if sim.faults.auth_delay_s:
                time.sleep(sim.faults.auth_delay_s)
            reason = "No ticket" if authid == "!none" else "Authentication failed!"
            self._send(401, reason, b"")
            return
        if rule is not None and rule.html_error:
            self._send(502, "Bad Gateway", _HTML_ERROR.encode(), "text/html")
            return
        if rule is not None and rule.error_rate and sim.rng.random() < rule.error_rate:
            status = rule.error_status
            self._error(SimError(status, "simulated failure (fault injection)", body=status < 595))
            return
        try:
            result = sim.api.handle(authid, method, urllib.parse.unquote(api_path), params)
        except SimError as exc:
            if exc.status == 401 and sim.faults.auth_delay_s:  # PVE delays every 401
                time.sleep(sim.faults.auth_delay_s)
            self._error(exc)
            return
        if method == "GET" and api_path.endswith("/vncwebsocket") and "Upgrade" in self.headers:
            # The route checked permission and ticket; PVE now relays to termproxy's port.
            self.close_connection = True
            node, port = api_path.split("/")[2], int(result.data["port"])
            websocket.serve(
                self.connection, self.rfile, self.path, self.headers, sim.consoles, node, port
            )
            return
        payload: dict[str, Any] = {"data": result.data}
        if result.total is not None:
            payload["total"] = result.total
        body = json.dumps(payload, separators=(",", ":")).encode()
        if rule is not None and rule.malformed_json:
            body = b'{"data": [{"id": "node/pve-a", "status": online}' + body[:20]
        elif rule is not None and rule.truncated_json:
            body = body[: max(1, len(body) // 2)]
        self._send(200, "OK", body)


class Simulator:
    """A simulated PVE cluster served over HTTPS; start(), use `url`, stop()."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: SimClock | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        bundle: certs.CertBundle | None = None,
        verbose: bool = False,
    ) -> None:
        self.scenario = scenario
        self.state = ClusterState(scenario, clock)
        self.api = Api(self.state)
        self.faults: Faults = scenario.faults
        self.rng = random.Random(scenario.seed)
        self.verbose = verbose
        self.stopping = threading.Event()
        node_name = scenario.nodes[0].name
        if bundle is not None:
            self.bundle = bundle
        elif cert_file is not None and key_file is not None:
            self.bundle = certs.load(cert_file, key_file)
        else:
            self.bundle = certs.generate(node_name, [host])
        self.state.fingerprint = self.bundle.fingerprint
        self._httpd = _Server((host, port), _Handler, bind_and_activate=True)
        self._httpd.simulator = self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        with tempfile.TemporaryDirectory(prefix="argus-sim-") as tmp:
            cert_path = Path(tmp, "cert.pem")
            key_path = Path(tmp, "key.pem")
            cert_path.write_bytes(self.bundle.cert_pem)
            key_path.write_bytes(self.bundle.key_pem)
            os.chmod(key_path, 0o600)
            context.load_cert_chain(cert_path, key_path)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread: threading.Thread | None = None
        self.host = host

    # -- what clients need --------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}{API_PREFIX}"

    @property
    def fingerprint(self) -> str:
        return self.bundle.fingerprint

    @property
    def token_id(self) -> str:
        return self.scenario.tokens[0].id

    @property
    def token_secret(self) -> str:
        return self.scenario.tokens[0].secret

    @property
    def clock(self) -> SimClock:
        return self.state.clock

    @property
    def consoles(self) -> Consoles:
        """The termproxy sessions (text consoles) open now."""
        return self.state.consoles

    @property
    def console_accept_timeout(self) -> float:
        """Real seconds termproxy waits for the WebSocket, then for the ticket line (10)."""
        return self.state.consoles.accept_timeout

    @console_accept_timeout.setter
    def console_accept_timeout(self, seconds: float) -> None:
        self.state.consoles.accept_timeout = seconds

    def close_consoles(self) -> None:
        """Drop every console connection now, as if each console program had exited."""
        self.state.consoles.close_all()

    def advance(self, seconds: float) -> None:
        """Move simulated time forward; tasks due by then finish."""
        self.state.clock.advance(seconds)
        self.state.tick()

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults

    def fault_for(self, api_path: str) -> FaultRule | None:
        for rule in self.faults.rules:
            if not rule.path or api_path.startswith(rule.path):
                return rule
        return None

    def authenticate(self, header: str | None) -> str | None:
        """The token id for a valid `PVEAPIToken` header; "!none" without credentials."""
        if not header:
            return "!none"
        scheme, _, rest = header.partition("=")
        if scheme != "PVEAPIToken":
            scheme, _, rest = header.partition(" ")
            if scheme != "PVEAPIToken":
                return "!none"
        tokenid, sep, secret = urllib.parse.unquote(rest).rpartition("=")
        if not sep:
            return None
        token = self.state.tokens.get(tokenid)
        if token is None or token.secret != secret:
            return None
        if token.expire and token.expire < self.state.now():
            return None
        user = next((u for u in self.scenario.users if u.id == token.userid), None)
        if user is None or not user.enable:
            return None
        return tokenid

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Serve in a background thread; returns self for chaining."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="argus-sim",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.stopping.set()
        self.state.consoles.close_all()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
