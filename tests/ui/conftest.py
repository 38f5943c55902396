"""Pilot helpers: the real app on a real Session against the simulator over HTTPS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from argus_tui.domain.secret import Secret
from argus_tui.pve.client import ConnectionSettings, PveClient, TlsConfig
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp


def session_for(
    sim: Simulator,
    token_id: str | None = None,
    secret: str | None = None,
    **options: object,
) -> Session:
    client = PveClient(
        ConnectionSettings(
            "127.0.0.1",
            sim.port,
            token_id or sim.token_id,
            Secret(secret or sim.token_secret),
            TlsConfig("fingerprint", fingerprint=sim.fingerprint),
            read_timeout=5,
        )
    )
    options.setdefault("profile", "test")
    return Session(client, **options)  # type: ignore[arg-type]


@pytest.fixture
def make_session() -> Callable[..., Session]:
    return session_for


async def settle(pilot: Pilot[Any]) -> None:
    """Let the refresh on its way land (shown and recorded), then what the screen loads
    in turn (details, node status, graphs, changes)."""
    app = pilot.app
    assert isinstance(app, ArgusApp)
    await pilot.pause()  # requests posted by the last key reach the app
    await app.refreshed()
    await app.workers.wait_for_complete()
    await pilot.pause()
