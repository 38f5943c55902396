"""Messages worker threads post to the app; widgets change only on the event loop."""

from __future__ import annotations

from textual.message import Message

from argus_tui.domain.models import ClusterSnapshot


class SnapshotReady(Message):
    def __init__(self, snapshot: ClusterSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RefreshFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error
