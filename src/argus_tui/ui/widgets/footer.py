"""Freeing closed widgets that Textual's watchers would keep: the footer's replaced keys
and a closed screen's widgets.

Textual keeps a watcher `(widget, callback)` on the watched object and drops it only
when that attribute next changes, so a closed widget stays in memory for as long as the
attribute holds still. The footer binds every key it builds to its `compact`, which never
changes, and rebuilds its keys whenever the offered keys change (a cursor move on the
guests screen can do that): each rebuild kept the old keys, about 800 objects. The app's
session, ended, paused and chat rarely change, so each closed snapshots or content view
stayed, rows and all (about 5 MiB with 5,000 backups). More live objects also make every
full garbage collection, a pause of the event loop, longer. The rule applied here is
Textual's own, for every attribute at once.
"""

from __future__ import annotations

from typing import Any

from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer


def forget_closed_watchers(watched: DOMNode) -> None:
    """Drop the watchers on `watched` whose widget has closed."""
    watchers: dict[str, list[tuple[Any, Any]]] = getattr(watched, "__watchers", {})
    for entries in watchers.values():
        entries[:] = [(node, callback) for node, callback in entries if not node._closing]


class KeysFooter(Footer):
    """Textual's footer, letting go of the keys it replaces, rebuilt once per burst."""

    _rebuild_queued = False

    def bindings_changed(self, screen: Screen[Any]) -> None:
        """Textual queues one rebuild of every key per change of the bindings, and a start
        (mount, focus, the first snapshot) changes them eight times before a frame: one
        rebuild, after the last, shows the same keys."""
        if not self._rebuild_queued:
            super().bindings_changed(screen)
            queued = screen.app.app_focus and self.is_attached and screen is self.screen
            self._rebuild_queued = bool(queued)
        else:
            self._bindings_ready = True

    async def recompose(self) -> None:
        self._rebuild_queued = False
        await super().recompose()
        forget_closed_watchers(self)
