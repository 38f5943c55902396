"""Spans of time as people write them: `90s`, `15m`, `24h`, `30d`, `52w`, `1h30m`.

One parser for config.toml's retention settings and `history export --since`, so both
accept the same spellings.
"""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_PARTS = re.compile(rf"(?:{_PART.pattern}\s*)+")


def parse_span(text: str) -> float:
    """Seconds in `text`: one or more number+unit parts (s, m, h, d, w), or a bare number
    of seconds. Case and spaces do not matter. ValueError for anything else."""
    value = text.strip().lower()
    if _NUMBER.fullmatch(value):
        return float(value)
    if _PARTS.fullmatch(value):
        return sum(float(number) * UNITS[unit] for number, unit in _PART.findall(value))
    raise ValueError(f"not a span of time: {text!r}")
