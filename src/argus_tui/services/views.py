"""Filtering and sorting of table rows, pure so it is fast to test and to benchmark.

A filter is a case-insensitive substring, or a regular expression when written
`/like this/` or when it contains regex syntax that compiles; it matches any of the
row's searchable fields (for guests: name, vmid, tags, node, status, type, pool). The
fields are one per line, so `^` and `$` anchor a regex to a field: `/^10[59]$/` finds
guests 105 and 109.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from argus_tui.domain.models import Guest, Node, Task

T = TypeVar("T")
_FLAGS = re.IGNORECASE | re.MULTILINE  # haystacks hold one field per line


@dataclass(frozen=True, slots=True)
class Matcher:
    text: str
    regex: re.Pattern[str] | None
    error: str | None = None

    def __call__(self, haystack: str) -> bool:
        if not self.text:
            return True
        if self.regex is not None:
            return self.regex.search(haystack) is not None
        return self.text in haystack


def matcher(text: str) -> Matcher:
    """Build a matcher; an invalid `/regex/` falls back to substring and reports why."""
    text = text.strip()
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            return Matcher(text, re.compile(text[1:-1], _FLAGS))
        except re.error as exc:
            return Matcher(text.lower(), None, f"invalid regular expression: {exc}")
    if any(ch in text for ch in "^$[]()|*+?\\"):
        try:
            return Matcher(text, re.compile(text, _FLAGS))
        except re.error:
            pass
    return Matcher(text.lower(), None)


def guest_haystack(guest: Guest) -> str:
    return "\n".join(
        (
            guest.label.lower(),
            str(guest.vmid),
            "\n".join(guest.tags).lower(),
            guest.node.lower(),
            guest.status.lower(),
            guest.type,
            (guest.pool or "").lower(),
            "template" if guest.template else "",
        )
    )


def node_haystack(node: Node) -> str:
    return f"{node.name.lower()}\n{node.status}"


def task_haystack(task: Task) -> str:
    return "\n".join(
        (task.type, task.id, task.node, task.user.lower(), (task.status or "running").lower())
    )


def filter_rows(rows: Iterable[T], text: str, haystack: Callable[[T], str]) -> list[T]:
    match = matcher(text)
    if not match.text:
        return list(rows)
    return [row for row in rows if match(haystack(row))]


def sort_rows(rows: Sequence[T], key: Callable[[T], Any], reverse: bool = False) -> list[T]:
    """Stable sort where missing values (None) always go last."""
    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    return sorted(present, key=key, reverse=reverse) + missing
