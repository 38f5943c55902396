"""Messages: results of the app's workers, requests from screens up to the app, and
commands from the app down to the screen on view.

Screens never call the app: they post a request, which bubbles up to it. The app never
calls a screen: it posts a command to the screen on view (commands do not bubble, so a
screen that has no use for one just lets it go). Widgets change only on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from argus_tui.domain.console import ConsoleTarget
from argus_tui.domain.migration import EvacuationPlan, Mode
from argus_tui.domain.models import Guest, Task
from argus_tui.domain.storage import Volume
from argus_tui.services.assistant import SuggestedAction
from argus_tui.services.runner import Outcome
from argus_tui.services.session import Refresh, Session
from argus_tui.ui.jobs import Job, Tracked

# -- results of the app's workers --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsoleRefusals:
    """Whether this server, at its version, was seen refusing API tokens for guests'
    consoles and for node shells: then `c` is not offered there, and `w` says why."""

    guests: bool = False
    shells: bool = False


@dataclass
class Refreshed(Message):
    """A poll of `session`; one of a session switched away from is dropped."""

    session: Session
    refresh: Refresh
    consoles: ConsoleRefusals = ConsoleRefusals()


@dataclass
class RefreshFailed(Message):
    session: Session
    error: str


@dataclass
class ProfileOpened(Message):
    """`:profile NAME` connected: switch to this session."""

    session: Session


@dataclass
class ActionProgress(Message):
    """How far an action's task got, for the status line."""

    text: str


@dataclass
class ActionDone(Message):
    """A task of an action ended (outcome None: the server finished without a task)."""

    job: Job
    title: str
    outcome: Outcome | None
    journal_errors: tuple[str, ...] = ()  # the action ran, but its journal entry failed


@dataclass
class ActionFailed(Message):
    """The action was refused (by Argus's checks or by the server) or could not be sent;
    `started`: its task was started but could not be followed to its end."""

    job: Job
    title: str
    error: str
    started: bool = False


@dataclass
class FollowRequested(Message):
    """A further task of the same action (a backup of guests on several nodes)."""

    job: Job
    tracked: Tracked


# -- requests, up to the app -------------------------------------------------------------


@dataclass
class Say(Message):
    """A short message in the status line (progress, results); "" clears it."""

    text: str


@dataclass
class RefreshRequested(Message):
    """Poll now (a power action started, or a view needs what the last poll left out)."""


@dataclass
class GuestSelected(Message):
    """The guests screen's cursor moved: other screens show this guest."""

    guest: Guest | None


@dataclass
class PowerRequested(Message):
    """Send one power action (already checked and confirmed) and follow its task."""

    guest: Guest
    action: str


@dataclass
class MigrateRequested(Message):
    """Migrate one guest to a target node in its mode (already checked in the picker)."""

    guest: Guest
    target: str
    mode: Mode
    with_local_disks: bool = False


@dataclass
class EvacuateRequested(Message):
    """Run an evacuation plan (already shown and confirmed)."""

    plan: EvacuationPlan


@dataclass
class NodePowerRequested(Message):
    """Reboot or shut down a node (already confirmed by typing its name)."""

    node: str
    command: str  # reboot | shutdown


@dataclass
class TaskStopRequested(Message):
    """Stop a running task (already checked and confirmed)."""

    task: Task


@dataclass
class SnapshotRequested(Message):
    """Take, roll back to or delete a snapshot (already checked and confirmed)."""

    guest: Guest
    action: str  # snapshot | rollback | snapshot-delete
    name: str
    description: str = ""
    vmstate: bool = False
    start_after: bool = False  # rollback: start the guest afterwards


@dataclass
class BackupRequested(Message):
    """Back up guests now to a storage (already checked in the form)."""

    guests: tuple[Guest, ...]
    storage: str
    mode: str = "snapshot"
    notes: str = ""
    protected: bool = False


@dataclass
class BackupDeleteRequested(Message):
    """Delete one backup (already checked and confirmed); `owner` is journaled."""

    volume: Volume
    node: str
    owner: Guest


@dataclass
class ConsoleRequested(Message):
    """Open a guest's console or a node's shell in this terminal (already checked; a node
    shell already confirmed)."""

    target: ConsoleTarget


@dataclass
class ShowBackups(Message):
    """The storage screen with the backups of one guest."""

    guest: Guest


@dataclass
class ShowGuest(Message):
    """The guests screen with this guest selected."""

    vmid: int


@dataclass
class ShowNodeGuests(Message):
    """The guests screen filtered to one node's guests."""

    node: str


@dataclass
class OpenScreen(Message):
    """`:word rest` named a screen: switch to it and hand it the words."""

    mode: str
    word: str
    rest: str


@dataclass
class OpenProfile(Message):
    """`:profile NAME`: connect to another profile's cluster."""

    name: str


@dataclass
class QuitRequested(Message):
    """`:quit`: as the `q` key; `code` is the exit status (a signal's, after a console)."""

    code: int = 0


@dataclass
class ChangesSeen(Message):
    """The user looked at the changes at `at` (a visit began or ended): none are unseen."""

    at: float


# -- commands, down to the screen on view ------------------------------------------------


@dataclass
class ScreenWords(Message, bubble=False):
    """What followed the screen's name on the command line (`:vm`, `:changes 24h`)."""

    word: str
    rest: str


@dataclass
class SelectGuest(Message, bubble=False):
    vmid: int


@dataclass
class FilterToNode(Message, bubble=False):
    node: str


@dataclass
class ShowGuestBackups(Message, bubble=False):
    """For the storage screen: open the backups of this guest."""

    guest: Guest


@dataclass
class OfferPower(Message, bubble=False):
    """An action suggested elsewhere (the assistant): checked like a key, always confirmed."""

    vmid: int
    action: str
    why: str


@dataclass
class OfferSuggested(Message):
    """The pane asks the app to offer the action an answer suggested (never to run it)."""

    offered: SuggestedAction


@dataclass
class ToggleAssistant(Message, bubble=False):
    pass


@dataclass
class ChatChanged(Message, bubble=False):
    """The assistant's conversation changed: a pane on view shows it."""
