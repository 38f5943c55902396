"""The client's side of a console against the simulator over real HTTPS and WebSocket:
TLS as for the API (the pin checked before the upgrade), termproxy's answers, the
refusals of older builds, and the console service's checks, journal and memory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ca_file_for
from tests.pve.test_client import OTHER, make_client

from argus_tui.domain.console import ConsoleTarget, input_frame
from argus_tui.errors import (
    ApiError,
    ConsoleRefused,
    OperationFailed,
    PermissionDenied,
    TLSFailure,
)
from argus_tui.pve.client import PveClient
from argus_tui.pve.console import ConsoleEnded, ConsoleSocket, ticket_from
from argus_tui.pve.settings import TlsConfig
from argus_tui.services.console import ConsoleMemo, ConsoleService
from argus_tui.services.console_bridge import BridgeEnd
from argus_tui.services.runner import TaskRunner
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator
from argus_tui.store import open_history

CT = ConsoleTarget("lxc", "pve-a", 200, "nginx-lb-01")
VM_SERIAL = ConsoleTarget("qemu", "pve-a", 102, "pg-primary")
VM_NO_SERIAL = ConsoleTarget("qemu", "pve-a", 101, "dc-ad-01")


def read_until(sock: ConsoleSocket, needle: bytes, timeout: float = 5.0) -> bytes:
    seen = sock.first
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        seen += sock.recv(0.2) or b""
    return seen


def round_trip(client: PveClient, target: ConsoleTarget = CT) -> bytes:
    ticket = client.termproxy(target)
    with client.console(target, ticket) as sock:
        read_until(sock, b"# ")
        sock.send(input_frame(b"hostname\r"))
        return read_until(sock, b"\r\n" + target.name.encode() + b"\r\n")


@pytest.mark.parametrize(
    "tls",
    ["fingerprint", "ca", "insecure"],
)
def test_console_over_each_tls_mode(sim: Simulator, tls: str) -> None:
    config = {
        "fingerprint": TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        "ca": TlsConfig("ca", ca_file=ca_file_for(sim)),
        "insecure": TlsConfig("insecure"),
    }[tls]
    assert b"nginx-lb-01\r\n" in round_trip(make_client(sim, tls=config))


def test_unverified_certificate_is_refused(sim: Simulator) -> None:
    client = make_client(sim)
    ticket = client.termproxy(CT)
    with pytest.raises(TLSFailure), make_client(sim, tls=TlsConfig("system")).console(CT, ticket):
        pass


def test_changed_certificate_is_refused_before_the_token_is_sent(sim: Simulator) -> None:
    client = make_client(sim)
    ticket = client.termproxy(CT)
    pinned_wrong = make_client(sim, tls=TlsConfig("fingerprint", fingerprint=OTHER))
    with pytest.raises(TLSFailure) as err, pinned_wrong.console(CT, ticket):
        pass
    assert OTHER in err.value.message and sim.fingerprint in err.value.message
    # termproxy takes exactly one connection: it is still free, so nothing reached it.
    with client.console(CT, ticket) as sock:
        assert read_until(sock, b"# ").endswith(b"root@nginx-lb-01:~# ")


def test_vm_serial_console_and_exit(sim: Simulator) -> None:
    client = make_client(sim)
    ticket = client.termproxy(VM_SERIAL)
    assert ticket.port >= 5900 and ":vncproxy:102:" in ticket.upid
    assert "PVEVNC" not in repr(ticket)  # the ticket opens the console: never printed
    with client.console(VM_SERIAL, ticket) as sock:
        shown = read_until(sock, b"login: ")
        assert shown.startswith(b"starting serial terminal on interface serial0\r\n")
        sock.send(input_frame(b"root\r"))
        read_until(sock, b"root@pg-primary:~# ")
        sock.send(input_frame(b"exit\r"))
        with pytest.raises(ConsoleEnded):
            for _ in range(50):
                sock.recv(0.2)


def test_ticket_answers_are_read_tolerantly() -> None:
    for port in ("5901", 5901):
        data = {"port": port, "ticket": "PVEVNC:1::x", "upid": "UPID:x", "user": "a@pve!t"}
        assert ticket_from(data).port == 5901
    for bad in ({"port": "x", "ticket": "t", "user": "u"}, {"port": 5900, "user": "u"}, [1]):
        with pytest.raises(ApiError):
            ticket_from(bad)


def test_expired_ticket_is_explained(sim: Simulator) -> None:
    client = make_client(sim)
    ticket = client.termproxy(CT)
    sim.advance(41)  # a VNC ticket lives 40 s
    with pytest.raises(OperationFailed) as err, client.console(CT, ticket):
        pass
    assert "ticket" in err.value.message and "40 s" in err.value.hint


def refusing(make_sim: Callable[..., Simulator], **cluster: Any) -> Simulator:
    data = demo_data()
    data["cluster"].update(cluster)
    return make_sim(data)


def test_builds_that_refuse_tokens(make_sim: Callable[..., Simulator]) -> None:
    sim = refusing(make_sim, console_tokens=False)
    client = make_client(sim)
    ticket = client.termproxy(CT)  # the POST works; termproxy closes before OK
    with pytest.raises(ConsoleRefused) as err, client.console(CT, ticket):
        pass
    assert "does not accept API tokens" in err.value.message and "6.1.3" in err.value.message
    with pytest.raises(ConsoleRefused) as shell:
        client.termproxy(ConsoleTarget.of_node("pve-a"))  # 500 up front
    assert "9.0.13" in shell.value.message and "ssh root@pve-a" in shell.value.message


def test_pve8_node_shell_refuses_tokens(make_sim: Callable[..., Simulator]) -> None:
    client = make_client(refusing(make_sim, version="8.4.1"))
    with pytest.raises(ConsoleRefused):
        client.termproxy(ConsoleTarget.of_node("pve-a"))
    assert b"nginx-lb-01\r\n" in round_trip(client)  # guest consoles work on 8.4.7+


def auditor_sim(make_sim: Callable[..., Simulator]) -> Simulator:
    data = demo_data()
    data["user"].append({"id": "audit@pve"})
    data["token"].append({"id": "audit@pve!ro", "secret": "audit-secret", "privsep": False})
    data["acl"].append({"path": "/", "subject": "audit@pve", "role": "PVEAuditor"})
    return make_sim(data)


def test_token_without_vm_console(make_sim: Callable[..., Simulator]) -> None:
    sim = auditor_sim(make_sim)
    client = make_client(sim, token_id="audit@pve!ro", secret="audit-secret")
    with pytest.raises(PermissionDenied) as err:
        client.termproxy(CT)
    assert (err.value.privilege, err.value.path) == ("VM.Console", "/vms/200")
    service = ConsoleService(TaskRunner(client), ConsoleMemo(Path("/nonexistent/c.json")))
    with pytest.raises(PermissionDenied) as checked:
        service.prepare(CT)
    assert "VM.Console on /vms/200" in checked.value.message


# -- the service -----------------------------------------------------------------------------


def service_for(client: PveClient, tmp_path: Path) -> ConsoleService:
    history = open_history(tmp_path / "history.db")
    runner = TaskRunner(client, profile="default", history=history)
    return ConsoleService(runner, ConsoleMemo(tmp_path / "console.json"))


def test_prepare_names_what_the_server_would_refuse(sim: Simulator, tmp_path: Path) -> None:
    service = service_for(make_client(sim), tmp_path)
    with pytest.raises(OperationFailed) as no_serial:
        service.prepare(VM_NO_SERIAL)
    assert "qm set 101 --serial0 socket" in no_serial.value.message
    with pytest.raises(OperationFailed) as stopped:
        service.prepare(ConsoleTarget("qemu", "pve-c", 105, "ledger-batch"))
    assert "stopped" in stopped.value.message
    with pytest.raises(OperationFailed, match="no serial socket serial2"):
        service.prepare(VM_SERIAL, serial="serial2")
    plan = service.prepare(ConsoleTarget.of_node("pve-a"))
    assert "login prompt" in plan.notice and "root@pam" in plan.notice
    assert "ctrl+]" in service.prepare(CT).banner("ctrl+]")


def test_a_session_is_journaled_without_its_bytes(sim: Simulator, tmp_path: Path) -> None:
    service = service_for(make_client(sim), tmp_path)
    plan = service.prepare(CT)
    with service.open(plan) as opened:
        opened.socket.send(input_frame(b"echo secret-words\r"))
        read_until(opened.socket, b"secret-words\r\n")
    end = service.finish(opened, BridgeEnd("left", seconds=1.0))
    assert end.kind == "left" and end.exit_code == 0
    history = service.runner.history
    assert history is not None
    rows = [a for a in history.export("default", 0)["actions"] if a["action"] == "console"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["vmid"], row["node"], row["token_id"]) == (200, "pve-a", sim.token_id)
    assert row["result"].startswith("left") and ":vncproxy:200:" in row["upid"]
    assert "secret-words" not in (tmp_path / "history.db").read_bytes().decode("latin-1")


def test_ended_console_and_failures_are_named(sim: Simulator, tmp_path: Path) -> None:
    service = service_for(make_client(sim), tmp_path)
    with service.open(service.prepare(CT)) as opened:
        pass
    ended = service.finish(opened, BridgeEnd("ended", "the connection closed"))
    assert ended.kind == "ended" and not ended.error
    failed = service.finish(
        opened, BridgeEnd("ended", "the connection closed", last_line="VM 102 not running")
    )
    assert failed.kind == "failed" and failed.exit_code == 1 and "not running" in failed.message
    # a console that says why it closes, then signs off (dtach's last word)
    dtach = "lxc-console: 203 is not running\n[EOF - dtach terminating]"
    stopped = service.finish(
        opened, BridgeEnd("ended", last_line="[EOF - dtach terminating]", tail=dtach)
    )
    assert stopped.kind == "failed" and "203 is not running" in stopped.message
    signalled = service.finish(opened, BridgeEnd("signal", signal=15))
    assert signalled.exit_code == 128 + 15


def test_refusal_is_remembered_per_server_and_version(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = refusing(make_sim, console_tokens=False)
    service = service_for(make_client(sim), tmp_path)
    assert not service.refused("9.1.2", shell=False)
    with pytest.raises(ConsoleRefused), service.open(service.prepare(CT)):
        pass
    assert service.refused("9.1.2", shell=False)
    assert not service.refused("9.1.2", shell=True)  # noqa: S604 (the shell was not tried)
    assert not service.refused("9.1.3", shell=False)  # an upgraded server is tried again
    assert (tmp_path / "console.json").stat().st_mode & 0o777 == 0o600
    history = service.runner.history
    assert history is not None
    [row] = [a for a in history.export("default", 0)["actions"] if a["action"] == "console"]
    assert row["result"].startswith("refused")


def test_success_forgets_a_refusal(sim: Simulator, tmp_path: Path) -> None:
    client = make_client(sim)
    memo = ConsoleMemo(tmp_path / "console.json")
    memo.remember(client.settings.address, "9.1.2", shell=False, refused=True)
    service = ConsoleService(TaskRunner(client), memo)
    assert service.refused("9.1.2", shell=False)
    with service.open(service.prepare(CT)):
        pass
    assert not service.refused("9.1.2", shell=False)


def test_broken_memo_file_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "console.json"
    path.write_text("{not json")
    memo = ConsoleMemo(path)
    assert not memo.refused("h:8006", "9.1.2", shell=False)
    memo.remember("h:8006", "9.1.2", shell=False, refused=True)
    assert memo.refused("h:8006", "9.1.2", shell=False)


def test_typing_while_a_large_output_streams(sim: Simulator) -> None:
    """websockets reads in its own thread while this one sends: the TLS session is shared
    safely (an unsafe one fails with SSL errors or hangs here)."""
    client = make_client(sim)
    ticket = client.termproxy(CT)
    with client.console(CT, ticket) as sock:
        read_until(sock, b"# ")
        sock.send(input_frame(b"seq 300000\r"))
        for _ in range(300):
            sock.send(b"2")  # keepalives while the output streams in
        shown = read_until(sock, b"300000\r\nroot@nginx-lb-01:~# ", timeout=30)
        assert shown.endswith(b"299999\r\n300000\r\nroot@nginx-lb-01:~# ")
        sock.send(input_frame(b"hostname\r"))
        assert b"nginx-lb-01\r\n" in read_until(sock, b"nginx-lb-01\r\n")
