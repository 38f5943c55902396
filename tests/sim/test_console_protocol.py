"""Text consoles over the wire: POST termproxy, the WebSocket upgrade and termproxy's stream.

Every test drives a real simulator over HTTPS with websockets' client (or by hand over
TLS for frames a proper client never sends) and checks the bytes a client sees, the HTTP
answers of refused upgrades and the vncproxy task's log.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from tests.conftest import ca_file_for
from tests.sim.console_client import (
    Console,
    RawConsole,
    auth,
    closed_by_server,
    drain,
    open_console,
    read_until,
    recv,
    send_input,
    termproxy,
)
from websockets.exceptions import ConnectionClosedError, InvalidMessage, InvalidStatus
from websockets.frames import Frame, Opcode

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator

MakeSim = Callable[..., Simulator]
CT = "/nodes/pve-a/lxc/200"  # nginx-lb-01, running
CT_PROMPT = b"root@nginx-lb-01:~# "
VM = "/nodes/pve-a/qemu/100"  # gw-edge-01, running, serial0: socket
AUDITOR, AUDITOR_SECRET = "aud@pve!ro", "aud-secret"
CT_COMMAND = (
    "/usr/bin/termproxy 5900 --path /vms/200 --perm VM.Console --vncticket-endpoint"
    " --verify-port --ticket-fd 12 -- /usr/bin/dtach -A /var/run/dtach/vzctlconsole200"
    " -r winch -z lxc-console -n 200 -e -1"
)


def _data(**cluster: Any) -> dict[str, Any]:
    """The demo with a read-only token, and `cluster` keys set."""
    data = demo_data()
    data["cluster"].update(cluster)
    data["user"].append({"id": "aud@pve"})
    data["token"].append({"id": AUDITOR, "secret": AUDITOR_SECRET, "privsep": False})
    data["acl"].append({"path": "/", "subject": "aud@pve", "role": "PVEAuditor"})
    return data


@pytest.fixture
def csim(make_sim: MakeSim) -> Simulator:
    sim = make_sim(_data())
    sim.console_accept_timeout = 3.0
    return sim


def _run(ws: Any, command: bytes, prompt: bytes = CT_PROMPT) -> bytes:
    send_input(ws, command + b"\r")
    return read_until(ws, prompt)


# -- a whole session ------------------------------------------------------------------


def test_container_session_bytes(csim: Simulator) -> None:
    """Ticket line, `OK` and the prompt in one frame, resize, commands, `exit` closes."""
    console = open_console(csim, CT)
    answer = console.answer
    assert set(answer) == {"port", "ticket", "upid", "user"}
    assert answer["port"] == "5900" and answer["user"] == csim.token_id
    assert re.fullmatch(r"PVEVNC:[0-9A-F]{8}::[A-Za-z0-9+/]{342}==", answer["ticket"])
    upid = UPID.parse(answer["upid"])
    assert (upid.node, upid.type, upid.id, upid.user) == ("pve-a", "vncproxy", "200", csim.token_id)
    assert console.task()["status"] == "running"
    ws = console.connect()
    assert ws.subprotocol == "binary"
    ws.send(console.line)
    assert recv(ws) == b"OK" + CT_PROMPT
    ws.send(b"1:120:40:")
    assert _run(ws, b"stty size") == b"stty size\r\n40 120\r\n" + CT_PROMPT
    assert _run(ws, b"hostname") == b"hostname\r\nnginx-lb-01\r\n" + CT_PROMPT
    assert _run(ws, b"tty") == b"tty\r\n/dev/tty1\r\n" + CT_PROMPT
    send_input(ws, b"exit\r")
    assert read_until(ws, b"logout\r\n") == b"exit\r\nlogout\r\n"
    with pytest.raises(ConnectionClosedError) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is None  # TCP closed, no close frame (as PVE)
    status = console.wait_stopped()
    assert status["exitstatus"] == "OK"
    log = console.log()
    assert re.fullmatch(r"client connection: 127\.0\.0\.1:\d+", log[0])
    assert log[1:] == ["TASK OK"]


def test_vm_serial_console_logs_in_without_password(csim: Simulator) -> None:
    console = open_console(csim, VM)
    ws, first = console.join()
    assert first == b"OKstarting serial terminal on interface serial0\r\ngw-edge-01 login: "
    assert _run(ws, b"ops", b"$ ") == b"ops\r\nops@gw-edge-01:~$ "
    assert _run(ws, b"tty", b"$ ") == b"tty\r\n/dev/ttyS0\r\nops@gw-edge-01:~$ "
    assert console.answer["port"] == "5900"  # the only console on pve-a


def test_node_shell_asks_for_login_and_password(csim: Simulator) -> None:
    console = open_console(csim, "/nodes/pve-b")
    assert UPID.parse(console.upid).type == "vncshell" and UPID.parse(console.upid).id == ""
    ws, first = console.join()
    assert first == b"OKpve-b login: "
    assert _run(ws, b"root", b"Password: ") == b"root\r\nPassword: "
    assert _run(ws, b"secret", b"# ") == b"\r\nroot@pve-b:~# "  # the password is not echoed
    assert _run(ws, b"hostname", b"# ") == b"hostname\r\npve-b\r\nroot@pve-b:~# "


def test_ports_are_per_node_and_freed_at_the_end(csim: Simulator) -> None:
    first = open_console(csim, CT)
    second = open_console(csim, VM)
    other_node = open_console(csim, "/nodes/pve-b/lxc/201")
    assert [c.answer["port"] for c in (first, second, other_node)] == ["5900", "5901", "5900"]
    ws, _ = first.join()
    send_input(ws, b"exit\r")
    assert closed_by_server(ws)
    first.wait_stopped()
    assert open_console(csim, "/nodes/pve-a/lxc/203").answer["port"] == "5900"


# -- tickets, permissions, one connection -----------------------------------------------


def test_ticket_older_than_40_seconds_is_refused(csim: Simulator) -> None:
    console = open_console(csim, CT)
    csim.advance(39)
    plain = requests.get(
        console.url("https"),
        headers=auth(csim),
        verify=ca_file_for(csim),
        timeout=5,
    )
    assert (plain.status_code, plain.json()) == (200, {"data": {"port": "5900"}})
    csim.advance(2)
    with pytest.raises(InvalidStatus) as refused:
        console.connect()
    assert refused.value.response.status_code == 401
    assert refused.value.response.reason_phrase == "permission denied - invalid PVEVNC ticket"
    assert console.task()["status"] == "running"  # termproxy still waits


def test_ticket_is_for_its_port_and_caller(csim: Simulator) -> None:
    console = open_console(csim, CT)
    with pytest.raises(InvalidStatus) as other_port:
        console.connect(port=5901)
    assert other_port.value.response.status_code == 401
    assert console.join()[1].startswith(b"OK")


def test_a_second_connection_gets_no_answer(csim: Simulator) -> None:
    console = open_console(csim, CT)
    ws, first = console.join()
    assert first == b"OK" + CT_PROMPT
    with pytest.raises(InvalidMessage):  # the connection closes before any HTTP answer
        console.connect()
    assert _run(ws, b"hostname").startswith(b"hostname\r\nnginx-lb-01")


def test_no_authorization_is_401_no_ticket(csim: Simulator) -> None:
    console = open_console(csim, CT)
    with pytest.raises(InvalidStatus) as refused:
        console.connect(headers={})
    assert refused.value.response.status_code == 401
    assert refused.value.response.reason_phrase == "No ticket"


def test_token_without_vm_console_is_403_on_post_and_upgrade(csim: Simulator) -> None:
    post = termproxy(csim, CT, AUDITOR, AUDITOR_SECRET)
    assert (post.status_code, post.reason) == (
        403,
        "Permission check failed (/vms/200, VM.Console)",
    )
    console = open_console(csim, CT)
    denied = Console(csim, CT, console.answer, AUDITOR, AUDITOR_SECRET)
    with pytest.raises(InvalidStatus) as refused:
        denied.connect()
    assert refused.value.response.status_code == 403
    reason = refused.value.response.reason_phrase
    assert reason == "Permission check failed (/vms/200, VM.Console)"
    shell = termproxy(csim, "/nodes/pve-a", AUDITOR, AUDITOR_SECRET)
    assert shell.reason == "Permission check failed (/nodes/pve-a, Sys.Console)"


def test_unknown_guest_and_offline_node(csim: Simulator) -> None:
    missing = termproxy(csim, "/nodes/pve-a/qemu/999")
    assert missing.status_code == 500
    assert missing.reason == "Configuration file 'nodes/pve-a/qemu-server/999.conf' does not exist"
    assert termproxy(csim, "/nodes/pve-b/lxc/200").status_code == 500  # 200 is on pve-a
    assert (
        termproxy(csim, "/nodes/nope").reason == "Unable to get IP for node 'nope' - node offline?"
    )
    bad = termproxy(csim, VM, serial="serial9")
    assert bad.status_code == 400 and "serial" in bad.json()["errors"]


# -- termproxy's timeouts and authentication --------------------------------------------


def test_accept_timeout_fails_the_task(csim: Simulator) -> None:
    csim.console_accept_timeout = 0.3
    console = open_console(csim, CT)
    status = console.wait_stopped()
    assert status["exitstatus"] == f"command '{CT_COMMAND}' failed: exit code 1"
    assert console.log() == [
        "failed waiting for client: timed out",
        f"TASK ERROR: command '{CT_COMMAND}' failed: exit code 1",
    ]
    with pytest.raises(InvalidMessage):  # nothing listens on the port any more
        console.connect()


def test_ticket_line_timeout(csim: Simulator) -> None:
    csim.console_accept_timeout = 0.4
    console = open_console(csim, CT)
    ws = console.connect()
    assert closed_by_server(ws)
    assert console.log()[1:] == [
        "failed reading ticket: timed out",
        f"TASK ERROR: command '{CT_COMMAND}' failed: exit code 1",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"argus@pve!other:PVEVNC:00000000::x\n", "authentication request failed"),
        (b"no colon here\n", "failed reading ticket: authentication data is invalid"),
    ],
)
def test_a_bad_ticket_line_closes_without_ok(csim: Simulator, line: bytes, reason: str) -> None:
    console = open_console(csim, CT)
    ws = console.connect()
    ws.send(line)
    assert closed_by_server(ws)
    assert console.log()[1] == reason
    assert console.wait_stopped()["exitstatus"].endswith("failed: exit code 1")


def test_the_ticket_line_may_be_text_and_cut_into_frames(csim: Simulator) -> None:
    console = open_console(csim, CT)
    ws = console.connect()
    text = console.line.decode()
    ws.send(text[:10])
    ws.send(text[10:] + "0:8:hostname")
    assert read_until(ws, b"hostname") == b"OK" + CT_PROMPT + b"hostname"


def test_tokens_refused_by_old_termproxy(make_sim: MakeSim) -> None:
    """`console_tokens = false`: 101, then the socket closes without `OK`."""
    sim = make_sim(_data(console_tokens=False))
    console = open_console(sim, CT)
    ws = console.connect()
    ws.send(console.line)
    assert closed_by_server(ws)
    old = CT_COMMAND.replace(" --vncticket-endpoint --verify-port --ticket-fd 12", "")
    log = console.log()
    assert log[1:] == [
        "authentication request failed",
        f"TASK ERROR: command '{old}' failed: exit code 1",
    ]


@pytest.mark.parametrize("cluster", [{"version": "8.4.1"}, {"console_tokens": False}])
def test_node_shell_refuses_tokens_up_front(make_sim: MakeSim, cluster: dict[str, Any]) -> None:
    sim = make_sim(_data(**cluster))
    resp = termproxy(sim, "/nodes/pve-a")
    reason = f"value '{sim.token_id}' does not look like a valid user name"
    assert (resp.status_code, resp.reason) == (500, reason)
    assert resp.json() == {"data": None, "message": reason + "\n"}
    ws = requests.get(
        f"{sim.api_url}/nodes/pve-a/vncwebsocket",
        params={"port": 5900, "vncticket": "PVEVNC:00000000::x"},
        headers={**auth(sim), "Upgrade": "websocket", "Connection": "Upgrade"},
        verify=ca_file_for(sim),
        timeout=5,
    )
    assert (ws.status_code, ws.reason) == (500, reason)
    assert open_console(sim, CT).answer["port"] == "5900"  # guest consoles still open


# -- what the console program prints when it cannot run --------------------------------


def _failure(sim: Simulator, path: str, **params: Any) -> bytes:
    console = open_console(sim, path, **params)
    ws, first = console.join()
    assert closed_by_server(ws)
    assert console.wait_stopped()["exitstatus"] == "OK"
    return first


def test_vm_without_serial_port(csim: Simulator) -> None:
    assert _failure(csim, "/nodes/pve-a/qemu/101") == b"OKunable to find a serial interface\r\n"


def test_vm_not_running(csim: Simulator) -> None:
    assert _failure(csim, "/nodes/pve-c/qemu/105") == b"OKVM 105 not running\r\n"


def test_stopped_container(csim: Simulator) -> None:
    first = _failure(csim, "/nodes/pve-a/lxc/207")
    assert first.startswith(b"OKlxc-console: 207: ") and b"207 is not running\r\n" in first


def test_wrong_serial_type(make_sim: MakeSim) -> None:
    data = _data()
    vm = next(g for g in data["guest"] if g["vmid"] == 100)
    vm["local_resources"] = ["serial0"]  # a host device; `serial` then makes serial1 a socket
    sim = make_sim(data)
    wrong = _failure(sim, VM, serial="serial0")
    assert wrong == b"OKwrong serial type on interface 'serial0'\r\n"
    missing = _failure(sim, VM, serial="serial2")
    assert missing == b"OKserial interface 'serial2' is not configured\r\n"
    first = open_console(sim, VM).join()[1]
    assert first.startswith(b"OKstarting serial terminal on interface serial1\r\n")


# -- termproxy's input stream ------------------------------------------------------------


def test_non_utf8_and_multibyte_input_is_echoed_exactly(csim: Simulator) -> None:
    ws, _ = open_console(csim, CT).join()
    send_input(ws, b"\xff\xfe")
    assert recv(ws) == b"\xff\xfe"
    ws.send("0:2:é".encode())
    assert recv(ws) == "é".encode()
    send_input(ws, b"\r")
    out = read_until(ws, CT_PROMPT)
    assert out == b"\r\n-bash: \xff\xfe\xc3\xa9: command not found\r\n" + CT_PROMPT
    assert (
        _run(ws, b"echo \xff\xfe \xc3\xa9")
        == b"echo \xff\xfe \xc3\xa9\r\n\xff\xfe \xc3\xa9\r\n" + CT_PROMPT
    )


def test_a_length_shorter_than_the_data_cuts_it(csim: Simulator) -> None:
    """`0:1:é`: termproxy passes one byte; the second is read as a message type."""
    ws, _ = open_console(csim, CT).join()
    ws.send("0:1:é".encode())
    assert recv(ws) == b"\xc3"
    send_input(ws, b"x")
    assert recv(ws) == b"x"


def test_several_messages_in_one_frame_and_one_over_frames(csim: Simulator) -> None:
    ws, _ = open_console(csim, CT).join()
    ws.send(b"1:100:30:20:10:stty size\r")  # resize, ping, input
    assert read_until(ws, CT_PROMPT) == b"stty size\r\n30 100\r\n" + CT_PROMPT
    ws.send(b"0:9:hostn")
    assert recv(ws) == b"hostn"
    ws.send(b"ame\r")
    assert read_until(ws, CT_PROMPT).endswith(b"nginx-lb-01\r\n" + CT_PROMPT)
    ws.send(b"0:")  # a header cut between frames waits for the rest
    ws.send(b"4:tty\r")
    assert read_until(ws, CT_PROMPT) == b"tty\r\n/dev/tty1\r\n" + CT_PROMPT


def test_ctrl_c_stops_a_long_output(csim: Simulator) -> None:
    ws, _ = open_console(csim, CT).join()
    send_input(ws, b"seq 10000000\r")
    received = len(recv(ws))
    send_input(ws, b"\x03")
    out = read_until(ws, b"^C\r\n" + CT_PROMPT, timeout=20)
    assert received + len(out) < 20_000_000  # far less than the 79 MB of the whole run
    assert _run(ws, b"hostname").startswith(b"hostname\r\nnginx-lb-01")


def test_large_output_comes_in_frames_of_at_most_128_kib(csim: Simulator) -> None:
    ws, _ = open_console(csim, CT).join()
    send_input(ws, b"cat /var/log/syslog\r")
    frames = []
    tail = b""
    while not tail.endswith(CT_PROMPT):
        frames.append(recv(ws))
        tail = (tail + frames[-1])[-64:]
    assert max(len(f) for f in frames) == 128 * 1024
    assert 4 * 1024 * 1024 < sum(len(f) for f in frames) < 5 * 1024 * 1024


# -- WebSocket rules and the end of a session --------------------------------------------


def test_stopping_the_task_closes_the_socket(csim: Simulator) -> None:
    console = open_console(csim, CT)
    ws, _ = console.join()
    resp = requests.delete(
        f"{csim.api_url}/nodes/pve-a/tasks/{console.upid}",
        headers=auth(csim),
        verify=ca_file_for(csim),
        timeout=5,
    )
    assert resp.status_code == 200
    assert closed_by_server(ws, timeout=2)
    assert console.wait_stopped()["exitstatus"] == "received interrupt"


def test_stopping_the_simulator_ends_consoles_promptly(csim: Simulator) -> None:
    ws, _ = open_console(csim, CT).join()
    started = time.monotonic()
    csim.stop()
    assert closed_by_server(ws, timeout=2)
    assert time.monotonic() - started < 2


def test_close_consoles_drops_every_connection(csim: Simulator) -> None:
    console = open_console(csim, CT)
    ws, _ = console.join()
    csim.close_consoles()
    assert closed_by_server(ws, timeout=2)
    assert console.wait_stopped()["exitstatus"] == "OK"
    assert csim.consoles.sessions == []


def test_ping_gets_a_pong_and_a_close_ends_the_console(csim: Simulator) -> None:
    console = open_console(csim, CT)
    ws, _ = console.join()
    assert ws.ping().wait(2)
    ws.close()
    assert console.wait_stopped()["exitstatus"] == "OK"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda raw: raw.send(b"0:1:x", mask=False), id="unmasked"),
        pytest.param(lambda raw: raw.send(b"1:80:20:" * 16384 + b"x"), id="over 128 KiB"),
        pytest.param(lambda raw: raw.send(b"0:1:x", fin=False), id="fragmented"),
    ],
)
def test_broken_frame_rules_drop_the_connection(
    csim: Simulator, bad: Callable[[RawConsole], None]
) -> None:
    console = open_console(csim, CT)
    raw = RawConsole(console)
    raw.send(console.line)
    assert (raw.frames() or [Frame(Opcode.BINARY, b"")])[0].data == b"OK" + CT_PROMPT
    bad(raw)
    seen = raw.until_closed()
    assert all(frame.opcode is not Opcode.CLOSE for frame in seen)  # dropped, no close frame
    assert console.wait_stopped()["exitstatus"] == "OK"


def test_a_frame_of_exactly_128_kib_is_fine(csim: Simulator) -> None:
    console = open_console(csim, CT)
    raw = RawConsole(console)
    raw.send(console.line)
    assert raw.frames()
    raw.send(b"1:80:20:" * 16384)
    raw.send(b"0:10:stty size\r")
    out = b""
    while not out.endswith(CT_PROMPT):
        frames = raw.frames()
        assert frames is not None
        out += b"".join(f.data for f in frames)
    assert out == b"stty size\r\n20 80\r\n" + CT_PROMPT
    raw.send_frame(Frame(Opcode.PING, b"hi"))
    assert [(f.opcode, f.data) for f in raw.frames() or []] == [(Opcode.PONG, b"hi")]
    raw.close()


def test_plain_get_answers_the_port(csim: Simulator) -> None:
    console = open_console(csim, CT)
    resp = requests.get(
        console.url("https"),
        headers=auth(csim),
        verify=ca_file_for(csim),
        timeout=5,
    )
    assert resp.json() == {"data": {"port": "5900"}}
    assert drain(console.connect(), 0.1) == b""  # still waiting for the ticket line
