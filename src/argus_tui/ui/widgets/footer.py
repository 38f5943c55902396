"""The footer: keys that fit the width, and freeing closed widgets that Textual's watchers
would keep (the footer's replaced keys and a closed screen's widgets).

Fitting: Textual's footer scrolls sideways when the keys overflow, hiding the last ones
(`? Help`, `q Quit`) and drawing the palette key over the rest. When the labelled keys do
not fit, the power keys are shown as one group (`S D K R Power`; `?` names each), and if
that is still too wide the `^p palette` key goes (`:` opens the command line as well).

Watchers: Textual keeps a watcher `(widget, callback)` on the watched object and drops it
only when that attribute next changes, so a closed widget stays in memory for as long as
the attribute holds still. The footer binds every key it builds to its `compact`, which
never changes, and rebuilds its keys whenever the offered keys change (a cursor move on
the guests screen can do that): each rebuild kept the old keys, about 800 objects. The
app's session, ended, paused and chat rarely change, so each closed snapshots or content
view stayed, rows and all (about 5 MiB with 5,000 backups). More live objects also make
every full garbage collection, a pause of the event loop, longer. The rule applied here is
Textual's own, for every attribute at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

GROUPED_PREFIX = "power."  # binding ids of the keys grouped when the footer is narrow
GROUP_LABEL = "Power"
PALETTE_WIDTH = 11  # its border and "^p palette"


def forget_closed_watchers(watched: DOMNode) -> None:
    """Drop the watchers on `watched` whose widget has closed."""
    watchers: dict[str, list[tuple[Any, Any]]] = getattr(watched, "__watchers", {})
    for entries in watchers.values():
        entries[:] = [(node, callback) for node, callback in entries if not node._closing]


@dataclass(frozen=True, slots=True)
class ShownKey:
    """One key the footer may show, as Textual's footer would."""

    binding: Binding
    display: str
    enabled: bool
    tooltip: str

    @property
    def grouped(self) -> bool:
        return (self.binding.id or "").startswith(GROUPED_PREFIX)

    def width(self) -> int:
        """Cells in the compact footer: key, space, description, margin."""
        return len(self.display) + 1 + len(self.binding.description) + 1


def fitted(keys: list[ShownKey], width: int) -> tuple[bool, bool]:
    """(group the power keys, show the palette key) for a footer `width` cells wide."""
    labelled = sum(key.width() for key in keys)
    if labelled + PALETTE_WIDTH <= width:
        return False, True
    grouped = [key for key in keys if key.grouped]
    if not grouped:
        return False, labelled + PALETTE_WIDTH <= width
    compact = labelled - sum(key.width() for key in grouped)
    compact += sum(len(key.display) + 1 for key in grouped) + len(GROUP_LABEL) + 1
    return True, compact + PALETTE_WIDTH <= width


class KeysFooter(Footer):
    """Textual's footer, fitted to its width, letting go of the keys it replaces, rebuilt
    once per burst of changes."""

    DEFAULT_CSS = """
    KeysFooter.-compact {
        KeyGroup.-compact { padding-left: 0; margin: 0; }
        KeyGroup.-compact FooterKey.-grouped { margin: 0 1 0 0; }
        FooterLabel { margin: 0 1 0 0; }
    }
    """

    _fit: tuple[bool, bool] | None = None  # the last (grouped, palette) composed
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

    def _shown(self) -> list[ShownKey]:
        seen: set[str] = set()
        keys = []
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            display = self.app.get_key_display(binding)
            keys.append(ShownKey(binding, display, enabled, tooltip))
        return keys

    def _key(self, key: ShownKey, description: str, classes: str = "") -> FooterKey:
        widget = FooterKey(
            key.binding.key,
            key.display,
            description,
            key.binding.action,
            disabled=not key.enabled,
            tooltip=key.tooltip or key.binding.description,
            classes=classes,
        )
        return widget.data_bind(compact=Footer.compact)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        keys = self._shown()
        group, palette = self._fit = fitted(keys, self.app.size.width)
        yield from self._keys(keys, group)
        if palette and self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            entry = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                _node, binding, enabled, _tooltip = entry
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    classes="-command-palette",
                    disabled=not enabled,
                    tooltip=binding.tooltip or binding.description,
                )

    def _keys(self, keys: list[ShownKey], group: bool) -> Iterator[Widget]:
        grouped = [key for key in keys if key.grouped] if group else []
        placed = False
        for key in keys:
            if key in grouped:
                if not placed:
                    placed = True
                    yield KeyGroup(
                        *(self._key(k, "", "-grouped") for k in grouped), classes="-compact"
                    )
                    yield FooterLabel(GROUP_LABEL)
                continue
            yield self._key(key, key.binding.description)

    def on_resize(self, event: events.Resize) -> None:
        if self._fit is not None and fitted(self._shown(), self.app.size.width) != self._fit:
            self.call_after_refresh(self.recompose)

    async def recompose(self) -> None:
        self._rebuild_queued = False
        await super().recompose()
        forget_closed_watchers(self)
