"""The main screens, once: the key that switches to each, its mode, title and aliases.

The app's modes and key bindings, the command line's words and the header's tabs are all
built from `SCREENS`; `SUBSCREENS` are the screens opened from them (their keys can be
remapped too).
"""

from __future__ import annotations

from dataclasses import dataclass

from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.changes import ChangesScreen
from argus_tui.ui.screens.content import ContentScreen
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.nodes import NodesScreen
from argus_tui.ui.screens.snapshots import SnapshotsScreen
from argus_tui.ui.screens.storage import StorageScreen
from argus_tui.ui.screens.tasks import TasksScreen
from argus_tui.ui.screens.utilisation import UtilisationScreen
from argus_tui.ui.widgets.bars import Tab


@dataclass(frozen=True, slots=True)
class ScreenInfo:
    key: str  # switches to the screen; its binding id is `screen.<mode>`
    mode: str
    title: str  # the footer's and the header's label
    screen: type[ArgusScreen]
    aliases: tuple[str, ...]  # command-line words (`:vm` and `:ct` also narrow the list)


SCREENS = (
    ScreenInfo("1", "nodes", "Nodes", NodesScreen, ("nodes", "node", "no")),
    ScreenInfo("2", "guests", "Guests", GuestsScreen, ("guests", "gu", "vm", "vms", "ct", "cts")),
    ScreenInfo("3", "utilisation", "Usage", UtilisationScreen, ("usage", "util", "utilisation")),
    ScreenInfo("4", "tasks", "Tasks", TasksScreen, ("tasks", "task", "ta")),
    ScreenInfo("5", "changes", "Changes", ChangesScreen, ("changes", "ch", "history")),
    ScreenInfo("6", "storage", "Storage", StorageScreen, ("storage", "storages", "st")),
)
#: Screens opened from a main screen (not modes); their keys can be remapped too.
SUBSCREENS: tuple[tuple[str, type[ArgusScreen]], ...] = (
    ("snapshots", SnapshotsScreen),
    ("content", ContentScreen),
)
TABS = tuple(Tab(s.key, s.mode, s.title) for s in SCREENS)
ALIASES = {alias: s.mode for s in SCREENS for alias in s.aliases}
