"""Messages worker threads post to the app; widgets change only on the event loop."""

from __future__ import annotations

from textual.message import Message

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.services.power import Outcome


class SnapshotReady(Message):
    def __init__(self, snapshot: ClusterSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RefreshFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
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
