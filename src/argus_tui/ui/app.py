"""The Argus application: the screens as modes, global keys, the refresh loop, and the
state every screen follows (reactives below), changed only here, on the event loop.

Screens and widgets watch the state and post requests (ui/messages.py); the app answers
them and posts commands to the screen on view. It never calls into a screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import Initialize, var
from textual.timer import Timer

from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.domain.permissions import ACTIONS
from argus_tui.errors import ArgusError
from argus_tui.services.assistant import SuggestedAction
from argus_tui.services.session import RecentTasks, Session
from argus_tui.ui import messages as m
from argus_tui.ui.keymap import keymap_problems
from argus_tui.ui.power_flow import Notice, done_notice, failed_notice, follow_action
from argus_tui.ui.refresh import after_poll, poll
from argus_tui.ui.registry import SCREENS, TABS
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.command import CommandLine
from argus_tui.ui.screens.help import HelpScreen
from argus_tui.ui.widgets.assistant import Chat, ChatUpdated
from argus_tui.ui.widgets.bars import Status

SCREEN_KEYS: list[BindingType] = [
    Binding(s.key, f"switch_mode('{s.mode}')", s.title, id=f"screen.{s.mode}", show=False)
    for s in SCREENS
]


class ArgusApp(App[int]):
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

    def _given_session(self) -> Session:
        return self._first_session

    session: var[Session] = var(Initialize(_given_session))
    snapshot: var[ClusterSnapshot | None] = var(None, always_update=True)
    tasks: var[RecentTasks | None] = var(None, always_update=True)  # None: not in the last poll
    selected_guest: var[Guest | None] = var(None)  # on the guests screen; others show it
    status: var[Status] = var(Status())
    paused: var[bool] = var(False)
    unseen: var[int] = var(0)  # changes since the user last looked at them
    confirm: var[frozenset[str]] = var(frozenset())  # power actions that ask first

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
        self._first_session = session
        super().__init__()
        self.confirm = confirm
        for info in SCREENS:
            self.add_mode(info.mode, partial(info.screen, info.mode, TABS))
        self.open_profile = open_profile
        self.startup_warnings = list(warnings or ())
        if keymap:
            self.startup_warnings += keymap_problems(keymap, self.binding_ids())
            self.set_keymap(keymap)
        session.backoff.interval = interval
        self.chat = Chat(session)  # the assistant's conversation, shared by every screen
        self.refreshes = 0  # polls shown so far
        self._polling: Session | None = None  # the session whose poll is on its way
        self._polled = asyncio.Event()  # set while no poll is on its way
        self._timer: Timer | None = None  # the next poll
        self._retired: list[Session] = []  # switched away from mid-poll: closed once it is in
        self._seen_at: float | None = None  # when the user last looked at the changes

    def binding_ids(self) -> dict[str, dict[str, str]]:
        """{screen: {binding id: keys}} for the app and every main screen (for the keymap)."""
        groups: dict[str, dict[str, str]] = {"app": {}}
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                groups["app"][binding.id] = binding.key
        for info in SCREENS:
            bindings = info.screen.BINDINGS
            groups[info.mode] = {b.id: b.key for b in bindings if isinstance(b, Binding) and b.id}
        return groups

    def on_mount(self) -> None:
        for warning in self.startup_warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=15)
        self.refresh_now()

    def say(self, text: str) -> None:
        """A short message in the status line (progress, results)."""
        self.status = replace(self.status, message=text)

    # -- the refresh loop -------------------------------------------------------------------

    def refresh_now(self) -> None:
        """Poll now, unless a poll of this session is on its way (polls never overlap)."""
        if self._polling is self.session:
            return
        if self._timer is not None:
            self._timer.stop()
        self._polling = self.session
        self._polled.clear()
        self._poll(self.session, self.current_mode == "tasks")

    async def refreshed(self) -> None:
        """Wait until no poll is on its way: the last one is shown and in the history."""
        await self._polled.wait()

    @work(thread=True, group="refresh", exit_on_error=False)
    def _poll(self, session: Session, with_tasks: bool) -> None:
        self.post_message(poll(session, with_tasks=with_tasks))

    def on_refreshed(self, message: m.Refreshed) -> None:
        if self._stale(message.session):
            return
        refresh = message.refresh
        self.refreshes += 1
        self.session.backoff.success()
        recorded = refresh.recorded
        if recorded is not None:
            for warning in (recorded.error, *recorded.warnings):
                if warning:
                    self.notify(warning, title="History", severity="warning", timeout=10)
            # A count made before the user's latest look is stale.
            fresh = self._seen_at is None or (recorded.seen or 0.0) >= self._seen_at
            if recorded.unseen is not None and fresh:
                self.unseen = recorded.unseen
        self.tasks = refresh.tasks  # before the snapshot: the tasks screen's alerts use both
        self.snapshot = refresh.snapshot
        self._after_poll(None)

    def on_refresh_failed(self, message: m.RefreshFailed) -> None:
        if self._stale(message.session):
            return
        if message.error != self.status.error:  # the status line cuts long errors
            self.notify(message.error, title="Refresh failed", severity="error", timeout=8)
        self.session.backoff.failure()
        self._after_poll(message.error)

    def _stale(self, session: Session) -> bool:
        """A poll of a session switched away from: dropped, and that session closed now
        that nothing of it is on its way any more."""
        if not self.is_running:
            return True
        if session is self.session:
            self._polling = None
            return False
        if session in self._retired:
            self._retired.remove(session)
            session.close()
        return True

    def _after_poll(self, error: str | None) -> None:
        delay = None if self.paused else self.session.backoff.next_delay()
        if delay is not None:
            self._timer = self.set_timer(delay, self.refresh_now)
        self.status = after_poll(self.status, error, delay)
        self._polled.set()

    def action_refresh_now(self) -> None:
        self.refresh_now()

    def on_refresh_requested(self, _message: m.RefreshRequested) -> None:
        self.refresh_now()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._timer is not None:
            self._timer.stop()
        elif not self.paused:
            self.refresh_now()

    # -- requests from the screens ----------------------------------------------------------

    def on_say(self, message: m.Say) -> None:
        self.say(message.text)

    def on_guest_selected(self, message: m.GuestSelected) -> None:
        self.selected_guest = message.guest

    def on_changes_seen(self, message: m.ChangesSeen) -> None:
        self._seen_at = message.at
        self.unseen = 0

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

    def offer_power(self, offered: SuggestedAction) -> None:
        """The assistant's suggestion, as the guests screen's usual checked, confirmed key."""
        why = "Suggested by the assistant."
        self._show("guests", m.OfferPower(offered.vmid, offered.action, why))

    # -- power ------------------------------------------------------------------------------

    def on_power_requested(self, message: m.PowerRequested) -> None:
        guest, action = message.guest, message.action
        self.say(f"{ACTIONS[action].label} {guest.label}: sending…")
        self._power(self.session, guest, action)

    @work(thread=True, group="power", exit_on_error=False)
    def _power(self, session: Session, guest: Guest, action: str) -> None:
        follow_action(self.post_message, session.power, guest, action)

    def on_power_progress(self, message: m.PowerProgress) -> None:
        self.say(message.text)

    def on_power_done(self, message: m.PowerDone) -> None:
        for error in self.session.power.take_journal_errors():
            self.notify(error, title="Action not journaled", severity="warning")
        self._notice(done_notice(message.outcome))
        self.refresh_now()

    def on_power_failed(self, message: m.PowerFailed) -> None:
        self._notice(failed_notice(message))
        self.refresh_now()  # a 403 means our view of permissions is stale: reload

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
        old, new = self.session, message.session
        if self._timer is not None:
            self._timer.stop()
        new.backoff.interval = old.backoff.interval
        if self._polling is old:
            self._retired.append(old)  # its poll is on its way: close it once that is in
        else:
            old.close()
        self.chat.cancel()
        self.chat = Chat(new)
        self._seen_at = None
        self.unseen = 0
        self.selected_guest = None
        self.tasks = None
        self.snapshot = None
        self.status = Status(message=f"profile {new.profile}")
        self.session = new
        self.refresh_now()

    # -- actions ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.session.power.close()  # followers stop polling, so the app exits at once
        self.chat.cancel()  # and an answer stops streaming
        self.exit(0)

    async def on_quit_requested(self, _message: m.QuitRequested) -> None:
        await self.action_quit()

    def action_assistant(self) -> None:
        self.screen.post_message(m.ToggleAssistant())

    def assistant_target(self) -> Guest | Node | Task | None:
        """What the assistant pane asks about: the selection of the screen on view."""
        screen = self.screen
        return screen.assistant_target() if isinstance(screen, ArgusScreen) else None

    def on_chat_updated(self, _message: ChatUpdated) -> None:
        for warning in self.chat.assistant.take_warnings():
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
