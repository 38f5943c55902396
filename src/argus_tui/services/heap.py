"""The cyclic GC kept off the refresh path at 10,000 guests, so that a key never waits for it.

A full collection walks every tracked object while holding the GIL. Once a cluster of
10,000 guests is on screen that is some 120,000 objects (modules, Textual's widgets and
styles, the first snapshot) and a pass takes about 80 ms. CPython starts one whenever its
young generations have been collected often enough, which is mostly during a refresh,
when the new snapshot is being built: the event loop stalled for the whole pass.

Two things change that (docs/PERFORMANCE.md has the figures):

- Once the first snapshot is shown, what start-up built moves to the permanent generation
  (`gc.freeze()`): nearly all of it lives as long as the app, and later full passes walk
  only what came after, about two snapshots' worth. Refcounting still frees frozen
  objects that are dropped (the first snapshot's guests, when the next one replaces it);
  only a reference cycle alive at that moment and dropped later is never reclaimed, so
  this happens once per process.
- Full passes are left to a quiet moment: the UI calls `collect_when_idle` a little after
  each refresh is shown, and it collects when CPython would have (every `FULL_EVERY`
  collections of the middle generation). CPython still starts one by itself after
  `BACKSTOP` of those, for when no refresh comes (paused).
"""

from __future__ import annotations

import gc

IDLE_AFTER = 0.3  # s after a refresh is shown: its frames and the details panel are done
FULL_EVERY = 10  # CPython's own default third threshold
BACKSTOP = 100


def freeze_startup() -> bool:
    """Move every tracked object out of the collector's way and leave full passes to
    `collect_when_idle`, once per process; whether this call did."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, BACKSTOP)
    return True


def collect_when_idle() -> bool:
    """A full pass, if CPython's own thresholds would have started one by now; whether it
    ran. Call it when no key is likely to wait (just after a refresh has settled)."""
    if gc.get_count()[2] < FULL_EVERY:
        return False
    gc.collect()
    return True
