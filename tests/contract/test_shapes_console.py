"""Text consoles: the simulator's termproxy answers, session and task log against PVE's.

The examples are in the shared `ops-responses/` folder: the POST answers and a session
frame by frame were worked out from PVE's code (`derived/`), the accept-timeout task log
is a real one from a third-party bug report. As in test_shapes_ops.py, keys and value
types are compared, and texts where PVE's own words are known.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import requests
from websockets.exceptions import InvalidMessage, InvalidStatus

from argus_tui.domain.upid import UPID
from argus_tui.sim.demo import demo_data
from argus_tui.sim.server import Simulator
from tests.conftest import ca_file_for
from tests.contract.pve_schema import load_ops_response, schema_endpoints, validate
from tests.contract.test_shapes import UPID_RE, compare_object, report
from tests.sim.console_client import (
    Console,
    RawConsole,
    auth,
    closed_by_server,
    open_console,
    read_until,
    recv,
    termproxy,
)

MakeSim = Callable[..., Simulator]
TOKEN, SECRET = "argus@pve!tui", "tui-secret"  # the token the examples are written for
AUDITOR, AUDITOR_SECRET = "aud@pve!ro", "aud-secret"
VM, CT, NODE = "/nodes/pve-a/qemu/100", "/nodes/pve-a/lxc/200", "/nodes/pve-a"


def _data(**cluster: Any) -> dict[str, Any]:
    """The demo with the examples' token (an administrator) and a read-only one."""
    data = demo_data()
    data["cluster"].update(cluster)
    data["token"].insert(0, {"id": TOKEN, "secret": SECRET, "privsep": False})
    data["user"].append({"id": "aud@pve"})
    data["token"].append({"id": AUDITOR, "secret": AUDITOR_SECRET, "privsep": False})
    data["acl"].append({"path": "/", "subject": "aud@pve", "role": "PVEAuditor"})
    return data


def _like(example: str, ours: str) -> bool:
    """`ours` is the example text with its `...` standing for anything."""
    pattern = ".+".join(re.escape(part) for part in example.split("..."))
    return bool(re.fullmatch(pattern, ours))


# -- POST termproxy ---------------------------------------------------------------------


def test_termproxy_answers(make_sim: MakeSim) -> None:
    """qemu, lxc and node: port (a string), ticket, a vncproxy/vncshell UPID, the token."""
    example = load_ops_response("derived/termproxy-post.derived.json")
    sim = make_sim(_data())
    schemas = schema_endpoints()
    problems: list[str] = []
    for kind, path, template in (
        ("qemu", VM, "/nodes/{node}/qemu/{vmid}/termproxy"),
        ("lxc", CT, "/nodes/{node}/lxc/{vmid}/termproxy"),
        ("node", NODE, "/nodes/{node}/termproxy"),
    ):
        resp = termproxy(sim, path)
        body = resp.json()
        real = example[kind]
        problems += compare_object([real], body, kind)
        ours = body["data"]
        returns = schemas[("POST", template)]["returns"]
        problems += [f"{kind}: {e}" for e in validate(ours, returns, numeric_strings=["data.port"])]
        if not (isinstance(ours["port"], str) and ours["port"].isdigit()):
            problems.append(f"{kind}: port {ours['port']!r}, PVE sends a numeric string")
        stamp = real["data"]["ticket"].split("::")[0]
        if not re.fullmatch(r"PVEVNC:[0-9A-F]{8}::[A-Za-z0-9+/]{342}==", ours["ticket"]):
            problems.append(f"{kind}: ticket {ours['ticket'][:30]!r} is not shaped as {stamp}::")
        if not UPID_RE.match(ours["upid"]):
            problems.append(f"{kind}: {ours['upid']} is not a UPID")
            continue
        theirs, mine = UPID.parse(real["data"]["upid"]), UPID.parse(ours["upid"])
        wanted = (theirs.type, theirs.id != "", TOKEN)
        if (mine.type, mine.id != "", mine.user) != wanted or ours["user"] != TOKEN:
            problems.append(f"{kind}: UPID {mine} / user {ours['user']}, PVE {theirs}")
    report(problems)


def test_node_shell_on_pve8_refuses_the_token(make_sim: MakeSim) -> None:
    real = load_ops_response("derived/termproxy-post.derived.json")[
        "node_before_pve_manager_9_0_13_or_on_pve8_with_token"
    ]
    sim = make_sim(_data(version="8.4.1"))
    resp = termproxy(sim, NODE)
    assert (resp.status_code, resp.reason) == (real["status"], real["reason"])
    assert resp.json() == real["body"]


# -- the session ------------------------------------------------------------------------


def test_console_session_frames(make_sim: MakeSim) -> None:
    """The example session on a VM's serial console, frame by frame."""
    example = load_ops_response("derived/console-session.derived.json")
    sim = make_sim(_data())
    console = open_console(sim, VM)
    headers = example["request"]["headers"]
    assert headers["Sec-WebSocket-Protocol"] == "binary" and "Authorization" in headers
    ws = console.connect()
    assert ws.subprotocol == "binary"  # 101, echoing the subprotocol asked for
    received = b""
    for frame in example["frames"]:
        payload: str = frame["payload"]
        if frame["dir"] == "c->s":
            if frame is example["frames"][0]:
                assert re.fullmatch(r"[^:]+:PVEVNC:[0-9A-F]{8}::\S+\n", payload)
                ws.send(console.line)
            else:
                ws.send(payload.encode())
        elif payload == "OK":
            received = recv(ws)
            assert received.startswith(b"OK"), received  # binary, first bytes may follow
        elif payload == "<raw pty bytes>":
            assert recv(ws)  # the console's answer to `ls`
        else:
            wanted = payload.encode()
            if wanted not in received:
                received += read_until(ws, wanted)
            assert wanted in received
    assert not closed_by_server(ws, timeout=0.3)  # the keepalive `2` is ignored


def _upgrade_refused(console: Console, **kwargs: Any) -> str:
    try:
        console.connect(**kwargs)
    except InvalidStatus as exc:
        response = exc.response
        return f"HTTP {response.status_code} '{response.reason_phrase}'"
    except InvalidMessage:
        return "closed without an HTTP answer"
    return "101"


def _after_ok(sim: Simulator, path: str) -> str:
    ws, first = open_console(sim, path).join()
    text = first[2:].decode().strip() if first.startswith(b"OK") else "no OK"
    return f"'OK' then '{text}'" + (" and close" if closed_by_server(ws) else "")


def _old_termproxy(make_sim: MakeSim) -> list[str]:
    sim = make_sim(_data(console_tokens=False))
    console = open_console(sim, VM)
    ws = console.connect()
    ws.send(console.line)
    saw = ["101"] + (["closed without 'OK'"] if closed_by_server(ws) else [])
    return saw + console.log()[1:]


def _late(make_sim: MakeSim) -> list[str]:
    sim = make_sim(_data())
    sim.console_accept_timeout = 0.2
    console = open_console(sim, VM)
    console.wait_stopped()
    return [console.log()[0], _upgrade_refused(console)]


def _broken_frame(sim: Simulator) -> str:
    console = open_console(sim, CT)
    raw = RawConsole(console)
    raw.send(console.line)
    raw.frames()
    raw.send(b"0:1:x", mask=False)
    raw.until_closed()
    return "connection dropped"


def test_console_failures(make_sim: MakeSim) -> None:
    """Each failure the example lists, as the simulator shows it."""
    cases = {
        c["case"]: c for c in load_ops_response("derived/console-session.derived.json")["failures"]
    }
    sim = make_sim(_data())
    sim.console_accept_timeout = 3.0
    expired = open_console(sim, VM)
    sim.advance(41)
    started = time.monotonic()
    stopped = _data()
    next(g for g in stopped["guest"] if g["vmid"] == 100)["status"] = "stopped"
    # case (start of the example's text) -> (phrases of its result, what the simulator did)
    ours: dict[str, tuple[list[str], list[str]]] = {
        "vncticket wrong/expired": (
            ["HTTP 401 'permission denied - invalid PVEVNC ticket'"],
            [_upgrade_refused(expired)],
        ),
        "no Authorization header": (
            ["HTTP 401 'No ticket'"],
            [_upgrade_refused(open_console(sim, VM), headers={})],
        ),
        "token lacks VM.Console": (
            ["HTTP 403 'Permission check failed (/vms/100, VM.Console)'"],
            [
                _upgrade_refused(
                    Console(sim, VM, open_console(sim, VM).answer, AUDITOR, AUDITOR_SECRET)
                )
            ],
        ),
        "API token on a PVE whose guest termproxy": (
            [
                "101",
                "closes the socket without sending 'OK'",
                "'authentication request failed'",
                "'TASK ERROR: command '/usr/bin/termproxy ...' failed: exit code 1'",
            ],
            _old_termproxy(make_sim),
        ),
        "client opens the websocket more than 10 s after POST termproxy": (
            ["'failed waiting for client: timed out'", "no 101 is sent"],
            _late(make_sim),
        ),
        "qemu guest without 'serialN: socket'": (
            ["'OK' then the text 'unable to find a serial interface' and the connection closes"],
            [_after_ok(sim, "/nodes/pve-a/qemu/101")],
        ),
        "qemu guest not running": (
            ["'OK' then 'VM 100 not running' and close"],
            [_after_ok(make_sim(stopped), VM)],
        ),
        "client frame fragmented / unmasked / > 128 KiB": (
            ["connection dropped"],
            [_broken_frame(sim)],
        ),
    }
    problems: list[str] = []
    for start, (phrases, seen) in ours.items():
        case = next((c for text, c in cases.items() if text.startswith(start)), None)
        if case is None:
            problems.append(f"no failure case starts with {start!r}")
            continue
        problems += [
            f"{start}: {p!r} is not in {case['result']!r}"
            for p in phrases
            if p not in case["result"]
        ]
        problems += _matches(start, phrases, seen)
    problems += [
        f"{text}: not compared" for text in cases if not any(text.startswith(s) for s in ours)
    ]
    assert time.monotonic() - started < 20
    report(problems)


_OUR_WORDS = {  # how an example phrase reads when the simulator does it
    "closes the socket without sending 'OK'": "closed without 'OK'",
    "no 101 is sent": "closed without an HTTP answer",
    "'OK' then the text 'unable to find a serial interface' and the connection closes": (
        "'OK' then 'unable to find a serial interface' and close"
    ),
}


def _matches(case: str, phrases: list[str], seen: list[str]) -> list[str]:
    """Each phrase of the example must describe one thing the simulator did, in order."""
    problems = []
    if len(phrases) != len(seen):
        return [f"{case}: the simulator did {seen}, PVE {phrases}"]
    for phrase, ours in zip(phrases, seen, strict=True):
        wanted = _OUR_WORDS.get(phrase, phrase)
        inner = wanted[1:-1] if wanted.startswith("'") and wanted.endswith("'") else wanted
        if not (_like(wanted, ours) or _like(inner, ours)):
            problems.append(f"{case}: simulator {ours!r}, PVE {phrase!r}")
    return problems


# -- the task log ------------------------------------------------------------------------


def test_accept_timeout_task_log(make_sim: MakeSim) -> None:
    """The real log of a termproxy nobody connected to: the simulator writes it line for
    line (a container 111 on packages before token consoles, as in the report)."""
    real = [
        line["t"]
        for line in load_ops_response(
            "task-log-vncproxy-termproxy-timeout.go-proxmox-issue-221.json"
        )["data"]
    ]
    data = {
        "cluster": {"console_tokens": False},
        "node": [{"name": "pve1"}],
        "guest": [{"vmid": 111, "type": "lxc", "node": "pve1", "status": "running"}],
    }
    sim = make_sim(data)
    sim.console_accept_timeout = 0.2
    console = open_console(sim, "/nodes/pve1/lxc/111")
    status = console.wait_stopped()
    assert console.log() == real
    assert status["exitstatus"] == real[-1].removeprefix("TASK ERROR: ")
    log = requests.get(
        f"{sim.api_url}/nodes/pve1/tasks/{console.upid}/log",
        headers=auth(sim),
        verify=ca_file_for(sim),
        timeout=5,
    ).json()
    assert log["total"] == len(real)
