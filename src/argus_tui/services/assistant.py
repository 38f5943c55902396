"""The troubleshooting assistant: context the token may see, a conversation, no actions.

`Assistant.gather_context` collects what helps explain a problem with the selection (a
guest, a node or a task): status and config summary, recent tasks with the failed
task's log tail, cluster and HA status, the utilisation trend from the local history,
and the node's syslog tail when the token holds Sys.Syslog. Everything is redacted and
fenced as data (see `llm.redact`, `llm.prompt`) and capped in size; `context.text` is
exactly what is sent, so the UI can show it. Gathering and asking block: call them from
worker threads.

`Assistant.ask` streams the answer; follow-up questions continue the conversation.
Every exchange is journaled in the history store (sizes and outcome, never the texts).

The assistant never acts. `suggested_actions` reads `Suggested action:` lines from an
answer and keeps only power actions that the selected guest's state and the token's
privileges allow; the UI offers them as the normal keyed action, with the usual
confirmation. Text in a log that tries to instruct the model changes nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from argus_tui.domain.format import bytes_, percent, uptime
from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Privileges, Task
from argus_tui.domain.permissions import ACTIONS, allowed_actions
from argus_tui.domain.text import printable
from argus_tui.errors import (
    ArgusError,
    ConfigError,
    LlmEmptyAnswer,
    LlmError,
    PermissionDenied,
)
from argus_tui.llm.prompt import (
    MAX_CONTEXT_CHARS,
    SYSTEM_PROMPT,
    Message,
    Section,
    fit,
    parse_suggested_actions,
    user_message,
)
from argus_tui.llm.redact import Redactor
from argus_tui.llm.settings import HOW_TO_CONFIGURE, LlmSettings, not_configured
from argus_tui.services.session import Session
from argus_tui.store.db import ExchangeRecord

if TYPE_CHECKING:
    from argus_tui.llm.client import ChatClient, ChatStream

#: Log lines kept from the end of a task log.
LOG_TAIL_LINES = 40
#: Syslog lines kept from the end of the node's syslog.
SYSLOG_LINES = 40
#: Recent tasks listed for a guest or node.
RECENT_TASKS = 8
#: Window of the utilisation trend from the local history.
TREND_SECONDS = 24 * 3600
#: Questions are journaled up to this length.
QUESTION_RECORD_CHARS = 500
#: The whole conversation sent with a question stays under this many characters: the
#: oldest exchanges go first, and the context is sent again once its message has gone.
MAX_CONVERSATION_CHARS = 48_000
SYSLOG_PRIVILEGE = "Sys.Syslog"
LENGTH_NOTE = "\n\n[the answer reached the model's length limit]"

Target = Guest | Node | Task
_T = TypeVar("_T")

# status/current fields that are structures, noise, or already in the summary
_SKIP_STATUS = frozenset(
    {
        "nics", "blockstat", "proxmox-support", "ballooninfo", "digest", "name", "vmid",
        "tags", "cpu", "cpus", "maxcpu", "mem", "maxmem", "memhost", "disk", "maxdisk",
        "netin", "netout", "diskread", "diskwrite", "uptime", "pressurecpusome",
        "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome",
        "pressurememoryfull",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AssistantContext:
    """What is sent with a question: `text` exactly, already redacted and capped."""

    subject: str
    text: str
    sections: tuple[Section, ...]
    trimmed: bool = False
    notes: tuple[str, ...] = ()  # what could not be collected, and why

    @property
    def size(self) -> int:
        return len(self.text)


@dataclass(frozen=True, slots=True)
class Turn:
    """One completed exchange of the conversation (the question as sent, redacted)."""

    question: str
    answer: str
    context_chars: int = 0


@dataclass(frozen=True, slots=True)
class SuggestedAction:
    """A power action an answer suggested that Argus could offer for the guest."""

    action: str
    vmid: int
    label: str  # footer label, e.g. "Start"
    guest: Guest

    def describe(self) -> str:
        return f"{self.label} {printable(self.guest.label)} ({self.vmid})"


class Answer:
    """The streamed text of one answer. Iterate it in a worker thread; `cancel()` works
    from any thread. When it ends (completed, cancelled or failed) the exchange is
    journaled once, and a completed one joins the conversation."""

    def __init__(
        self,
        assistant: Assistant,
        question: str,
        messages: list[Message],
        context: AssistantContext | None,
    ) -> None:
        self._assistant = assistant
        self.question = question
        self.messages = messages
        self.context = context
        self.outcome: str | None = None  # ok | cancelled | error, once finished
        self.error: LlmError | None = None
        self._lock = threading.Lock()
        self._cancelled = False
        self._stream: ChatStream | None = None
        self._noted_length = False
        self._started = time.monotonic()
        self.generation = 0  # the conversation it belongs to (see Assistant.reset)

    @property
    def text(self) -> str:
        """What has arrived so far."""
        return self._stream.text if self._stream is not None else ""

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.outcome is not None:
            raise StopIteration
        with self._lock:
            if self._cancelled:
                stream = None
            else:
                if self._stream is None:
                    self._stream = self._assistant._chat().stream(self.messages)
                stream = self._stream
        if stream is None:
            self._finish("cancelled")
            raise StopIteration
        try:
            return next(stream)
        except StopIteration:
            if stream.cancelled:
                self._finish("cancelled")
                raise
            if stream.finish_reason == "length" and not self._noted_length:
                self._noted_length = True
                return LENGTH_NOTE
            if not stream.text.strip():
                error = LlmEmptyAnswer(
                    f"the model {self._assistant.describe_model()} returned an empty answer",
                    hint="ask again, or try another model",
                )
                self._finish("error", error)
                raise error from None
            self._finish("ok")
            raise
        except LlmError as exc:
            self._finish("error", exc)
            raise

    def cancel(self) -> None:
        """Stop the answer now; what arrived stays in `text`."""
        with self._lock:
            self._cancelled = True
            stream = self._stream
        if stream is not None:
            stream.cancel()

    def close(self) -> None:
        """Cancel if still running and journal it; for callers that stop iterating early."""
        if self.outcome is None:
            self.cancel()
            self._finish("cancelled")

    def _finish(self, outcome: str, error: LlmError | None = None) -> None:
        with self._lock:
            if self.outcome is not None:
                return
            self.outcome = outcome
            self.error = error
        self._assistant._finished(self, time.monotonic() - self._started)


class Assistant:
    """One conversation with the configured model about one session's cluster."""

    def __init__(
        self,
        session: Session,
        *,
        max_context_chars: int = MAX_CONTEXT_CHARS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session = session
        self.settings: LlmSettings | None = session.llm
        self.max_context_chars = max_context_chars
        self.clock = clock
        #: Problems the user should hear about once (e.g. history not writable).
        self.warnings: list[str] = []
        key = self.settings.api_key if self.settings else None
        url_password = self.settings.url_password if self.settings else None
        self.redactor = Redactor([session.client.settings.secret, key, url_password])
        self._generation = 0  # bumped by reset(): answers of an older conversation stay out
        self._lock = threading.Lock()
        self._chat_client: ChatClient | None = None
        self._messages: list[Message] = [Message("system", SYSTEM_PROMPT)]
        self._turns: list[Turn] = []
        self._context_text: str | None = None
        self._subject = ""
        self._current: Answer | None = None

    # -- state -------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.settings is not None

    @property
    def howto(self) -> str:
        """How to turn the assistant on: environment variables and config keys."""
        return HOW_TO_CONFIGURE

    def describe(self) -> str:
        return self.settings.describe() if self.settings else "not configured"

    def describe_model(self) -> str:
        return repr(self.settings.model) if self.settings else "(none)"

    @property
    def turns(self) -> tuple[Turn, ...]:
        with self._lock:
            return tuple(self._turns)

    @property
    def system_prompt(self) -> str:
        return SYSTEM_PROMPT

    def reset(self) -> None:
        """Start a new conversation (cancels an answer in progress)."""
        self.cancel()
        with self._lock:
            self._generation += 1
            self._messages = [Message("system", SYSTEM_PROMPT)]
            self._turns = []
            self._context_text = None
            self._subject = ""

    def cancel(self) -> None:
        """Stop the answer in progress, if any; safe from any thread."""
        with self._lock:
            current = self._current
        if current is not None:
            current.cancel()

    def take_warnings(self) -> list[str]:
        out, self.warnings[:] = list(self.warnings), []
        return out

    # -- asking ------------------------------------------------------------------------------

    def message_for(self, question: str, context: AssistantContext | None) -> Message:
        """The user message `ask` would send now: new context (if any) and the question."""
        with self._lock:
            return self._message(question, context)[0]

    def _message(self, question: str, context: AssistantContext | None) -> tuple[Message, bool]:
        """Hold `_lock`. The context is attached when it differs from the last one sent."""
        attach = context is not None and _sections_key(context) != self._context_text
        data = context.text if attach and context is not None else None
        return Message("user", user_message(self.redactor.text(question.strip()), data)), attach

    def ask(self, question: str, context: AssistantContext | None = None) -> Answer:
        """Start an answer (sent on first iteration). The context goes with the first
        question and again only when it changed; follow-ups carry the conversation."""
        if self.settings is None:
            raise not_configured()
        if not question.strip():
            raise ConfigError("the question is empty", hint="type a question first")
        self.cancel()
        with self._lock:
            self._bound_conversation(len(question) + (context.size if context else 0))
            message, attach = self._message(question, context)
            answer = Answer(
                self,
                self.redactor.text(question.strip()),
                [*self._messages, message],
                context if attach else None,
            )
            answer.generation = self._generation
            if context is not None:
                self._subject = self.redactor.text(context.subject)
            self._current = answer
        return answer

    def _bound_conversation(self, incoming: int) -> None:
        """Hold `_lock`. Drop the oldest exchanges until the next request fits the cap."""

        def size() -> int:
            return incoming + sum(len(m.content) for m in self._messages)

        while size() > MAX_CONVERSATION_CHARS and len(self._messages) > 2:
            del self._messages[1:3]  # the oldest question and its answer
            self._context_text = None  # the context went with it: attach it again
            if self._turns:
                del self._turns[0]

    def _chat(self) -> ChatClient:
        from argus_tui.llm.client import ChatClient  # openai loads on first use only

        with self._lock:
            if self._chat_client is None:
                if self.settings is None:
                    raise not_configured()
                self._chat_client = ChatClient(self.settings)
            return self._chat_client

    def _finished(self, answer: Answer, duration: float) -> None:
        """Called once per answer: join the conversation if complete, then journal it."""
        text = answer.text
        with self._lock:
            if self._current is answer:
                self._current = None
            if answer.outcome == "ok" and answer.generation == self._generation:
                self._messages = [
                    *answer.messages,
                    Message("assistant", self.redactor.text(text)),
                ]
                if answer.context is not None:
                    self._context_text = _sections_key(answer.context)
                self._turns.append(
                    Turn(answer.question, text, answer.context.size if answer.context else 0)
                )
            subject = self._subject
        self._record(answer, subject, len(text), duration)

    def _record(self, answer: Answer, subject: str, answer_chars: int, duration: float) -> None:
        store = self.session.history
        if store is None or self.settings is None:
            return
        error = answer.error
        record = ExchangeRecord(
            ts=self.clock(),
            profile=self.session.history_profile,
            model=self.settings.model,
            subject=subject,
            question=answer.question[:QUESTION_RECORD_CHARS],
            context_chars=answer.context.size if answer.context else 0,
            answer_chars=answer_chars,
            outcome=answer.outcome or "error",
            error=self.redactor.text(error.message) if error else "",
            duration=round(duration, 3),
        )
        try:
            store.record_exchange(record)
        except Exception as exc:  # history must never break asking
            self.warnings.append(f"the assistant exchange was not journaled: {exc}")

    # -- context -----------------------------------------------------------------------------

    def gather_context(
        self,
        snapshot: ClusterSnapshot | None,
        *,
        guest: Guest | None = None,
        node: Node | str | None = None,
        task: Task | None = None,
    ) -> AssistantContext:
        """Collect, redact, fence and cap the context for the selection. Blocks; never
        raises for what the server refuses or fails: `notes` say what is missing."""
        builder = _Builder(self, snapshot)
        node_name = node.name if isinstance(node, Node) else node
        if guest is not None:
            subject = f"guest {guest.vmid} ({guest.label}) on node {guest.node}"
            builder.guest(guest)
            syslog_node: str | None = guest.node
        elif task is not None:
            subject = f"task {task.type} {task.id} on node {task.node}".replace("  ", " ")
            builder.task(task)
            syslog_node = task.node
        elif node_name:
            subject = f"node {node_name}"
            builder.node(node_name)
            syslog_node = node_name
        else:
            subject = "the cluster"
            syslog_node = None
        builder.cluster()
        if syslog_node:
            builder.syslog(syslog_node)
        if builder.notes:
            builder.add("not collected", [f"- {note}" for note in builder.notes])
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.clock()))
        header = self.redactor.text(f"Context from Argus about {subject}, collected {stamp}.")
        text, sections, trimmed = fit(header, builder.sections, self.max_context_chars)
        return AssistantContext(
            subject=printable(subject),
            text=text,
            sections=sections,
            trimmed=trimmed,
            notes=tuple(builder.notes),
        )


class _Builder:
    """Collects context sections; each failing part becomes a note, never an error."""

    def __init__(self, assistant: Assistant, snapshot: ClusterSnapshot | None) -> None:
        self.assistant = assistant
        self.session = assistant.session
        self.client = assistant.session.client
        self.snapshot = snapshot
        self.sections: list[Section] = []
        self.notes: list[str] = []
        self._tasks: list[Task] | None = None

    # -- plumbing ----------------------------------------------------------------------------

    def add(self, title: str, lines: Sequence[str], trim_rank: int | None = None) -> None:
        if not lines:
            return
        redactor = self.assistant.redactor
        # redacted as one block, so a secret spanning lines (a key block) is caught whole
        body = redactor.text("\n".join(lines)).split("\n")
        self.sections.append(Section.of(redactor.text(title), body, trim_rank))

    def attempt(self, what: str, call: Callable[[], _T]) -> _T | None:
        try:
            return call()
        except PermissionDenied as exc:
            if exc.privilege and exc.path:
                self.notes.append(f"{what}: the token lacks {exc.privilege} on {exc.path}")
            else:
                self.notes.append(f"{what}: permission denied")
        except ArgusError as exc:
            self.notes.append(f"{what}: {exc.message}")
        return None

    def recent_tasks(self) -> list[Task]:
        if self._tasks is None:
            result = self.attempt("recent tasks", lambda: self.session.recent_tasks(limit=100))
            self._tasks = result[0] if result is not None else []
        return self._tasks

    def guest_tasks(self, vmid: int) -> list[Task]:
        """The guest's own recent tasks, asked of each node by vmid (not the cluster's
        newest 100, where a busy cluster would crowd them out)."""
        result = self.attempt(
            f"recent tasks of guest {vmid}", lambda: self.session.recent_tasks(50, vmid)
        )
        if result is None:
            return []
        tasks, warnings = result
        self.notes.extend(warnings)
        return [t for t in tasks if t.id == str(vmid)]

    def task_lines(self, tasks: Sequence[Task]) -> list[str]:
        lines = []
        for t in tasks[:RECENT_TASKS]:
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t.starttime))
            status = "running" if t.running else (t.status or "?")
            what = f"{t.type} {t.id}".strip()
            lines.append(f"{started} UTC  {what} on {t.node} by {t.user}: {status}  ({t.upid})")
        return lines

    def log_tail(self, task: Task) -> None:
        def fetch() -> list[str]:
            lines, total = self.client.task_log(task.node, task.upid, 0, 500)
            if total > len(lines):
                start = max(0, total - LOG_TAIL_LINES)
                lines, _ = self.client.task_log(task.node, task.upid, start, LOG_TAIL_LINES)
            return lines[-LOG_TAIL_LINES:]

        what = f"{task.type} {task.id}".strip()
        lines = self.attempt(f"log of task {what}", fetch)
        if lines:
            state = "running" if task.running else (task.status or "?")
            self.add(f"task log: {what} on {task.node} ({state}), last lines", lines, trim_rank=1)

    def trend(self, kind: str, key: str, fields: Sequence[str], total: float | None) -> None:
        store = self.session.history
        if store is None:
            return
        since = self.assistant.clock() - TREND_SECONDS
        profile = self.session.history_profile
        lines = []
        for field in fields:

            def series(field: str = field) -> list[tuple[float, float]]:
                if kind == "guest":
                    return store.guest_series(profile, int(key), field, since)
                return store.node_series(profile, key, field, since)

            points = self.attempt(f"{field} history", series)
            values = [v for _, v in points or ()]
            if not values:
                continue
            low, high, mean = min(values), max(values), sum(values) / len(values)
            lines.append(
                f"{field}: min {_fmt(field, low, total)}, avg {_fmt(field, mean, total)},"
                f" max {_fmt(field, high, total)} ({len(values)} points)"
            )
        if lines:
            self.add(f"utilisation over the last 24 h from local history ({kind} {key})", lines)

    # -- sections ----------------------------------------------------------------------------

    def guest(self, guest: Guest) -> None:
        kind = "VM (qemu)" if guest.type == "qemu" else "container (lxc)"
        lines = [
            f"vmid {guest.vmid}, {kind}, name {guest.label}, node {guest.node}",
            f"status {guest.status}" + (" (template)" if guest.template else ""),
            f"cpu {percent(guest.cpu)} of {_count(guest.maxcpu)} cores, memory"
            f" {bytes_(guest.mem)} of {bytes_(guest.maxmem)}, uptime {uptime(guest.uptime)}",
        ]
        for label, value in (
            ("lock", guest.lock),
            ("HA state", guest.hastate),
            ("pool", guest.pool),
            ("tags", ", ".join(guest.tags)),
        ):
            if value:
                lines.append(f"{label}: {value}")
        self.add(f"guest {guest.vmid} summary", lines)
        details = self.attempt(
            f"status and config of guest {guest.vmid}", lambda: self.session.guest_details(guest)
        )
        if details:
            current = details.get("current") or {}
            self.add(f"guest {guest.vmid} status/current", _status_lines(current))
            config = self.assistant.redactor.mapping(details.get("config") or {})
            lines = [f"{k}: {v}" for k, v in sorted(config.items()) if k != "digest"]
            self.add(f"guest {guest.vmid} config", lines)
        tasks = self.guest_tasks(guest.vmid)
        self.add(f"recent tasks of guest {guest.vmid}, newest first", self.task_lines(tasks))
        failed = next((t for t in tasks if t.failed), None)
        if failed is not None:
            self.log_tail(failed)
        self.trend("guest", str(guest.vmid), ("cpu", "mem"), float(guest.maxmem or 0) or None)

    def node(self, name: str) -> None:
        node = self._node(name)
        if node is not None:
            self.add(
                f"node {name} summary",
                [
                    f"status {node.status}, uptime {uptime(node.uptime)}",
                    f"cpu {percent(node.cpu)} of {_count(node.maxcpu)} cores",
                    f"memory {bytes_(node.mem)} of {bytes_(node.maxmem)}"
                    f" ({_ratio(node.mem, node.maxmem)})",
                    f"root disk {bytes_(node.disk)} of {bytes_(node.maxdisk)}"
                    f" ({_ratio(node.disk, node.maxdisk)})",
                ],
            )
        status = self.attempt(f"status of node {name}", lambda: self.client.node_status(name))
        if isinstance(status, dict):
            self.add(f"node {name} status", _node_status_lines(status))
        if self.snapshot is not None:
            guests = sorted(
                (g for g in self.snapshot.guests if g.node == name and g.status == "running"),
                key=lambda g: g.mem or 0,
                reverse=True,
            )
            lines = [
                f"{g.vmid} {g.label} ({g.type}): memory {bytes_(g.mem)} of {bytes_(g.maxmem)},"
                f" cpu {percent(g.cpu)}"
                for g in guests[:10]
            ]
            self.add(f"running guests on {name} by memory (top 10)", lines)
        tasks = [t for t in self.recent_tasks() if t.node == name]
        self.add(f"recent tasks on {name}, newest first", self.task_lines(tasks))
        failed = next((t for t in tasks if t.failed), None)
        if failed is not None:
            self.log_tail(failed)
        total = float(node.maxmem) if node is not None and node.maxmem else None
        self.trend("node", name, ("cpu", "mem", "disk"), total)

    def task(self, task: Task) -> None:
        status = self.attempt(
            f"status of task {task.upid}", lambda: self.client.task_status(task.node, task.upid)
        )
        lines = [f"upid {task.upid}", f"type {task.type}, id {task.id or '-'}, node {task.node}"]
        lines.append(f"user {task.user}")
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(task.starttime))
        lines.append(f"started {started} UTC")
        if task.endtime:
            lines.append(f"ended after {task.endtime - task.starttime} s")
        if isinstance(status, dict):
            lines += [
                f"{k}: {v}" for k, v in sorted(status.items()) if k in ("status", "exitstatus")
            ]
        else:
            lines.append(f"status {'running' if task.running else task.status}")
        self.add(f"task {task.type} {task.id}".strip(), lines)
        self.log_tail(task)
        guest = self._guest(task.id)
        if guest is not None:
            self.add(
                f"guest {guest.vmid} now",
                [
                    f"{guest.label} ({guest.type}) on {guest.node}: {guest.status}"
                    + (f", lock {guest.lock}" if guest.lock else "")
                    + (f", HA {guest.hastate}" if guest.hastate else "")
                ],
            )

    def cluster(self) -> None:
        snap = self.snapshot
        if snap is not None:
            info = snap.cluster
            quorum = {True: "quorate", False: "NOT quorate", None: "quorum unknown"}[info.quorate]
            online = sum(1 for n in snap.nodes if n.online)
            lines = [
                f"cluster {info.name or '(standalone node)'}: {quorum}, Proxmox VE"
                f" {info.version or '?'}, {online} of {len(snap.nodes)} nodes online,"
                f" {len(snap.guests)} guests visible",
            ]
            for n in snap.nodes:
                lines.append(
                    f"node {n.name}: {n.status}, cpu {percent(n.cpu)}, memory"
                    f" {_ratio(n.mem, n.maxmem)}, disk {_ratio(n.disk, n.maxdisk)}"
                )
            lines += [f"warning: {w}" for w in snap.warnings]
            self.add("cluster", lines)
        status = self.attempt("cluster status", self.client.cluster_status)
        if status:
            lines = []
            for entry in status:
                if not isinstance(entry, dict):
                    continue
                if entry.get("type") == "cluster":
                    lines.append(
                        f"cluster {entry.get('name')}: {entry.get('nodes')} nodes,"
                        f" quorate {entry.get('quorate')}"
                    )
                elif entry.get("type") == "node":
                    lines.append(
                        f"node {entry.get('name')}: online {entry.get('online')},"
                        f" ip {entry.get('ip', '?')}"
                    )
            self.add("cluster status (corosync)", lines)
        ha = self.attempt("HA status", self.client.ha_status)
        if isinstance(ha, list):
            lines = []
            for entry in ha:
                if not isinstance(entry, dict):
                    continue
                parts = [str(entry.get("id", "?")), str(entry.get("status", ""))]
                for key in ("node", "state", "crm_state", "request_state"):
                    if entry.get(key) not in (None, ""):
                        parts.append(f"{key}={entry[key]}")
                lines.append(" ".join(p for p in parts if p))
            self.add("HA status", lines or ["no HA resources configured"])

    def syslog(self, node: str) -> None:
        privileges = self.snapshot.privileges if self.snapshot is not None else None
        if privileges is not None and not _holds(privileges, f"/nodes/{node}", SYSLOG_PRIVILEGE):
            self.notes.append(
                f"syslog of node {node}: the token lacks {SYSLOG_PRIVILEGE} on /nodes/{node}"
            )
            return

        def fetch() -> list[str]:
            # the API pages from the oldest line: ask for the count, then the last page
            _, total = self.client.syslog(node, 0, 1)
            if total is None:  # no count: read a generous page and keep its end
                lines, _ = self.client.syslog(node, 0, 1000)
            else:
                lines, _ = self.client.syslog(node, max(0, total - SYSLOG_LINES), SYSLOG_LINES)
            return lines[-SYSLOG_LINES:]

        lines = self.attempt(f"syslog of node {node}", fetch)
        if lines:
            self.add(f"syslog of node {node}, last lines", lines, trim_rank=0)

    # -- lookups -----------------------------------------------------------------------------

    def _node(self, name: str) -> Node | None:
        if self.snapshot is None:
            return None
        return next((n for n in self.snapshot.nodes if n.name == name), None)

    def _guest(self, vmid: str) -> Guest | None:
        if self.snapshot is None or not vmid.isdigit():
            return None
        return next((g for g in self.snapshot.guests if g.vmid == int(vmid)), None)


def _holds(privileges: Privileges, path: str, privilege: str) -> bool:
    """Whether `privilege` applies at `path`: the entry for the path, else the nearest
    listed ancestor's propagating privileges (the dump lists every path with an ACL)."""
    exact = privileges.paths.get(path)
    if exact is not None:
        return privilege in exact
    while path not in ("", "/"):
        path = path.rsplit("/", 1)[0] or "/"
        entry = privileges.paths.get(path)
        if entry is not None:
            return bool(entry.get(privilege, False))
    return False


def _count(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _ratio(used: float | None, total: float | None) -> str:
    if used is None or not total:
        return "?"
    return percent(used / total)


def _fmt(field: str, value: float, total: float | None) -> str:
    if field == "cpu":
        return percent(value)
    text = bytes_(value)
    if field == "mem" and total:
        text += f" ({percent(value / total)})"
    return text


def _status_lines(current: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in sorted(current.items()):
        if key in _SKIP_STATUS:
            continue
        if isinstance(value, dict):
            for sub, inner in sorted(value.items()):
                if not isinstance(inner, dict | list):
                    lines.append(f"{key}.{sub}: {inner}")
        elif not isinstance(value, list):
            lines.append(f"{key}: {value}")
    return lines


def _node_status_lines(status: dict[str, Any]) -> list[str]:
    lines = []
    load = status.get("loadavg")
    if isinstance(load, list):
        lines.append(f"load average {' '.join(str(x) for x in load)}")
    for key in ("memory", "swap", "rootfs"):
        part = status.get(key)
        if isinstance(part, dict):
            lines.append(
                f"{key}: used {bytes_(part.get('used'))} of {bytes_(part.get('total'))}"
                f" ({_ratio(part.get('used'), part.get('total'))})"
            )
    cpuinfo = status.get("cpuinfo")
    if isinstance(cpuinfo, dict):
        lines.append(f"cpu: {cpuinfo.get('model', '?')}, {cpuinfo.get('cpus', '?')} threads")
    for key in ("cpu", "wait", "uptime", "kversion", "pveversion"):
        if key in status:
            value = status[key]
            if key in ("cpu", "wait") and isinstance(value, int | float):
                value = percent(float(value))
            label = {"cpu": "cpu usage", "wait": "io wait"}.get(key, key)
            lines.append(f"{label}: {value}")
    return lines


# -- the selection's first questions and the answer's suggested actions ---------------------------


def suggestions(target: Target | None, snapshot: ClusterSnapshot | None = None) -> list[str]:
    """Short first questions for the selection, most specific first."""
    out: list[str] = []
    if isinstance(target, Guest):
        guest = _fresh_guest(target, snapshot)
        name = printable(guest.label)
        if guest.status == "stopped" and not guest.template:
            out.append(f"Why won't {name} start?")
        if guest.lock:
            out.append(f"Why is {name} locked ({printable(guest.lock)})?")
        if guest.hastate in ("error", "fence", "recovery"):
            out.append(f"Why is the HA state of {name} '{printable(guest.hastate)}'?")
        if guest.status == "running":
            if guest.mem is not None and guest.maxmem and guest.mem / guest.maxmem >= 0.85:
                out.append(f"Why is {name} at {percent(guest.mem / guest.maxmem)} memory?")
            if guest.cpu is not None and guest.cpu >= 0.85:
                out.append(f"Why is {name} at {percent(guest.cpu)} CPU?")
        out.append(f"Is anything wrong with {name}?")
        out.append(f"What failed most recently for {name}?")
    elif isinstance(target, Node):
        name = printable(target.name)
        if not target.online:
            out.append(f"Why is node {name} {printable(target.status)}?")
        if target.mem is not None and target.maxmem and target.mem / target.maxmem >= 0.85:
            out.append(f"Why is node {name} at {percent(target.mem / target.maxmem)} memory?")
        if target.cpu is not None and target.cpu >= 0.85:
            out.append(f"Why is node {name} at {percent(target.cpu)} CPU?")
        if target.disk is not None and target.maxdisk and target.disk / target.maxdisk >= 0.85:
            out.append(
                f"Why is the root disk of {name} {percent(target.disk / target.maxdisk)} full?"
            )
        out.append(f"Is node {name} healthy?")
    elif isinstance(target, Task):
        what = printable(f"{target.type} {target.id}".strip())
        where = printable(target.node)
        if target.failed:
            out.append(f"Why did task {what} on {where} fail?")
        elif target.running:
            out.append(f"What is task {what} on {where} doing?")
        else:
            out.append(f"What did task {what} on {where} do?")
    else:
        if snapshot is not None and snapshot.cluster.quorate is False:
            out.append("Why is the cluster not quorate?")
        if snapshot is not None:
            for node in snapshot.nodes:
                if not node.online:
                    out.append(f"Why is node {printable(node.name)} {printable(node.status)}?")
                    break
        out.append("Is the cluster healthy?")
    return out[:4]


def suggested_actions(
    answer_text: str,
    snapshot: ClusterSnapshot,
    guest: Guest | None,
    *,
    read_only: bool = False,
) -> list[SuggestedAction]:
    """Power actions the answer suggests for the selected guest that Argus may offer:
    only for that guest, and only those valid for its current state and permitted to the
    token (`domain.permissions`). Never run them from here; offer them as the usual key."""
    if guest is None or read_only:
        return []
    current = _fresh_guest(guest, snapshot)
    allowed = allowed_actions(current, snapshot.privileges)
    return [
        SuggestedAction(action, vmid, ACTIONS[action].label, current)
        for action, vmid in parse_suggested_actions(answer_text)
        if vmid == current.vmid and action in allowed
    ]


def _fresh_guest(guest: Guest, snapshot: ClusterSnapshot | None) -> Guest:
    """The guest as in the latest snapshot (its state may have changed since selection)."""
    if snapshot is None:
        return guest
    return next((g for g in snapshot.guests if g.vmid == guest.vmid), guest)


def _sections_key(context: AssistantContext) -> str:
    """What the context says, without the moment it was collected (its header line)."""
    return context.text.partition("\n")[2]
