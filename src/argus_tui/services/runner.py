"""Following a task Argus started to its end, and journaling it: one runner for every
action (power, snapshots, backups), so a guest is never sent two of Argus's tasks at once.

A guest is "busy" from the moment its request is sent until its task is followed to the
end. Blocking: use from worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from argus_tui.domain.models import Guest, exit_ok
from argus_tui.domain.upid import UPID
from argus_tui.errors import ArgusError, OperationFailed
from argus_tui.pve.client import PveClient
from argus_tui.pve.mapping import as_str
from argus_tui.services.operator import operator_name
from argus_tui.store import ActionRecord, HistoryStore


@dataclass(frozen=True, slots=True)
class Outcome:
    guest: Guest
    action: str
    upid: str
    ok: bool
    status: str  # PVE's exit status ("OK" or the error text)
    duration: float
    note: str = ""  # e.g. what HA did
    target: str = ""  # the snapshot, volume or storage the action was about
    others: tuple[Guest, ...] = field(default=())  # further guests of the same task (vzdump)
    #: (vmid, status) of guests whose own result differs from the task's: a vzdump of
    #: several guests ends "job errors" when one fails, while the others were backed up.
    results: tuple[tuple[int, str], ...] = field(default=())

    @property
    def guests(self) -> tuple[Guest, ...]:
        return (self.guest, *self.others)

    def result_of(self, vmid: int) -> str:
        """The guest's own exit status ("OK" or the error), the task's when not known."""
        return dict(self.results).get(vmid, self.status)


Progress = Callable[[str], None]


class TaskRunner:
    """Sends requests that start tasks, follows them, journals the result."""

    def __init__(
        self,
        client: PveClient,
        *,
        profile: str = "",
        history: HistoryStore | None = None,
        poll: float = 1.0,
        timeout: float = 3600.0,
    ) -> None:
        self.client = client
        self.profile = profile
        self.history = history
        self.poll = poll
        self.timeout = timeout
        self.operator = operator_name()  # who acts, journaled beside the token
        self._busy: dict[int, str] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.journal_errors: list[str] = []

    def close(self) -> None:
        """Stop following tasks (the tasks themselves run on in Proxmox)."""
        self._closing.set()

    @property
    def closing(self) -> bool:
        """The session is closing: start nothing new."""
        return self._closing.is_set()

    def busy(self, vmid: int) -> bool:
        with self._lock:
            return vmid in self._busy

    def check_idle(self, guests: Sequence[Guest]) -> None:
        for guest in guests:
            if self.busy(guest.vmid):
                raise OperationFailed(
                    f"{guest.label} already has a task of Argus's running; wait for it to finish"
                )

    def send(self, guests: Sequence[Guest], request: Callable[[], str | None]) -> str | None:
        """Mark the guests busy and send the request that starts their task.

        Returns the UPID (the guests stay busy until `follow` ends), or None when the
        server started no task (the guests are free again at once).
        """
        with self._lock:
            taken = [g for g in guests if g.vmid in self._busy]
            if taken:
                raise OperationFailed(f"{taken[0].label} already has a task of Argus's running")
            for guest in guests:
                self._busy[guest.vmid] = "pending"
        try:
            upid = request()
        except BaseException:
            self._release(guests)
            raise
        if upid is None:
            self._release(guests)
            return None
        with self._lock:
            for guest in guests:
                self._busy[guest.vmid] = upid
        return upid

    def _release(self, guests: Sequence[Guest]) -> None:
        with self._lock:
            for guest in guests:
                self._busy.pop(guest.vmid, None)

    def wait(
        self,
        node: str,
        upid: str,
        *,
        on_progress: Progress | None = None,
        sleep: Callable[[float], None] | None = None,
        log_progress: bool = False,
    ) -> tuple[str, float]:
        """Poll a task to its end: (exit status, seconds followed).

        `log_progress`: report the task's newest log line instead of its type (a
        backup's `INFO:  45% (...)` lines say how far it got).
        """

        def pause(seconds: float) -> None:
            if sleep is not None:
                sleep(seconds)
            else:
                self._closing.wait(seconds)

        started = time.monotonic()
        seen = 0
        newest = ""  # the last log line so far: a poll without new lines keeps saying it
        while True:
            status = self.client.task_status(node, upid)
            if status.get("status") == "stopped":
                break
            if on_progress is not None:
                text = str(status.get("type") or UPID.parse(upid).type) + " running…"
                if log_progress:
                    lines, seen = self._log_tail(node, upid, seen)
                    newest = lines[-1] if lines else newest
                    text = newest or text
                on_progress(text)
            if time.monotonic() - started > self.timeout:
                raise OperationFailed(f"task {upid} still running after {self.timeout:g} s")
            if self._closing.is_set():
                raise OperationFailed(f"stopped following task {upid}; it runs on in Proxmox")
            pause(self.poll)
        exit_status = as_str(status.get("exitstatus")) or "unexpected status"
        return exit_status, time.monotonic() - started

    def _log_tail(self, node: str, upid: str, seen: int) -> tuple[list[str], int]:
        try:
            lines, total = self.client.task_log(node, upid, seen, 200)
        except ArgusError:
            return [], seen
        if seen == 0 and lines == ["no content"]:  # PVE's answer before the first line
            return [], 0
        return [line for line in lines if line.strip()], max(seen, total)

    def follow(
        self,
        guests: Sequence[Guest],
        action: str,
        upid: str,
        *,
        target: str = "",
        node: str | None = None,
        on_progress: Progress | None = None,
        sleep: Callable[[float], None] | None = None,
        log_progress: bool = False,
        note: Callable[[str, bool], str] | None = None,
        results: Callable[[], dict[int, str]] | None = None,
    ) -> Outcome:
        """Follow the task of `guests` to its end, journal one row per guest, free them.

        The task runs on `node` (by default the first guest's). `results`, asked when the
        task failed, gives each guest's own status where it differs (a vzdump's log)."""
        try:
            exit_status, duration = self.wait(
                node or guests[0].node,
                upid,
                on_progress=on_progress,
                sleep=sleep,
                log_progress=log_progress,
            )
        finally:
            self._release(guests)
        ok = exit_ok(exit_status)
        own = results() if results is not None and not ok else {}
        outcome = Outcome(
            guests[0],
            action,
            upid,
            ok,
            exit_status,
            duration,
            note(exit_status, ok) if note is not None else "",
            target,
            tuple(guests[1:]),
            tuple((g.vmid, own[g.vmid]) for g in guests if g.vmid in own),
        )
        self.journal(outcome)
        return outcome

    def journal_sent(
        self, guests: Sequence[Guest], action: str, upid: str, target: str = ""
    ) -> None:
        """Journal an action whose task is not followed (a command without --wait)."""
        sent = "sent; task not followed"
        self.journal(
            Outcome(guests[0], action, upid, True, sent, 0.0, "", target, tuple(guests[1:]))
        )

    def journal_failed(self, error: str) -> None:
        """Keep a journal failure of another service, to be shown once with the others."""
        with self._lock:
            self.journal_errors.append(error)

    def take_journal_errors(self) -> list[str]:
        """Journal failures since the last call, to be shown once (the action itself ran)."""
        with self._lock:
            errors, self.journal_errors = self.journal_errors, []
        return errors

    def journal(self, outcome: Outcome) -> None:
        if self.history is None:
            return
        for guest in outcome.guests:
            try:
                self.history.record_action(
                    ActionRecord(
                        ts=time.time(),
                        profile=self.profile,
                        token_id=self.client.settings.token_id,
                        vmid=guest.vmid,
                        guest=guest.label,
                        node=guest.node,
                        action=outcome.action,
                        upid=outcome.upid,
                        result=outcome.result_of(guest.vmid),
                        duration=round(outcome.duration, 3),
                        target=outcome.target,
                        operator=self.operator,
                    )
                )
            except ArgusError as exc:
                with self._lock:
                    self.journal_errors.append(str(exc))
                return
