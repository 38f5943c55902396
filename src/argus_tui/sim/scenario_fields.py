"""Reading scenario tables: typed keys, sizes, and `ScenarioError`s that say where.

Every scenario module reads its tables through these helpers, so a missing key, a wrong
type or a typo is reported the same way: the table, the entry and the key.
"""

from __future__ import annotations

import re
from typing import Any

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and why."""


def parse_size(value: object, where: str) -> int:
    """Bytes from `64G`, `512M`, `1.5T` or a plain integer (binary units, as PVE uses)."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected a size such as '8G', got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _SIZE_RE.match(value)
        if match:
            return int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    raise ScenarioError(f"{where}: expected a size such as '8G' or '512M', got {value!r}")


def table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"[{key}] must be a table")
    return value


def array(data: dict[str, Any], key: str, where: str = "") -> list[dict[str, Any]]:
    """An array of tables; `where` names the owner of an inline array (`guest.snapshots`)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        if where:
            raise ScenarioError(f"{where}: '{key}' must be an array of tables")
        raise ScenarioError(f"[[{key}]] must be an array of tables")
    return value


def get(
    item: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = None
) -> Any:
    """`item[key]` of type `kind`; required when `default` is None."""
    if key not in item:
        if default is None:
            raise ScenarioError(f"{where}: missing required key '{key}'")
        return default
    value = item[key]
    if isinstance(value, bool) and kind is int:
        raise ScenarioError(f"{where}: '{key}' must be an integer, got {value!r}")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ScenarioError(f"{where}: '{key}' must be {names}, got {value!r}")
    return value


def strings(item: dict[str, Any], key: str, where: str) -> list[str]:
    """An optional list of strings (empty when absent)."""
    value = get(item, key, list, where, [])
    if not all(isinstance(v, str) for v in value):
        raise ScenarioError(f"{where}: '{key}' must be a list of strings")
    return list(value)


def check_keys(item: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")
