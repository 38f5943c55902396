"""Sparklines whose height reads as a level: a flat series draws flat, at its level.

Textual's Sparkline scales every series from its own minimum to its maximum (and draws a
single sample as full blocks), so a steady 2 % CPU with a little noise fills the row with
full blocks, which reads as 100 %. Here the scale depends on what the series is:

- **Percentages** (fractions of a capacity: CPU, memory, disk usage) scale to 0-100 %: a
  steady 2 % draws in the lowest block, 50 % half-way up, full blocks only at 100 %.
- **Rates** (network, disk I/O) have no capacity, so they scale to their own range, but
  that range spans at least `MIN_RATE_SPAN` of the peak: noise on a steady rate stays a
  near-flat line instead of swinging from the bottom to the top. A flat non-zero rate
  therefore draws half-way up (neither nothing nor the top of anything: the peak beside
  the graph says how much), and a zero series on the bottom row.
- **Gaps** (NaN or None: no sample) draw as blank cells; an empty series as the baseline.

Columns are the series cut into `width` buckets, each drawn at its largest sample (so a
short peak is not lost), as Textual's does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.color import Color, blend_rgb
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from textual.app import RenderResult as WidgetRender
from textual.widgets import Sparkline

BARS = "▁▂▃▄▅▆▇█"
MIN_RATE_SPAN = 0.5  # a rate's scale spans at least half its peak


def finite(values: Sequence[float | None]) -> list[float]:
    """The samples of `values`, gaps (None, NaN) left out."""
    return [v for v in values if v is not None and math.isfinite(v)]


def bounds(values: Sequence[float | None], *, percent: bool) -> tuple[float, float]:
    """The values drawn at the bottom and at the top of the graph."""
    if percent:
        return 0.0, 1.0
    samples = finite(values)
    if not samples or max(samples) <= 0:
        return 0.0, 1.0  # nothing (or no samples): the bottom row
    low, high = min(samples), max(samples)
    span = high * MIN_RATE_SPAN
    if high - low >= span:
        return low, high
    middle = (low + high) / 2
    return middle - span / 2, middle + span / 2


def columns(values: Sequence[float | None], width: int) -> list[float | None]:
    """The largest sample in each of `width` buckets (a short series is stretched)."""
    count = len(values)
    out: list[float | None] = []
    for column in range(width):
        start = column * count // width
        end = max(start + 1, (column + 1) * count // width)
        samples = finite(values[start:end])
        out.append(max(samples) if samples else None)
    return out


def levels(values: Sequence[float | None], width: int, *, percent: bool) -> list[float | None]:
    """Each column's height as a fraction of the graph's (0 to 1); None for a gap."""
    if not values:
        return [0.0] * width
    low, high = bounds(values, percent=percent)
    extent = high - low
    return [
        None if v is None else min(1.0, max(0.0, (v - low) / extent))
        for v in columns(values, width)
    ]


class Levels:
    """A Rich renderable: `levels` drawn in eighths of a cell over `height` rows, coloured
    from `low` (for the bottom) to `high` (for the top)."""

    def __init__(
        self, heights: Sequence[float | None], height: int, low: Color, high: Color
    ) -> None:
        self.heights = heights
        self.height = max(1, height)
        self.low, self.high = low.get_truecolor(), high.get_truecolor()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        steps = len(BARS) * self.height - 1
        styles = [None if h is None else self._style(h) for h in self.heights]
        for row in reversed(range(self.height)):
            floor, ceiling = row * len(BARS), (row + 1) * len(BARS)
            for height, style in zip(self.heights, styles, strict=True):
                step = -1 if height is None else int(height * steps)
                if step < floor:
                    yield Segment(" ")
                elif step >= ceiling:
                    yield Segment("█", style)
                else:
                    yield Segment(BARS[step % len(BARS)], style)
            if row:
                yield Segment.line()

    def _style(self, height: float) -> Style:
        return Style(color=Color.from_triplet(blend_rgb(self.low, self.high, height)))


class LevelSparkline(Sparkline):
    """Textual's Sparkline (its CSS and colours) drawn on the scale of `percent` or a rate."""

    def __init__(self, *, percent: bool) -> None:
        super().__init__([])
        self.percent = percent

    def render(self) -> WidgetRender:
        _, base = self.background_colors
        low = base + self.get_component_styles("sparkline--min-color").color
        high = base + self.get_component_styles("sparkline--max-color").color
        width, height = self.size.width, self.size.height
        heights = levels(list(self.data or ()), width, percent=self.percent)
        return Levels(heights, height, low.rich_color, high.rich_color)
