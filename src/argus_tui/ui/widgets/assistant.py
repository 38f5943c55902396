"""The assistant pane: a conversation about the selection, docked beside any main screen.

The conversation lives in one `Chat` per app, so every screen's pane shows the same
exchanges; the pane of the screen on view follows an answer as it streams. Gathering
context and streaming run in a thread worker that posts `ChatUpdated`; widgets change
only on the event loop. The pane never acts: an action the answer suggests is offered
as the normal power key path, with its permission check and a confirmation.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Markdown, OptionList, Static

from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services.assistant import (
    Assistant,
    AssistantContext,
    SuggestedAction,
    suggested_actions,
    suggestions,
)
from argus_tui.services.session import Session

if TYPE_CHECKING:
    from argus_tui.ui.app import ArgusApp

Target = Guest | Node | Task | None
CONTEXT_FRESH = 30.0  # seconds a gathered context is reused for the same selection
STREAM_PAINT = 0.08  # seconds between repaints while an answer streams
# Control characters other than newline and tab: a model's answer is text, not a tty.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def target_key(target: Target) -> str:
    if isinstance(target, Guest):
        return f"guest:{target.vmid}"
    if isinstance(target, Node):
        return f"node:{target.name}"
    if isinstance(target, Task):
        return f"task:{target.upid}"
    return "cluster"


def guest_of(target: Target, snapshot: ClusterSnapshot) -> Guest | None:
    """The guest a suggested action may concern: the selected one, or a guest task's."""
    if isinstance(target, Guest):
        return target
    if isinstance(target, Task) and target.id.isdigit():
        vmid = int(target.id)
        return next((g for g in snapshot.guests if g.vmid == vmid), None)
    return None


def reflow(text: str) -> str:
    """Join the lines of each prose paragraph (indented lines stay as they are), so text
    written for an 88-column terminal wraps cleanly in a narrower pane."""
    paragraphs = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if any(line.startswith(" ") for line in lines):
            paragraphs.append(block)
        else:
            paragraphs.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def clean_answer(text: str) -> str:
    return _CONTROL.sub("", text)


@dataclass(slots=True)
class Exchange:
    """One question and its answer, as the pane shows it."""

    question: str
    subject: str = ""
    answer: str = ""
    state: str = "gathering"  # gathering | streaming | done | cancelled | error
    error: str = ""
    context_chars: int = 0
    actions: list[SuggestedAction] = field(default_factory=list)
    cancelled: bool = False  # Esc or a new chat: stop before sending, or stop streaming


class Chat:
    """The app's one conversation and the context last gathered (plain state, no widgets)."""

    def __init__(self, session: Session) -> None:
        self.assistant = Assistant(session)
        self.exchanges: list[Exchange] = []
        self.context: AssistantContext | None = None
        self.context_key = ""
        self.context_at = 0.0
        self.busy = False
        self.generation = 0  # a new chat starts a new generation; panes rebuild their log

    def cancel(self) -> None:
        """Stop the question in progress, whether still gathering context or streaming."""
        for exchange in self.exchanges:
            if exchange.state in ("gathering", "streaming"):
                exchange.cancelled = True
        self.assistant.cancel()

    def new_conversation(self) -> None:
        self.cancel()
        self.assistant.reset()
        self.exchanges = []
        self.busy = False
        self.generation += 1

    @property
    def offered(self) -> SuggestedAction | None:
        """The action the last finished answer suggested, if Argus may offer it."""
        if self.exchanges and self.exchanges[-1].state == "done":
            actions = self.exchanges[-1].actions
            return actions[0] if actions else None
        return None

    def context_for(self, snapshot: ClusterSnapshot | None, target: Target) -> AssistantContext:
        """Blocking: reuse a fresh context for the same selection, else gather a new one."""
        key = target_key(target)
        now = time.monotonic()
        fresh = now - self.context_at < CONTEXT_FRESH
        if self.context is not None and self.context_key == key and fresh:
            return self.context
        context = self.assistant.gather_context(
            snapshot,
            guest=target if isinstance(target, Guest) else None,
            node=target if isinstance(target, Node) else None,
            task=target if isinstance(target, Task) else None,
        )
        self.context, self.context_key, self.context_at = context, key, now
        return context


class ChatUpdated(Message):
    """The conversation changed (new text streamed, an answer ended, context gathered)."""


class AssistantPane(Vertical):
    """Question box, streamed Markdown answers, suggested questions, the context toggle."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_or_close", "Cancel/close", id="assistant.cancel"),
        Binding("ctrl+t", "toggle_context", "Context", id="assistant.context"),
        Binding("ctrl+n", "new_chat", "New chat", id="assistant.new"),
        Binding("ctrl+g", "offered", "Do suggested", id="assistant.do"),
        Binding("tab,down", "suggestions", "Suggestions", show=False, id="assistant.suggest"),
    ]
    DEFAULT_CSS = """
    AssistantPane {
        display: none; dock: right; width: 48%; min-width: 36; height: 1fr;
        border-left: tall $accent; background: $panel; padding: 0 1;
    }
    AssistantPane #ai-title { height: auto; text-style: bold; }
    AssistantPane #ai-log { height: 1fr; }
    AssistantPane #ai-context { height: 1fr; display: none; background: $surface; }
    AssistantPane #ai-suggest { height: auto; max-height: 6; border: none; }
    AssistantPane .ai-question { margin-top: 1; color: $accent; text-style: bold; }
    AssistantPane .ai-status { color: $text-muted; }
    AssistantPane .ai-error { color: $error; }
    AssistantPane Markdown { margin: 0; padding: 0; }
    """

    def __init__(self) -> None:
        super().__init__(id="assistant")
        self._views: list[tuple[Static, Markdown, Static]] = []
        self._shown_answers: list[str] = []
        self._generation = 0
        self._firsts: list[str] | None = None  # the suggested questions on show

    @property
    def argus(self) -> ArgusApp:
        from argus_tui.ui.app import ArgusApp

        assert isinstance(self.app, ArgusApp)
        return self.app

    @property
    def chat(self) -> Chat:
        return self.argus.chat

    def compose(self) -> ComposeResult:
        yield Static("", id="ai-title")
        yield VerticalScroll(id="ai-log")
        yield VerticalScroll(Static("", id="ai-context-text"), id="ai-context")
        yield OptionList(id="ai-suggest", markup=False)  # guest names are data
        yield Input(
            placeholder="ask about the selection (Enter; Tab: suggestions)",
            id="ai-question",
            select_on_focus=False,  # a key typed elsewhere in the pane is not overwritten
        )

    # -- showing -------------------------------------------------------------------------------

    def open(self, target: Target) -> None:
        """Show the pane for `target` and put the cursor in the question box."""
        self.display = True
        self.sync(target)
        question = self.query_one("#ai-question", Input)
        # Off: the how-to text takes the keys, so Esc closes and arrows scroll it.
        self.screen.set_focus(self.query_one("#ai-log") if question.disabled else question)

    def sync(self, target: Target) -> None:
        """Bring the pane up to date with the conversation and the selection."""
        chat = self.chat
        assistant = chat.assistant
        title = Text("Assistant", style="bold")
        if not assistant.configured:
            title.append("  off", style="yellow")
            self.query_one("#ai-title", Static).update(title)
            problem = self.argus.session.llm_problem
            self._show_howto(f"{problem}\n\n{assistant.howto}" if problem else assistant.howto)
            return
        settings = assistant.settings
        if settings is not None:
            title.append(f"  {printable(settings.model)} @ {printable(settings.host)}", style="dim")
        subject = _subject(target)
        title.append("\nabout: ", style="dim")
        title.append(subject)
        self.query_one("#ai-title", Static).update(title)
        self._sync_log()
        # First questions only: once a conversation runs, follow-ups are typed.
        firsts = suggestions(target, self.argus.snapshot) if not chat.exchanges else []
        if firsts != self._firsts:  # sync runs on every streamed chunk: rebuild on change only
            self._firsts = firsts
            box = self.query_one("#ai-suggest", OptionList)
            box.clear_options()
            box.add_options(firsts)
            box.display = bool(firsts)

    def _show_howto(self, howto: str) -> None:
        log = self.query_one("#ai-log", VerticalScroll)
        if not log.query(".ai-howto"):
            log.mount(Static(Text(reflow(howto)), classes="ai-howto"))
        self.query_one("#ai-suggest", OptionList).display = False
        question = self.query_one("#ai-question", Input)
        question.placeholder = "the assistant is off: see above"
        question.disabled = True

    def _sync_log(self) -> None:
        log = self.query_one("#ai-log", VerticalScroll)
        exchanges = self.chat.exchanges
        if self._generation != self.chat.generation or len(self._views) > len(exchanges):
            log.remove_children()  # a new conversation
            self._views, self._shown_answers = [], []
            self._generation = self.chat.generation
        for exchange in exchanges[len(self._views) :]:
            answer = clean_answer(exchange.answer)
            views = (
                Static(Text(f"› {exchange.question}"), classes="ai-question"),
                # Links in an answer are not followed: the text came from a model that
                # read server logs.
                Markdown(answer, open_links=False),
                Static("", classes="ai-status"),
            )
            self._views.append(views)
            self._shown_answers.append(answer)
            log.mount_all(views)
        for index, exchange in enumerate(exchanges):
            self._paint(index, exchange)
        log.scroll_end(animate=False)

    def _paint(self, index: int, exchange: Exchange) -> None:
        _, markdown, status = self._views[index]
        answer = clean_answer(exchange.answer)
        if answer != self._shown_answers[index]:
            self._shown_answers[index] = answer
            markdown.update(answer)
        status.set_class(exchange.state == "error", "ai-error")
        status.update(_status(exchange))

    # -- asking --------------------------------------------------------------------------------

    @on(Input.Submitted, "#ai-question")
    def _submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if question:
            event.input.value = ""
            self.ask(question)

    @on(OptionList.OptionSelected, "#ai-suggest")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.ask(str(event.option.prompt))
        self.screen.set_focus(self.query_one("#ai-question", Input))

    def ask(self, question: str) -> None:
        chat = self.chat
        if not chat.assistant.configured:
            return
        if chat.busy:
            self.argus.say("the assistant is still answering: Esc cancels")
            return
        target = self.argus.assistant_target()
        exchange = Exchange(question, subject=_subject(target).plain)
        chat.exchanges.append(exchange)
        chat.busy = True
        self.sync(target)
        self._answer(exchange, target, self.argus.snapshot)

    @work(thread=True, group="assistant", exit_on_error=False)
    def _answer(self, exchange: Exchange, target: Target, snapshot: ClusterSnapshot | None) -> None:
        """Worker thread: gather the context, stream the answer, find suggested actions."""
        chat = self.chat
        app = self.argus
        try:
            context = chat.context_for(snapshot, target)
            if exchange.cancelled:
                exchange.state = "cancelled"
                return
            answer = chat.assistant.ask(exchange.question, context)
            if exchange.cancelled:  # Esc while the question was being prepared
                answer.close()
                exchange.state = "cancelled"
                return
            exchange.context_chars = answer.context.size if answer.context else 0
            exchange.state = "streaming"
            app.post_message(ChatUpdated())
            last = 0.0
            for chunk in answer:
                exchange.answer += chunk
                now = time.monotonic()
                if now - last >= STREAM_PAINT:
                    last = now
                    app.post_message(ChatUpdated())
            exchange.state = "cancelled" if answer.outcome == "cancelled" else "done"
            if exchange.state == "done" and snapshot is not None:
                guest = guest_of(target, snapshot)
                exchange.actions = suggested_actions(
                    exchange.answer, snapshot, guest, read_only=app.session.read_only
                )
        except ArgusError as exc:
            exchange.state = "error"
            exchange.error = str(exc)
        except Exception as exc:  # keep the app running; say what went wrong
            exchange.state = "error"
            exchange.error = f"unexpected error: {type(exc).__name__}: {exc}"
        finally:
            if exchange in chat.exchanges:  # not a chat that was started over meanwhile
                chat.busy = False
            app.post_message(ChatUpdated())

    # -- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "offered":
            return self.chat.offered is not None
        if action in ("toggle_context", "new_chat"):
            return self.chat.assistant.configured
        return True

    def action_suggestions(self) -> None:
        """From the question box to the suggested questions, and back."""
        box = self.query_one("#ai-suggest", OptionList)
        question = self.query_one("#ai-question", Input)
        if self.screen.focused is question and box.display and box.option_count:
            self.screen.set_focus(box)
            box.highlighted = 0
        else:
            self.screen.set_focus(question)

    def action_cancel_or_close(self) -> None:
        if self.chat.busy:
            self.chat.cancel()
            self.argus.say("assistant: cancelled")
        else:
            self.argus.action_assistant()

    def action_new_chat(self) -> None:
        self.chat.new_conversation()
        self.sync(self.argus.assistant_target())

    def on_key(self, event: events.Key) -> None:
        """Typing lands in the question box wherever the focus is in the pane.

        Without this, a letter typed while the suggestions or the answers have the focus
        would reach the screen below, where S, D or R start, shut down or reboot a guest.
        """
        question = self.query_one("#ai-question", Input)
        if not event.is_printable or self.screen.focused is question:
            return
        event.stop()
        event.prevent_default()
        if not question.disabled and event.character:
            self.screen.set_focus(question)
            question.insert_text_at_cursor(event.character)

    def action_offered(self) -> None:
        offered = self.chat.offered
        if offered is not None:
            self.argus.offer_power(offered)

    def action_toggle_context(self) -> None:
        panel = self.query_one("#ai-context", VerticalScroll)
        panel.display = not panel.display
        if panel.display:
            self.query_one("#ai-context-text", Static).update(Text("gathering context…"))
            self._preview(self.argus.assistant_target(), self.argus.snapshot)

    @work(thread=True, exclusive=True, group="assistant-context", exit_on_error=False)
    def _preview(self, target: Target, snapshot: ClusterSnapshot | None) -> None:
        chat = self.chat
        try:
            context = chat.context_for(snapshot, target)
            sent = chat.assistant.message_for("(your question)", context).content
        except ArgusError as exc:
            text = Text(str(exc), style="yellow")
        else:
            text = Text(
                f"Sent with your next question ({len(sent):,} characters; context cap"
                f" {chat.assistant.max_context_chars:,}):\n\n",
                style="bold",
            )
            if len(sent) < 200:
                text.append(
                    "(the context went with an earlier question; follow-ups carry the"
                    " conversation, and a new selection sends its own)\n\n",
                    style="dim",
                )
            text.append(printable(sent, keep_newlines=True))
        self.app.call_from_thread(self._show_preview, text)

    def _show_preview(self, text: Text) -> None:
        self.query_one("#ai-context-text", Static).update(text)


def _subject(target: Target) -> Text:
    if isinstance(target, Guest):
        return Text(f"{target.type} {target.vmid} {printable(target.label)} on {target.node}")
    if isinstance(target, Node):
        return Text(f"node {printable(target.name)}")
    if isinstance(target, Task):
        return Text(printable(f"task {target.type} {target.id} on {target.node}"))
    return Text("the cluster")


def _status(exchange: Exchange) -> Text:
    if exchange.state == "gathering":
        return Text("gathering context…", style="italic")
    if exchange.state == "streaming":
        sent = (
            f"context {exchange.context_chars:,} chars"
            if exchange.context_chars
            else "a follow-up: the context went earlier"
        )
        return Text(f"answering… ({sent}; Esc cancels)")
    if exchange.state == "cancelled":
        return Text("cancelled")
    if exchange.state == "error":
        text = Text(printable(exchange.error))
        if exchange.answer:
            text.append("\n(the part that arrived is kept above)")
        return text
    text = Text(f"context {exchange.context_chars:,} chars" if exchange.context_chars else "")
    for action in exchange.actions:
        text.append("\nsuggested: ", style="bold")
        text.append(f"{printable(action.describe())} · ctrl+g to do it (asks first)")
    return text
