"""STALE when the network goes silent: a refresh outstanding too long marks the data stale
before any read timeout, and the badge goes when the data arrives.

The app reaches the simulator through a relay that can stop forwarding without closing
anything (tests/ui/silent_relay.py), as a link that drops packets does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from textual.worker import WorkerState

from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.freshness import LATE_AFTER, RefreshWatch
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.widgets.bars import StatusLine
from tests.conftest import FROZEN_EPOCH
from tests.ui.conftest import screen_lines, until, watch_notifications
from tests.ui.silent_relay import SilentRelay


class SteppedClock:
    """Wall and monotonic time that move only when the test says so."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return FROZEN_EPOCH + self.offset

    def monotonic(self) -> float:
        return 1000.0 + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def relay(sim: Simulator) -> Iterator[SilentRelay]:
    relay = SilentRelay(sim.port)
    yield relay
    relay.close()


def relayed(sim: Simulator, relay: SilentRelay, read_timeout: float = 30) -> Session:
    """A session whose every request goes through the relay."""
    settings = ConnectionSettings(
        "127.0.0.1",
        relay.port,
        sim.token_id,
        Secret(sim.token_secret),
        TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        connect_timeout=min(5.0, read_timeout),  # a new connection's TLS handshake
        read_timeout=read_timeout,
    )
    return Session(PveClient(settings), profile="test")


def status_line(app: ArgusApp) -> str:
    """The status line as it is on screen (the last line above the footer)."""
    text = str(app.screen.query_one(StatusLine).render())
    prefix = text[:20]
    return next(line for line in screen_lines(app) if line.startswith(prefix))


def refresh_workers(app: ArgusApp) -> int:
    return sum(1 for w in app.workers if w.group == "refresh" and w.state == WorkerState.RUNNING)


def test_a_refresh_turns_late_only_past_three_intervals() -> None:
    clock = SteppedClock()
    watch = RefreshWatch(clock=clock.monotonic)
    assert watch.late(2.0) is None and watch.late_in(2.0) is None  # nothing on its way
    watch.started()
    assert watch.late_in(2.0) == LATE_AFTER * 2.0
    clock.advance(LATE_AFTER * 2.0)
    assert watch.late(2.0) is None and watch.late_in(2.0) == 0.0  # at 3 intervals: not yet
    clock.advance(0.01)
    assert watch.late(2.0) == pytest.approx(6.01)  # just past: late, by this much
    watch.landed()
    assert watch.late(2.0) is None and watch.outstanding() is None


def test_late_counts_from_the_data_not_only_from_the_poll() -> None:
    """Silence just before a poll starts: the badge comes three intervals after the data
    arrived, not three intervals after the poll began; a poll after a pause or a failure,
    which starts with old data, has one interval of its own first."""
    clock = SteppedClock()
    watch = RefreshWatch(clock=clock.monotonic)
    watch.started()
    watch.landed()  # data now
    clock.advance(2.0)
    watch.started()  # the next poll, one interval later, never answers
    assert watch.late_in(2.0) == pytest.approx(4.0)  # 3 intervals after the data
    clock.advance(4.0)
    assert watch.late(2.0) is None
    clock.advance(0.01)
    assert watch.late(2.0) == pytest.approx(4.01)  # outstanding for 2 intervals only
    watch.landed(fresh=False)  # it failed: the data stays old
    clock.advance(60.0)
    watch.started()  # the retry, a minute later
    assert watch.late_in(2.0) == pytest.approx(2.0)  # one interval of its own
    clock.advance(2.01)
    assert watch.late(2.0) == pytest.approx(2.01)


async def test_stale_just_past_three_intervals_on_a_stepped_clock(
    sim: Simulator, relay: SilentRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not stale at 3 intervals, stale just past them with the data's age, and the badge
    gone when the answer that was held comes through."""
    clock = SteppedClock()
    monkeypatch.setattr(time, "time", clock.wall)  # the data's age is wall time
    app = ArgusApp(relayed(sim, relay), interval=10)
    app.in_flight.clock = clock.monotonic
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.refreshes == 1, "the first refresh")
        relay.silence()
        await pilot.press("ctrl+r")  # on its way, and stuck
        clock.advance(30.0)
        app.check_late()
        await until(pilot, lambda: "data 30s old" in status_line(app), "the age, ticking")
        line = status_line(app)
        assert "STALE" not in line and not app.status.late, line
        clock.advance(0.01)
        app.check_late()
        await pilot.pause()
        line = status_line(app)
        assert "data 30s old  STALE  no answer from the server yet" in line, line
        assert app.status.error is None and app.refreshes == 1
        relay.resume()
        await until(pilot, lambda: app.refreshes == 2, "the held refresh")
        await pilot.pause()
        line = status_line(app)
        assert "data 0s old" in line and "STALE" not in line and "no answer" not in line, line


async def test_a_silent_network_shows_stale_before_the_read_timeout(
    sim: Simulator, relay: SilentRelay
) -> None:
    """On the real clock at a short interval: the badge comes by itself, a stuck refresh
    never has another one started beside it, and the badge goes when the link is back."""
    app = ArgusApp(relayed(sim, relay), interval=0.3)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.refreshes >= 2, "steady refreshes")
        relay.silence()
        await until(pilot, lambda: "STALE" in status_line(app), "the STALE badge")
        assert app.status.error is None  # no failure: the read timeout is 30 s away
        shown = app.refreshes
        await pilot.press("ctrl+r", "ctrl+r")
        await pilot.pause(0.5)  # more than one interval: a timer would have fired
        assert refresh_workers(app) == 1 and app.refreshes == shown
        assert "STALE" in status_line(app)
        relay.resume()
        await until(pilot, lambda: app.refreshes > shown, "the held refresh")
        await until(pilot, lambda: "STALE" not in status_line(app), "the badge cleared")
        assert "no answer" not in status_line(app)
        await until(pilot, lambda: app.refreshes > shown + 1, "refreshes again")


async def test_a_refresh_that_finally_times_out_says_so(sim: Simulator, relay: SilentRelay) -> None:
    app = ArgusApp(relayed(sim, relay, read_timeout=1), interval=0.3)
    seen = watch_notifications(app)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app.refreshes >= 1, "the first refresh")
        relay.silence()
        await until(pilot, lambda: app.status.error is not None, "the read timeout")
        await pilot.pause()
        line = status_line(app)
        assert "STALE" in line and "did not answer" in line and "within 1 s" in line, line
        failed = [text for title, text, _ in seen if title == "Refresh failed"]
        assert failed and "did not answer" in failed[0]
        assert app.session.backoff.failures >= 1
        relay.resume()  # the retry on its way ends, so the app exits at once
