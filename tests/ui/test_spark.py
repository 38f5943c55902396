"""Sparklines draw a level as a level: percentages on 0-100 %, rates on their own range
without blowing noise up to full blocks, gaps as blanks."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from textual.app import App, ComposeResult

from argus_tui.ui.widgets.spark import Levels, levels
from argus_tui.ui.widgets.usage import UsageRow, fraction_line, rate_line
from tests.ui.conftest import screen_text

LOW, HIGH = Color.parse("#203040"), Color.parse("#40a0ff")


def drawn(
    values: Sequence[float | None], width: int = 10, *, percent: bool, height: int = 1
) -> list[str]:
    """The rows of the sparkline, top first, as the terminal shows them."""
    console = Console(width=width, color_system=None)
    heights = levels(values, width, percent=percent)
    segments = console.render(Levels(heights, height, LOW, HIGH), console.options)
    return ["".join(s.text for s in line) for line in Segment.split_lines(segments)]


def test_a_flat_two_percent_draws_on_the_bottom() -> None:
    assert drawn([0.02] * 60, percent=True) == ["▁" * 10]
    assert drawn([0.02], percent=True) == ["▁" * 10]  # one sample is not 100 % either
    assert drawn([0.02, 0.021, 0.019, 0.022] * 15, percent=True) == ["▁" * 10]  # its noise


def test_a_flat_half_draws_half_way_up() -> None:
    assert drawn([0.5] * 60, percent=True) == ["▄" * 10]
    assert drawn([0.5] * 60, percent=True, height=2) == [" " * 10, "█" * 10]


def test_a_ramp_over_zero_to_a_hundred_fills_the_height() -> None:
    ramp = [step / 7 for step in range(8)]
    assert drawn(ramp, 8, percent=True) == ["▁▂▃▄▅▆▇█"]
    assert drawn([0.0, 1.0], 2, percent=True, height=2) == [" █", "▁█"]
    assert drawn([-0.1, 1.3], 2, percent=True) == ["▁█"]  # out of range: clamped


def test_a_flat_rate_is_not_full_and_zero_is_the_bottom() -> None:
    assert drawn([1_000_000.0] * 60, percent=False) == ["▄" * 10]
    assert drawn([0.0] * 60, percent=False) == ["▁" * 10]
    noisy = drawn([1000.0, 1010.0, 990.0, 1005.0] * 15, percent=False)[0]
    assert set(noisy) <= set("▃▄▅"), noisy  # a steady rate stays near the middle


def test_a_rate_ramp_scales_to_its_own_range() -> None:
    ramp = [1000.0 * step for step in range(8)]
    assert drawn(ramp, 8, percent=False) == ["▁▂▃▄▅▆▇█"]
    assert drawn([500.0, 1000.0], 2, percent=False) == ["▁█"]  # from its own minimum


def test_gaps_draw_blank_and_never_break_the_graph() -> None:
    assert drawn([0.5, None, math.nan, 0.5], 4, percent=True) == ["▄  ▄"]
    assert drawn([math.nan] * 5, 5, percent=False) == [" " * 5]
    assert drawn([None, 3.0, math.inf, 6.0], 4, percent=False) == [" ▁ █"]
    assert drawn([], 6, percent=True) == ["▁" * 6]  # no history yet: the baseline


def test_a_short_series_stretches_and_a_long_one_keeps_its_peaks() -> None:
    assert drawn([0.0, 1.0], 6, percent=True) == ["▁▁▁███"]
    spike = [0.0] * 59 + [1.0]
    assert drawn(spike, 6, percent=True) == ["▁▁▁▁▁█"]


class Rows(App[None]):
    def compose(self) -> ComposeResult:
        yield UsageRow("CPU")
        yield UsageRow("NET IN", is_rate=True)


async def test_usage_rows_on_screen() -> None:
    """What the utilisation screen's rows show for a steady 2 % and a steady rate."""
    app = Rows()
    async with app.run_test(size=(80, 4)) as pilot:
        cpu, net = app.query(UsageRow)
        cpu.show(fraction_line("CPU", 0.02), [0.02] * 25 + [math.nan] * 10 + [0.02] * 25)
        net.show(rate_line("NET IN", 2048.0), [2048.0] * 60)
        await pilot.pause()
        lines = screen_text(app).splitlines()  # type: ignore[arg-type]
    cpu_line, net_line = lines[0], lines[1]
    assert "max 2%" in cpu_line and "█" not in cpu_line.split("2%")[1], cpu_line
    graph = cpu_line[42:].split("max")[0].strip()
    assert set(graph) == {"▁", " "}, cpu_line
    graph = net_line[42:].split("max")[0].strip()
    assert "max 2K/s" in net_line and set(graph) == {"▄"}, net_line
