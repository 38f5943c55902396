"""A child process for the robustness tests: `python writer.py MODE DB PROFILE COUNT GUESTS`.

MODE "batches": record COUNT refreshes of GUESTS guests (one sample each, ts one minute
apart) plus one action each, printing "begin K" before and "committed K" after each.
The parent may SIGKILL it at any point. Waits for DB.go to exist before starting, so two
writers start together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from argus_tui.store import ActionRecord
from argus_tui.store.sqlite import SqliteHistory
from tests.store.helpers import T0, big_snapshot


def main() -> None:
    mode, db, profile, count, guests = sys.argv[1:6]
    assert mode == "batches"
    path = Path(db)
    go = Path(f"{db}.go")
    deadline = time.monotonic() + 10
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    snaps = [big_snapshot(int(guests), tick=k, nodes=5) for k in range(3)]
    # A tiny page cache (8 pages of 4 KiB) spills dirty pages into the WAL before COMMIT,
    # so a kill can land in the middle of writing frames, not only before them.
    # large_cluster=None: a sample every minute, whatever the size.
    store = SqliteHistory(path, auto_prune=False, large_cluster=None, cache_kib=32)
    for k in range(int(count)):
        print(f"begin {k}", flush=True)
        store.record_snapshot(snaps[k % 3], profile, ts=T0 + 60 * k)
        store.record_action(
            ActionRecord(T0 + 60 * k, profile, "t", 1000 + k, "g", "pve01", "start", "U", "OK", 1)
        )
        print(f"committed {k}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
