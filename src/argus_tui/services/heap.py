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
- The passes over the older generations are left to a quiet moment: the UI calls
  `collect_when_idle` a little after each refresh is shown. It collects the middle
  generation (where a refresh's 10,000 new guests wait after their first young pass),
  and everything when CPython would have (every `FULL_EVERY` passes of the middle one).
  During a refresh only young passes run, a few hundred objects each. CPython still
  starts the others by itself after `BACKSTOP` of the younger ones, for when no refresh
  comes (paused).
"""

from __future__ import annotations

import gc

IDLE_AFTER = 0.3  # s after a refresh is shown: its frames and the details panel are done
FULL_EVERY = 10  # CPython's own default third threshold
BACKSTOP = 100  # the second and third thresholds once start-up is over (defaults: 10, 10)


def freeze_startup() -> bool:
    """Move every tracked object out of the collector's way and leave the passes over the
    older generations to `collect_when_idle`, once per process; whether this call did."""
    if gc.get_freeze_count():
        return False
    gc.freeze()
    gc.set_threshold(gc.get_threshold()[0], BACKSTOP, BACKSTOP)
    return True


def collect_when_idle() -> int:
    """Collect the middle generation, or everything if CPython's own thresholds would have
    by now; the generation collected. Call it when no key is likely to wait (just after a
    refresh has settled)."""
    generation = 2 if gc.get_count()[2] >= FULL_EVERY else 1
    gc.collect(generation)
    return generation
