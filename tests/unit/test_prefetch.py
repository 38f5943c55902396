"""The first snapshot fetched by a forked child (services/prefetch.py), as `argus` does it:
in a fresh single-threaded interpreter, against the real simulator over HTTPS. (This test
process has threads, so here a prefetch takes the thread path: tests/unit/
test_session_start.py covers that one.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, os, sys, threading
from pathlib import Path
from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.prefetch import Prefetch
from argus_tui.services.session import Session
from argus_tui.sim import certs
from argus_tui.sim.demo import demo_scenario
from argus_tui.sim.server import Simulator

bundle = certs.cached(Path(sys.argv[1]), "pve-a", ["127.0.0.1"])
sim = Simulator(demo_scenario(), port=0, bundle=bundle)
port = int(sys.argv[2]) if len(sys.argv) > 2 else sim.port
tls = TlsConfig("fingerprint", fingerprint=sim.fingerprint)
settings = ConnectionSettings("127.0.0.1", port, sim.token_id, Secret(sim.token_secret), tls)
session = Session(PveClient(settings))
out = {"threads_before": threading.active_count()}
"""

FETCHED_BY_CHILD = (
    PRELUDE
    + """
session.prefetch()  # forks: nothing else runs yet
sim.start()  # the child's connection waits in the listening socket's backlog
first = session.refresh()
out["guests"] = len(first.snapshot.guests)
out["requests_after_first"] = "requests" in sys.modules
out["calls_after_first"] = session.client.calls
second = session.refresh()
out["second_guests"] = len(second.snapshot.guests)
out["requests_after_second"] = "requests" in sys.modules
session.close()
sim.stop()
print(json.dumps(out))
"""
)

CHILD_FAILS = (
    PRELUDE
    + """
from argus_tui.errors import ArgusError
try:
    session.prefetch()
    session.refresh()
except ArgusError as exc:
    out["error"] = f"{type(exc).__name__}: {exc}"
session.close()
print(json.dumps(out))
"""
)

CHILD_DIES = (
    PRELUDE
    + """
parent = os.getpid()

def fetch():
    if os.getpid() != parent:
        os._exit(3)  # the child dies before it answers
    return session.snapshot()

prefetch = Prefetch(fetch)
sim.start()
snapshot = prefetch.result(max_age=60)
out["guests"] = len(snapshot.guests)
out["requests"] = "requests" in sys.modules  # the parent fetched it itself
sim.stop()
print(json.dumps(out))
"""
)


def run(code: str, tmp_path: Path, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "tls"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_child_fetches_the_first_snapshot(tmp_path: Path) -> None:
    out = run(FETCHED_BY_CHILD, tmp_path)
    assert out["threads_before"] == 1
    assert out["guests"] == 25
    # This process never loaded the HTTP stack for it: the child made the four calls.
    assert out["requests_after_first"] is False and out["calls_after_first"] == 0
    assert out["second_guests"] == 25 and out["requests_after_second"] is True


def test_what_the_child_could_not_reach_is_the_first_polls_error(tmp_path: Path) -> None:
    out = run(CHILD_FAILS, tmp_path, "1")  # nothing listens on port 1
    assert str(out["error"]).startswith("ConnectionFailed: cannot reach 127.0.0.1:1")


def test_a_child_that_dies_leaves_the_fetch_to_this_process(tmp_path: Path) -> None:
    out = run(CHILD_DIES, tmp_path)
    assert out["guests"] == 25 and out["requests"] is True
