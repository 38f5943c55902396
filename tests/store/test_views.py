"""What the history gives users: the changes view's windows and usage merged with rrddata."""

from __future__ import annotations

import pytest

from argus_tui.errors import ConfigError
from argus_tui.services import history as service
from argus_tui.store import HistoryStore

from .conftest import OpenHistory
from .helpers import T0, guest, node, snapshot

HOUR = 3600.0


def _fill(history: HistoryStore) -> None:
    """VM 101 stops at T0+60; pve2 goes offline at T0+120; VM 102 appears at T0+180."""
    history.record_snapshot(snapshot([guest(101), guest(103)]), "p", ts=T0)
    history.record_snapshot(snapshot([guest(101, "stopped"), guest(103)]), "p", ts=T0 + 60)
    down = [node("pve1"), node("pve2", "offline")]
    history.record_snapshot(snapshot([guest(101, "stopped"), guest(103)], down), "p", ts=T0 + 120)
    history.record_snapshot(
        snapshot([guest(101, "stopped"), guest(102), guest(103)], down), "p", ts=T0 + 180
    )


def test_changes_since_last_look_and_in_windows(history: HistoryStore) -> None:
    _fill(history)
    # Never looked: the last 24 h, newest first.
    view = service.load_changes(history, "p", "last", now=T0 + 200, last_seen=None)
    assert view.label == "last 24 h (first look)"
    assert [(c.kind, c.subject) for c in view.changes] == [
        ("created", "VM 102 (g102)"),
        ("node-offline", "node pve2"),
        ("stopped", "VM 101 (g101)"),
    ]
    # Looked at T0+100: only what happened after.
    view = service.load_changes(history, "p", "last", now=T0 + 200, last_seen=T0 + 100)
    assert [c.kind for c in view.changes] == ["created", "node-offline"]
    assert view.label.startswith("since you last looked (") and "1m ago" in view.label
    # A chosen window.
    view = service.load_changes(history, "p", "1h", now=T0 + 60 + HOUR + 30)
    assert [c.kind for c in view.changes] == ["created", "node-offline"]
    assert view.label == "last 1h"
    with pytest.raises(ConfigError):
        service.load_changes(history, "p", "fortnight", now=T0)


def test_last_seen_is_kept_in_the_database(
    history: HistoryStore, open_history: OpenHistory
) -> None:
    assert history.last_seen("p") is None
    history.mark_seen("p", T0 + 5)
    assert open_history().last_seen("p") == T0 + 5


def test_usage_rows_reach_back_before_rrddata_and_stand_in_for_it(history: HistoryStore) -> None:
    for i in range(6):  # one sample every 10 minutes over the last hour
        g = guest(101, cpu=0.1 * (i + 1), mem=(i + 1) << 30)
        history.record_snapshot(snapshot([g]), "p", ts=T0 + 600 * i)
    now = T0 + 3000 + 60
    rrd = [{"time": T0 + 2400, "cpu": 0.9, "maxmem": 4.0 * (1 << 30), "mem": 1.0}]
    rows = service.usage_rows(history, "p", "guest", 101, "hour", rrd, {"maxmem": 8.0}, now)
    # Local samples before rrddata's first point, then rrddata itself (which wins).
    assert [r["time"] for r in rows] == [T0 + 600 * i for i in range(4)] + [T0 + 2400]
    assert [round(r["cpu"], 2) for r in rows] == [0.1, 0.2, 0.3, 0.4, 0.9]
    assert rows[0]["maxmem"] == 8.0 and rows[0]["mem"] == float(1 << 30)
    # No rrddata at all (an offline node answers 595): the local history alone.
    rows = service.usage_rows(history, "p", "guest", 101, "hour", None, {}, now)
    assert len(rows) == 6 and rows[-1]["cpu"] == pytest.approx(0.6)
    # Node fields come back under rrddata's names.
    rows = service.usage_rows(history, "p", "node", "pve1", "hour", None, {"memtotal": 1.0}, now)
    assert {"cpu", "memused", "rootused", "memtotal"} <= set(rows[0])
    # Outside the timeframe nothing is added.
    assert service.usage_rows(history, "p", "guest", 101, "hour", None, {}, now + 3 * HOUR) == []
