"""Messages worker threads post to the app; widgets change only on the event loop."""

from __future__ import annotations

from textual.message import Message

from argus_tui.services.power import Outcome
from argus_tui.services.session import Refresh, Session


class SnapshotReady(Message):
    """A refresh of `session` (a stale one, after a profile switch, is dropped)."""

    def __init__(self, session: Session, refresh: Refresh, looked: int) -> None:
        super().__init__()
        self.session = session
        self.refresh = refresh
        self.looked = looked  # the app's count of looks at the changes when it started


class RefreshFailed(Message):
    def __init__(self, session: Session, error: str) -> None:
        super().__init__()
        self.session = session
        self.error = error


class PowerProgress(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class PowerDone(Message):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome


class PowerFailed(Message):
    def __init__(self, label: str, action: str, error: str, denied: bool) -> None:
        super().__init__()
        self.label = label
        self.action = action
        self.error = error
        self.denied = denied
