"""Compact number formatting for tables, with threshold styles."""

from __future__ import annotations


def bytes_(value: float | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if abs(size) < 1024 or unit == "P":
            return f"{size:.0f}{unit}" if unit in ("B", "K") else f"{size:.1f}{unit}"
        size /= 1024
    return "-"


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.0f}%"


def pct_style(fraction: float | None) -> str:
    """Threshold colours as in the PVE GUI: warn from 80 %, bad from 90 %."""
    if fraction is None:
        return "dim"
    if fraction >= 0.9:
        return "bad"
    if fraction >= 0.8:
        return "warn"
    return ""


def uptime(seconds: int | None) -> str:
    if not seconds:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m"
