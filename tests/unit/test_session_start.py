"""A session's start: the first refresh fetched ahead (`prefetch`), and a history opened
only once that refresh has been shown (`open_history`), against the real simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from argus_tui.domain.secret import Secret
from argus_tui.errors import ConnectionFailed, StoreError
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator
from argus_tui.store import HistoryStore, open_history


def client_of(sim: Simulator, port: int | None = None) -> PveClient:
    return PveClient(
        ConnectionSettings(
            "127.0.0.1",
            sim.port if port is None else port,
            sim.token_id,
            Secret(sim.token_secret),
            TlsConfig("fingerprint", fingerprint=sim.fingerprint),
        )
    )


class Opener:
    """Opens the history file when asked, and counts how often it was asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls = 0
        self.store: HistoryStore | None = None

    def __call__(self) -> HistoryStore:
        self.calls += 1
        self.store = open_history(self.path)
        return self.store


def samples(store: HistoryStore) -> list[float]:
    return sorted({row["ts"] for row in store.export("default", 0)["samples"]})


def test_the_first_refresh_is_shown_before_the_history_opens(
    sim: Simulator, tmp_path: Path
) -> None:
    opener = Opener(tmp_path / "history.db")
    session = Session(client_of(sim), open_history=opener)
    first = session.refresh()
    assert first.snapshot.guests and first.recorded is None
    assert (opener.calls, session.history_pending) == (0, True)
    assert not (tmp_path / "history.db").exists()
    session.open_history()  # what the TUI does once the snapshot is on screen
    assert (opener.calls, session.history_pending) == (1, False)
    assert opener.store is not None
    assert samples(opener.store) == [pytest.approx(first.snapshot.fetched_at)]
    second = session.refresh()
    assert second.recorded is not None and second.recorded.error == ""
    assert second.tasks is not None  # the tasks the history had not had yet
    assert opener.store.tasks("default")
    session.open_history()
    assert opener.calls == 1
    session.close()


def test_the_second_refresh_opens_a_history_nobody_opened(sim: Simulator, tmp_path: Path) -> None:
    opener = Opener(tmp_path / "history.db")
    session = Session(client_of(sim), open_history=opener)
    first = session.refresh()
    second = session.refresh()
    assert opener.calls == 1 and second.recorded is not None
    assert opener.store is not None
    assert samples(opener.store)[0] == pytest.approx(first.snapshot.fetched_at)
    session.close()


def test_a_look_at_the_history_opens_it(sim: Simulator, tmp_path: Path) -> None:
    opener = Opener(tmp_path / "history.db")
    session = Session(client_of(sim), open_history=opener)
    session.refresh()
    assert session.history is opener.store is not None
    assert opener.calls == 1
    session.close()


def test_a_history_that_cannot_open_is_said_with_the_next_refresh(
    sim: Simulator, tmp_path: Path
) -> None:
    def broken() -> HistoryStore:
        raise StoreError("cannot open history.db: permission denied")

    session = Session(client_of(sim), open_history=broken)
    session.refresh()
    session.open_history()
    assert session.history is None and not session.history_pending
    later = session.refresh()
    assert later.recorded is not None
    assert later.recorded.error == "history unavailable: cannot open history.db: permission denied"
    assert session.refresh().recorded is None  # said once; there is no history to record in
    session.close()


def test_an_unopened_history_is_not_opened_to_be_closed(sim: Simulator, tmp_path: Path) -> None:
    opener = Opener(tmp_path / "history.db")
    session = Session(client_of(sim), open_history=opener)
    session.close()
    session.open_history()
    assert opener.calls == 0 and session.history is None


def test_prefetch_hands_its_refresh_to_the_first_poll(sim: Simulator) -> None:
    client = client_of(sim)
    session = Session(client)
    session.prefetch()
    first = session.refresh()
    calls = client.calls
    assert first.snapshot.guests and calls == 4  # version, status, resources, permissions
    again = session.refresh()
    assert client.calls == calls + 4 and again.snapshot.fetched_at >= first.snapshot.fetched_at
    session.close()


def test_a_prefetched_refresh_gains_the_tasks_a_view_asks_for(sim: Simulator) -> None:
    session = Session(client_of(sim))
    session.prefetch()
    refresh = session.refresh(with_tasks=True)
    assert refresh.tasks is not None and refresh.tasks.tasks
    session.close()


def test_a_prefetch_that_failed_fails_the_first_poll(sim: Simulator) -> None:
    session = Session(client_of(sim, port=1))  # nothing listens there
    session.prefetch()
    with pytest.raises(ConnectionFailed):
        session.refresh()
    session.close()
