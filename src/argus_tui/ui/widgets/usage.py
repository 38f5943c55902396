"""Usage rows: a label, a bar for the current value, a sparkline of history, the peak.

Everything is built as `rich.text.Text`, so text from the server is never parsed as markup.
The sparkline draws percentages on 0-100 % and rates on their own range (ui/widgets/spark.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from argus_tui.domain.format import bytes_, pct_style, percent
from argus_tui.ui.widgets.spark import LevelSparkline, finite

BAR_WIDTH = 12
LABEL_WIDTH = 8
_BAR_STYLES = {"": "green", "warn": "yellow", "bad": "bold red", "dim": "dim"}
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float | None, width: int = BAR_WIDTH) -> Text:
    """A horizontal bar in eighths of a cell, coloured by the PVE thresholds."""
    if fraction is None:
        return Text("·" * width, style="dim")
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    text = Text("█" * full, style=_BAR_STYLES[pct_style(fraction)])
    if part:
        text.append(_EIGHTHS[part], style=_BAR_STYLES[pct_style(fraction)])
    text.append("░" * (width - full - (1 if part else 0)), style="dim")
    return text


def ratio(used: float | None, total: float | None) -> float | None:
    return used / total if used is not None and total else None


def fraction_line(label: str, fraction: float | None, detail: str = "") -> Text:
    """`CPU   ████░░░░  42% of 32` — label, bar, percentage and an optional detail."""
    text = Text(label.ljust(LABEL_WIDTH), style="bold", no_wrap=True, overflow="ellipsis")
    text.append_text(bar(fraction))
    text.append(f" {percent(fraction):>4}", style=_BAR_STYLES[pct_style(fraction)])
    if detail:
        text.append(f" {detail}", style="dim" if fraction is None else "")
    return text


def rate_line(label: str, value: float | None) -> Text:
    """A rate has no capacity to compare with: no bar, just the latest value."""
    text = Text(label.ljust(LABEL_WIDTH), style="bold", no_wrap=True, overflow="ellipsis")
    text.append(" " * BAR_WIDTH)
    text.append(f" {rate(value):>4}", style="dim" if value is None else "")
    return text


def rate(value: float | None) -> str:
    """Bytes per second, compact."""
    return "-" if value is None else f"{bytes_(value)}/s"


class UsageRow(Horizontal):
    """One metric: current value with bar, then history as a sparkline, then its peak."""

    DEFAULT_CSS = """
    UsageRow { height: 1; }
    UsageRow > .usage-value { width: 42; height: 1; }
    UsageRow > Sparkline { width: 1fr; margin: 0 1; }
    UsageRow > .usage-peak { width: 13; height: 1; }
    UsageRow.-stale > Sparkline > .sparkline--max-color { color: $text-muted; }
    """

    def __init__(self, label: str, *, is_rate: bool = False) -> None:
        super().__init__()
        self.label = label
        self.is_rate = is_rate
        self.value = Static(fraction_line(label, None), classes="usage-value")
        self.spark = LevelSparkline(percent=not is_rate)
        self.peak = Static("", classes="usage-peak")

    def compose(self) -> ComposeResult:
        yield self.value
        yield self.spark
        yield self.peak

    def show(self, current: Text, series: Sequence[float] | None, *, stale: bool = False) -> None:
        """`series` None means history is still loading."""
        self.value.update(current)
        self.spark.data = list(series or ())
        self.set_class(stale, "-stale")
        samples = finite(series or ())
        if not samples:
            self.peak.update(Text("loading…" if series is None else "no history", style="dim"))
        else:
            top = max(samples)
            self.peak.update(Text(f"max {rate(top) if self.is_rate else percent(top)}"))
