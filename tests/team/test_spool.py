"""The team history's spool against a real PostgreSQL whose relay is cut mid-run: what is
recorded meanwhile is kept (0600 in a 0700 folder) and sent once, in order, when the
database is back; the change of the gap is recorded once; the spool is bounded."""

from __future__ import annotations

import dataclasses
import json
import socket
import stat
import time
from pathlib import Path

import pytest
from tests.store.helpers import T0, guest, snapshot
from tests.team.conftest import TeamDb

from argus_tui.domain.models import Task
from argus_tui.errors import StoreError, StoreUnavailable
from argus_tui.store import ActionRecord, ExchangeRecord, HistoryStore, Spooling, open_history
from argus_tui.store.spool import SpooledHistory

CLOSED = "postgresql://argus@127.0.0.1:9/argus"  # nothing listens on the discard port


def action(vmid: int, ts: float, operator: str = "alice@jump1") -> ActionRecord:
    return ActionRecord(
        ts=ts, profile="p", token_id="argus@pve!tui", vmid=vmid, guest=f"g{vmid}",
        node="pve1", action="stop", upid=f"UPID:pve1:{vmid:08X}:x", result="OK",
        duration=1.5, operator=operator,
    )  # fmt: skip


def spooled(url: str, folder: Path, **options: object) -> HistoryStore:
    options.setdefault("timeout", 3)
    store = open_history(url=url, spool_dir=folder, auto_prune=False, **options)  # type: ignore[arg-type]
    assert isinstance(store, Spooling)
    return store


def backlog(store: HistoryStore) -> tuple[bool | None, int, tuple[str, ...]]:
    assert isinstance(store, Spooling)
    b = store.backlog()
    return b.reachable, b.kept, b.kept_here


def test_actions_while_away_are_kept_then_sent_once_in_order(
    team_db: TeamDb, spool_dir: Path
) -> None:
    store = spooled(team_db.url(), spool_dir)
    store.record_action(action(101, T0))
    assert backlog(store) == (True, 0, ())

    team_db.relay.cut()
    store.record_action(action(102, T0 + 1))
    store.record_exchange(
        ExchangeRecord(T0 + 2, "p", "llama3", "VM 102", "why?", 100, 20, "ok", duration=2.0)
    )
    tasks = [Task("UPID:pve1:1:x", "pve1", "qmstop", "102", "argus@pve!tui", int(T0), int(T0) + 3,
                  "OK")]  # fmt: skip
    store.record_tasks(tasks, "p")
    store.record_action(action(103, T0 + 3))
    assert backlog(store) == (False, 4, ("action", "exchange", "tasks"))
    spool = spool_dir / "history-spool.jsonl"
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool_dir.stat().st_mode) == 0o700
    kinds = [json.loads(line)["kind"] for line in spool.read_text().splitlines()]
    assert kinds == ["action", "exchange", "tasks", "action"]
    with pytest.raises(StoreUnavailable):  # reads while away say so, as ever
        store.actions(0)
    b = store.backlog()  # type: ignore[attr-defined]
    assert b.reason == "connection refused" and b.summary == "team database unreachable, 4 kept"

    team_db.relay.restore()
    store.record_action(action(104, T0 + 4))  # the next call sends the backlog first
    assert [a["vmid"] for a in store.actions(0, "p")] == [101, 102, 103, 104]
    assert [e["question"] for e in store.exchanges(0, "p")] == ["why?"]
    assert [t["upid"] for t in store.tasks("p")] == ["UPID:pve1:1:x"]
    assert not spool.exists() and backlog(store) == (True, 0, ())
    store.record_action(action(105, T0 + 5))
    assert team_db.count("SELECT count(*) FROM actions") == 5  # nothing sent twice
    store.close()


def test_the_change_of_the_gap_is_recorded_once(team_db: TeamDb, spool_dir: Path) -> None:
    running = snapshot([guest(105), guest(106)])
    stopped = snapshot([guest(105, "stopped"), guest(106)])
    store = spooled(team_db.url(), spool_dir)
    store.record_snapshot(running, "p", ts=T0)  # the baseline
    team_db.relay.cut()
    store.record_snapshot(stopped, "p", ts=T0 + 60)  # VM 105 stopped meanwhile
    store.record_snapshot(stopped, "p", ts=T0 + 120)
    assert backlog(store) == (False, 1, ("snapshot",))  # the last refresh per profile
    team_db.relay.restore()
    store.record_snapshot(stopped, "p", ts=T0 + 180)
    changes = store.changes("p", 0)
    assert [(c.kind, c.subject, c.ts) for c in changes] == [("stopped", "VM 105 (g105)", T0 + 120)]
    store.record_snapshot(stopped, "p", ts=T0 + 240)
    assert len(store.changes("p", 0)) == 1
    samples = store.export("p", 0)["samples"]
    stamps = sorted({s["ts"] for s in samples})
    assert stamps == [T0, T0 + 120, T0 + 180, T0 + 240]  # the gap's first refresh is missing
    store.close()


def test_a_kept_refresh_outlives_the_process(team_db: TeamDb, spool_dir: Path) -> None:
    """`argus status` while away, then again once it is back: the change is recorded."""
    first = spooled(team_db.url(), spool_dir)
    first.record_snapshot(snapshot([guest(105)]), "p", ts=T0)
    first.close()
    team_db.relay.cut()
    away = spooled(team_db.url(), spool_dir)
    away.record_snapshot(snapshot([guest(105, "stopped")]), "p", ts=T0 + 60)
    away.close()
    kept = spool_dir / "history-spool-snapshots.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    team_db.relay.restore()
    back = spooled(team_db.url(), spool_dir)
    back.record_snapshot(snapshot([guest(105, "stopped")]), "p", ts=T0 + 120)
    assert [(c.kind, c.ts) for c in back.changes("p", 0)] == [("stopped", T0 + 60)]
    assert not kept.exists()
    back.close()


def test_the_spool_is_bounded_the_oldest_dropped_and_said(team_db: TeamDb, spool_dir: Path) -> None:
    away = spooled(CLOSED, spool_dir, name="db:9/argus")
    assert isinstance(away, SpooledHistory)
    away.spool.limit = 5  # 10,000 by default; the rule is the same
    for vmid in range(1, 8):
        away.record_action(action(vmid, T0 + vmid))
    assert backlog(away)[:2] == (False, 5)
    warnings = away.take_warnings()
    assert len(warnings) == 1 and "full (5 records): the oldest 2 were dropped" in warnings[0]
    assert away.take_warnings() == []  # said once
    away.close()
    back = spooled(team_db.url(), spool_dir)  # the same spool, the database reachable
    back.profiles()
    assert [a["vmid"] for a in back.actions(0)] == [3, 4, 5, 6, 7]
    back.close()


def test_a_spool_that_cannot_be_written_says_so(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    store = spooled(CLOSED, not_a_folder)
    with pytest.raises(StoreError) as info:
        store.record_action(action(101, T0))
    text = str(info.value)
    assert "unreachable (connection refused)" in text and "cannot be written" in text
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)  # kept in memory: no error
    store.close()  # saving it fails: a warning, never a crash
    assert any("lost" in w for w in store.take_warnings())


def test_a_record_the_database_refuses_is_dropped_not_retried(
    team_db: TeamDb, spool_dir: Path
) -> None:
    """A kept line no database takes (refused, or unreadable) must not block the rest."""
    spool_dir.mkdir(parents=True, mode=0o700)  # private, as Argus keeps it
    spool = spool_dir / "history-spool.jsonl"
    refused = dataclasses.asdict(action(101, T0))
    refused["vmid"] = "not a number"  # the database refuses it: not "away"
    lines = [json.dumps({"kind": "action", "record": refused}), "not json"]
    lines.append(json.dumps({"kind": "action", "record": dataclasses.asdict(action(102, T0))}))
    spool.write_text("\n".join(lines) + "\n")
    spool.chmod(0o600)
    store = spooled(team_db.url(), spool_dir)
    store.record_action(action(103, T0 + 1))
    assert [a["vmid"] for a in store.actions(0)] == [102, 103]
    warnings = store.take_warnings()
    assert len(warnings) == 2 and not spool.exists()
    assert "refused and dropped" in warnings[0] and "unreadable" in warnings[1]
    store.close()


def test_a_database_that_does_not_answer_is_not_waited_for_at_every_call(
    spool_dir: Path,
) -> None:
    """A silent host costs one timeout, then rests: the refreshes keep their pace."""
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"postgresql://argus@127.0.0.1:{silent.getsockname()[1]}/argus"
        store = spooled(url, spool_dir, timeout=1)
        started = time.monotonic()
        store.record_action(action(101, T0))
        assert time.monotonic() - started >= 1  # the one wait
        started = time.monotonic()
        for i in range(5):
            store.record_action(action(102 + i, T0 + i))
            store.record_snapshot(snapshot([guest(101)]), "p", ts=T0 + i)
        with pytest.raises(StoreUnavailable):
            store.actions(0)
        assert time.monotonic() - started < 0.5
        assert backlog(store)[:2] == (False, 7)  # six actions and the refresh, all kept
        store.close()
