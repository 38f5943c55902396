"""`argus` and `argus --demo`: build a session, run the TUI until the user quits.

The start is ordered for the first screen (docs/PERFORMANCE.md, "Start-up"): the session
is built and its first refresh started (`Session.prefetch`) before Textual and the screens
are imported, so the four calls travel meanwhile; the history is opened by the session
once that refresh is on screen; the simulator is imported only for --demo.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from argus_tui.cli.context import CliContext
from argus_tui.config import UiSettings
from argus_tui.domain.secret import Secret
from argus_tui.errors import EXIT_OK, ConfigError
from argus_tui.llm.settings import LlmSettings
from argus_tui.pve.settings import ConnectionSettings, TlsConfig

if TYPE_CHECKING:
    from argus_tui.services.session import Session


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    if args.interval is not None and args.interval < 1:
        raise ConfigError("--interval must be at least 1 second")
    ctx.hold_config_warnings()  # the app shows them as notifications
    try:
        config = ctx.config
        ui, warnings = config.ui, list(config.warnings)
    except ConfigError as exc:
        if not args.demo:
            raise
        ui = UiSettings()  # the demo runs even with a broken config file, and says so
        warnings = [f"{exc}; the demo runs with default settings"]
    interval = args.interval if args.interval is not None else ui.interval
    if args.demo:
        return _demo(ctx, args.profile, ui, interval, warnings)
    llm, problem = _assistant(ctx, ctx.resolved.profile)
    session = ctx.session(llm=llm, llm_problem=problem, defer_history=True)
    session.prefetch()
    warnings += ctx.take_held_notices()  # files made private: said like config warnings
    return _run_app(session, ui, interval, warnings, open_profile=_profile_opener(ctx))


def _demo(
    ctx: CliContext, profile: str | None, ui: UiSettings, interval: float, warnings: list[str]
) -> int:
    """The TUI on a simulator of its own; the demo never touches the real history."""
    from argus_tui.sim.demo import demo_simulator  # only the demo pays for the simulator

    sim = demo_simulator()  # listening already; it serves once started, below
    demo_dir = tempfile.mkdtemp(prefix="argus-demo-")
    try:
        ctx.use_demo(
            ConnectionSettings(
                "127.0.0.1",
                sim.port,
                sim.token_id,
                Secret(sim.token_secret),
                TlsConfig("fingerprint", fingerprint=sim.fingerprint),
            ),
            Path(demo_dir) / "history.db",
        )
        llm, problem = _assistant(ctx, profile, lenient=True)
        session = ctx.session(llm=llm, llm_problem=problem, defer_history=True)
        session.prefetch()  # before the simulator's threads start: it may fork
        sim.start()
        try:
            return _run_app(session, ui, interval, warnings, open_profile=None)
        finally:
            session.close()
    finally:
        sim.stop()
        shutil.rmtree(demo_dir, ignore_errors=True)


def _run_app(
    session: Session,
    ui: UiSettings,
    interval: float,
    warnings: list[str],
    *,
    open_profile: Callable[[str], Session] | None,
) -> int:
    from argus_tui.ui.app import ArgusApp  # Textual and the screens, while the refresh travels

    app = ArgusApp(
        session,
        interval=interval,
        confirm=ui.confirm,
        keymap=ui.keymap,
        open_profile=open_profile,
        warnings=warnings,
    )
    return app.run() or EXIT_OK  # collections resume after its first frame (ArgusApp)


def _profile_opener(ctx: CliContext) -> Callable[[str], Session]:
    def open_profile(name: str) -> Session:
        """`:profile NAME`: a session on it, checked with one call before it is shown."""
        other = ctx.for_profile(name)
        client = other.client()
        llm, problem = _assistant(other, other.resolved.profile)
        client.version()  # fail here, with a message, rather than on the first refresh
        return other.session(llm=llm, llm_problem=problem)

    return open_profile


def _assistant(
    ctx: CliContext, profile: str | None, *, lenient: bool = False
) -> tuple[LlmSettings | None, str]:
    """The assistant's settings for the TUI: a bad one turns the assistant off (its pane
    says why) instead of keeping the cluster view from starting."""
    try:
        return ctx.llm_settings(profile, lenient=lenient), ""
    except ConfigError as exc:
        return None, str(exc)
