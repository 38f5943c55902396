"""The task runner's progress for a backup: the newest log line, kept between polls."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from tests.ops_scenario import TOKENS, ops_scenario, secret_of
from tests.ui.conftest import session_for

from argus_tui.sim.server import Simulator


def test_backup_progress_keeps_the_newest_log_line_between_polls(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(ops_scenario())
    session = session_for(sim, TOKENS["operator"], secret_of(TOKENS["operator"]))
    guest = next(g for g in session.snapshot().guests if g.vmid == 104)
    [run] = session.backups.start([guest], "backup-nfs")
    assert run.upid is not None
    said: list[str] = []
    polls = 0

    def sleep(_: float) -> None:  # each pause of the runner: a poll with, then without news
        nonlocal polls
        polls += 1
        if polls % 2:
            sim.advance(2)

    outcome = session.backups.follow(run, on_progress=said.append, sleep=sleep)
    assert outcome.ok and outcome.action == "backup" and outcome.target == "backup-nfs"
    # Before the first line PVE answers "no content": the task's type is said meanwhile.
    assert said[0] == "vzdump running…", said
    assert all(text.startswith("INFO:") for text in said[1:]), said
    # A poll that brought no new line said the one before again, not "vzdump running…".
    assert any(a == b for a, b in itertools.pairwise(said)), said
    session.close()
