"""The assistant pane: a conversation about the selection, docked beside any main screen.

The conversation is the app's one `Assistant`, so every screen's pane shows the same
turns; the pane of the screen on view follows an answer as it streams. Gathering
context and streaming run in a thread worker that only posts messages (`AnswerChunk`
and the like); the pane applies them to the conversation on the event loop and posts
`ChatUpdated`, so every pane on view repaints. The pane never acts: an action the answer
suggests is offered as the normal power key path, with its permission check and a
confirmation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, OptionList, Static

from argus_tui.domain.models import ClusterSnapshot
from argus_tui.domain.text import printable, without_controls
from argus_tui.services.assistant import Assistant, Target, Turn, suggestions
from argus_tui.ui.messages import OfferSuggested, Say, ToggleAssistant
from argus_tui.ui.widgets.assistant import render, worker
from argus_tui.ui.widgets.assistant.messages import (
    AnswerChunk,
    AnswerDone,
    AnswerFailed,
    AnswerStarted,
    ChatUpdated,
)

if TYPE_CHECKING:
    # Imported where the first answer is shown: Markdown brings markdown-it and pygments,
    # which every start would otherwise pay for before its first frame.
    from textual.widgets import Markdown


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
        self._shown: list[tuple[int, str]] = []  # per view: its turn's id, the answer shown
        self._firsts: list[str] | None = None  # the suggested questions on show
        self._chat: Assistant | None = None
        self._latest: ClusterSnapshot | None = None
        self._subject: Target | None = None  # the selection the screen last told the pane

    # -- what the pane knows of the app: its conversation and snapshot, watched -------------

    def on_mount(self) -> None:
        self.watch(self.app, "chat", self._use_chat)
        self.watch(self.app, "snapshot", self._use_snapshot)

    def _use_chat(self, chat: Assistant) -> None:
        self._chat = chat
        if self.display:
            self.sync(self._subject)

    def _use_snapshot(self, snapshot: ClusterSnapshot | None) -> None:
        self._latest = snapshot

    @property
    def chat(self) -> Assistant:
        """The app's conversation, shared by every screen's pane."""
        if self._chat is None:
            raise RuntimeError("the assistant pane is not mounted")
        return self._chat

    def _target(self) -> Target | None:
        """What the screen on view has selected (it keeps the pane told)."""
        return self._subject

    def _snapshot(self) -> ClusterSnapshot | None:
        return self._latest

    def _say(self, text: str) -> None:
        self.post_message(Say(text))

    def _close(self) -> None:
        self.screen.post_message(ToggleAssistant())

    def _offer(self) -> None:
        offered = self.chat.offered
        if offered is not None:
            self.post_message(OfferSuggested(offered))

    # -- showing -------------------------------------------------------------------------------

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

    def open(self, target: Target | None) -> None:
        """Show the pane for `target` and put the cursor in the question box."""
        self.display = True
        self.sync(target)
        question = self.query_one("#ai-question", Input)
        # Off: the how-to text takes the keys, so Esc closes and arrows scroll it.
        self.screen.set_focus(self.query_one("#ai-log") if question.disabled else question)

    def sync(self, target: Target | None) -> None:
        """Bring the pane up to date with the conversation and the selection."""
        self._subject = target
        chat = self.chat
        title = Text("Assistant", style="bold")
        if not chat.configured:
            title.append("  off", style="yellow")
            self.query_one("#ai-title", Static).update(title)
            problem = chat.session.llm_problem
            self._show_howto(f"{problem}\n\n{chat.howto}" if problem else chat.howto)
            return
        settings = chat.settings
        if settings is not None:
            title.append(f"  {printable(settings.model)} @ {printable(settings.host)}", style="dim")
        title.append("\nabout: ", style="dim")
        title.append(render.subject(target))
        self.query_one("#ai-title", Static).update(title)
        turns = chat.turns
        self._sync_log(turns)
        # First questions only: once a conversation runs, follow-ups are typed.
        firsts = suggestions(target, self._snapshot()) if not turns else []
        if firsts != self._firsts:  # sync runs on every streamed chunk: rebuild on change only
            self._firsts = firsts
            box = self.query_one("#ai-suggest", OptionList)
            box.clear_options()
            box.add_options(firsts)
            box.display = bool(firsts)

    def _show_howto(self, howto: str) -> None:
        log = self.query_one("#ai-log", VerticalScroll)
        if not log.query(".ai-howto"):
            log.mount(Static(Text(render.reflow(howto)), classes="ai-howto"))
        self.query_one("#ai-suggest", OptionList).display = False
        question = self.query_one("#ai-question", Input)
        question.placeholder = "the assistant is off: see above"
        question.disabled = True

    def _sync_log(self, turns: tuple[Turn, ...]) -> None:
        from textual.widgets import Markdown  # the first answer: see the imports

        log = self.query_one("#ai-log", VerticalScroll)
        shown_ids = [turn_id for turn_id, _ in self._shown]
        if shown_ids != [t.id for t in turns[: len(shown_ids)]]:
            log.remove_children()  # a new conversation
            self._views, self._shown = [], []
        for turn in turns[len(self._views) :]:
            answer = without_controls(turn.answer)
            views = (
                Static(Text(f"› {turn.question}"), classes="ai-question"),
                # Links in an answer are not followed: the text came from a model that
                # read server logs.
                Markdown(answer, open_links=False),
                Static("", classes="ai-status"),
            )
            self._views.append(views)
            self._shown.append((turn.id, answer))
            log.mount_all(views)
        for index, turn in enumerate(turns):
            self._paint(index, turn)
        log.scroll_end(animate=False)

    def _paint(self, index: int, turn: Turn) -> None:
        _, markdown, status = self._views[index]
        answer = without_controls(turn.answer)
        if answer != self._shown[index][1]:
            self._shown[index] = (turn.id, answer)
            markdown.update(answer)
        status.set_class(turn.state == "error", "ai-error")
        status.update(render.status(turn))

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
        if not chat.configured:
            return
        if chat.busy:
            self._say("the assistant is still answering: Esc cancels")
            return
        target = self._target()
        turn = chat.begin(question)
        self.sync(target)
        self._answer(chat, turn, target, self._snapshot())

    @work(thread=True, group="assistant", exit_on_error=False)
    def _answer(
        self, chat: Assistant, turn: Turn, target: Target | None, snapshot: ClusterSnapshot | None
    ) -> None:
        """Worker thread: gather, stream and report (see `worker.answer`)."""
        worker.answer(self.post_message, chat, turn, target, snapshot)

    @on(AnswerStarted)
    def _started(self, message: AnswerStarted) -> None:
        if self.chat.turn_started(message.generation, message.turn_id, message.context_chars):
            self.post_message(ChatUpdated())

    @on(AnswerChunk)
    def _chunk(self, message: AnswerChunk) -> None:
        if self.chat.turn_text(message.generation, message.turn_id, message.text):
            self.post_message(ChatUpdated())

    @on(AnswerDone)
    def _done(self, message: AnswerDone) -> None:
        self.chat.turn_ended(
            message.generation, message.turn_id, message.outcome, actions=message.actions
        )
        self.post_message(ChatUpdated())  # even when dropped: the journal may have warned

    @on(AnswerFailed)
    def _failed(self, message: AnswerFailed) -> None:
        self.chat.turn_ended(message.generation, message.turn_id, "error", error=message.error)
        self.post_message(ChatUpdated())

    # -- keys ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "offered":
            return self.chat.offered is not None
        if action in ("toggle_context", "new_chat"):
            return self.chat.configured
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
            self._say("assistant: cancelled")
            self.post_message(ChatUpdated())
        else:
            self._close()

    def action_new_chat(self) -> None:
        self.chat.reset()
        self.sync(self._target())

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
        self._offer()

    def action_toggle_context(self) -> None:
        panel = self.query_one("#ai-context", VerticalScroll)
        panel.display = not panel.display
        if panel.display:
            self.query_one("#ai-context-text", Static).update(Text("gathering context…"))
            self._preview(self.chat, self._target(), self._snapshot())

    @work(thread=True, exclusive=True, group="assistant-context", exit_on_error=False)
    def _preview(
        self, chat: Assistant, target: Target | None, snapshot: ClusterSnapshot | None
    ) -> None:
        """Worker thread: what the next question would send, shown on the event loop."""
        self.app.call_from_thread(self._show_preview, worker.preview(chat, target, snapshot))

    def _show_preview(self, text: Text) -> None:
        self.query_one("#ai-context-text", Static).update(text)
