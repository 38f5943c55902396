"""Moving a history: `encode` undoes `decode`, `import_rows` takes an export once (the
SQLite side of `argus history copy`), the copy walks all time in day windows, and the
doctor's look at a SQLite file creates nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.store.helpers import T0, guest, node, snapshot

from argus_tui.domain.models import Task
from argus_tui.services.history_copy import copy_history, windows
from argus_tui.store import DAY, ActionRecord, ExchangeRecord, HistoryStore, open_history
from argus_tui.store.samples import decode, encode


def filled(path: Path) -> HistoryStore:
    """Two profiles, raw samples and rollups, events, tasks, actions, an exchange."""
    store = open_history(path, auto_prune=False)
    for i in range(8):
        status = "stopped" if i >= 5 else "running"
        guests = [guest(101, status, counters=1000 * i), guest(102, cpu=0.1 * i)]
        store.record_snapshot(snapshot(guests, [node("pve1"), node("pve2")]), "p", ts=T0 + 60 * i)
    store.record_snapshot(snapshot([guest(7)]), "q", ts=T0 + 30)
    store.record_tasks([Task("UPID:a", "pve1", "qmstop", "101", "u@pve", int(T0) + 290,
                             int(T0) + 295, "OK")], "p")  # fmt: skip
    store.record_action(ActionRecord(T0 + 300, "p", "u@pve!t", 101, "g101", "pve1", "stop",
                                     "UPID:a", "OK", 5.0, operator="alice@j1"))  # fmt: skip
    store.record_exchange(ExchangeRecord(T0 + 310, "q", "m", "VM 7", "why?", 10, 5, "ok"))
    store.prune(now=T0 + DAY + 400)  # the first samples become 5-minute rollups
    store.record_snapshot(snapshot([guest(101, "stopped"), guest(102)]), "p", ts=T0 + DAY + 500)
    return store


def test_encode_undoes_decode() -> None:
    raw = {"ts": 100, "kind": "guest", "key": "101", "status": 1, "cpu": 2500, "mem": 1024,
           "disk": 7, "netin": 5, "netout": 6, "diskread": None, "diskwrite": 0}  # fmt: skip
    back = encode(decode(raw, 0))
    assert (back.step, back.ts, back.kind, back.key, back.status) == (0, 100, "guest", "101", 1)
    assert back.values == (2500, 1024, 7, 5, 6, None, 0) and back.maxima == back.values
    assert (back.n, back.up) == (1, 1)
    rollup = {"ts": 300, "kind": "node", "key": "pve1", "n": 4, "up": 3, "cpu": 10,
              "cpu_max": 20, "mem": 4, "mem_max": 8, "disk": 1, "disk_max": 1}  # fmt: skip
    back = encode(decode(rollup, 300))
    assert (back.step, back.status, back.n, back.up) == (300, None, 4, 3)
    assert back.values[:3] == (10, 4, 1) and back.maxima[:3] == (20, 8, 1)
    assert back.values[3:] == (None,) * 4


def test_import_takes_an_export_once(tmp_path: Path) -> None:
    source = filled(tmp_path / "a.db")
    target = open_history(tmp_path / "b.db", auto_prune=False)
    for profile in ("p", "q"):
        rows = source.export(profile, 0)
        assert {s["step"] for s in rows["samples"]} >= {300}  # rollups come along
        added = target.import_rows(profile, rows)
        assert added == {section: len(rows[section]) for section in rows}
        assert target.import_rows(profile, rows) == dict.fromkeys(rows, 0)  # nothing twice
        assert target.export(profile, 0) == rows
    assert target.profiles() == ["p", "q"]
    assert target.stats().profiles["p"].resolutions == source.stats().profiles["p"].resolutions
    # Recording goes on from there: the picture was not copied, so the first refresh is a
    # baseline again, but the samples already there are not written twice.
    target.record_snapshot(snapshot([guest(101, "stopped"), guest(102)]), "p", ts=T0 + DAY + 500)
    assert len(target.export("p", 0)["samples"]) == len(source.export("p", 0)["samples"])
    source.close()
    target.close()


def test_copy_walks_all_time_in_day_windows(tmp_path: Path) -> None:
    assert windows(T0, T0 + 2.5 * DAY) == [
        (0.0, T0),
        (T0, T0 + DAY),
        (T0 + DAY, T0 + 2 * DAY),
        (T0 + 2 * DAY, None),
    ]
    source = filled(tmp_path / "a.db")
    target = open_history(tmp_path / "b.db", auto_prune=False)
    said: list[str] = []
    first = copy_history(source, target, said.append, now=T0 + 2 * DAY)
    assert [line.split(":")[0] for line in said] == ["profile p", "profile q"]
    assert first.added == first.read and first.read["samples"] > 0
    again = copy_history(source, target, said.append, now=T0 + 2 * DAY)
    assert again.read == first.read and set(again.added.values()) == {0}
    for profile in ("p", "q"):
        assert target.export(profile, 0) == source.export(profile, 0)
    source.close()
    target.close()


def test_the_doctors_look_at_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    store = open_history(path)
    assert store.describe() == f"SQLite {path}"
    probes = store.diagnose()
    assert [(p.name, p.ok) for p in probes] == [("reachable", True), ("write", True)]
    assert "does not exist yet" in probes[0].detail and not path.exists()  # nothing created
    store.record_snapshot(snapshot([guest(101)]), "p", ts=T0)
    assert [(p.name, p.ok) for p in store.diagnose()] == [
        ("reachable", True),
        ("schema", True),
        ("write", True),
    ]
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE schema_version SET version = 99")
    newer = open_history(path).diagnose()
    assert [(p.name, p.ok) for p in newer][:2] == [("reachable", True), ("schema", False)]
    assert "newer Argus" in newer[1].detail and newer[1].hint
