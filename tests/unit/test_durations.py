"""One spelling of time spans for config.toml and `history export --since`."""

from __future__ import annotations

import pytest

from argus_tui.domain.durations import parse_span


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("24h", 86400.0),
        (" 24 H ", 86400.0),
        ("1.5h", 5400.0),
        ("30d", 30 * 86400.0),
        ("52w", 52 * 7 * 86400.0),
        ("1h30m", 5400.0),
        ("1d 12h", 36 * 3600.0),
    ],
)
def test_spans(text: str, seconds: float) -> None:
    assert parse_span(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "5x", "1h30", "2026-01-31", "m"])
def test_not_spans(text: str) -> None:
    with pytest.raises(ValueError, match="not a span of time"):
        parse_span(text)
