"""Series reads as every backend offers them: the arguments checked once, here.

A backend mixes in `SeriesReads` and implements `_series_rows`, the read itself.
"""

from __future__ import annotations

from .records import GUEST_FIELDS, NODE_FIELDS


class SeriesReads:
    """`guest_series` and `node_series` of the HistoryStore protocol."""

    def guest_series(
        self,
        profile: str,
        vmid: int,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        if field not in GUEST_FIELDS:
            raise ValueError(f"unknown guest field {field!r}")
        return self._series(profile, "guest", str(vmid), field, since, until, agg)

    def node_series(
        self,
        profile: str,
        node: str,
        field: str,
        since: float,
        until: float | None = None,
        agg: str = "avg",
    ) -> list[tuple[float, float]]:
        if field not in NODE_FIELDS:
            raise ValueError(f"unknown node field {field!r}")
        return self._series(profile, "node", node, field, since, until, agg)

    def _series(
        self,
        profile: str,
        kind: str,
        key: str,
        field: str,
        since: float,
        until: float | None,
        agg: str,
    ) -> list[tuple[float, float]]:
        if agg not in ("avg", "max"):
            raise ValueError("agg is 'avg' or 'max'")
        return self._series_rows(profile, kind, key, field, since, until, agg)

    def _series_rows(
        self,
        profile: str,
        kind: str,
        key: str,
        field: str,
        since: float,
        until: float | None,
        agg: str,
    ) -> list[tuple[float, float]]:
        raise NotImplementedError
