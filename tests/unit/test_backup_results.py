"""A vzdump of several guests where one fails: each guest's own result, in the outcome
and in the journal, against the simulator (its clock moved on by the follower's sleep)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.ops_scenario import TOKENS, ops_scenario, secret_of

from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator
from argus_tui.store import open_history

LIMIT = (
    "There is a max backup limit of 1 enforced by the target storage or the vzdump"
    " parameters. Either increase the limit or delete old backups."
)


def capped_lab() -> dict[str, Any]:
    data = ops_scenario()
    data["storage"].append(
        {"id": "capped", "type": "nfs", "content": ["backup"], "shared": True, "size": "1T",
         "prune_backups": "keep-last=1"}
    )  # fmt: skip
    for guest in data["guest"]:
        if guest["vmid"] == 104:
            guest["backups"] = [{"storage": "capped", "ago": 3600}]
    return data


def test_each_guest_has_its_own_result(make_sim: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = make_sim(capped_lab())
    token = TOKENS["root"]
    client = PveClient(
        ConnectionSettings(
            "127.0.0.1",
            sim.port,
            token,
            Secret(secret_of(token)),
            TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        )
    )
    history = open_history(tmp_path / "history.db")
    session = Session(client, profile="lab", history=history)
    guests = [g for g in session.snapshot().guests if g.vmid in (103, 104)]
    [run] = session.backups.start(guests, "capped")
    outcome = session.backups.follow(run, sleep=lambda _: sim.advance(5))
    assert (outcome.ok, outcome.status) == (False, "job errors")
    assert outcome.result_of(103) == "OK" and outcome.result_of(104) == LIMIT
    assert outcome.result_of(999) == "job errors"  # a guest the log does not name
    rows = history.export("lab", 0)["actions"]
    assert [(r["vmid"], r["result"]) for r in rows] == [(103, "OK"), (104, LIMIT)]
    session.close()
