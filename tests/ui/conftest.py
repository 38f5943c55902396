"""Pilot helpers: the real app on a real Session against the simulator over HTTPS."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from argus_tui.domain.secret import Secret
from argus_tui.pve.client import PveClient
from argus_tui.pve.settings import ConnectionSettings, TlsConfig
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


async def until(
    pilot: Pilot[int], condition: Callable[[], bool], what: str, within: float = 8
) -> None:
    """Pump the app until `condition` holds (workers poll with real sleeps)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


async def settle(pilot: Pilot[Any]) -> None:
    """Let the refresh on its way land (shown and recorded), then what the screen loads
    in turn (details, node status, graphs, changes)."""
    app = pilot.app
    assert isinstance(app, ArgusApp)
    await pilot.pause()  # requests posted by the last key reach the app
    await app.refreshed()
    await app.workers.wait_for_complete()
    await pilot.pause()


_SVG_TEXT = re.compile(
    r'<text [^>]*x="([\d.]+)" [^>]*textLength="([\d.]+)" '
    r'clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>([^<]*)</text>'
)


def screen_text(app: ArgusApp) -> str:
    """What the terminal shows, as plain lines: the text of Textual's own screenshot.

    The SVG leaves out runs of blank cells, so each piece of text is put back at its
    column (its x over the width of one cell).
    """
    pieces = [
        (int(line), float(x), float(length), html.unescape(text).replace("\xa0", " "))
        for x, length, line, text in _SVG_TEXT.findall(app.export_screenshot())
    ]
    cell = next(length / len(text) for _, _, length, text in pieces if text.strip())
    rows: dict[int, list[str]] = {}
    for line, x, _, text in pieces:
        row = rows.setdefault(line, [])
        column = round(x / cell)
        row.extend(" " * (column + len(text) - len(row)))
        row[column : column + len(text)] = text
    return "\n".join("".join(rows[n]).rstrip() for n in sorted(rows))


def screen_lines(app: ArgusApp) -> list[str]:
    """The terminal's lines, each without its padding."""
    return [line.strip() for line in screen_text(app).splitlines()]


def watch_notifications(app: ArgusApp) -> list[tuple[str, str, str]]:
    """(title, message, severity) of every notification the app raises."""
    seen: list[tuple[str, str, str]] = []
    original = app.notify

    def spy(message: str, *, title: str = "", severity: str = "information", **kw: Any) -> None:
        seen.append((title, str(message), severity))
        original(message, title=title, severity=severity, **kw)  # type: ignore[arg-type]

    app.notify = spy  # type: ignore[method-assign]
    return seen
