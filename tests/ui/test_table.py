"""The virtualised table: cells are built only for rows on screen; keys keep the place."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult

from argus_tui.ui.widgets.table import Cell, Column, VirtualTable

COLUMNS = (Column("id", "ID", 6, "right"), Column("name", "NAME", 0))


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, id="t")


class Counter:
    """A cell function that counts which rows it was asked for."""

    def __init__(self, label: str = "row") -> None:
        self.label = label
        self.asked: list[Any] = []

    def __call__(self, key: Any) -> tuple[Cell, ...]:
        self.asked.append(key)
        return ((str(key), ""), (f"{self.label}-{key}", ""))


async def test_cells_are_built_only_for_visible_rows() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        cells = Counter()
        table.set_keys(list(range(10_000)), cells)
        await pilot.pause()
        visible = table.scrollable_content_region.height - 1
        assert 0 < len(set(cells.asked)) <= visible + 1
        # A refresh with the same content repaints nothing and builds only visible cells.
        again = Counter()
        table.set_keys(list(range(10_000)), again)
        assert table.repaints == 0
        assert len(set(again.asked)) <= visible + 1
        # A change to one visible row repaints that row only.
        changed = Counter()
        table.set_keys(
            list(range(10_000)), lambda k: (("x", ""), ("", "")) if k == 2 else changed(k)
        )
        assert table.repaints == 1


async def test_cursor_and_marks_follow_keys_across_updates() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_keys(list(range(100)), Counter())
        await pilot.pause()
        table.move_to(50)
        table.toggle_mark(50)
        table.toggle_mark(60)
        # Reversed order, and row 60 gone: the cursor stays on 50, the mark on 60 is dropped.
        keys = [k for k in reversed(range(100)) if k != 60]
        table.set_keys(keys, Counter())
        await pilot.pause()
        assert table.cursor_key == 50
        assert table.marked == {50}
        assert table.cells(50) == (("50", ""), ("row-50", ""))
        assert table.cells(60) is None


async def test_the_screen_shows_the_built_cells() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(VirtualTable)
        table.set_keys([3, 1, 2], Counter("guest"))
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(4)]
        assert "NAME" in lines[0]
        assert "guest-3" in lines[1] and "guest-1" in lines[2] and "guest-2" in lines[3]
