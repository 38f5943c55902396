"""The Argus application: screens as modes, global keys, and the refresh loop.

The refresh loop is dolphie's: a one-shot timer re-armed after each poll has finished,
so polls never overlap; failures back off and keep the last good data on screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer

from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.domain.permissions import ACTIONS
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError, PermissionDenied
from argus_tui.services.assistant import SuggestedAction
from argus_tui.services.history import CHANGE_WINDOWS
from argus_tui.services.recorder import Recorded
from argus_tui.services.session import Session
from argus_tui.ui.keymap import keymap_problems
from argus_tui.ui.messages import (
    PowerDone,
    PowerFailed,
    PowerProgress,
    RefreshFailed,
    SnapshotReady,
)
from argus_tui.ui.screens.base import ArgusScreen
from argus_tui.ui.screens.changes import ChangesScreen
from argus_tui.ui.screens.command import CommandLine
from argus_tui.ui.screens.guests import GuestsScreen
from argus_tui.ui.screens.help import HelpScreen
from argus_tui.ui.screens.nodes import NodesScreen
from argus_tui.ui.screens.tasks import TasksScreen
from argus_tui.ui.screens.utilisation import UtilisationScreen
from argus_tui.ui.widgets.assistant import AssistantPane, Chat, ChatUpdated
from argus_tui.ui.widgets.bars import ClusterHeader, StatusLine


class ArgusApp(App[int]):
    """Run with a connected Session; `argus` and `argus --demo` build one."""

    TITLE = "Argus"
    CSS_PATH = "argus.tcss"
    MODES: ClassVar[dict[str, type[ArgusScreen]]] = {  # type: ignore[assignment]
        "nodes": NodesScreen,
        "guests": GuestsScreen,
        "utilisation": UtilisationScreen,
        "tasks": TasksScreen,
        "changes": ChangesScreen,
    }
    DEFAULT_MODE = "guests"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('nodes')", "Nodes", id="screen.nodes", show=False),
        Binding("2", "switch_mode('guests')", "Guests", id="screen.guests", show=False),
        Binding("3", "switch_mode('utilisation')", "Usage", id="screen.utilisation", show=False),
        Binding("4", "switch_mode('tasks')", "Tasks", id="screen.tasks", show=False),
        Binding("5", "switch_mode('changes')", "Changes", id="screen.changes", show=False),
        Binding("colon", "command_line", "Command", id="app.command"),
        Binding("a", "assistant", "Assistant", id="app.assistant"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+r", "refresh_now", "Refresh", id="app.refresh", show=False),
        Binding("P", "toggle_pause", "Pause", id="app.pause", show=False),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

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
        super().__init__()
        self.session = session
        self.open_profile = open_profile
        self.confirm_actions = confirm
        self.startup_warnings = list(warnings or ())
        if keymap:
            self.startup_warnings += keymap_problems(keymap, self._binding_ids())
            self.set_keymap(keymap)
        self.session.backoff.interval = interval
        self.snapshot: ClusterSnapshot | None = None
        self.selected_guest: Guest | None = None  # set by the guests screen, read by others
        self.chat = Chat(session)  # the assistant's conversation, shared by every screen
        self.unseen = 0  # changes since the user last opened the changes screen
        self.looked = 0  # how often the changes screen was opened or left
        self.error: str | None = None
        self.paused = False
        self.message = ""
        self._timer: Timer | None = None
        self._retry_at: float | None = None  # when a failed refresh is tried again
        self._fetching = False
        self._retired: list[Session] = []  # switched away from, closed once their refresh is in
        self.refreshes = 0

    # -- refresh loop -----------------------------------------------------------------------

    def on_mount(self) -> None:
        for warning in self.startup_warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=15)
        self.set_interval(1.0, self._tick)
        self.refresh_snapshot()

    def refresh_snapshot(self) -> None:
        if self._fetching:
            return
        self._fetching = True
        self._fetch(self.session, self.looked)

    @work(thread=True, group="refresh", exit_on_error=False)
    def _fetch(self, session: Session, looked: int) -> None:
        """Poll and record; a count of unseen changes made before the user last looked
        is stale (`looked`)."""
        try:
            refresh = session.refresh()
        except ArgusError as exc:
            self.post_message(RefreshFailed(session, str(exc)))
        except Exception as exc:  # a bug or an unmapped failure: keep running, say what
            error = f"unexpected error: {type(exc).__name__}: {exc}"
            self.post_message(RefreshFailed(session, error))
        else:
            self.post_message(SnapshotReady(session, refresh, looked))

    def _stale(self, session: Session) -> bool:
        """A refresh of a session switched away from: drop it, and close that session now
        that nothing of it is on its way any more."""
        if session is self.session:
            return False
        if session in self._retired:
            self._retired.remove(session)
            session.close()
        return True

    async def action_quit(self) -> None:
        self._stop_workers()
        self.exit(0)

    def _stop_workers(self) -> None:
        """Followers stop polling and an answer stops streaming, so the app exits at once."""
        self.session.power.close()
        self.chat.cancel()

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        if not self.is_running or self._stale(message.session):
            return
        self._fetching = False
        self.refreshes += 1
        snapshot = message.refresh.snapshot
        self.snapshot = snapshot
        self.error = None
        self.session.backoff.success()
        if message.refresh.recorded is not None:
            self._recorded(message.refresh.recorded, message.looked)
        screen = self.screen
        if isinstance(screen, ArgusScreen):
            screen.show_snapshot(snapshot)
        self._after_poll()

    def _recorded(self, recorded: Recorded, looked: int) -> None:
        """The refresh is in the history: the changes screen may read it; the header shows
        how many changes are not looked at yet, beside `5 Changes`."""
        if recorded.error:
            self.notify(recorded.error, title="History", severity="warning", timeout=10)
        for warning in recorded.warnings:
            self.notify(warning, title="History", severity="warning")
        screen = self.screen
        if isinstance(screen, ChangesScreen):
            screen.history_recorded()
        elif recorded.unseen not in (None, self.unseen) and looked == self.looked:
            self.unseen = recorded.unseen
            self.paint_bars()

    def changes_looked_at(self) -> None:
        """The changes screen was opened or left: nothing counted so far is unseen."""
        self.looked += 1
        self.unseen = 0

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        if not self.is_running or self._stale(message.session):
            return
        self._fetching = False
        if message.error != self.error:  # the status line cuts long errors: say it in full
            self.notify(message.error, title="Refresh failed", severity="error", timeout=8)
        self.error = message.error
        self.session.backoff.failure()
        self._after_poll()

    def _after_poll(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._retry_at = None
        if not self.paused:
            delay = self.session.backoff.next_delay()
            self._timer = self.set_timer(delay, self.refresh_snapshot)
            if self.error is not None:
                self._retry_at = time.monotonic() + delay
        self.paint_bars()

    def _tick(self) -> None:
        self.paint_bars(status_only=True)

    def paint_bars(self, screen: object | None = None, *, status_only: bool = False) -> None:
        target = screen if screen is not None else self._main_screen()
        if not isinstance(target, ArgusScreen):
            return
        session = self.session
        profile = session.profile or ("demo" if session.demo else session.address)
        if not status_only:
            for header in target.query(ClusterHeader):
                header.show(self.snapshot, profile, session.colour, self.current_mode, self.unseen)
        for line in target.query(StatusLine):
            line.show(
                profile=profile,
                address=session.address,
                fetched_at=self.snapshot.fetched_at if self.snapshot else None,
                error=self.error,
                paused=self.paused,
                demo=session.demo,
                insecure=session.insecure,
                read_only=session.read_only,
                message=self.message,
                retry_in=self._retry_at - time.monotonic() if self._retry_at else None,
            )

    def _binding_ids(self) -> dict[str, dict[str, str]]:
        """{screen: {binding id: keys}} for the app and every main screen (for the keymap)."""
        groups: dict[str, dict[str, str]] = {"app": {}}
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                groups["app"][binding.id] = binding.key
        for name, screen in self.MODES.items():
            groups[name] = {b.id: b.key for b in screen.BINDINGS if isinstance(b, Binding) and b.id}
        return groups

    def _main_screen(self) -> ArgusScreen | None:
        """The main screen on view, also under a dialog or the task log (its status line
        shows through, and must not go stale)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ArgusScreen):
                return screen
        return None

    def say(self, message: str) -> None:
        """A short message in the status line (progress, results)."""
        self.message = message
        self.paint_bars(status_only=True)

    # -- power ------------------------------------------------------------------------------

    def run_power(self, guest: Guest, action: str) -> None:
        """Send one power action and follow its task in a worker; results come as messages."""
        verb = ACTIONS[action].label
        self.say(f"{verb} {guest.label}: sending…")
        self._power_worker(guest, action)

    @work(thread=True, group="power", exit_on_error=False)
    def _power_worker(self, guest: Guest, action: str) -> None:
        power = self.session.power
        verb = ACTIONS[action].label
        try:
            upid = power.start(guest, action)
            self.post_message(PowerProgress(f"{verb} {guest.label}: task started"))
            self.call_from_thread(self.action_refresh_now)

            def progress(kind: str) -> None:
                self.post_message(PowerProgress(f"{verb} {guest.label}: {kind} running…"))

            outcome = power.follow(guest, action, upid, on_progress=progress)
        except ArgusError as exc:
            denied = isinstance(exc, PermissionDenied)
            self.post_message(PowerFailed(guest.label, action, str(exc), denied))
        except Exception as exc:
            self.post_message(
                PowerFailed(guest.label, action, f"{type(exc).__name__}: {exc}", False)
            )
        else:
            self.post_message(PowerDone(outcome))

    def on_power_progress(self, message: PowerProgress) -> None:
        self.say(message.text)

    def on_power_done(self, message: PowerDone) -> None:
        for error in self.session.power.take_journal_errors():
            self.notify(error, title="Action not journaled", severity="warning")
        outcome = message.outcome
        verb = ACTIONS[outcome.action].label
        name = printable(outcome.guest.label)
        if outcome.ok:
            text = f"{verb} {name}: done" + (f" ({outcome.note})" if outcome.note else "")
            self.say(text)
            self.notify(text, title="Task finished")
        else:
            self.say(f"{verb} {name}: FAILED")
            self.notify(printable(outcome.status), title=f"{verb} {name} failed", severity="error",
                        timeout=15)  # fmt: skip
        self.action_refresh_now()

    def on_power_failed(self, message: PowerFailed) -> None:
        verb = ACTIONS[message.action].label
        self.say(f"{verb} {printable(message.label)}: refused")
        self.notify(printable(message.error), title=f"{verb} {printable(message.label)}",
                    severity="error", timeout=15)  # fmt: skip
        self.action_refresh_now()  # a 403 means our view of permissions is stale: reload

    # -- profiles ---------------------------------------------------------------------------

    def _switch_profile(self, name: str) -> None:
        if not name:
            self.notify("Usage: :profile NAME (see 'argus profiles')", severity="warning")
        elif self.open_profile is None:
            self.notify("Profiles cannot be switched in the demo", severity="warning")
        else:
            self.say(f"opening profile {name}…")
            self._open_profile_worker(name)

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def _open_profile_worker(self, name: str) -> None:
        assert self.open_profile is not None
        try:
            session = self.open_profile(name)
        except ArgusError as exc:
            self.call_from_thread(self.notify, str(exc), title=f"Profile {name}", severity="error")
            self.call_from_thread(self.say, "")
        else:
            self.call_from_thread(self._use_session, session)

    def _use_session(self, session: Session) -> None:
        """Switch to another cluster: drop its data, keep the screens, refresh now."""
        if self._timer is not None:
            self._timer.stop()
        old = self.session
        session.backoff.interval = old.backoff.interval
        if self._fetching:
            self._retired.append(old)  # its refresh is on its way: close it once it is in
        else:
            old.close()
        self.session = session
        self.snapshot = None
        self.error = None
        self.selected_guest = None
        self.chat.cancel()
        self.chat = Chat(session)
        self.say(f"profile {session.profile}")
        self._fetching = False
        self.refresh_snapshot()

    def _changes_window(self, screen: ChangesScreen, window: str) -> None:
        if window in CHANGE_WINDOWS:
            screen.show_window(window)
        else:
            self.notify(f"Windows: {', '.join(CHANGE_WINDOWS)}", severity="warning")

    def show_node_guests(self, node: str) -> None:
        """The guests screen filtered to one node's guests (Enter on the nodes screen)."""
        self.switch_mode("guests")
        screen = self.screen
        if isinstance(screen, GuestsScreen):
            screen.filter_to(f"/^{re.escape(node.lower())}$/")

    def show_guest(self, vmid: int) -> None:
        """Switch to the guests screen with `vmid` selected (from another screen)."""
        self.switch_mode("guests")
        screen = self.screen
        if isinstance(screen, GuestsScreen) and not screen.select_guest(vmid):
            self.say(f"guest {vmid} is not in the current list")

    # -- actions ----------------------------------------------------------------------------

    def action_refresh_now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.refresh_snapshot()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused and self._timer is not None:
            self._timer.stop()
        elif not self.paused:
            self.refresh_snapshot()
        self.paint_bars(status_only=True)

    def action_assistant(self) -> None:
        screen = self.screen
        if isinstance(screen, ArgusScreen):
            screen.toggle_assistant()

    def assistant_target(self) -> Guest | Node | Task | None:
        screen = self.screen
        return screen.assistant_target() if isinstance(screen, ArgusScreen) else None

    def on_chat_updated(self, _message: ChatUpdated) -> None:
        for warning in self.chat.assistant.take_warnings():
            self.notify(warning, title="Assistant", severity="warning")
        screen = self.screen
        if isinstance(screen, ArgusScreen):
            for pane in screen.query(AssistantPane):
                if pane.display:
                    pane.sync(screen.assistant_target())
            screen.refresh_bindings()  # ctrl+g appears once an answer suggests an action

    def offer_power(self, offered: SuggestedAction) -> None:
        """The assistant's suggestion, as the guests screen's usual checked, confirmed key."""
        self.switch_mode("guests")
        screen = self.screen
        if isinstance(screen, GuestsScreen):
            screen.offer_power(offered.vmid, offered.action, "Suggested by the assistant.")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_command_line(self) -> None:
        self.push_screen(CommandLine(), self._run_command)

    def _run_command(self, command: str | None) -> None:
        if not command:
            return
        word, _, rest = command.strip().lstrip(":").partition(" ")
        aliases = {
            "nodes": "nodes", "node": "nodes", "no": "nodes",
            "vm": "guests", "vms": "guests", "ct": "guests", "cts": "guests",
            "guests": "guests", "gu": "guests",
            "usage": "utilisation", "util": "utilisation", "utilisation": "utilisation",
            "tasks": "tasks", "task": "tasks", "ta": "tasks",
            "changes": "changes", "ch": "changes", "history": "changes",
        }  # fmt: skip
        if word in aliases:
            self.switch_mode(aliases[word])
            screen = self.screen
            if word in ("vm", "vms", "ct", "cts") and isinstance(screen, GuestsScreen):
                screen.only_type("qemu" if word.startswith("vm") else "lxc")
            elif isinstance(screen, GuestsScreen) and word in ("guests", "gu"):
                screen.only_type(None)
            elif isinstance(screen, ChangesScreen) and rest.strip():
                self._changes_window(screen, rest.strip())
        elif word in ("q", "quit"):
            self._stop_workers()
            self.exit(0)
        elif word == "profile":
            self._switch_profile(rest.strip())
        elif word in ("refresh", "r"):
            self.action_refresh_now()
        else:
            self.notify(
                f"Unknown command {word!r}; try :nodes, :vm, :ct, :tasks, :usage, :changes, :quit",
                severity="warning",
            )
