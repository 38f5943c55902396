"""A terminal emulator (pyte) fed with the bytes the app writes, frame by frame.

Under `run_test` Textual renders every frame but writes none; `Terminal` encodes each
frame into escape sequences as the real driver does and feeds them to pyte, so a test
sees what an SSH user's terminal would show after many partial updates, and which
regions each frame wrote.
"""

from __future__ import annotations

from typing import Any

import pyte
from rich.console import RenderableType
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.geometry import Region
from textual.screen import Screen

from argus_tui.ui.app import ArgusApp

# data, fg, bg, bold, italics, underscore, reverse
Cell = tuple[str, str, str, bool, bool, bool, bool]


class Terminal:
    """Everything `app` draws from now on, on a pyte screen of the app's size."""

    def __init__(self, app: ArgusApp, size: tuple[int, int]) -> None:
        self.app = app
        width, height = size
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)
        self.bytes = 0
        self.spans: list[tuple[int, int, int]] = []  # (y, x1, x2) each partial update wrote
        self.full_frames = 0
        display = app._display

        def write(screen: Screen[Any], renderable: RenderableType | None) -> None:
            if isinstance(renderable, CompositorUpdate):
                self.feed(renderable)
            display(screen, renderable)

        app._display = write  # type: ignore[method-assign]

    def feed(self, update: CompositorUpdate) -> None:
        data = update.render_segments(self.app.console)
        self.bytes += len(data.encode())
        if isinstance(update, ChopsUpdate):
            self.spans += update.spans
        else:
            self.full_frames += 1
        self.stream.feed(data)

    def reset_counts(self) -> None:
        self.bytes, self.spans, self.full_frames = 0, [], 0

    def wrote_in(self, region: Region) -> list[tuple[int, int, int]]:
        """The spans written since the last reset that overlap `region` (screen cells)."""
        return [
            (y, x1, x2)
            for y, x1, x2 in self.spans
            if region.y <= y < region.bottom and x1 < region.right and x2 > region.x
        ]

    def cells(self) -> list[list[Cell]]:
        return cells_of(self.screen)

    def text(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]


def cells_of(screen: pyte.Screen) -> list[list[Cell]]:
    return [
        [
            (c.data, c.fg, c.bg, c.bold, c.italics, c.underscore, c.reverse)
            for c in (screen.buffer[y][x] for x in range(screen.columns))
        ]
        for y in range(screen.lines)
    ]


def full_redraw(app: ArgusApp) -> pyte.Screen:
    """The screen as one full frame shows it, every widget rendered from scratch.

    Call it when the app is idle, after `Terminal.cells()`: it repaints every widget
    (and the next frame reaches the terminal too).
    """
    for widget in app.screen.walk_children(with_self=True):
        widget.refresh()
    compositor = app.screen._compositor
    strips = compositor.render_strips()
    update = LayoutUpdate([[strip] for strip in strips], compositor.size.region)
    width, height = app.size
    screen = pyte.Screen(width, height)
    pyte.Stream(screen).feed(update.render_segments(app.console))
    return screen
