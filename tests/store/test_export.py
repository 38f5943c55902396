"""`argus history export|stats|prune` helpers: formats, round trips, --since parsing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from argus_tui.domain.models import Task
from argus_tui.errors import ConfigError
from argus_tui.services import history as service
from argus_tui.store import DAY, ActionRecord, ExchangeRecord, HistoryStore

from .helpers import T0, guest, snapshot


@pytest.fixture
def filled(history: HistoryStore) -> HistoryStore:
    for k in range(12):
        status = "stopped" if k == 6 else "running"
        snap = snapshot([guest(101, status, cpu=k / 20, counters=600 * k), guest(102)])
        history.record_snapshot(snap, "p", ts=T0 + 60 * k)
    history.record_snapshot(snapshot([guest(101)]), "other", ts=T0)
    history.record_tasks(
        [Task("UPID:pve1:1:2:3:qmstop:101:u@pam!t:", "pve1", "qmstop", "101", "u@pam!t",
              int(T0) + 300, int(T0) + 302, "OK")],
        "p",
    )  # fmt: skip
    history.record_action(ActionRecord(T0 + 300, "p", "u@pam!t", 101, "g101", "pve1", "stop",
                                     "UPID:pve1:1:2:3:qmstop:101:u@pam!t:", "OK", 2.0))  # fmt: skip
    history.record_exchange(ExchangeRecord(T0 + 320, "p", "m", "guest 101 (g101)", "why?",
                                         1200, 340, "ok", "", 1.5))  # fmt: skip
    history.prune(now=T0 + 300 + DAY)  # the first 5 minutes become a rollup
    return history


def _same(csv_value: str, value: Any) -> bool:
    if value is None:
        return csv_value == ""
    if isinstance(value, int | float):
        return float(csv_value) == pytest.approx(float(value))
    return csv_value == str(value)


def test_json_and_csv_exports_round_trip(filled: HistoryStore) -> None:
    data = filled.export("p", 0)
    assert {len(data[s]) > 0 for s in service.SECTIONS} == {True}
    steps = {row["step"] for row in data["samples"]}
    assert steps == {0, 300}
    doc = json.loads(service.export_rows(filled, "p", 0, "json"))
    assert doc["profile"] == "p"
    for section in service.SECTIONS:
        assert doc[section] == [
            {k: row.get(k) for k in service.COLUMNS[section]} for row in data[section]
        ]
    parsed = service.read_csv_export(service.export_rows(filled, "p", 0, "csv"))
    for section in service.SECTIONS:
        assert len(parsed[section]) == len(doc[section]), section
        for got, want in zip(parsed[section], doc[section], strict=True):
            assert all(_same(got[k], want[k]) for k in want), (section, got, want)
    # the other profile's guest is not in p's export
    assert {r["key"] for r in doc["samples"]} == {"pve1", "pve2", "101", "102"}
    assert [e["kind"] for e in doc["events"]] == ["stopped", "started"]


def test_export_since_filters_every_section(filled: HistoryStore) -> None:
    doc = json.loads(service.export_rows(filled, "p", T0 + 400, "json"))
    assert {r["ts"] for r in doc["samples"]} == {T0 + 60 * k for k in range(7, 12)}
    assert doc["events"][0]["kind"] == "started" and len(doc["events"]) == 1
    assert doc["tasks"] == [] and doc["actions"] == []
    with pytest.raises(ConfigError):
        service.export_rows(filled, "p", 0, "xml")


def test_samples_are_in_plain_units(filled: HistoryStore) -> None:
    raw = [r for r in filled.export("p", 0)["samples"] if r["step"] == 0 and r["key"] == "101"]
    first = raw[0]
    assert first["ts"] == T0 + 300 and first["status"] == "running"
    assert first["cpu"] == pytest.approx(0.25) and first["mem"] == float(1 << 30)
    assert first["netin"] == 10.0 and first["up"] == 1.0
    stopped = next(r for r in raw if r["ts"] == T0 + 360)
    assert stopped["status"] == "stopped" and stopped["up"] == 0.0


def test_parse_since() -> None:
    now = 1_000_000.0
    assert service.parse_since("24h", now) == now - 86400
    assert service.parse_since("30m", now) == now - 1800
    assert service.parse_since("7d", now) == now - 7 * 86400
    assert service.parse_since("1h30m", now) == now - 5400
    assert service.parse_since("2w", now) == now - 14 * 86400
    assert service.parse_since("1790000000", now) == 1_790_000_000.0
    assert service.parse_since("2026-01-31", now) == datetime(2026, 1, 31).timestamp()
    for bad in ("", "yesterday", "5y", "-3h"):
        with pytest.raises(ConfigError):
            service.parse_since(bad, now)


def test_stats_and_prune(filled: HistoryStore) -> None:
    stats = service.stats_json(filled.stats())
    p = stats["profiles"]["p"]
    assert p["entities"] == 4 and p["events"] == 2 and not p["large_cluster_policy"]
    assert p["resolutions"]["0"]["points"] == 7 and p["resolutions"]["300"]["points"] == 1
    json.dumps(stats)  # JSON-ready
    text = service.render_stats(stats)
    assert "Profile p: 4 nodes and guests" in text and "5 min avg+max for 30 d" in text
    counts = service.prune(filled, now=T0 + 400 * DAY, vacuum=True)
    assert counts["events"] == 2 and counts["bytes_freed"] >= 0
    assert "pruned history" in service.render_prune(counts)
    assert filled.export("p", 0)["samples"] == []
