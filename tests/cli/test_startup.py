"""What `argus` loads before its first screen: nothing it does not need to draw it.

Each check runs in a fresh interpreter (this one has imported everything already): the
entry path must not import the HTTP stack, the history's SQLite layer, the assistant's
Markdown or the simulator; and in a real start of the demo, the first snapshot is on the
guests screen before the history database (sqlite_utils, dateutil) is even imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What the first frame can do without; each costs tens of milliseconds to import.
HEAVY = (
    "requests",
    "urllib3",
    "proxmoxer",
    "websockets",
    "sqlite_utils",
    "dateutil",
    "markdown_it",
    "keyring",
    "tomlkit",
    "cryptography",
    "openai",
    "psycopg",
    "argus_tui.sim",
    "argus_tui.store.sqlite",
)

ENTRY = """
import json, sys
from argus_tui.cli import main
import argus_tui.cli.context, argus_tui.cli.commands.tui, argus_tui.ui.app
from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.session import Session

tls = TlsConfig("fingerprint", fingerprint=":".join(["AB"] * 32))
client = PveClient(ConnectionSettings("127.0.0.1", 8006, "a@pve!t", Secret("s"), tls))
Session(client, open_history=lambda: None)
print(json.dumps(sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)))
"""

DEMO_START = """
import asyncio, json, sys
from pathlib import Path

from argus_tui.cli.context import CliContext
from argus_tui.config import Flags
from argus_tui.domain.secret import Secret
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.sim.demo import demo_simulator
from argus_tui.ui.app import ArgusApp
from tests.ui.conftest import screen_text, until

HEAVY = json.loads(sys.argv[1])
seen = {}


class Watched(ArgusApp):
    CSS_PATH = str(Path(sys.modules[ArgusApp.__module__].__file__).with_name("argus.tcss"))

    def watch_snapshot(self, snapshot):
        if snapshot is not None and "first" not in seen:
            seen["first"] = sorted(m for m in HEAVY if m in sys.modules)
            seen["pending"] = self.session.history_pending
        super().watch_snapshot(snapshot)


async def start() -> None:
    sim = demo_simulator().start()
    ctx = CliContext(Flags(), quiet=True)
    ctx.use_demo(
        ConnectionSettings(
            "127.0.0.1", sim.port, sim.token_id, Secret(sim.token_secret),
            TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        ),
        Path(sys.argv[2]) / "history.db",
    )
    session = ctx.session(defer_history=True)
    session.prefetch()
    app = Watched(session)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: "tmpl-debian-13" in screen_text(app), "the guests")
        await until(pilot, lambda: not session.history_pending, "the history to open")
        await app.workers.wait_for_complete()
        seen["later"] = sorted(m for m in HEAVY if m in sys.modules)
        store = session.history
        seen["samples"] = len(store.export("demo", 0)["samples"]) if store else 0
    session.close()
    sim.stop()


asyncio.run(start())
print(json.dumps(seen))
"""


def run_python(code: str, tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    for name in [k for k in env if k.startswith("ARGUS_")]:
        del env[name]
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(HEAVY), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_entry_path_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    assert json.loads(run_python(ENTRY, tmp_path)) == []


def test_the_demo_shows_its_guests_before_the_history_is_opened(tmp_path: Path) -> None:
    seen = json.loads(run_python(DEMO_START, tmp_path, str(tmp_path)))
    first = set(seen["first"])
    # The simulator runs in this process (and brings cryptography only when it has no
    # cached certificate); the client's first requests have loaded the HTTP stack.
    assert not first & {"sqlite_utils", "dateutil", "markdown_it", "argus_tui.store.sqlite"}
    assert seen["pending"] is True
    later = set(seen["later"])
    assert {"sqlite_utils", "argus_tui.store.sqlite"} <= later  # opened after the first frame
    assert "markdown_it" not in later  # no answer from the assistant was shown
    assert seen["samples"] > 0  # and the first snapshot was recorded into it


def test_top_level_options_alone_are_parsed_without_the_commands() -> None:
    from argus_tui.cli.parser import build_parser, names_a_command

    fp = ":".join(["AB"] * 32)
    for words in (
        [],
        ["--demo"],
        ["--profile", "status", "--interval", "2"],  # a value, not the command
        ["--profile=lab", "--insecure"],
        ["--host", "pve:8006", "--token-id", "a@pve!t", "--fingerprint", fp],
    ):
        assert not names_a_command(words)
        light = build_parser(commands=False).parse_args(words)
        assert light == build_parser().parse_args(words)
    for words in (["status"], ["--demo", "-h"], ["--help"], ["--profile", "x", "tasks"]):
        assert names_a_command(words)
