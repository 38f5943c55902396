"""The main screens, once: the key that switches to each, its mode, title and aliases.

The app's modes and key bindings, the command line's words and the header's tabs are all
built from `SCREENS`; `SUBSCREENS` are the screens opened from them (their keys can be
remapped too).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argus_tui.ui.widgets.bars import Tab

if TYPE_CHECKING:
    from argus_tui.ui.screens.base import ArgusScreen


@dataclass(frozen=True, slots=True)
class ScreenInfo:
    key: str  # switches to the screen; its binding id is `screen.<mode>`
    mode: str
    title: str  # the footer's and the header's label
    where: str  # "module:Class": imported when first needed, so a start loads one screen
    aliases: tuple[str, ...]  # command-line words (`:vm` and `:ct` also narrow the list)

    @property
    def screen(self) -> type[ArgusScreen]:
        return load_screen(self.where)


def load_screen(where: str) -> type[ArgusScreen]:
    """The screen class named "module:Class" (its module imported now if not yet)."""
    module, _, name = where.partition(":")
    screen: type[ArgusScreen] = getattr(importlib.import_module(module), name)
    return screen


_S = "argus_tui.ui.screens."
SCREENS = (
    ScreenInfo("1", "nodes", "Nodes", f"{_S}nodes:NodesScreen", ("nodes", "node", "no")),
    ScreenInfo(
        "2",
        "guests",
        "Guests",
        f"{_S}guests:GuestsScreen",
        ("guests", "gu", "vm", "vms", "ct", "cts"),
    ),
    ScreenInfo(
        "3",
        "utilisation",
        "Usage",
        f"{_S}utilisation:UtilisationScreen",
        ("usage", "util", "utilisation"),
    ),
    ScreenInfo("4", "tasks", "Tasks", f"{_S}tasks:TasksScreen", ("tasks", "task", "ta")),
    ScreenInfo(
        "5", "changes", "Changes", f"{_S}changes:ChangesScreen", ("changes", "ch", "history")
    ),
    ScreenInfo(
        "6", "storage", "Storage", f"{_S}storage:StorageScreen", ("storage", "storages", "st")
    ),
)
#: Screens opened from a main screen (not modes), as "module:Class"; their keys can be
#: remapped too.
SUBSCREENS: tuple[tuple[str, str], ...] = (
    ("snapshots", f"{_S}snapshots:SnapshotsScreen"),
    ("content", f"{_S}content:ContentScreen"),
)
TABS = tuple(Tab(s.key, s.mode, s.title) for s in SCREENS)
ALIASES = {alias: s.mode for s in SCREENS for alias in s.aliases}
