"""The client against the simulator over real HTTPS: TLS modes, paging, every error path."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from tests.conftest import FROZEN_EPOCH, ca_file_for

from argus_tui.domain.secret import Secret
from argus_tui.errors import (
    ApiError,
    AuthFailed,
    ConfigError,
    ConnectionFailed,
    PermissionDenied,
    TLSFailure,
)
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig, normalise_fingerprint
from argus_tui.pve.tls import fetch_fingerprint
from argus_tui.sim import certs
from argus_tui.sim.demo import demo_data
from argus_tui.sim.scenario import FaultRule, Faults
from argus_tui.sim.server import Simulator
from argus_tui.sim.state import SimClock

OTHER = "AA:" * 31 + "AA"


def make_client(
    sim: Simulator,
    *,
    tls: TlsConfig | None = None,
    token_id: str | None = None,
    secret: str | None = None,
    read_timeout: float = 10,
    port: int | None = None,
) -> PveClient:
    return PveClient(
        ConnectionSettings(
            host="127.0.0.1",
            port=port or sim.port,
            token_id=token_id or sim.token_id,
            secret=Secret(secret or sim.token_secret),
            tls=tls or TlsConfig("fingerprint", fingerprint=sim.fingerprint),
            connect_timeout=2,
            read_timeout=read_timeout,
        )
    )


@pytest.fixture
def client(sim: Simulator) -> PveClient:
    return make_client(sim)


def test_tls_modes(sim: Simulator) -> None:
    assert make_client(sim).version()["version"] == "9.1.2"
    ca = TlsConfig("ca", ca_file=ca_file_for(sim))
    assert make_client(sim, tls=ca).version()["version"] == "9.1.2"
    assert make_client(sim, tls=TlsConfig("insecure")).version()["version"] == "9.1.2"
    with pytest.raises(TLSFailure) as err:
        make_client(sim, tls=TlsConfig("system")).version()
    assert "cannot verify the certificate of 127.0.0.1" in err.value.message
    assert "argus login" in err.value.hint


def test_changed_certificate_is_refused_showing_both_fingerprints(sim: Simulator) -> None:
    with pytest.raises(TLSFailure) as err:
        make_client(sim, tls=TlsConfig("fingerprint", fingerprint=OTHER)).version()
    message = str(err.value)
    assert "has changed" in message and OTHER in message and sim.fingerprint in message


def test_fetch_fingerprint_matches_server(sim: Simulator) -> None:
    assert fetch_fingerprint("127.0.0.1", sim.port) == sim.fingerprint
    assert normalise_fingerprint(sim.fingerprint.replace(":", "").lower()) == sim.fingerprint
    with pytest.raises(ValueError):
        normalise_fingerprint("AB:CD")


def test_one_call_per_refresh_not_per_guest(client: PveClient) -> None:
    from argus_tui.services.snapshot import collect

    before = client.calls
    snapshot = collect(client)
    assert client.calls - before == 4  # version, cluster/status, resources, permissions
    assert len(snapshot.guests) == 25 and len(snapshot.nodes) == 3
    assert snapshot.cluster.name == "acme-prod" and snapshot.cluster.quorate is True
    # storage usage (the storage screen, the backup picker) rides on the same call
    assert snapshot.storages and {s.node for s in snapshot.storages} == {"pve-a", "pve-b", "pve-c"}
    assert all(s.total for s in snapshot.storages if s.active)


def test_task_paging_keeps_total(sim: Simulator, client: PveClient) -> None:
    items, total = client.node_tasks("pve-a", limit=1)
    assert len(items) == 1 and total >= 3
    upid = client.node_tasks("pve-b", limit=5, typefilter="aptupdate")[0][0]["upid"]
    first, total = client.task_log("pve-b", upid, 0, 2)
    rest, again = client.task_log("pve-b", upid, 2, 2)
    lines = first + rest
    assert total == again == 4 and len(first) == 2
    assert lines[-1] == "TASK OK" and len(lines) == 4


def test_auth_errors(sim: Simulator) -> None:
    with pytest.raises(AuthFailed) as err:
        make_client(sim, secret="s3cr3t-value").version()
    assert err.value.exit_code == 3
    assert "Authentication failed!" in err.value.message
    assert "s3cr3t-value" not in str(err.value)
    with pytest.raises(ConfigError):
        make_client(sim, token_id="not-a-token")


def test_permission_denied_names_privilege_and_path(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["user"].append({"id": "viewer@pve"})
    data["token"].append({"id": "viewer@pve!ro", "secret": "ro-secret", "privsep": False})
    data["acl"].append({"path": "/", "subject": "viewer@pve", "role": "PVEAuditor"})
    sim = make_sim(data)
    viewer = make_client(sim, token_id="viewer@pve!ro", secret="ro-secret")
    with pytest.raises(PermissionDenied) as err:
        viewer.power("pve-a", "qemu", 101, "stop")
    assert (err.value.privilege, err.value.path, err.value.exit_code) == (
        "VM.PowerMgmt",
        "/vms/101",
        4,
    )


def test_api_errors(client: PveClient) -> None:
    with pytest.raises(ApiError) as err:
        client.power("pve-a", "qemu", 999, "start")
    assert "Configuration file 'nodes/pve-a/qemu-server/999.conf' does not exist" in str(err.value)
    with pytest.raises(ApiError) as err:
        client.get("/nodes/pve-a/rrddata", timeframe="fortnight")
    assert "timeframe: value 'fortnight' does not have a value in the enumeration" in str(err.value)
    with pytest.raises(ApiError) as err:
        client.get("/nodes/pve-a/nonsense")
    assert err.value.status == 501


def test_node_unreachable(make_sim: Callable[..., Simulator]) -> None:
    data = demo_data()
    data["node"][1]["status"] = "offline"
    sim = make_sim(data)
    with pytest.raises(ConnectionFailed) as err:
        make_client(sim).node_tasks("pve-b")
    assert "No route to host" in str(err.value) and err.value.exit_code == 3


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (FaultRule(html_error=True), "HTML page"),
        (FaultRule(malformed_json=True), "malformed JSON"),
        (FaultRule(truncated_json=True), "malformed JSON"),
        (FaultRule(error_rate=1.0, error_status=500), "simulated failure"),
        (FaultRule(error_rate=1.0, error_status=596), "could not reach the node"),
    ],
)
def test_broken_answers(sim: Simulator, client: PveClient, rule: FaultRule, text: str) -> None:
    sim.set_faults(Faults(rules=[rule]))
    with pytest.raises((ApiError, ConnectionFailed)) as err:
        client.resources()
    assert text in str(err.value)


def test_read_timeout(sim: Simulator) -> None:
    sim.set_faults(Faults(rules=[FaultRule(hang=True)]))
    with pytest.raises(ConnectionFailed) as err:
        make_client(sim, read_timeout=0.3).version()
    assert "did not answer" in str(err.value)


@pytest.fixture
def closed_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield port


def test_connection_refused(sim: Simulator, closed_port: int) -> None:
    with pytest.raises(ConnectionFailed) as err:
        make_client(sim, port=closed_port).version()
    assert "connection refused" in str(err.value)


def test_server_that_never_speaks_tls(sim: Simulator) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def answer() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nplain http")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    with pytest.raises(ConnectionFailed):
        make_client(sim, port=port).version()
    listener.close()


def test_secret_never_in_repr(sim: Simulator) -> None:
    client = make_client(sim)
    assert sim.token_secret not in repr(client.settings)
    assert sim.token_secret not in repr(client)


def test_renewed_certificate_on_same_port_is_detected(cert_bundle: certs.CertBundle) -> None:
    """The server gets a new certificate: a pinned client refuses it."""
    from argus_tui.sim.demo import demo_scenario

    first = Simulator(
        demo_scenario(), port=0, clock=SimClock(FROZEN_EPOCH, frozen=True), bundle=cert_bundle
    ).start()
    pinned = first.fingerprint
    port = first.port
    first.stop()
    second = Simulator(
        demo_scenario(), port=port, clock=SimClock(FROZEN_EPOCH, frozen=True)
    ).start()
    try:
        with pytest.raises(TLSFailure) as err:
            make_client(second, tls=TlsConfig("fingerprint", fingerprint=pinned)).version()
        assert pinned in str(err.value) and second.fingerprint in str(err.value)
    finally:
        second.stop()
