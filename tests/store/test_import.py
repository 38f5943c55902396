"""`import_rows`: an export of the local history added to another store, every backend,
each row once however often it is run (`argus history copy`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from argus_tui.domain.models import Task
from argus_tui.store import DAY, ActionRecord, ExchangeRecord, Export, HistoryStore, Retention
from argus_tui.store.sqlite import SqliteHistory

from .helpers import T0, guest, node, snapshot

SECTIONS = ("samples", "events", "tasks", "actions", "exchanges")


@pytest.fixture
def local(tmp_path: Path) -> Export:
    """A local history with every kind of row (samples at three resolutions), exported."""
    src = SqliteHistory(tmp_path / "local.db", auto_prune=False)
    for k in range(90):  # an hour and a half of one-minute samples
        status = "stopped" if 30 <= k < 40 else "running"
        down = [node("pve1"), node("pve2", "offline" if k == 50 else "online")]
        snap = snapshot([guest(101, status, cpu=k % 7 / 10, counters=600 * k), guest(102)], down)
        src.record_snapshot(snap, "p", ts=T0 + 60 * k)
    src.record_tasks([Task("UPID:pve1:1:2:3:qmstop:101:u@pam!t:", "pve1", "qmstop", "101",
                           "u@pam!t", int(T0) + 1800, int(T0) + 1802, "OK")], "p")  # fmt: skip
    src.record_action(ActionRecord(T0 + 1800, "p", "u@pam!t", 101, "g101", "pve1", "stop",
                                   "UPID:pve1:1:2:3:qmstop:101:u@pam!t:", "OK", 2.0,
                                   operator="alice@jump1"))  # fmt: skip
    src.record_exchange(ExchangeRecord(T0 + 1900, "p", "m", "guest 101 (g101)", "why?", 1200,
                                       340, "ok", "", 1.5))  # fmt: skip
    src.prune(now=T0 + 4800 + DAY)  # the first 80 minutes: 5-minute rollups
    src.prune(now=T0 + 3600 + 30 * DAY, retention=Retention(raw=30 * DAY - 1200))  # hour 1: 1 h
    rows = src.export("p", 0)
    src.close()
    assert {r["step"] for r in rows["samples"]} == {0, 300, 3600}
    assert all(rows[s] for s in SECTIONS)
    return rows


def _comparable(rows: Export) -> dict[str, list[dict[str, Any]]]:
    out = {s: [dict(r) for r in rows[s]] for s in SECTIONS}
    # samples of one moment come in the order of the store's own entity ids
    out["samples"].sort(key=lambda r: (r["ts"], r["step"], r["entity"], r["key"]))
    for r in out["actions"] + out["exchanges"]:
        r.pop("id", None)
    return out


def test_an_export_imported_reads_back_the_same(history: HistoryStore, local: Export) -> None:
    added = history.import_rows("p", local)
    assert added == {s: len(local[s]) for s in SECTIONS}
    assert _comparable(history.export("p", 0)) == _comparable(local)
    assert history.profiles() == ["p"]
    stats = history.stats().profiles["p"]
    assert stats.entities == 4 and set(stats.resolutions) == {0, 300, 3600}
    assert [c.kind for c in history.changes("p", 0)] == [e["kind"] for e in local["events"]]
    assert history.actions(0)[0]["operator"] == "alice@jump1"


def test_importing_again_adds_nothing(history: HistoryStore, local: Export) -> None:
    history.import_rows("p", local)
    assert history.import_rows("p", local) == dict.fromkeys(SECTIONS, 0)
    assert _comparable(history.export("p", 0)) == _comparable(local)


def test_imported_history_goes_on_recording(history: HistoryStore, local: Export) -> None:
    history.import_rows("p", local)
    last = max(r["ts"] for r in local["samples"])
    history.record_snapshot(snapshot([guest(101), guest(102)]), "p", ts=last + 30)
    assert history.guest_series("p", 101, "cpu", last)[-1][0] == last  # inside the interval
    history.record_snapshot(snapshot([guest(101), guest(102)]), "p", ts=last + 60)
    assert history.guest_series("p", 101, "cpu", last)[-1] == (last + 60, 0.5)
    history.prune(now=last + 60 + 40 * DAY)  # folds imported and recorded rows alike
    assert {t for t, _ in history.guest_series("p", 101, "cpu", 0)} <= {
        T0 + 3600 * h for h in range(3)
    }
