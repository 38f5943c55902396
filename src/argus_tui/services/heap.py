"""The cyclic GC kept off what start-up built, so that a key never waits for a full pass.

A full collection walks every tracked object while holding the GIL. Once a cluster of
10,000 guests is on screen that is some 120,000 objects (modules, Textual's widgets and
styles, the first snapshot) and a pass takes about 80 ms, a stall of the event loop that
comes back every few refreshes. Nearly all of them live as long as the app, so once the
first snapshot is shown they move to the permanent generation (`gc.freeze()`): later full
passes walk only what came after, about one snapshot (docs/PERFORMANCE.md has figures).

Refcounting still frees frozen objects that are dropped (the first snapshot's guests,
when the next one replaces it); only a reference cycle alive at that moment and dropped
later is never reclaimed. Freezing once per process bounds that cost.
"""

from __future__ import annotations

import gc


def freeze_startup() -> bool:
    """Move every tracked object out of the collector's way, once per process; whether
    this call did (False when something is frozen already)."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    return True
