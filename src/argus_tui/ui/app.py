"""The Argus application: the screens as modes, global keys, actions, profiles.

The state every screen follows is reactives of the app (here and in the parts it
extends: the refresh loop, ui/refresh.py, and consoles, ui/console_flow.py), changed only
by the app, on the event loop. Screens and widgets watch it and post requests
(ui/messages.py); the app answers them and posts commands to the screen on view. It
never calls into a screen.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import partial
from typing import ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import Initialize, var

from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.errors import ArgusError
from argus_tui.services.assistant import Assistant
from argus_tui.services.session import Session
from argus_tui.ui import jobs
from argus_tui.ui import messages as m
from argus_tui.ui.action_flow import (
    Ended,
    Notice,
    done_notice,
    failed_notice,
    follow_task,
    run_job,
)
from argus_tui.ui.console_flow import ConsoleApp, Escape
from argus_tui.ui.keymap import CONSOLE_LEAVE, console_leave, keymap_problems
from argus_tui.ui.registry import SCREENS, SUBSCREENS, TABS, ScreenInfo, load_screen
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.command import CommandLine
from argus_tui.ui.screens.help import HelpScreen
from argus_tui.ui.widgets.assistant import ChatUpdated

SCREEN_KEYS: list[BindingType] = [
    Binding(s.key, f"switch_mode('{s.mode}')", s.title, id=f"screen.{s.mode}", show=False)
    for s in SCREENS
]


def _open_screen(info: ScreenInfo) -> ArgusScreen:
    """A main screen, its module imported when it is first shown (the guests screen at
    start, the others when the user goes there)."""
    return info.screen(info.mode, TABS)


class ArgusApp(ConsoleApp):
    """Run with a connected Session; `argus` and `argus --demo` build one."""

    TITLE = "Argus"
    CSS_PATH = "argus.tcss"
    DEFAULT_MODE = "guests"
    BINDINGS: ClassVar[list[BindingType]] = [
        *SCREEN_KEYS,
        Binding("colon", "command_line", "Command", id="app.command"),
        Binding("a", "assistant", "Assistant", id="app.assistant"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+r", "refresh_now", "Refresh", id="app.refresh", show=False),
        Binding("P", "toggle_pause", "Pause", id="app.pause", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def _new_chat(self) -> Assistant:
        return Assistant(self.session)

    selected_guest: var[Guest | None] = var(None)  # on the guests screen; others show it
    chat: var[Assistant] = var(Initialize(_new_chat))  # the conversation every pane shows
    confirm: var[frozenset[str]] = var(frozenset())  # power actions that ask first
    ended: var[Ended | None] = var(None, always_update=True)  # the last action to end

    def __init__(
        self,
        session: Session,
        *,
        interval: float = 5.0,
        confirm: frozenset[str] = frozenset({"stop", "reset"}),
        keymap: dict[str, str] | None = None,
        open_profile: Callable[[str], Session] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        super().__init__(session, interval=interval, escape=Escape.of(console_leave(keymap)))
        self.confirm = confirm
        for info in SCREENS:
            self.add_mode(info.mode, partial(_open_screen, info))
        self.open_profile = open_profile
        self.startup_warnings = list(warnings or ())
        if keymap:
            self.startup_warnings += keymap_problems(keymap, self.binding_ids())
            self.set_keymap({bid: keys for bid, keys in keymap.items() if bid != CONSOLE_LEAVE})

    def binding_ids(self) -> dict[str, dict[str, str]]:
        """{screen: {binding id: keys}} for the app and every main screen (for the keymap)."""
        groups: dict[str, dict[str, str]] = {"app": {}}
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                groups["app"][binding.id] = binding.key
        for info in SCREENS:
            bindings = info.screen.BINDINGS
            groups[info.mode] = {b.id: b.key for b in bindings if isinstance(b, Binding) and b.id}
        for name, where in SUBSCREENS:
            screen = load_screen(where)
            groups[name] = {b.id: b.key for b in screen.BINDINGS if isinstance(b, Binding) and b.id}
        return groups

    def on_mount(self) -> None:
        for warning in self.startup_warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=15)
        self.refresh_now()
        # `argus` holds cyclic garbage collection off while it starts (argus_tui.cli.main):
        # it resumes once the first frame is out.
        self.call_after_refresh(gc.enable)

    def watch_snapshot(self, snapshot: ClusterSnapshot | None) -> None:
        """Once the first snapshot is drawn, the session opens its history (in a worker):
        the first screen does not wait for the database."""
        if snapshot is not None and self.session.history_pending:
            self.call_after_refresh(self._open_history, self.session)

    @work(thread=True, group="history", exit_on_error=False)
    def _open_history(self, session: Session) -> None:
        session.open_history()

    # -- requests from the screens ----------------------------------------------------------

    def on_say(self, message: m.Say) -> None:
        self.say(message.text)

    def on_guest_selected(self, message: m.GuestSelected) -> None:
        self.selected_guest = message.guest

    def _show(self, mode: str, command: Message | None = None) -> None:
        """Switch to a screen; `command` is for it, after it has come into view."""
        self.switch_mode(mode)
        if command is not None:
            self.screen.post_message(command)

    def on_open_screen(self, message: m.OpenScreen) -> None:
        self._show(message.mode, m.ScreenWords(message.word, message.rest))

    def on_show_guest(self, message: m.ShowGuest) -> None:
        self._show("guests", m.SelectGuest(message.vmid))

    def on_show_node_guests(self, message: m.ShowNodeGuests) -> None:
        self._show("guests", m.FilterToNode(message.node))

    def on_offer_suggested(self, message: m.OfferSuggested) -> None:
        """The assistant's suggestion, as the guests screen's usual checked, confirmed key."""
        offered, why = message.offered, "Suggested by the assistant."
        self._show("guests", m.OfferPower(offered.vmid, offered.action, why))

    def on_show_backups(self, message: m.ShowBackups) -> None:
        self._show("storage", m.ShowGuestBackups(message.guest))

    # -- actions: power, snapshots, backups --------------------------------------------------

    def on_power_requested(self, message: m.PowerRequested) -> None:
        self._start(jobs.power_job(self.session, message.guest, message.action))

    def on_migrate_requested(self, message: m.MigrateRequested) -> None:
        job = jobs.migrate_job(
            self.session,
            message.guest,
            message.target,
            message.mode,
            with_local_disks=message.with_local_disks,
        )
        self._start(job)

    def on_evacuate_requested(self, message: m.EvacuateRequested) -> None:
        self._start(jobs.evacuate_job(self.session, message.plan))

    def on_node_power_requested(self, message: m.NodePowerRequested) -> None:
        self._start(jobs.node_power_job(self.session, message.node, message.command))

    def on_task_stop_requested(self, message: m.TaskStopRequested) -> None:
        self._start(jobs.task_stop_job(self.session, message.task))

    def on_snapshot_requested(self, message: m.SnapshotRequested) -> None:
        job = jobs.snapshot_job(
            self.session,
            message.guest,
            message.action,
            message.name,
            description=message.description,
            vmstate=message.vmstate,
            start_after=message.start_after,
        )
        self._start(job)

    def on_backup_requested(self, message: m.BackupRequested) -> None:
        job = jobs.backup_job(
            self.session,
            message.guests,
            message.storage,
            mode=message.mode,
            notes=message.notes,
            protected=message.protected,
        )
        self._start(job)

    def on_backup_delete_requested(self, message: m.BackupDeleteRequested) -> None:
        self._start(
            jobs.backup_delete_job(self.session, message.volume, message.node, message.owner)
        )

    def _start(self, job: jobs.Job) -> None:
        self.say(f"{job.title}: sending…")
        self._run_job(self.session, job)

    @work(thread=True, group="actions", exit_on_error=False)
    def _run_job(self, session: Session, job: jobs.Job) -> None:
        run_job(self.post_message, job, session.runner.take_journal_errors)

    def on_follow_requested(self, message: m.FollowRequested) -> None:
        self._follow(self.session, message.job, message.tracked)

    @work(thread=True, group="actions", exit_on_error=False)
    def _follow(self, session: Session, job: jobs.Job, tracked: jobs.Tracked) -> None:
        follow_task(self.post_message, job, tracked, session.runner.take_journal_errors)

    def on_action_progress(self, message: m.ActionProgress) -> None:
        self.say(message.text)

    def on_action_done(self, message: m.ActionDone) -> None:
        for error in message.journal_errors:
            self.notify(error, title="Action not journaled", severity="warning")
        self._notice(done_notice(message))
        ok = message.outcome is None or message.outcome.ok
        self._ended(message.job, ok)

    def on_action_failed(self, message: m.ActionFailed) -> None:
        self._notice(failed_notice(message))
        self._ended(message.job, False)  # a 403 means our view of permissions is stale

    def _ended(self, job: jobs.Job, ok: bool) -> None:
        self.ended = Ended(job.action, job.vmids, job.target, ok)
        self.refresh_now()

    def _notice(self, notice: Notice) -> None:
        self.say(notice.status)
        self.notify(
            notice.text, title=notice.title, severity=notice.severity, timeout=notice.timeout
        )

    # -- profiles ---------------------------------------------------------------------------

    def on_open_profile(self, message: m.OpenProfile) -> None:
        if self.open_profile is None:
            self.notify("Profiles cannot be switched in the demo", severity="warning")
            return
        self.say(f"opening profile {message.name}…")
        self._open_profile(self.open_profile, message.name)

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def _open_profile(self, open_profile: Callable[[str], Session], name: str) -> None:
        try:
            session = open_profile(name)
        except ArgusError as exc:
            self.call_from_thread(self.notify, str(exc), title=f"Profile {name}", severity="error")
            self.post_message(m.Say(""))
        else:
            self.post_message(m.ProfileOpened(session))

    def on_profile_opened(self, message: m.ProfileOpened) -> None:
        """Switch to another cluster: drop its data, keep the screens, refresh now."""
        self.chat.cancel()
        self.chat = Assistant(message.session)
        self.selected_guest = None
        self.switch_session(message.session)

    # -- actions ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.quit_with(0)

    def quit_with(self, code: int) -> None:
        self.session.power.close()  # followers stop polling, so the app exits at once
        self.chat.cancel()  # and an answer stops streaming
        self.exit(code)

    def on_quit_requested(self, message: m.QuitRequested) -> None:
        self.quit_with(message.code)

    def action_assistant(self) -> None:
        self.screen.post_message(m.ToggleAssistant())

    def on_chat_updated(self, _message: ChatUpdated) -> None:
        for warning in self.chat.take_warnings():
            self.notify(warning, title="Assistant", severity="warning")
        self.screen.post_message(m.ChatChanged())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_command_line(self) -> None:
        self.push_screen(CommandLine(), self._command)

    def _command(self, request: Message | None) -> None:
        if request is not None:
            self.post_message(request)
